/* mft get FILE PATH [--json|--raw]: one value. A tensor prints its values the
 * way torch prints them (4 decimals or scientific, aligned, summarised with
 * "..." past 1000 elements); a metadata value prints as it is. */
#include "cli.h"
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: mft get FILE PATH [--json | --raw]\n\n"
    "Print one value of FILE: a tensor (by its path, as `mft ls` lists it)\n"
    "or a metadata key.\n\n"
    "  --json   the value as JSON; a tensor as {\"dtype\", \"shape\", \"data\"}\n"
    "           (NaN and infinities as the strings \"NaN\", \"Infinity\")\n"
    "  --raw    a tensor's bytes, row-major little-endian, to stdout\n"
    "  -h, --help\n";

#define THRESHOLD 1000
#define EDGE 3
#define LINEWIDTH 80

typedef struct view {
    mft_tensor t;
    const unsigned char *data;
    int kind; /* 0 float, 1 signed int, 2 unsigned int, 3 bool, 4 complex */
    int summarize; /* more than THRESHOLD elements: edges and "..." */
} view;

static int kind_of(mft_dtype d)
{
    switch (d) {
    case MFT_BOOL: return 3;
    case MFT_I8: case MFT_I16: case MFT_I32: case MFT_I64:
    case MFT_QI8: case MFT_QI32: return 1;
    case MFT_U8: case MFT_U16: case MFT_U32: case MFT_U64: case MFT_QU8:
        return 2;
    case MFT_C32: case MFT_C64: case MFT_C128: return 4;
    default: return 0;
    }
}

static int64_t get_int(const view *v, uint64_t i)
{
    const unsigned char *p = v->data + i * (mft_dtype_bits(v->t.dtype) / 8);
    switch (v->t.dtype) {
    case MFT_I8: case MFT_QI8: return (int8_t)p[0];
    case MFT_I16: { int16_t x; memcpy(&x, p, 2); return x; }
    case MFT_I32: case MFT_QI32: { int32_t x; memcpy(&x, p, 4); return x; }
    case MFT_I64: { int64_t x; memcpy(&x, p, 8); return x; }
    default: return 0;
    }
}

static uint64_t get_uint(const view *v, uint64_t i)
{
    const unsigned char *p = v->data + i * (mft_dtype_bits(v->t.dtype) / 8);
    switch (v->t.dtype) {
    case MFT_U8: case MFT_QU8: case MFT_BOOL: return p[0];
    case MFT_U16: { uint16_t x; memcpy(&x, p, 2); return x; }
    case MFT_U32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case MFT_U64: { uint64_t x; memcpy(&x, p, 8); return x; }
    default: return 0;
    }
}

/* Element i as double(s): complex gives re, im. */
static void get_f64(const view *v, uint64_t i, double out[2])
{
    unsigned bits = mft_dtype_bits(v->t.dtype);
    out[1] = 0;
    if (bits >= 8) {
        mft_dtype_to_f64(v->t.dtype, v->data + i * (bits / 8), out, 1);
    } else if (bits == 4) {
        double pair[2] = {0, 0};
        mft_dtype_to_f64(v->t.dtype, v->data + i / 2, pair, 2);
        out[0] = pair[i % 2];
    } else {
        out[0] = NAN;
    }
}

/* ---- torch's print(tensor), as torch/_tensor_str.py (1.13 and 2.x) does it:
 * a _Formatter per tensor (two for complex: real and imaginary parts) looks
 * at the elements that will be shown; floats use 4 decimals, or scientific
 * notation when the nonzero finite magnitudes span more than 1000× or
 * reach 1e8 (or, unless all are integers, go below 1e-4), or "1." when all
 * are integers; the width is the widest nonzero finite value (ints: every
 * value); 80-column lines; dtype=torch.X unless float32, complex64, int64
 * or bool; suffixes wrap as _add_suffixes wraps them. */

/* Visit the elements that will be shown (all, or the summarised edges,
 * as torch's get_summarized_data picks them). */
typedef void (*visit_fn)(view *v, uint64_t i, void *user);

