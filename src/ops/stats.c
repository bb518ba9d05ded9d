/* Tensor statistics (mft_tensor_stats, mft_stats_many): count, NaN/Inf/zero
 * counts, min, max, mean and the sample standard deviation of every integer
 * and float tensor, in one pass over its bytes.
 *
 * Numerics
 *  - Every value is taken exactly into double (F16, BF16, F8, F4 and all
 *    integers up to 2^53 are exact in double; larger I64/U64 values round,
 *    but min/max of integer tensors are tracked exactly in their own type).
 *  - NaN and ±Inf are counted and left out of min, max, mean and std, as
 *    torch computes them over t[torch.isfinite(t)].
 *  - Moments: the elements are cut into blocks of BLOCK (1024) elements that
 *    stay in L1. Per block, a first loop sums the block (4 independent double
 *    accumulators) for its mean m; a second loop over the same cached block
 *    accumulates d = x − m as Σd and Σd², giving the block's exact-ish M2 =
 *    Σd² − (Σd)²/n (the "corrected two-pass" formula, Björck / Chan, Golub
 *    & LeVeque 1983). Blocks merge with Chan's pairwise update
 *        δ = m_b − m_a,  m = m_a + δ·n_b/n,  M2 = M2_a + M2_b + δ²·n_a·n_b/n
 *    in a binary-counter tree, so the rounding error of mean and M2 grows
 *    like O(log(N/BLOCK)·ε) — the accuracy of numpy's pairwise sum, far
 *    better than torch's float32 mean. Memory is read once.
 *  - std = sqrt(M2 / (n − 1)) (Bessel-corrected, as torch.std); NaN when
 *    fewer than two finite values (torch gives nan with a warning).
 *  - A tensor is cut into fixed work units (UNIT_BYTES) whatever the thread
 *    count, and units merge in order, so the results are bit-identical for
 *    any number of threads and between mft_tensor_stats and mft_stats_many.
 *  - Quantized QI8/QU8/QI32 tensors: statistics of the dequantized values
 *    (q − zero_point) × scale, in double. Complex tensors: only the NaN, Inf
 *    (either part) and zero (both parts) counts; count is the finite
 *    elements; min … std are NaN. */
#include "../core/internal.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 1024                 /* elements per moments block (fits L1) */
#define UNIT_BYTES (16u << 20)     /* work unit of a tensor split across threads */
#define MAX_THREADS 64

/* ------------------------------------------------------------ accumulator */

typedef struct moments {
    uint64_t n;
    double mean, mean_lo; /* the mean as an unevaluated sum hi + lo */
    double m2;
} moments;

typedef struct acc {
    uint64_t numel, nan, inf, zeros;
    double min, max;      /* over finite values; +Inf/-Inf while none */
    int64_t imin, imax;   /* signed integer dtypes (and BOOL, sub-byte) */
    uint64_t umin, umax;  /* U64 */
    int any_int;          /* imin/imax or umin/umax hold something */
    uint64_t used;        /* binary counter: which levels hold a partial */
    moments lv[64];
} acc;

static void acc_init(acc *a)
{
    memset(a, 0, sizeof *a);
    a->min = INFINITY;
    a->max = -INFINITY;
    a->imin = INT64_MAX;
    a->imax = INT64_MIN;
    a->umin = UINT64_MAX;
    a->umax = 0;
}

/* Chan et al.'s pairwise update, with the means carried as hi + lo pairs:
 * δ between two block means is then exact even when the data sit on a
 * large offset (1e9 + noise), where a plain double mean would lose the
 * low digits that the variance lives in. */
static void merge_moments(moments *a, const moments *b)
{
    if (!b->n)
        return;
    if (!a->n) {
        *a = *b;
        return;
    }
    uint64_t n = a->n + b->n;
    double na = (double)a->n, nb = (double)b->n, nn = (double)n;
    double d = (b->mean - a->mean) + (b->mean_lo - a->mean_lo);
    double step = d * (nb / nn);
    /* (hi, lo) += step, by two-sum */
    double hi = a->mean + step;
    double bv = hi - a->mean;
    double err = (a->mean - (hi - bv)) + (step - bv);
    double lo = a->mean_lo + err;
    a->mean = hi + lo;
    a->mean_lo = lo - (a->mean - hi);
    a->m2 += b->m2 + d * d * (na * nb / nn);
    a->n = n;
}

