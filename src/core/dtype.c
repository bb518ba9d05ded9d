/* dtype.c — element types: names, sizes, the safetensors writer's order, and
 * exact conversions between every numeric dtype and double.
 *
 * Findings behind the rules below (checked against the reference sources and
 * against numpy 2.4 + ml_dtypes 0.7; tools/gen_dtype_oracle.py and
 * tests/test_dtype_oracle.py keep checking them):
 *
 *  - safetensors writer order. safetensors/src/tensor.rs, fn prepare(), sorts
 *    the tensors with
 *        right.dtype().cmp(&left.dtype()).then(lname.cmp(rname))
 *    and `Dtype` derives Ord, so the key is the enum's DECLARATION order
 *    (descending), then the tensor name (ascending, bytewise) — not the
 *    element size. The declaration order (ascending) is
 *        BOOL F4 F6_E2M3 F6_E3M2 U8 I8 F8_E5M2 F8_E4M3 F8_E8M0 F8_E4M3FNUZ
 *        F8_E5M2FNUZ I16 U16 F16 BF16 I32 U32 F32 C64 F64 I64 U64
 *    (every older release's enum is a subsequence of this one), so e.g. the
 *    64-bit group is written U64, I64, F64, C64 and the 32-bit one F32, U32,
 *    I32. mft_dtype_alignment() therefore returns a RANK in that order (10,
 *    20, …, 220), not a byte count: sorting by it descending, then by tensor
 *    name, reproduces the writer exactly. Types safetensors lacks get ranks
 *    between: STRING 2, I2 12, U2 13, I4 14, U4 15, C32 185, C128 230.
 *
 *  - F4 (E2M1) packing: two per byte, element 0 in the LOW nibble. This is
 *    what PyTorch's float4_e2m1fn_x2 producers write (test_matmul_cuda.py and
 *    torchao mx_formats pack_uint4: `data[1::2] << 4 | data[::2]`) and what
 *    the safetensors F4 dtype stores. ml_dtypes' float4_e2m1fn is unpacked
 *    (one per byte), so the oracle checks element codes, the unit test the
 *    packing. I4/U4/I2/U2 pack the same way, low bits first.
 *
 *  - F6_E2M3 / F6_E3M2: the packing of the 6-bit bit stream is not defined by
 *    safetensors (no binding maps them to a framework type), so to_f64 and
 *    from_f64 return MFT_ERR_DTYPE for them.
 *
 *  - Rounding is to nearest, ties to even, straight from double (no double
 *    rounding through float), as numpy (F16) and ml_dtypes (BF16, F8*, F4)
 *    do. torch converts a double through float first, so it can differ from
 *    these by one ulp on doubles just off a tie of the target.
 *
 *  - Out-of-range values and NaN, per type (ml_dtypes behaviour, matched
 *    bit for bit; torch differences noted):
 *      F16, BF16: overflow -> +-Inf. NaN -> quiet NaN with the input's sign
 *        (F16 also keeps the top 10 payload bits, like numpy; BF16 is always
 *        0x7FC0|sign like ml_dtypes; torch gives 0x7FC0 without the sign).
 *      F8_E5M2: overflow -> +-Inf; NaN -> 0x7E|sign (torch: 0x7F|sign).
 *      F8_E4M3 (fn): no Inf: overflow (anything rounding past 448, i.e.
 *        |x| > 464) and +-Inf -> NaN 0x7F|sign. torch's float8_e4m3fn cast is
 *        the same (non-saturating; NaN for |x| >= 480 and for rounding into
 *        0x7F).
 *      F8_E4M3FNUZ, F8_E5M2FNUZ: overflow, +-Inf and NaN -> 0x80; -0 and
 *        negative values that round to zero -> 0x00. Same in torch.
 *      F8_E8M0 (fnu): 2^(e-127). A significand >= 1.5 rounds up (ties go
 *        up); 0, negatives, NaN, +-Inf and values rounding past 2^127 -> 0xFF
 *        (NaN); positive values below 2^-127 -> 0x00. torch differs: it
 *        ignores the sign and maps 0 to 0x00.
 *      F4 (E2M1, no Inf/NaN): saturates to +-6 (0x7/0xF), +-Inf too. NaN
 *        gives ml_dtypes' value: +NaN -> 0x8 (-0), -NaN -> 0x0 (+0).
 *      Integers: truncate toward zero when in range, else (and NaN) 0.
 *      BOOL: 1 for any non-zero value, NaN included (numpy, torch).
 */
#include <string.h>

#include "mft.h"
#include "dtype.h"

/* ---------------------------------------------------------------- tables */

enum { F_FLOAT = 1, F_COMPLEX = 2 };

typedef struct {
    const char *name;
    unsigned char bits;
    unsigned char flags;
    unsigned short rank; /* safetensors writer order, see above */
} dtype_info;

