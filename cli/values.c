/* Printing value trees: Python-style repr (mft show) and JSON (--json). */
#include "cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 1000

/* Decimal digits of a little-endian two's complement integer. */
static void bigint_text(const unsigned char *p, size_t n, FILE *out)
{
    int neg = n && (p[n - 1] & 0x80);
    unsigned char *mag = malloc(n ? n : 1);
    char *digits = malloc(n * 3 + 2);
    if (!mag || !digits) {
        free(mag);
        free(digits);
        fputs("0", out);
        return;
    }
    memcpy(mag, p, n);
    if (neg) { /* magnitude = ~x + 1 */
        unsigned c = 1;
        for (size_t i = 0; i < n; i++) {
            unsigned v = (unsigned char)~mag[i] + c;
            mag[i] = (unsigned char)v;
            c = v >> 8;
        }
    }
    size_t nd = 0, len = n;
    while (len && !mag[len - 1])
        len--;
    while (len) {
        unsigned rem = 0;
        for (size_t i = len; i-- > 0;) {
            unsigned v = (rem << 8) | mag[i];
            mag[i] = (unsigned char)(v / 10);
            rem = v % 10;
        }
        digits[nd++] = (char)('0' + rem);
        while (len && !mag[len - 1])
            len--;
    }
    if (!nd)
        digits[nd++] = '0';
    if (neg)
        fputc('-', out);
    while (nd)
        fputc(digits[--nd], out);
    free(mag);
    free(digits);
}

/* Python's repr of a float: shortest round-trip digits, fixed notation for
 * exponents -4 ≤ e < 16, else d.ddde±XX. */
void py_float(double v, FILE *out)
{
    if (isnan(v)) {
        fputs("nan", out);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "inf" : "-inf", out);
        return;
    }
    char buf[64];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* buf: [-]d[.ddd]e±XX */
    char *e = strchr(buf, 'e');
    int exp = atoi(e + 1);
    *e = 0;
    char digits[32];
    size_t nd = 0;
    int neg = buf[0] == '-';
    for (char *p = buf + neg; *p; p++)
        if (*p != '.')
            digits[nd++] = *p;
    digits[nd] = 0;
    if (neg)
        fputc('-', out);
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            fputs("0.", out);
            for (int i = 0; i < -exp - 1; i++)
                fputc('0', out);
            fputs(digits, out);
        } else {
            for (int i = 0; i <= exp; i++)
                fputc((size_t)i < nd ? digits[i] : '0', out);
            fputc('.', out);
            if ((size_t)exp + 1 < nd)
                fputs(digits + exp + 1, out);
            else
                fputc('0', out);
        }
    } else {
        fputc(digits[0], out);
        if (nd > 1) {
            fputc('.', out);
            fputs(digits + 1, out);
        }
        fprintf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
}

static void py_quoted(const char *s, size_t n, int bytes, FILE *out)
{
    int has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    if (bytes)
        fputc('b', out);
    fputc(q, out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == (unsigned char)q || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80))
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc(q, out);
}

/* Shared values print once per reference, as Python prints them; a budget
 * of nodes keeps a small hostile file from printing exponentially much. */
#define MAX_NODES 2000000

typedef struct ancestry {
    const mft_value *stack[MAX_DEPTH];
    int depth;
    long nodes;
} ancestry;

static int on_stack(const ancestry *a, const mft_value *v)
{
    for (int i = 0; i < a->depth; i++)
        if (a->stack[i] == v)
            return 1;
    return 0;
}

static void repr(mft_file *f, const mft_value *v, ancestry *a, FILE *out);

static void repr_items(mft_file *f, const mft_value *v, ancestry *a, FILE *out)
{
    size_t n = mft_value_len(v);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", out);
        if (mft_value_get_kind(v) == MFT_VALUE_DICT) {
            repr(f, mft_value_key(v, i), a, out);
            fputs(": ", out);
        }
        repr(f, mft_value_item(v, i), a, out);
    }
}

