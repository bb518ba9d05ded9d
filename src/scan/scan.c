/* mft scan: see scan.h for the approach and include/mft.h for the API.
 *
 * Limits: a scan uses lower ceilings than a reader (MFT_SCAN_* in
 * src/core/limits.h): it never needs the values, only what the pickle
 * would import and call, so a file that exceeds them is reported (never
 * SAFE) instead of read further. */
#include "scan.h"
#include "../container/zip.h"
#include "../core/checked.h"
#include "../core/json.h"
#include "../formats/npy.h"
#include "../pickle/pickle.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>


/* ------------------------------------------------------------ report */

typedef struct finding {
    mft_severity severity;
    const char *kind;
    char *global, *canonical, *member, *message;
    int64_t offset;
    size_t seq;
} finding;

struct mft_scan_report {
    char *file;
    mft_verdict verdict;
    mft_format format;
    char *error;
    finding *f;
    size_t n, cap;
    char **imports;
    size_t nimports, capimports;
    size_t omitted;
};

typedef struct scanner {
    mft_scan_report *r;
    uint64_t limits[MFT_LIMIT_COUNT_];
    int analysed;          /* something meaningful was read */
    int oom;
    int no_cap;            /* the final "N more" note */
    char error[512];       /* the first "nothing readable" reason */
    uint64_t inflated;
    unsigned embedded;
} scanner;

/* Text safe to print and to put in JSON: control bytes and invalid UTF-8
 * become \xNN. */
static char *clean_text(const char *s, size_t n)
{
    char *out = malloc(n * 4 + 1);
    if (!out)
        return NULL;
    size_t k = 0, i = 0;
    while (i < n) {
        size_t ok = mftc_utf8_check((const uint8_t *)s + i, n - i);
        for (size_t j = 0; j < ok; j++) {
            unsigned char c = (unsigned char)s[i + j];
            if (c < 0x20 || c == 0x7f) {
                k += (size_t)sprintf(out + k, "\\x%02x", c);
            } else {
                out[k++] = (char)c;
            }
        }
        i += ok;
        if (i < n) {
            k += (size_t)sprintf(out + k, "\\x%02x", (unsigned char)s[i]);
            i++;
        }
    }
    out[k] = 0;
    return out;
}

static char *clean_str(const char *s)
{
    return s ? clean_text(s, strlen(s)) : NULL;
}