static void walk(view *v, int dim, uint64_t base, visit_fn fn, void *user)
{
    if (dim == v->t.ndim) {
        fn(v, base, user);
        return;
    }
    uint64_t n = v->t.shape[dim];
    uint64_t stride = (uint64_t)v->t.strides[dim];
    for (uint64_t k = 0; k < n; k++) {
        if (v->summarize && n > 2 * EDGE && k == EDGE)
            k = n - EDGE;
        walk(v, dim + 1, base + k * stride, fn, user);
    }
}

typedef struct fmtr {
    int floating;      /* else: decimal ints / True False */
    int int_mode, sci; /* floating only */
    int width;
} fmtr;

/* Element i as double(s) (re, im), torch's values: F16/BF16/F8 exactly,
 * quantized ones dequantized in float32 as torch's dequantize does. */
static void elem_f64(const view *v, uint64_t i, double out[2])
{
    unsigned bits = mft_dtype_bits(v->t.dtype);
    out[1] = 0;
    if (v->t.quant_count) {
        int64_t q = get_int(v, i);
        if (v->t.dtype == MFT_QU8)
            q = (int64_t)get_uint(v, i);
        size_t ch = 0;
        if (v->t.quant_count > 1 && v->t.quant_axis >= 0 &&
            v->t.quant_axis < v->t.ndim) {
            uint64_t inner = 1;
            for (int d = v->t.quant_axis + 1; d < v->t.ndim; d++)
                inner *= v->t.shape[d];
            ch = (size_t)(i / (inner ? inner : 1) % v->t.shape[v->t.quant_axis]);
            if (ch >= v->t.quant_count)
                ch = 0;
        }
        out[0] = (double)((float)v->t.quant_scale[ch] *
                          (float)(q - v->t.quant_zero_point[ch]));
    } else if (v->kind == 4) {
        mft_dtype_to_f64(v->t.dtype, v->data + i * (bits / 8), out, 1);
    } else if (v->kind == 1) {
        out[0] = (double)get_int(v, i);
    } else if (v->kind == 2 || v->kind == 3) {
        out[0] = (double)get_uint(v, i);
    } else {
        get_f64(v, i, out);
    }
}

/* An int element as text (exact for 64-bit values). */
static void int_text(const view *v, uint64_t i, char *buf, size_t cap)
{
    if (v->kind == 1)
        snprintf(buf, cap, "%lld", (long long)get_int(v, i));
    else if (v->kind == 3)
        snprintf(buf, cap, "%s", get_uint(v, i) ? "True" : "False");
    else
        snprintf(buf, cap, "%llu", (unsigned long long)get_uint(v, i));
}

/* Python's '{:.4e}' / '{:.0f}' / '{:.4f}' of x, unpadded. */
static void float_text(const fmtr *f, double x, char *buf, size_t cap)
{
    if (isnan(x))
        snprintf(buf, cap, "nan");
    else if (isinf(x))
        snprintf(buf, cap, x > 0 ? "inf" : "-inf");
    else if (f->sci)
        snprintf(buf, cap, "%.4e", x);
    else if (f->int_mode)
        snprintf(buf, cap, "%.0f.", x);
    else
        snprintf(buf, cap, "%.4f", x);
}

/* formatter.format(value): right-aligned to the formatter's width. */
static void fmtr_format(const fmtr *f, const view *v, uint64_t i, double x,
                        char *buf, size_t cap)
{
    char raw[128];
    if (f->floating)
        float_text(f, x, raw, sizeof raw);
    else
        int_text(v, i, raw, sizeof raw);
    int pad = f->width - (int)strlen(raw);
    snprintf(buf, cap, "%*s%s", pad > 0 ? pad : 0, "", raw);
}

struct scan {
    fmtr *f;
    int part;                /* complex: 0 real, 1 imaginary */
    double min, max;         /* of |nonzero finite| */
    int any;
    double *vals;            /* nonzero finite values (for widths) */
    size_t n, cap;
};

static void scan_elem(view *v, uint64_t i, void *user)
{
    struct scan *s = user;
    if (!s->f->floating) {
        char buf[64];
        int_text(v, i, buf, sizeof buf);
        if ((int)strlen(buf) > s->f->width)
            s->f->width = (int)strlen(buf);
        return;
    }
    double d[2];
    elem_f64(v, i, d);
    double x = d[s->part];
    if (!isfinite(x) || x == 0)
        return;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        double *nv = realloc(s->vals, nc * sizeof *nv);
        if (!nv)
            return;
        s->vals = nv;
        s->cap = nc;
    }
    s->vals[s->n++] = x;
    double a = fabs(x);
    if (!s->any || a > s->max)
        s->max = a;
    if (!s->any || a < s->min)
        s->min = a;
    s->any = 1;
    /* torch compares in the tensor's dtype: float32 for F16/BF16/F32 */
    if (x != ceil(x))
        s->f->int_mode = 0;
}