static void repr(mft_file *f, const mft_value *v, ancestry *a, FILE *out)
{
    size_t n;
    const char *s;
    mft_value_kind k = mft_value_get_kind(v);
    int container = k == MFT_VALUE_LIST || k == MFT_VALUE_TUPLE ||
                    k == MFT_VALUE_DICT || k == MFT_VALUE_SET ||
                    k == MFT_VALUE_OBJECT;
    if (container && (on_stack(a, v) || a->depth >= MAX_DEPTH ||
                      ++a->nodes > MAX_NODES)) {
        fputs(k == MFT_VALUE_LIST ? "[...]" : k == MFT_VALUE_DICT ? "{...}" : "...",
              out);
        return;
    }
    if (container)
        a->stack[a->depth++] = v;
    switch (k) {
    case MFT_VALUE_NONE: fputs("None", out); break;
    case MFT_VALUE_BOOL: fputs(mft_value_bool(v) ? "True" : "False", out); break;
    case MFT_VALUE_INT: fprintf(out, "%lld", (long long)mft_value_int(v)); break;
    case MFT_VALUE_BIGINT:
        s = mft_value_bytes(v, &n);
        bigint_text((const unsigned char *)s, n, out);
        break;
    case MFT_VALUE_FLOAT: py_float(mft_value_float(v), out); break;
    case MFT_VALUE_STRING:
        s = mft_value_bytes(v, &n);
        py_quoted(s, n, 0, out);
        break;
    case MFT_VALUE_BYTES:
        s = mft_value_bytes(v, &n);
        py_quoted(s, n, 1, out);
        break;
    case MFT_VALUE_LIST:
        fputc('[', out);
        repr_items(f, v, a, out);
        fputc(']', out);
        break;
    case MFT_VALUE_TUPLE:
        fputc('(', out);
        repr_items(f, v, a, out);
        fputs(mft_value_len(v) == 1 ? ",)" : ")", out);
        break;
    case MFT_VALUE_SET:
        if (mft_value_is_frozen(v))
            fputs(mft_value_len(v) ? "frozenset({" : "frozenset()", out);
        else if (!mft_value_len(v)) {
            fputs("set()", out);
            break;
        } else
            fputc('{', out);
        repr_items(f, v, a, out);
        if (mft_value_len(v))
            fputc('}', out);
        if (mft_value_is_frozen(v))
            fputc(')', out);
        break;
    case MFT_VALUE_DICT:
        fputc('{', out);
        repr_items(f, v, a, out);
        fputc('}', out);
        break;
    case MFT_VALUE_TENSOR: {
        mft_tensor t;
        char shape[512];
        if (mft_tensor_at(f, mft_value_tensor(v), &t) == MFT_OK) {
            shape_string(&t, shape, sizeof shape);
            fprintf(out, "tensor(shape=%s, dtype=%s%s%s)", shape,
                    mft_dtype_name(t.dtype), t.kind ? ", kind=" : "",
                    t.kind ? t.kind : "");
        } else {
            fputs("tensor(?)", out);
        }
        break;
    }
    case MFT_VALUE_OBJECT: {
        fputs(mft_value_class(v), out);
        if (mft_value_is_global(v))
            break;
        const mft_value *st = mft_value_state(v), *args = mft_value_args(v);
        fputc('(', out);
        if (st && mft_value_get_kind(st) == MFT_VALUE_DICT) {
            for (size_t i = 0; i < mft_value_len(st); i++) {
                const mft_value *key = mft_value_key(st, i);
                if (i)
                    fputs(", ", out);
                if (mft_value_get_kind(key) == MFT_VALUE_STRING)
                    fputs(mft_value_bytes(key, NULL), out);
                else
                    repr(f, key, a, out);
                fputc('=', out);
                repr(f, mft_value_item(st, i), a, out);
            }
        } else if (st) {
            repr(f, st, a, out);
        } else if (args) {
            repr_items(f, args, a, out);
        }
        fputc(')', out);
        break;
    }
    }
    if (container)
        a->depth--;
}

void print_repr(mft_file *f, const mft_value *v, FILE *out)
{
    ancestry *a = calloc(1, sizeof *a);
    if (!a)
        return;
    repr(f, v, a, out);
    free(a);
}