static void add_import(scanner *s, const char *name)
{
    mft_scan_report *r = s->r;
    for (size_t i = 0; i < r->nimports; i++)
        if (strcmp(r->imports[i], name) == 0)
            return;
    if (r->nimports >= 100000)
        return;
    if (r->nimports == r->capimports) {
        size_t cap = r->capimports ? r->capimports * 2 : 16;
        char **g = realloc(r->imports, cap * sizeof *g);
        if (!g) {
            s->oom = 1;
            return;
        }
        r->imports = g;
        r->capimports = cap;
    }
    char *c = clean_str(name);
    if (!c) {
        s->oom = 1;
        return;
    }
    r->imports[r->nimports++] = c;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void add_finding(scanner *s, mft_severity sev, const char *kind,
                        const char *global, const char *canonical,
                        const char *member, int64_t offset, const char *fmt,
                        ...) __attribute__((format(printf, 8, 9)));
static void add_finding(scanner *s, mft_severity sev, const char *kind,
                        const char *global, const char *canonical,
                        const char *member, int64_t offset, const char *fmt,
                        ...)
{
    mft_scan_report *r = s->r;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *g = clean_str(global), *m = clean_str(member);
    /* one finding per kind, global and member: the first place it occurs */
    for (size_t i = 0; i < r->n; i++) {
        finding *x = &r->f[i];
        if (x->severity == sev && strcmp(x->kind, kind) == 0 &&
            same(x->global, g) && same(x->member, m) &&
            (g || strcmp(x->message, msg) == 0)) {
            free(g);
            free(m);
            return;
        }
    }
    if (r->n >= MFT_SCAN_FINDINGS_MAX && !s->no_cap) {
        r->omitted++;
        free(g);
        free(m);
        return;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        finding *nf = realloc(r->f, cap * sizeof *nf);
        if (!nf) {
            s->oom = 1;
            free(g);
            free(m);
            return;
        }
        r->f = nf;
        r->cap = cap;
    }
    finding *x = &r->f[r->n];
    x->severity = sev;
    x->kind = kind;
    x->global = g;
    x->canonical = clean_str(canonical);
    x->member = m;
    x->offset = offset;
    x->message = clean_str(msg);
    x->seq = r->n;
    if (!x->message || (global && !x->global) || (member && !x->member)) {
        s->oom = 1;
        free(x->global);
        free(x->canonical);
        free(x->member);
        free(x->message);
        return;
    }
    r->n++;
}

/* Findings and imports recorded since a mark can be dropped again (a
 * stream that turned out not to be a pickle). */
typedef struct mark {
    size_t n, nimports;
} mark;

static mark mark_now(const scanner *s)
{
    mark m = {s->r->n, s->r->nimports};
    return m;
}

static void drop_since(scanner *s, mark m)
{
    mft_scan_report *r = s->r;
    for (size_t i = m.n; i < r->n; i++) {
        free(r->f[i].global);
        free(r->f[i].canonical);
        free(r->f[i].member);
        free(r->f[i].message);
    }
    r->n = m.n;
    for (size_t i = m.nimports; i < r->nimports; i++)
        free(r->imports[i]);
    r->nimports = m.nimports;
}

static void note_error(scanner *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note_error(scanner *s, const char *fmt, ...)
{
    if (s->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ helpers */

static mft_file *scratch_new(scanner *s)
{
    mft_file *f = calloc(1, sizeof *f);
    if (!f) {
        s->oom = 1;
        return NULL;
    }
    f->path = strdup("scan");
    if (!f->path) {
        free(f);
        s->oom = 1;
        return NULL;
    }
    memcpy(f->limits, s->limits, sizeof f->limits);
    return f;
}

/* The handle's last message without "scan: " and " (at byte N)". */
static const char *scratch_msg(mft_file *f, char *buf, size_t cap)
{
    const char *m = f->errmsg;
    if (strncmp(m, "scan: ", 6) == 0)
        m += 6;
    size_t n = strlen(m);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, m, n);
    buf[n] = 0;
    char *at = strstr(buf, " (at byte ");
    if (at)
        *at = 0;
    return buf;
}

static char *member_join(const char *parent, const char *name)
{
    size_t a = parent ? strlen(parent) : 0, b = strlen(name);
    char *out = malloc(a + b + 2);
    if (!out)
        return NULL;
    if (parent)
        snprintf(out, a + b + 2, "%s!%s", parent, name);
    else
        memcpy(out, name, b + 1);
    return out;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int str_is(const mft_value *v, const char *s)
{
    return v && v->kind == MFT_VALUE_STRING && strlen(s) == v->u.s.n &&
           memcmp(v->u.s.p, s, v->u.s.n) == 0;
}

static uint64_t load_le64(const uint8_t *p, int swap)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[swap ? 7 - i : i] << (8 * i);
    return v;
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t n,
                                 const void *needle, size_t k)
{
    return memmem(hay, n, needle, k);
}

/* ------------------------------------------------------------ pickles */

static void scan_buffer(scanner *s, const uint8_t *data, size_t len,
                        const char *member, unsigned depth, int claim);
static size_t scan_pickles(scanner *s, const uint8_t *buf, size_t len,
                           size_t start, const char *member, unsigned depth,
                           int claim, int torch);

typedef struct storage_ref {
    char *key;
    unsigned elem; /* bytes per element, 0 unknown */
} storage_ref;

typedef struct alias {
    const char *joined; /* the machine's cls string (arena) */
    char *canonical;
} alias;

typedef struct stream {
    scanner *s;
    const char *member;
    unsigned depth;
    int torch;             /* persistent ids are torch storages */
    size_t start;          /* offset of the stream in the member */
    size_t len;            /* end of the member's bytes */
    int file_mode;         /* second pass: CPython over a file */
    mft_file *f;           /* the machine's handle */
    int meaningful;        /* an import or call happened */
    int saw_proto;
    int have_frame;
    uint64_t frame_end;
    int frame_tamper;
    storage_ref *refs;
    size_t nrefs, caprefs;
    alias *aliases;
    size_t naliases, capaliases;
    uint64_t *seen;        /* import offsets of the first pass */
    size_t nseen, capseen;
} stream;

static void stream_free(stream *st)
{
    for (size_t i = 0; i < st->nrefs; i++)
        free(st->refs[i].key);
    free(st->refs);
    for (size_t i = 0; i < st->naliases; i++)
        free(st->aliases[i].canonical);
    free(st->aliases);
    free(st->seen);
}

/* The first pass records where imports are; the second (file-mode) pass
 * reports only imports elsewhere. Returns 1 when the second pass should
 * skip this one. */
static int seen_before(stream *st, uint64_t offset)
{
    if (st->file_mode) {
        for (size_t i = 0; i < st->nseen; i++)
            if (st->seen[i] == offset)
                return 1;
        return 0;
    }
    if (st->nseen >= (1u << 20))
        return 0;
    if (st->nseen == st->capseen) {
        size_t cap = st->capseen ? st->capseen * 2 : 16;
        uint64_t *g = realloc(st->seen, cap * sizeof *g);
        if (!g)
            return 0;
        st->seen = g;
        st->capseen = cap;
    }
    st->seen[st->nseen++] = offset;
    return 0;
}

static const char *canonical_of(stream *st, const char *joined)
{
    for (size_t i = st->naliases; i-- > 0;)
        if (strcmp(st->aliases[i].joined, joined) == 0)
            return st->aliases[i].canonical;
    return joined;
}

static void remember_alias(stream *st, const char *joined, const char *canon)
{
    if (st->naliases >= 4096)
        return;
    for (size_t i = 0; i < st->naliases; i++)
        if (strcmp(st->aliases[i].joined, joined) == 0)
            return;
    if (st->naliases == st->capaliases) {
        size_t cap = st->capaliases ? st->capaliases * 2 : 16;
        alias *g = realloc(st->aliases, cap * sizeof *g);
        if (!g)
            return;
        st->aliases = g;
        st->capaliases = cap;
    }
    char *c = strdup(canon);
    if (!c)
        return;
    st->aliases[st->naliases].joined = mftc_arena_strndup(&st->f->arena,
                                                          joined,
                                                          strlen(joined));
    st->aliases[st->naliases].canonical = c;
    if (!st->aliases[st->naliases].joined) {
        free(c);
        return;
    }
    st->naliases++;
}

static void add_ref(stream *st, const mft_value *key, unsigned elem)
{
    if (st->nrefs >= (1u << 22))
        return;
    if (st->nrefs == st->caprefs) {
        size_t cap = st->caprefs ? st->caprefs * 2 : 16;
        storage_ref *g = realloc(st->refs, cap * sizeof *g);
        if (!g)
            return;
        st->refs = g;
        st->caprefs = cap;
    }
    st->refs[st->nrefs].key = strndup(key->u.s.p, key->u.s.n);
    if (!st->refs[st->nrefs].key)
        return;
    st->refs[st->nrefs].elem = elem;
    st->nrefs++;
}

/* ---- embedded pickles (a bytes/str value that is itself a pickle) ---- */

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static uint8_t *b64_decode(const char *p, size_t n, size_t *out_len)
{
    while (n && p[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return NULL;
    uint8_t *out = malloc(n / 4 * 3 + 3);
    if (!out)
        return NULL;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)p[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = k;
    return out;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static uint8_t *hex_decode(const char *p, size_t n, size_t *out_len)
{
    if (n % 2)
        return NULL;
    uint8_t *out = malloc(n / 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 2) {
        int a = hexval((unsigned char)p[i]), b = hexval((unsigned char)p[i + 1]);
        if (a < 0 || b < 0) {
            free(out);
            return NULL;
        }
        out[i / 2] = (uint8_t)(a << 4 | b);
    }
    *out_len = n / 2;
    return out;
}

static int looks_proto(const uint8_t *p, size_t n)
{
    return n >= 4 && p[0] == 0x80 && p[1] >= 2 && p[1] <= 5;
}

static void check_embedded(stream *st, const mft_value *v, uint64_t offset)
{
    scanner *s = st->s;
    if (!v || (v->kind != MFT_VALUE_BYTES && v->kind != MFT_VALUE_STRING))
        return;
    const char *p = v->u.s.p;
    size_t n = v->u.s.n;
    if (n < 8 || n > MFT_SCAN_EMBEDDED_BYTES || s->embedded >= MFT_SCAN_EMBEDDED_MAX ||
        st->depth >= MFT_SCAN_EMBEDDED_DEPTH + MFT_SCAN_CONTAINER_DEPTH)
        return;
    const uint8_t *bytes = NULL;
    uint8_t *owned = NULL;
    size_t blen = 0;
    const char *how = "";
    if (looks_proto((const uint8_t *)p, n)) {
        bytes = (const uint8_t *)p;
        blen = n;
        how = "raw";
    } else if (v->kind == MFT_VALUE_STRING && p[0] == 'g' && p[1] == 'A') {
        size_t k = 0;
        uint8_t *head = b64_decode(p, 4, &k);
        int ok = head && k == 3 && head[0] == 0x80 && head[1] >= 2 &&
                 head[1] <= 5;
        free(head);
        if (ok && (owned = b64_decode(p, n, &blen)) && looks_proto(owned, blen)) {
            bytes = owned;
            how = "base64-encoded";
        }
    } else if (v->kind == MFT_VALUE_STRING && p[0] == '8' && p[1] == '0' &&
               p[2] == '0' && p[3] >= '2' && p[3] <= '5') {
        if ((owned = hex_decode(p, n, &blen)) && looks_proto(owned, blen)) {
            bytes = owned;
            how = "hex-encoded";
        }
    }
    if (!bytes) {
        free(owned);
        return;
    }
    s->embedded++;
    char label[64];
    snprintf(label, sizeof label, "embedded@%llu", (unsigned long long)offset);
    char *m = member_join(st->member, label);
    if (!m) {
        s->oom = 1;
        free(owned);
        return;
    }
    int analysed = s->analysed;
    mark mk = mark_now(s);
    size_t good = scan_pickles(s, bytes, blen, 0, m, st->depth + 1, 0, 0);
    s->analysed = analysed;
    if (good)
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "embedded", NULL, NULL,
                    st->member, (int64_t)offset,
                    "a %s value holds a pickle (%s): it does not run when this "
                    "file loads, but runs if the application unpickles it; "
                    "scanned as %s",
                    v->kind == MFT_VALUE_BYTES ? "bytes" : "str", how, m);
    else
        drop_since(s, mk);
    free(m);
    free(owned);
}

/* ---- the observer ---- */

static const char *kind_name(int kind)
{
    switch (kind) {
    case MFT_VALUE_NONE: return "None";
    case MFT_VALUE_BOOL: return "a bool";
    case MFT_VALUE_INT: case MFT_VALUE_BIGINT: return "an int";
    case MFT_VALUE_FLOAT: return "a float";
    case MFT_VALUE_STRING: return "a str";
    case MFT_VALUE_BYTES: return "bytes";
    case MFT_VALUE_LIST: return "a list";
    case MFT_VALUE_TUPLE: return "a tuple";
    case MFT_VALUE_DICT: return "a dict";
    case MFT_VALUE_SET: return "a set";
    case MFT_VALUE_OBJECT: return "an object";
    default: return "a value";
    }
}

static const char *value_desc(const mft_value *v, char *buf, size_t cap)
{
    if (!v)
        return "nothing";
    if (v->kind != MFT_VALUE_OBJECT)
        return kind_name(v->kind);
    switch (v->u.obj.form) {
    case MFTC_OBJ_GLOBAL:
        if (strcmp(v->u.obj.cls, "?") == 0)
            return "an unresolved global";
        snprintf(buf, cap, "the global %s", v->u.obj.cls);
        break;
    case MFTC_OBJ_PERSID:
        snprintf(buf, cap, "a persistent-id object");
        break;
    default:
        snprintf(buf, cap, "the result of calling %s", v->u.obj.cls);
    }
    return buf;
}

static int is_plain_global(const mft_value *v)
{
    return v && v->kind == MFT_VALUE_OBJECT && v->u.obj.form == MFTC_OBJ_GLOBAL &&
           strcmp(v->u.obj.cls, "?") != 0;
}

static void on_import(stream *st, const mftc_pickle_event *ev)
{
    scanner *s = st->s;
    if (seen_before(st, ev->offset))
        return;
    size_t glen = ev->py_module_len + ev->py_name_len + 2;
    char *global = malloc(glen);
    char canon[1024];
    if (!global) {
        s->oom = 1;
        return;
    }
    snprintf(global, glen, "%.*s.%.*s", (int)ev->py_module_len, ev->py_module,
             (int)ev->py_name_len, ev->py_name);
    mftc_scan_canonical(ev->py_module, ev->py_module_len, ev->py_name,
                        ev->py_name_len, canon, sizeof canon);
    remember_alias(st, global, canon);
    const char *why = "";
    int cls = mftc_scan_policy(ev->py_module, ev->py_module_len, ev->py_name,
                               ev->py_name_len, canon, &why);
    /* an import that cannot succeed stops CPython: it does not make text
     * that happens to parse into a pickle */
    if (cls != MFTC_POLICY_BROKEN)
        st->meaningful = 1;
    const char *via = ev->op == 'c' ? "GLOBAL" : ev->op == 'i' ? "INST"
                                                               : "STACK_GLOBAL";
    const char *pass = st->file_mode ? " (seen when read from a file, as torch "
                                       "reads it: a FRAME hides it)"
                                     : "";
    if (cls != MFTC_POLICY_BROKEN)
        add_import(s, global);
    const char *canon_out = strcmp(canon, global) ? canon : NULL;
    switch (cls) {
    case MFTC_POLICY_SAFE:
        if (st->file_mode)
            add_finding(s, MFT_SEVERITY_DANGEROUS, "frame", global, canon_out,
                        st->member, (int64_t)ev->offset,
                        "%s %s is only seen when the pickle is read from a "
                        "file: frame tampering hides opcodes from linear "
                        "readers",
                        via, global);
        break;
    case MFTC_POLICY_DANGEROUS:
        add_finding(s, MFT_SEVERITY_DANGEROUS, "import", global, canon_out,
                    st->member, (int64_t)ev->offset, "%s %s: %s%s", via, global,
                    why, pass);
        break;
    case MFTC_POLICY_BROKEN:
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", global, NULL,
                    st->member, (int64_t)ev->offset, "%s %s: %s%s", via, global,
                    why, pass);
        break;
    default:
        add_finding(s, st->file_mode ? MFT_SEVERITY_DANGEROUS
                                     : MFT_SEVERITY_SUSPICIOUS,
                    "import", global, canon_out, st->member,
                    (int64_t)ev->offset, "%s %s: %s%s", via, global, why, pass);
    }
    free(global);
}

static void on_call(stream *st, const mftc_pickle_event *ev)
{
    scanner *s = st->s;
    const mft_value *callee = ev->a, *args = ev->b;
    char buf[600];
    st->meaningful = 1;
    const char *op = ev->op == 'R' ? "REDUCE" : ev->op == 0x81 ? "NEWOBJ"
                   : ev->op == 0x92 ? "NEWOBJ_EX" : ev->op == 'o' ? "OBJ"
                                                                  : "INST";
    if (callee && callee->kind == MFT_VALUE_OBJECT &&
        callee->u.obj.form == MFTC_OBJ_PERSID) {
        /* torch's legacy format: ('module', cls, file, source) returns cls,
         * which NEWOBJ then instantiates (cls is an import of its own) */
        const mft_value *id = callee->u.obj.state;
        if (st->torch && id && id->kind == MFT_VALUE_TUPLE && id->u.seq.n == 4 &&
            str_is(id->u.seq.items[0], "module") &&
            is_plain_global(id->u.seq.items[1]))
            return;
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "call", NULL, NULL, st->member,
                    (int64_t)ev->offset,
                    "%s calls what the loader's persistent_load returns", op);
        return;
    }
    if (!callee || callee->kind != MFT_VALUE_OBJECT ||
        callee->u.obj.form != MFTC_OBJ_GLOBAL) {
        add_finding(s, MFT_SEVERITY_DANGEROUS, "call", NULL, NULL, st->member,
                    (int64_t)ev->offset,
                    "%s calls %s, not a named global: what runs is decided "
                    "at load time",
                    op, value_desc(callee, buf, sizeof buf));
        return;
    }
    if (!is_plain_global(callee))
        return; /* its import is already reported as unresolvable */
    const char *canon = canonical_of(st, callee->u.obj.cls);
    unsigned mask = mftc_scan_calls_args(canon);
    size_t n = args && (args->kind == MFT_VALUE_TUPLE) ? args->u.seq.n : 0;
    for (unsigned i = 0; i < 8 && i < n; i++) {
        if (!(mask >> i & 1))
            continue;
        const mft_value *a = args->u.seq.items[i];
        if (a->kind == MFT_VALUE_NONE || is_plain_global(a))
            continue;
        add_finding(s, MFT_SEVERITY_DANGEROUS, "call", callee->u.obj.cls,
                    NULL, st->member, (int64_t)ev->offset,
                    "%s passes %s as argument %u of %s, which calls it",
                    op, value_desc(a, buf, sizeof buf), i, callee->u.obj.cls);
    }
    if (strcmp(canon, "torch._utils._rebuild_parameter") == 0 && n >= 3) {
        const mft_value *hooks = args->u.seq.items[2];
        if (!(hooks->kind == MFT_VALUE_DICT && hooks->u.seq.n == 0) &&
            hooks->kind != MFT_VALUE_NONE)
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "call", callee->u.obj.cls,
                        NULL, st->member, (int64_t)ev->offset,
                        "a Parameter rebuilt with backward hooks (torch.save "
                        "writes none)");
    }
    if (strcmp(canon, "torch.storage._load_from_bytes") == 0) {
        const mft_value *b = n ? args->u.seq.items[0] : NULL;
        if (!b || b->kind != MFT_VALUE_BYTES) {
            add_finding(s, MFT_SEVERITY_DANGEROUS, "call", callee->u.obj.cls,
                        NULL, st->member, (int64_t)ev->offset,
                        "torch.load on %s computed at load time",
                        value_desc(b, buf, sizeof buf));
            return;
        }
        char label[64];
        snprintf(label, sizeof label, "_load_from_bytes@%llu",
                 (unsigned long long)ev->offset);
        char *m = member_join(st->member, label);
        if (!m) {
            s->oom = 1;
            return;
        }
        int analysed = s->analysed;
        scan_buffer(s, (const uint8_t *)b->u.s.p, b->u.s.n, m, st->depth + 1,
                    1);
        s->analysed = analysed;
        free(m);
    }
}

static void on_persid(stream *st, const mftc_pickle_event *ev)
{
    scanner *s = st->s;
    const mft_value *id = ev->a;
    if (st->torch && id && id->kind == MFT_VALUE_TUPLE && id->u.seq.n >= 5 &&
        str_is(id->u.seq.items[0], "storage")) {
        const mft_value *cls = id->u.seq.items[1], *key = id->u.seq.items[2],
                        *loc = id->u.seq.items[3], *numel = id->u.seq.items[4];
        unsigned elem = is_plain_global(cls)
                            ? mftc_scan_storage_elem(canonical_of(st, cls->u.obj.cls))
                            : 0;
        if (elem && key->kind == MFT_VALUE_STRING &&
            loc->kind == MFT_VALUE_STRING && numel->kind == MFT_VALUE_INT &&
            numel->u.i >= 0) {
            add_ref(st, key, elem);
            return;
        }
    }
    if (st->torch && id && id->kind == MFT_VALUE_TUPLE && id->u.seq.n == 4 &&
        str_is(id->u.seq.items[0], "module")) {
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL,
                    st->member, (int64_t)ev->offset,
                    "legacy whole-module persistent id: torch compares the "
                    "saved source of the class");
        return;
    }
    add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL,
                st->member, (int64_t)ev->offset,
                st->torch ? "persistent id that is not a torch storage "
                            "reference"
                          : "persistent id: what it becomes is up to the "
                            "loader's persistent_load");
}

