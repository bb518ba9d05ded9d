/* Typed metadata for writers: mft_writer_set_value (a value tree, deep-copied
 * with a GGUF type on every node), mft_writer_set_typed (text + a GGUF type),
 * and the STRING entries mft_writer_set_metadata makes on GGUF writers.
 * safetensors writers get the same entries as text (a string as it is, any
 * other value as compact JSON). */
#include "writer.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64 /* nesting of lists copied into metadata */

/* A message that does not poison the writer: the caller may go on. */
static mft_status soft_fail(mft_writer *w, mft_status code, const char *fmt,
                            ...) __attribute__((format(printf, 3, 4)));
static mft_status soft_fail(mft_writer *w, mft_status code, const char *fmt,
                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->errmsg, sizeof w->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

/* ---------------------------------------------------------------- bigints */

/* A BIGINT payload (little-endian two's complement) as a u64 when it lies in
 * [0, 2^64); 0 otherwise. */
static int bigint_u64(const mft_value *v, uint64_t *out)
{
    const unsigned char *p = (const unsigned char *)v->u.s.p;
    size_t n = v->u.s.n;
    if (n == 0 || (p[n - 1] & 0x80))
        return 0;
    for (size_t i = 8; i < n; i++)
        if (p[i])
            return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    *out = x;
    return 1;
}

/* A u64 as a value: INT when it fits int64, else a 9-byte BIGINT. */
static mft_value *u64_value(mftc_arena *a, uint64_t x)
{
    if (x <= (uint64_t)INT64_MAX)
        return mftc_value_int(a, (int64_t)x);
    mft_value *v = mftc_value_new(a, MFT_VALUE_BIGINT);
    char *p = mftc_arena_alloc(a, 9);
    if (!v || !p)
        return NULL;
    for (int i = 0; i < 8; i++)
        p[i] = (char)(unsigned char)(x >> (8 * i));
    p[8] = 0;
    v->u.s.p = p;
    v->u.s.n = 9;
    return v;
}

/* ---------------------------------------------------------------- copies */

typedef struct copier {
    mftc_arena *a;
    char why[256];
} copier;

/* Copy `v` with a GGUF type on every node; NULL with c->why set when it has
 * none (c->why empty: out of memory). */
static mft_value *typed_copy(copier *c, const mft_value *v, int depth)
{
    if (depth > MAX_DEPTH) {
        snprintf(c->why, sizeof c->why, "lists nested deeper than %d",
                 MAX_DEPTH);
        return NULL;
    }
    mft_value *out = mftc_value_new(c->a, v->kind);
    if (!out)
        return NULL;
    int t = v->gguf_type ? v->gguf_type - 1 : -1;
    switch (v->kind) {
    case MFT_VALUE_BOOL:
        out->u.b = v->u.b != 0;
        if (t < 0)
            t = MFT_GGUF_BOOL;
        break;
    case MFT_VALUE_INT:
        out->u.i = v->u.i;
        if (t < 0)
            t = MFT_GGUF_INT64;
        break;
    case MFT_VALUE_BIGINT: {
        uint64_t x;
        if (!bigint_u64(v, &x)) {
            snprintf(c->why, sizeof c->why,
                     "an integer outside the range of INT64 and UINT64");
            return NULL;
        }
        mft_value *u = u64_value(c->a, x);
        if (!u)
            return NULL;
        out = u;
        if (t < 0)
            t = x <= (uint64_t)INT64_MAX ? MFT_GGUF_INT64 : MFT_GGUF_UINT64;
        break;
    }
    case MFT_VALUE_FLOAT:
        out->u.f = v->u.f;
        if (t < 0)
            t = MFT_GGUF_FLOAT64;
        break;
    case MFT_VALUE_STRING: {
        char *p = mftc_arena_strndup(c->a, v->u.s.p, v->u.s.n);
        if (!p)
            return NULL;
        out->u.s.p = p;
        out->u.s.n = v->u.s.n;
        if (t < 0)
            t = MFT_GGUF_STRING;
        break;
    }
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_SET: {
        size_t n = v->u.seq.n;
        out->kind = MFT_VALUE_LIST;
        if (n) {
            size_t bytes;
            if (__builtin_mul_overflow(n, sizeof(mft_value *), &bytes) ||
                !(out->u.seq.items = mftc_arena_alloc(c->a, bytes)))
                return NULL;
            out->u.seq.cap = n;
        }
        int elem = v->gguf_elem ? v->gguf_elem - 1 : -1;
        int recorded = t == MFT_GGUF_ARRAY && elem >= 0;
        int has_u64 = 0, has_neg = 0;
        for (size_t i = 0; i < n; i++) {
            mft_value *it = typed_copy(c, v->u.seq.items[i], depth + 1);
            if (!it)
                return NULL;
            out->u.seq.items[out->u.seq.n++] = it;
            int it_t = it->gguf_type - 1;
            if (recorded)
                continue;
            if (it_t == MFT_GGUF_UINT64)
                has_u64 = 1;
            if (it->kind == MFT_VALUE_INT && it->u.i < 0)
                has_neg = 1;
            if (elem < 0)
                elem = it_t;
            else if (elem != it_t &&
                     !((elem == MFT_GGUF_INT64 || elem == MFT_GGUF_UINT64) &&
                       (it_t == MFT_GGUF_INT64 || it_t == MFT_GGUF_UINT64))) {
                snprintf(c->why, sizeof c->why,
                         "a list mixing %s and %s items", mft_gguf_type_name(elem),
                         mft_gguf_type_name(it_t));
                return NULL;
            }
        }
        if (!recorded) {
            if (n == 0) {
                snprintf(c->why, sizeof c->why,
                         "an empty list (no element type)");
                return NULL;
            }
            if (has_u64) {
                if (has_neg) {
                    snprintf(c->why, sizeof c->why,
                             "a list of integers beyond both INT64 and "
                             "UINT64");
                    return NULL;
                }
                elem = MFT_GGUF_UINT64;
                for (size_t i = 0; i < n; i++)
                    out->u.seq.items[i]->gguf_type = MFT_GGUF_UINT64 + 1;
            }
            t = MFT_GGUF_ARRAY;
        }
        out->gguf_elem = (unsigned char)(elem + 1);
        break;
    }
    default: {
        static const char *const names[] = {
            "None", "bool", "int", "bigint", "float", "str", "bytes",
            "list", "tuple", "dict", "tensor", "object", "set"};
        unsigned k = (unsigned)v->kind;
        snprintf(c->why, sizeof c->why, "a %s value",
                 k < sizeof names / sizeof names[0] ? names[k] : "?");
        return NULL;
    }
    }
    out->gguf_type = (unsigned char)(t + 1);
    return out;
}

/* ---------------------------------------------------------------- JSON text */

typedef struct tbuf {
    char *p;
    size_t n, cap;
    int oom;
} tbuf;

static void tb_put(tbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->n <= n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->n <= n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        char *g = realloc(b->p, cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        b->p = g;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void tb_str(tbuf *b, const char *s) { tb_put(b, s, strlen(s)); }

static void tb_json_string(tbuf *b, const char *s, size_t n)
{
    size_t need = mftc_json_escape(s, n, NULL, 0);
    char *t = malloc(need ? need : 1);
    if (!t) {
        b->oom = 1;
        return;
    }
    mftc_json_escape(s, n, t, need);
    tb_put(b, t, need);
    free(t);
}

static void tb_double(tbuf *b, double x)
{
    char t[40];
    if (isnan(x)) {
        tb_str(b, "NaN");
        return;
    }
    if (isinf(x)) {
        tb_str(b, x > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, x);
        if (strtod(t, NULL) == x)
            break;
    }
    tb_str(b, t);
    if (!strpbrk(t, ".eEn"))
        tb_str(b, ".0"); /* keep it a float, as Python's repr does */
}

/* Decimal text of a little-endian two's complement integer. */
static void tb_bigint(tbuf *b, const unsigned char *p, size_t n)
{
    unsigned char *mag = malloc(n ? n : 1);
    char *dig = malloc(n * 3 + 3);
    if (!mag || !dig) {
        free(mag);
        free(dig);
        b->oom = 1;
        return;
    }
    int neg = n && (p[n - 1] & 0x80);
    unsigned carry = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned x = neg ? (unsigned)(unsigned char)~p[i] + carry : p[i];
        mag[i] = (unsigned char)x;
        carry = neg ? x >> 8 : 0;
    }
    size_t nd = 0, len = n;
    do {
        unsigned rem = 0;
        for (size_t i = len; i-- > 0;) {
            unsigned cur = rem << 8 | mag[i];
            mag[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
        }
        dig[nd++] = (char)('0' + rem);
        while (len && !mag[len - 1])
            len--;
    } while (len);
    if (neg)
        dig[nd++] = '-';
    for (size_t i = 0; i < nd / 2; i++) {
        char t = dig[i];
        dig[i] = dig[nd - 1 - i];
        dig[nd - 1 - i] = t;
    }
    tb_put(b, dig, nd);
    free(mag);
    free(dig);
}

/* Compact JSON (Python json.dumps(separators=(",", ":")) style). */
static int to_json(tbuf *b, const mft_value *v, int depth, char *why,
                   size_t cap)
{
    char t[32];
    if (depth > MAX_DEPTH) {
        snprintf(why, cap, "nested deeper than %d", MAX_DEPTH);
        return 0;
    }
    switch (v->kind) {
    case MFT_VALUE_NONE: tb_str(b, "null"); return 1;
    case MFT_VALUE_BOOL: tb_str(b, v->u.b ? "true" : "false"); return 1;
    case MFT_VALUE_INT:
        snprintf(t, sizeof t, "%lld", (long long)v->u.i);
        tb_str(b, t);
        return 1;
    case MFT_VALUE_BIGINT:
        tb_bigint(b, (const unsigned char *)v->u.s.p, v->u.s.n);
        return 1;
    case MFT_VALUE_FLOAT: tb_double(b, v->u.f); return 1;
    case MFT_VALUE_STRING: tb_json_string(b, v->u.s.p, v->u.s.n); return 1;
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_SET:
        tb_put(b, "[", 1);
        for (size_t i = 0; i < v->u.seq.n; i++) {
            if (i)
                tb_put(b, ",", 1);
            if (!to_json(b, v->u.seq.items[i], depth + 1, why, cap))
                return 0;
        }
        tb_put(b, "]", 1);
        return 1;
    case MFT_VALUE_DICT:
        tb_put(b, "{", 1);
        for (size_t i = 0; i < v->u.seq.n; i++) {
            const mft_value *k = v->u.seq.keys[i];
            if (i)
                tb_put(b, ",", 1);
            if (k->kind != MFT_VALUE_STRING) {
                snprintf(why, cap, "a dict with a non-string key");
                return 0;
            }
            tb_json_string(b, k->u.s.p, k->u.s.n);
            tb_put(b, ":", 1);
            if (!to_json(b, v->u.seq.items[i], depth + 1, why, cap))
                return 0;
        }
        tb_put(b, "}", 1);
        return 1;
    default:
        snprintf(why, cap, "a value JSON cannot hold (kind %d)",
                 (int)v->kind);
        return 0;
    }
}

/* ---------------------------------------------------------------- entries */

static mft_status put(mft_writer *w, const char *key, mft_value *value)
{
    for (size_t i = 0; i < w->nvalues; i++)
        if (strcmp(w->values[i].key, key) == 0) {
            w->values[i].value = value;
            return MFT_OK;
        }
    if (w->nvalues == w->values_cap) {
        size_t cap = w->values_cap ? w->values_cap * 2 : 16;
        mftc_wvalue *g = realloc(w->values, cap * sizeof *g);
        if (!g)
            return soft_fail(w, MFT_ERR_NOMEM, "out of memory");
        w->values = g;
        w->values_cap = cap;
    }
    char *k = mftc_arena_strndup(&w->vals_arena, key, strlen(key));
    if (!k)
        return soft_fail(w, MFT_ERR_NOMEM, "out of memory");
    w->values[w->nvalues].key = k;
    w->values[w->nvalues].value = value;
    w->nvalues++;
    return MFT_OK;
}

static mft_status check_key(mft_writer *w, const char *key)
{
    if (w->committed)
        return soft_fail(w, MFT_ERR_MISUSE, "writer already committed");
    if (!key[0])
        return soft_fail(w, MFT_ERR_MISUSE, "%s: empty metadata key",
                         w->path);
    return MFT_OK;
}

mft_status mftc_writer_set_string(mft_writer *w, const char *key,
                                  const char *value)
{
    mft_status st = check_key(w, key);
    if (st != MFT_OK)
        return st;
    mft_value *v = mftc_value_string(&w->vals_arena, value, strlen(value));
    if (!v)
        return soft_fail(w, MFT_ERR_NOMEM, "out of memory");
    v->gguf_type = MFT_GGUF_STRING + 1;
    return put(w, key, v);
}

mft_status mft_writer_set_value(mft_writer *w, const char *key,
                                const mft_value *value)
{
    if (!w || !key || !value)
        return MFT_ERR_MISUSE;
    mft_status st = check_key(w, key);
    if (st != MFT_OK)
        return st;
    if (w->format != MFT_FORMAT_GGUF) {
        if (value->kind == MFT_VALUE_STRING)
            return mft_writer_set_metadata(w, key, value->u.s.p);
        tbuf b = {0};
        char why[200] = "";
        if (!to_json(&b, value, 0, why, sizeof why)) {
            free(b.p);
            return soft_fail(w, MFT_ERR_UNSUPPORTED,
                             "metadata \"%s\": %s cannot be written as "
                             "JSON text",
                             key, why);
        }
        if (b.oom) {
            free(b.p);
            return soft_fail(w, MFT_ERR_NOMEM, "out of memory");
        }
        st = mft_writer_set_metadata(w, key, b.p);
        free(b.p);
        return st;
    }
    copier c = {&w->vals_arena, ""};
    mft_value *copy = typed_copy(&c, value, 0);
    if (!copy) {
        if (!c.why[0])
            return soft_fail(w, MFT_ERR_NOMEM, "out of memory");
        return soft_fail(w, MFT_ERR_UNSUPPORTED,
                         "metadata \"%s\": GGUF cannot hold %s", key, c.why);
    }
    return put(w, key, copy);
}

/* Parse a decimal (or 0x hex) integer, the whole text. */
static int parse_int(const char *s, int *neg, uint64_t *mag)
{
    const char *p = s;
    *neg = 0;
    if (*p == '-' || *p == '+')
        *neg = *p++ == '-';
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!*p || *p == '-' || *p == '+' || *p == ' ')
        return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(p, &end, base);
    if (errno || *end)
        return 0;
    *mag = x;
    return 1;
}

mft_status mft_writer_set_typed(mft_writer *w, const char *key,
                                mft_gguf_type type, const char *text)
{
    if (!w || !key || !text)
        return MFT_ERR_MISUSE;
    mft_status st = check_key(w, key);
    if (st != MFT_OK)
        return st;
    if (type == MFT_GGUF_STRING || w->format != MFT_FORMAT_GGUF) {
        if ((unsigned)type >= MFT_GGUF_TYPE_COUNT_ || type == MFT_GGUF_ARRAY)
            return soft_fail(w, MFT_ERR_MISUSE,
                             "metadata \"%s\": type %s cannot be given as "
                             "text",
                             key, mft_gguf_type_name(type));
        if (w->format != MFT_FORMAT_GGUF)
            return mft_writer_set_metadata(w, key, text);
        return mftc_writer_set_string(w, key, text);
    }
    mftc_arena *a = &w->vals_arena;
    mft_value *v = NULL;
    switch (type) {
    case MFT_GGUF_UINT8: case MFT_GGUF_INT8: case MFT_GGUF_UINT16:
    case MFT_GGUF_INT16: case MFT_GGUF_UINT32: case MFT_GGUF_INT32:
    case MFT_GGUF_UINT64: case MFT_GGUF_INT64: {
        static const unsigned bits[] = {
            [MFT_GGUF_UINT8] = 8, [MFT_GGUF_INT8] = 8,
            [MFT_GGUF_UINT16] = 16, [MFT_GGUF_INT16] = 16,
            [MFT_GGUF_UINT32] = 32, [MFT_GGUF_INT32] = 32,
            [MFT_GGUF_UINT64] = 64, [MFT_GGUF_INT64] = 64};
        int is_signed = type == MFT_GGUF_INT8 || type == MFT_GGUF_INT16 ||
                        type == MFT_GGUF_INT32 || type == MFT_GGUF_INT64;
        unsigned nb = bits[type];
        int neg;
        uint64_t mag;
        uint64_t max = nb == 64 ? UINT64_MAX : (UINT64_C(1) << nb) - 1;
        if (is_signed)
            max >>= 1;
        if (!parse_int(text, &neg, &mag) ||
            (neg && (!is_signed ? mag != 0 : mag > max + 1)) ||
            (!neg && mag > max))
            return soft_fail(w, MFT_ERR_MISUSE,
                             "metadata \"%s\": \"%s\" is not a %s value", key,
                             text, mft_gguf_type_name(type));
        v = neg ? mftc_value_int(a, (int64_t)(0 - mag)) : u64_value(a, mag);
        break;
    }
    case MFT_GGUF_FLOAT32:
    case MFT_GGUF_FLOAT64: {
        char *end;
        double x = strtod(text, &end);
        if (!text[0] || *end || end == text)
            return soft_fail(w, MFT_ERR_MISUSE,
                             "metadata \"%s\": \"%s\" is not a number", key,
                             text);
        if (type == MFT_GGUF_FLOAT32)
            x = (double)(float)x;
        if ((v = mftc_value_new(a, MFT_VALUE_FLOAT)))
            v->u.f = x;
        break;
    }
    case MFT_GGUF_BOOL: {
        int b;
        if (!strcmp(text, "true") || !strcmp(text, "1"))
            b = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "0"))
            b = 0;
        else
            return soft_fail(w, MFT_ERR_MISUSE,
                             "metadata \"%s\": \"%s\" is not a BOOL (true, "
                             "false, 1 or 0)",
                             key, text);
        if ((v = mftc_value_new(a, MFT_VALUE_BOOL)))
            v->u.b = b;
        break;
    }
    default:
        return soft_fail(w, MFT_ERR_MISUSE,
                         "metadata \"%s\": type %s cannot be given as text",
                         key, mft_gguf_type_name(type));
    }
    if (!v)
        return soft_fail(w, MFT_ERR_NOMEM, "out of memory");
    v->gguf_type = (unsigned char)(type + 1);
    return put(w, key, v);
}

void mftc_writer_free_values(mft_writer *w)
{
    free(w->values);
    w->values = NULL;
    w->nvalues = w->values_cap = 0;
    mftc_arena_free(&w->vals_arena);
}