static void fmtr_init(fmtr *f, view *v, int part)
{
    memset(f, 0, sizeof *f);
    f->floating = v->kind == 0 || v->kind == 4 || v->t.quant_count;
    f->int_mode = 1;
    f->width = 1;
    struct scan s;
    memset(&s, 0, sizeof s);
    s.f = f;
    s.part = part;
    walk(v, 0, 0, scan_elem, &s);
    if (!f->floating || !s.any) {
        free(s.vals);
        return;
    }
    if (f->int_mode)
        f->sci = s.max / s.min > 1000.0 || s.max > 1e8;
    else
        f->sci = s.max / s.min > 1000.0 || s.max > 1e8 || s.min < 1e-4;
    char buf[128];
    for (size_t k = 0; k < s.n; k++) {
        float_text(f, s.vals[k], buf, sizeof buf);
        if ((int)strlen(buf) > f->width)
            f->width = (int)strlen(buf);
    }
    free(s.vals);
}

/* One element as torch's _val_formatter writes it. */
static void elem_text(view *v, const fmtr *f1, const fmtr *f2, uint64_t i,
                      char *buf, size_t cap)
{
    double d[2];
    if (f1->floating)
        elem_f64(v, i, d);
    else
        d[0] = d[1] = 0;
    if (!f2) {
        fmtr_format(f1, v, i, d[0], buf, cap);
        return;
    }
    char re[160], im[160];
    fmtr_format(f1, v, i, d[0], re, sizeof re);
    fmtr_format(f2, v, i, d[1], im, sizeof im);
    const char *p = im;
    while (*p == ' ')
        p++;
    snprintf(buf, cap, "%s%s%sj", re, *p == '+' || *p == '-' ? "" : "+", p);
}

static void vector_str(view *v, const fmtr *f1, const fmtr *f2, uint64_t base,
                       int indent, FILE *out)
{
    uint64_t n = v->t.shape[v->t.ndim - 1];
    uint64_t stride = (uint64_t)v->t.strides[v->t.ndim - 1];
    int summarize = v->summarize && n > 2 * EDGE;
    int elem_len = f1->width + 2 + (f2 ? f2->width + 1 : 0);
    int per_line = (LINEWIDTH - indent) / elem_len;
    if (per_line < 1)
        per_line = 1;
    char buf[400];
    fputc('[', out);
    int on_line = 0;
    for (uint64_t k = 0; k < n; k++) {
        if (on_line == per_line) {
            fprintf(out, ",\n%*s", indent + 1, "");
            on_line = 0;
        } else if (on_line) {
            fputs(", ", out);
        }
        if (summarize && k == EDGE) {
            fputs(" ...", out);
            k = n - EDGE - 1;
        } else {
            elem_text(v, f1, f2, base + k * stride, buf, sizeof buf);
            fputs(buf, out);
        }
        on_line++;
    }
    fputc(']', out);
}

static void tensor_str(view *v, const fmtr *f1, const fmtr *f2, int dim,
                       uint64_t base, int indent, FILE *out)
{
    if (dim == v->t.ndim - 1) {
        vector_str(v, f1, f2, base, indent, out);
        return;
    }
    uint64_t n = v->t.shape[dim];
    uint64_t stride = (uint64_t)v->t.strides[dim];
    int summarize = v->summarize && n > 2 * EDGE;
    int rest = v->t.ndim - dim; /* torch's dim at this level */
    fputc('[', out);
    for (uint64_t k = 0; k < n; k++) {
        if (k) {
            fputc(',', out);
            for (int d = 0; d < rest - 1; d++)
                fputc('\n', out);
            fprintf(out, "%*s", indent + 1, "");
        }
        if (summarize && k == EDGE) {
            fputs("...,", out);
            for (int d = 0; d < rest - 1; d++)
                fputc('\n', out);
            fprintf(out, "%*s", indent + 1, "");
            k = n - EDGE;
        }
        tensor_str(v, f1, f2, dim + 1, base + k * stride, indent + 1, out);
    }
    fputc(']', out);
}