static const dtype_info k_info[MFT_DTYPE_COUNT_] = {
    [MFT_DTYPE_INVALID] = {"INVALID", 0, 0, 1},
    [MFT_BOOL] = {"BOOL", 8, 0, 10},
    [MFT_U8] = {"U8", 8, 0, 50},
    [MFT_I8] = {"I8", 8, 0, 60},
    [MFT_U16] = {"U16", 16, 0, 130},
    [MFT_I16] = {"I16", 16, 0, 120},
    [MFT_U32] = {"U32", 32, 0, 170},
    [MFT_I32] = {"I32", 32, 0, 160},
    [MFT_U64] = {"U64", 64, 0, 220},
    [MFT_I64] = {"I64", 64, 0, 210},
    [MFT_F16] = {"F16", 16, F_FLOAT, 140},
    [MFT_BF16] = {"BF16", 16, F_FLOAT, 150},
    [MFT_F32] = {"F32", 32, F_FLOAT, 180},
    [MFT_F64] = {"F64", 64, F_FLOAT, 200},
    [MFT_C32] = {"C32", 32, F_FLOAT | F_COMPLEX, 185},
    [MFT_C64] = {"C64", 64, F_FLOAT | F_COMPLEX, 190},
    [MFT_C128] = {"C128", 128, F_FLOAT | F_COMPLEX, 230},
    [MFT_F8_E4M3] = {"F8_E4M3", 8, F_FLOAT, 80},
    [MFT_F8_E5M2] = {"F8_E5M2", 8, F_FLOAT, 70},
    [MFT_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8, F_FLOAT, 100},
    [MFT_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8, F_FLOAT, 110},
    [MFT_F8_E8M0] = {"F8_E8M0", 8, F_FLOAT, 90},
    [MFT_F4] = {"F4", 4, F_FLOAT, 20},
    [MFT_F6_E2M3] = {"F6_E2M3", 6, F_FLOAT, 30},
    [MFT_F6_E3M2] = {"F6_E3M2", 6, F_FLOAT, 40},
    [MFT_I4] = {"I4", 4, 0, 14},
    [MFT_U4] = {"U4", 4, 0, 15},
    [MFT_I2] = {"I2", 2, 0, 12},
    [MFT_U2] = {"U2", 2, 0, 13},
    [MFT_STRING] = {"STRING", 0, 0, 2},
    /* ggml block types: no per-element bit size (see k_block below); ranks
     * above every safetensors type, which cannot hold them anyway */
    [MFT_Q4_0] = {"Q4_0", 0, 0, 300},
    [MFT_Q4_1] = {"Q4_1", 0, 0, 301},
    [MFT_Q5_0] = {"Q5_0", 0, 0, 302},
    [MFT_Q5_1] = {"Q5_1", 0, 0, 303},
    [MFT_Q8_0] = {"Q8_0", 0, 0, 304},
    [MFT_Q8_1] = {"Q8_1", 0, 0, 305},
    [MFT_Q2_K] = {"Q2_K", 0, 0, 306},
    [MFT_Q3_K] = {"Q3_K", 0, 0, 307},
    [MFT_Q4_K] = {"Q4_K", 0, 0, 308},
    [MFT_Q5_K] = {"Q5_K", 0, 0, 309},
    [MFT_Q6_K] = {"Q6_K", 0, 0, 310},
    [MFT_Q8_K] = {"Q8_K", 0, 0, 311},
    [MFT_IQ2_XXS] = {"IQ2_XXS", 0, 0, 312},
    [MFT_IQ2_XS] = {"IQ2_XS", 0, 0, 313},
    [MFT_IQ3_XXS] = {"IQ3_XXS", 0, 0, 314},
    [MFT_IQ1_S] = {"IQ1_S", 0, 0, 315},
    [MFT_IQ4_NL] = {"IQ4_NL", 0, 0, 316},
    [MFT_IQ3_S] = {"IQ3_S", 0, 0, 317},
    [MFT_IQ2_S] = {"IQ2_S", 0, 0, 318},
    [MFT_IQ4_XS] = {"IQ4_XS", 0, 0, 319},
    [MFT_IQ1_M] = {"IQ1_M", 0, 0, 320},
    [MFT_TQ1_0] = {"TQ1_0", 0, 0, 321},
    [MFT_TQ2_0] = {"TQ2_0", 0, 0, 322},
    [MFT_MXFP4] = {"MXFP4", 0, 0, 323},
    [MFT_NVFP4] = {"NVFP4", 0, 0, 324},
    [MFT_Q1_0] = {"Q1_0", 0, 0, 325},
    [MFT_Q2_0] = {"Q2_0", 0, 0, 326},
    [MFT_QI8] = {"QI8", 8, 0, 327},
    [MFT_QU8] = {"QU8", 8, 0, 328},
    [MFT_QI32] = {"QI32", 32, 0, 329},
};

/* Elements and bytes per block of ggml's block types, from the block structs
 * of ggml-common.h (QK_K = 256) at ggml d99724f, as gguf-py's
 * GGML_QUANT_SIZES lists them. Indexed by dtype - MFT_Q4_0. */