static void on_op(stream *st, const mftc_pickle_event *ev)
{
    scanner *s = st->s;
    if (st->have_frame && ev->offset >= st->frame_end)
        st->have_frame = 0;
    if (ev->op == 0x95) { /* FRAME */
        if (st->have_frame && !st->file_mode)
            add_finding(s, MFT_SEVERITY_DANGEROUS, "frame", NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "FRAME opened before the previous frame ended "
                        "(readers disagree on what follows)");
        if (st->have_frame)
            st->frame_tamper = 1;
        if (ev->end + ev->code > st->len && !st->file_mode)
            add_finding(s, MFT_SEVERITY_DANGEROUS, "frame", NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "FRAME of %llu bytes runs past the end of the data: "
                        "CPython's C unpickler stops, pickle.py runs what "
                        "the frame holds",
                        (unsigned long long)ev->code);
        st->have_frame = 1;
        st->frame_end = ev->end + ev->code;
        return;
    }
    if (st->have_frame && ev->end > st->frame_end) {
        if (!st->file_mode)
            add_finding(s, MFT_SEVERITY_DANGEROUS, "frame", NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "opcode 0x%02x runs past the end of its FRAME: "
                        "CPython reading from a file executes other bytes "
                        "than a linear reader",
                        ev->op);
        st->frame_tamper = 1;
        st->have_frame = 0;
    }
    if (ev->op == 0x80 && !st->file_mode) { /* PROTO */
        if (st->saw_proto)
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "second PROTO opcode (switches protocol-dependent "
                        "name handling mid-stream)");
        else if (ev->offset != st->start)
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "PROTO opcode after the start of the pickle");
        st->saw_proto = 1;
    }
    if (ev->a && !st->file_mode)
        check_embedded(st, ev->a, ev->offset);
}

static void on_event(void *user, const mftc_pickle_event *ev)
{
    stream *st = user;
    scanner *s = st->s;
    char buf[600];
    switch (ev->kind) {
    case MFTC_PEV_OP:
        on_op(st, ev);
        break;
    case MFTC_PEV_IMPORT:
        on_import(st, ev);
        break;
    case MFTC_PEV_IMPORT_DYNAMIC: {
        st->meaningful = 1;
        int computed = (ev->a && ev->a->kind == MFT_VALUE_OBJECT) ||
                       (ev->b && ev->b->kind == MFT_VALUE_OBJECT);
        char buf2[600];
        if (computed)
            add_finding(s, MFT_SEVERITY_DANGEROUS, "unresolved-import", NULL,
                        NULL, st->member, (int64_t)ev->offset,
                        "STACK_GLOBAL on %s and %s: the module or name is "
                        "computed at load time, so the import cannot be "
                        "resolved statically",
                        value_desc(ev->a, buf, sizeof buf),
                        value_desc(ev->b, buf2, sizeof buf2));
        else
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "STACK_GLOBAL on %s and %s, not two str (CPython "
                        "refuses it and stops)",
                        value_desc(ev->a, buf, sizeof buf),
                        value_desc(ev->b, buf2, sizeof buf2));
        break;
    }
    case MFTC_PEV_EXT:
        st->meaningful = 1;
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "unresolved-import", NULL, NULL,
                    st->member, (int64_t)ev->offset,
                    "EXT opcode: an import by extension code %llu, which "
                    "copyreg's registry resolves at load time (fails unless "
                    "the loading process registered it)",
                    (unsigned long long)ev->code);
        break;
    case MFTC_PEV_CALL:
        on_call(st, ev);
        break;
    case MFTC_PEV_BUILD:
        if (ev->a && ev->a->kind == MFT_VALUE_OBJECT &&
            ev->a->u.obj.form == MFTC_OBJ_GLOBAL) {
            st->meaningful = 1;
            add_finding(s, MFT_SEVERITY_DANGEROUS, "structure",
                        is_plain_global(ev->a) ? ev->a->u.obj.cls : NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "BUILD on %s: sets attributes of a module, class or "
                        "function (monkey-patching)",
                        value_desc(ev->a, buf, sizeof buf));
        } else if (ev->a && ev->a->kind == MFT_VALUE_OBJECT &&
                   ev->a->u.obj.form == MFTC_OBJ_PERSID) {
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "BUILD on a persistent-id object");
        }
        break;
    case MFTC_PEV_MUTATE:
        if (ev->a && ev->a->kind == MFT_VALUE_OBJECT &&
            ev->a->u.obj.form == MFTC_OBJ_GLOBAL) {
            st->meaningful = 1;
            add_finding(s, MFT_SEVERITY_DANGEROUS, "structure",
                        is_plain_global(ev->a) ? ev->a->u.obj.cls : NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "container operation on %s: calls its append, add or "
                        "__setitem__ (changes module state)",
                        value_desc(ev->a, buf, sizeof buf));
        } else {
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL,
                        st->member, (int64_t)ev->offset,
                        "container operation on %s (CPython calls its "
                        "append/__setitem__ method)",
                        value_desc(ev->a, buf, sizeof buf));
        }
        break;
    case MFTC_PEV_PERSID:
        on_persid(st, ev);
        break;
    }
}

/* Run one stream at buf[off..len). The stream's handle (and so its values)
 * stays alive in st->f until stream_free_handle. */
static mft_status run_stream(scanner *s, stream *st, const uint8_t *buf,
                             size_t len, size_t off, mftc_pickle_result *res)
{
    st->f = scratch_new(s);
    st->start = off;
    st->len = len;
    memset(res, 0, sizeof *res);
    if (!st->f)
        return MFT_ERR_NOMEM;
    mftc_pickle_observer obs = {on_event, st, 0};
    mft_status rc = mftc_pickle_load_ex(st->f, buf + off, len - off, off, NULL,
                                        &obs, res);
    if (st->frame_tamper && !s->oom) {
        /* again, as CPython's C unpickler reads a file: findings only for
         * what the first pass did not see */
        mft_file *f2 = scratch_new(s);
        if (f2) {
            mft_file *keep = st->f;
            st->f = f2;
            st->file_mode = 1;
            st->have_frame = 0;
            mftc_pickle_result r2;
            mftc_pickle_observer obs2 = {on_event, st, 1};
            mftc_pickle_load_ex(f2, buf + off, len - off, off, NULL, &obs2,
                                &r2);
            st->file_mode = 0;
            st->f = keep;
            /* aliases made during the second pass point into f2 */
            for (size_t i = 0; i < st->naliases; i++)
                free(st->aliases[i].canonical);
            st->naliases = 0;
            mft_close(f2);
        }
    }
    return rc;
}

static void stream_done(stream *st)
{
    mft_close(st->f);
    st->f = NULL;
    stream_free(st);
    memset(st, 0, sizeof *st);
}

static void stream_init(stream *st, scanner *s, const char *member,
                        unsigned depth, int torch)
{
    memset(st, 0, sizeof *st);
    st->s = s;
    st->member = member;
    st->depth = depth;
    st->torch = torch;
}

/* ---- after a scan limit: the rest of the stream, opcode by opcode ----
 *
 * When a pickle exceeds the scan's value budget the machine stops, but what
 * follows still runs in CPython, so the remaining opcodes are walked without
 * building values (like pickletools.genops): GLOBAL and INST name their
 * import; a STACK_GLOBAL is resolved only when its two operands are string
 * literals pushed right before it (or memo slots that the walk itself saw
 * filled with such a literal), else it is unresolvable. Memo stores after
 * any other opcode make their slot unknown, so memo games cannot plant a
 * wrong name. */

typedef struct lw_str {
    const char *p; /* NULL: not a known string */
    size_t n;
} lw_str;

typedef struct lw_memo {
    uint64_t key;
    lw_str v;
} lw_memo;

static int lw_line(const uint8_t *b, size_t len, size_t *pos, const char **s,
                   size_t *n)
{
    const uint8_t *nl = memchr(b + *pos, '\n', len - *pos);
    if (!nl)
        return 0;
    *s = (const char *)b + *pos;
    *n = (size_t)(nl - (b + *pos));
    *pos = (size_t)(nl - b) + 1;
    return 1;
}