/* Add one block's moments at level 0 of the binary counter, carrying up. */
static void push_moments(acc *a, moments m)
{
    int k = 0;
    while (k < 63 && (a->used >> k & 1)) {
        merge_moments(&a->lv[k], &m);
        m = a->lv[k];
        a->used &= ~(1ull << k);
        k++;
    }
    a->lv[k] = m;
    a->used |= 1ull << k;
}

/* All levels merged, oldest (highest) first. */
static moments total_moments(const acc *a)
{
    moments t = {0, 0, 0, 0};
    for (int k = 63; k >= 0; k--)
        if (a->used >> k & 1)
            merge_moments(&t, &a->lv[k]);
    return t;
}

/* The per-block kernels are inlined where the caller knows the block is
 * full, so their loops have a constant trip count and vectorise even at
 * -O2 (GCC's very-cheap cost model wants no epilogue). */
#define KERNEL static inline __attribute__((always_inline))

/* Moments of n finite values: block mean, then corrected deviations. One
 * definition, instantiated for doubles in a buffer and for F32 values read
 * straight from the tensor's bytes (same arithmetic, same results, one
 * pass less). */
#define MOMENTS_KERNEL(NAME, SRC_T, LOAD)                                     \
    KERNEL void NAME(acc *a, SRC_T x, size_t n)                               \
    {                                                                         \
        if (!n)                                                               \
            return;                                                           \
        size_t n4 = n & ~(size_t)3;                                           \
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                \
        for (size_t i = 0; i < n4; i += 4) {                                  \
            s0 += LOAD(x, i);                                                 \
            s1 += LOAD(x, i + 1);                                             \
            s2 += LOAD(x, i + 2);                                             \
            s3 += LOAD(x, i + 3);                                             \
        }                                                                     \
        for (size_t i = n4; i < n; i++)                                       \
            s0 += LOAD(x, i);                                                 \
        double mean = ((s0 + s1) + (s2 + s3)) / (double)n;                    \
        double d0 = 0, d1 = 0, d2 = 0, d3 = 0;                                \
        double q0 = 0, q1 = 0, q2 = 0, q3 = 0;                                \
        for (size_t i = 0; i < n4; i += 4) {                                  \
            double e0 = LOAD(x, i) - mean, e1 = LOAD(x, i + 1) - mean;        \
            double e2 = LOAD(x, i + 2) - mean, e3 = LOAD(x, i + 3) - mean;    \
            d0 += e0;                                                         \
            d1 += e1;                                                         \
            d2 += e2;                                                         \
            d3 += e3;                                                         \
            q0 += e0 * e0;                                                    \
            q1 += e1 * e1;                                                    \
            q2 += e2 * e2;                                                    \
            q3 += e3 * e3;                                                    \
        }                                                                     \
        for (size_t i = n4; i < n; i++) {                                     \
            double e = LOAD(x, i) - mean;                                     \
            d0 += e;                                                          \
            q0 += e * e;                                                      \
        }                                                                     \
        double sd = (d0 + d1) + (d2 + d3), sq = (q0 + q1) + (q2 + q3);        \
        moments m;                                                            \
        m.n = n;                                                              \
        /* the block mean, exactly enough: the rounded mean plus the mean   \
         * of the deviations from it */                                       \
        double lo = sd / (double)n;                                           \
        m.mean = mean + lo;                                                   \
        m.mean_lo = lo - (m.mean - mean);                                     \
        m.m2 = sq - sd * sd / (double)n;                                      \
        if (m.m2 < 0)                                                         \
            m.m2 = 0;                                                         \
        push_moments(a, m);                                                   \
    }

static inline double load_f64(const double *x, size_t i)
{
    return x[i];
}

static inline double load_f32(const unsigned char *p, size_t i)
{
    float f;
    memcpy(&f, p + 4 * i, 4);
    return f;
}

MOMENTS_KERNEL(block_moments, const double *, load_f64)
MOMENTS_KERNEL(block_moments_f32, const unsigned char *, load_f32)

/* n doubles that may hold NaN/Inf: count those, compact the rest in place
 * (x is scratch), track zeros and extremes, then moments. */
static void block_f64_checked(acc *a, double *x, size_t n)
{
    size_t m = 0;
    double mn = a->min, mx = a->max;
    uint64_t zeros = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (isnan(v)) {
            a->nan++;
            continue;
        }
        if (isinf(v)) {
            a->inf++;
            continue;
        }
        zeros += v == 0;
        if (v < mn)
            mn = v;
        if (v > mx)
            mx = v;
        x[m++] = v;
    }
    a->min = mn;
    a->max = mx;
    a->zeros += zeros;
    block_moments(a, x, m);
}