static const struct {
    unsigned short elems, bytes;
} k_block[MFT_Q2_0 + 1 - MFT_Q4_0] = {
    {32, 18},   /* Q4_0: half d; u8 qs[16] */
    {32, 20},   /* Q4_1: half d, m; u8 qs[16] */
    {32, 22},   /* Q5_0: half d; u8 qh[4]; u8 qs[16] */
    {32, 24},   /* Q5_1: half d, m; u8 qh[4]; u8 qs[16] */
    {32, 34},   /* Q8_0: half d; i8 qs[32] */
    {32, 36},   /* Q8_1: half d, s; i8 qs[32] */
    {256, 84},  /* Q2_K */
    {256, 110}, /* Q3_K */
    {256, 144}, /* Q4_K */
    {256, 176}, /* Q5_K */
    {256, 210}, /* Q6_K */
    {256, 292}, /* Q8_K: float d; i8 qs[256]; i16 bsums[16] */
    {256, 66},  /* IQ2_XXS */
    {256, 74},  /* IQ2_XS */
    {256, 98},  /* IQ3_XXS */
    {256, 50},  /* IQ1_S */
    {32, 18},   /* IQ4_NL */
    {256, 110}, /* IQ3_S */
    {256, 82},  /* IQ2_S */
    {256, 136}, /* IQ4_XS */
    {256, 56},  /* IQ1_M */
    {256, 54},  /* TQ1_0 */
    {256, 66},  /* TQ2_0 */
    {32, 17},   /* MXFP4: u8 e; u8 qs[16] */
    {64, 36},   /* NVFP4: u8 d[4]; u8 qs[32] */
    {128, 18},  /* Q1_0 */
    {64, 18},   /* Q2_0 */
};

static int valid(mft_dtype d)
{
    return (int)d > 0 && (int)d < MFT_DTYPE_COUNT_;
}

MFT_API const char *mft_dtype_name(mft_dtype dtype)
{
    return valid(dtype) ? k_info[dtype].name : "INVALID";
}

MFT_API mft_dtype mft_dtype_from_name(const char *name)
{
    if (!name)
        return MFT_DTYPE_INVALID;
    for (int d = 1; d < MFT_DTYPE_COUNT_; d++)
        if (strcmp(name, k_info[d].name) == 0)
            return (mft_dtype)d;
    return MFT_DTYPE_INVALID;
}

MFT_API unsigned mft_dtype_bits(mft_dtype dtype)
{
    return valid(dtype) ? k_info[dtype].bits : 0;
}

MFT_API int mft_dtype_is_float(mft_dtype dtype)
{
    return valid(dtype) && (k_info[dtype].flags & F_FLOAT) != 0;
}

MFT_API int mft_dtype_is_complex(mft_dtype dtype)
{
    return valid(dtype) && (k_info[dtype].flags & F_COMPLEX) != 0;
}

MFT_API int mft_dtype_block(mft_dtype dtype, unsigned *elems_per_block,
                            unsigned *bytes_per_block)
{
    unsigned e = 0, b = 0;
    int r = -1;
    if (valid(dtype) && dtype >= MFT_Q4_0 && dtype <= MFT_Q2_0) {
        e = k_block[dtype - MFT_Q4_0].elems;
        b = k_block[dtype - MFT_Q4_0].bytes;
        r = 1;
    } else if (valid(dtype) && k_info[dtype].bits) {
        unsigned bits = k_info[dtype].bits;
        e = bits % 8 ? 8 : 1;
        b = bits % 8 ? bits : bits / 8;
        r = 0;
    }
    if (elems_per_block)
        *elems_per_block = e;
    if (bytes_per_block)
        *bytes_per_block = b;
    return r;
}

int mftc_tensor_size(mft_dtype dtype, const uint64_t *shape, int ndim,
                     uint64_t *numel, uint64_t *nbytes, const char **why)
{
    unsigned e, b;
    uint64_t n = 1, total;
    *why = "";
    int kind = mft_dtype_block(dtype, &e, &b);
    if (kind < 0) {
        *why = "has no fixed element size";
        return 0;
    }
    for (int i = 0; i < ndim; i++)
        if (__builtin_mul_overflow(n, shape[i], &n)) {
            *why = "has an element count that overflows 64 bits";
            return 0;
        }
    if (kind == 1 && ndim > 0 && shape[ndim - 1] % e) {
        *why = "has an innermost dimension that is not a multiple of the "
               "block size";
        return 0;
    }
    if (kind == 1 && ndim == 0) {
        *why = "is a scalar of a block type";
        return 0;
    }
    if (kind == 0) {
        uint64_t bits;
        if (__builtin_mul_overflow(n, (uint64_t)k_info[dtype].bits, &bits)) {
            *why = "has a byte size that overflows 64 bits";
            return 0;
        }
        if (bits % 8) {
            *why = "does not fill whole bytes";
            return 0;
        }
        *numel = n;
        *nbytes = bits / 8;
        return 1;
    }
    if (__builtin_mul_overflow(n / e, (uint64_t)b, &total)) {
        *why = "has a byte size that overflows 64 bits";
        return 0;
    }
    *numel = n;
    *nbytes = total;
    return 1;
}

/* A rank, not bytes: see the note at the top of this file. */
MFT_API unsigned mft_dtype_alignment(mft_dtype dtype)
{
    return valid(dtype) ? k_info[dtype].rank : 1;
}

/* ---------------------------------------------------------------- bits */

#define D_SIGN UINT64_C(0x8000000000000000)
#define D_EXP UINT64_C(0x7FF0000000000000)
#define D_FRAC UINT64_C(0x000FFFFFFFFFFFFF)
#define D_HIDDEN UINT64_C(0x0010000000000000)
#define D_QNAN UINT64_C(0x7FF8000000000000)