static void lw_import(scanner *s, const char *member, uint64_t at,
                      const char *mod, size_t ml, const char *name, size_t nl)
{
    char canon[1024], global[1024];
    snprintf(global, sizeof global, "%.*s.%.*s", (int)ml, mod, (int)nl, name);
    mftc_scan_canonical(mod, ml, name, nl, canon, sizeof canon);
    const char *why = "";
    int cls = mftc_scan_policy(mod, ml, name, nl, canon, &why);
    if (cls != MFTC_POLICY_BROKEN)
        add_import(s, global);
    if (cls == MFTC_POLICY_SAFE)
        return;
    add_finding(s, cls == MFTC_POLICY_DANGEROUS ? MFT_SEVERITY_DANGEROUS
                                                : MFT_SEVERITY_SUSPICIOUS,
                cls == MFTC_POLICY_BROKEN ? "malformed" : "import", global,
                strcmp(canon, global) ? canon : NULL, member, (int64_t)at,
                "%s: %s (found past the scan limit)", global, why);
}

static void linear_walk(scanner *s, const uint8_t *b, size_t len, size_t pos,
                        uint64_t memo_n, const char *member)
{
    lw_str last[2] = {{NULL, 0}, {NULL, 0}}; /* the two latest pushes */
    lw_memo *memo = NULL;
    size_t nmemo = 0, cap = 0;
    while (pos < len) {
        uint64_t at = pos;
        uint8_t op = b[pos++];
        const char *t1, *t2;
        size_t n1, n2;
        uint64_t u = 0, key = 0;
        lw_str pushed = {NULL, 0};
        int value = 1; /* the opcode leaves a new value on top */
        int have_key = 0;
        switch (op) {
        /* no argument */
        case '(': case '.': case '0': case '1': case '2': case 'N': case ')':
        case ']': case '}': case 't': case 'l': case 'd': case 'a': case 'e':
        case 's': case 'u': case 'R': case 'b': case 'o': case 'Q':
        case 0x81: case 0x85: case 0x86: case 0x87: case 0x88: case 0x89:
        case 0x8F: case 0x90: case 0x91: case 0x92: case 0x97: case 0x98:
            break;
        case 0x93: /* STACK_GLOBAL */
            if (last[0].p && last[1].p)
                lw_import(s, member, at, last[0].p, last[0].n, last[1].p,
                          last[1].n);
            else
                add_finding(s, MFT_SEVERITY_DANGEROUS, "unresolved-import", NULL,
                            NULL, member, (int64_t)at,
                            "STACK_GLOBAL past the scan limit whose operands "
                            "are not string literals: cannot be resolved");
            break;
        case 0x94: /* MEMOIZE */
            key = memo_n++;
            have_key = 1;
            value = 0;
            break;
        case 'K': case 'h': case 'q': case 0x80: case 0x82:
            if (len - pos < 1)
                goto out;
            u = b[pos];
            pos += 1;
            if (op == 'h') {
                key = u;
                goto get;
            }
            if (op == 'q') {
                key = u;
                have_key = 1;
                value = 0;
            }
            if (op == 0x80)
                value = 0;
            break;
        case 'M': case 0x83:
            if (len - pos < 2)
                goto out;
            pos += 2;
            break;
        case 'J': case 'j': case 'r': case 0x84:
            if (len - pos < 4)
                goto out;
            u = (uint64_t)b[pos] | (uint64_t)b[pos + 1] << 8 |
                (uint64_t)b[pos + 2] << 16 | (uint64_t)b[pos + 3] << 24;
            pos += 4;
            if (op == 'j') {
                key = u;
                goto get;
            }
            if (op == 'r') {
                key = u;
                have_key = 1;
                value = 0;
            }
            break;
        case 'G':
            if (len - pos < 8)
                goto out;
            pos += 8;
            break;
        case 0x95: /* FRAME */
            if (len - pos < 8)
                goto out;
            pos += 8;
            value = 0;
            break;
        case 'C': case 'U': case 0x8C: case 0x8A: /* 1-byte length */
        case 'B': case 'T': case 'X': case 0x8B:  /* 4-byte length */
        case 0x8D: case 0x8E: case 0x96: {        /* 8-byte length */
            unsigned w = (op == 'C' || op == 'U' || op == 0x8C || op == 0x8A) ? 1
                         : (op == 0x8D || op == 0x8E || op == 0x96) ? 8 : 4;
            if (len - pos < w)
                goto out;
            u = 0;
            for (unsigned i = 0; i < w; i++)
                u |= (uint64_t)b[pos + i] << (8 * i);
            pos += w;
            if (u > len - pos)
                goto out;
            if (op == 'U' || op == 'T' || op == 'X' || op == 0x8C || op == 0x8D) {
                pushed.p = (const char *)b + pos;
                pushed.n = (size_t)u;
            }
            pos += (size_t)u;
            break;
        }
        case 'I': case 'L': case 'F': case 'P':
            if (!lw_line(b, len, &pos, &t1, &n1))
                goto out;
            break;
        case 'S': case 'V':
            if (!lw_line(b, len, &pos, &t1, &n1))
                goto out;
            if (op == 'S' && n1 >= 2 && (t1[0] == '\'' || t1[0] == '"') &&
                t1[n1 - 1] == t1[0] && !memchr(t1, '\\', n1)) {
                pushed.p = t1 + 1;
                pushed.n = n1 - 2;
            } else if (op == 'V' && !memchr(t1, '\\', n1)) {
                pushed.p = t1;
                pushed.n = n1;
            }
            break;
        case 'p': case 'g':
            if (!lw_line(b, len, &pos, &t1, &n1))
                goto out;
            key = 0;
            for (size_t i = 0; i < n1 && t1[i] >= '0' && t1[i] <= '9'; i++)
                key = key * 10 + (uint64_t)(t1[i] - '0');
            if (op == 'g')
                goto get;
            have_key = 1;
            value = 0;
            break;
        case 'c': case 'i':
            if (!lw_line(b, len, &pos, &t1, &n1) ||
                !lw_line(b, len, &pos, &t2, &n2))
                goto out;
            lw_import(s, member, at, t1, n1, t2, n2);
            break;
        default:
            goto out; /* not an opcode: the stream ends here for CPython too */
        }
        if (have_key) { /* a memo store records what is on top */
            size_t i = 0;
            while (i < nmemo && memo[i].key != key)
                i++;
            if (i == nmemo) {
                if (nmemo == cap) {
                    size_t nc = cap ? cap * 2 : 64;
                    if (nc > (1u << 20))
                        goto out;
                    lw_memo *g = realloc(memo, nc * sizeof *g);
                    if (!g)
                        goto out;
                    memo = g;
                    cap = nc;
                }
                nmemo++;
            }
            memo[i].key = key;
            memo[i].v = last[1];
        }
        if (value) {
            last[0] = last[1];
            last[1] = pushed;
        }
        continue;
    get: {
        lw_str v = {NULL, 0};
        for (size_t i = 0; i < nmemo; i++)
            if (memo[i].key == key)
                v = memo[i].v;
        last[0] = last[1];
        last[1] = v;
    }
    }
out:
    free(memo);
}

/* The legacy magic number 0x1950a86a20f9469cfc6c as a LONG. */
static int is_legacy_magic(const mft_value *v)
{
    static const uint8_t magic[] = {0x6C, 0xFC, 0x9C, 0x46, 0xF9,
                                    0x20, 0x6A, 0xA8, 0x50, 0x19};
    return v && v->kind == MFT_VALUE_BIGINT && v->u.s.n == 10 &&
           memcmp(v->u.s.p, magic, 10) == 0;
}

/* After a failure or junk at `from`: look for further pickles starting
 * with PROTO 2–5 (what modelaudit calls resync). Returns the position to
 * continue the stream loop at, or len when none was found. */
static size_t resync(scanner *s, const uint8_t *buf, size_t len, size_t from,
                     const char *member, unsigned depth, int torch,
                     size_t *good)
{
    unsigned tries = 0;
    size_t pos = from;
    while (pos + 2 < len && tries < MFT_SCAN_RESYNC_MAX) {
        const uint8_t *p = memchr(buf + pos, 0x80, len - pos - 2);
        if (!p)
            break;
        size_t at = (size_t)(p - buf);
        pos = at + 1;
        if (p[1] < 2 || p[1] > 5)
            continue;
        tries++;
        stream st;
        stream_init(&st, s, member, depth, torch);
        mark mk = mark_now(s);
        mftc_pickle_result res;
        mft_status rc = run_stream(s, &st, buf, len, at, &res);
        int ok = rc == MFT_OK;
        int meaningful = st.meaningful;
        stream_done(&st);
        if (ok || meaningful) {
            (*good)++;
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL,
                        member, (int64_t)at,
                        "a pickle after %llu bytes of other data",
                        (unsigned long long)(at - from));
            if (!ok)
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL,
                            NULL, member, (int64_t)(at + res.used),
                            "this pickle stops with an error");
            if (ok)
                return at + res.used;
            continue;
        }
        drop_since(s, mk);
    }
    return len;
}

/* Walk the legacy format's storage records after its five pickles: for
 * each key of the key list, an 8-byte element count then the elements.
 * Returns the position after them, or (size_t)-1 when the layout does not
 * hold (reported). */
static size_t legacy_storages(scanner *s, const uint8_t *buf, size_t len,
                              size_t pos, const mft_value *keys,
                              const stream *objst, int swap,
                              const char *member)
{
    if (!keys || keys->kind != MFT_VALUE_LIST) {
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL,
                    member, (int64_t)pos,
                    "legacy format: the storage key list is not a list; the "
                    "rest of the file is searched for pickles");
        return (size_t)-1;
    }
    for (size_t i = 0; i < keys->u.seq.n; i++) {
        const mft_value *k = keys->u.seq.items[i];
        unsigned elem = 0;
        for (size_t j = 0; k->kind == MFT_VALUE_STRING && j < objst->nrefs; j++)
            if (strlen(objst->refs[j].key) == k->u.s.n &&
                memcmp(objst->refs[j].key, k->u.s.p, k->u.s.n) == 0)
                elem = objst->refs[j].elem;
        uint64_t count = 0, bytes = 0;
        if (!elem || len - pos < 8 ||
            !mftc_mul_u64((count = load_le64(buf + pos, swap)), elem, &bytes) ||
            bytes > len - pos - 8) {
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL,
                        member, (int64_t)pos,
                        "legacy format: storage %zu does not match the object "
                        "pickle's storages; the rest of the file is searched "
                        "for pickles",
                        i);
            return (size_t)-1;
        }
        pos += 8 + (size_t)bytes;
    }
    return pos;
}

/* Every pickle stream in buf[start..len): back to back, after junk, and
 * the legacy torch layout (5 pickles + storages) when the first stream is
 * its magic number. `claim`: the bytes are meant to be a pickle (a parse
 * error there is reported even when nothing was imported). Returns the
 * number of streams that parsed or did something. */