/* ------------------------------------------------------------ per dtype */

/* Order-preserving integer keys of float bits: signed comparison of the
 * keys orders the (non-NaN) floats, -0 just below +0. Integer min/max
 * loops vectorise where float ones (NaN semantics) do not. */
static inline int32_t f32_key(uint32_t u)
{
    return (int32_t)(u ^ ((uint32_t)((int32_t)u >> 31) >> 1));
}

static inline float key_f32(int32_t k)
{
    uint32_t u = (uint32_t)k ^ ((uint32_t)(k >> 31) >> 1);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline int64_t f64_key(uint64_t u)
{
    return (int64_t)(u ^ ((uint64_t)((int64_t)u >> 63) >> 1));
}

static inline double key_f64(int64_t k)
{
    uint64_t u = (uint64_t)k ^ ((uint64_t)(k >> 63) >> 1);
    double f;
    memcpy(&f, &u, 8);
    return f;
}

/* n (≤ BLOCK) F32 values at p (any alignment); buf: BLOCK doubles. */
KERNEL void block_f32(acc *a, const unsigned char *p, size_t n, double *buf)
{
    uint32_t bad = 0, zeros = 0;
    int32_t kmin = INT32_MAX, kmax = INT32_MIN;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, p + 4 * i, 4);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
        zeros += (uint32_t)((u << 1) == 0);
        int32_t k = f32_key(u);
        kmin = k < kmin ? k : kmin;
        kmax = k > kmax ? k : kmax;
    }
    if (bad) {
        for (size_t i = 0; i < n; i++) {
            float f;
            memcpy(&f, p + 4 * i, 4);
            buf[i] = f;
        }
        block_f64_checked(a, buf, n);
        return;
    }
    if (n) {
        double lo = key_f32(kmin), hi = key_f32(kmax);
        if (lo < a->min)
            a->min = lo;
        if (hi > a->max)
            a->max = hi;
    }
    a->zeros += zeros;
    block_moments_f32(a, p, n);
}

KERNEL void block_f64(acc *a, const unsigned char *p, size_t n, double *buf)
{
    uint64_t bad = 0, zeros = 0;
    int64_t kmin = INT64_MAX, kmax = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, p + 8 * i, 8);
        bad |= (uint64_t)((u & 0x7ff0000000000000u) == 0x7ff0000000000000u);
        zeros += (uint64_t)((u << 1) == 0);
        int64_t k = f64_key(u);
        kmin = k < kmin ? k : kmin;
        kmax = k > kmax ? k : kmax;
        memcpy(&buf[i], &u, 8);
    }
    if (bad) {
        block_f64_checked(a, buf, n);
        return;
    }
    if (n) {
        double lo = key_f64(kmin), hi = key_f64(kmax);
        if (lo < a->min)
            a->min = lo;
        if (hi > a->max)
            a->max = hi;
    }
    a->zeros += zeros;
    block_moments(a, buf, n);
}

/* IEEE half → float, exact (normals, subnormals, Inf, NaN). */
static inline uint32_t f16_bits_to_f32_bits(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu;
    uint32_t u;
    if (em >= 0x7c00u) {
        u = 0x7f800000u | (em & 0x3ffu) << 13;
    } else {
        /* the 15 bits as a float with the exponent bias of half, rescaled
         * by 2^112: exact for normals and subnormals alike */
        uint32_t t = em << 13;
        float f;
        memcpy(&f, &t, 4);
        f *= 0x1p112f;
        memcpy(&u, &f, 4);
    }
    return u | sign;
}

KERNEL void block_f16(acc *a, const unsigned char *p, size_t n, double *buf,
                      int bf16)
{
    uint32_t tmp[BLOCK];
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        tmp[i] = bf16 ? (uint32_t)h << 16 : f16_bits_to_f32_bits(h);
    }
    block_f32(a, (const unsigned char *)tmp, n, buf);
}