/* ---- JSON ---- */

static void json_value(mft_file *f, const mft_value *v, ancestry *a, FILE *out);

static void json_key(mft_file *f, const mft_value *k, FILE *out)
{
    char buf[64];
    switch (mft_value_get_kind(k)) {
    case MFT_VALUE_STRING: {
        size_t n;
        const char *s = mft_value_bytes(k, &n);
        json_string_n(out, s, n);
        return;
    }
    case MFT_VALUE_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)mft_value_int(k));
        json_string(out, buf);
        return;
    default: {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (m) {
            print_repr(f, k, m);
            fclose(m);
            json_string(out, text);
            free(text);
        }
    }
    }
}

static void json_value(mft_file *f, const mft_value *v, ancestry *a, FILE *out)
{
    size_t n;
    const char *s;
    mft_value_kind k = mft_value_get_kind(v);
    int container = k == MFT_VALUE_LIST || k == MFT_VALUE_TUPLE ||
                    k == MFT_VALUE_DICT || k == MFT_VALUE_SET ||
                    k == MFT_VALUE_OBJECT;
    if (container && (on_stack(a, v) || a->depth >= MAX_DEPTH ||
                      ++a->nodes > MAX_NODES)) {
        fputs("null", out);
        return;
    }
    if (container)
        a->stack[a->depth++] = v;
    switch (k) {
    case MFT_VALUE_NONE: fputs("null", out); break;
    case MFT_VALUE_BOOL: fputs(mft_value_bool(v) ? "true" : "false", out); break;
    case MFT_VALUE_INT: fprintf(out, "%lld", (long long)mft_value_int(v)); break;
    case MFT_VALUE_BIGINT:
        s = mft_value_bytes(v, &n);
        bigint_text((const unsigned char *)s, n, out);
        break;
    case MFT_VALUE_FLOAT: json_double(out, mft_value_float(v)); break;
    case MFT_VALUE_STRING:
        s = mft_value_bytes(v, &n);
        json_string_n(out, s, n);
        break;
    case MFT_VALUE_BYTES:
        s = mft_value_bytes(v, &n);
        fputs("{\"bytes_hex\": \"", out);
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%02x", (unsigned char)s[i]);
        fputs("\"}", out);
        break;
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_SET:
        fputc('[', out);
        for (size_t i = 0; i < mft_value_len(v); i++) {
            if (i)
                fputs(", ", out);
            json_value(f, mft_value_item(v, i), a, out);
        }
        fputc(']', out);
        break;
    case MFT_VALUE_DICT:
        fputc('{', out);
        for (size_t i = 0; i < mft_value_len(v); i++) {
            if (i)
                fputs(", ", out);
            json_key(f, mft_value_key(v, i), out);
            fputs(": ", out);
            json_value(f, mft_value_item(v, i), a, out);
        }
        fputc('}', out);
        break;
    case MFT_VALUE_TENSOR: {
        mft_tensor t;
        char shape[512];
        mft_tensor_at(f, mft_value_tensor(v), &t);
        shape_string(&t, shape, sizeof shape);
        fprintf(out, "{\"tensor\": ");
        json_string(out, t.name);
        fprintf(out, ", \"dtype\": \"%s\", \"shape\": %s}",
                mft_dtype_name(t.dtype), shape);
        break;
    }
    case MFT_VALUE_OBJECT:
        fputs("{\"class\": ", out);
        json_string(out, mft_value_class(v));
        if (mft_value_state(v)) {
            fputs(", \"state\": ", out);
            json_value(f, mft_value_state(v), a, out);
        }
        if (mft_value_args(v)) {
            fputs(", \"args\": ", out);
            json_value(f, mft_value_args(v), a, out);
        }
        fputc('}', out);
        break;
    }
    if (container)
        a->depth--;
}

void print_json_value(mft_file *f, const mft_value *v, FILE *out)
{
    ancestry *a = calloc(1, sizeof *a);
    if (!a)
        return;
    json_value(f, v, a, out);
    free(a);
}