static size_t scan_pickles(scanner *s, const uint8_t *buf, size_t len,
                           size_t start, const char *member, unsigned depth,
                           int claim, int torch)
{
    size_t pos = start, good = 0, count = 0;
    int legacy = 0, swap = 0;
    stream objst; /* the legacy object pickle's storages */
    stream_init(&objst, s, member, depth, 1);
    while (pos < len && count < MFT_SCAN_STREAMS_MAX && !s->oom) {
        stream st;
        stream_init(&st, s, member, depth, torch || legacy);
        mark mk = mark_now(s);
        mftc_pickle_result res;
        mft_status rc = run_stream(s, &st, buf, len, pos, &res);
        count++;
        if (rc == MFT_OK) {
            good++;
            s->analysed = 1;
            if (res.leftover)
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL,
                            member, (int64_t)(pos + res.used - 1),
                            "non-canonical pickle: %zu values or marks left "
                            "under the result at STOP",
                            res.leftover);
            if (count == 1 && pos == 0 && is_legacy_magic(res.root)) {
                legacy = 1;
                if (!s->r->format || s->r->format == MFT_FORMAT_PICKLE)
                    if (depth == 0)
                        s->r->format = MFT_FORMAT_PYTORCH_LEGACY;
            } else if (legacy && count == 3) {
                const mft_value *le = mft_value_lookup(res.root, "little_endian");
                swap = le && le->kind == MFT_VALUE_BOOL && !le->u.b;
            } else if (legacy && count == 4) {
                /* keep the storages for the walk */
                objst.refs = st.refs;
                objst.nrefs = st.nrefs;
                objst.caprefs = st.caprefs;
                st.refs = NULL;
                st.nrefs = st.caprefs = 0;
            }
            size_t next = pos + res.used;
            if (legacy && count == 5) {
                size_t after = legacy_storages(s, buf, len, next, res.root,
                                               &objst, swap, member);
                stream_done(&st);
                legacy = 0;
                if (after == (size_t)-1) {
                    pos = resync(s, buf, len, next, member, depth, torch, &good);
                    continue;
                }
                pos = after;
                if (pos < len) {
                    add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL,
                                NULL, member, (int64_t)pos,
                                "%zu bytes after the last storage record",
                                len - pos);
                    pos = resync(s, buf, len, pos, member, depth, torch, &good);
                }
                continue;
            }
            stream_done(&st);
            pos = next;
            continue;
        }
        /* the stream failed */
        char msg[600];
        scratch_msg(st.f, msg, sizeof msg);
        int meaningful = st.meaningful;
        stream_done(&st);
        if (rc == MFT_ERR_NOMEM) {
            s->oom = 1;
            break;
        }
        if (meaningful || (claim && count == 1) || rc == MFT_ERR_LIMIT) {
            /* a stream cut by a scan limit was a pickle up to there */
            if (meaningful || rc == MFT_ERR_LIMIT) {
                good++;
                s->analysed = 1;
            }
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL,
                        member, (int64_t)(pos + res.used), "%s%s", msg,
                        rc == MFT_ERR_LIMIT
                            ? " (scan limit: the rest of the stream is walked "
                              "opcode by opcode for imports)"
                            : " (loading stops here; what came before has run)");
            if (!meaningful && rc != MFT_ERR_LIMIT)
                note_error(s, "%s%s%s (at byte %llu)", member ? member : "",
                           member ? ": " : "", msg,
                           (unsigned long long)(pos + res.used));
            if (rc == MFT_ERR_LIMIT) {
                /* the rest is this same stream: walk it, no resync */
                linear_walk(s, buf, len, pos + res.used, res.memo_n, member);
                break;
            }
            pos = resync(s, buf, len, pos + res.used + 1, member, depth, torch,
                         &good);
            continue;
        }
        drop_since(s, mk);
        if (count == 1) {
            /* not a pickle at all */
            note_error(s, "%s%snot a pickle (%s at byte %llu)",
                       member ? member : "", member ? ": " : "", msg,
                       (unsigned long long)(pos + res.used));
            break;
        }
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL, member,
                    (int64_t)pos, "%zu bytes of trailing data after the pickle",
                    len - pos);
        pos = resync(s, buf, len, pos + 1, member, depth, torch, &good);
    }
    if (legacy)
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL, member,
                    (int64_t)pos,
                    "legacy format: fewer than the five pickles it needs");
    stream_free(&objst);
    return good;
}

/* ------------------------------------------------------------ npy */

/* An .npy array: its header, and the pickle an object array holds. */
static void scan_npy(scanner *s, const uint8_t *data, size_t len,
                     const char *member, unsigned depth)
{
    mft_file *f = scratch_new(s);
    if (!f)
        return;
    mftc_npy_header h;
    mft_status st = mftc_npy_preamble(f, NULL, data, len, len, &h);
    if (st != MFT_OK) {
        char msg[600];
        scratch_msg(f, msg, sizeof msg);
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL, member,
                    0, "malformed .npy: %s", msg);
        note_error(s, "malformed .npy: %s", msg);
        mft_close(f);
        return;
    }
    s->analysed = 1;
    /* numpy pickles the array when its dtype holds objects: a descr string
     * 'O' ('|O', '<O8' …), alone or as a field of a structured dtype */
    size_t hs = h.major == 1 ? 10 : 12;
    const char *t = (const char *)data + hs;
    size_t n = (size_t)h.data_offset - hs;
    int object = 0;
    for (size_t i = 0; i + 2 < n && !object; i++) {
        if (t[i] != '\'' && t[i] != '"')
            continue;
        size_t j = i + 1;
        if (j < n && strchr("<>|=", t[j]))
            j++;
        if (j < n && t[j] == 'O') {
            j++;
            while (j < n && t[j] >= '0' && t[j] <= '9')
                j++;
            if (j < n && t[j] == t[i])
                object = 1;
        }
    }
    mft_close(f);
    if (object)
        scan_pickles(s, data, len, (size_t)h.data_offset, member, depth, 1, 0);
}

/* ------------------------------------------------------------ zip */

static int traversal_name(const char *n)
{
    if (n[0] == '/' || n[0] == '\\' || strchr(n, '\\') ||
        (n[0] && n[1] == ':'))
        return 1;
    const char *p = n;
    while ((p = strstr(p, "..")) != NULL) {
        if ((p == n || p[-1] == '/') && (p[2] == '/' || p[2] == 0))
            return 1;
        p += 2;
    }
    return 0;
}

static int keras_code(const uint8_t *p, size_t n)
{
    static const char *const marks[] = {
        "\"class_name\": \"Lambda\"", "\"class_name\":\"Lambda\"",
        "\"class_name\": \"__lambda__\"", "\"class_name\":\"__lambda__\"",
    };
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (find_bytes(p, n, marks[i], strlen(marks[i])))
            return 1;
    return 0;
}

/* Inflate a raw deflate stream, at most `cap` bytes out. */
static uint8_t *inflate_raw(const uint8_t *in, size_t inlen, size_t cap,
                            size_t *outlen, int *ok)
{
    *ok = 0;
    *outlen = 0;
    size_t size = 1 << 16;
    uint8_t *out = malloc(size);
    if (!out)
        return NULL;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = inlen > UINT32_MAX ? UINT32_MAX : (uInt)inlen;
    int r = Z_OK;
    while (r == Z_OK) {
        if (*outlen == size) {
            if (size >= cap)
                break;
            size_t ns = size * 2 > cap ? cap : size * 2;
            uint8_t *g = realloc(out, ns);
            if (!g)
                break;
            out = g;
            size = ns;
        }
        z.next_out = out + *outlen;
        z.avail_out = (uInt)(size - *outlen);
        r = inflate(&z, Z_NO_FLUSH);
        *outlen = size - z.avail_out;
        if (r == Z_BUF_ERROR && z.avail_in == 0)
            break;
    }
    *ok = r == Z_STREAM_END;
    inflateEnd(&z);
    return out;
}

typedef struct zip_member {
    const char *name;
    uint16_t method, flags;
    uint32_t crc;
    int crc_known;
    const uint8_t *data; /* stored bytes or inflated */
    size_t size;
} zip_member;

/* A pickle member torch or TorchScript loads. */
static int torch_pickle_name(const char *n)
{
    const char *slash = strrchr(n, '/');
    const char *base = slash ? slash + 1 : n;
    return strcmp(base, "data.pkl") == 0 || strcmp(base, "constants.pkl") == 0;
}

/* Names that say "pickle": a harmless parse error in such a member is
 * still reported (in others it just means "not a pickle"). */
static int claims_pickle_name(const char *n)
{
    return ends_with(n, ".pkl") || ends_with(n, ".pickle") ||
           ends_with(n, ".joblib") || ends_with(n, ".debug_pkl");
}

/* Scan one member's bytes. */
static void scan_member_bytes(scanner *s, const char *parent, const char *name,
                              const uint8_t *data, size_t size, unsigned depth,
                              int torch_pickle, stream *collect)
{
    char *m = member_join(parent, name);
    if (!m) {
        s->oom = 1;
        return;
    }
    if (torch_pickle && size == 0) {
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL, m, -1,
                    "empty pickle member (torch.load fails on it)");
    } else if (torch_pickle) {
        /* torch's pickle: persistent ids name the storage members; torch
         * reads one pickle, anything after it is scanned too */
        size_t pos = 0;
        do {
            stream st;
            stream_init(&st, s, m, depth + 1, 1);
            mftc_pickle_result res;
            mft_status rc = run_stream(s, &st, data, size, pos, &res);
            for (size_t i = 0; i < st.nrefs; i++) {
                storage_ref *r = &st.refs[i];
                if (collect->nrefs == collect->caprefs) {
                    size_t cap = collect->caprefs ? collect->caprefs * 2 : 16;
                    storage_ref *g = realloc(collect->refs, cap * sizeof *g);
                    if (!g)
                        break;
                    collect->refs = g;
                    collect->caprefs = cap;
                }
                collect->refs[collect->nrefs++] = *r;
                r->key = NULL;
            }
            if (rc == MFT_OK) {
                s->analysed = 1;
                if (res.leftover)
                    add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL,
                                NULL, m, (int64_t)(pos + res.used - 1),
                                "non-canonical pickle: %zu values or marks "
                                "left under the result at STOP",
                                res.leftover);
                pos += res.used;
                stream_done(&st);
                if (pos < size) {
                    mark mk2 = mark_now(s);
                    size_t good = scan_pickles(s, data, size, pos, m, depth + 1, 0, 1);
                    if (!good) {
                        drop_since(s, mk2);
                        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure",
                                    NULL, NULL, m, (int64_t)pos,
                                    "%zu bytes after the pickle",
                                    size - pos);
                        resync(s, data, size, pos + 1, m, depth + 1, 1, &good);
                    } else {
                        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure",
                                    NULL, NULL, m, (int64_t)pos,
                                    "more than one pickle in the member");
                    }
                }
                break;
            }
            char msg[600];
            scratch_msg(st.f, msg, sizeof msg);
            if (st.meaningful || rc == MFT_ERR_LIMIT)
                s->analysed = 1;
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL, m,
                        (int64_t)(pos + res.used), "%s%s", msg,
                        rc == MFT_ERR_LIMIT
                            ? " (scan limit: the rest of the stream is walked "
                              "opcode by opcode for imports)"
                            : " (loading stops here; what came before has run)");
            size_t good = 0;
            if (rc != MFT_ERR_LIMIT)
                resync(s, data, size, pos + res.used + 1, m, depth + 1, 1, &good);
            else
                linear_walk(s, data, size, pos + res.used, res.memo_n, m);
            stream_done(&st);
        } while (0);
    } else {
        scan_buffer(s, data, size, m, depth + 1, claims_pickle_name(name));
    }
    free(m);
}

