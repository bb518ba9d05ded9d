/* The data-only pickle machine; see pickle.h. Opcode semantics follow
 * CPython's Lib/pickle.py (_Unpickler.load_*), read for facts only. */
#include "pickle.h"
#include "../core/checked.h"
#include "../core/cursor.h"
#include "../core/json.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct memo_slot {
    uint64_t key;
    mft_value *value;
    int used;
} memo_slot;

typedef struct machine {
    mft_file *f;
    mftc_cursor cur;
    const char *member;
    int protocol;
    uint64_t items;     /* values created */
    uint64_t globals;
    mft_value **stack;
    size_t sp, cap;
    size_t *marks;
    size_t nmarks, capmarks;
    memo_slot *memo;
    size_t memo_n, memo_cap;
    uint64_t op_offset; /* file offset of the current opcode */
    const mftc_pickle_observer *obs; /* scanning: events + leniency */
    size_t frame_end;   /* cursor position where the current FRAME ends
                           (0: none), for obs->file_frames */
    uint64_t ops;       /* opcodes run without error */
    uint8_t op;         /* the current opcode */
    uint64_t op_code;   /* FRAME: its size, for the OP event */
} machine;

/* Report an event to the observer (if any), filling the common fields. */
static void emit(machine *m, mftc_pickle_event *ev)
{
    if (!m->obs || !m->obs->event)
        return;
    ev->op = m->op;
    ev->offset = m->op_offset;
    ev->protocol = m->protocol;
    m->obs->event(m->obs->user, ev);
}

static void emit_ab(machine *m, mftc_pickle_event_kind kind,
                    const mft_value *a, const mft_value *b, uint64_t code)
{
    mftc_pickle_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.a = a;
    ev.b = b;
    ev.code = code;
    emit(m, &ev);
}

#define FAIL(m, code, ...)                                                    \
    mftc_fail((m)->f, (code), (m)->member, (int64_t)(m)->op_offset,            \
              __VA_ARGS__)

static mft_status oom(machine *m)
{
    return mftc_fail(m->f, MFT_ERR_NOMEM, m->member, -1, "out of memory");
}

static mft_value *new_value(machine *m, mft_value_kind kind)
{
    if (m->items >= mftc_limit(m->f, MFT_LIMIT_PICKLE_ITEMS))
        return NULL;
    m->items++;
    return mftc_value_new(&m->f->arena, kind);
}

/* A NULL from new_value is either the item limit or out of memory. */
static mft_status new_failed(machine *m)
{
    if (m->items >= mftc_limit(m->f, MFT_LIMIT_PICKLE_ITEMS))
        return FAIL(m, MFT_ERR_LIMIT,
                    "pickle creates more than %llu values (the limit)",
                    (unsigned long long)mftc_limit(m->f, MFT_LIMIT_PICKLE_ITEMS));
    return oom(m);
}

static mft_status push(machine *m, mft_value *v)
{
    if (!v)
        return new_failed(m);
    if (m->sp == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        mft_value **g = realloc(m->stack, cap * sizeof *g);
        if (!g)
            return oom(m);
        m->stack = g;
        m->cap = cap;
    }
    m->stack[m->sp++] = v;
    return MFT_OK;
}

static size_t floor_sp(const machine *m)
{
    return m->nmarks ? m->marks[m->nmarks - 1] : 0;
}

static mft_status pop(machine *m, mft_value **out)
{
    *out = NULL;
    if (m->sp <= floor_sp(m))
        return FAIL(m, MFT_ERR_CORRUPT, "pickle stack underflow");
    *out = m->stack[--m->sp];
    return MFT_OK;
}

static mft_status top(machine *m, mft_value **out)
{
    *out = NULL;
    if (m->sp <= floor_sp(m))
        return FAIL(m, MFT_ERR_CORRUPT, "pickle stack underflow");
    *out = m->stack[m->sp - 1];
    return MFT_OK;
}

static mft_status mark(machine *m)
{
    uint64_t limit = mftc_limit(m->f, MFT_LIMIT_PICKLE_DEPTH);
    if (m->obs && limit < (1u << 20))
        limit = 1u << 20; /* scanning: CPython has no such limit */
    if (m->nmarks >= limit)
        return FAIL(m, MFT_ERR_LIMIT, "pickle nests marks deeper than %llu "
                                      "(the limit)",
                    (unsigned long long)limit);
    if (m->nmarks == m->capmarks) {
        size_t cap = m->capmarks ? m->capmarks * 2 : 16;
        size_t *g = realloc(m->marks, cap * sizeof *g);
        if (!g)
            return oom(m);
        m->marks = g;
        m->capmarks = cap;
    }
    m->marks[m->nmarks++] = m->sp;
    return MFT_OK;
}

/* Pop to the last mark: items are stack[*base .. sp). */
static mft_status pop_mark(machine *m, size_t *base)
{
    *base = 0;
    if (!m->nmarks)
        return FAIL(m, MFT_ERR_CORRUPT, "no MARK on the pickle stack");
    *base = m->marks[--m->nmarks];
    return MFT_OK;
}

/* ---- memo: open addressing on the 64-bit index ---- */

static memo_slot *memo_find(machine *m, uint64_t key)
{
    if (!m->memo_cap)
        return NULL;
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull) & (m->memo_cap - 1);
    while (m->memo[i].used) {
        if (m->memo[i].key == key)
            return &m->memo[i];
        i = (i + 1) & (m->memo_cap - 1);
    }
    return NULL;
}

static mft_status memo_put(machine *m, uint64_t key, mft_value *v)
{
    memo_slot *s = memo_find(m, key);
    if (s) {
        s->value = v;
        return MFT_OK;
    }
    if (m->memo_n >= mftc_limit(m->f, MFT_LIMIT_PICKLE_MEMO))
        return FAIL(m, MFT_ERR_LIMIT, "pickle memo exceeds %llu entries (the "
                                      "limit)",
                    (unsigned long long)mftc_limit(m->f, MFT_LIMIT_PICKLE_MEMO));
    if ((m->memo_n + 1) * 2 > m->memo_cap) {
        size_t cap = m->memo_cap ? m->memo_cap * 2 : 64;
        memo_slot *g = calloc(cap, sizeof *g);
        if (!g)
            return oom(m);
        for (size_t i = 0; i < m->memo_cap; i++) {
            if (!m->memo[i].used)
                continue;
            size_t j = (size_t)(m->memo[i].key * 0x9E3779B97F4A7C15ull) &
                       (cap - 1);
            while (g[j].used)
                j = (j + 1) & (cap - 1);
            g[j] = m->memo[i];
        }
        free(m->memo);
        m->memo = g;
        m->memo_cap = cap;
    }
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull) & (m->memo_cap - 1);
    while (m->memo[i].used)
        i = (i + 1) & (m->memo_cap - 1);
    m->memo[i].used = 1;
    m->memo[i].key = key;
    m->memo[i].value = v;
    m->memo_n++;
    return MFT_OK;
}

static mft_status memo_get(machine *m, uint64_t key)
{
    memo_slot *s = memo_find(m, key);
    if (!s)
        return FAIL(m, MFT_ERR_CORRUPT, "memo key %llu was never stored",
                    (unsigned long long)key);
    return push(m, s->value);
}

/* ---- reading operands ---- */

/* CPython's C unpickler over a file: a read that does not fit in what is
 * left of the frame drops that rest and reads from the frame's end. */
static void frame_cross(machine *m, size_t n)
{
    if (m->frame_end && m->obs && m->obs->file_frames &&
        m->cur.pos < m->frame_end && n > m->frame_end - m->cur.pos) {
        m->cur.pos = m->frame_end;
        m->frame_end = 0;
    }
}

static mft_status need(machine *m, size_t n, const uint8_t **p)
{
    *p = NULL;
    frame_cross(m, n);
    if (!mftc_take(&m->cur, n, p))
        return FAIL(m, MFT_ERR_CORRUPT,
                    "pickle truncated: opcode needs %zu more bytes, %zu left",
                    n, mftc_remaining(&m->cur));
    return MFT_OK;
}