#define INT_BLOCK(NAME, T, LO, HI, SIGNED)                                    \
    KERNEL void NAME(acc *a, const unsigned char *p, size_t n, double *buf)   \
    {                                                                         \
        T mn = HI, mx = LO;                                                   \
        uint32_t zeros = 0;                                                   \
        for (size_t i = 0; i < n; i++) {                                      \
            T v;                                                              \
            memcpy(&v, p + sizeof(T) * i, sizeof(T));                         \
            zeros += (uint32_t)(v == 0);                                      \
            mn = v < mn ? v : mn;                                             \
            mx = v > mx ? v : mx;                                             \
            buf[i] = (double)v;                                               \
        }                                                                     \
        if (n) {                                                              \
            a->any_int = 1;                                                   \
            if (SIGNED) {                                                     \
                if ((int64_t)mn < a->imin)                                    \
                    a->imin = (int64_t)mn;                                    \
                if ((int64_t)mx > a->imax)                                    \
                    a->imax = (int64_t)mx;                                    \
            } else {                                                          \
                if ((uint64_t)mn < a->umin)                                   \
                    a->umin = (uint64_t)mn;                                   \
                if ((uint64_t)mx > a->umax)                                   \
                    a->umax = (uint64_t)mx;                                   \
            }                                                                 \
            if ((double)mn < a->min)                                          \
                a->min = (double)mn;                                          \
            if ((double)mx > a->max)                                          \
                a->max = (double)mx;                                          \
        }                                                                     \
        a->zeros += zeros;                                                    \
        block_moments(a, buf, n);                                             \
    }

INT_BLOCK(block_i8, int8_t, INT8_MIN, INT8_MAX, 1)
INT_BLOCK(block_u8, uint8_t, 0, UINT8_MAX, 1)
INT_BLOCK(block_i16, int16_t, INT16_MIN, INT16_MAX, 1)
INT_BLOCK(block_u16, uint16_t, 0, UINT16_MAX, 1)
INT_BLOCK(block_i32, int32_t, INT32_MIN, INT32_MAX, 1)
INT_BLOCK(block_u32, uint32_t, 0, UINT32_MAX, 1)
INT_BLOCK(block_i64, int64_t, INT64_MIN, INT64_MAX, 1)
INT_BLOCK(block_u64, uint64_t, 0, UINT64_MAX, 0)

/* What one tensor needs to be decoded, shared by its units. */
typedef struct tctx {
    const mftc_tensor *t;
    int family;           /* F_* below */
    unsigned epb, bpb;    /* elements / bytes per storage block */
    double lut[256];      /* 1-byte float types */
    /* quantized: per-channel geometry */
    uint64_t q_inner, q_extent;
} tctx;

enum {
    F_NONE, F_F32, F_F64, F_F16, F_BF16, F_I8, F_U8, F_I16, F_U16, F_I32,
    F_U32, F_I64, F_U64, F_LUT, F_PACKED, F_QUANT, F_COMPLEX
};

static int family_of(mft_dtype d)
{
    switch (d) {
    case MFT_F32: return F_F32;
    case MFT_F64: return F_F64;
    case MFT_F16: return F_F16;
    case MFT_BF16: return F_BF16;
    case MFT_I8: return F_I8;
    case MFT_U8: case MFT_BOOL: return F_U8;
    case MFT_I16: return F_I16;
    case MFT_U16: return F_U16;
    case MFT_I32: return F_I32;
    case MFT_U32: return F_U32;
    case MFT_I64: return F_I64;
    case MFT_U64: return F_U64;
    case MFT_F8_E4M3: case MFT_F8_E5M2: case MFT_F8_E4M3FNUZ:
    case MFT_F8_E5M2FNUZ: case MFT_F8_E8M0:
        return F_LUT;
    case MFT_F4: case MFT_I4: case MFT_U4: case MFT_I2: case MFT_U2:
        return F_PACKED;
    case MFT_QI8: case MFT_QU8: case MFT_QI32: return F_QUANT;
    case MFT_C32: case MFT_C64: case MFT_C128: return F_COMPLEX;
    default: return F_NONE;
    }
}

static int is_int_packed(mft_dtype d)
{
    return d == MFT_I4 || d == MFT_U4 || d == MFT_I2 || d == MFT_U2;
}

/* Consume n elements (n ≤ BLOCK, or any n for complex/packed/quant via
 * chunks of BLOCK) whose bytes start at p; `first` is the index of the
 * first element in the tensor (for per-channel quantization). */
