/* PyTorch writer: zip archives as torch.save writes them, loadable by
 * torch.load(weights_only=True) and mmap=True
 * (shared/reference/pytorch-format.md §2.4 byte layout, §3.9 recipe, §4
 * allow-list).
 *
 * Archive: one folder named after the target (its file name without the
 * last extension; "archive" when that is empty), records in torch's order —
 *   data.pkl, .format_version ("1"), .storage_alignment ("64"),
 *   byteorder ("little"), data/0 … data/N-1, version ("3\n"),
 *   .data/serialization_id (40 digits)
 * — every record stored, its data at a multiple of 64 bytes (the "FB"
 * padding field), a data descriptor after every non-empty record, zip64 end
 * records always, CRC-32 by libdeflate (src/container/zip_write.c with
 * torch_fields). Storage keys are numbered in order of first use in
 * data.pkl, so the records follow in numeric order, which is what
 * .format_version 1 promises (torch's optional offset calculation relies on
 * it).
 *
 * data.pkl: protocol 2 with only the opcodes torch's weights_only unpickler
 * accepts (PROTO, MARK, STOP, GLOBAL, BINPUT/LONG_BINPUT, BINGET/LONG_BINGET,
 * BININT1/BININT2/BININT/LONG1, BINFLOAT, BINUNICODE, NONE, NEWTRUE/NEWFALSE,
 * EMPTY_TUPLE, TUPLE1-3, TUPLE, EMPTY_LIST, APPEND(S), EMPTY_DICT,
 * SETITEM(S), EMPTY_SET, REDUCE, BINPERSID) — no FRAME, SHORT_BINUNICODE,
 * BINBYTES, STACK_GLOBAL or MEMOIZE — and only allow-listed globals:
 *   torch._utils._rebuild_tensor_v2 with the legacy storage classes
 *     (torch.FloatStorage …) for the classic dtypes,
 *   torch._utils._rebuild_tensor_v3 + torch.storage.UntypedStorage + a
 *     dtype global for U16/U32/U64, C32, F8_* and F4 (torch ≥ 2.1 reads them),
 *   torch._utils._rebuild_qtensor + the qscheme globals for QI8/QU8/QI32,
 *   collections.OrderedDict, and for values torch.device, builtins.set,
 *   builtins.complex, _codecs.encode (bytes) and dtype globals.
 * A node used more than once is memoized (BINPUT) and fetched again
 * (BINGET), so torch gets one object back, as from torch.save. Every storage
 * is location 'cpu'.
 *
 * Storages: a tensor added to the writer has a storage of its own, written
 * from its source (pointer, callback, mapping, cast) straight into the
 * archive. Tensors copied from a PyTorch file with mft_node_from_value that
 * share one storage there share one here: the storage is written once, each
 * tensor keeps its offset, size and stride, and torch gives them back
 * sharing memory. Only data.pkl is built in memory.
 *
 * The value tree (mft_node) lives in an arena owned by the writer. */
#include "../container/zip_write.h"
#include "../core/checked.h"
#include "../core/writer.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2000 /* nesting of values (recursion: stack-bounded) */
#define MAX_NOTES 10000 /* notes kept; the last one says more were left out */
#define BATCH 1000      /* items per APPENDS / SETITEMS, as pickle.py */
#define ALIGN 64        /* storage alignment, torch's default */

enum {
    N_NONE,
    N_BOOL,
    N_INT,
    N_BIGINT,
    N_FLOAT,
    N_STRING,
    N_BYTES,
    N_LIST,
    N_TUPLE,
    N_DICT,
    N_SET,
    N_TENSOR,
    N_GLOBAL, /* a bare allow-listed global (torch.float16) */
    N_CALL    /* an allow-listed global applied to a TUPLE (torch.device) */
};

struct mft_node {
    mft_writer *w;
    uint8_t kind;
    uint8_t ordered; /* N_DICT: collections.OrderedDict */
    uint8_t mark;    /* walk state: 0 new, 1 on the path, 2 done */
    uint32_t refs;   /* references from the tree (+1 for the root) */
    uint32_t memo;   /* memo index + 1 once written (refs > 1) */
    union {
        int b;
        int64_t i;
        double f;
        struct {
            const char *p;
            size_t n;
        } s; /* STRING, BYTES, BIGINT (little-endian two's complement) */
        struct {
            mft_node **items, **keys;
            size_t n, cap;
        } seq;
        size_t tensor; /* index into w->tensors */
        struct {
            const char *name; /* "torch.device" */
            mft_node *args;   /* N_CALL: a TUPLE */
        } call;
    } u;
};

/* What the PyTorch writer knows about writer tensor i beyond mftc_wtensor. */
typedef struct tinfo {
    int shared;       /* a view of storage group `group` */
    size_t group;
    uint64_t offset;  /* storage offset in elements */
    int64_t *strides; /* NULL: row-major */
    int quant;        /* 0 none, 1 per tensor, 2 per channel */
    double scale;
    int64_t zero_point;
    int64_t axis;
    size_t qscales, qzeros; /* per channel: writer tensors (F64, I64) */
    size_t key;             /* own storage: key + 1 once written */
    int used;
} tinfo;

/* A storage shared by tensors copied from one PyTorch file. */
typedef struct tgroup {
    const mftc_tensor *rep; /* one of its tensors in the source */
    mft_dtype dtype;
    uint64_t nbytes; /* the largest declared size among its views */
    size_t key;      /* key + 1 once written */
} tgroup;

/* A storage record: group g, or writer tensor t's own bytes. */
typedef struct trecord {
    int is_group;
    size_t index;
} trecord;

/* Pointer-keyed map (value → node, storage → group). */
typedef struct pmap {
    const void **keys;
    uintptr_t *tags;
    void **vals;
    size_t cap, n;
} pmap;

struct mftc_torch {
    mftc_arena a;
    mft_node *root;
    tinfo *ti;
    size_t nti;
    tgroup *groups;
    size_t ngroups, capgroups;
    pmap group_map;
    char **notes;
    size_t nnotes, capnotes;
    void **owned;
    size_t nowned, capowned;
};

/* ------------------------------------------------------------ helpers */

static uint64_t mix(const void *p, uintptr_t tag)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)tag * 0xC2B2AE3D27D4EB4Full;
    return h ^ (h >> 29);
}

static void *pmap_get(const pmap *m, const void *k, uintptr_t tag)
{
    if (!m->cap)
        return NULL;
    for (size_t i = (size_t)mix(k, tag) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return NULL;
        if (m->keys[i] == k && m->tags[i] == tag)
            return m->vals[i];
    }
}