static mft_status read_uint(machine *m, unsigned n, uint64_t *out)
{
    const uint8_t *p = NULL;
    *out = 0;
    mft_status st = need(m, n, &p);
    if (st == MFT_OK)
        *out = mftc_load_le(p, n);
    return st;
}

/* A text line ending in '\n' (not included). */
static mft_status read_line(machine *m, const char **line, size_t *len)
{
    if (m->frame_end && m->obs && m->obs->file_frames &&
        m->cur.pos < m->frame_end &&
        !memchr(m->cur.base + m->cur.pos, '\n', m->frame_end - m->cur.pos))
        frame_cross(m, m->frame_end - m->cur.pos + 1);
    const uint8_t *start = m->cur.base + m->cur.pos;
    size_t left = mftc_remaining(&m->cur);
    const uint8_t *nl = memchr(start, '\n', left);
    if (!nl)
        return FAIL(m, MFT_ERR_CORRUPT, "pickle truncated: line has no end");
    *line = (const char *)start;
    *len = (size_t)(nl - start);
    m->cur.pos += *len + 1;
    return MFT_OK;
}

/* Length-prefixed payload: checked against what is left before use. */
static mft_status read_counted(machine *m, uint64_t n, const uint8_t **p)
{
    /* a length past the end is a broken pickle whatever the limit */
    if (n > mftc_remaining(&m->cur))
        return FAIL(m, MFT_ERR_CORRUPT, "pickle string of %llu bytes runs "
                                        "past the end (%zu bytes left)",
                    (unsigned long long)n, mftc_remaining(&m->cur));
    if (n > mftc_limit(m->f, MFT_LIMIT_STRING_BYTES))
        return FAIL(m, MFT_ERR_LIMIT, "pickle string of %llu bytes exceeds "
                                      "the limit of %llu",
                    (unsigned long long)n,
                    (unsigned long long)mftc_limit(m->f, MFT_LIMIT_STRING_BYTES));
    return need(m, (size_t)n, p);
}

/* ---- value constructors ---- */

static mft_value *str_value(machine *m, const char *s, size_t n,
                            mft_value_kind kind)
{
    mft_value *v = new_value(m, kind);
    if (!v)
        return NULL;
    /* Scanning never keeps values past the run: large payloads that lie in
     * the input are borrowed, so memory stays flat however big they are
     * (they are not NUL-terminated then: use the length). */
    const uint8_t *q = (const uint8_t *)s;
    if (m->obs && n >= 4096 && q >= m->cur.base && q <= m->cur.base + m->cur.end &&
        n <= (size_t)(m->cur.base + m->cur.end - q)) {
        v->u.s.p = s;
        v->u.s.n = n;
        return v;
    }
    char *p = mftc_arena_strndup(&m->f->arena, s, n);
    if (!p)
        return NULL;
    v->u.s.p = p;
    v->u.s.n = n;
    return v;
}

/* Scanning: UTF-8 as CPython's "surrogatepass" reads it (encoded
 * surrogates ED A0..BF xx allowed), each surrogate kept as U+FFFD (the
 * same length). NULL when it is not. */
static char *surrogatepass(machine *m, const uint8_t *p, size_t n)
{
    char *out = malloc(n ? n : 1);
    if (!out)
        return NULL;
    size_t i = 0;
    while (i < n) {
        size_t ok = mftc_utf8_check(p + i, n - i);
        memcpy(out + i, p + i, ok);
        i += ok;
        if (i == n)
            break;
        if (n - i >= 3 && p[i] == 0xED && p[i + 1] >= 0xA0 && p[i + 1] <= 0xBF &&
            (p[i + 2] & 0xC0) == 0x80) {
            memcpy(out + i, "\xEF\xBF\xBD", 3);
            i += 3;
            continue;
        }
        free(out);
        return NULL;
    }
    (void)m;
    return out;
}

static mft_status push_utf8(machine *m, const uint8_t *p, size_t n)
{
    if (mftc_utf8_check(p, n) != n) {
        char *fixed = m->obs ? surrogatepass(m, p, n) : NULL;
        if (!fixed)
            return FAIL(m, MFT_ERR_CORRUPT, "string is not valid UTF-8");
        mft_status st = push(m, str_value(m, fixed, n, MFT_VALUE_STRING));
        free(fixed);
        return st;
    }
    return push(m, str_value(m, (const char *)p, n, MFT_VALUE_STRING));
}

/* Python 2 str (STRING/BINSTRING/SHORT_BINSTRING): a string when it is
 * valid UTF-8 (torch.load's default encoding), else bytes. */
static mft_status push_py2str(machine *m, const uint8_t *p, size_t n)
{
    mft_value_kind k = mftc_utf8_check(p, n) == n ? MFT_VALUE_STRING
                                                  : MFT_VALUE_BYTES;
    return push(m, str_value(m, (const char *)p, n, k));
}

static mft_status push_int(machine *m, int64_t i)
{
    mft_value *v = new_value(m, MFT_VALUE_INT);
    if (v)
        v->u.i = i;
    return push(m, v);
}

/* Little-endian two's complement of n bytes → INT when it fits, else BIGINT
 * (minimal bytes kept). */
static mft_status push_long_bytes(machine *m, const uint8_t *p, size_t n)
{
    if (n == 0)
        return push_int(m, 0);
    if (n <= 8) {
        uint64_t u = mftc_load_le(p, (unsigned)n);
        if (n < 8 && (p[n - 1] & 0x80))
            u |= ~(uint64_t)0 << (8 * n);
        return push_int(m, (int64_t)u);
    }
    /* does it fit in 64 bits after sign extension? */
    int neg = (p[n - 1] & 0x80) != 0;
    size_t k = n;
    while (k > 8 && p[k - 1] == (neg ? 0xFF : 0x00) &&
           ((p[k - 2] & 0x80) != 0) == neg)
        k--;
    if (k <= 8)
        return push_long_bytes(m, p, k);
    return push(m, str_value(m, (const char *)p, k, MFT_VALUE_BIGINT));
}

/* ---- integer text, as CPython reads it ----
 *
 * INT: C strtol(s, &end, 0) (leading space, sign, 0x hex, leading-0 octal);
 * when that overflows or leaves text, Python's int(s, 0) rules (0x/0o/0b
 * prefixes, single underscores between digits, surrounding whitespace, no
 * leading zeros in decimal, at most 4300 decimal digits). LONG: int(s, 0)
 * after dropping one trailing 'L'. PUT/GET indices: int(s, 10). */

typedef struct pyint {
    int neg;
    unsigned base;
    const char *d; /* digits (underscores between them allowed) */
    size_t nd;
    uint64_t small; /* c_strtol_parse: the magnitude */
} pyint;

static int py_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Python's int(s, base) with base 0 or 10: 1 when s[0..n) is a literal. */
static int py_int_parse(const char *s, size_t n, unsigned base, pyint *out)
{
    size_t i = 0;
    while (i < n && py_space(s[i]))
        i++;
    while (n > i && py_space(s[n - 1]))
        n--;
    out->neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        out->neg = s[i++] == '-';
    int prefixed = 0;
    if (base == 0) {
        base = 10;
        if (i + 1 < n && s[i] == '0') {
            char x = s[i + 1];
            if (x == 'x' || x == 'X')
                base = 16;
            else if (x == 'o' || x == 'O')
                base = 8;
            else if (x == 'b' || x == 'B')
                base = 2;
            if (base != 10) {
                i += 2;
                prefixed = 1;
            }
        }
        if (!prefixed && i < n && s[i] == '0') {
            /* decimal with a leading zero: only zeros */
            for (size_t k = i; k < n; k++)
                if (s[k] != '0' && s[k] != '_')
                    return 0;
        }
    }
    if (prefixed && i < n && s[i] == '_')
        i++;
    if (i == n)
        return 0;
    size_t digits = 0;
    for (size_t k = i; k < n; k++) {
        if (s[k] == '_') {
            if (k == i || k + 1 == n || s[k + 1] == '_')
                return 0;
            continue;
        }
        if ((unsigned)digit_value(s[k]) >= base)
            return 0;
        digits++;
    }
    if (base == 10 && digits > 4300)
        return 0; /* sys.int_info.default_max_str_digits */
    out->base = base;
    out->d = s + i;
    out->nd = n - i;
    return 1;
}