/* torch's dtype names; mft's for dtypes torch has none of. */
static const char *torch_dtype(mft_dtype d)
{
    switch (d) {
    case MFT_BOOL: return "torch.bool";
    case MFT_U8: return "torch.uint8";
    case MFT_I8: return "torch.int8";
    case MFT_U16: return "torch.uint16";
    case MFT_I16: return "torch.int16";
    case MFT_U32: return "torch.uint32";
    case MFT_I32: return "torch.int32";
    case MFT_U64: return "torch.uint64";
    case MFT_I64: return "torch.int64";
    case MFT_F16: return "torch.float16";
    case MFT_BF16: return "torch.bfloat16";
    case MFT_F32: return "torch.float32";
    case MFT_F64: return "torch.float64";
    case MFT_C32: return "torch.complex32";
    case MFT_C64: return "torch.complex64";
    case MFT_C128: return "torch.complex128";
    case MFT_F8_E4M3: return "torch.float8_e4m3fn";
    case MFT_F8_E5M2: return "torch.float8_e5m2";
    case MFT_F8_E4M3FNUZ: return "torch.float8_e4m3fnuz";
    case MFT_F8_E5M2FNUZ: return "torch.float8_e5m2fnuz";
    case MFT_F8_E8M0: return "torch.float8_e8m0fnu";
    case MFT_QI8: return "torch.qint8";
    case MFT_QU8: return "torch.quint8";
    case MFT_QI32: return "torch.qint32";
    default: return mft_dtype_name(d);
    }
}

static int default_dtype(mft_dtype d)
{
    return d == MFT_F32 || d == MFT_C64 || d == MFT_I64 || d == MFT_BOOL;
}

/* str(tuple(shape)): "(2, 0)", "(6,)", "()". */
static void shape_tuple(const mft_tensor *t, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int d = 0; d < t->ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, d ? ", %llu" : "%llu",
                              (unsigned long long)t->shape[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, t->ndim == 1 ? ",)" : ")");
}

static char *tensor_repr(view *v);

/* A 1-d tensor over an array of the caller's (quantization parameters). */
static char *array_repr(mft_dtype dtype, const void *data, size_t count)
{
    view a;
    uint64_t shape[1] = {count};
    int64_t strides[1] = {1};
    memset(&a, 0, sizeof a);
    a.t.dtype = dtype;
    a.t.ndim = 1;
    a.t.shape = shape;
    a.t.strides = strides;
    a.t.numel = count;
    a.t.nbytes = count * 8;
    a.data = data;
    a.kind = kind_of(dtype);
    a.summarize = count > THRESHOLD;
    return tensor_repr(&a);
}

/* torch's _add_suffixes: ", s" while the line stays within 80 columns,
 * else ",\n" + indent + s. */
static void add_suffixes(const char *body, char **suffixes, int n, FILE *out)
{
    fputs(body, out);
    const char *nl = strrchr(body, '\n');
    /* len(s) - s.rfind("\n") + 1, rfind being -1 without a newline */
    long last = (long)strlen(body) - (nl ? (long)(nl - body) : -1) + 1;
    for (int k = 0; k < n; k++) {
        long sl = (long)strlen(suffixes[k]);
        if (last + sl + 2 > LINEWIDTH) {
            fprintf(out, ",\n%*s%s", 7, "", suffixes[k]);
            last = 7 + sl;
        } else {
            fprintf(out, ", %s", suffixes[k]);
            last += sl + 2;
        }
    }
    fputc(')', out);
}