static void consume_block(const tctx *c, acc *a, const unsigned char *p,
                          uint64_t first, size_t n, double *buf)
{
    a->numel += n;
    switch (c->family) {
/* full blocks get the constant-trip-count copy of the kernel */
#define FULL_OR_PART(call_full, call_part)                                    \
    do {                                                                      \
        if (n == BLOCK)                                                       \
            call_full;                                                        \
        else                                                                  \
            call_part;                                                        \
    } while (0)
#define KCALL(fn) FULL_OR_PART(fn(a, p, BLOCK, buf), fn(a, p, n, buf))
    case F_F32: KCALL(block_f32); break;
    case F_F64: KCALL(block_f64); break;
    case F_F16:
        FULL_OR_PART(block_f16(a, p, BLOCK, buf, 0), block_f16(a, p, n, buf, 0));
        break;
    case F_BF16:
        FULL_OR_PART(block_f16(a, p, BLOCK, buf, 1), block_f16(a, p, n, buf, 1));
        break;
    case F_I8: KCALL(block_i8); break;
    case F_U8: KCALL(block_u8); break;
    case F_I16: KCALL(block_i16); break;
    case F_U16: KCALL(block_u16); break;
    case F_I32: KCALL(block_i32); break;
    case F_U32: KCALL(block_u32); break;
    case F_I64: KCALL(block_i64); break;
    case F_U64: KCALL(block_u64); break;
#undef KCALL
#undef FULL_OR_PART
    case F_LUT:
        for (size_t i = 0; i < n; i++)
            buf[i] = c->lut[p[i]];
        block_f64_checked(a, buf, n);
        break;
    case F_PACKED:
        mft_dtype_to_f64(c->t->dtype, p, buf, n);
        if (is_int_packed(c->t->dtype) && n) {
            a->any_int = 1;
            for (size_t i = 0; i < n; i++) {
                int64_t v = (int64_t)buf[i];
                if (v < a->imin)
                    a->imin = v;
                if (v > a->imax)
                    a->imax = v;
            }
        }
        block_f64_checked(a, buf, n);
        break;
    case F_QUANT: {
        const mftc_tensor *t = c->t;
        mft_dtype_to_f64(t->dtype == MFT_QI8 ? MFT_I8
                         : t->dtype == MFT_QU8 ? MFT_U8 : MFT_I32,
                         p, buf, n);
        for (size_t i = 0; i < n; i++) {
            size_t ch = 0;
            if (t->quant_count > 1 && c->q_extent)
                ch = (size_t)((first + i) / c->q_inner % c->q_extent);
            if (ch >= t->quant_count)
                ch = 0;
            buf[i] = (buf[i] - (double)t->quant_zero_point[ch]) *
                     t->quant_scale[ch];
        }
        block_f64_checked(a, buf, n);
        break;
    }
    case F_COMPLEX: {
        /* buf holds BLOCK doubles: BLOCK/2 complex elements at a time */
        size_t es = mft_dtype_bits(c->t->dtype) / 8;
        for (size_t done = 0; done < n;) {
            size_t k = n - done < BLOCK / 2 ? n - done : BLOCK / 2;
            mft_dtype_to_f64(c->t->dtype, p + done * es, buf, k);
            for (size_t i = 0; i < k; i++) {
                double re = buf[2 * i], im = buf[2 * i + 1];
                if (isnan(re) || isnan(im))
                    a->nan++;
                else if (isinf(re) || isinf(im))
                    a->inf++;
                else if (re == 0 && im == 0)
                    a->zeros++;
            }
            done += k;
        }
        break;
    }
    default:
        break;
    }
}

/* Bytes of `n` elements starting at an element index that is a multiple of
 * the storage block (so, for packed types, on a byte boundary). */
static uint64_t bytes_of(const tctx *c, uint64_t n)
{
    return (n / c->epb) * c->bpb + ((n % c->epb) * c->bpb + c->epb - 1) / c->epb;
}

/* Elements [first, first + n) from bytes p (p at element `first`). */
static void consume(const tctx *c, acc *a, const unsigned char *p,
                    uint64_t first, uint64_t n, double *buf)
{
    for (uint64_t done = 0; done < n; done += BLOCK) {
        size_t k = n - done < BLOCK ? (size_t)(n - done) : BLOCK;
        consume_block(c, a, p + bytes_of(c, done), first + done, k, buf);
    }
}

/* ------------------------------------------------------------ results */

typedef struct partial {
    uint64_t numel, nan, inf, zeros;
    moments mom;
    double min, max;
    int64_t imin, imax;
    uint64_t umin, umax;
    int any_int;
} partial;

static void partial_from(partial *p, const acc *a)
{
    p->numel = a->numel;
    p->nan = a->nan;
    p->inf = a->inf;
    p->zeros = a->zeros;
    p->mom = total_moments(a);
    p->min = a->min;
    p->max = a->max;
    p->imin = a->imin;
    p->imax = a->imax;
    p->umin = a->umin;
    p->umax = a->umax;
    p->any_int = a->any_int;
}