/* C strtol(s, &end, 0) followed by the check load_int makes: 1 when it
 * reads the whole line and the value fits a long (else *out is unusable). */
static int c_strtol_parse(const char *s, size_t n, pyint *out)
{
    size_t i = 0;
    while (i < n && py_space(s[i]))
        i++;
    out->neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        out->neg = s[i++] == '-';
    unsigned base = 10;
    if (i < n && s[i] == '0') {
        if (i + 2 < n && (s[i + 1] == 'x' || s[i + 1] == 'X') &&
            digit_value(s[i + 2]) < 16) {
            base = 16;
            i += 2;
        } else {
            base = 8;
        }
    }
    size_t d0 = i;
    uint64_t v = 0;
    int over = 0;
    while (i < n && (unsigned)digit_value(s[i]) < base) {
        unsigned dv = (unsigned)digit_value(s[i]);
        if (v > (UINT64_MAX - dv) / base)
            over = 1;
        else
            v = v * base + dv;
        i++;
    }
    if (i == d0 || i != n || over)
        return 0;
    if (v > (out->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return 0; /* ERANGE */
    out->base = base;
    out->d = s + d0;
    out->nd = n - d0;
    out->small = v;
    return 1;
}

/* Push the integer a parsed literal denotes (INT, or BIGINT beyond 64
 * bits). */
static mft_status push_pyint(machine *m, const pyint *pi)
{
    size_t cap = pi->nd / 2 + 3; /* bytes: enough for any base ≤ 16 */
    uint8_t *mag = calloc(cap, 1);
    if (!mag)
        return oom(m);
    size_t len = 1;
    if (pi->base == 10) {
        for (size_t i = 0; i < pi->nd; i++) {
            if (pi->d[i] == '_')
                continue;
            unsigned carry = (unsigned)(pi->d[i] - '0');
            for (size_t k = 0; k < len; k++) {
                unsigned v = mag[k] * 10u + carry;
                mag[k] = (uint8_t)v;
                carry = v >> 8;
            }
            if (carry && len < cap)
                mag[len++] = (uint8_t)carry;
        }
    } else { /* a power of two: pack bits from the last digit up */
        unsigned bits = pi->base == 16 ? 4 : pi->base == 8 ? 3 : 1;
        size_t at = 0;
        for (size_t i = pi->nd; i-- > 0;) {
            if (pi->d[i] == '_')
                continue;
            unsigned dv = (unsigned)digit_value(pi->d[i]);
            for (unsigned b = 0; b < bits; b++, at++)
                if ((dv >> b) & 1)
                    mag[at / 8] |= (uint8_t)(1u << (at % 8));
        }
        len = (at + 7) / 8;
        if (len == 0)
            len = 1;
    }
    /* two's complement with a sign byte */
    if (len < cap)
        len++;
    if (pi->neg) {
        unsigned c = 1;
        for (size_t k = 0; k < len; k++) {
            unsigned v = (uint8_t)~mag[k] + c;
            mag[k] = (uint8_t)v;
            c = v >> 8;
        }
    }
    mft_status st = push_long_bytes(m, mag, len);
    free(mag);
    return st;
}

/* INT (is_long 0) or LONG (is_long 1) text argument. */
static mft_status push_int_text(machine *m, const char *s, size_t n,
                                int is_long)
{
    pyint pi;
    size_t full = n;
    if (is_long && n && s[n - 1] == 'L')
        n--;
    n = strnlen(s, n); /* CPython parses a C string: a NUL ends it */
    if (is_long) {
        if (!py_int_parse(s, n, 0, &pi))
            return FAIL(m, MFT_ERR_CORRUPT, "invalid integer literal");
        return push_pyint(m, &pi);
    }
    if (c_strtol_parse(s, n, &pi)) {
        if (full == 2 && pi.small <= 1 && !(pi.neg && pi.small)) {
            /* a two-character 0 or 1 ("00", "01") is INT's bool */
            mft_value *v = new_value(m, MFT_VALUE_BOOL);
            if (v)
                v->u.b = pi.small == 1;
            return push(m, v);
        }
        return push_pyint(m, &pi);
    }
    if (!py_int_parse(s, n, 0, &pi))
        return FAIL(m, MFT_ERR_CORRUPT, "invalid integer literal");
    return push_pyint(m, &pi);
}

/* A PUT/GET index: int(s, 10), which must be ≥ 0 and fit Py_ssize_t. */
static int memo_index(const char *s, size_t n, uint64_t *out)
{
    pyint pi;
    n = strnlen(s, n);
    if (!n || !py_int_parse(s, n, 10, &pi))
        return 0;
    uint64_t k = 0;
    int nonzero = 0;
    for (size_t i = 0; i < pi.nd; i++) {
        if (pi.d[i] == '_')
            continue;
        unsigned dv = (unsigned)(pi.d[i] - '0');
        if (k > ((uint64_t)INT64_MAX - dv) / 10)
            return 0;
        k = k * 10 + dv;
        nonzero |= dv != 0;
    }
    if (pi.neg && nonzero)
        return 0;
    *out = k;
    return 1;
}

static mft_status push_float(machine *m, double d)
{
    mft_value *v = new_value(m, MFT_VALUE_FLOAT);
    if (v)
        v->u.f = d;
    return push(m, v);
}

/* Record that `child` now sits inside `parent`; a pickle that nests deeper
 * than the limit fails here, at the opcode that did it. */
static mft_status nest(machine *m, mft_value *parent, const mft_value *child)
{
    if (child->depth + 1 > parent->depth) {
        parent->depth = child->depth + 1;
        if (parent->depth > mftc_limit(m->f, MFT_LIMIT_PICKLE_DEPTH) &&
            !m->obs)
            return FAIL(m, MFT_ERR_LIMIT, "pickle values nest deeper than %llu "
                                          "(the limit)",
                        (unsigned long long)mftc_limit(m->f,
                                                       MFT_LIMIT_PICKLE_DEPTH));
    }
    return MFT_OK;
}

/* Collect stack[base..sp) into a new sequence and pop them. */
static mft_status collect(machine *m, size_t base, mft_value_kind kind)
{
    mft_value *v = new_value(m, kind);
    if (!v)
        return new_failed(m);
    for (size_t i = base; i < m->sp; i++) {
        if (!mftc_value_append(&m->f->arena, v, NULL, m->stack[i]))
            return oom(m);
        mft_status st = nest(m, v, m->stack[i]);
        if (st != MFT_OK)
            return st;
    }
    m->sp = base;
    return push(m, v);
}

static mft_status dict_set(machine *m, mft_value *d, mft_value *k,
                           mft_value *v)
{
    mft_status nst = nest(m, d, v);
    if (nst == MFT_OK)
        nst = nest(m, d, k);
    if (nst != MFT_OK)
        return nst;
    if (d->kind == MFT_VALUE_DICT) {
        /* a repeated key replaces the value, as in Python */
        if (k->kind == MFT_VALUE_STRING || k->kind == MFT_VALUE_INT) {
            for (size_t i = 0; i < d->u.seq.n; i++) {
                const mft_value *x = d->u.seq.keys[i];
                if (x->kind != k->kind)
                    continue;
                if ((k->kind == MFT_VALUE_INT && x->u.i == k->u.i) ||
                    (k->kind == MFT_VALUE_STRING && x->u.s.n == k->u.s.n &&
                     memcmp(x->u.s.p, k->u.s.p, k->u.s.n) == 0)) {
                    d->u.seq.items[i] = v;
                    return MFT_OK;
                }
                if (d->u.seq.n > 64)
                    break; /* big dicts: keep it linear-time */
            }
        }
        return mftc_value_append(&m->f->arena, d, k, v) ? MFT_OK : oom(m);
    }
    if (d->kind == MFT_VALUE_OBJECT) {
        if (d->u.obj.form == MFTC_OBJ_GLOBAL || d->u.obj.form == MFTC_OBJ_PERSID)
            emit_ab(m, MFTC_PEV_MUTATE, d, k, 0);
        if (!d->u.obj.dictitems &&
            !(d->u.obj.dictitems = new_value(m, MFT_VALUE_DICT)))
            return new_failed(m);
        return dict_set(m, d->u.obj.dictitems, k, v);
    }
    emit_ab(m, MFTC_PEV_MUTATE, d, k, 0);
    if (m->obs)
        return MFT_OK; /* CPython calls __setitem__ (a list takes an index) */
    return FAIL(m, MFT_ERR_CORRUPT, "SETITEM on a value that is not a dict");
}

static mft_status list_add(machine *m, mft_value *l, mft_value *v)
{
    mft_status nst = nest(m, l, v);
    if (nst != MFT_OK)
        return nst;
    if (l->kind == MFT_VALUE_LIST || l->kind == MFT_VALUE_SET)
        return mftc_value_append(&m->f->arena, l, NULL, v) ? MFT_OK : oom(m);
    if (l->kind == MFT_VALUE_OBJECT) {
        if (l->u.obj.form == MFTC_OBJ_GLOBAL || l->u.obj.form == MFTC_OBJ_PERSID)
            emit_ab(m, MFTC_PEV_MUTATE, l, v, 0);
        if (!l->u.obj.items && !(l->u.obj.items = new_value(m, MFT_VALUE_LIST)))
            return new_failed(m);
        return mftc_value_append(&m->f->arena, l->u.obj.items, NULL, v)
                   ? MFT_OK
                   : oom(m);
    }
    emit_ab(m, MFTC_PEV_MUTATE, l, v, 0);
    if (m->obs)
        return MFT_OK; /* CPython calls its append/extend/add, if any */
    return FAIL(m, MFT_ERR_CORRUPT, "APPEND on a value that is not a list");
}

/* ---- global names ---- */

static const char *const module_map[][2] = {
    {"__builtin__", "builtins"},   {"copy_reg", "copyreg"},
    {"Queue", "queue"},             {"SocketServer", "socketserver"},
    {"ConfigParser", "configparser"}, {"repr", "reprlib"},
    {"cPickle", "pickle"},          {"_elementtree", "xml.etree.ElementTree"},
    {"UserDict", "collections"},    {"UserList", "collections"},
    {"UserString", "collections"},  {"whichdb", "dbm"},
    {"StringIO", "io"},             {"cStringIO", "io"},
    {"exceptions", "builtins"},     {"thread", "_thread"},
    {"dummy_thread", "_dummy_thread"}, {"httplib", "http.client"},
    {"htmlentitydefs", "html.entities"}, {"HTMLParser", "html.parser"},
    {"Cookie", "http.cookies"},     {"cookielib", "http.cookiejar"},
    {"BaseHTTPServer", "http.server"}, {"SimpleHTTPServer", "http.server"},
    {"CGIHTTPServer", "http.server"}, {"urlparse", "urllib.parse"},
    {"robotparser", "urllib.robotparser"}, {"urllib2", "urllib.request"},
    {"anydbm", "dbm"},              {"dbhash", "dbm.bsd"},
    {"dumbdbm", "dbm.dumb"},        {"dbm", "dbm.ndbm"},
    {"gdbm", "dbm.gnu"},            {"xmlrpclib", "xmlrpc.client"},
    {"DocXMLRPCServer", "xmlrpc.server"}, {"SimpleXMLRPCServer", "xmlrpc.server"},
    {"commands", "subprocess"},     {"UserDict", "collections"},
    {"_abcoll", "collections.abc"}, {"_winreg", "winreg"},
    {"Tkinter", "tkinter"},         {"markupbase", "_markupbase"},
};

static const char *const name_map[][4] = {
    {"__builtin__", "xrange", "builtins", "range"},
    {"__builtin__", "reduce", "functools", "reduce"},
    {"__builtin__", "intern", "sys", "intern"},
    {"__builtin__", "unichr", "builtins", "chr"},
    {"__builtin__", "unicode", "builtins", "str"},
    {"__builtin__", "long", "builtins", "int"},
    {"__builtin__", "basestring", "builtins", "str"},
    {"__builtin__", "raw_input", "builtins", "input"},
    {"__builtin__", "execfile", "builtins", "exec"},
    {"itertools", "izip", "builtins", "zip"},
    {"itertools", "imap", "builtins", "map"},
    {"itertools", "ifilter", "builtins", "filter"},
    {"itertools", "ifilterfalse", "itertools", "filterfalse"},
    {"itertools", "izip_longest", "itertools", "zip_longest"},
    {"UserDict", "IterableUserDict", "collections", "UserDict"},
    {"UserList", "UserList", "collections", "UserList"},
    {"UserString", "UserString", "collections", "UserString"},
    {"whichdb", "whichdb", "dbm", "whichdb"},
    {"_socket", "fromfd", "socket", "fromfd"},
    {"_multiprocessing", "Connection", "multiprocessing.connection", "Connection"},
    {"multiprocessing.process", "Process", "multiprocessing.context", "Process"},
    {"multiprocessing.forking", "Popen", "multiprocessing.popen_fork", "Popen"},
    {"urllib", "ContentTooShortError", "urllib.error", "ContentTooShortError"},
    {"urllib", "getproxies", "urllib.request", "getproxies"},
    {"urllib", "pathname2url", "urllib.request", "pathname2url"},
    {"urllib", "quote_plus", "urllib.parse", "quote_plus"},
    {"urllib", "quote", "urllib.parse", "quote"},
    {"urllib", "unquote_plus", "urllib.parse", "unquote_plus"},
    {"urllib", "unquote", "urllib.parse", "unquote"},
    {"urllib", "url2pathname", "urllib.request", "url2pathname"},
    {"urllib", "urlcleanup", "urllib.request", "urlcleanup"},
    {"urllib", "urlencode", "urllib.parse", "urlencode"},
    {"urllib", "urlopen", "urllib.request", "urlopen"},
    {"urllib", "urlretrieve", "urllib.request", "urlretrieve"},
    {"urllib2", "HTTPError", "urllib.error", "HTTPError"},
    {"urllib2", "URLError", "urllib.error", "URLError"},
};

static int eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

void mftc_pickle_compat(const char **module, size_t *mlen, const char **name,
                        size_t *nlen, int protocol)
{
    if (protocol >= 3)
        return;
    for (size_t i = 0; i < sizeof name_map / sizeof name_map[0]; i++)
        if (eq(*module, *mlen, name_map[i][0]) &&
            eq(*name, *nlen, name_map[i][1])) {
            *module = name_map[i][2];
            *mlen = strlen(*module);
            *name = name_map[i][3];
            *nlen = strlen(*name);
            return; /* CPython: a pair mapping, else a module mapping */
        }
    for (size_t i = 0; i < sizeof module_map / sizeof module_map[0]; i++)
        if (eq(*module, *mlen, module_map[i][0])) {
            *module = module_map[i][1];
            *mlen = strlen(*module);
            return;
        }
}

const char *mftc_pickle_global_name(mft_file *f, const char *module,
                                    size_t mlen, const char *name, size_t nlen,
                                    int protocol)
{
    mftc_pickle_compat(&module, &mlen, &name, &nlen, protocol);
    char *out = mftc_arena_alloc(&f->arena, mlen + nlen + 2);
    if (!out)
        return NULL;
    memcpy(out, module, mlen);
    out[mlen] = '.';
    memcpy(out + mlen + 1, name, nlen);
    out[mlen + 1 + nlen] = 0;
    return out;
}

static mft_status push_global(machine *m, const char *mod, size_t ml,
                              const char *name, size_t nl)
{
    if (mftc_utf8_check((const uint8_t *)mod, ml) != ml ||
        mftc_utf8_check((const uint8_t *)name, nl) != nl)
        return FAIL(m, MFT_ERR_CORRUPT, "global name is not valid UTF-8");
    if (m->obs) {
        mftc_pickle_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = MFTC_PEV_IMPORT;
        ev.module = ev.py_module = mod;
        ev.module_len = ev.py_module_len = ml;
        ev.name = ev.py_name = name;
        ev.name_len = ev.py_name_len = nl;
        mftc_pickle_compat(&ev.py_module, &ev.py_module_len, &ev.py_name,
                           &ev.py_name_len, m->protocol);
        emit(m, &ev);
    }
    mft_value *v = new_value(m, MFT_VALUE_OBJECT);
    if (!v)
        return new_failed(m);
    v->u.obj.cls = mftc_pickle_global_name(m->f, mod, ml, name, nl, m->protocol);
    if (!v->u.obj.cls)
        return oom(m);
    v->u.obj.form = MFTC_OBJ_GLOBAL;
    v->u.obj.offset = m->op_offset;
    m->globals++;
    return push(m, v);
}

/* Scanning: a global whose name is not known statically (cls "?"). */
static mft_status push_opaque_global(machine *m)
{
    mft_value *v = new_value(m, MFT_VALUE_OBJECT);
    if (!v)
        return new_failed(m);
    v->u.obj.cls = "?";
    v->u.obj.form = MFTC_OBJ_GLOBAL;
    v->u.obj.offset = m->op_offset;
    m->globals++;
    return push(m, v);
}

/* latin-1 encode a UTF-8 string (what _codecs.encode(s, 'latin1') does). */
static mft_value *latin1_bytes(machine *m, const mft_value *s)
{
    uint8_t *out = mftc_arena_alloc(&m->f->arena, s->u.s.n + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    const uint8_t *p = (const uint8_t *)s->u.s.p, *e = p + s->u.s.n;
    while (p < e) {
        if (*p < 0x80)
            out[n++] = *p++;
        else if ((*p & 0xE0) == 0xC0 && p + 1 < e && *p <= 0xC3) {
            out[n++] = (uint8_t)(((*p & 0x1F) << 6) | (p[1] & 0x3F));
            p += 2;
        } else {
            return NULL; /* not latin-1: leave the call inert */
        }
    }
    mft_value *v = new_value(m, MFT_VALUE_BYTES);
    if (!v)
        return NULL;
    v->u.s.p = (const char *)out;
    v->u.s.n = n;
    return v;
}

/* Constructors interpreted as values. Returns NULL (no error) when the call
 * is not one of them or its arguments do not fit; then it stays inert. */
static mft_value *interpret_call(machine *m, mft_value *callee,
                                 mft_value *args)
{
    if (callee->kind != MFT_VALUE_OBJECT || callee->u.obj.form != MFTC_OBJ_GLOBAL)
        return NULL;
    const char *c = callee->u.obj.cls;
    size_t nargs = args->kind == MFT_VALUE_TUPLE ? args->u.seq.n : (size_t)-1;
    if (nargs == (size_t)-1)
        return NULL;
    mft_value *a0 = nargs ? args->u.seq.items[0] : NULL;
    if (strcmp(c, "collections.OrderedDict") == 0 ||
        strcmp(c, "builtins.dict") == 0 ||
        strcmp(c, "collections.Counter") == 0 ||
        strcmp(c, "collections.defaultdict") == 0) {
        /* the empty constructor (a defaultdict's factory is ignored); a dict
         * or list of pairs argument is copied in */
        mft_value *d = new_value(m, MFT_VALUE_DICT);
        if (!d)
            return NULL;
        if (strcmp(c, "collections.OrderedDict") == 0)
            d->flags |= MFTC_VFLAG_ORDERED; /* writers keep the type */
        int has_items = strcmp(c, "collections.defaultdict") ? nargs == 1
                                                              : 0;
        if (has_items && a0->kind == MFT_VALUE_DICT) {
            for (size_t i = 0; i < a0->u.seq.n; i++)
                if (!mftc_value_append(&m->f->arena, d, a0->u.seq.keys[i],
                                       a0->u.seq.items[i]))
                    return NULL;
        } else if (has_items && (a0->kind == MFT_VALUE_LIST ||
                                 a0->kind == MFT_VALUE_TUPLE)) {
            for (size_t i = 0; i < a0->u.seq.n; i++) {
                mft_value *pair = a0->u.seq.items[i];
                if ((pair->kind != MFT_VALUE_TUPLE && pair->kind != MFT_VALUE_LIST) ||
                    pair->u.seq.n != 2)
                    return NULL;
                if (!mftc_value_append(&m->f->arena, d, pair->u.seq.items[0],
                                       pair->u.seq.items[1]))
                    return NULL;
            }
        } else if (nargs > (strcmp(c, "collections.defaultdict") ? 0u : 1u)) {
            return NULL;
        }
        return d;
    }
    if (strcmp(c, "builtins.set") == 0 || strcmp(c, "builtins.frozenset") == 0 ||
        strcmp(c, "builtins.list") == 0 || strcmp(c, "builtins.tuple") == 0 ||
        strcmp(c, "torch.Size") == 0) {
        mft_value_kind k = strstr(c, "set") ? MFT_VALUE_SET
                         : strcmp(c, "builtins.list") == 0 ? MFT_VALUE_LIST
                                                          : MFT_VALUE_TUPLE;
        mft_value *v = new_value(m, k);
        if (!v)
            return NULL;
        if (strcmp(c, "builtins.frozenset") == 0)
            v->flags |= MFTC_VFLAG_FROZEN;
        if (nargs == 0)
            return v;
        if (nargs != 1 || (a0->kind != MFT_VALUE_LIST && a0->kind != MFT_VALUE_TUPLE &&
                           a0->kind != MFT_VALUE_SET))
            return NULL;
        for (size_t i = 0; i < a0->u.seq.n; i++)
            if (!mftc_value_append(&m->f->arena, v, NULL, a0->u.seq.items[i]))
                return NULL;
        return v;
    }
    if (strcmp(c, "_codecs.encode") == 0 && nargs == 2 &&
        a0->kind == MFT_VALUE_STRING &&
        args->u.seq.items[1]->kind == MFT_VALUE_STRING &&
        (eq(args->u.seq.items[1]->u.s.p, args->u.seq.items[1]->u.s.n, "latin1") ||
         eq(args->u.seq.items[1]->u.s.p, args->u.seq.items[1]->u.s.n, "latin-1")))
        return latin1_bytes(m, a0);
    if ((strcmp(c, "builtins.bytes") == 0 || strcmp(c, "builtins.bytearray") == 0)) {
        if (nargs == 0)
            return str_value(m, "", 0, MFT_VALUE_BYTES);
        if (nargs == 1 && a0->kind == MFT_VALUE_BYTES)
            return a0;
        return NULL;
    }
    return NULL;
}

static mft_status make_call(machine *m, mft_value *callee, mft_value *args,
                            int form)
{
    emit_ab(m, MFTC_PEV_CALL, callee, args, (uint64_t)form);
    if (form == MFTC_OBJ_CALL) {
        mft_value *v = interpret_call(m, callee, args);
        if (v)
            return push(m, v);
    }
    mft_value *o = new_value(m, MFT_VALUE_OBJECT);
    if (!o)
        return new_failed(m);
    o->u.obj.form = form;
    o->u.obj.args = args;
    mft_status nst = nest(m, o, args);
    if (nst != MFT_OK)
        return nst;
    o->u.obj.offset = m->op_offset;
    if (callee->kind == MFT_VALUE_OBJECT && callee->u.obj.form == MFTC_OBJ_GLOBAL) {
        o->u.obj.cls = callee->u.obj.cls;
    } else {
        o->u.obj.cls = "?";
        o->u.obj.callee = callee;
    }
    return push(m, o);
}

static mft_status tuple_of(machine *m, size_t n)
{
    if (m->sp - floor_sp(m) < n)
        return FAIL(m, MFT_ERR_CORRUPT, "pickle stack underflow");
    return collect(m, m->sp - n, MFT_VALUE_TUPLE);
}

/* Unescape a protocol-0 STRING literal: 'text' or "text" with Python escapes. */
static mft_status push_string_literal(machine *m, const char *s, size_t n)
{
    if (n < 2 || (s[0] != '\'' && s[0] != '"') || s[n - 1] != s[0])
        return FAIL(m, MFT_ERR_CORRUPT, "the STRING opcode argument must be "
                                        "quoted");
    s++;
    n -= 2;
    char *out = malloc(n + 1);
    if (!out)
        return oom(m);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 == n) {
            out[k++] = s[i];
            continue;
        }
        char e = s[++i];
        switch (e) {
        case 'n': out[k++] = '\n'; break;
        case 't': out[k++] = '\t'; break;
        case 'r': out[k++] = '\r'; break;
        case 'a': out[k++] = '\a'; break;
        case 'b': out[k++] = '\b'; break;
        case 'f': out[k++] = '\f'; break;
        case 'v': out[k++] = '\v'; break;
        case '\n': break;
        case 'x':
            if (i + 2 < n) {
                unsigned v = 0;
                int ok = 1;
                for (int d = 1; d <= 2; d++) {
                    char h = s[i + (size_t)d];
                    v <<= 4;
                    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
                    else ok = 0;
                }
                if (ok) {
                    out[k++] = (char)v;
                    i += 2;
                    break;
                }
            }
            free(out);
            return FAIL(m, MFT_ERR_CORRUPT, "bad \\x escape in STRING");
        default:
            if (e >= '0' && e <= '7') {
                unsigned v = 0;
                int d = 0;
                while (d < 3 && i < n && s[i] >= '0' && s[i] <= '7') {
                    v = v * 8 + (unsigned)(s[i] - '0');
                    i++;
                    d++;
                }
                i--;
                out[k++] = (char)(v & 0xFF);
            } else {
                out[k++] = '\\';
                out[k++] = e;
            }
        }
    }
    mft_status st = push_py2str(m, (const uint8_t *)out, k);
    free(out);
    return st;
}

/* UNICODE (protocol 0): raw-unicode-escape → UTF-8. */
static mft_status push_raw_unicode(machine *m, const char *s, size_t n)
{
    char *out = malloc(n * 4 + 1);
    if (!out)
        return oom(m);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
            size_t digits = s[i + 1] == 'u' ? 4 : 8;
            if (i + 2 + digits > n) {
                free(out);
                return FAIL(m, MFT_ERR_CORRUPT, "truncated \\u escape in UNICODE");
            }
            cp = 0;
            for (size_t d = 0; d < digits; d++) {
                char h = s[i + 2 + d];
                cp <<= 4;
                if (h >= '0' && h <= '9') cp |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f') cp |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') cp |= (unsigned)(h - 'A' + 10);
                else {
                    free(out);
                    return FAIL(m, MFT_ERR_CORRUPT, "bad \\u escape in UNICODE");
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF && m->obs)
                cp = 0xFFFD; /* CPython keeps a lone surrogate */
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                free(out);
                return FAIL(m, MFT_ERR_CORRUPT, "bad code point in UNICODE");
            }
            i += 2 + digits;
        } else {
            cp = (unsigned char)s[i++];
        }
        if (cp < 0x80) {
            out[k++] = (char)cp;
        } else if (cp < 0x800) {
            out[k++] = (char)(0xC0 | (cp >> 6));
            out[k++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[k++] = (char)(0xE0 | (cp >> 12));
            out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[k++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[k++] = (char)(0xF0 | (cp >> 18));
            out[k++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[k++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    mft_status st = push(m, str_value(m, out, k, MFT_VALUE_STRING));
    free(out);
    return st;
}

static mft_status step(machine *m, int *stop)
{
    uint8_t op;
    m->op_offset = mftc_offset(&m->cur);
    m->op = 0;
    if (!mftc_u8(&m->cur, &op))
        return FAIL(m, MFT_ERR_CORRUPT, "pickle ends without STOP");
    m->op = op;
    m->op_code = 0;
    const uint8_t *p = NULL;
    const char *line = NULL;
    size_t len = 0, base = 0;
    uint64_t u = 0;
    mft_value *a = NULL, *b = NULL, *c = NULL;
    mft_status st;
    switch (op) {
    case 0x80: /* PROTO */
        if ((st = read_uint(m, 1, &u)))
            return st;
        if (u > 5)
            return FAIL(m, MFT_ERR_UNSUPPORTED, "unsupported pickle protocol %llu",
                        (unsigned long long)u);
        m->protocol = (int)u;
        return MFT_OK;
    case 0x95: /* FRAME: framing is only a read-ahead hint */
        if ((st = read_uint(m, 8, &u)))
            return st;
        m->op_code = u;
        if (u > mftc_remaining(&m->cur)) {
            /* pickle.py's _Unframer takes a short frame and runs it */
            if (!m->obs)
                return FAIL(m, MFT_ERR_CORRUPT, "FRAME of %llu bytes runs past "
                                                "the end (%zu bytes left)",
                            (unsigned long long)u, mftc_remaining(&m->cur));
            u = mftc_remaining(&m->cur);
        }
        if (m->frame_end && m->cur.pos < m->frame_end &&
            u <= m->frame_end - m->cur.pos)
            return MFT_OK; /* inside the current frame's bytes */
        if (m->frame_end && m->cur.pos < m->frame_end && m->obs &&
            m->obs->file_frames) {
            m->cur.pos = m->frame_end; /* the rest is dropped */
            if (u > mftc_remaining(&m->cur))
                u = mftc_remaining(&m->cur);
        }
        m->frame_end = m->cur.pos + (size_t)u;
        return MFT_OK;
    case '.': /* STOP */
        if ((st = pop(m, &a)))
            return st;
        m->stack[m->sp++] = a; /* leave it for the caller */
        *stop = 1;
        return MFT_OK;
    case '(': return mark(m);
    case '0': /* POP: with nothing above the last MARK, pops the mark */
        if (m->nmarks && m->marks[m->nmarks - 1] == m->sp) {
            m->nmarks--;
            return MFT_OK;
        }
        return pop(m, &a);
    case '1': /* POP_MARK */
        if ((st = pop_mark(m, &base)))
            return st;
        m->sp = base;
        return MFT_OK;
    case '2': /* DUP */
        if ((st = top(m, &a)))
            return st;
        return push(m, a);
    /* ---- numbers ---- */
    case 'I': /* INT (text) */
        if ((st = read_line(m, &line, &len)))
            return st;
        return push_int_text(m, line, len, 0);
    case 'L': /* LONG (text) */
        if ((st = read_line(m, &line, &len)))
            return st;
        return push_int_text(m, line, len, 1);
    case 'J': /* BININT */
        if ((st = read_uint(m, 4, &u)))
            return st;
        return push_int(m, (int32_t)(uint32_t)u);
    case 'K': /* BININT1 */
        if ((st = read_uint(m, 1, &u)))
            return st;
        return push_int(m, (int64_t)u);
    case 'M': /* BININT2 */
        if ((st = read_uint(m, 2, &u)))
            return st;
        return push_int(m, (int64_t)u);
    case 0x8A: /* LONG1 */
        if ((st = read_uint(m, 1, &u)) || (st = read_counted(m, u, &p)))
            return st;
        return push_long_bytes(m, p, (size_t)u);
    case 0x8B: /* LONG4 */
        if ((st = read_uint(m, 4, &u)))
            return st;
        if ((int32_t)(uint32_t)u < 0)
            return FAIL(m, MFT_ERR_CORRUPT, "LONG4 with a negative byte count");
        if ((st = read_counted(m, u, &p)))
            return st;
        return push_long_bytes(m, p, (size_t)u);
    case 'F': { /* FLOAT (text) */
        if ((st = read_line(m, &line, &len)))
            return st;
        char buf[64];
        if (len == 0 || len >= sizeof buf)
            return FAIL(m, MFT_ERR_CORRUPT, "invalid FLOAT literal");
        memcpy(buf, line, len);
        buf[len] = 0;
        char *end;
        double d = strtod(buf, &end);
        if (*end)
            return FAIL(m, MFT_ERR_CORRUPT, "invalid FLOAT literal");
        return push_float(m, d);
    }
    case 'G': { /* BINFLOAT: big-endian double */
        if ((st = need(m, 8, &p)))
            return st;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = (bits << 8) | p[i];
        double d;
        memcpy(&d, &bits, 8);
        return push_float(m, d);
    }
    /* ---- strings and bytes ---- */
    case 'S': /* STRING */
        if ((st = read_line(m, &line, &len)))
            return st;
        return push_string_literal(m, line, len);
    case 'T': /* BINSTRING */
        if ((st = read_uint(m, 4, &u)))
            return st;
        if ((int32_t)(uint32_t)u < 0)
            return FAIL(m, MFT_ERR_CORRUPT, "BINSTRING with a negative length");
        if ((st = read_counted(m, u, &p)))
            return st;
        return push_py2str(m, p, (size_t)u);
    case 'U': /* SHORT_BINSTRING */
        if ((st = read_uint(m, 1, &u)) || (st = read_counted(m, u, &p)))
            return st;
        return push_py2str(m, p, (size_t)u);
    case 'V': /* UNICODE */
        if ((st = read_line(m, &line, &len)))
            return st;
        return push_raw_unicode(m, line, len);
    case 'X': /* BINUNICODE */
        if ((st = read_uint(m, 4, &u)) || (st = read_counted(m, u, &p)))
            return st;
        return push_utf8(m, p, (size_t)u);
    case 0x8C: /* SHORT_BINUNICODE */
        if ((st = read_uint(m, 1, &u)) || (st = read_counted(m, u, &p)))
            return st;
        return push_utf8(m, p, (size_t)u);
    case 0x8D: /* BINUNICODE8 */
        if ((st = read_uint(m, 8, &u)) || (st = read_counted(m, u, &p)))
            return st;
        return push_utf8(m, p, (size_t)u);
    case 'B': /* BINBYTES */
        if ((st = read_uint(m, 4, &u)) || (st = read_counted(m, u, &p)))
            return st;
        return push(m, str_value(m, (const char *)p, (size_t)u, MFT_VALUE_BYTES));
    case 'C': /* SHORT_BINBYTES */
        if ((st = read_uint(m, 1, &u)) || (st = read_counted(m, u, &p)))
            return st;
        return push(m, str_value(m, (const char *)p, (size_t)u, MFT_VALUE_BYTES));
    case 0x8E: /* BINBYTES8 */
    case 0x96: /* BYTEARRAY8 */
        if ((st = read_uint(m, 8, &u)) || (st = read_counted(m, u, &p)))
            return st;
        return push(m, str_value(m, (const char *)p, (size_t)u, MFT_VALUE_BYTES));
    /* ---- constants ---- */
    case 'N': return push(m, new_value(m, MFT_VALUE_NONE));
    case 0x88:
    case 0x89: {
        mft_value *v = new_value(m, MFT_VALUE_BOOL);
        if (v)
            v->u.b = op == 0x88;
        return push(m, v);
    }
    /* ---- containers ---- */
    case ')': return push(m, new_value(m, MFT_VALUE_TUPLE));
    case 0x85: return tuple_of(m, 1);
    case 0x86: return tuple_of(m, 2);
    case 0x87: return tuple_of(m, 3);
    case 't': /* TUPLE */
        if ((st = pop_mark(m, &base)))
            return st;
        return collect(m, base, MFT_VALUE_TUPLE);
    case ']': return push(m, new_value(m, MFT_VALUE_LIST));
    case 'l': /* LIST */
        if ((st = pop_mark(m, &base)))
            return st;
        return collect(m, base, MFT_VALUE_LIST);
    case '}': return push(m, new_value(m, MFT_VALUE_DICT));
    case 0x8F: return push(m, new_value(m, MFT_VALUE_SET)); /* EMPTY_SET */
    case 0x91: /* FROZENSET */
        if ((st = pop_mark(m, &base)) || (st = collect(m, base, MFT_VALUE_SET)))
            return st;
        m->stack[m->sp - 1]->flags |= MFTC_VFLAG_FROZEN;
        return MFT_OK;
    case 'd': { /* DICT */
        if ((st = pop_mark(m, &base)))
            return st;
        if ((m->sp - base) % 2)
            return FAIL(m, MFT_ERR_CORRUPT, "DICT with an odd number of items");
        mft_value *d = new_value(m, MFT_VALUE_DICT);
        if (!d)
            return new_failed(m);
        for (size_t i = base; i < m->sp; i += 2)
            if ((st = dict_set(m, d, m->stack[i], m->stack[i + 1])))
                return st;
        m->sp = base;
        return push(m, d);
    }
    case 'a': /* APPEND */
        if ((st = pop(m, &a)) || (st = top(m, &b)))
            return st;
        return list_add(m, b, a);
    case 'e': /* APPENDS */
    case 0x90: /* ADDITEMS */
        if ((st = pop_mark(m, &base)))
            return st;
        if (base == 0 || base <= floor_sp(m))
            return FAIL(m, MFT_ERR_CORRUPT, "APPENDS without a list below the "
                                            "MARK");
        b = m->stack[base - 1];
        for (size_t i = base; i < m->sp; i++)
            if ((st = list_add(m, b, m->stack[i])))
                return st;
        m->sp = base;
        return MFT_OK;
    case 's': /* SETITEM */
        if ((st = pop(m, &a)) || (st = pop(m, &b)) || (st = top(m, &c)))
            return st;
        return dict_set(m, c, b, a);
    case 'u': /* SETITEMS */
        if ((st = pop_mark(m, &base)))
            return st;
        if ((m->sp - base) % 2)
            return FAIL(m, MFT_ERR_CORRUPT, "SETITEMS with an odd number of "
                                            "items");
        if (base == 0 || base <= floor_sp(m))
            return FAIL(m, MFT_ERR_CORRUPT, "SETITEMS without a dict below the "
                                            "MARK");
        c = m->stack[base - 1];
        for (size_t i = base; i < m->sp; i += 2)
            if ((st = dict_set(m, c, m->stack[i], m->stack[i + 1])))
                return st;
        m->sp = base;
        return MFT_OK;
    /* ---- memo ---- */
    case 'p': { /* PUT (text) */
        if ((st = read_line(m, &line, &len)))
            return st;
        uint64_t k = 0;
        if (!memo_index(line, len, &k))
            return FAIL(m, MFT_ERR_CORRUPT, "invalid PUT index");
        if ((st = top(m, &a)))
            return st;
        return memo_put(m, k, a);
    }
    case 'q':
    case 'r':
        if ((st = read_uint(m, op == 'q' ? 1 : 4, &u)) || (st = top(m, &a)))
            return st;
        return memo_put(m, u, a);
    case 0x94: /* MEMOIZE */
        if ((st = top(m, &a)))
            return st;
        return memo_put(m, (uint64_t)m->memo_n, a);
    case 'g': { /* GET (text) */
        if ((st = read_line(m, &line, &len)))
            return st;
        uint64_t k = 0;
        if (!memo_index(line, len, &k))
            return FAIL(m, MFT_ERR_CORRUPT, "invalid GET index");
        return memo_get(m, k);
    }
    case 'h':
    case 'j':
        if ((st = read_uint(m, op == 'h' ? 1 : 4, &u)))
            return st;
        return memo_get(m, u);
    /* ---- globals and objects ---- */
    case 'c': { /* GLOBAL */
        const char *mod, *name;
        size_t ml, nl;
        if ((st = read_line(m, &mod, &ml)) || (st = read_line(m, &name, &nl)))
            return st;
        return push_global(m, mod, ml, name, nl);
    }
    case 0x93: /* STACK_GLOBAL */
        if ((st = pop(m, &a)) || (st = pop(m, &b)))
            return st;
        if (a->kind != MFT_VALUE_STRING || b->kind != MFT_VALUE_STRING) {
            emit_ab(m, MFTC_PEV_IMPORT_DYNAMIC, b, a, 0);
            /* operands computed at load time may be strings by then:
             * scanning goes on with an opaque global */
            if (m->obs && (a->kind == MFT_VALUE_STRING || a->kind == MFT_VALUE_OBJECT) &&
                (b->kind == MFT_VALUE_STRING || b->kind == MFT_VALUE_OBJECT))
                return push_opaque_global(m);
            return FAIL(m, MFT_ERR_CORRUPT, "STACK_GLOBAL needs two strings");
        }
        return push_global(m, b->u.s.p, b->u.s.n, a->u.s.p, a->u.s.n);
    case 'i': { /* INST */
        const char *mod, *name;
        size_t ml, nl;
        if ((st = read_line(m, &mod, &ml)) || (st = read_line(m, &name, &nl)) ||
            (st = pop_mark(m, &base)))
            return st;
        if ((st = collect(m, base, MFT_VALUE_TUPLE)) || (st = pop(m, &a)) ||
            (st = push_global(m, mod, ml, name, nl)) || (st = pop(m, &b)))
            return st;
        return make_call(m, b, a, MFTC_OBJ_CALL);
    }
    case 'o': /* OBJ: MARK cls args... */
        if ((st = pop_mark(m, &base)))
            return st;
        if (m->sp == base)
            return FAIL(m, MFT_ERR_CORRUPT, "OBJ without a class");
        b = m->stack[base];
        if ((st = collect(m, base + 1, MFT_VALUE_TUPLE)) || (st = pop(m, &a)))
            return st;
        m->sp = base;
        return make_call(m, b, a, MFTC_OBJ_CALL);
    case 'R': /* REDUCE */
        if ((st = pop(m, &a)) || (st = pop(m, &b)))
            return st;
        if (a->kind != MFT_VALUE_TUPLE)
            return FAIL(m, MFT_ERR_CORRUPT, "REDUCE arguments are not a tuple");
        return make_call(m, b, a, MFTC_OBJ_CALL);
    case 0x81: /* NEWOBJ */
        if ((st = pop(m, &a)) || (st = pop(m, &b)))
            return st;
        if (a->kind != MFT_VALUE_TUPLE)
            return FAIL(m, MFT_ERR_CORRUPT, "NEWOBJ arguments are not a tuple");
        return make_call(m, b, a, MFTC_OBJ_NEW);
    case 0x92: /* NEWOBJ_EX: cls, args, kwargs */
        if ((st = pop(m, &c)) || (st = pop(m, &a)) || (st = pop(m, &b)))
            return st;
        if (a->kind != MFT_VALUE_TUPLE || c->kind != MFT_VALUE_DICT)
            return FAIL(m, MFT_ERR_CORRUPT, "NEWOBJ_EX needs a tuple and a dict");
        if ((st = make_call(m, b, a, MFTC_OBJ_NEW)))
            return st;
        if (c->u.seq.n) /* keyword arguments live beside the state */
            m->stack[m->sp - 1]->u.obj.dictitems = c;
        return MFT_OK;
    case 'b': /* BUILD */
        if ((st = pop(m, &a)) || (st = top(m, &b)))
            return st;
        emit_ab(m, MFTC_PEV_BUILD, b, a, 0);
        if (b->kind == MFT_VALUE_OBJECT) {
            if (b->u.obj.form == MFTC_OBJ_GLOBAL) {
                /* BUILD on a bare class: keep the class reference intact */
                mft_value *o = new_value(m, MFT_VALUE_OBJECT);
                if (!o)
                    return new_failed(m);
                *o = *b;
                o->u.obj.form = MFTC_OBJ_NEW;
                o->u.obj.state = a;
                m->stack[m->sp - 1] = o;
            } else if (b->u.obj.state && b->u.obj.state->kind == MFT_VALUE_DICT &&
                       a->kind == MFT_VALUE_DICT) {
                for (size_t i = 0; i < a->u.seq.n; i++)
                    if ((st = dict_set(m, b->u.obj.state, a->u.seq.keys[i],
                                       a->u.seq.items[i])))
                        return st;
            } else {
                b->u.obj.state = a;
            }
            if ((st = nest(m, b, a)))
                return st;
        }
        /* BUILD on a dict (an OrderedDict's _metadata) or other value:
         * attributes that are not items; not part of the value */
        return MFT_OK;
    case 'P': /* PERSID (text) */
        if ((st = read_line(m, &line, &len)))
            return st;
        if ((st = push_utf8(m, (const uint8_t *)line, len)))
            return st;
        /* fall through to wrap it */
        /* FALLTHROUGH */
    case 'Q': { /* BINPERSID */
        if ((st = pop(m, &a)))
            return st;
        mft_value *o = new_value(m, MFT_VALUE_OBJECT);
        if (!o)
            return new_failed(m);
        o->u.obj.form = MFTC_OBJ_PERSID;
        o->u.obj.cls = "persistent_id";
        o->u.obj.state = a;
        o->u.obj.offset = m->op_offset;
        emit_ab(m, MFTC_PEV_PERSID, a, NULL, 0);
        return push(m, o);
    }
    case 0x82:
    case 0x83:
    case 0x84:
        if ((st = read_uint(m, op == 0x82 ? 1 : op == 0x83 ? 2 : 4, &u)))
            return st;
        emit_ab(m, MFTC_PEV_EXT, NULL, NULL, u);
        if (m->obs)
            return push_opaque_global(m);
        return FAIL(m, MFT_ERR_UNSUPPORTED, "pickle extension registry code "
                                            "(EXT%d) is not supported",
                    op == 0x82 ? 1 : op == 0x83 ? 2 : 4);
    case 0x98: /* READONLY_BUFFER: a no-op on bytes (already read-only) */
        if ((st = top(m, &a)))
            return st;
        if (a->kind == MFT_VALUE_BYTES)
            return MFT_OK;
        /* FALLTHROUGH */
    case 0x97:
        return FAIL(m, MFT_ERR_UNSUPPORTED, "out-of-band pickle buffers "
                                            "(protocol 5 %s) are not supported",
                    op == 0x97 ? "NEXT_BUFFER" : "READONLY_BUFFER");
    default:
        return FAIL(m, MFT_ERR_CORRUPT, "unknown pickle opcode 0x%02x", op);
    }
}

/* The opcodes whose OP event carries the value they pushed. */
static int pushes_text(uint8_t op)
{
    switch (op) {
    case 'S': case 'T': case 'U': case 'V': case 'X': case 0x8C: case 0x8D:
    case 'B': case 'C': case 0x8E: case 0x96:
        return 1;
    default:
        return 0;
    }
}

mft_status mftc_pickle_load_ex(mft_file *f, const uint8_t *data, size_t len,
                               uint64_t origin, const char *member,
                               const mftc_pickle_observer *obs,
                               mftc_pickle_result *out)
{
    machine m;
    memset(&m, 0, sizeof m);
    m.f = f;
    m.cur = mftc_cursor_make(data, len, origin);
    m.member = member;
    m.obs = obs;
    memset(out, 0, sizeof *out);
    int stop = 0;
    mft_status st = MFT_OK;
    while (!stop && st == MFT_OK) {
        st = step(&m, &stop);
        if (st != MFT_OK)
            break;
        m.ops++;
        if (obs && obs->event) {
            mftc_pickle_event ev;
            memset(&ev, 0, sizeof ev);
            ev.kind = MFTC_PEV_OP;
            ev.end = mftc_offset(&m.cur);
            ev.code = m.op_code;
            if (pushes_text(m.op) && m.sp)
                ev.a = m.stack[m.sp - 1];
            emit(&m, &ev);
        }
    }
    if (st == MFT_OK) {
        out->root = m.stack[m.sp - 1];
        out->used = m.cur.pos;
        out->leftover = m.sp - 1 + m.nmarks;
    } else {
        out->used = (size_t)(m.op_offset - origin);
    }
    out->protocol = m.protocol;
    out->n_globals = m.globals;
    out->n_ops = m.ops;
    out->memo_n = m.memo_n;
    free(m.stack);
    free(m.marks);
    free(m.memo);
    return st;
}

mft_status mftc_pickle_load(mft_file *f, const uint8_t *data, size_t len,
                            uint64_t origin, const char *member,
                            mftc_pickle_result *out)
{
    return mftc_pickle_load_ex(f, data, len, origin, member, NULL, out);
}
