/* Element-wise comparison of two tensors (mft_tensor_compare) with
 * torch.isclose / torch.allclose semantics:
 *     close(a, b) = a == b
 *                 or (equal_nan and isnan(a) and isnan(b))
 *                 or (isfinite(|a − b|) and |a − b| <= atol + rtol·|b|)
 * (torch/_refs isclose, and ATen's isclose: `self == other` first, so equal
 * infinities are close; a NaN is never close unless equal_nan). Values are
 * decoded to double chunk by chunk, so two tensors of different dtypes
 * (F32 against BF16 after a conversion) compare by value. */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 4096 /* elements decoded at a time */

/* The bytes of a tensor, borrowed from the mapping or read into a copy. */
typedef struct side {
    const mftc_tensor *t;
    const unsigned char *bytes;
    unsigned char *copy;
    mft_dtype decode_as; /* QI8 → I8 …; others themselves */
    int complex;
} side;

static int decodable(mft_dtype d)
{
    if (d == MFT_QI8 || d == MFT_QU8 || d == MFT_QI32)
        return 1;
    unsigned bits = mft_dtype_bits(d);
    return bits != 0 && bits != 6 && d != MFT_STRING;
}

static mft_status open_side(mft_file *f, size_t index, side *s)
{
    memset(s, 0, sizeof *s);
    if (index >= f->ntensors)
        return mftc_fail(f, MFT_ERR_NOT_FOUND, NULL, -1,
                         "no tensor number %zu", index);
    const mftc_tensor *t = &f->tensors[index];
    s->t = t;
    if (t->kind || !decodable(t->dtype))
        return mftc_fail(f, t->kind ? MFT_ERR_UNSUPPORTED : MFT_ERR_DTYPE,
                         t->member, -1,
                         "tensor \"%s\": %s values cannot be compared",
                         t->name, t->kind ? t->kind : mft_dtype_name(t->dtype));
    s->decode_as = t->dtype == MFT_QI8 ? MFT_I8
                   : t->dtype == MFT_QU8 ? MFT_U8
                   : t->dtype == MFT_QI32 ? MFT_I32 : t->dtype;
    s->complex = mft_dtype_is_complex(t->dtype);
    if (t->data || t->nbytes == 0) {
        s->bytes = t->data;
        return MFT_OK;
    }
    s->copy = malloc((size_t)t->nbytes);
    if (!s->copy)
        return mftc_fail(f, MFT_ERR_NOMEM, t->member, -1,
                         "tensor \"%s\": out of memory for %llu bytes",
                         t->name, (unsigned long long)t->nbytes);
    mft_status st = mft_tensor_read(f, index, s->copy, t->nbytes);
    if (st != MFT_OK) {
        free(s->copy);
        s->copy = NULL;
        return st;
    }
    s->bytes = s->copy;
    return MFT_OK;
}

#define DROP_BYTES (4u << 20)

/* Release bytes [from, to) of a side's mapped data from this process. */
static void drop(const side *s, uint64_t from, uint64_t to)
{
    if (!s->copy && s->t->src && to > from && to <= s->t->nbytes)
        mftc_source_done(s->t->src, s->bytes + from, to - from);
}

/* Elements [first, first + n) as doubles (two per complex element);
 * `first` is a multiple of 8, so packed types start on a byte. */
static void decode(const side *s, uint64_t first, size_t n, double *out)
{
    const mftc_tensor *t = s->t;
    unsigned bits = mft_dtype_bits(s->decode_as);
    const unsigned char *p = s->bytes + first * bits / 8;
    mft_dtype_to_f64(s->decode_as, p, out, n);
    if (t->quant_count && t->quant_scale && t->quant_zero_point) {
        uint64_t inner = 1, extent = 0;
        if (t->quant_count > 1 && t->quant_axis >= 0 &&
            t->quant_axis < t->ndim) {
            for (int d = t->quant_axis + 1; d < t->ndim; d++)
                inner *= t->shape[d] ? t->shape[d] : 1;
            extent = t->shape[t->quant_axis];
        }
        for (size_t i = 0; i < n; i++) {
            size_t ch = extent ? (size_t)((first + i) / inner % extent) : 0;
            if (ch >= t->quant_count)
                ch = 0;
            out[i] = (out[i] - (double)t->quant_zero_point[ch]) *
                     t->quant_scale[ch];
        }
    }
}