static void partial_merge(partial *p, const partial *q)
{
    p->numel += q->numel;
    p->nan += q->nan;
    p->inf += q->inf;
    p->zeros += q->zeros;
    merge_moments(&p->mom, &q->mom);
    if (q->min < p->min)
        p->min = q->min;
    if (q->max > p->max)
        p->max = q->max;
    if (q->imin < p->imin)
        p->imin = q->imin;
    if (q->imax > p->imax)
        p->imax = q->imax;
    if (q->umin < p->umin)
        p->umin = q->umin;
    if (q->umax > p->umax)
        p->umax = q->umax;
    p->any_int |= q->any_int;
}

static void partial_init(partial *p)
{
    acc a;
    acc_init(&a);
    partial_from(p, &a);
}

static void finish(mft_stats *o, const partial *p, const mftc_tensor *t,
                   int family)
{
    memset(o, 0, sizeof *o);
    o->status = MFT_OK;
    o->numel = t->numel;
    o->nan = p->nan;
    o->inf = p->inf;
    o->zeros = p->zeros;
    o->min = o->max = o->mean = o->std = o->m2 = NAN;
    if (family == F_COMPLEX) {
        o->count = t->numel - p->nan - p->inf;
        return;
    }
    o->count = p->mom.n;
    if (o->count) {
        o->min = p->min;
        o->max = p->max;
        o->mean = p->mom.mean;
        o->m2 = p->mom.m2;
    }
    if (o->count >= 2)
        o->std = sqrt(p->mom.m2 / (double)(o->count - 1));
    if (p->any_int && t->dtype == MFT_U64) {
        o->integer = 2;
        o->umin = p->umin;
        o->umax = p->umax;
    } else if (p->any_int) {
        o->integer = 1;
        o->imin = p->imin;
        o->imax = p->imax;
    }
}

/* ------------------------------------------------------------ the work */

typedef struct unit {
    size_t tensor;   /* position in the request */
    uint64_t first;  /* first element */
    uint64_t count;  /* elements; UINT64_MAX: the whole tensor by stream */
} unit;

typedef struct job {
    mft_file *f;
    const size_t *indices;
    size_t ntensors;
    tctx *ctx;          /* per requested tensor */
    mft_status *status; /* per requested tensor, fixed by the plan */
    atomic_int *err;    /* per requested tensor: a failure while running */
    unit *units;
    size_t nunits;
    partial *parts;     /* per unit */
    atomic_size_t next;
    atomic_uint_fast64_t done_bytes;
    atomic_int failed;
} job;

struct stream_state {
    const tctx *c;
    acc *a;
    double *buf;
    unsigned char carry[BLOCK * 16];
    size_t have;        /* bytes in carry */
    uint64_t next_elem; /* index of the first element in carry */
    size_t block_bytes; /* bytes of BLOCK elements */
    atomic_uint_fast64_t *done_bytes;
};

/* Bytes come in chunks of any length: gather them into whole blocks. */
static int stream_sink(void *user, const void *bytes, size_t len)
{
    struct stream_state *s = user;
    const unsigned char *p = bytes;
    if (s->done_bytes)
        atomic_fetch_add(s->done_bytes, len);
    while (len) {
        if (s->have == 0 && len >= s->block_bytes) {
            size_t whole = len / s->block_bytes;
            consume(s->c, s->a, p, s->next_elem, (uint64_t)whole * BLOCK,
                    s->buf);
            s->next_elem += (uint64_t)whole * BLOCK;
            p += whole * s->block_bytes;
            len -= whole * s->block_bytes;
            continue;
        }
        size_t k = s->block_bytes - s->have;
        if (k > len)
            k = len;
        memcpy(s->carry + s->have, p, k);
        s->have += k;
        p += k;
        len -= k;
        if (s->have == s->block_bytes) {
            consume(s->c, s->a, s->carry, s->next_elem, BLOCK, s->buf);
            s->next_elem += BLOCK;
            s->have = 0;
        }
    }
    return 0;
}