/* The whole "tensor(…)" text, malloc'd. */
static char *tensor_repr(view *v)
{
    char *body = NULL, *res = NULL;
    size_t blen = 0, rlen = 0;
    FILE *out = open_memstream(&body, &blen);
    if (!out)
        return NULL;
    char *suffix[8];
    int ns = 0;
    char tmp[256];
    fputs("tensor(", out);
    if (v->t.numel == 0) {
        fputs("[]", out);
    } else {
        fmtr f1, f2;
        int complex = v->kind == 4;
        fmtr_init(&f1, v, 0);
        if (complex)
            fmtr_init(&f2, v, 1);
        if (v->t.ndim == 0) {
            char buf[400];
            elem_text(v, &f1, complex ? &f2 : NULL, 0, buf, sizeof buf);
            fputs(buf, out);
        } else {
            tensor_str(v, &f1, complex ? &f2 : NULL, 0, 0, 7, out);
        }
    }
    fclose(out);
    if (v->t.quant_count) {
        shape_tuple(&v->t, tmp, sizeof tmp);
        if (asprintf(&suffix[ns], "size=%s", tmp) >= 0)
            ns++;
        if (asprintf(&suffix[ns], "dtype=%s", torch_dtype(v->t.dtype)) >= 0)
            ns++;
        int per_channel = v->t.quant_count > 1 || v->t.quant_axis >= 0;
        if (asprintf(&suffix[ns], "quantization_scheme=torch.%s",
                     per_channel ? "per_channel_affine"
                                 : "per_tensor_affine") >= 0)
            ns++;
        if (per_channel) {
            char *sc = array_repr(MFT_F64, v->t.quant_scale, v->t.quant_count);
            char *zp = array_repr(MFT_I64, v->t.quant_zero_point,
                                  v->t.quant_count);
            if (sc && asprintf(&suffix[ns], "scale=%s", sc) >= 0)
                ns++;
            if (zp && asprintf(&suffix[ns], "zero_point=%s", zp) >= 0)
                ns++;
            if (asprintf(&suffix[ns], "axis=%d", v->t.quant_axis) >= 0)
                ns++;
            free(sc);
            free(zp);
        } else {
            char *sc = NULL;
            size_t scl = 0;
            FILE *m = open_memstream(&sc, &scl);
            if (m) {
                py_float(v->t.quant_scale[0], m);
                fclose(m);
            }
            if (sc && asprintf(&suffix[ns], "scale=%s", sc) >= 0)
                ns++;
            free(sc);
            if (asprintf(&suffix[ns], "zero_point=%lld",
                         (long long)v->t.quant_zero_point[0]) >= 0)
                ns++;
        }
    } else if (v->t.numel == 0) {
        if (v->t.ndim != 1) {
            shape_tuple(&v->t, tmp, sizeof tmp);
            if (asprintf(&suffix[ns], "size=%s", tmp) >= 0)
                ns++;
        }
        if (v->t.dtype != MFT_F32 &&
            asprintf(&suffix[ns], "dtype=%s", torch_dtype(v->t.dtype)) >= 0)
            ns++;
    } else if (!default_dtype(v->t.dtype)) {
        if (asprintf(&suffix[ns], "dtype=%s", torch_dtype(v->t.dtype)) >= 0)
            ns++;
    }
    FILE *r = open_memstream(&res, &rlen);
    if (r) {
        add_suffixes(body ? body : "", suffix, ns, r);
        fclose(r);
    }
    for (int k = 0; k < ns; k++)
        free(suffix[k]);
    free(body);
    return res;
}

static void print_tensor(view *v)
{
    char *s = tensor_repr(v);
    if (s)
        puts(s);
    free(s);
}

static void json_elem(view *v, uint64_t i)
{
    double d[2];
    switch (v->kind) {
    case 1: printf("%lld", (long long)get_int(v, i)); break;
    case 2: printf("%llu", (unsigned long long)get_uint(v, i)); break;
    case 3: printf(get_uint(v, i) ? "true" : "false"); break;
    case 4:
        mft_dtype_to_f64(v->t.dtype, v->data + i * (mft_dtype_bits(v->t.dtype) / 8), d, 1);
        printf("[");
        json_double(stdout, d[0]);
        printf(", ");
        json_double(stdout, d[1]);
        printf("]");
        break;
    default:
        get_f64(v, i, d);
        json_double(stdout, d[0]);
    }
}

static void json_rec(view *v, int dim, uint64_t base)
{
    if (dim == v->t.ndim) {
        json_elem(v, base);
        return;
    }
    printf("[");
    for (uint64_t k = 0; k < v->t.shape[dim]; k++) {
        if (k)
            printf(", ");
        json_rec(v, dim + 1, base + k * (uint64_t)v->t.strides[dim]);
    }
    printf("]");
}

static int write_raw(void *user, const void *bytes, size_t len)
{
    (void)user;
    return fwrite(bytes, 1, len, stdout) == len ? 0 : 1;
}

