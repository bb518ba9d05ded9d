/* Strict JSON parser; see json.h for why it exists. Recursive descent with a
 * depth limit; children are collected on one shared scratch stack and copied
 * into the arena when their container closes. */
#include "json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p;
    size_t pos, len;
    uint64_t origin;
    unsigned max_depth;
    mftc_arena *arena;
    mftc_json_error *err;
    mftc_json_member *scratch;
    size_t nscratch, capscratch;
} parser;

static int fail(parser *ps, size_t at, const char *msg)
{
    if (ps->err->msg[0] == 0) {
        snprintf(ps->err->msg, sizeof ps->err->msg, "%s", msg);
        ps->err->offset = ps->origin + at;
    }
    return 0;
}

static int oom(parser *ps)
{
    ps->err->nomem = 1;
    return fail(ps, ps->pos, "out of memory");
}

static void skip_ws(parser *ps)
{
    while (ps->pos < ps->len) {
        char c = ps->p[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        ps->pos++;
    }
}

static int literal(parser *ps, const char *word)
{
    size_t k = strlen(word);
    if (ps->len - ps->pos < k || memcmp(ps->p + ps->pos, word, k) != 0)
        return fail(ps, ps->pos, "unexpected character");
    ps->pos += k;
    return 1;
}

static int hex4(parser *ps, unsigned *out)
{
    if (ps->len - ps->pos < 4)
        return fail(ps, ps->pos, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[ps->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(ps, ps->pos + (size_t)i, "bad hex digit in \\u escape");
    }
    ps->pos += 4;
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote. The unescaped text is never longer than the raw. */
static int string(parser *ps, const char **out, size_t *out_len)
{
    size_t start = ++ps->pos, end = start;
    int escaped = 0;
    for (;;) {
        if (end >= ps->len)
            return fail(ps, start - 1, "unterminated string");
        unsigned char c = (unsigned char)ps->p[end];
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(ps, end, "control character in string");
        if (c == '\\') {
            escaped = 1;
            end++;
            if (end >= ps->len)
                return fail(ps, start - 1, "unterminated string");
        }
        end++;
    }
    char *dst = mftc_arena_alloc(ps->arena, end - start + 1);
    if (!dst)
        return oom(ps);
    if (!escaped) {
        memcpy(dst, ps->p + start, end - start);
        *out = dst;
        *out_len = end - start;
        ps->pos = end + 1;
        return 1;
    }
    size_t n = 0;
    ps->pos = start;
    while (ps->pos < end) {
        char c = ps->p[ps->pos];
        if (c != '\\') {
            dst[n++] = c;
            ps->pos++;
            continue;
        }
        size_t esc_at = ps->pos;
        char e = ps->p[ps->pos + 1];
        ps->pos += 2;
        switch (e) {
        case '"': dst[n++] = '"'; break;
        case '\\': dst[n++] = '\\'; break;
        case '/': dst[n++] = '/'; break;
        case 'b': dst[n++] = '\b'; break;
        case 'f': dst[n++] = '\f'; break;
        case 'n': dst[n++] = '\n'; break;
        case 'r': dst[n++] = '\r'; break;
        case 't': dst[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (!hex4(ps, &cp))
                return 0;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail(ps, esc_at, "lone trailing surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->pos + 2 > end || ps->p[ps->pos] != '\\' ||
                    ps->p[ps->pos + 1] != 'u')
                    return fail(ps, esc_at,
                                "lone leading surrogate in \\u escape");
                ps->pos += 2;
                if (!hex4(ps, &lo))
                    return 0;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail(ps, esc_at, "invalid surrogate pair");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += put_utf8(dst + n, cp);
            break;
        }
        default:
            return fail(ps, esc_at, "invalid escape in string");
        }
    }
    dst[n] = 0;
    ps->pos = end + 1;
    *out = dst;
    *out_len = n;
    return 1;
}

static int number(parser *ps, mftc_json *v)
{
    size_t s = ps->pos, i = s;
    int neg = 0, is_int = 1, overflow = 0;
    uint64_t mag = 0;
    if (i < ps->len && ps->p[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= ps->len || ps->p[i] < '0' || ps->p[i] > '9')
        return fail(ps, s, "invalid number");
    if (ps->p[i] == '0') {
        i++;
        if (i < ps->len && ps->p[i] >= '0' && ps->p[i] <= '9')
            return fail(ps, s, "leading zero in number");
    } else {
        while (i < ps->len && ps->p[i] >= '0' && ps->p[i] <= '9') {
            unsigned d = (unsigned)(ps->p[i] - '0');
            if (mag > (UINT64_MAX - d) / 10)
                overflow = 1;
            else
                mag = mag * 10 + d;
            i++;
        }
    }
    /* recompute magnitude for "0" */
    if (i < ps->len && ps->p[i] == '.') {
        is_int = 0;
        i++;
        if (i >= ps->len || ps->p[i] < '0' || ps->p[i] > '9')
            return fail(ps, s, "invalid number: digit expected after '.'");
        while (i < ps->len && ps->p[i] >= '0' && ps->p[i] <= '9')
            i++;
    }
    if (i < ps->len && (ps->p[i] == 'e' || ps->p[i] == 'E')) {
        is_int = 0;
        i++;
        if (i < ps->len && (ps->p[i] == '+' || ps->p[i] == '-'))
            i++;
        if (i >= ps->len || ps->p[i] < '0' || ps->p[i] > '9')
            return fail(ps, s, "invalid number: digit expected in exponent");
        while (i < ps->len && ps->p[i] >= '0' && ps->p[i] <= '9')
            i++;
    }
    char buf[64];
    size_t k = i - s;
    double d;
    if (k < sizeof buf) {
        memcpy(buf, ps->p + s, k);
        buf[k] = 0;
        d = strtod(buf, NULL);
    } else {
        char *big = malloc(k + 1);
        if (!big)
            return oom(ps);
        memcpy(big, ps->p + s, k);
        big[k] = 0;
        d = strtod(big, NULL);
        free(big);
    }
    v->type = MFTC_JSON_NUMBER;
    v->u.num.mag = mag;
    v->u.num.neg = neg;
    v->u.num.is_int = is_int && !overflow;
    v->u.num.d = d;
    ps->pos = i;
    return 1;
}

static int push(parser *ps, const mftc_json_member *m)
{
    if (ps->nscratch == ps->capscratch) {
        size_t cap = ps->capscratch ? ps->capscratch * 2 : 64;
        mftc_json_member *g = realloc(ps->scratch, cap * sizeof *g);
        if (!g)
            return oom(ps);
        ps->scratch = g;
        ps->capscratch = cap;
    }
    ps->scratch[ps->nscratch++] = *m;
    return 1;
}

static int key_cmp(const void *a, const void *b)
{
    const mftc_json_member *x = *(const mftc_json_member *const *)a;
    const mftc_json_member *y = *(const mftc_json_member *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return x->key_offset < y->key_offset ? -1 : 1;
}

static int same_key(const mftc_json_member *x, const mftc_json_member *y)
{
    return x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0;
}

static int check_duplicates(parser *ps, mftc_json_member *m, size_t n)
{
    const mftc_json_member *dup = NULL;
    if (n <= 16) {
        for (size_t i = 1; i < n && !dup; i++)
            for (size_t j = 0; j < i; j++)
                if (same_key(&m[i], &m[j])) {
                    dup = &m[i];
                    break;
                }
    } else {
        const mftc_json_member **order = malloc(n * sizeof *order);
        if (!order)
            return oom(ps);
        for (size_t i = 0; i < n; i++)
            order[i] = &m[i];
        qsort(order, n, sizeof *order, key_cmp);
        for (size_t i = 1; i < n; i++)
            if (same_key(order[i], order[i - 1]) &&
                (!dup || order[i]->key_offset < dup->key_offset))
                dup = order[i];
        free(order);
    }
    if (dup) {
        char msg[200];
        snprintf(msg, sizeof msg, "duplicate key \"%.*s\"",
                 (int)(dup->key_len > 120 ? 120 : dup->key_len), dup->key);
        return fail(ps, (size_t)(dup->key_offset - ps->origin), msg);
    }
    return 1;
}

static int value(parser *ps, mftc_json *v, unsigned depth);

static int container(parser *ps, mftc_json *v, unsigned depth, int is_object)
{
    if (depth >= ps->max_depth)
        return fail(ps, ps->pos, "nested too deeply");
    v->type = is_object ? MFTC_JSON_OBJECT : MFTC_JSON_ARRAY;
    char close = is_object ? '}' : ']';
    size_t base = ps->nscratch;
    ps->pos++;
    skip_ws(ps);
    if (ps->pos < ps->len && ps->p[ps->pos] == close) {
        ps->pos++;
        return 1;
    }
    for (;;) {
        mftc_json_member m;
        memset(&m, 0, sizeof m);
        skip_ws(ps);
        if (is_object) {
            if (ps->pos >= ps->len)
                return fail(ps, ps->pos, "unexpected end of input in object");
            if (ps->p[ps->pos] != '"')
                return fail(ps, ps->pos, "expected a string key");
            m.key_offset = ps->origin + ps->pos;
            if (!string(ps, &m.key, &m.key_len))
                return 0;
            skip_ws(ps);
            if (ps->pos >= ps->len || ps->p[ps->pos] != ':')
                return fail(ps, ps->pos, "expected ':' after key");
            ps->pos++;
        }
        if (!value(ps, &m.value, depth + 1) || !push(ps, &m))
            return 0;
        skip_ws(ps);
        if (ps->pos >= ps->len)
            return fail(ps, ps->pos, is_object ? "unexpected end of input in object"
                                               : "unexpected end of input in array");
        char c = ps->p[ps->pos++];
        if (c == close)
            break;
        if (c != ',')
            return fail(ps, ps->pos - 1,
                        is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    size_t n = ps->nscratch - base;
    mftc_json_member *kids = mftc_arena_alloc(ps->arena, n * sizeof *kids);
    if (!kids)
        return oom(ps);
    memcpy(kids, ps->scratch + base, n * sizeof *kids);
    ps->nscratch = base;
    v->u.kids.m = kids;
    v->u.kids.n = n;
    if (is_object && !check_duplicates(ps, kids, n))
        return 0;
    return 1;
}

static int value(parser *ps, mftc_json *v, unsigned depth)
{
    skip_ws(ps);
    if (ps->pos >= ps->len)
        return fail(ps, ps->pos, "unexpected end of input");
    v->offset = ps->origin + ps->pos;
    switch (ps->p[ps->pos]) {
    case '{': return container(ps, v, depth, 1);
    case '[': return container(ps, v, depth, 0);
    case '"':
        v->type = MFTC_JSON_STRING;
        return string(ps, &v->u.str.p, &v->u.str.n);
    case 't': v->type = MFTC_JSON_BOOL; v->u.b = 1; return literal(ps, "true");
    case 'f': v->type = MFTC_JSON_BOOL; v->u.b = 0; return literal(ps, "false");
    case 'n': v->type = MFTC_JSON_NULL; return literal(ps, "null");
    default:
        return number(ps, v);
    }
}

mftc_json *mftc_json_parse(mftc_arena *a, const char *p, size_t len,
                           uint64_t origin, unsigned max_depth,
                           mftc_json_error *err)
{
    memset(err, 0, sizeof *err);
    parser ps = {p, 0, len, origin, max_depth, a, err, NULL, 0, 0};
    mftc_json *root = mftc_arena_alloc(a, sizeof *root);
    if (!root) {
        err->nomem = 1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    int ok = value(&ps, root, 0);
    if (ok) {
        skip_ws(&ps);
        if (ps.pos != ps.len)
            ok = fail(&ps, ps.pos, "trailing characters after the JSON value");
    }
    free(ps.scratch);
    return ok ? root : NULL;
}

size_t mftc_utf8_check(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (len - i <= need)
            return i;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return i;
        i += need + 1;
    }
    return len;
}

const mftc_json *mftc_json_get(const mftc_json *obj, const char *key)
{
    if (!obj || obj->type != MFTC_JSON_OBJECT)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < obj->u.kids.n; i++)
        if (obj->u.kids.m[i].key_len == kl &&
            memcmp(obj->u.kids.m[i].key, key, kl) == 0)
            return &obj->u.kids.m[i].value;
    return NULL;
}
