/* NumPy .npy reader and writer.
 *
 * Layout (shared/reference/safetensors-gguf-npy.md §3.1; numpy's
 * numpy/lib/_format_impl.py, NEP 1):
 *   [0, 6)   magic "\x93NUMPY"
 *   6, 7     major, minor version: 1.0, 2.0 or 3.0
 *   [8, …)   header length: u16 LE (1.0) or u32 LE (2.0, 3.0)
 *   then     the header: a Python dict literal with exactly the keys
 *            'descr', 'fortran_order' and 'shape', space-padded, '\n'
 *   then     the array bytes, prod(shape) × itemsize, C or Fortran order
 *
 * The header is parsed by a small strict parser of the Python literal
 * subset numpy writes (strings, True/False, tuples of integers, dicts; a
 * Python 2 `3L` long in 1.0/2.0 headers, as numpy accepts); anything else
 * (structured dtypes, other keys, expressions) is refused with the byte
 * offset of the token. Bytes after the array are ignored, as numpy does.
 * A C-order little-endian array is borrowed from the mapping (zero-copy);
 * a Fortran-order array is exposed with column-major strides and a
 * big-endian one with byteswap, both with data = NULL, so reads and
 * digests gather row-major little-endian bytes.
 *
 * The writer reproduces np.save's output byte for byte: version 1.0 unless
 * the header needs 2.0, keys sorted, repr() of the values, 21 − digits
 * spaces of growth room, padded with spaces and '\n' so the data starts at
 * a multiple of 64. */
#include "npy.h"
#include "../core/atomic.h"
#include "../core/checked.h"
#include "../core/cursor.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_ALIGN 64u
#define GROWTH_AXIS_MAX_DIGITS 21

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_BIG 1
#else
#define HOST_BIG 0
#endif

/* ---------------------------------------------------------------- reader */

mft_status mftc_npy_preamble(mft_file *f, const char *member,
                             const uint8_t *p, size_t avail, uint64_t total,
                             mftc_npy_header *h)
{
    memset(h, 0, sizeof *h);
    mftc_cursor c = mftc_cursor_make(p, avail, 0);
    const uint8_t *magic;
    if (!mftc_take(&c, 6, &magic) || memcmp(magic, NPY_MAGIC, 6) != 0) {
        char hex[64];
        mftc_hex_prefix(p, avail, hex, sizeof hex);
        return mftc_fail(f, MFT_ERR_CORRUPT, member, 0,
                         "not a .npy array: no \\x93NUMPY magic (first "
                         "bytes: %s)",
                         avail ? hex : "none");
    }
    uint8_t major, minor;
    if (!mftc_u8(&c, &major) || !mftc_u8(&c, &minor))
        return mftc_fail(f, MFT_ERR_CORRUPT, member, 6,
                         "truncated: the .npy stream ends inside its "
                         "version");
    if (major < 1 || major > 3 || minor != 0)
        return mftc_fail(f, MFT_ERR_UNSUPPORTED, member, 6,
                         "unsupported .npy format version %u.%u (numpy "
                         "writes 1.0, 2.0 and 3.0)",
                         (unsigned)major, (unsigned)minor);
    h->major = major;
    h->minor = minor;
    if (major == 1) {
        uint16_t n;
        if (!mftc_le16(&c, &n))
            return mftc_fail(f, MFT_ERR_CORRUPT, member, 8,
                             "truncated: the .npy stream ends inside its "
                             "header length");
        h->header_len = n;
        h->data_offset = 10 + (uint64_t)n;
    } else {
        uint32_t n;
        if (!mftc_le32(&c, &n))
            return mftc_fail(f, MFT_ERR_CORRUPT, member, 8,
                             "truncated: the .npy stream ends inside its "
                             "header length");
        h->header_len = n;
        h->data_offset = 12 + (uint64_t)n;
    }
    uint64_t cap = mftc_limit(f, MFT_LIMIT_HEADER_BYTES);
    if (h->header_len > cap)
        return mftc_fail(f, MFT_ERR_LIMIT, member, 8,
                         "header length %llu exceeds the limit of %llu bytes",
                         (unsigned long long)h->header_len,
                         (unsigned long long)cap);
    if (h->data_offset > total)
        return mftc_fail(f, MFT_ERR_CORRUPT, member, 8,
                         "header length %llu runs past end of %s (%llu "
                         "bytes)",
                         (unsigned long long)h->header_len,
                         member ? "member" : "file",
                         (unsigned long long)total);
    return MFT_OK;
}