static int storage_member(const char *name, const stream *refs)
{
    /* <prefix>data/<key> or <prefix>constants/<key> */
    const char *p = strstr(name, "data/");
    const char *c = strstr(name, "constants/");
    const char *key = NULL;
    if (p && (p == name || p[-1] == '/'))
        key = p + 5;
    else if (c && (c == name || c[-1] == '/'))
        key = c + 10;
    if (!key || !*key || strchr(key, '/'))
        return 0;
    for (size_t i = 0; i < refs->nrefs; i++)
        if (refs->refs[i].key && strcmp(refs->refs[i].key, key) == 0)
            return 1;
    return 0;
}

static void scan_zip_entries(scanner *s, mftc_zip *z, const char *parent,
                             unsigned depth, uint64_t base)
{
    /* pass 1: torch's pickles, collecting the storages they reference */
    stream refs;
    stream_init(&refs, s, parent, depth, 1);
    int script = 0, package = 0, keras = 0;
    char *script_member = NULL;
    for (size_t i = 0; i < z->count; i++) {
        const char *n = z->entries[i].name;
        const char *slash = strchr(n, '/');
        const char *in = slash ? slash + 1 : n;
        if ((strcmp(in, "constants.pkl") == 0 || strncmp(in, "code/", 5) == 0) &&
            !script_member) {
            char part[512];
            snprintf(part, sizeof part, "%.*s%s", (int)(in - n), n,
                     strncmp(in, "code/", 5) == 0 ? "code/" : "constants.pkl");
            script_member = member_join(parent, part);
        }
        if (strcmp(in, "constants.pkl") == 0 || strncmp(in, "code/", 5) == 0)
            script = 1;
        if (strcmp(in, "extern_modules") == 0 ||
            strcmp(n, ".data/extern_modules") == 0)
            package = 1;
        if (strcmp(n, "config.json") == 0)
            keras = 1;
    }
    if (depth == 0) {
        int npz = z->count > 0;
        int torchzip = 0;
        for (size_t i = 0; i < z->count; i++) {
            npz &= ends_with(z->entries[i].name, ".npy");
            torchzip |= torch_pickle_name(z->entries[i].name);
        }
        s->r->format = script && torchzip ? MFT_FORMAT_TORCHSCRIPT
                       : torchzip         ? MFT_FORMAT_PYTORCH_ZIP
                       : npz              ? MFT_FORMAT_NPZ
                       : keras            ? MFT_FORMAT_KERAS
                                          : MFT_FORMAT_UNKNOWN;
    }
    if (script)
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "torchscript", NULL, NULL,
                    script_member ? script_member : parent, -1,
                    "TorchScript archive: holds code (code/, constants.pkl) "
                    "that torch.jit.load compiles and runs; torch.load "
                    "dispatches to it");
    if (package)
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "torchscript", NULL, NULL,
                    parent, -1,
                    "torch.package archive: importing it runs the Python "
                    "source it holds");
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < z->count && !s->oom; i++) {
            mftc_zip_entry e = z->entries[i];
            int tp = ends_with(e.name, ".pkl");
            if ((pass == 0) != tp)
                continue;
            if (pass == 1 && storage_member(e.name, &refs))
                continue; /* raw tensor bytes: never unpickled */
            char *m = member_join(parent, e.name);
            if (!m) {
                s->oom = 1;
                break;
            }
            const mftc_zip_entry *first = mftc_zip_find(z, e.name);
            if (first && first != &z->entries[i])
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, -1,
                            "duplicate member name: loaders that look names "
                            "up see only one of them (all are scanned)");
            if (traversal_name(e.name))
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, -1,
                            "member name escapes the extraction folder "
                            "(path traversal); nothing is extracted");
            if (!e.local_name_matches)
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, (int64_t)(e.local_header_offset + base),
                            "local header names the member differently from "
                            "the central directory (torch trusts the "
                            "directory)");
            if (e.flags & (MFTC_ZIP_FLAG_ENCRYPTED | MFTC_ZIP_FLAG_STRONG | 0x20))
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, (int64_t)(e.local_header_offset + base),
                            "general-purpose flags 0x%04x (encrypted/patched) "
                            "on a member; read as plain data anyway",
                            (unsigned)e.flags);
            if (e.method != MFTC_ZIP_STORED && e.method != MFTC_ZIP_DEFLATED) {
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, (int64_t)(e.local_header_offset + base),
                            "compression method %u (%s): member not scanned",
                            (unsigned)e.method, mftc_zip_method_name(e.method));
                free(m);
                continue;
            }
            e.flags &= (uint16_t)~(MFTC_ZIP_FLAG_ENCRYPTED | MFTC_ZIP_FLAG_STRONG);
            if (e.method == MFTC_ZIP_STORED && e.size != e.comp_size) {
                /* only encrypted members may say so (the archive checks the
                 * rest): the bytes in the archive are comp_size */
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, -1,
                            "stored member declares %llu bytes but holds %llu",
                            (unsigned long long)e.size,
                            (unsigned long long)e.comp_size);
                e.size = e.comp_size;
            }
            if (e.method == MFTC_ZIP_DEFLATED &&
                (e.size > MFT_SCAN_INFLATE_BYTES ||
                 s->inflated + e.size > MFT_SCAN_INFLATE_TOTAL)) {
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, -1,
                            "member inflates to %llu bytes, over what a scan "
                            "inflates: not scanned",
                            (unsigned long long)e.size);
                free(m);
                continue;
            }
            const uint8_t *data = NULL;
            uint8_t *owned = NULL;
            mft_status st = mftc_zip_data(z, &e, &data, &owned);
            if (st != MFT_OK) {
                char msg[600];
                scratch_msg(z->f, msg, sizeof msg);
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, -1, "member cannot be read: %s", msg);
                free(m);
                continue;
            }
            s->inflated += owned ? e.size : 0;
            if ((tp || claims_pickle_name(e.name) ||
                 looks_proto(data, (size_t)e.size)) &&
                mftc_crc32(0, data, (size_t)e.size) != e.crc32)
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, -1,
                            "CRC-32 mismatch: the member was changed after "
                            "zipping (torch does not check)");
            if (keras && (strcmp(e.name, "config.json") == 0) &&
                keras_code(data, (size_t)e.size))
                add_finding(s, MFT_SEVERITY_DANGEROUS, "code", NULL, NULL, m,
                            -1,
                            "Keras Lambda layer: Python code runs when the "
                            "model is loaded (unless safe_mode refuses it)");
            free(m);
            scan_member_bytes(s, parent, e.name, data, (size_t)e.size, depth,
                              tp, &refs);
            free(owned);
        }
    }
    stream_free(&refs);
    free(script_member);
}

/* A zip whose central directory cannot be used: walk the local headers. */
static void scan_zip_local(scanner *s, const uint8_t *data, size_t len,
                           const char *parent, unsigned depth)
{
    size_t pos = 0;
    unsigned n = 0;
    while (pos + 30 <= len && n < MFT_SCAN_LOCAL_WALK && !s->oom) {
        const uint8_t *p = find_bytes(data + pos, len - pos, "PK\3\4", 4);
        if (!p || (size_t)(p - data) + 30 > len)
            break;
        size_t at = (size_t)(p - data);
        uint16_t flags = (uint16_t)(p[6] | p[7] << 8);
        uint16_t method = (uint16_t)(p[8] | p[9] << 8);
        uint32_t comp = (uint32_t)p[18] | (uint32_t)p[19] << 8 |
                        (uint32_t)p[20] << 16 | (uint32_t)p[21] << 24;
        size_t nlen = (size_t)(p[26] | p[27] << 8), xlen = (size_t)(p[28] | p[29] << 8);
        pos = at + 4;
        if (30 + nlen + xlen > len - at)
            break;
        n++;
        char *name = clean_text((const char *)p + 30, nlen);
        if (!name) {
            s->oom = 1;
            break;
        }
        size_t d0 = at + 30 + nlen + xlen;
        size_t avail = len - d0;
        if ((flags & MFTC_ZIP_FLAG_DESCRIPTOR) && comp == 0) {
            /* size unknown here: up to the next local header */
            const uint8_t *nx = find_bytes(data + d0, avail, "PK\3\4", 4);
            comp = (uint32_t)(nx ? (size_t)(nx - data) - d0
                                 : (avail > UINT32_MAX ? UINT32_MAX : avail));
        }
        size_t csize = comp > avail ? avail : comp;
        if (method == MFTC_ZIP_STORED) {
            stream none;
            memset(&none, 0, sizeof none);
            scan_member_bytes(s, parent, name, data + d0, csize, depth,
                              torch_pickle_name(name), &none);
            stream_free(&none);
        } else if (method == MFTC_ZIP_DEFLATED) {
            size_t outlen = 0;
            int ok = 0;
            uint8_t *out = inflate_raw(data + d0, csize, MFT_SCAN_INFLATE_BYTES,
                                       &outlen, &ok);
            if (out) {
                stream none;
                memset(&none, 0, sizeof none);
                scan_member_bytes(s, parent, name, out, outlen, depth,
                                  torch_pickle_name(name), &none);
                stream_free(&none);
            }
            free(out);
        }
        free(name);
        pos = d0 + (csize ? csize : 0);
        if (pos <= at)
            pos = at + 4;
    }
}

static int scan_zip(scanner *s, const uint8_t *data, size_t len,
                    const char *member, unsigned depth, int appended)
{
    mft_file *f = scratch_new(s);
    if (!f)
        return 0;
    mftc_zip z;
    mft_status st = mftc_zip_open(&z, f, data, len);
    uint64_t base = 0;
    char msg[600] = "";
    if (st != MFT_OK) {
        scratch_msg(f, msg, sizeof msg);
        /* offsets relative to an archive that starts later (something was
         * put in front): what Python's zipfile corrects for */
        const uint8_t *eocd = NULL;
        size_t lo = len > 65557 ? len - 65557 : 0;
        for (size_t p = len >= 22 ? len - 22 + 1 : 0; p-- > lo;)
            if (data[p] == 'P' && data[p + 1] == 'K' && data[p + 2] == 5 &&
                data[p + 3] == 6) {
                eocd = data + p;
                break;
            }
        if (eocd) {
            uint64_t cd_size = (uint64_t)eocd[12] | (uint64_t)eocd[13] << 8 |
                               (uint64_t)eocd[14] << 16 | (uint64_t)eocd[15] << 24;
            uint64_t cd_off = (uint64_t)eocd[16] | (uint64_t)eocd[17] << 8 |
                              (uint64_t)eocd[18] << 16 | (uint64_t)eocd[19] << 24;
            uint64_t at = (uint64_t)(eocd - data);
            if (at >= cd_size + cd_off && at - cd_size - cd_off > 0) {
                base = at - cd_size - cd_off;
                mft_close(f);
                f = scratch_new(s);
                if (!f)
                    return 0;
                st = mftc_zip_open(&z, f, data + base, len - base);
            }
        }
    }
    if (st == MFT_OK) {
        s->analysed = 1;
        if (base && !appended)
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                        member, (int64_t)base,
                        "%llu bytes before the zip archive's first member",
                        (unsigned long long)base);
        scan_zip_entries(s, &z, member, depth, base);
    } else if (!appended) {
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL, member,
                    -1,
                    "zip central directory unusable (%s): members found by "
                    "their local headers",
                    msg);
        s->analysed = 1;
        scan_zip_local(s, data, len, member, depth);
    }
    mft_close(f);
    return st == MFT_OK;
}

