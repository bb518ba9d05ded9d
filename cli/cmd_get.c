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
    int summarize;
    /* float formatting */
    int sci, int_mode;
    int width;
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

static void fmt_float(const view *v, double x, char *buf, size_t cap)
{
    if (isnan(x))
        snprintf(buf, cap, "nan");
    else if (isinf(x))
        snprintf(buf, cap, x > 0 ? "inf" : "-inf");
    else if (v->sci)
        snprintf(buf, cap, "%.4e", x);
    else if (v->int_mode)
        snprintf(buf, cap, "%.0f.", x);
    else
        snprintf(buf, cap, "%.4f", x);
}

static void fmt_elem(const view *v, uint64_t i, char *buf, size_t cap)
{
    double d[2];
    switch (v->kind) {
    case 1: snprintf(buf, cap, "%lld", (long long)get_int(v, i)); break;
    case 2: snprintf(buf, cap, "%llu", (unsigned long long)get_uint(v, i)); break;
    case 3: snprintf(buf, cap, "%s", get_uint(v, i) ? "True" : "False"); break;
    case 4: {
        mft_dtype_to_f64(v->t.dtype, v->data + i * (mft_dtype_bits(v->t.dtype) / 8), d, 1);
        char re[48], im[48];
        fmt_float(v, d[0], re, sizeof re);
        fmt_float(v, fabs(d[1]), im, sizeof im);
        snprintf(buf, cap, "%s%s%sj", re, signbit(d[1]) ? "-" : "+", im);
        break;
    }
    default:
        get_f64(v, i, d);
        fmt_float(v, d[0], buf, cap);
    }
}

/* Visit the elements that will be shown (all, or the summarised edges). */
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

struct range { double max, min; int any, int_mode; };

static void scan_float(view *v, uint64_t i, void *user)
{
    struct range *r = user;
    double d[2];
    if (v->kind == 4)
        mft_dtype_to_f64(v->t.dtype, v->data + i * (mft_dtype_bits(v->t.dtype) / 8), d, 1);
    else
        get_f64(v, i, d);
    for (int k = 0; k < (v->kind == 4 ? 2 : 1); k++) {
        double a = fabs(d[k]);
        if (!isfinite(a) || a == 0)
            continue;
        if (!r->any || a > r->max) r->max = a;
        if (!r->any || a < r->min) r->min = a;
        r->any = 1;
        if (d[k] != ceil(d[k]))
            r->int_mode = 0;
    }
}

static void measure(view *v, uint64_t i, void *user)
{
    (void)user;
    char buf[128];
    fmt_elem(v, i, buf, sizeof buf);
    int l = (int)strlen(buf);
    if (l > v->width)
        v->width = l;
}

static void print_rec(view *v, int dim, uint64_t base, int indent)
{
    uint64_t n = v->t.shape[dim];
    uint64_t stride = (uint64_t)v->t.strides[dim];
    int summarize = v->summarize && n > 2 * EDGE;
    putchar('[');
    if (dim == v->t.ndim - 1) {
        /* torch's _vector_str: items (with " ..." standing for the middle
         * when summarising) in lines of floor((80 - indent) / (width + 2)) */
        int per_line = (LINEWIDTH - indent) / (v->width + 2);
        if (per_line < 1)
            per_line = 1;
        int on_line = 0;
        char buf[128];
        for (uint64_t k = 0; k < n; k++) {
            int dots = summarize && k == EDGE;
            if (on_line == per_line) {
                printf(",\n%*s", indent + 1, "");
                on_line = 0;
            } else if (on_line) {
                printf(", ");
            }
            if (dots) {
                printf(" ...");
                k = n - EDGE - 1;
            } else {
                fmt_elem(v, base + k * stride, buf, sizeof buf);
                printf("%*s", v->width, buf);
            }
            on_line++;
        }
    } else {
        for (uint64_t k = 0; k < n; k++) {
            if (k) {
                printf(",");
                for (int d = 0; d < v->t.ndim - dim - 1; d++)
                    printf("\n");
                printf("%*s", indent + 1, "");
            }
            if (summarize && k == EDGE) {
                printf("...,");
                for (int d = 0; d < v->t.ndim - dim - 1; d++)
                    printf("\n");
                printf("%*s", indent + 1, "");
                k = n - EDGE;
            }
            print_rec(v, dim + 1, base + k * stride, indent + 1);
        }
    }
    putchar(']');
}

static int default_dtype(mft_dtype d)
{
    return d == MFT_F32 || d == MFT_I64 || d == MFT_BOOL;
}

static void print_tensor(view *v)
{
    if (v->kind == 0 || v->kind == 4) {
        struct range r = {0, 0, 0, 1};
        walk(v, 0, 0, scan_float, &r);
        v->int_mode = r.int_mode && v->kind == 0;
        if (r.any) {
            if (v->int_mode)
                v->sci = r.max / r.min > 1000.0 || r.max > 1e8;
            else
                v->sci = r.max / r.min > 1000.0 || r.max > 1e8 || r.min < 1e-4;
        }
    }
    printf("tensor(");
    if (v->t.numel == 0) {
        printf("[]");
        if (v->t.ndim != 1) {
            printf(", size=(");
            for (int i = 0; i < v->t.ndim; i++)
                printf(i ? ", %llu" : "%llu", (unsigned long long)v->t.shape[i]);
            printf(v->t.ndim == 1 ? ",)" : ")");
        }
    } else {
        walk(v, 0, 0, measure, NULL);
        if (v->t.ndim == 0) {
            char buf[128];
            fmt_elem(v, 0, buf, sizeof buf);
            printf("%s", buf);
        } else {
            print_rec(v, 0, 0, 7);
        }
    }
    if (!default_dtype(v->t.dtype))
        printf(", dtype=%s", mft_dtype_name(v->t.dtype));
    printf(")\n");
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