/* A cursor over the header text with what messages need. */
typedef struct pyp {
    mft_file *f;
    const char *member;
    const uint8_t *p; /* start of the .npy stream: offsets are relative */
    size_t pos, end;
    int allow_long;   /* 1.0/2.0 headers may hold Python 2 longs (3L) */
} pyp;

static mft_status perr(pyp *s, mft_status code, size_t at, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

static mft_status perr(pyp *s, mft_status code, size_t at, const char *fmt,
                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    mftc_vfail(s->f, code, s->member, (int64_t)at, fmt, ap);
    va_end(ap);
    return code;
}

static void ws(pyp *s)
{
    while (s->pos < s->end) {
        uint8_t c = s->p[s->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f')
            break;
        s->pos++;
    }
}

static int peek(const pyp *s)
{
    return s->pos < s->end ? s->p[s->pos] : -1;
}

/* What is at the cursor, for messages: a printable excerpt. */
static const char *excerpt(const pyp *s, char *buf, size_t cap)
{
    size_t n = 0;
    if (s->pos >= s->end)
        return "the end of the header";
    buf[n++] = '\'';
    for (size_t i = s->pos; i < s->end && n + 5 < cap && i < s->pos + 16;
         i++) {
        uint8_t c = s->p[i];
        buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    buf[n++] = '\'';
    buf[n] = 0;
    return buf;
}

static int is_ident(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

#define MAX_STR 256

/* A quoted string (' or "), escapes \\ \' \" only. */
static mft_status parse_string(pyp *s, char *out, size_t *len)
{
    size_t at = s->pos;
    int q = peek(s);
    if (q != '\'' && q != '"')
        return MFT_ERR_NOT_FOUND; /* caller reports */
    s->pos++;
    size_t n = 0;
    for (;;) {
        int c = peek(s);
        if (c < 0 || c == '\n' || c == '\r')
            return perr(s, MFT_ERR_CORRUPT, at,
                        "unterminated string in the header");
        s->pos++;
        if (c == q)
            break;
        if (c == '\\') {
            int e = peek(s);
            if (e != '\\' && e != '\'' && e != '"')
                return perr(s, MFT_ERR_CORRUPT, s->pos - 1,
                            "unsupported escape sequence in a header "
                            "string");
            s->pos++;
            c = e;
        }
        if (n + 1 >= MAX_STR)
            return perr(s, MFT_ERR_CORRUPT, at,
                        "header string longer than %d bytes", MAX_STR - 1);
        out[n++] = (char)c;
    }
    out[n] = 0;
    *len = n;
    return MFT_OK;
}

/* A non-negative decimal integer as Python writes one (no sign, no
 * leading zeros unless the value is 0; `L` suffix in 1.0/2.0 headers). */
static mft_status parse_dim(pyp *s, uint64_t *v)
{
    size_t at = s->pos;
    int c = peek(s);
    if (c == '-')
        return perr(s, MFT_ERR_CORRUPT, at, "negative dimension in shape");
    if (c < '0' || c > '9') {
        char buf[32];
        return perr(s, MFT_ERR_CORRUPT, at,
                    "shape must be a tuple of non-negative integers, found "
                    "%s",
                    excerpt(s, buf, sizeof buf));
    }
    uint64_t x = 0;
    int leading_zero = c == '0', nonzero_after = 0;
    size_t digits = 0;
    while ((c = peek(s)) >= '0' && c <= '9') {
        if (digits && leading_zero && c != '0')
            nonzero_after = 1;
        if (!mftc_mul_u64(x, 10, &x) ||
            !mftc_add_u64(x, (uint64_t)(c - '0'), &x))
            return perr(s, MFT_ERR_CORRUPT, at,
                        "shape dimension does not fit in 64 bits "
                        "(overflows)");
        digits++;
        s->pos++;
    }
    if (leading_zero && digits > 1 && nonzero_after)
        return perr(s, MFT_ERR_CORRUPT, at,
                    "integer with leading zeros in shape (not Python)");
    if (s->allow_long && (peek(s) == 'L' || peek(s) == 'l'))
        s->pos++;
    if (is_ident(peek(s)) || peek(s) == '.')
        return perr(s, MFT_ERR_CORRUPT, at,
                    "shape must be a tuple of non-negative integers");
    *v = x;
    return MFT_OK;
}

static mft_status parse_shape(pyp *s, mftc_npy_header *h)
{
    size_t at = s->pos;
    char buf[32];
    if (peek(s) != '(')
        return perr(s, MFT_ERR_CORRUPT, at,
                    "shape must be a tuple of non-negative integers, found "
                    "%s",
                    excerpt(s, buf, sizeof buf));
    s->pos++;
    uint64_t dims[MFT_MAX_DIMS];
    uint64_t limit = mftc_limit(s->f, MFT_LIMIT_DIMS);
    if (limit > MFT_MAX_DIMS)
        limit = MFT_MAX_DIMS;
    int n = 0, comma = 0;
    ws(s);
    while (peek(s) != ')') {
        if ((uint64_t)n >= limit)
            return perr(s, MFT_ERR_LIMIT, s->pos,
                        "shape has more than %llu dimensions (the limit)",
                        (unsigned long long)limit);
        mft_status st = parse_dim(s, &dims[n]);
        if (st != MFT_OK)
            return st;
        n++;
        ws(s);
        if (peek(s) == ',') {
            s->pos++;
            comma = 1;
            ws(s);
        } else if (peek(s) != ')') {
            return perr(s, MFT_ERR_CORRUPT, s->pos,
                        "expected ',' or ')' in shape, found %s",
                        excerpt(s, buf, sizeof buf));
        }
    }
    s->pos++;
    if (n == 1 && !comma)
        return perr(s, MFT_ERR_CORRUPT, at,
                    "shape must be a tuple, found a parenthesised integer "
                    "(write (n,) for one dimension)");
    h->ndim = n;
    h->shape = mftc_arena_alloc(&s->f->arena,
                                (size_t)(n ? n : 1) * sizeof *h->shape);
    if (!h->shape)
        return mftc_fail(s->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    memcpy(h->shape, dims, (size_t)n * sizeof *dims);
    return MFT_OK;
}

static mft_status parse_bool(pyp *s, int *out)
{
    size_t at = s->pos;
    size_t left = s->end - s->pos;
    if (left >= 4 && memcmp(s->p + s->pos, "True", 4) == 0 &&
        !is_ident(left > 4 ? s->p[s->pos + 4] : ' ')) {
        s->pos += 4;
        *out = 1;
        return MFT_OK;
    }
    if (left >= 5 && memcmp(s->p + s->pos, "False", 5) == 0 &&
        !is_ident(left > 5 ? s->p[s->pos + 5] : ' ')) {
        s->pos += 5;
        *out = 0;
        return MFT_OK;
    }
    char buf[32];
    return perr(s, MFT_ERR_CORRUPT, at,
                "fortran_order must be True or False, found %s",
                excerpt(s, buf, sizeof buf));
}

/* descr string → dtype and byte order. */
static mft_status parse_descr(pyp *s, size_t at, const char *d,
                              mftc_npy_header *h)
{
    char order = '|';
    const char *k = d;
    if (*k == '<' || *k == '>' || *k == '|' || *k == '=')
        order = *k++;
    char kind = *k;
    const char *digits = kind ? k + 1 : k;
    unsigned size = 0;
    int ndig = 0;
    for (const char *q = digits; *q >= '0' && *q <= '9' && ndig < 4; q++) {
        size = size * 10 + (unsigned)(*q - '0');
        ndig++;
    }
    int clean = digits[ndig] == 0;
    switch (kind) {
    case 'O':
        return perr(s, MFT_ERR_UNSUPPORTED, at,
                    "descr '%s': object arrays need pickle; not loaded", d);
    case 'V':
        return perr(s, MFT_ERR_UNSUPPORTED, at,
                    "descr '%s': void (raw bytes) dtype is not supported "
                    "(bfloat16/float8 arrays of ml_dtypes are saved so; "
                    "their dtype is not in the file)",
                    d);
    case 'S': case 'a': case 'U':
        return perr(s, MFT_ERR_UNSUPPORTED, at,
                    "descr '%s': string arrays are not supported", d);
    case 'M': case 'm':
        return perr(s, MFT_ERR_UNSUPPORTED, at,
                    "descr '%s': datetime/timedelta arrays are not "
                    "supported",
                    d);
    default:
        break;
    }
    mft_dtype dt = MFT_DTYPE_INVALID;
    if (kind == '?' && !digits[0])
        dt = MFT_BOOL;
    else if (clean && ndig)
        switch (kind) {
        case 'b': dt = size == 1 ? MFT_BOOL : dt; break;
        case 'i':
            dt = size == 1 ? MFT_I8 : size == 2 ? MFT_I16 : size == 4 ? MFT_I32
               : size == 8 ? MFT_I64 : dt;
            break;
        case 'u':
            dt = size == 1 ? MFT_U8 : size == 2 ? MFT_U16 : size == 4 ? MFT_U32
               : size == 8 ? MFT_U64 : dt;
            break;
        case 'f':
            dt = size == 2 ? MFT_F16 : size == 4 ? MFT_F32 : size == 8 ? MFT_F64
               : dt;
            if (dt == MFT_DTYPE_INVALID && (size == 12 || size == 16))
                return perr(s, MFT_ERR_UNSUPPORTED, at,
                            "descr '%s': long double arrays are not "
                            "supported",
                            d);
            break;
        case 'c':
            dt = size == 8 ? MFT_C64 : size == 16 ? MFT_C128 : dt;
            if (dt == MFT_DTYPE_INVALID && (size == 24 || size == 32))
                return perr(s, MFT_ERR_UNSUPPORTED, at,
                            "descr '%s': complex long double arrays are not "
                            "supported",
                            d);
            break;
        default:
            break;
        }
    if (dt == MFT_DTYPE_INVALID)
        return perr(s, MFT_ERR_CORRUPT, at,
                    "bad descr '%s': not a numpy dtype mft reads (b1 i1 u1 "
                    "i2 u2 i4 u4 i8 u8 f2 f4 f8 c8 c16 with <, >, | or =)",
                    d);
    h->dtype = dt;
    int big = order == '>' || ((order == '=' || order == '|') && HOST_BIG);
    h->big_endian = big && mft_dtype_bits(dt) > 8;
    return MFT_OK;
}

mft_status mftc_npy_parse_header(mft_file *f, const char *member,
                                 const uint8_t *p, mftc_npy_header *h)
{
    pyp s = {f, member, p, h->major == 1 ? 10 : 12, (size_t)h->data_offset,
             h->major <= 2};
    char buf[32];
    ws(&s);
    if (peek(&s) != '{')
        return perr(&s, MFT_ERR_CORRUPT, s.pos,
                    "header is not a dict literal (found %s)",
                    excerpt(&s, buf, sizeof buf));
    s.pos++;
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    size_t shape_at = s.pos;
    for (;;) {
        ws(&s);
        if (peek(&s) == '}') {
            s.pos++;
            break;
        }
        size_t key_at = s.pos;
        char key[MAX_STR];
        size_t klen;
        mft_status st = parse_string(&s, key, &klen);
        if (st == MFT_ERR_NOT_FOUND)
            return perr(&s, MFT_ERR_CORRUPT, key_at,
                        "expected a quoted key or '}' in the header dict, "
                        "found %s",
                        excerpt(&s, buf, sizeof buf));
        if (st != MFT_OK)
            return st;
        ws(&s);
        if (peek(&s) != ':')
            return perr(&s, MFT_ERR_CORRUPT, s.pos,
                        "expected ':' after key '%s' in the header dict", key);
        s.pos++;
        ws(&s);
        size_t val_at = s.pos;
        int *seen = NULL;
        if (strcmp(key, "descr") == 0) {
            seen = &have_descr;
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &have_fortran;
        } else if (strcmp(key, "shape") == 0) {
            seen = &have_shape;
        } else {
            return perr(&s, MFT_ERR_CORRUPT, key_at,
                        "unexpected key '%s' in the header (numpy writes "
                        "exactly 'descr', 'fortran_order' and 'shape')",
                        key);
        }
        if (*seen)
            return perr(&s, MFT_ERR_CORRUPT, key_at,
                        "duplicate key '%s' in the header", key);
        *seen = 1;
        if (seen == &have_descr) {
            int c = peek(&s);
            if (c == '[')
                return perr(&s, MFT_ERR_UNSUPPORTED, val_at,
                            "structured dtype (a list of fields in 'descr') "
                            "is not supported");
            if (c == '(')
                return perr(&s, MFT_ERR_UNSUPPORTED, val_at,
                            "subarray dtype (a tuple in 'descr') is not "
                            "supported");
            char d[MAX_STR];
            size_t dlen;
            st = parse_string(&s, d, &dlen);
            if (st == MFT_ERR_NOT_FOUND)
                return perr(&s, MFT_ERR_CORRUPT, val_at,
                            "bad descr: must be a dtype string, found %s",
                            excerpt(&s, buf, sizeof buf));
            if (st == MFT_OK)
                st = parse_descr(&s, val_at, d, h);
        } else if (seen == &have_fortran) {
            st = parse_bool(&s, &h->fortran);
        } else {
            shape_at = val_at;
            st = parse_shape(&s, h);
        }
        if (st != MFT_OK)
            return st;
        ws(&s);
        if (peek(&s) == ',') {
            s.pos++;
            continue;
        }
        if (peek(&s) == '}') {
            s.pos++;
            break;
        }
        return perr(&s, MFT_ERR_CORRUPT, s.pos,
                    "expected ',' or '}' in the header dict, found %s",
                    excerpt(&s, buf, sizeof buf));
    }
    ws(&s);
    if (s.pos != s.end)
        return perr(&s, MFT_ERR_CORRUPT, s.pos,
                    "unexpected %s after the header dict",
                    excerpt(&s, buf, sizeof buf));
    if (!have_descr || !have_fortran || !have_shape)
        return mftc_fail(f, MFT_ERR_CORRUPT, member, h->major == 1 ? 10 : 12,
                         "header has no '%s' key",
                         !have_descr ? "descr"
                         : !have_fortran ? "fortran_order" : "shape");
    if (!mftc_shape_numel(h->shape, (size_t)h->ndim, &h->numel))
        return mftc_fail(f, MFT_ERR_CORRUPT, member, (int64_t)shape_at,
                         "shape overflows a 64-bit element count");
    int whole;
    if (!mftc_elem_bytes(h->numel, mft_dtype_bits(h->dtype), &h->nbytes,
                         &whole))
        return mftc_fail(f, MFT_ERR_CORRUPT, member, (int64_t)shape_at,
                         "shape × itemsize overflows a 64-bit byte count");
    return MFT_OK;
}

mft_status mftc_npy_tensor(mft_file *f, const mftc_npy_header *h,
                           const uint8_t *storage, mftc_tensor *t)
{
    t->dtype = h->dtype;
    t->ndim = h->ndim;
    t->shape = h->shape;
    t->numel = h->numel;
    t->nbytes = h->nbytes;
    int big_dims = 0;
    for (int i = 0; i < h->ndim; i++)
        big_dims += h->shape[i] > 1;
    int column_major = h->fortran && big_dims > 1;
    if (column_major) {
        t->strides = mftc_arena_alloc(&f->arena,
                                      (size_t)h->ndim * sizeof *t->strides);
        if (t->strides) {
            uint64_t acc = 1;
            for (int i = 0; i < h->ndim; i++) {
                t->strides[i] = (int64_t)acc;
                /* numel fits; saturate past a zero extent (never walked) */
                if (!mftc_mul_u64(acc, h->shape[i], &acc) ||
                    acc > (uint64_t)INT64_MAX)
                    acc = (uint64_t)INT64_MAX;
            }
        }
    } else {
        t->strides = mftc_contiguous_strides(&f->arena, h->shape, h->ndim);
    }
    if (!t->strides)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    /* every element lies in [storage, storage + nbytes): the strides are a
     * permutation of the dense ones over the same extents */
    t->storage = storage;
    t->storage_nbytes = h->nbytes;
    t->storage_offset = 0;
    t->byteswap = h->big_endian;
    t->data = column_major || h->big_endian ? NULL : storage;
    return MFT_OK;
}

/* The tensor name of a lone .npy: the file name without its extension. */
static const char *npy_name(mft_file *f)
{
    const char *path = f->path;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return mftc_arena_strndup(&f->arena, base, n);
}

mft_status mftc_read_npy(mft_file *f)
{
    f->format = MFT_FORMAT_NPY;
    const uint8_t *p = f->src.data;
    uint64_t size = f->src.size;
    if (size == 0)
        return mftc_fail(f, MFT_ERR_CORRUPT, NULL, -1, "file is empty");
    mftc_npy_header h;
    mft_status st = mftc_npy_preamble(
        f, NULL, p, size < MFTC_NPY_PREAMBLE ? (size_t)size : MFTC_NPY_PREAMBLE,
        size, &h);
    if (st == MFT_OK)
        st = mftc_npy_parse_header(f, NULL, p, &h);
    if (st != MFT_OK)
        return st;
    if (h.nbytes > size - h.data_offset)
        return mftc_fail(f, MFT_ERR_CORRUPT, NULL, (int64_t)h.data_offset,
                         "array data is shorter than the shape needs: %llu "
                         "bytes left, %llu needed (truncated?)",
                         (unsigned long long)(size - h.data_offset),
                         (unsigned long long)h.nbytes);
    mftc_tensor t;
    memset(&t, 0, sizeof t);
    t.name = npy_name(f);
    if (!t.name)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    if ((st = mftc_npy_tensor(f, &h, p + h.data_offset, &t)) != MFT_OK)
        return st;
    t.offset = h.data_offset;
    t.src = &f->src;
    size_t idx;
    if ((st = mftc_add_tensor(f, &t, &idx)) != MFT_OK)
        return st;
    mft_value *k = mftc_value_string(&f->arena, t.name, strlen(t.name));
    mft_value *v = mftc_value_new(&f->arena, MFT_VALUE_TENSOR);
    if (!k || !v || !mftc_value_append(&f->arena, f->root, k, v))
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    v->u.tensor = idx;
    if (mftc_index_names(f, NULL) != MFT_OK)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    return MFT_OK;
}

/* ---------------------------------------------------------------- writer */

const char *mftc_npy_descr(mft_dtype dtype)
{
    switch (dtype) {
    case MFT_BOOL: return "|b1";
    case MFT_U8: return "|u1";
    case MFT_I8: return "|i1";
    case MFT_U16: return "<u2";
    case MFT_I16: return "<i2";
    case MFT_U32: return "<u4";
    case MFT_I32: return "<i4";
    case MFT_U64: return "<u8";
    case MFT_I64: return "<i8";
    case MFT_F16: return "<f2";
    case MFT_F32: return "<f4";
    case MFT_F64: return "<f8";
    case MFT_C64: return "<c8";
    case MFT_C128: return "<c16";
    default: return NULL;
    }
}

mft_status mftc_npy_check_dtype(mft_writer *w, const mftc_wtensor *t,
                                const char *target)
{
    if (mftc_npy_descr(t->dtype))
        return MFT_OK;
    return mftc_writer_fail(w, MFT_ERR_DTYPE,
                            "%s: tensor \"%s\": %s cannot be written to %s "
                            "(plain numpy has no such dtype and could not "
                            "load it); cast it first (mft convert "
                            "--dtype)",
                            w->path, t->name, mft_dtype_name(t->dtype),
                            target);
}

size_t mftc_npy_header_bytes(mft_dtype dtype, int ndim, const uint64_t *shape,
                             uint8_t *out)
{
    char text[MFTC_NPY_HEADER_MAX];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "{'descr': '%s', 'fortran_order': False, "
                          "'shape': (",
                          mftc_npy_descr(dtype));
    for (int i = 0; i < ndim; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, i ? ", %llu" : "%llu",
                              (unsigned long long)shape[i]);
    n += (size_t)snprintf(text + n, sizeof text - n, "%s), }",
                          ndim == 1 ? "," : "");
    if (ndim > 0) {
        char first[24];
        int digits = snprintf(first, sizeof first, "%llu",
                              (unsigned long long)shape[0]);
        for (int i = digits; i < GROWTH_AXIS_MAX_DIGITS; i++)
            text[n++] = ' ';
    }
    /* hlen counts the final '\n'; numpy pads by ALIGN − (prefix+hlen) %
     * ALIGN, a full 64 when already aligned */
    size_t hlen = n + 1;
    size_t prefix = 10;
    size_t pad = NPY_ALIGN - (prefix + hlen) % NPY_ALIGN;
    if (hlen + pad > 0xFFFF) {
        prefix = 12;
        pad = NPY_ALIGN - (prefix + hlen) % NPY_ALIGN;
    }
    size_t len = hlen + pad, o = 0;
    memcpy(out, NPY_MAGIC, 6);
    o = 6;
    out[o++] = prefix == 10 ? 1 : 2;
    out[o++] = 0;
    for (size_t i = 0; i < prefix - 8; i++)
        out[o++] = (uint8_t)(len >> (8 * i));
    memcpy(out + o, text, n);
    o += n;
    memset(out + o, ' ', pad);
    o += pad;
    out[o++] = '\n';
    return o;
}

mft_status mftc_write_npy(mft_writer *w)
{
    if (w->ntensors != 1)
        return mftc_writer_fail(w, MFT_ERR_MISUSE,
                                "%s: an .npy file holds exactly one array; "
                                "%zu tensors given (write .npz for several)",
                                w->path, w->ntensors);
    if (w->nmeta || w->nvalues)
        return mftc_writer_fail(w, MFT_ERR_UNSUPPORTED,
                                "%s: .npy files have no metadata; %zu "
                                "metadata entries would be lost",
                                w->path, w->nmeta + w->nvalues);
    const mftc_wtensor *t = &w->tensors[0];
    mft_status st = mftc_npy_check_dtype(w, t, "npy");
    if (st != MFT_OK)
        return st;
    uint8_t hdr[MFTC_NPY_HEADER_MAX];
    size_t hlen = mftc_npy_header_bytes(t->dtype, t->ndim, t->shape, hdr);
    mftc_outfile out;
    st = mftc_outfile_open(&out, w->path, w->opts.overwrite, w->errmsg);
    if (st != MFT_OK) {
        w->failed = 1;
        return st;
    }
    st = mftc_outfile_write(&out, hdr, hlen, w->errmsg);
    if (st == MFT_OK)
        st = mftc_writer_emit(w, t, &out);
    if (st == MFT_OK)
        st = mftc_outfile_finish(&out, w->opts.overwrite, w->errmsg);
    if (st == MFT_OK)
        st = mftc_outfile_publish(&out, w->errmsg);
    if (st == MFT_OK)
        st = mftc_writer_add_output(w, w->path);
    mftc_outfile_abandon(&out);
    return st;
}