/* ------------------------------------------------------------ tar */

static uint64_t tar_number(const uint8_t *p, size_t n, int *ok)
{
    *ok = 1;
    if (p[0] & 0x80) { /* base-256 */
        uint64_t v = p[0] & 0x7f;
        for (size_t i = 1; i < n; i++) {
            if (v >> 56)
                *ok = 0;
            v = v << 8 | p[i];
        }
        return v;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == 0))
        i++;
    uint64_t v = 0;
    int digits = 0;
    while (i < n && p[i] >= '0' && p[i] <= '7') {
        if (v >> 60)
            *ok = 0;
        v = v * 8 + (uint64_t)(p[i] - '0');
        i++;
        digits++;
    }
    if (i < n && p[i] != ' ' && p[i] != 0)
        *ok = 0;
    (void)digits;
    return v;
}

static int tar_header_ok(const uint8_t *h)
{
    int ok;
    uint64_t want = tar_number(h + 148, 8, &ok);
    if (!ok)
        return 0;
    uint64_t u = 0;
    int64_t sgn = 0;
    for (int i = 0; i < 512; i++) {
        uint8_t c = (i >= 148 && i < 156) ? ' ' : h[i];
        u += c;
        sgn += (int8_t)c;
    }
    return want == u || (int64_t)want == sgn;
}

static int is_tar(const uint8_t *data, size_t len)
{
    return len >= 512 && tar_header_ok(data) &&
           !(data[0] == 0 && data[1] == 0);
}

/* The legacy tar checkpoint (torch 0.1.x): `storages` and `tensors` hold
 * pickles between raw bytes; walk them exactly. Returns 0 when the layout
 * does not hold (then the member is scanned generically). */
static int tar_torch_member(scanner *s, const char *m, const uint8_t *d,
                            size_t n, unsigned depth, int tensors)
{
    size_t pos = 0;
    stream st;
    mftc_pickle_result res;
    stream_init(&st, s, m, depth, 1);
    mft_status rc = run_stream(s, &st, d, n, pos, &res);
    int64_t count = rc == MFT_OK && res.root->kind == MFT_VALUE_INT
                        ? res.root->u.i
                        : -1;
    stream_done(&st);
    if (count < 0 || count > (1 << 22))
        return 0;
    s->analysed = 1;
    pos += res.used;
    for (int64_t i = 0; i < count; i++) {
        stream_init(&st, s, m, depth, 1);
        rc = run_stream(s, &st, d, n, pos, &res);
        if (rc != MFT_OK) {
            stream_done(&st);
            return 0;
        }
        pos += res.used;
        const mft_value *t = res.root;
        if (tensors) {
            /* ndim (4 bytes + 4 skipped), sizes, strides, offset */
            if (n - pos < 8) {
                stream_done(&st);
                return 0;
            }
            uint32_t ndim = (uint32_t)d[pos] | (uint32_t)d[pos + 1] << 8 |
                            (uint32_t)d[pos + 2] << 16 | (uint32_t)d[pos + 3] << 24;
            pos += 8;
            if (ndim > 64 || n - pos < 16ull * ndim + 8) {
                stream_done(&st);
                return 0;
            }
            pos += 16 * (size_t)ndim + 8;
        } else {
            /* (key, location, storage_type), then an 8-byte count and the
             * elements */
            const mft_value *cls = t && t->kind == MFT_VALUE_TUPLE && t->u.seq.n == 3
                                       ? t->u.seq.items[2]
                                       : NULL;
            unsigned elem = is_plain_global(cls)
                                ? mftc_scan_storage_elem(canonical_of(&st, cls->u.obj.cls))
                                : 0;
            uint64_t bytes;
            if (!elem || n - pos < 8 ||
                !mftc_mul_u64(load_le64(d + pos, 0), elem, &bytes) ||
                bytes > n - pos - 8) {
                stream_done(&st);
                return 0;
            }
            pos += 8 + (size_t)bytes;
        }
        stream_done(&st);
    }
    if (!tensors && pos < n) /* the storage views */
        scan_pickles(s, d, n, pos, m, depth, 1, 1);
    else if (pos < n)
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL, m,
                    (int64_t)pos, "%zu trailing bytes", n - pos);
    return 1;
}

static void scan_tar(scanner *s, const uint8_t *data, size_t len,
                     const char *member, unsigned depth)
{
    size_t pos = 0;
    unsigned count = 0;
    char *longname = NULL;
    int torch = 0;
    s->analysed = 1;
    if (depth == 0)
        s->r->format = MFT_FORMAT_PYTORCH_LEGACY;
    while (pos + 512 <= len && count < MFT_SCAN_TAR_MEMBERS && !s->oom) {
        const uint8_t *h = data + pos;
        int zero = 1;
        for (int i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        if (zero)
            break;
        if (!tar_header_ok(h)) {
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                        member, (int64_t)pos,
                        "tar header with a bad checksum: the rest is "
                        "searched for pickles");
            size_t good = 0;
            resync(s, data, len, pos, member, depth, 0, &good);
            break;
        }
        int ok;
        uint64_t size = tar_number(h + 124, 12, &ok);
        size_t d0 = pos + 512;
        if (!ok || size > len - d0) {
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL,
                        member, (int64_t)pos,
                        "tar member runs past the end of the archive");
            size = len - d0;
        }
        char name[260];
        if (memcmp(h + 257, "ustar", 5) == 0 && h[345])
            snprintf(name, sizeof name, "%.155s/%.100s", (const char *)h + 345,
                     (const char *)h);
        else
            snprintf(name, sizeof name, "%.100s", (const char *)h);
        char type = (char)h[156];
        count++;
        if (type == 'L' || type == 'x') {
            /* GNU long name / pax header: the next member's name */
            free(longname);
            longname = NULL;
            const char *t = (const char *)data + d0;
            size_t tn = (size_t)size;
            if (type == 'L') {
                longname = clean_text(t, strnlen(t, tn));
            } else {
                const char *p = memmem(t, tn, " path=", 6);
                if (p) {
                    const char *e = memchr(p, '\n', tn - (size_t)(p - t));
                    if (e)
                        longname = clean_text(p + 6, (size_t)(e - p - 6));
                }
            }
        } else if (type == '0' || type == 0 || type == '7') {
            char *nm = longname ? longname : clean_str(name);
            longname = NULL;
            if (!nm) {
                s->oom = 1;
                break;
            }
            char *m = member_join(member, nm);
            if (!m) {
                free(nm);
                s->oom = 1;
                break;
            }
            if (traversal_name(nm))
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                            m, -1,
                            "member name escapes the extraction folder "
                            "(path traversal); nothing is extracted");
            const uint8_t *d = data + d0;
            size_t n = (size_t)size;
            int done = 0;
            if (strcmp(nm, "storages") == 0 || strcmp(nm, "tensors") == 0) {
                torch = 1;
                mark mk = mark_now(s);
                done = tar_torch_member(s, m, d, n, depth + 1,
                                        strcmp(nm, "tensors") == 0);
                if (!done) {
                    drop_since(s, mk);
                    add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL,
                                NULL, m, -1,
                                "legacy tar checkpoint: the member does not "
                                "have torch's layout; searched for pickles");
                    scan_pickles(s, d, n, 0, m, depth + 1, 1, 1);
                    done = 1;
                }
            } else if (strcmp(nm, "pickle") == 0 || strcmp(nm, "sys_info") == 0) {
                scan_pickles(s, d, n, 0, m, depth + 1, 1, 1);
                done = 1;
            }
            if (!done)
                scan_buffer(s, d, n, m, depth + 1, claims_pickle_name(nm));
            free(m);
            free(nm);
        }
        pos = d0 + (size_t)((size + 511) / 512 * 512);
        if ((size + 511) / 512 * 512 > len - d0)
            break;
    }
    free(longname);
    if (torch)
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL, member,
                    -1,
                    "legacy tar checkpoint (torch 0.1.x): torch refuses it "
                    "with weights_only=True and unpickles it fully otherwise");
}

/* ------------------------------------------------------------ dispatch */

static int is_hdf5(const uint8_t *data, size_t len)
{
    static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    for (size_t at = 0; at + 8 <= len && at <= 8192; at = at ? at * 2 : 512)
        if (memcmp(data + at, sig, 8) == 0)
            return 1;
    return 0;
}

/* Does the end of the buffer hold a zip end record (a zip appended to
 * something that is not a zip)? */
static int has_eocd(const uint8_t *data, size_t len)
{
    if (len < 22)
        return 0;
    size_t lo = len > 65557 ? len - 65557 : 0;
    for (size_t p = len - 22 + 1; p-- > lo;)
        if (data[p] == 'P' && data[p + 1] == 'K' && data[p + 2] == 5 &&
            data[p + 3] == 6 &&
            p + 22 + (size_t)(data[p + 20] | data[p + 21] << 8) <= len)
            return 1;
    return 0;
}