static mft_status run_unit(job *j, const unit *u, partial *out)
{
    const tctx *c = &j->ctx[u->tensor];
    const mftc_tensor *t = c->t;
    double buf[BLOCK];
    acc *a = malloc(sizeof *a);
    if (!a)
        return MFT_ERR_NOMEM;
    acc_init(a);
    mft_status st = MFT_OK;
    if (u->count == UINT64_MAX) {
        struct stream_state *s = malloc(sizeof *s);
        if (!s) {
            free(a);
            return MFT_ERR_NOMEM;
        }
        s->c = c;
        s->a = a;
        s->buf = buf;
        s->have = 0;
        s->next_elem = 0;
        s->block_bytes = (size_t)bytes_of(c, BLOCK);
        s->done_bytes = &j->done_bytes;
        st = mft_tensor_stream(j->f, j->indices ? j->indices[u->tensor]
                                                : u->tensor,
                               stream_sink, s);
        if (st == MFT_OK && s->have) {
            uint64_t rest = t->numel - s->next_elem;
            consume(c, a, s->carry, s->next_elem, rest, buf);
        }
        free(s);
    } else {
        uint64_t off = bytes_of(c, u->first);
        uint64_t len = bytes_of(c, u->count);
        const unsigned char *p = t->data + off;
        /* a whole-file pass: read ahead, and drop what was read from this
         * process (the pages stay in the page cache) so memory stays flat */
        int mapped = t->src != NULL;
        if (mapped && len > MFT_STREAM_CHUNK / 4)
            mftc_source_willneed(t->src, (uint64_t)(p - t->src->data), len);
        /* in slices, so finished pages can go while the unit runs */
        const uint64_t slice = (uint64_t)BLOCK * 256;
        for (uint64_t done = 0; done < u->count; done += slice) {
            uint64_t k = u->count - done < slice ? u->count - done : slice;
            const unsigned char *q = p + bytes_of(c, done);
            uint64_t kb = bytes_of(c, k);
            consume(c, a, q, u->first + done, k, buf);
            if (mapped)
                mftc_source_done(t->src, q, kb);
            atomic_fetch_add(&j->done_bytes, kb);
        }
    }
    partial_from(out, a);
    free(a);
    return st;
}

static void *worker(void *arg)
{
    job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->nunits)
            break;
        const unit *u = &j->units[i];
        if (atomic_load(&j->err[u->tensor]) != MFT_OK)
            continue;
        mft_status st = run_unit(j, u, &j->parts[i]);
        if (st != MFT_OK) {
            atomic_store(&j->err[u->tensor], (int)st);
            atomic_store(&j->failed, 1);
        }
    }
    return NULL;
}

static void setup_ctx(tctx *c, const mftc_tensor *t)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    c->family = t->kind ? F_NONE : family_of(t->dtype);
    if (mft_dtype_block(t->dtype, &c->epb, &c->bpb) != 0 || !c->epb) {
        c->family = F_NONE;
        return;
    }
    if (c->family == F_LUT)
        for (int b = 0; b < 256; b++) {
            unsigned char byte = (unsigned char)b;
            mft_dtype_to_f64(t->dtype, &byte, &c->lut[b], 1);
        }
    if (c->family == F_QUANT) {
        if (!t->quant_count || !t->quant_scale || !t->quant_zero_point) {
            c->family = F_NONE;
            return;
        }
        if (t->quant_count > 1 && t->quant_axis >= 0 &&
            t->quant_axis < t->ndim) {
            c->q_inner = 1;
            for (int d = t->quant_axis + 1; d < t->ndim; d++)
                c->q_inner *= t->shape[d] ? t->shape[d] : 1;
            c->q_extent = t->shape[t->quant_axis];
        }
    }
}