static int pmap_put(pmap *m, const void *k, uintptr_t tag, void *v)
{
    if ((m->n + 1) * 2 > m->cap) {
        pmap g = {0};
        g.cap = m->cap ? m->cap * 2 : 64;
        g.keys = calloc(g.cap, sizeof *g.keys);
        g.tags = calloc(g.cap, sizeof *g.tags);
        g.vals = calloc(g.cap, sizeof *g.vals);
        if (!g.keys || !g.tags || !g.vals) {
            free(g.keys);
            free(g.tags);
            free(g.vals);
            return 0;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                pmap_put(&g, m->keys[i], m->tags[i], m->vals[i]);
        free(m->keys);
        free(m->tags);
        free(m->vals);
        *m = g;
    }
    size_t i = (size_t)mix(k, tag) & (m->cap - 1);
    while (m->keys[i]) {
        if (m->keys[i] == k && m->tags[i] == tag) { /* update */
            m->vals[i] = v;
            return 1;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = k;
    m->tags[i] = tag;
    m->vals[i] = v;
    m->n++;
    return 1;
}

static void pmap_free(pmap *m)
{
    free(m->keys);
    free(m->tags);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static mftc_torch *state(mft_writer *w)
{
    if (!w->torch)
        w->torch = calloc(1, sizeof *w->torch);
    return w->torch;
}

void mftc_torch_free(mft_writer *w)
{
    mftc_torch *t = w ? w->torch : NULL;
    if (!t)
        return;
    for (size_t i = 0; i < t->nnotes; i++)
        free(t->notes[i]);
    free(t->notes);
    for (size_t i = 0; i < t->nowned; i++)
        free(t->owned[i]);
    free(t->owned);
    free(t->ti);
    free(t->groups);
    pmap_free(&t->group_map);
    mftc_arena_free(&t->a);
    free(t);
    w->torch = NULL;
}

/* tinfo of writer tensor i (grown to the writer's count). */
static tinfo *info(mft_writer *w, size_t i)
{
    mftc_torch *t = state(w);
    if (!t)
        return NULL;
    if (t->nti < w->ntensors) {
        size_t n = w->cap > w->ntensors ? w->cap : w->ntensors;
        tinfo *g = realloc(t->ti, n * sizeof *g);
        if (!g)
            return NULL;
        memset(g + t->nti, 0, (n - t->nti) * sizeof *g);
        t->ti = g;
        t->nti = n;
    }
    return i < t->nti ? &t->ti[i] : NULL;
}

static int keep(mftc_torch *t, void *p)
{
    if (t->nowned == t->capowned) {
        size_t cap = t->capowned ? t->capowned * 2 : 16;
        void **g = realloc(t->owned, cap * sizeof *g);
        if (!g) {
            free(p);
            return 0;
        }
        t->owned = g;
        t->capowned = cap;
    }
    t->owned[t->nowned++] = p;
    return 1;
}

static void note(mft_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(mft_writer *w, const char *fmt, ...)
{
    mftc_torch *t = state(w);
    if (!t)
        return;
    if (t->nnotes >= MAX_NOTES)
        return;
    char buf[1024];
    if (t->nnotes == MAX_NOTES - 1) {
        snprintf(buf, sizeof buf, "more values were written as what they "
                                  "hold (notes stop at %d)", MAX_NOTES);
    } else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
    }
    if (t->nnotes == t->capnotes) {
        size_t cap = t->capnotes ? t->capnotes * 2 : 16;
        char **g = realloc(t->notes, cap * sizeof *g);
        if (!g)
            return;
        t->notes = g;
        t->capnotes = cap;
    }
    char *s = strdup(buf);
    if (s)
        t->notes[t->nnotes++] = s;
}

size_t mft_writer_note_count(const mft_writer *w)
{
    return w && w->torch ? w->torch->nnotes : 0;
}

const char *mft_writer_note(const mft_writer *w, size_t i)
{
    return w && w->torch && i < w->torch->nnotes ? w->torch->notes[i] : NULL;
}

/* A UTF-8 check as Python's "surrogatepass" decoder accepts it: no
 * overlong forms, nothing above U+10FFFF; encoded surrogates allowed. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF)
            return 0;
        i += len;
    }
    return 1;
}

/* ------------------------------------------------------------ nodes */

/* Record a failure unless one is recorded already: commit reports the
 * first (a builder's NULL makes every later call fail too). */
static mft_status wfail(mft_writer *w, mft_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static mft_status wfail(mft_writer *w, mft_status code, const char *fmt, ...)
{
    if (!w->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->errmsg, sizeof w->errmsg, fmt, ap);
        va_end(ap);
        w->failed = 1;
    }
    return code;
}

static mft_node *fail_null(mft_writer *w, mft_status code, const char *what)
{
    wfail(w, code, "%s", what);
    return NULL;
}

static mft_node *node_new(mft_writer *w, int kind)
{
    if (!w)
        return NULL;
    if (w->format != MFT_FORMAT_PYTORCH_ZIP)
        return fail_null(w, MFT_ERR_MISUSE,
                         "value trees are written to PyTorch files only");
    if (w->committed)
        return fail_null(w, MFT_ERR_MISUSE, "writer already committed");
    mftc_torch *t = state(w);
    mft_node *n = t ? mftc_arena_alloc(&t->a, sizeof *n) : NULL;
    if (!n)
        return fail_null(w, MFT_ERR_NOMEM, "out of memory");
    n->w = w;
    n->kind = (uint8_t)kind;
    return n;
}

mft_node *mft_node_none(mft_writer *w) { return node_new(w, N_NONE); }

mft_node *mft_node_bool(mft_writer *w, int b)
{
    mft_node *n = node_new(w, N_BOOL);
    if (n)
        n->u.b = b != 0;
    return n;
}

mft_node *mft_node_int(mft_writer *w, int64_t i)
{
    mft_node *n = node_new(w, N_INT);
    if (n)
        n->u.i = i;
    return n;
}

mft_node *mft_node_float(mft_writer *w, double x)
{
    mft_node *n = node_new(w, N_FLOAT);
    if (n)
        n->u.f = x;
    return n;
}

static mft_node *bytes_node(mft_writer *w, int kind, const void *p, size_t len)
{
    mft_node *n = node_new(w, kind);
    if (!n)
        return NULL;
    char *copy = mftc_arena_strndup(&w->torch->a, len ? p : "", len);
    if (!copy)
        return fail_null(w, MFT_ERR_NOMEM, "out of memory");
    n->u.s.p = copy;
    n->u.s.n = len;
    return n;
}

mft_node *mft_node_bigint(mft_writer *w, const void *bytes, size_t len)
{
    if (!w)
        return NULL;
    if (!bytes && len)
        return fail_null(w, MFT_ERR_MISUSE, "mft_node_bigint: no bytes");
    const unsigned char *b = bytes;
    /* drop redundant sign bytes: the minimal two's complement form */
    while (len > 1 && ((b[len - 1] == 0 && !(b[len - 2] & 0x80)) ||
                       (b[len - 1] == 0xFF && (b[len - 2] & 0x80))))
        len--;
    if (len > 255)
        return fail_null(w, MFT_ERR_UNSUPPORTED,
                         "an integer of more than 255 bytes cannot be written "
                         "(LONG4 is not accepted by torch's weights_only "
                         "loader)");
    return bytes_node(w, N_BIGINT, bytes, len);
}

mft_node *mft_node_string(mft_writer *w, const char *s, size_t len)
{
    if (!w)
        return NULL;
    if (!s)
        return fail_null(w, MFT_ERR_MISUSE, "mft_node_string: no string");
    if (len == (size_t)-1)
        len = strlen(s);
    if (len > 0xFFFFFFFFu)
        return fail_null(w, MFT_ERR_LIMIT,
                         "a string longer than 4 GiB cannot be pickled with "
                         "BINUNICODE");
    if (!valid_utf8((const unsigned char *)s, len))
        return fail_null(w, MFT_ERR_MISUSE, "mft_node_string: not UTF-8");
    return bytes_node(w, N_STRING, s, len);
}

mft_node *mft_node_list(mft_writer *w) { return node_new(w, N_LIST); }
mft_node *mft_node_tuple(mft_writer *w) { return node_new(w, N_TUPLE); }

mft_node *mft_node_dict(mft_writer *w, int ordered)
{
    mft_node *n = node_new(w, N_DICT);
    if (n)
        n->ordered = ordered != 0;
    return n;
}

static mft_node *tensor_node(mft_writer *w, size_t index)
{
    mft_node *n = node_new(w, N_TENSOR);
    if (n)
        n->u.tensor = index;
    return n;
}

mft_node *mft_node_tensor(mft_writer *w, const char *name)
{
    if (!w)
        return NULL;
    if (!name)
        return fail_null(w, MFT_ERR_MISUSE, "mft_node_tensor: no name");
    for (size_t i = w->ntensors; i-- > 0;)
        if (strcmp(w->tensors[i].name, name) == 0)
            return tensor_node(w, i);
    wfail(w, MFT_ERR_NOT_FOUND, "no tensor named \"%s\" was added",
                     name);
    return NULL;
}

static mft_status seq_add(mft_node *seq, mft_node *key, mft_node *item)
{
    mft_writer *w = seq->w;
    if (seq->u.seq.n == seq->u.seq.cap) {
        size_t cap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 4, bytes;
        if (!mftc_mul_size(cap, sizeof(mft_node *), &bytes))
            return wfail(w, MFT_ERR_NOMEM, "out of memory");
        mft_node **items = mftc_arena_alloc(&w->torch->a, bytes);
        mft_node **keys = seq->kind == N_DICT
                              ? mftc_arena_alloc(&w->torch->a, bytes)
                              : NULL;
        if (!items || (seq->kind == N_DICT && !keys))
            return wfail(w, MFT_ERR_NOMEM, "out of memory");
        if (seq->u.seq.n) {
            memcpy(items, seq->u.seq.items, seq->u.seq.n * sizeof *items);
            if (keys)
                memcpy(keys, seq->u.seq.keys, seq->u.seq.n * sizeof *keys);
        }
        seq->u.seq.items = items;
        seq->u.seq.keys = keys;
        seq->u.seq.cap = cap;
    }
    if (seq->kind == N_DICT)
        seq->u.seq.keys[seq->u.seq.n] = key;
    seq->u.seq.items[seq->u.seq.n++] = item;
    return MFT_OK;
}

static int same_writer(const mft_node *a, const mft_node *b)
{
    return a && b && a->w == b->w;
}

mft_status mft_node_append(mft_node *seq, mft_node *item)
{
    if (!seq)
        return MFT_ERR_MISUSE;
    if (!same_writer(seq, item) ||
        (seq->kind != N_LIST && seq->kind != N_TUPLE && seq->kind != N_SET))
        return wfail(seq->w, MFT_ERR_MISUSE,
                                "mft_node_append: wants a list or tuple and "
                                "an item of the same writer");
    if (seq->w->committed)
        return wfail(seq->w, MFT_ERR_MISUSE,
                                "writer already committed");
    return seq_add(seq, NULL, item);
}

static int hashable(const mft_node *k)
{
    return k->kind != N_LIST && k->kind != N_DICT && k->kind != N_SET;
}

mft_status mft_node_set(mft_node *dict, mft_node *key, mft_node *value)
{
    if (!dict)
        return MFT_ERR_MISUSE;
    if (!same_writer(dict, key) || !same_writer(dict, value) ||
        dict->kind != N_DICT)
        return wfail(dict->w, MFT_ERR_MISUSE,
                                "mft_node_set: wants a dict, a key and a "
                                "value of the same writer");
    if (!hashable(key))
        return wfail(dict->w, MFT_ERR_MISUSE,
                                "mft_node_set: a list, dict or set cannot be "
                                "a dict key");
    if (dict->w->committed)
        return wfail(dict->w, MFT_ERR_MISUSE,
                                "writer already committed");
    return seq_add(dict, key, value);
}

mft_status mft_node_set_str(mft_node *dict, const char *key, mft_node *value)
{
    if (!dict)
        return MFT_ERR_MISUSE;
    mft_node *k = mft_node_string(dict->w, key, (size_t)-1);
    return k ? mft_node_set(dict, k, value) : MFT_ERR_MISUSE;
}

mft_status mft_writer_set_root(mft_writer *w, mft_node *root)
{
    if (!w)
        return MFT_ERR_MISUSE;
    if (!root || root->w != w)
        return wfail(w, MFT_ERR_MISUSE,
                                "mft_writer_set_root: no root node of this "
                                "writer");
    w->torch->root = root;
    return MFT_OK;
}

/* ------------------------------------------------------------ dtypes */

static const struct {
    mft_dtype dt;
    const char *cglobal; /* "c:" + legacy storage class (v2), or NULL */
    const char *v3;      /* "c:" + dtype global (v3), or NULL */
} torch_types[] = {
    {MFT_BOOL, "c:torch.BoolStorage", NULL},
    {MFT_U8, "c:torch.ByteStorage", NULL},
    {MFT_I8, "c:torch.CharStorage", NULL},
    {MFT_I16, "c:torch.ShortStorage", NULL},
    {MFT_I32, "c:torch.IntStorage", NULL},
    {MFT_I64, "c:torch.LongStorage", NULL},
    {MFT_F16, "c:torch.HalfStorage", NULL},
    {MFT_BF16, "c:torch.BFloat16Storage", NULL},
    {MFT_F32, "c:torch.FloatStorage", NULL},
    {MFT_F64, "c:torch.DoubleStorage", NULL},
    {MFT_C64, "c:torch.ComplexFloatStorage", NULL},
    {MFT_C128, "c:torch.ComplexDoubleStorage", NULL},
    {MFT_QI8, "c:torch.QInt8Storage", NULL},
    {MFT_QU8, "c:torch.QUInt8Storage", NULL},
    {MFT_QI32, "c:torch.QInt32Storage", NULL},
    {MFT_U16, NULL, "c:torch.uint16"},
    {MFT_U32, NULL, "c:torch.uint32"},
    {MFT_U64, NULL, "c:torch.uint64"},
    {MFT_C32, NULL, "c:torch.complex32"},
    {MFT_F8_E4M3, NULL, "c:torch.float8_e4m3fn"},
    {MFT_F8_E5M2, NULL, "c:torch.float8_e5m2"},
    {MFT_F8_E4M3FNUZ, NULL, "c:torch.float8_e4m3fnuz"},
    {MFT_F8_E5M2FNUZ, NULL, "c:torch.float8_e5m2fnuz"},
    {MFT_F8_E8M0, NULL, "c:torch.float8_e8m0fnu"},
    {MFT_F4, NULL, "c:torch.float4_e2m1fn_x2"},
};

static int torch_type(mft_dtype dt)
{
    for (size_t i = 0; i < sizeof torch_types / sizeof torch_types[0]; i++)
        if (torch_types[i].dt == dt)
            return (int)i;
    return -1;
}

static int is_quant(mft_dtype dt)
{
    return dt == MFT_QI8 || dt == MFT_QU8 || dt == MFT_QI32;
}

/* ------------------------------------------------------------ from a file */

typedef struct conv {
    mft_writer *w;
    mft_file *src;
    mft_dtype cast;
    pmap map; /* source value → node */
    char *path;
    size_t len, cap;
    mft_status st;
} conv;

static mft_node *conv_fail(conv *c, mft_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static mft_node *conv_fail(conv *c, mft_status code, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (c->st == MFT_OK)
        wfail(c->w, code, "%s: %s%s%s", c->src->path,
                         c->len ? c->path : "", c->len ? ": " : "", buf);
    c->st = code;
    return NULL;
}

static int path_push(conv *c, const char *part, size_t n, size_t *saved)
{
    *saved = c->len;
    size_t need = c->len + n + 2;
    if (need > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < need)
            cap *= 2;
        char *g = realloc(c->path, cap);
        if (!g)
            return 0;
        c->path = g;
        c->cap = cap;
    }
    if (c->len)
        c->path[c->len++] = '.';
    memcpy(c->path + c->len, part, n);
    c->len += n;
    c->path[c->len] = 0;
    return 1;
}

static void path_pop(conv *c, size_t saved)
{
    c->len = saved;
    if (c->path)
        c->path[saved] = 0;
}

static const char *here(const conv *c)
{
    return c->len ? c->path : "(root)";
}

static mft_node *conv_value(conv *c, const mft_value *v, unsigned depth);

/* Writer tensor for source tensor `index` (its first listing). */
static mft_node *conv_tensor(conv *c, size_t index)
{
    mft_writer *w = c->w;
    mft_file *src = c->src;
    if (index >= src->ntensors)
        return conv_fail(c, MFT_ERR_CORRUPT, "tensor number %zu missing",
                         index);
    const mftc_tensor *st = &src->tensors[index];
    if (st->kind)
        return conv_fail(c, MFT_ERR_UNSUPPORTED,
                         "tensor \"%s\": a %s tensor cannot be written to a "
                         "PyTorch file yet",
                         st->name, st->kind);
    int cast = c->cast != MFT_DTYPE_INVALID && mft_dtype_is_float(st->dtype) &&
               !mft_dtype_is_complex(st->dtype) && st->dtype != c->cast;
    mft_dtype out = cast ? c->cast : st->dtype;
    if (torch_type(out) < 0)
        return conv_fail(c, MFT_ERR_DTYPE,
                         "tensor \"%s\": torch has no dtype for %s", st->name,
                         mft_dtype_name(out));
    unsigned bits = mft_dtype_bits(st->dtype);
    int shareable = !cast && st->storage && st->storage_nbytes &&
                    !st->negate && !st->conjugate && bits >= 8 &&
                    bits % 8 == 0 && out != MFT_F4;
    mft_status s = cast ? mft_writer_add_cast(w, st->name, c->cast, src, index)
                        : mft_writer_add_from(w, st->name, src, index);
    if (s != MFT_OK) {
        c->st = s;
        return NULL;
    }
    size_t wi = w->ntensors - 1;
    tinfo *ti = info(w, wi);
    if (!ti)
        return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
    if (shareable) {
        mftc_torch *t = w->torch;
        void *g = pmap_get(&t->group_map, st->storage, (uintptr_t)st->dtype);
        size_t gi;
        if (g) {
            gi = (size_t)(uintptr_t)g - 1;
        } else {
            if (t->ngroups == t->capgroups) {
                size_t cap = t->capgroups ? t->capgroups * 2 : 16;
                tgroup *gg = realloc(t->groups, cap * sizeof *gg);
                if (!gg)
                    return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
                t->groups = gg;
                t->capgroups = cap;
            }
            gi = t->ngroups;
            if (!pmap_put(&t->group_map, st->storage, (uintptr_t)st->dtype,
                          (void *)(uintptr_t)(gi + 1)))
                return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
            memset(&t->groups[gi], 0, sizeof t->groups[gi]);
            t->groups[gi].rep = st;
            t->groups[gi].dtype = st->dtype;
            t->ngroups++;
        }
        tgroup *grp = &t->groups[gi];
        if (st->storage_nbytes > grp->nbytes) {
            grp->nbytes = st->storage_nbytes;
            grp->rep = st;
        }
        ti->shared = 1;
        ti->group = gi;
        ti->offset = st->storage_offset;
        if (st->ndim) {
            ti->strides = mftc_arena_alloc(&t->a, (size_t)st->ndim * sizeof(int64_t));
            if (!ti->strides)
                return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
            memcpy(ti->strides, st->strides, (size_t)st->ndim * sizeof(int64_t));
        }
    }
    if (is_quant(st->dtype)) {
        if (st->quant_count == 0)
            return conv_fail(c, MFT_ERR_UNSUPPORTED,
                             "tensor \"%s\": %s without quantization "
                             "parameters",
                             st->name, mft_dtype_name(st->dtype));
        if (st->quant_axis < 0) {
            ti->quant = 1;
            ti->scale = st->quant_scale[0];
            ti->zero_point = st->quant_zero_point[0];
        } else {
            /* torch pickles per-channel parameters as an F64 and an I64
             * tensor (the source's, valid while it is open) */
            uint64_t n = st->quant_count;
            if (mft_writer_add_tensor(w, "q_per_channel_scales", MFT_F64, 1,
                                      &n, st->quant_scale, n * 8) != MFT_OK) {
                c->st = MFT_ERR_MISUSE;
                return NULL;
            }
            if (mft_writer_add_tensor(w, "q_per_channel_zero_points", MFT_I64,
                                      1, &n, st->quant_zero_point,
                                      n * 8) != MFT_OK) {
                c->st = MFT_ERR_MISUSE;
                return NULL;
            }
            ti = info(w, wi); /* the array may have moved */
            if (!ti)
                return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
            ti->quant = 2;
            ti->axis = st->quant_axis;
            ti->qscales = w->ntensors - 2;
            ti->qzeros = w->ntensors - 1;
        }
    }
    return tensor_node(w, wi);
}

/* numpy dtype codes as pickled ('<f4' is ('f4', False, True) + byte order
 * '<' in the state). */
static mft_dtype numpy_dtype(const mft_value *dt, int *swap)
{
    if (!dt || dt->kind != MFT_VALUE_OBJECT || !dt->u.obj.cls ||
        strcmp(dt->u.obj.cls, "numpy.dtype") != 0)
        return MFT_DTYPE_INVALID;
    const mft_value *code = mft_value_item(dt->u.obj.args, 0);
    const mft_value *order = mft_value_item(dt->u.obj.state, 1);
    size_t n;
    const char *s = mft_value_bytes(code, &n);
    if (!s || mft_value_get_kind(code) != MFT_VALUE_STRING)
        return MFT_DTYPE_INVALID;
    static const struct {
        const char *code;
        mft_dtype dt;
    } codes[] = {{"b1", MFT_BOOL}, {"i1", MFT_I8},   {"u1", MFT_U8},
                 {"i2", MFT_I16},  {"u2", MFT_U16},  {"i4", MFT_I32},
                 {"u4", MFT_U32},  {"i8", MFT_I64},  {"u8", MFT_U64},
                 {"f2", MFT_F16},  {"f4", MFT_F32},  {"f8", MFT_F64},
                 {"c8", MFT_C64},  {"c16", MFT_C128}};
    size_t on;
    const char *o = mft_value_bytes(order, &on);
    *swap = o && on == 1 && o[0] == '>';
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strlen(codes[i].code) == n && memcmp(codes[i].code, s, n) == 0)
            return codes[i].dt;
    return MFT_DTYPE_INVALID;
}

/* Bytes of a numpy payload, swapped to little-endian when needed (a copy
 * the writer keeps), else borrowed from the source file. */
static const void *numpy_bytes(conv *c, const char *p, size_t n, mft_dtype dt,
                               int swap)
{
    unsigned bits = mft_dtype_bits(dt);
    size_t es = bits / 8, unit = mft_dtype_is_complex(dt) ? es / 2 : es;
    if (!swap || unit < 2)
        return p;
    uint8_t *q = malloc(n ? n : 1);
    if (!q || !keep(c->w->torch, q))
        return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i + unit <= n; i += unit)
        for (size_t k = 0; k < unit; k++)
            q[i + k] = (uint8_t)p[i + unit - 1 - k];
    return q;
}

/* numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') + BUILD state
 * (version, shape, dtype, fortran_order, data bytes) → a tensor. NULL with
 * c->st unchanged when it is not such an array. */
static mft_node *conv_ndarray(conv *c, const mft_value *v)
{
    const mft_value *st = v->u.obj.state;
    if (!st || st->kind != MFT_VALUE_TUPLE || st->u.seq.n < 5)
        return NULL;
    const mft_value *shape = st->u.seq.items[1], *data = st->u.seq.items[4];
    int swap = 0;
    mft_dtype dt = numpy_dtype(st->u.seq.items[2], &swap);
    int fortran = mft_value_bool(st->u.seq.items[3]);
    if (dt == MFT_DTYPE_INVALID || data->kind != MFT_VALUE_BYTES ||
        (shape->kind != MFT_VALUE_TUPLE && shape->kind != MFT_VALUE_LIST) ||
        shape->u.seq.n > MFT_MAX_DIMS)
        return NULL;
    uint64_t dims[MFT_MAX_DIMS], numel = 1, nbytes;
    int nd = (int)shape->u.seq.n;
    for (int d = 0; d < nd; d++) {
        const mft_value *x = shape->u.seq.items[d];
        if (x->kind != MFT_VALUE_INT || x->u.i < 0)
            return NULL;
        dims[d] = (uint64_t)x->u.i;
        if (!mftc_mul_u64(numel, dims[d], &numel))
            return NULL;
    }
    if (!mftc_mul_u64(numel, mft_dtype_bits(dt) / 8, &nbytes) ||
        nbytes != data->u.s.n)
        return NULL;
    const void *bytes = numpy_bytes(c, data->u.s.p, data->u.s.n, dt, swap);
    if (!bytes)
        return NULL;
    char name[64];
    snprintf(name, sizeof name, "numpy_array_%zu", c->w->ntensors);
    mft_status s = mft_writer_add_tensor(c->w, name, dt, nd, dims, bytes,
                                         nbytes);
    if (s != MFT_OK) {
        c->st = s;
        return NULL;
    }
    size_t wi = c->w->ntensors - 1;
    tinfo *ti = info(c->w, wi);
    if (!ti)
        return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
    if (fortran && nd > 1) {
        ti->strides = mftc_arena_alloc(&c->w->torch->a, (size_t)nd * sizeof(int64_t));
        if (!ti->strides)
            return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
        int64_t acc = 1;
        for (int d = 0; d < nd; d++) {
            ti->strides[d] = acc;
            acc *= (int64_t)(dims[d] ? dims[d] : 1);
        }
    }
    note(c->w, "%s: numpy.ndarray (%s) written as a tensor", here(c),
         mft_dtype_name(dt));
    return tensor_node(c->w, wi);
}

/* numpy.core.multiarray.scalar(dtype, bytes) → the Python number. */
static mft_node *conv_npscalar(conv *c, const mft_value *v)
{
    const mft_value *args = v->u.obj.args;
    if (!args || args->kind != MFT_VALUE_TUPLE || args->u.seq.n != 2)
        return NULL;
    int swap = 0;
    mft_dtype dt = numpy_dtype(args->u.seq.items[0], &swap);
    const mft_value *data = args->u.seq.items[1];
    unsigned bits = mft_dtype_bits(dt);
    if (dt == MFT_DTYPE_INVALID || data->kind != MFT_VALUE_BYTES ||
        data->u.s.n != bits / 8 || bits > 128)
        return NULL;
    uint8_t b[16];
    memcpy(b, data->u.s.p, data->u.s.n);
    size_t es = bits / 8, unit = mft_dtype_is_complex(dt) ? es / 2 : es;
    if (swap)
        for (size_t i = 0; i + unit <= es; i += unit)
            for (size_t k = 0; k < unit / 2; k++) {
                uint8_t x = b[i + k];
                b[i + k] = b[i + unit - 1 - k];
                b[i + unit - 1 - k] = x;
            }
    mft_node *n;
    const char *kind;
    if (dt == MFT_BOOL) {
        n = mft_node_bool(c->w, b[0] != 0);
        kind = "bool";
    } else if (dt == MFT_U64) {
        uint8_t le[9];
        memcpy(le, b, 8);
        le[8] = 0;
        n = mft_node_bigint(c->w, le, 9);
        kind = "int";
    } else if (!mft_dtype_is_float(dt)) {
        double d;
        mft_dtype_to_f64(dt, b, &d, 1);
        int64_t i = 0;
        if (dt == MFT_I64)
            memcpy(&i, b, 8);
        else
            i = (int64_t)d;
        n = mft_node_int(c->w, i);
        kind = "int";
    } else if (mft_dtype_is_complex(dt)) {
        double d[2];
        mft_dtype_to_f64(dt, b, d, 1);
        mft_node *args2 = mft_node_tuple(c->w);
        mft_node_append(args2, mft_node_float(c->w, d[0]));
        mft_node_append(args2, mft_node_float(c->w, d[1]));
        n = node_new(c->w, N_CALL);
        if (n) {
            n->u.call.name = "builtins.complex";
            n->u.call.args = args2;
        }
        kind = "complex";
    } else {
        double d;
        mft_dtype_to_f64(dt, b, &d, 1);
        n = mft_node_float(c->w, d);
        kind = "float";
    }
    if (!n)
        return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
    note(c->w, "%s: numpy scalar (%s) written as a Python %s", here(c),
         mft_dtype_name(dt), kind);
    return n;
}

/* Globals torch's weights_only loader gives back as values. */
static int allowed_value_global(const char *cls)
{
    static const char *const names[] = {
        "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
        "per_channel_symmetric", "per_channel_affine_float_qparams",
        "float32", "float64", "float16", "bfloat16", "int64", "int32",
        "int16", "int8", "uint8", "bool", "complex32", "complex64",
        "complex128", "uint16", "uint32", "uint64",
        "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
        "float8_e8m0fnu", "float4_e2m1fn_x2", "quint8", "qint8", "qint32",
        "quint4x2", "quint2x4", "bits8", "bits16", "bits1x8", "bits2x4",
        "bits4x2"};
    if (strncmp(cls, "torch.", 6) != 0)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(cls + 6, names[i]) == 0)
            return 1;
    return 0;
}

/* Plain values only (an allow-listed call's arguments). */
static int plain_args(const mft_value *a)
{
    if (!a || a->kind != MFT_VALUE_TUPLE)
        return 0;
    for (size_t i = 0; i < a->u.seq.n; i++) {
        mft_value_kind k = a->u.seq.items[i]->kind;
        if (k != MFT_VALUE_INT && k != MFT_VALUE_STRING &&
            k != MFT_VALUE_FLOAT && k != MFT_VALUE_NONE)
            return 0;
    }
    return 1;
}

static mft_node *conv_children(conv *c, mft_node *out, const mft_value *v,
                               unsigned depth);

static mft_node *conv_object(conv *c, const mft_value *v, unsigned depth)
{
    const char *cls = v->u.obj.cls ? v->u.obj.cls : "?";
    int form = v->u.obj.form;
    if (form == MFTC_OBJ_GLOBAL && !v->u.obj.state && !v->u.obj.items &&
        !v->u.obj.dictitems) {
        if (allowed_value_global(cls)) {
            mft_node *n = node_new(c->w, N_GLOBAL);
            if (n)
                n->u.call.name = cls;
            return n;
        }
        note(c->w, "%s: the global %s written as the string '%s'", here(c),
             cls, cls);
        return mft_node_string(c->w, cls, (size_t)-1);
    }
    if ((form == MFTC_OBJ_CALL || form == MFTC_OBJ_NEW) && !v->u.obj.state &&
        !v->u.obj.items && !v->u.obj.dictitems &&
        (strcmp(cls, "torch.device") == 0 ||
         strcmp(cls, "builtins.complex") == 0) &&
        plain_args(v->u.obj.args)) {
        mft_node *args = conv_value(c, v->u.obj.args, depth + 1);
        mft_node *n = args ? node_new(c->w, N_CALL) : NULL;
        if (n) {
            n->u.call.name = strcmp(cls, "torch.device") == 0
                                 ? "torch.device"
                                 : "builtins.complex";
            n->u.call.args = args;
        }
        return n;
    }
    size_t cl = strlen(cls);
    if (cl >= 23 && strcmp(cls + cl - 23, "multiarray._reconstruct") == 0) {
        mft_node *n = conv_ndarray(c, v);
        if (n || c->st != MFT_OK)
            return n;
    }
    if (cl >= 17 && strcmp(cls + cl - 17, "multiarray.scalar") == 0) {
        mft_node *n = conv_npscalar(c, v);
        if (n || c->st != MFT_OK)
            return n;
    }
    /* anything else: what it holds — never a tensor less */
    const mft_value *state = v->u.obj.state;
    const mft_value *di = v->u.obj.dictitems, *li = v->u.obj.items;
    int state_dict = state && state->kind == MFT_VALUE_DICT;
    int state_pair = state && state->kind == MFT_VALUE_TUPLE &&
                     state->u.seq.n == 2 &&
                     (state->u.seq.items[0]->kind == MFT_VALUE_DICT ||
                      state->u.seq.items[0]->kind == MFT_VALUE_NONE) &&
                     state->u.seq.items[1]->kind == MFT_VALUE_DICT;
    int parts = (state != NULL) + (di != NULL) + (li != NULL);
    if (parts == 1 && li) {
        note(c->w, "%s: %s written as a list of its items", here(c), cls);
        mft_node *l = mft_node_list(c->w);
        return l ? conv_children(c, l, li, depth) : NULL;
    }
    if (parts == 1 && di) {
        note(c->w, "%s: %s written as a dict of its items", here(c), cls);
        mft_node *d = mft_node_dict(c->w, 0);
        return d ? conv_children(c, d, di, depth) : NULL;
    }
    if (parts == 1 && !state_dict && !state_pair) {
        note(c->w, "%s: %s written as its state", here(c), cls);
        return conv_value(c, state, depth + 1);
    }
    if (parts) {
        /* attributes as the dict's items; a state that is not a dict, and
         * items appended or set on the object, under their own keys */
        note(c->w, "%s: %s written as a dict of its attributes%s", here(c),
             cls,
             di && li ? " (its items under __dictitems__ and __items__)"
             : di     ? " (its items under __dictitems__)"
             : li     ? " (its items under __items__)"
                      : "");
        mft_node *d = mft_node_dict(c->w, 0);
        if (d && state_dict)
            d = conv_children(c, d, state, depth);
        else if (d && state_pair) {
            if (state->u.seq.items[0]->kind == MFT_VALUE_DICT)
                d = conv_children(c, d, state->u.seq.items[0], depth);
            if (d)
                d = conv_children(c, d, state->u.seq.items[1], depth);
        } else if (d && state) {
            mft_node *sv = conv_value(c, state, depth + 1);
            if (!sv || mft_node_set_str(d, "__state__", sv) != MFT_OK)
                return NULL;
        }
        for (int k = 0; d && k < 2; k++) {
            const mft_value *part = k ? li : di;
            if (!part)
                continue;
            mft_node *sub = k ? mft_node_list(c->w) : mft_node_dict(c->w, 0);
            if (!sub || !conv_children(c, sub, part, depth) ||
                mft_node_set_str(d, k ? "__items__" : "__dictitems__", sub) !=
                    MFT_OK)
                return NULL;
        }
        return d;
    }
    const mft_value *args = v->u.obj.args;
    if (args && args->kind == MFT_VALUE_TUPLE && args->u.seq.n) {
        note(c->w, "%s: %s written as its constructor arguments", here(c),
             cls);
        return conv_value(c, args->u.seq.n == 1 ? args->u.seq.items[0] : args,
                          depth + 1);
    }
    note(c->w, "%s: %s written as an empty dict", here(c), cls);
    return mft_node_dict(c->w, 0);
}

/* Copy v's items (and keys) into `out`, extending the path. */
static mft_node *conv_children(conv *c, mft_node *out, const mft_value *v,
                               unsigned depth)
{
    char buf[32];
    for (size_t i = 0; i < v->u.seq.n && c->st == MFT_OK; i++) {
        const char *part = buf;
        size_t plen;
        mft_node *key = NULL;
        if (v->kind == MFT_VALUE_DICT) {
            const mft_value *k = v->u.seq.keys[i];
            if (k->kind == MFT_VALUE_STRING) {
                part = k->u.s.p;
                plen = k->u.s.n;
            } else if (k->kind == MFT_VALUE_INT) {
                plen = (size_t)snprintf(buf, sizeof buf, "%lld",
                                        (long long)k->u.i);
            } else {
                plen = (size_t)snprintf(buf, sizeof buf, "%zu", i);
            }
        } else {
            plen = (size_t)snprintf(buf, sizeof buf, "%zu", i);
        }
        size_t saved;
        if (!path_push(c, part, plen, &saved))
            return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
        if (v->kind == MFT_VALUE_DICT) {
            key = conv_value(c, v->u.seq.keys[i], depth + 1);
            if (key && !hashable(key)) {
                conv_fail(c, MFT_ERR_UNSUPPORTED,
                          "a dict key that becomes a list or dict cannot be "
                          "written");
                key = NULL;
            }
        }
        mft_node *item = (v->kind != MFT_VALUE_DICT || key)
                             ? conv_value(c, v->u.seq.items[i], depth + 1)
                             : NULL;
        path_pop(c, saved);
        if (!item || (v->kind == MFT_VALUE_DICT && !key)) {
            if (c->st == MFT_OK)
                conv_fail(c, MFT_ERR_NOMEM, "out of memory");
            return NULL;
        }
        mft_status s = seq_add(out, key, item);
        if (s != MFT_OK) {
            c->st = s;
            return NULL;
        }
    }
    return c->st == MFT_OK ? out : NULL;
}

static mft_node *conv_value(conv *c, const mft_value *v, unsigned depth)
{
    if (c->st != MFT_OK)
        return NULL;
    if (!v)
        return mft_node_none(c->w);
    if (depth > MAX_DEPTH)
        return conv_fail(c, MFT_ERR_LIMIT, "values nest deeper than %d",
                         MAX_DEPTH);
    mft_node *seen = pmap_get(&c->map, v, 0);
    if (seen) {
        if (seen->mark == 1)
            return conv_fail(c, MFT_ERR_UNSUPPORTED,
                             "a container that contains itself cannot be "
                             "written");
        return seen;
    }
    mft_writer *w = c->w;
    mft_node *n = NULL;
    switch (v->kind) {
    case MFT_VALUE_NONE:
        n = mft_node_none(w);
        break;
    case MFT_VALUE_BOOL:
        n = mft_node_bool(w, v->u.b);
        break;
    case MFT_VALUE_INT:
        n = mft_node_int(w, v->u.i);
        break;
    case MFT_VALUE_BIGINT:
        n = mft_node_bigint(w, v->u.s.p, v->u.s.n);
        break;
    case MFT_VALUE_FLOAT:
        n = mft_node_float(w, v->u.f);
        break;
    case MFT_VALUE_STRING:
        if (!valid_utf8((const unsigned char *)v->u.s.p, v->u.s.n)) {
            note(w, "%s: a str that is not UTF-8 written as bytes", here(c));
            n = bytes_node(w, N_BYTES, v->u.s.p, v->u.s.n);
        } else {
            n = bytes_node(w, N_STRING, v->u.s.p, v->u.s.n);
        }
        break;
    case MFT_VALUE_BYTES:
        n = bytes_node(w, N_BYTES, v->u.s.p, v->u.s.n);
        break;
    case MFT_VALUE_TENSOR: {
        /* one tensor of the source, however many nodes name it */
        const void *k = (const void *)(uintptr_t)(v->u.tensor + 1);
        n = pmap_get(&c->map, k, 1);
        if (!n && (n = conv_tensor(c, v->u.tensor)) &&
            !pmap_put(&c->map, k, 1, n))
            return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
        break;
    }
    case MFT_VALUE_OBJECT:
        /* an object reached again through its own state is a cycle */
        if (pmap_get(&c->map, v, 2))
            return conv_fail(c, MFT_ERR_UNSUPPORTED,
                             "an object that contains itself cannot be "
                             "written");
        if (!pmap_put(&c->map, v, 2, (void *)1))
            return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
        n = conv_object(c, v, depth);
        if (!pmap_put(&c->map, v, 2, NULL))
            return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
        break;
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_DICT:
    case MFT_VALUE_SET: {
        int kind = v->kind == MFT_VALUE_LIST    ? N_LIST
                   : v->kind == MFT_VALUE_TUPLE ? N_TUPLE
                   : v->kind == MFT_VALUE_DICT  ? N_DICT
                                                : N_SET;
        n = node_new(w, kind);
        if (!n)
            break;
        if (kind == N_DICT)
            n->ordered = (v->flags & (MFTC_VFLAG_ORDERED | MFTC_VFLAG_MODULE))
                             ? 1
                             : 0;
        if (kind == N_SET && (v->flags & MFTC_VFLAG_FROZEN))
            note(w, "%s: frozenset written as a set", here(c));
        if (!pmap_put(&c->map, v, 0, n))
            return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
        n->mark = 1;
        mft_node *r = conv_children(c, n, v, depth);
        n->mark = 0;
        return r;
    }
    default:
        return conv_fail(c, MFT_ERR_UNSUPPORTED, "unknown value kind %d",
                         (int)v->kind);
    }
    if (!n) {
        if (c->st == MFT_OK)
            c->st = MFT_ERR_MISUSE; /* the builder said why */
        return NULL;
    }
    if (!pmap_put(&c->map, v, 0, n))
        return conv_fail(c, MFT_ERR_NOMEM, "out of memory");
    return n;
}

mft_node *mft_node_from_value(mft_writer *w, mft_file *src,
                              const mft_value *v, mft_dtype cast)
{
    if (!w)
        return NULL;
    if (!src || !v)
        return fail_null(w, MFT_ERR_MISUSE,
                         "mft_node_from_value: no file or value");
    if (cast != MFT_DTYPE_INVALID &&
        (!mft_dtype_is_float(cast) || mft_dtype_is_complex(cast) ||
         mft_dtype_from_f64(cast, NULL, NULL, 0) != MFT_OK))
        return fail_null(w, MFT_ERR_MISUSE,
                         "mft_node_from_value: the cast target must be a "
                         "real floating dtype");
    if (!node_new(w, N_NONE)) /* format and state checks */
        return NULL;
    conv c;
    memset(&c, 0, sizeof c);
    c.w = w;
    c.src = src;
    c.cast = cast;
    mft_node *n = conv_value(&c, v, 0);
    pmap_free(&c.map);
    free(c.path);
    if (!n)
        wfail(w, c.st ? c.st : MFT_ERR_NOMEM, "%s: cannot copy the value tree",
              src->path);
    return n;
}

/* ------------------------------------------------------------ pickling */

typedef struct pk {
    uint8_t *p;
    size_t n, cap;
    int oom;
} pk;

static void pk_bytes(pk *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        uint8_t *g = realloc(b->p, cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        b->p = g;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void pk_op(pk *b, uint8_t op) { pk_bytes(b, &op, 1); }

static void pk_u32(pk *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    pk_bytes(b, x, 4);
}

/* LONG1 of a minimal little-endian two's complement byte string. */
static void pk_long1(pk *b, const uint8_t *le, size_t n)
{
    uint8_t hdr[2] = {0x8A, (uint8_t)n};
    pk_bytes(b, hdr, 2);
    pk_bytes(b, le, n);
}

static void pk_int(pk *b, int64_t v)
{
    if (v >= 0 && v < 256) {
        uint8_t x[2] = {'K', (uint8_t)v};
        pk_bytes(b, x, 2);
    } else if (v >= 0 && v < 65536) {
        uint8_t x[3] = {'M', (uint8_t)v, (uint8_t)(v >> 8)};
        pk_bytes(b, x, 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        pk_op(b, 'J');
        pk_u32(b, (uint32_t)(int32_t)v);
    } else {
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)((uint64_t)v >> (8 * i));
        size_t n = 8;
        while (n > 1 && ((le[n - 1] == 0 && !(le[n - 2] & 0x80)) ||
                         (le[n - 1] == 0xFF && (le[n - 2] & 0x80))))
            n--;
        pk_long1(b, le, n);
    }
}

static void pk_uint(pk *b, uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX) {
        pk_int(b, (int64_t)v);
        return;
    }
    uint8_t le[9];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    le[8] = 0;
    pk_long1(b, le, 9);
}

static void pk_str(pk *b, const char *s, size_t n)
{
    pk_op(b, 'X');
    pk_u32(b, (uint32_t)n);
    pk_bytes(b, s, n);
}

static void pk_cstr(pk *b, const char *s) { pk_str(b, s, strlen(s)); }

static void pk_float(pk *b, double d)
{
    uint64_t x;
    memcpy(&x, &d, 8);
    uint8_t be[9] = {'G'};
    for (int i = 0; i < 8; i++)
        be[1 + i] = (uint8_t)(x >> (56 - 8 * i));
    pk_bytes(b, be, 9);
}

/* GLOBAL "module\nname\n" from "module.name" split at the last dot. */
static void pk_global(pk *b, const char *dotted)
{
    const char *dot = strrchr(dotted, '.');
    pk_op(b, 'c');
    pk_bytes(b, dotted, (size_t)(dot - dotted));
    pk_op(b, '\n');
    pk_bytes(b, dot + 1, strlen(dot + 1));
    pk_op(b, '\n');
}

static void pk_put(pk *b, uint32_t i)
{
    if (i < 256) {
        uint8_t x[2] = {'q', (uint8_t)i};
        pk_bytes(b, x, 2);
    } else {
        pk_op(b, 'r');
        pk_u32(b, i);
    }
}

static void pk_get(pk *b, uint32_t i)
{
    if (i < 256) {
        uint8_t x[2] = {'h', (uint8_t)i};
        pk_bytes(b, x, 2);
    } else {
        pk_op(b, 'j');
        pk_u32(b, i);
    }
}

static void pk_tuple_end(pk *b, size_t n, int marked)
{
    static const uint8_t small[4] = {')', 0x85, 0x86, 0x87};
    if (marked)
        pk_op(b, 't');
    else
        pk_op(b, small[n]);
}

/* A tuple of ints (size, stride). */
static void pk_int_tuple(pk *b, const uint64_t *v, const int64_t *sv, int n)
{
    if (n > 3)
        pk_op(b, '(');
    for (int i = 0; i < n; i++) {
        if (v)
            pk_uint(b, v[i]);
        else
            pk_int(b, sv[i]);
    }
    pk_tuple_end(b, (size_t)n, n > 3);
}

#define CONSTS 32 /* globals and constant strings memoized (as pickle.py) */

typedef struct emitter {
    mft_writer *w;
    mftc_torch *t;
    pk b;
    uint32_t next_memo;
    const char *const_name[CONSTS]; /* "c:module.name" or "s:text" */
    uint32_t const_memo[CONSTS];
    size_t nconst;
    trecord *recs;
    size_t nrecs, caprecs;
    mft_status st;
} emitter;

static mft_status efail(emitter *e, mft_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static mft_status efail(emitter *e, mft_status code, const char *fmt, ...)
{
    if (e->st != MFT_OK)
        return e->st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->w->errmsg, sizeof e->w->errmsg, fmt, ap);
    va_end(ap);
    e->w->failed = 1;
    e->st = code;
    return code;
}

/* Count references and refuse cycles (first pass). */
static mft_status count_refs(emitter *e, mft_node *n, unsigned depth)
{
    if (depth > MAX_DEPTH)
        return efail(e, MFT_ERR_LIMIT, "%s: values nest deeper than %d",
                     e->w->path, MAX_DEPTH);
    n->refs++;
    if (n->mark == 2)
        return MFT_OK;
    if (n->mark == 1)
        return efail(e, MFT_ERR_MISUSE,
                     "%s: the value tree has a cycle (a container contains "
                     "itself)",
                     e->w->path);
    n->mark = 1;
    mft_status st = MFT_OK;
    switch (n->kind) {
    case N_LIST:
    case N_TUPLE:
    case N_DICT:
    case N_SET:
        for (size_t i = 0; i < n->u.seq.n && st == MFT_OK; i++) {
            if (n->kind == N_DICT)
                st = count_refs(e, n->u.seq.keys[i], depth + 1);
            if (st == MFT_OK)
                st = count_refs(e, n->u.seq.items[i], depth + 1);
        }
        break;
    case N_CALL:
        st = count_refs(e, n->u.call.args, depth + 1);
        break;
    default:
        break;
    }
    n->mark = 2;
    return st;
}

/* A global or a constant string: written once, then fetched from the
 * memo, as Python's pickler does (keeps data.pkl about torch's size). */
static void emit_const(emitter *e, const char *tagged)
{
    for (size_t i = 0; i < e->nconst; i++)
        if (strcmp(e->const_name[i], tagged) == 0) {
            pk_get(&e->b, e->const_memo[i]);
            return;
        }
    if (tagged[0] == 'c')
        pk_global(&e->b, tagged + 2);
    else
        pk_cstr(&e->b, tagged + 2);
    if (e->nconst < CONSTS) {
        e->const_name[e->nconst] = tagged;
        e->const_memo[e->nconst++] = e->next_memo;
        pk_put(&e->b, e->next_memo++);
    }
}

static void memo_put(emitter *e, mft_node *n)
{
    if (n->refs > 1) {
        n->memo = ++e->next_memo;
        pk_put(&e->b, n->memo - 1);
    }
}

static mft_status add_record(emitter *e, int is_group, size_t index,
                             size_t *key)
{
    if (e->nrecs == e->caprecs) {
        size_t cap = e->caprecs ? e->caprecs * 2 : 64;
        trecord *g = realloc(e->recs, cap * sizeof *g);
        if (!g)
            return efail(e, MFT_ERR_NOMEM, "out of memory");
        e->recs = g;
        e->caprecs = cap;
    }
    e->recs[e->nrecs].is_group = is_group;
    e->recs[e->nrecs].index = index;
    *key = e->nrecs++;
    return MFT_OK;
}

static mft_status emit(emitter *e, mft_node *n, unsigned depth);

/* _rebuild_tensor_v2 / _v3 / _rebuild_qtensor for writer tensor i. */
static mft_status emit_tensor(emitter *e, size_t i)
{
    mft_writer *w = e->w;
    const mftc_wtensor *t = &w->tensors[i];
    tinfo *ti = info(w, i);
    if (!ti)
        return efail(e, MFT_ERR_NOMEM, "out of memory");
    ti->used = 1;
    int tt = torch_type(t->dtype);
    if (tt < 0)
        return efail(e, MFT_ERR_DTYPE,
                     "%s: tensor \"%s\": torch has no dtype for %s (cast it, "
                     "e.g. with --dtype, or convert to safetensors or GGUF)",
                     w->path, t->name, mft_dtype_name(t->dtype));
    if (is_quant(t->dtype) && !ti->quant)
        return efail(e, MFT_ERR_DTYPE,
                     "%s: tensor \"%s\": %s needs quantization parameters, "
                     "which only tensors copied from a PyTorch file carry",
                     w->path, t->name, mft_dtype_name(t->dtype));
    const char *v3 = torch_types[tt].v3;
    uint64_t shape[MFT_MAX_DIMS];
    int nd = t->ndim;
    memcpy(shape, t->shape, (size_t)nd * sizeof *shape);
    if (t->dtype == MFT_F4) {
        if (nd == 0 || shape[nd - 1] % 2)
            return efail(e, MFT_ERR_DTYPE,
                         "%s: tensor \"%s\": an F4 tensor needs an even last "
                         "dimension to be stored as torch.float4_e2m1fn_x2",
                         w->path, t->name);
        shape[nd - 1] /= 2;
    }
    unsigned bits = mft_dtype_bits(t->dtype);
    uint64_t es = t->dtype == MFT_F4 ? 1 : bits / 8;
    /* the storage: shared group or the tensor's own bytes */
    size_t key;
    uint64_t nbytes;
    if (ti->shared) {
        tgroup *g = &e->t->groups[ti->group];
        if (!g->key && add_record(e, 1, ti->group, &g->key) == MFT_OK)
            g->key++;
        key = g->key - 1;
        nbytes = g->nbytes;
    } else {
        if (!ti->key && add_record(e, 0, i, &ti->key) == MFT_OK)
            ti->key++;
        key = ti->key - 1;
        nbytes = t->nbytes;
    }
    if (e->st != MFT_OK)
        return e->st;
    pk *b = &e->b;
    emit_const(e, ti->quant ? "c:torch._utils._rebuild_qtensor"
                  : v3      ? "c:torch._utils._rebuild_tensor_v3"
                            : "c:torch._utils._rebuild_tensor_v2");
    pk_op(b, '(');
    /* persistent id ('storage', class, key, 'cpu', numel) */
    pk_op(b, '(');
    emit_const(e, "s:storage");
    emit_const(e, v3 ? "c:torch.storage.UntypedStorage"
                     : torch_types[tt].cglobal);
    char keytext[32];
    snprintf(keytext, sizeof keytext, "%zu", key);
    pk_cstr(b, keytext);
    emit_const(e, "s:cpu");
    pk_uint(b, v3 ? nbytes : nbytes / es);
    pk_op(b, 't');
    pk_op(b, 'Q');
    pk_uint(b, ti->offset);
    pk_int_tuple(b, shape, NULL, nd);
    if (ti->strides && t->dtype != MFT_F4) {
        pk_int_tuple(b, NULL, ti->strides, nd);
    } else {
        int64_t st[MFT_MAX_DIMS];
        int64_t acc = 1;
        for (int d = nd - 1; d >= 0; d--) {
            st[d] = acc;
            acc *= (int64_t)(shape[d] ? shape[d] : 1);
        }
        pk_int_tuple(b, NULL, st, nd);
    }
    if (ti->quant == 1) {
        emit_const(e, "c:torch.per_tensor_affine");
        pk_float(b, ti->scale);
        pk_int(b, ti->zero_point);
        pk_op(b, 0x87); /* TUPLE3 */
    } else if (ti->quant == 2) {
        pk_op(b, '(');
        emit_const(e, "c:torch.per_channel_affine");
        if (emit_tensor(e, ti->qscales) != MFT_OK ||
            emit_tensor(e, ti->qzeros) != MFT_OK)
            return e->st;
        pk_int(b, ti->axis);
        pk_op(b, 't');
    }
    pk_op(b, 0x89); /* requires_grad False */
    emit_const(e, "c:collections.OrderedDict");
    pk_op(b, ')');
    pk_op(b, 'R');
    if (v3 && !ti->quant)
        emit_const(e, torch_types[tt].v3);
    pk_op(b, 't');
    pk_op(b, 'R');
    return MFT_OK;
}

static mft_status emit_items(emitter *e, mft_node *n, unsigned depth)
{
    size_t count = n->u.seq.n;
    int dict = n->kind == N_DICT;
    for (size_t at = 0; at < count && e->st == MFT_OK;) {
        size_t take = count - at < BATCH ? count - at : BATCH;
        if (take > 1)
            pk_op(&e->b, '(');
        for (size_t k = 0; k < take && e->st == MFT_OK; k++) {
            if (dict)
                emit(e, n->u.seq.keys[at + k], depth + 1);
            emit(e, n->u.seq.items[at + k], depth + 1);
        }
        pk_op(&e->b, take > 1 ? (dict ? 'u' : 'e') : (dict ? 's' : 'a'));
        at += take;
    }
    return e->st;
}

static mft_status emit(emitter *e, mft_node *n, unsigned depth)
{
    if (e->st != MFT_OK)
        return e->st;
    pk *b = &e->b;
    if (n->memo) {
        pk_get(b, n->memo - 1);
        return MFT_OK;
    }
    switch (n->kind) {
    case N_NONE:
        pk_op(b, 'N');
        break;
    case N_BOOL:
        pk_op(b, n->u.b ? 0x88 : 0x89);
        break;
    case N_INT:
        pk_int(b, n->u.i);
        break;
    case N_BIGINT:
        pk_long1(b, (const uint8_t *)n->u.s.p, n->u.s.n);
        break;
    case N_FLOAT:
        pk_float(b, n->u.f);
        break;
    case N_STRING:
        pk_str(b, n->u.s.p, n->u.s.n);
        break;
    case N_BYTES: {
        /* _codecs.encode(<the bytes as latin-1 text>, 'latin1'), as pickle
         * protocol 2 writes bytes */
        if (n->u.s.n > 0x7FFFFFFFu)
            return efail(e, MFT_ERR_LIMIT, "%s: a bytes value of %zu bytes "
                         "is too long", e->w->path, n->u.s.n);
        emit_const(e, "c:_codecs.encode");
        size_t extra = 0;
        for (size_t i = 0; i < n->u.s.n; i++)
            extra += (unsigned char)n->u.s.p[i] >= 0x80;
        pk_op(b, 'X');
        pk_u32(b, (uint32_t)(n->u.s.n + extra));
        for (size_t i = 0; i < n->u.s.n; i++) {
            unsigned char c = (unsigned char)n->u.s.p[i];
            if (c < 0x80) {
                pk_op(b, c);
            } else {
                uint8_t u[2] = {(uint8_t)(0xC0 | (c >> 6)),
                                (uint8_t)(0x80 | (c & 0x3F))};
                pk_bytes(b, u, 2);
            }
        }
        emit_const(e, "s:latin1");
        pk_op(b, 0x86);
        pk_op(b, 'R');
        break;
    }
    case N_LIST:
        pk_op(b, ']');
        memo_put(e, n);
        return emit_items(e, n, depth);
    case N_DICT:
        if (n->ordered) {
            emit_const(e, "c:collections.OrderedDict");
            pk_op(b, ')');
            pk_op(b, 'R');
        } else {
            pk_op(b, '}');
        }
        memo_put(e, n);
        return emit_items(e, n, depth);
    case N_SET:
        if (n->u.seq.n == 0) {
            pk_op(b, 0x8F); /* EMPTY_SET */
            break;
        }
        /* builtins.set([items]) */
        emit_const(e, "c:__builtin__.set");
        pk_op(b, ']');
        emit_items(e, n, depth);
        pk_op(b, 0x85);
        pk_op(b, 'R');
        break;
    case N_TUPLE: {
        size_t count = n->u.seq.n;
        if (count > 3)
            pk_op(b, '(');
        for (size_t i = 0; i < count && e->st == MFT_OK; i++)
            emit(e, n->u.seq.items[i], depth + 1);
        pk_tuple_end(b, count, count > 3);
        break;
    }
    case N_TENSOR:
        emit_tensor(e, n->u.tensor);
        break;
    case N_GLOBAL:
        pk_global(b, n->u.call.name);
        break;
    case N_CALL:
        pk_global(b, n->u.call.name);
        emit(e, n->u.call.args, depth + 1);
        pk_op(b, 'R');
        break;
    }
    if (e->st == MFT_OK)
        memo_put(e, n);
    return e->st;
}

/* ------------------------------------------------------------ archive */

/* The folder: the target's file name without its last extension. */
static char *folder_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot ? (size_t)(dot - base) : strlen(base);
    if (n == 0)
        return strdup("archive");
    return strndup(base, n);
}

/* A shared storage, whole, from the source mapping (byte-swapped to
 * little-endian when the source was big-endian). */
static mft_status write_group(mft_writer *w, mftc_zipw *z, const tgroup *g)
{
    const mftc_tensor *rep = g->rep;
    unsigned bits = mft_dtype_bits(g->dtype);
    size_t es = bits / 8;
    size_t unit = mft_dtype_is_complex(g->dtype) ? es / 2 : es;
    int swap = rep->byteswap && unit > 1;
    uint8_t *buf = NULL;
    if (swap && !(buf = malloc(MFT_STREAM_CHUNK)))
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    mft_status st = MFT_OK;
    for (uint64_t done = 0; done < g->nbytes && st == MFT_OK;) {
        uint64_t n = g->nbytes - done;
        if (n > MFT_STREAM_CHUNK)
            n = MFT_STREAM_CHUNK;
        const uint8_t *p = rep->storage + done;
        if (swap) {
            for (size_t i = 0; i + unit <= n; i += unit)
                for (size_t k = 0; k < unit; k++)
                    buf[i + k] = p[i + unit - 1 - k];
            st = mftc_zipw_write(z, buf, (size_t)n);
        } else {
            st = mftc_zipw_write(z, p, (size_t)n);
        }
        if (rep->src) /* written once: keep resident memory flat */
            mftc_source_done(rep->src, p, n);
        done += n;
    }
    free(buf);
    return st;
}

static mft_status small_record(mftc_zipw *z, const char *folder,
                               const char *name, const char *text)
{
    char member[4096];
    snprintf(member, sizeof member, "%s/%s", folder, name);
    size_t n = strlen(text);
    mft_status st = mftc_zipw_begin(z, member, n, ALIGN);
    if (st == MFT_OK)
        st = mftc_zipw_write(z, text, n);
    if (st == MFT_OK)
        st = mftc_zipw_end(z);
    return st;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The default tree: an OrderedDict of every tensor by name (a state_dict). */
static mft_status default_root(mft_writer *w)
{
    const char **names = malloc((w->ntensors ? w->ntensors : 1) * sizeof *names);
    if (!names)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < w->ntensors; i++)
        names[i] = w->tensors[i].name;
    qsort(names, w->ntensors, sizeof *names, by_name);
    for (size_t i = 1; i < w->ntensors; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
            mft_status st = mftc_writer_fail(
                w, MFT_ERR_MISUSE,
                "%s: two tensors are named \"%s\" (a state_dict holds one "
                "value per name)",
                w->path, names[i]);
            free(names);
            return st;
        }
    free(names);
    mft_node *root = mft_node_dict(w, 1);
    for (size_t i = 0; root && i < w->ntensors; i++) {
        mft_node *k = mft_node_string(w, w->tensors[i].name, (size_t)-1);
        mft_node *v = tensor_node(w, i);
        if (!k || !v || mft_node_set(root, k, v) != MFT_OK)
            return MFT_ERR_MISUSE;
    }
    if (!root)
        return MFT_ERR_NOMEM;
    w->torch->root = root;
    return MFT_OK;
}

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

mft_status mftc_write_pytorch(mft_writer *w)
{
    if (w->nmeta || w->nvalues)
        return mftc_writer_fail(w, MFT_ERR_UNSUPPORTED,
                                "%s: PyTorch files have no metadata section; "
                                "%zu metadata entries would be lost (put them "
                                "in the value tree)",
                                w->path, w->nmeta + w->nvalues);
    mftc_torch *t = state(w);
    if (!t)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    if (!info(w, 0) && w->ntensors)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    mft_status st;
    if (!t->root && (st = default_root(w)) != MFT_OK)
        return st;
    for (size_t i = 0; i < w->ntensors; i++)
        t->ti[i].used = 0;
    emitter e;
    memset(&e, 0, sizeof e);
    e.w = w;
    e.t = t;
    uint8_t proto[2] = {0x80, 2};
    pk_bytes(&e.b, proto, 2);
    if (count_refs(&e, t->root, 0) == MFT_OK) {
        t->root->refs++; /* the root is never fetched again */
        emit(&e, t->root, 0);
    }
    pk_op(&e.b, '.');
    if (e.st == MFT_OK && e.b.oom)
        efail(&e, MFT_ERR_NOMEM, "out of memory (data.pkl of %zu bytes)",
              e.b.n);
    for (size_t i = 0; e.st == MFT_OK && i < w->ntensors; i++)
        if (!t->ti[i].used)
            efail(&e, MFT_ERR_MISUSE,
                  "%s: tensor \"%s\" was added but is not in the value tree",
                  w->path, w->tensors[i].name);
    if (e.st != MFT_OK) {
        free(e.b.p);
        free(e.recs);
        return e.st;
    }

    char *folder = folder_name(w->path);
    mftc_outfile out;
    memset(&out, 0, sizeof out);
    out.fd = -1;
    st = folder ? mftc_outfile_open(&out, w->path, w->opts.overwrite, w->errmsg)
                : mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    mftc_zipw_options zo;
    memset(&zo, 0, sizeof zo);
    zo.zip64_end = 1;
    zo.data_descriptor = 1;
    zo.torch_fields = 1;
    mftc_zipw z;
    mftc_zipw_init(&z, &out, w->errmsg, &zo);
    size_t flen = folder ? strlen(folder) : 0;
    char *member = malloc(flen + 64);
    if (st == MFT_OK && !member)
        st = mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    if (st == MFT_OK) {
        snprintf(member, flen + 64, "%s/data.pkl", folder);
        st = mftc_zipw_begin(&z, member, e.b.n, ALIGN);
        if (st == MFT_OK)
            st = mftc_zipw_write(&z, e.b.p, e.b.n);
        if (st == MFT_OK)
            st = mftc_zipw_end(&z);
    }
    free(e.b.p);
    e.b.p = NULL;
    if (st == MFT_OK)
        st = small_record(&z, folder, ".format_version", "1");
    if (st == MFT_OK)
        st = small_record(&z, folder, ".storage_alignment", "64");
    if (st == MFT_OK)
        st = small_record(&z, folder, "byteorder", "little");
    for (size_t k = 0; k < e.nrecs && st == MFT_OK; k++) {
        const trecord *r = &e.recs[k];
        uint64_t size = r->is_group ? t->groups[r->index].nbytes
                                    : w->tensors[r->index].nbytes;
        snprintf(member, flen + 64, "%s/data/%zu", folder, k);
        st = mftc_zipw_begin(&z, member, size, ALIGN);
        if (st == MFT_OK)
            st = r->is_group ? write_group(w, &z, &t->groups[r->index])
                             /* the zip writer taps the output for the CRC */
                             : mftc_writer_emit(w, &w->tensors[r->index], &out);
        if (st == MFT_OK)
            st = mftc_zipw_end(&z);
    }
    if (st == MFT_OK)
        st = small_record(&z, folder, "version", "3\n");
    if (st == MFT_OK) {
        /* 20 digits from the record names, 20 from their CRC-32s, as torch
         * fills it (only ever used for logging) */
        uint64_t h1 = 1469598103934665603ull, h2 = 1469598103934665603ull;
        for (size_t i = 0; i < z.count; i++) {
            h1 = fnv64(h1, z.members[i].name, z.members[i].name_len);
            h2 = fnv64(h2, &z.members[i].crc, 4);
        }
        char id[48];
        snprintf(id, sizeof id, "%020llu%020llu", (unsigned long long)h1,
                 (unsigned long long)h2);
        st = small_record(&z, folder, ".data/serialization_id", id);
    }
    if (st == MFT_OK)
        st = mftc_zipw_finish(&z);
    mftc_zipw_free(&z);
    free(member);
    free(folder);
    free(e.recs);
    if (st == MFT_OK)
        st = mftc_outfile_finish(&out, w->opts.overwrite, w->errmsg);
    if (st == MFT_OK)
        st = mftc_outfile_publish(&out, w->errmsg);
    if (st == MFT_OK)
        st = mftc_writer_add_output(w, w->path);
    mftc_outfile_abandon(&out); /* after publish: nothing left to do */
    return st;
}