mft_status mft_tensor_compare(mft_file *fa, size_t ia, mft_file *fb, size_t ib,
                              const mft_compare_options *opts,
                              mft_compare *out)
{
    if (!fa || !fb || !out)
        return MFT_ERR_MISUSE;
    mft_compare_options o = {1e-5, 1e-8, 0};
    if (opts)
        o = *opts;
    if (!(o.rtol >= 0) || !(o.atol >= 0))
        return MFT_ERR_MISUSE;
    memset(out, 0, sizeof *out);
    side a, b;
    mft_status st = open_side(fa, ia, &a);
    if (st != MFT_OK)
        return st;
    st = open_side(fb, ib, &b);
    if (st != MFT_OK) {
        free(a.copy);
        return st;
    }
    if (a.t->numel != b.t->numel) {
        st = mftc_fail(fa, MFT_ERR_MISMATCH, a.t->member, -1,
                       "tensor \"%s\": %llu elements against %llu", a.t->name,
                       (unsigned long long)a.t->numel,
                       (unsigned long long)b.t->numel);
    } else if (a.complex != b.complex) {
        st = mftc_fail(fa, MFT_ERR_DTYPE, a.t->member, -1,
                       "tensor \"%s\": %s against %s: a complex tensor "
                       "compares only with a complex one",
                       a.t->name, mft_dtype_name(a.t->dtype),
                       mft_dtype_name(b.t->dtype));
    }
    if (st != MFT_OK) {
        free(a.copy);
        free(b.copy);
        return st;
    }
    out->numel = a.t->numel;
    /* byte equality is checked chunk by chunk below, with the values */
    out->identical = a.t->dtype == b.t->dtype && a.t->nbytes == b.t->nbytes;
    int cx = a.complex;
    double *va = malloc(sizeof(double) * CHUNK * 2);
    double *vb = malloc(sizeof(double) * CHUNK * 2);
    if (!va || !vb) {
        free(va);
        free(vb);
        free(a.copy);
        free(b.copy);
        return mftc_fail(fa, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    }
    int any = 0;
    uint64_t dropped = 0; /* bytes of a's data released so far */
    for (uint64_t first = 0; first < out->numel; first += CHUNK) {
        size_t n = out->numel - first < CHUNK ? (size_t)(out->numel - first)
                                              : CHUNK;
        decode(&a, first, n, va);
        decode(&b, first, n, vb);
        /* the chunk's bytes (first is a multiple of 8 elements: packed
         * types start and, but for the last chunk, end on a byte) */
        unsigned bits = mft_dtype_bits(a.decode_as);
        uint64_t off = first * bits / 8;
        uint64_t len = ((first + n) * bits + 7) / 8 - off;
        if (out->identical && memcmp(a.bytes + off, b.bytes + off, (size_t)len))
            out->identical = 0;
        /* a whole-tensor pass: drop what was read from the mappings so
         * memory stays flat (the pages stay in the page cache); in 4 MiB
         * steps, as only whole pages inside a range are dropped */
        uint64_t upto = off + len;
        if (upto - dropped >= DROP_BYTES || first + n >= out->numel) {
            drop(&a, dropped, upto);
            drop(&b, dropped * mft_dtype_bits(b.decode_as) / (bits ? bits : 1),
                 upto * mft_dtype_bits(b.decode_as) / (bits ? bits : 1));
            dropped = upto;
        }
        for (size_t i = 0; i < n; i++) {
            double x, y, diff, mag;
            int xnan, ynan, equal;
            if (cx) {
                double xr = va[2 * i], xi = va[2 * i + 1];
                double yr = vb[2 * i], yi = vb[2 * i + 1];
                xnan = isnan(xr) || isnan(xi);
                ynan = isnan(yr) || isnan(yi);
                equal = xr == yr && xi == yi;
                diff = equal ? 0 : hypot(xr - yr, xi - yi);
                mag = hypot(yr, yi);
                if (!equal && isnan(diff)) /* Inf − Inf in a part */
                    diff = INFINITY;
            } else {
                x = va[i];
                y = vb[i];
                xnan = isnan(x);
                ynan = isnan(y);
                equal = x == y;
                diff = equal ? 0 : fabs(x - y);
                mag = fabs(y);
            }
            uint64_t at = first + i;
            if (xnan || ynan) {
                if (!(o.equal_nan && xnan && ynan)) {
                    out->mismatched++;
                    out->nan_mismatch++;
                }
                continue;
            }
            if (!equal && !(isfinite(diff) && diff <= o.atol + o.rtol * mag))
                out->mismatched++;
            double rel = diff == 0                  ? 0
                         : mag == 0 || isinf(diff) ? INFINITY
                                                   : diff / mag;
            if (!any || diff > out->max_abs) {
                out->max_abs = diff;
                out->max_abs_at = at;
            }
            if (!any || rel > out->max_rel) {
                out->max_rel = rel;
                out->max_rel_at = at;
            }
            any = 1;
        }
    }
    if (!any && out->numel) {
        out->max_abs = NAN;
        out->max_rel = NAN;
    }
    free(va);
    free(vb);
    free(a.copy);
    free(b.copy);
    return MFT_OK;
}