static void scan_buffer(scanner *s, const uint8_t *data, size_t len,
                        const char *member, unsigned depth, int claim)
{
    if (s->oom)
        return;
    if (depth > MFT_SCAN_CONTAINER_DEPTH + MFT_SCAN_EMBEDDED_DEPTH) {
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL, member,
                    -1, "nested deeper than a scan follows: not scanned");
        return;
    }
    if (len == 0) {
        if (claim && member)
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL,
                        member, -1, "empty pickle member");
        if (!member)
            note_error(s, "empty file");
        return;
    }
    if (len >= 4 && memcmp(data, "PK", 2) == 0 &&
        ((data[2] == 3 && data[3] == 4) || (data[2] == 5 && data[3] == 6))) {
        if (depth > MFT_SCAN_CONTAINER_DEPTH) {
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                        member, -1, "zip nested deeper than a scan follows");
            return;
        }
        if (member)
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                        member, -1, "a zip archive inside the archive (scanned)");
        scan_zip(s, data, len, member, depth, 0);
        return;
    }
    if (len >= 6 && memcmp(data, "\x93NUMPY", 6) == 0) {
        if (!member)
            s->r->format = MFT_FORMAT_NPY;
        scan_npy(s, data, len, member, depth);
        return;
    }
    if (is_tar(data, len)) {
        scan_tar(s, data, len, member, depth);
        return;
    }
    if (len >= 6 && memcmp(data, "7z\xbc\xaf\x27\x1c", 6) == 0) {
        s->analysed = 1;
        add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL, member,
                    -1,
                    "7-Zip archive: mft does not unpack 7z, its members are "
                    "not scanned");
        return;
    }
    if (is_hdf5(data, len)) {
        s->analysed = 1;
        if (!member)
            s->r->format = MFT_FORMAT_HDF5;
        if (keras_code(data, len))
            add_finding(s, MFT_SEVERITY_DANGEROUS, "code", NULL, NULL, member,
                        -1,
                        "Keras Lambda layer in the model config: Python code "
                        "runs when the model is loaded");
        return;
    }
    mft_format fmt = mft_detect(data, len < MFT_DETECT_BYTES ? len : MFT_DETECT_BYTES);
    if (fmt == MFT_FORMAT_SAFETENSORS || fmt == MFT_FORMAT_GGUF ||
        fmt == MFT_FORMAT_SAFETENSORS_INDEX) {
        if (!member)
            s->r->format = fmt;
        mft_file *f = NULL;
        mft_status st = fmt == MFT_FORMAT_SAFETENSORS_INDEX
                            ? MFT_OK
                            : mft_open_memory(data, len, "scan", NULL, &f);
        if (st == MFT_OK) {
            s->analysed = 1;
        } else {
            char msg[600];
            if (f)
                scratch_msg(f, msg, sizeof msg);
            else
                snprintf(msg, sizeof msg, "%s", mft_strerror(st));
            if (member)
                add_finding(s, MFT_SEVERITY_SUSPICIOUS, "malformed", NULL, NULL,
                            member, -1, "malformed %s: %s", mft_format_name(fmt),
                            msg);
            note_error(s, "malformed %s: %s", mft_format_name(fmt), msg);
        }
        mft_close(f);
        /* torch.load would unpickle these bytes: a polyglot is possible */
        mark mk = mark_now(s);
        int analysed = s->analysed;
        char err[sizeof s->error];
        memcpy(err, s->error, sizeof err);
        if (scan_pickles(s, data, len, 0, member, depth, 0, 0)) {
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL,
                        member, 0,
                        "polyglot: the bytes are also a pickle (what torch.load "
                        "would run)");
        } else {
            drop_since(s, mk);
            s->analysed = analysed;
            memcpy(s->error, err, sizeof err);
        }
        return;
    }
    if (!member) {
        s->r->format = fmt == MFT_FORMAT_PYTORCH_LEGACY ? MFT_FORMAT_PYTORCH_LEGACY
                                                        : MFT_FORMAT_PICKLE;
        claim = claim || fmt == MFT_FORMAT_PICKLE || fmt == MFT_FORMAT_PYTORCH_LEGACY;
    }
    size_t good = scan_pickles(s, data, len, 0, member, depth, claim, 0);
    if (!good && !member)
        s->r->format = MFT_FORMAT_UNKNOWN;
    /* a zip appended to the pickle (fickling's polyglots) */
    if (has_eocd(data, len) && depth <= MFT_SCAN_CONTAINER_DEPTH) {
        mark mk = mark_now(s);
        int analysed = s->analysed;
        mft_format fmt0 = s->r->format;
        int opened = scan_zip(s, data, len, member, depth, 1);
        s->r->format = fmt0; /* a loader sees what is at offset 0 */
        if (opened) {
            add_finding(s, MFT_SEVERITY_SUSPICIOUS, "container", NULL, NULL,
                        member, -1,
                        "polyglot: a zip archive is appended to %s (its "
                        "members were scanned)",
                        good ? "the pickle" : "the data");
        } else {
            drop_since(s, mk);
            s->analysed = analysed;
        }
    }
}

/* ------------------------------------------------------------ public API */

static int cmp_finding(const void *a, const void *b)
{
    const finding *x = a, *y = b;
    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static mft_status scan_bytes(const uint8_t *data, size_t len, const char *name,
                             const mft_scan_options *opts, const char *open_err,
                             mft_scan_report **out)
{
    *out = NULL;
    mft_scan_report *r = calloc(1, sizeof *r);
    if (!r)
        return MFT_ERR_NOMEM;
    r->file = strdup(name ? name : "(memory)");
    if (!r->file) {
        free(r);
        return MFT_ERR_NOMEM;
    }
    scanner s;
    memset(&s, 0, sizeof s);
    s.r = r;
    static const uint64_t defaults[MFT_LIMIT_COUNT_] = {
        [MFT_LIMIT_HEADER_BYTES] = MFT_DEFAULT_HEADER_BYTES,
        [MFT_LIMIT_TENSORS] = MFT_DEFAULT_TENSORS,
        [MFT_LIMIT_DIMS] = MFT_DEFAULT_DIMS,
        [MFT_LIMIT_NAME_BYTES] = MFT_DEFAULT_NAME_BYTES,
        [MFT_LIMIT_JSON_DEPTH] = MFT_DEFAULT_JSON_DEPTH,
        [MFT_LIMIT_SHARDS] = MFT_DEFAULT_SHARDS,
        [MFT_LIMIT_PICKLE_DEPTH] = MFT_DEFAULT_PICKLE_DEPTH,
        [MFT_LIMIT_PICKLE_MEMO] = MFT_SCAN_PICKLE_MEMO,
        [MFT_LIMIT_PICKLE_ITEMS] = MFT_SCAN_PICKLE_ITEMS,
        [MFT_LIMIT_ZIP_ENTRIES] = MFT_SCAN_ZIP_ENTRIES,
        [MFT_LIMIT_INFLATE_BYTES] = MFT_SCAN_INFLATE_BYTES,
        [MFT_LIMIT_STRING_BYTES] = MFT_SCAN_STRING_BYTES,
        [MFT_LIMIT_ARRAY_ITEMS] = MFT_DEFAULT_ARRAY_ITEMS,
    };
    memcpy(s.limits, defaults, sizeof s.limits);
    if (opts)
        for (int i = 0; i < MFT_LIMIT_COUNT_; i++)
            if (opts->limits[i] && opts->limits[i] < s.limits[i])
                s.limits[i] = opts->limits[i];
    if (open_err)
        note_error(&s, "%s", open_err);
    else
        scan_buffer(&s, data, len, NULL, 0, 0);
    if (s.oom) {
        mft_scan_report_free(r);
        return MFT_ERR_NOMEM;
    }
    if (r->omitted) {
        size_t om = r->omitted;
        s.no_cap = 1;
        add_finding(&s, MFT_SEVERITY_SUSPICIOUS, "structure", NULL, NULL, NULL,
                    -1, "%zu more findings not listed", om);
    }
    int dangerous = 0, suspicious = 0;
    for (size_t i = 0; i < r->n; i++) {
        dangerous |= r->f[i].severity == MFT_SEVERITY_DANGEROUS;
        suspicious |= r->f[i].severity == MFT_SEVERITY_SUSPICIOUS;
    }
    if (dangerous)
        r->verdict = MFT_VERDICT_DANGEROUS;
    else if (!s.analysed)
        r->verdict = MFT_VERDICT_ERROR;
    else if (suspicious)
        r->verdict = MFT_VERDICT_SUSPICIOUS;
    else
        r->verdict = MFT_VERDICT_SAFE;
    if (r->verdict == MFT_VERDICT_ERROR) {
        if (!s.error[0])
            snprintf(s.error, sizeof s.error, "nothing readable");
        r->error = clean_str(s.error);
    } else {
        r->error = strdup("");
    }
    if (!r->error) {
        mft_scan_report_free(r);
        return MFT_ERR_NOMEM;
    }
    if (r->n)
        qsort(r->f, r->n, sizeof *r->f, cmp_finding);
    *out = r;
    return MFT_OK;
}

mft_status mft_scan_memory(const void *data, size_t len, const char *name,
                           const mft_scan_options *opts, mft_scan_report **out)
{
    if (!out || (!data && len))
        return MFT_ERR_MISUSE;
    return scan_bytes(data ? data : (const void *)"", len, name, opts, NULL,
                      out);
}

mft_status mft_scan_path(const char *path, const mft_scan_options *opts,
                         mft_scan_report **out)
{
    if (!out || !path)
        return MFT_ERR_MISUSE;
    mftc_source src;
    char err[MFTC_ERRMSG_SIZE];
    err[0] = 0;
    mft_status st = mftc_source_open(&src, path, 0, err);
    if (st != MFT_OK) {
        if (!err[0])
            snprintf(err, sizeof err, "%s", mft_strerror(st));
        return scan_bytes(NULL, 0, path, opts, err, out);
    }
    st = scan_bytes(src.data, (size_t)src.size, path, opts, NULL, out);
    mftc_source_close(&src);
    return st;
}

void mft_scan_report_free(mft_scan_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->f[i].global);
        free(r->f[i].canonical);
        free(r->f[i].member);
        free(r->f[i].message);
    }
    free(r->f);
    for (size_t i = 0; i < r->nimports; i++)
        free(r->imports[i]);
    free(r->imports);
    free(r->file);
    free(r->error);
    free(r);
}

const char *mft_verdict_name(mft_verdict v)
{
    switch (v) {
    case MFT_VERDICT_SAFE: return "SAFE";
    case MFT_VERDICT_SUSPICIOUS: return "SUSPICIOUS";
    case MFT_VERDICT_DANGEROUS: return "DANGEROUS";
    case MFT_VERDICT_ERROR: return "ERROR";
    default: return "ERROR";
    }
}

const char *mft_severity_name(mft_severity s)
{
    return s == MFT_SEVERITY_DANGEROUS ? "dangerous" : "suspicious";
}

mft_verdict mft_scan_verdict(const mft_scan_report *r)
{
    return r ? r->verdict : MFT_VERDICT_ERROR;
}

const char *mft_scan_file(const mft_scan_report *r) { return r ? r->file : ""; }

mft_format mft_scan_format(const mft_scan_report *r)
{
    return r ? r->format : MFT_FORMAT_UNKNOWN;
}

const char *mft_scan_error(const mft_scan_report *r)
{
    return r && r->error ? r->error : "";
}

size_t mft_scan_finding_count(const mft_scan_report *r) { return r ? r->n : 0; }

mft_status mft_scan_finding_at(const mft_scan_report *r, size_t i,
                               mft_scan_finding *out)
{
    if (!r || !out || i >= r->n)
        return MFT_ERR_MISUSE;
    const finding *x = &r->f[i];
    out->severity = x->severity;
    out->kind = x->kind;
    out->global = x->global;
    out->canonical = x->canonical;
    out->member = x->member;
    out->offset = x->offset;
    out->message = x->message;
    return MFT_OK;
}

size_t mft_scan_import_count(const mft_scan_report *r)
{
    return r ? r->nimports : 0;
}

const char *mft_scan_import_at(const mft_scan_report *r, size_t i)
{
    return r && i < r->nimports ? r->imports[i] : NULL;
}