mft_status mft_stats_many(mft_file *f, const size_t *indices, size_t count,
                          const mft_stats_options *opts, mft_stats *out)
{
    if (!f || (!out && count))
        return MFT_ERR_MISUSE;
    size_t n = indices ? count : f->ntensors;
    if (!indices && count != f->ntensors)
        return MFT_ERR_MISUSE;
    for (size_t i = 0; indices && i < n; i++)
        if (indices[i] >= f->ntensors)
            return mftc_fail(f, MFT_ERR_NOT_FOUND, NULL, -1,
                             "no tensor number %zu", indices[i]);
    if (!n)
        return MFT_OK;
    job j;
    memset(&j, 0, sizeof j);
    j.f = f;
    j.indices = indices;
    j.ntensors = n;
    j.ctx = calloc(n, sizeof *j.ctx);
    j.status = calloc(n, sizeof *j.status);
    j.err = calloc(n, sizeof *j.err);
    uint64_t total_bytes = 0;
    size_t nunits = 0;
    if (!j.ctx || !j.status || !j.err)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        atomic_init(&j.err[i], MFT_OK);
    /* plan: units of UNIT_BYTES for tensors in flat memory, one streaming
     * unit for the others */
    for (size_t i = 0; i < n; i++) {
        const mftc_tensor *t = &f->tensors[indices ? indices[i] : i];
        setup_ctx(&j.ctx[i], t);
        if (j.ctx[i].family == F_NONE) {
            j.status[i] = t->kind ? MFT_ERR_UNSUPPORTED : MFT_ERR_DTYPE;
            continue;
        }
        if (t->numel == 0)
            continue;
        total_bytes += t->nbytes;
        if (t->data) {
            uint64_t per = UNIT_BYTES / bytes_of(&j.ctx[i], BLOCK) * BLOCK;
            nunits += (size_t)((t->numel + per - 1) / per);
        } else {
            nunits++;
        }
    }
    j.units = calloc(nunits ? nunits : 1, sizeof *j.units);
    j.parts = calloc(nunits ? nunits : 1, sizeof *j.parts);
    if (!j.units || !j.parts)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const mftc_tensor *t = j.ctx[i].t;
        if (j.status[i] != MFT_OK || t->numel == 0)
            continue;
        if (t->data) {
            uint64_t per = UNIT_BYTES / bytes_of(&j.ctx[i], BLOCK) * BLOCK;
            for (uint64_t e = 0; e < t->numel; e += per) {
                unit *u = &j.units[j.nunits++];
                u->tensor = i;
                u->first = e;
                u->count = t->numel - e < per ? t->numel - e : per;
            }
        } else {
            unit *u = &j.units[j.nunits++];
            u->tensor = i;
            u->first = 0;
            u->count = UINT64_MAX;
        }
    }
    atomic_init(&j.next, 0);
    atomic_init(&j.done_bytes, 0);
    atomic_init(&j.failed, 0);

    unsigned want = opts ? opts->threads : 0;
    if (want == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        want = cores > 0 ? (unsigned)cores : 1;
    }
    if (want > MAX_THREADS)
        want = MAX_THREADS;
    if (want > j.nunits)
        want = j.nunits ? (unsigned)j.nunits : 1;
    mft_progress_fn progress = opts ? opts->progress : NULL;
    /* with a progress callback the calling thread only reports */
    unsigned spawn = progress ? want : want - 1;
    pthread_t tid[MAX_THREADS];
    unsigned started = 0;
    for (unsigned k = 0; k < spawn; k++)
        if (pthread_create(&tid[started], NULL, worker, &j) == 0)
            started++;
    if (progress && started) {
        for (;;) {
            uint64_t d = atomic_load(&j.done_bytes);
            progress(opts->user, d, total_bytes);
            if (atomic_load(&j.next) >= j.nunits + started)
                break; /* every worker has taken its last (empty) ticket */
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    } else {
        worker(&j);
    }
    for (unsigned k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    if (progress)
        progress(opts->user, atomic_load(&j.done_bytes), total_bytes);

    /* merge each tensor's units in order */
    mft_status first_err = MFT_OK;
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        const mftc_tensor *t = j.ctx[i].t;
        partial p;
        partial_init(&p);
        for (; u < j.nunits && j.units[u].tensor == i; u++)
            partial_merge(&p, &j.parts[u]);
        finish(&out[i], &p, t, j.ctx[i].family);
        if (j.status[i] == MFT_OK)
            j.status[i] = (mft_status)atomic_load(&j.err[i]);
        out[i].status = j.status[i];
        if (j.status[i] != MFT_OK && j.status[i] != MFT_ERR_DTYPE &&
            j.status[i] != MFT_ERR_UNSUPPORTED && first_err == MFT_OK)
            first_err = j.status[i];
    }
    free(j.ctx);
    free(j.status);
    free(j.err);
    free(j.units);
    free(j.parts);
    return first_err;
nomem:
    free(j.ctx);
    free(j.status);
    free(j.err);
    free(j.units);
    free(j.parts);
    return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
}

mft_status mft_tensor_stats(mft_file *f, size_t index, mft_stats *out)
{
    if (!f || !out)
        return MFT_ERR_MISUSE;
    if (index >= f->ntensors)
        return mftc_fail(f, MFT_ERR_NOT_FOUND, NULL, -1,
                         "no tensor number %zu", index);
    mft_stats_options o;
    memset(&o, 0, sizeof o);
    o.threads = 1;
    mft_status st = mft_stats_many(f, &index, 1, &o, out);
    if (st == MFT_OK && out->status != MFT_OK) {
        const mftc_tensor *t = &f->tensors[index];
        st = out->status;
        if (t->kind)
            mftc_fail(f, st, t->member, -1,
                      "tensor \"%s\": no statistics for a %s tensor", t->name,
                      t->kind);
        else
            mftc_fail(f, st, t->member, -1,
                      "tensor \"%s\": no statistics for %s values", t->name,
                      mft_dtype_name(t->dtype));
    }
    return st;
}