int cmd_get(int argc, char **argv)
{
    int as_json = 0, raw = 0;
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"raw", no_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 'r': raw = 1; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("get", "bad option");
        }
    }
    if (optind != argc - 2)
        return cli_usage_error("get", "expected FILE and PATH");
    if (as_json && raw)
        return cli_usage_error("get", "--json and --raw exclude each other");
    const char *path = argv[optind], *name = argv[optind + 1];
    mft_file *f = cli_open(path);
    if (!f)
        return EXIT_ERROR;
    int rc = EXIT_OK;
    size_t idx;
    if (mft_tensor_find(f, name, &idx) == MFT_OK) {
        view v;
        memset(&v, 0, sizeof v);
        mft_tensor_at(f, idx, &v.t);
        v.kind = kind_of(v.t.dtype);
        unsigned char *copy = NULL;
        if (v.t.data || v.t.nbytes == 0) {
            v.data = v.t.data;
        } else {
            copy = malloc(v.t.nbytes);
            if (!copy || mft_tensor_read(f, idx, copy, v.t.nbytes) != MFT_OK) {
                cli_error("%s", copy ? mft_file_errmsg(f) : "out of memory");
                free(copy);
                mft_close(f);
                return EXIT_ERROR;
            }
            v.data = copy;
        }
        /* the bytes are row-major now, whatever the stored layout was */
        int64_t rowmajor[MFT_MAX_DIMS];
        int64_t acc = 1;
        for (int d = v.t.ndim - 1; d >= 0; d--) {
            rowmajor[d] = acc;
            acc *= (int64_t)(v.t.shape[d] ? v.t.shape[d] : 1);
        }
        v.t.strides = rowmajor;
        /* a strided view of contiguous bytes: use row-major strides */
        if (raw) {
            if (isatty(STDOUT_FILENO)) {
                cli_error("get: refusing to write raw bytes to a terminal; "
                          "redirect stdout");
                rc = EXIT_ERROR;
            } else if (mft_tensor_stream(f, idx, write_raw, NULL) != MFT_OK ||
                       fflush(stdout) != 0) {
                cli_error("%s: writing to stdout failed", path);
                rc = EXIT_ERROR;
            }
        } else if (mft_dtype_bits(v.t.dtype) == 6 ||
                   mft_dtype_bits(v.t.dtype) == 0 /* STRING, block types */) {
            cli_error("%s: %s: printing %s values is not supported", path,
                      name, mft_dtype_name(v.t.dtype));
            rc = EXIT_ERROR;
        } else if (as_json) {
            char shape[1024];
            shape_string(&v.t, shape, sizeof shape);
            printf("{\"dtype\": \"%s\", \"shape\": %s, \"data\": ",
                   mft_dtype_name(v.t.dtype), shape);
            json_rec(&v, 0, 0);
            printf("}\n");
        } else {
            v.summarize = v.t.numel > THRESHOLD;
            print_tensor(&v);
        }
        free(copy);
    } else {
        const mft_value *val = mft_value_find(mft_file_root(f), name);
        if (!val)
            val = mft_value_find(mft_file_metadata(f), name);
        mft_value_kind vk = mft_value_get_kind(val);
        if (!val) {
            cli_error("%s: no tensor or value at \"%s\"", path, name);
            rc = EXIT_ERROR;
        } else if (as_json) {
            print_json_value(f, val, stdout);
            printf("\n");
        } else if (vk != MFT_VALUE_STRING && vk != MFT_VALUE_INT &&
                   vk != MFT_VALUE_FLOAT) {
            print_repr(f, val, stdout);
            printf("\n");
        } else if (vk == MFT_VALUE_STRING) {
            size_t sn;
            const char *s = mft_value_bytes(val, &sn);
            fwrite(s, 1, sn, stdout);
            printf("\n");
        } else if (mft_value_get_kind(val) == MFT_VALUE_INT) {
            printf("%lld\n", (long long)mft_value_int(val));
        } else if (mft_value_get_kind(val) == MFT_VALUE_FLOAT) {
            py_float(mft_value_float(val), stdout);
            printf("\n");
        } else {
            cli_error("%s: \"%s\" is not a scalar value", path, name);
            rc = EXIT_ERROR;
        }
    }
    mft_close(f);
    return rc;
}