static inline uint64_t dbits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline double dfrom(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static inline uint32_t fbits(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline float ffrom(uint32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* 2^k for -1022 <= k <= 1023, exactly. */
static inline double pow2(int k)
{
    return dfrom((uint64_t)(k + 1023) << 52);
}

static inline int clz64(uint64_t v) /* v != 0 */
{
#if defined(__GNUC__)
    return __builtin_clzll(v);
#else
    int n = 0;
    while (!(v & D_SIGN)) {
        v <<= 1;
        n++;
    }
    return n;
#endif
}

/* Little-endian loads and stores, byte by byte (compilers fuse them). */
static inline uint16_t ld16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}
static inline uint32_t ld32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t ld64(const unsigned char *p)
{
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}
static inline void st16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void st32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static inline void st64(unsigned char *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

/* Sub-byte element i of a packed buffer (low bits first). */
static inline unsigned get_packed(const unsigned char *p, size_t i,
                                  unsigned bits)
{
    unsigned per = 8 / bits;
    unsigned sh = (unsigned)(i % per) * bits;
    return (p[i / per] >> sh) & ((1u << bits) - 1);
}

/* Writes element i; the first element of a byte clears the byte, so the
 * unused bits of a last partial byte end up zero. */
static inline void put_packed(unsigned char *p, size_t i, unsigned bits,
                              unsigned v)
{
    unsigned per = 8 / bits;
    unsigned sh = (unsigned)(i % per) * bits;
    v &= (1u << bits) - 1;
    if (sh == 0)
        p[i / per] = (unsigned char)v;
    else
        p[i / per] = (unsigned char)(p[i / per] | v << sh);
}

/* ---------------------------------------------------------------- minifloats */

enum {
    MF_IEEE, /* all-ones exponent: Inf (mantissa 0) / NaN */
    MF_FN,   /* no Inf; S.1..1.1..1 is NaN; overflow -> NaN */
    MF_FNUZ, /* no Inf, no -0; 0x80 is the only NaN; overflow -> NaN */
    MF_SAT   /* no Inf/NaN; overflow saturates */
};

typedef struct {
    unsigned char ebits, mbits;
    short bias;
    unsigned char kind;
    unsigned char keep_payload; /* NaN keeps the top payload bits (F16) */
    uint16_t max_code;          /* largest finite magnitude */
    uint16_t nan_code;          /* NaN magnitude (FNUZ: the whole code) */
} mf_spec;

static const mf_spec MF_F16 = {5, 10, 15, MF_IEEE, 1, 0x7BFF, 0x7E00};
static const mf_spec MF_BF16 = {8, 7, 127, MF_IEEE, 0, 0x7F7F, 0x7FC0};
static const mf_spec MF_E4M3 = {4, 3, 7, MF_FN, 0, 0x7E, 0x7F};
static const mf_spec MF_E5M2 = {5, 2, 15, MF_IEEE, 0, 0x7B, 0x7E};
static const mf_spec MF_E4M3FNUZ = {4, 3, 8, MF_FNUZ, 0, 0x7F, 0x80};
static const mf_spec MF_E5M2FNUZ = {5, 2, 16, MF_FNUZ, 0, 0x7F, 0x80};
static const mf_spec MF_F4 = {2, 1, 1, MF_SAT, 0, 0x7, 0};

static double mf_decode(const mf_spec *sp, uint32_t c)
{
    unsigned m = sp->mbits;
    uint32_t signbit = 1u << (sp->ebits + m);
    uint32_t mag = c & (signbit - 1);
    uint32_t e = mag >> m, f = mag & ((1u << m) - 1);
    uint64_t s = (c & signbit) ? D_SIGN : 0;

    switch (sp->kind) {
    case MF_IEEE:
        if (e == (1u << sp->ebits) - 1) /* Inf (f == 0) or NaN, payload kept */
            return dfrom(s | D_EXP | (uint64_t)f << (52 - m));
        break;
    case MF_FN:
        if (mag == sp->nan_code)
            return dfrom(s | D_QNAN);
        break;
    case MF_FNUZ:
        if (c == signbit) /* the "-0" slot: NaN, negative as in ml_dtypes */
            return dfrom(D_SIGN | D_QNAN);
        break;
    default:
        break;
    }
    double v = e == 0 ? (double)f * pow2(1 - sp->bias - (int)m)
                      : (double)(f | 1u << m) * pow2((int)e - sp->bias - (int)m);
    return s ? -v : v;
}

/* Exponent E and 53-bit significand S (hidden bit at 52) of a finite,
 * non-zero magnitude: value = S * 2^(E-52). */
static inline void split(uint64_t a, int *E, uint64_t *S)
{
    if (a >> 52) {
        *S = (a & D_FRAC) | D_HIDDEN;
        *E = (int)(a >> 52) - 1023;
    } else { /* double subnormal */
        int lz = clz64(a) - 11;
        *S = a << lz;
        *E = -1022 - lz;
    }
}

/* The code of magnitude `a` (finite, non-zero double bits) rounded to nearest
 * even; may exceed the format's largest finite code (a carry out of the top
 * exponent or a bigger exponent). */
static uint64_t mf_round(uint64_t a, int mbits, int bias)
{
    int E;
    uint64_t S, N;
    split(a, &E, &S);
    int emin = 1 - bias;
    int q = (E >= emin ? E : emin) - mbits; /* exponent of the last bit kept */
    int shift = 52 + q - E;                 /* >= 52 - mbits >= 1 */
    if (shift >= 64) {
        N = 0;
    } else {
        uint64_t rem = S & ((UINT64_C(1) << shift) - 1);
        uint64_t half = UINT64_C(1) << (shift - 1);
        N = S >> shift;
        if (rem > half || (rem == half && (N & 1)))
            N++;
    }
    /* Normal: (E - emin) << m plus the significand with its hidden bit;
     * subnormal: N alone. A carry into the hidden bit bumps the exponent. */
    return ((uint64_t)(q - emin + mbits) << mbits) + N;
}

static uint32_t mf_encode(const mf_spec *sp, double x)
{
    uint64_t b = dbits(x), a = b & ~D_SIGN;
    int neg = (b & D_SIGN) != 0;
    uint32_t signbit = 1u << (sp->ebits + sp->mbits);
    uint32_t s = neg ? signbit : 0;
    uint32_t inf_code = ((1u << sp->ebits) - 1) << sp->mbits;

    if (a >= D_EXP) {
        if (a > D_EXP) { /* NaN */
            switch (sp->kind) {
            case MF_IEEE:
                if (sp->keep_payload)
                    return s | sp->nan_code |
                           (uint32_t)((a & D_FRAC) >> (52 - sp->mbits));
                return s | sp->nan_code;
            case MF_FN:
                return s | sp->nan_code;
            case MF_FNUZ:
                return sp->nan_code;
            default: /* ml_dtypes: NaN -> quiet_NaN() = -0, negated for -NaN */
                return neg ? 0 : signbit;
            }
        }
        /* +-Inf */
        switch (sp->kind) {
        case MF_IEEE:
            return s | inf_code;
        case MF_FN:
            return s | sp->nan_code;
        case MF_FNUZ:
            return sp->nan_code;
        default:
            return s | sp->max_code;
        }
    }
    if (a == 0)
        return sp->kind == MF_FNUZ ? 0 : s;

    uint64_t code = mf_round(a, sp->mbits, sp->bias);
    if (code > sp->max_code) {
        switch (sp->kind) {
        case MF_IEEE:
            return s | inf_code;
        case MF_FN:
            return s | sp->nan_code;
        case MF_FNUZ:
            return sp->nan_code;
        default:
            return s | sp->max_code;
        }
    }
    if (code == 0 && sp->kind == MF_FNUZ)
        return 0;
    return s | (uint32_t)code;
}

/* E8M0: unsigned, 2^(c-127), 0xFF NaN, no zero. */
static double e8m0_decode(uint32_t c)
{
    return c == 0xFF ? dfrom(D_QNAN) : pow2((int)c - 127);
}

static uint32_t e8m0_encode(double x)
{
    uint64_t b = dbits(x);
    if (b & D_SIGN) /* negatives, -0, -Inf, negative NaN */
        return 0xFF;
    if (b == 0 || b >= D_EXP) /* +0, +Inf, NaN */
        return 0xFF;
    int E;
    uint64_t S;
    split(b, &E, &S);
    if (S & (UINT64_C(1) << 51)) /* significand >= 1.5: up (ties up) */
        E++;
    if (E < -127)
        return 0x00;
    if (E > 127)
        return 0xFF;
    return (uint32_t)(E + 127);
}

/* ---------------------------------------------------------------- f16/bf16 */

float mftc_f16_to_f32(uint16_t h)
{
    uint32_t s = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1F, m = h & 0x3FF;
    if (e == 0x1F)
        return ffrom(s | 0x7F800000u | m << 13);
    if (e == 0) {
        if (m == 0)
            return ffrom(s);
        float v = (float)m * 0x1p-24f; /* exact */
        return ffrom(s | fbits(v));
    }
    return ffrom(s | (e + 112) << 23 | m << 13);
}

uint16_t mftc_f32_to_f16(float f)
{
    uint32_t u = fbits(f);
    uint16_t s = (uint16_t)((u >> 16) & 0x8000);
    u &= 0x7FFFFFFFu;
    if (u >= 0x7F800000u) {
        if (u > 0x7F800000u) /* NaN: quiet, top payload bits kept */
            return (uint16_t)(s | 0x7E00 | ((u >> 13) & 0x3FF));
        return (uint16_t)(s | 0x7C00);
    }
    if (u >= 0x477FF000u) /* >= 65520: rounds to Inf */
        return (uint16_t)(s | 0x7C00);
    if (u >= 0x38800000u) { /* normal half: rebias, round 13 bits */
        uint32_t r = u - 0x38000000u;
        r += 0xFFFu + ((r >> 13) & 1);
        return (uint16_t)(s | (r >> 13));
    }
    if (u <= 0x33000000u) /* <= 2^-25: rounds to 0 (2^-25 is a tie to 0) */
        return s;
    /* subnormal half: N = m * 2^(e - 150 + 24) */
    uint32_t e = u >> 23, m = (u & 0x7FFFFF) | 0x800000;
    unsigned shift = 126 - e; /* 14 .. 24 */
    uint32_t n = m >> shift, rem = m & ((1u << shift) - 1),
             half = 1u << (shift - 1);
    if (rem > half || (rem == half && (n & 1)))
        n++;
    return (uint16_t)(s | n);
}

float mftc_bf16_to_f32(uint16_t h)
{
    return ffrom((uint32_t)h << 16);
}

uint16_t mftc_f32_to_bf16(float f)
{
    uint32_t u = fbits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)(((u >> 16) & 0x8000) | 0x7FC0);
    u += 0x7FFFu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

/* ---------------------------------------------------------------- integers */

/* double -> integer: truncate toward zero in range, else (and NaN) 0. The
 * bounds are exclusive and exact in double. */
static inline int64_t f2i(double x, double lo, double hi)
{
    return (x > lo && x < hi) ? (int64_t)x : 0;
}

static inline uint64_t f2u64(double x)
{
    return (x > -1.0 && x < 0x1p64) ? (uint64_t)x : 0;
}

static inline int64_t f2i64(double x)
{
    return (x >= -0x1p63 && x < 0x1p63) ? (int64_t)x : 0;
}

/* ---------------------------------------------------------------- to/from f64 */

static int supported(mft_dtype d)
{
    return valid(d) && d != MFT_STRING && d != MFT_F6_E2M3 &&
           d != MFT_F6_E3M2 && d < MFT_Q4_0;
}

/* `count` elements; complex types write 2*count doubles. */
static void to_f64_impl(mft_dtype dtype, const unsigned char *p, double *o,
                        size_t count)
{
    size_t i;
    switch (dtype) {
    case MFT_BOOL:
        for (i = 0; i < count; i++)
            o[i] = p[i] ? 1.0 : 0.0;
        break;
    case MFT_U8:
        for (i = 0; i < count; i++)
            o[i] = p[i];
        break;
    case MFT_I8:
        for (i = 0; i < count; i++)
            o[i] = (int8_t)p[i];
        break;
    case MFT_U16:
        for (i = 0; i < count; i++)
            o[i] = ld16(p + 2 * i);
        break;
    case MFT_I16:
        for (i = 0; i < count; i++)
            o[i] = (int16_t)ld16(p + 2 * i);
        break;
    case MFT_U32:
        for (i = 0; i < count; i++)
            o[i] = ld32(p + 4 * i);
        break;
    case MFT_I32:
        for (i = 0; i < count; i++)
            o[i] = (int32_t)ld32(p + 4 * i);
        break;
    case MFT_U64:
        for (i = 0; i < count; i++)
            o[i] = (double)ld64(p + 8 * i);
        break;
    case MFT_I64:
        for (i = 0; i < count; i++)
            o[i] = (double)(int64_t)ld64(p + 8 * i);
        break;
    case MFT_C32:
        count *= 2;
        /* fall through */
    case MFT_F16:
        for (i = 0; i < count; i++)
            o[i] = mf_decode(&MF_F16, ld16(p + 2 * i));
        break;
    case MFT_BF16:
        for (i = 0; i < count; i++)
            o[i] = mf_decode(&MF_BF16, ld16(p + 2 * i));
        break;
    case MFT_C64:
        count *= 2;
        /* fall through */
    case MFT_F32:
        for (i = 0; i < count; i++)
            o[i] = (double)ffrom(ld32(p + 4 * i));
        break;
    case MFT_C128:
        count *= 2;
        /* fall through */
    case MFT_F64:
        for (i = 0; i < count; i++)
            o[i] = dfrom(ld64(p + 8 * i));
        break;
    case MFT_F8_E4M3:
        for (i = 0; i < count; i++)
            o[i] = mf_decode(&MF_E4M3, p[i]);
        break;
    case MFT_F8_E5M2:
        for (i = 0; i < count; i++)
            o[i] = mf_decode(&MF_E5M2, p[i]);
        break;
    case MFT_F8_E4M3FNUZ:
        for (i = 0; i < count; i++)
            o[i] = mf_decode(&MF_E4M3FNUZ, p[i]);
        break;
    case MFT_F8_E5M2FNUZ:
        for (i = 0; i < count; i++)
            o[i] = mf_decode(&MF_E5M2FNUZ, p[i]);
        break;
    case MFT_F8_E8M0:
        for (i = 0; i < count; i++)
            o[i] = e8m0_decode(p[i]);
        break;
    case MFT_F4:
        for (i = 0; i < count; i++)
            o[i] = mf_decode(&MF_F4, get_packed(p, i, 4));
        break;
    case MFT_I4:
        for (i = 0; i < count; i++)
            o[i] = (int)(get_packed(p, i, 4) ^ 8u) - 8;
        break;
    case MFT_U4:
        for (i = 0; i < count; i++)
            o[i] = get_packed(p, i, 4);
        break;
    case MFT_I2:
        for (i = 0; i < count; i++)
            o[i] = (int)(get_packed(p, i, 2) ^ 2u) - 2;
        break;
    case MFT_U2:
        for (i = 0; i < count; i++)
            o[i] = get_packed(p, i, 2);
        break;
    default:
        break;
    }
}

/* `count` elements; complex types read 2*count doubles. */
static void from_f64_impl(mft_dtype dtype, const double *x, unsigned char *p,
                          size_t count)
{
    size_t i;
    switch (dtype) {
    case MFT_BOOL:
        for (i = 0; i < count; i++)
            p[i] = x[i] != 0.0; /* NaN != 0: 1 */
        break;
    case MFT_U8:
        for (i = 0; i < count; i++)
            p[i] = (unsigned char)f2i(x[i], -1.0, 256.0);
        break;
    case MFT_I8:
        for (i = 0; i < count; i++)
            p[i] = (unsigned char)f2i(x[i], -129.0, 128.0);
        break;
    case MFT_U16:
        for (i = 0; i < count; i++)
            st16(p + 2 * i, (uint16_t)f2i(x[i], -1.0, 65536.0));
        break;
    case MFT_I16:
        for (i = 0; i < count; i++)
            st16(p + 2 * i, (uint16_t)f2i(x[i], -32769.0, 32768.0));
        break;
    case MFT_U32:
        for (i = 0; i < count; i++)
            st32(p + 4 * i, (uint32_t)f2i(x[i], -1.0, 4294967296.0));
        break;
    case MFT_I32:
        for (i = 0; i < count; i++)
            st32(p + 4 * i,
                 (uint32_t)f2i(x[i], -2147483649.0, 2147483648.0));
        break;
    case MFT_U64:
        for (i = 0; i < count; i++)
            st64(p + 8 * i, f2u64(x[i]));
        break;
    case MFT_I64:
        for (i = 0; i < count; i++)
            st64(p + 8 * i, (uint64_t)f2i64(x[i]));
        break;
    case MFT_C32:
        count *= 2;
        /* fall through */
    case MFT_F16:
        for (i = 0; i < count; i++)
            st16(p + 2 * i, (uint16_t)mf_encode(&MF_F16, x[i]));
        break;
    case MFT_BF16:
        for (i = 0; i < count; i++)
            st16(p + 2 * i, (uint16_t)mf_encode(&MF_BF16, x[i]));
        break;
    case MFT_C64:
        count *= 2;
        /* fall through */
    case MFT_F32:
        for (i = 0; i < count; i++)
            st32(p + 4 * i, fbits((float)x[i])); /* RNE; overflow -> Inf */
        break;
    case MFT_C128:
        count *= 2;
        /* fall through */
    case MFT_F64:
        for (i = 0; i < count; i++)
            st64(p + 8 * i, dbits(x[i]));
        break;
    case MFT_F8_E4M3:
        for (i = 0; i < count; i++)
            p[i] = (unsigned char)mf_encode(&MF_E4M3, x[i]);
        break;
    case MFT_F8_E5M2:
        for (i = 0; i < count; i++)
            p[i] = (unsigned char)mf_encode(&MF_E5M2, x[i]);
        break;
    case MFT_F8_E4M3FNUZ:
        for (i = 0; i < count; i++)
            p[i] = (unsigned char)mf_encode(&MF_E4M3FNUZ, x[i]);
        break;
    case MFT_F8_E5M2FNUZ:
        for (i = 0; i < count; i++)
            p[i] = (unsigned char)mf_encode(&MF_E5M2FNUZ, x[i]);
        break;
    case MFT_F8_E8M0:
        for (i = 0; i < count; i++)
            p[i] = (unsigned char)e8m0_encode(x[i]);
        break;
    case MFT_F4:
        for (i = 0; i < count; i++)
            put_packed(p, i, 4, mf_encode(&MF_F4, x[i]));
        break;
    case MFT_I4:
        for (i = 0; i < count; i++)
            put_packed(p, i, 4, (unsigned)f2i(x[i], -9.0, 8.0));
        break;
    case MFT_U4:
        for (i = 0; i < count; i++)
            put_packed(p, i, 4, (unsigned)f2i(x[i], -1.0, 16.0));
        break;
    case MFT_I2:
        for (i = 0; i < count; i++)
            put_packed(p, i, 2, (unsigned)f2i(x[i], -3.0, 2.0));
        break;
    case MFT_U2:
        for (i = 0; i < count; i++)
            put_packed(p, i, 2, (unsigned)f2i(x[i], -1.0, 4.0));
        break;
    default:
        break;
    }
}

MFT_API mft_status mft_dtype_to_f64(mft_dtype dtype, const void *src,
                                    double *dst, size_t count)
{
    if (!supported(dtype))
        return MFT_ERR_DTYPE;
    if (count == 0)
        return MFT_OK;
    if (!src || !dst)
        return MFT_ERR_MISUSE;
    to_f64_impl(dtype, (const unsigned char *)src, dst, count);
    return MFT_OK;
}

MFT_API mft_status mft_dtype_from_f64(mft_dtype dtype, const double *src,
                                      void *dst, size_t count)
{
    if (!supported(dtype))
        return MFT_ERR_DTYPE;
    if (count == 0)
        return MFT_OK;
    if (!src || !dst)
        return MFT_ERR_MISUSE;
    from_f64_impl(dtype, src, (unsigned char *)dst, count);
    return MFT_OK;
}

/* ---------------------------------------------------------------- convert */

static int is_int(mft_dtype d)
{
    switch (d) {
    case MFT_BOOL: case MFT_U8: case MFT_I8: case MFT_U16: case MFT_I16:
    case MFT_U32: case MFT_I32: case MFT_U64: case MFT_I64: case MFT_I4:
    case MFT_U4: case MFT_I2: case MFT_U2:
        return 1;
    default:
        return 0;
    }
}

/* Element i of an integer type, sign-extended to 64 bits. */
static uint64_t load_int(mft_dtype d, const unsigned char *p, size_t i)
{
    switch (d) {
    case MFT_BOOL: return p[i] != 0;
    case MFT_U8: return p[i];
    case MFT_I8: return (uint64_t)(int64_t)(int8_t)p[i];
    case MFT_U16: return ld16(p + 2 * i);
    case MFT_I16: return (uint64_t)(int64_t)(int16_t)ld16(p + 2 * i);
    case MFT_U32: return ld32(p + 4 * i);
    case MFT_I32: return (uint64_t)(int64_t)(int32_t)ld32(p + 4 * i);
    case MFT_U64:
    case MFT_I64: return ld64(p + 8 * i);
    case MFT_U4: return get_packed(p, i, 4);
    case MFT_I4: return (uint64_t)((int64_t)(get_packed(p, i, 4) ^ 8u) - 8);
    case MFT_U2: return get_packed(p, i, 2);
    case MFT_I2: return (uint64_t)((int64_t)(get_packed(p, i, 2) ^ 2u) - 2);
    default: return 0;
    }
}

/* Stores the low bits (two's-complement wrap); BOOL gets v != 0. */
static void store_int(mft_dtype d, unsigned char *p, size_t i, uint64_t v)
{
    switch (d) {
    case MFT_BOOL: p[i] = v != 0; break;
    case MFT_U8: case MFT_I8: p[i] = (unsigned char)v; break;
    case MFT_U16: case MFT_I16: st16(p + 2 * i, (uint16_t)v); break;
    case MFT_U32: case MFT_I32: st32(p + 4 * i, (uint32_t)v); break;
    case MFT_U64: case MFT_I64: st64(p + 8 * i, v); break;
    case MFT_U4: case MFT_I4: put_packed(p, i, 4, (unsigned)(v & 0xF)); break;
    case MFT_U2: case MFT_I2: put_packed(p, i, 2, (unsigned)(v & 0x3)); break;
    default: break;
    }
}

#define CHUNK 256 /* a multiple of every per-byte packing */

void mftc_convert(mft_dtype dst_dtype, void *dst, mft_dtype src_dtype,
                  const void *src, size_t count)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *d = (unsigned char *)dst;
    size_t i;

    if (count == 0 || !supported(dst_dtype) || !supported(src_dtype) ||
        !src || !dst)
        return;

    if (dst_dtype == src_dtype) {
        unsigned bits = k_info[dst_dtype].bits;
        size_t nbits = count * bits; /* count*bits fits: the buffer exists */
        memcpy(d, s, (nbits + 7) / 8);
        if (nbits % 8)
            d[nbits / 8] &= (unsigned char)((1u << (nbits % 8)) - 1);
        return;
    }

#define PAIR(a, b) ((unsigned)(a) * 64u + (unsigned)(b))
    switch (PAIR(src_dtype, dst_dtype)) {
    case PAIR(MFT_F32, MFT_F16):
        for (i = 0; i < count; i++)
            st16(d + 2 * i, mftc_f32_to_f16(ffrom(ld32(s + 4 * i))));
        return;
    case PAIR(MFT_F16, MFT_F32):
        for (i = 0; i < count; i++)
            st32(d + 4 * i, fbits(mftc_f16_to_f32(ld16(s + 2 * i))));
        return;
    case PAIR(MFT_F32, MFT_BF16):
        for (i = 0; i < count; i++)
            st16(d + 2 * i, mftc_f32_to_bf16(ffrom(ld32(s + 4 * i))));
        return;
    case PAIR(MFT_BF16, MFT_F32):
        for (i = 0; i < count; i++)
            st32(d + 4 * i, (uint32_t)ld16(s + 2 * i) << 16);
        return;
    case PAIR(MFT_F16, MFT_BF16):
        for (i = 0; i < count; i++)
            st16(d + 2 * i, mftc_f32_to_bf16(mftc_f16_to_f32(ld16(s + 2 * i))));
        return;
    case PAIR(MFT_BF16, MFT_F16):
        for (i = 0; i < count; i++)
            st16(d + 2 * i, mftc_f32_to_f16(mftc_bf16_to_f32(ld16(s + 2 * i))));
        return;
    default:
        break;
    }
#undef PAIR

    if (is_int(src_dtype) && is_int(dst_dtype)) {
        for (i = 0; i < count; i++)
            store_int(dst_dtype, d, i, load_int(src_dtype, s, i));
        return;
    }

    /* General path through double, CHUNK elements at a time. */
    int sc = mft_dtype_is_complex(src_dtype), dc = mft_dtype_is_complex(dst_dtype);
    unsigned sbits = k_info[src_dtype].bits, dbits_ = k_info[dst_dtype].bits;
    double buf[2 * CHUNK];
    for (size_t done = 0; done < count; done += CHUNK) {
        size_t n = count - done < CHUNK ? count - done : CHUNK;
        to_f64_impl(src_dtype, s + done / 8 * sbits, buf, n);
        if (sc && !dc) { /* keep the real parts */
            for (i = 0; i < n; i++)
                buf[i] = buf[2 * i];
        } else if (!sc && dc) { /* imaginary parts 0 */
            for (i = n; i-- > 0;) {
                buf[2 * i] = buf[i];
                buf[2 * i + 1] = 0.0;
            }
        }
        from_f64_impl(dst_dtype, buf, d + done / 8 * dbits_, n);
    }
}
