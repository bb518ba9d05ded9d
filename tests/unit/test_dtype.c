/* Unit tests for src/core/dtype.c: names, sizes, writer order, exhaustive
 * decode/encode round trips and hand-picked rounding/overflow cases. The
 * comparison with numpy/ml_dtypes is tests/test_dtype_oracle.py. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mft.h"
#include "../../src/core/dtype.h"
#include "unit.h"

static uint64_t bits64(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static double from_bits64(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static uint32_t bits32(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static float from_bits32(uint32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Encodes one double into a byte-sized (or 16-bit) code. */
static unsigned enc1(mft_dtype d, double x)
{
    unsigned char b[8] = {0};
    mft_status st = mft_dtype_from_f64(d, &x, b, 1);
    if (st != MFT_OK)
        return 0xFFFFFFFFu;
    return mft_dtype_bits(d) == 16 ? (unsigned)(b[0] | b[1] << 8) : b[0];
}

static double dec1(mft_dtype d, unsigned code)
{
    unsigned char b[2] = {(unsigned char)code, (unsigned char)(code >> 8)};
    double x = -12345.0;
    if (mft_dtype_to_f64(d, b, &x, 1) != MFT_OK)
        return -54321.0;
    return x;
}

/* ---------------------------------------------------------------- tables */

static const struct {
    mft_dtype d;
    const char *name;
    unsigned bits;
    int is_float, is_complex;
} k_table[] = {
    {MFT_BOOL, "BOOL", 8, 0, 0},
    {MFT_U8, "U8", 8, 0, 0},
    {MFT_I8, "I8", 8, 0, 0},
    {MFT_U16, "U16", 16, 0, 0},
    {MFT_I16, "I16", 16, 0, 0},
    {MFT_U32, "U32", 32, 0, 0},
    {MFT_I32, "I32", 32, 0, 0},
    {MFT_U64, "U64", 64, 0, 0},
    {MFT_I64, "I64", 64, 0, 0},
    {MFT_F16, "F16", 16, 1, 0},
    {MFT_BF16, "BF16", 16, 1, 0},
    {MFT_F32, "F32", 32, 1, 0},
    {MFT_F64, "F64", 64, 1, 0},
    {MFT_C32, "C32", 32, 1, 1},
    {MFT_C64, "C64", 64, 1, 1},
    {MFT_C128, "C128", 128, 1, 1},
    {MFT_F8_E4M3, "F8_E4M3", 8, 1, 0},
    {MFT_F8_E5M2, "F8_E5M2", 8, 1, 0},
    {MFT_F8_E4M3FNUZ, "F8_E4M3FNUZ", 8, 1, 0},
    {MFT_F8_E5M2FNUZ, "F8_E5M2FNUZ", 8, 1, 0},
    {MFT_F8_E8M0, "F8_E8M0", 8, 1, 0},
    {MFT_F4, "F4", 4, 1, 0},
    {MFT_F6_E2M3, "F6_E2M3", 6, 1, 0},
    {MFT_F6_E3M2, "F6_E3M2", 6, 1, 0},
    {MFT_I4, "I4", 4, 0, 0},
    {MFT_U4, "U4", 4, 0, 0},
    {MFT_I2, "I2", 2, 0, 0},
    {MFT_U2, "U2", 2, 0, 0},
    {MFT_STRING, "STRING", 0, 0, 0},
    /* ggml block types: no per-element bit size */
    {MFT_Q4_0, "Q4_0", 0, 0, 0},
    {MFT_Q4_1, "Q4_1", 0, 0, 0},
    {MFT_Q5_0, "Q5_0", 0, 0, 0},
    {MFT_Q5_1, "Q5_1", 0, 0, 0},
    {MFT_Q8_0, "Q8_0", 0, 0, 0},
    {MFT_Q8_1, "Q8_1", 0, 0, 0},
    {MFT_Q2_K, "Q2_K", 0, 0, 0},
    {MFT_Q3_K, "Q3_K", 0, 0, 0},
    {MFT_Q4_K, "Q4_K", 0, 0, 0},
    {MFT_Q5_K, "Q5_K", 0, 0, 0},
    {MFT_Q6_K, "Q6_K", 0, 0, 0},
    {MFT_Q8_K, "Q8_K", 0, 0, 0},
    {MFT_IQ2_XXS, "IQ2_XXS", 0, 0, 0},
    {MFT_IQ2_XS, "IQ2_XS", 0, 0, 0},
    {MFT_IQ3_XXS, "IQ3_XXS", 0, 0, 0},
    {MFT_IQ1_S, "IQ1_S", 0, 0, 0},
    {MFT_IQ4_NL, "IQ4_NL", 0, 0, 0},
    {MFT_IQ3_S, "IQ3_S", 0, 0, 0},
    {MFT_IQ2_S, "IQ2_S", 0, 0, 0},
    {MFT_IQ4_XS, "IQ4_XS", 0, 0, 0},
    {MFT_IQ1_M, "IQ1_M", 0, 0, 0},
    {MFT_TQ1_0, "TQ1_0", 0, 0, 0},
    {MFT_TQ2_0, "TQ2_0", 0, 0, 0},
    {MFT_MXFP4, "MXFP4", 0, 0, 0},
    {MFT_NVFP4, "NVFP4", 0, 0, 0},
    {MFT_Q1_0, "Q1_0", 0, 0, 0},
    {MFT_Q2_0, "Q2_0", 0, 0, 0},
    /* torch's affine-quantized integers */
    {MFT_QI8, "QI8", 8, 0, 0},
    {MFT_QU8, "QU8", 8, 0, 0},
    {MFT_QI32, "QI32", 32, 0, 0},
};
#define NTABLE (sizeof k_table / sizeof k_table[0])

static void test_names_bits_flags(void)
{
    CHECK(NTABLE == MFT_DTYPE_COUNT_ - 1);
    for (size_t i = 0; i < NTABLE; i++) {
        mft_dtype d = k_table[i].d;
        CHECKF(strcmp(mft_dtype_name(d), k_table[i].name) == 0, "name %d: %s",
               (int)d, mft_dtype_name(d));
        CHECKF(mft_dtype_from_name(k_table[i].name) == d, "from_name %s",
               k_table[i].name);
        CHECKF(mft_dtype_bits(d) == k_table[i].bits, "bits %s: %u",
               k_table[i].name, mft_dtype_bits(d));
        CHECKF(mft_dtype_is_float(d) == k_table[i].is_float, "is_float %s",
               k_table[i].name);
        CHECKF(mft_dtype_is_complex(d) == k_table[i].is_complex,
               "is_complex %s", k_table[i].name);
    }
    CHECK(strcmp(mft_dtype_name(MFT_DTYPE_INVALID), "INVALID") == 0);
    CHECK(strcmp(mft_dtype_name(MFT_DTYPE_COUNT_), "INVALID") == 0);
    CHECK(strcmp(mft_dtype_name((mft_dtype)-1), "INVALID") == 0);
    CHECK(strcmp(mft_dtype_name((mft_dtype)1000), "INVALID") == 0);
    CHECK(mft_dtype_bits(MFT_DTYPE_INVALID) == 0);
    CHECK(mft_dtype_bits((mft_dtype)77) == 0);
    CHECK(!mft_dtype_is_float((mft_dtype)77));
    CHECK(!mft_dtype_is_complex(MFT_DTYPE_INVALID));
    CHECK(mft_dtype_from_name("f32") == MFT_DTYPE_INVALID);
    CHECK(mft_dtype_from_name("F32 ") == MFT_DTYPE_INVALID);
    CHECK(mft_dtype_from_name("") == MFT_DTYPE_INVALID);
    CHECK(mft_dtype_from_name("INVALID") == MFT_DTYPE_INVALID);
    CHECK(mft_dtype_from_name(NULL) == MFT_DTYPE_INVALID);
    CHECK(mft_dtype_from_name("F8_E4M3FN") == MFT_DTYPE_INVALID);
}

/* Block geometry: ggml's table for the block types, 1 × bits/8 for plain
 * types, 8 elements per `bits` bytes for sub-byte ones. */
static void test_block(void)
{
    unsigned e = 99, b = 99;
    CHECK(mft_dtype_block(MFT_Q4_0, &e, &b) == 1 && e == 32 && b == 18);
    CHECK(mft_dtype_block(MFT_Q8_0, &e, &b) == 1 && e == 32 && b == 34);
    CHECK(mft_dtype_block(MFT_Q4_K, &e, &b) == 1 && e == 256 && b == 144);
    CHECK(mft_dtype_block(MFT_Q6_K, &e, &b) == 1 && e == 256 && b == 210);
    CHECK(mft_dtype_block(MFT_IQ4_XS, &e, &b) == 1 && e == 256 && b == 136);
    CHECK(mft_dtype_block(MFT_MXFP4, &e, &b) == 1 && e == 32 && b == 17);
    CHECK(mft_dtype_block(MFT_Q2_0, &e, &b) == 1 && e == 64 && b == 18);
    CHECK(mft_dtype_block(MFT_F32, &e, &b) == 0 && e == 1 && b == 4);
    CHECK(mft_dtype_block(MFT_BOOL, &e, &b) == 0 && e == 1 && b == 1);
    CHECK(mft_dtype_block(MFT_F4, &e, &b) == 0 && e == 8 && b == 4);
    CHECK(mft_dtype_block(MFT_F6_E2M3, &e, &b) == 0 && e == 8 && b == 6);
    CHECK(mft_dtype_block(MFT_STRING, &e, &b) == -1 && e == 0 && b == 0);
    CHECK(mft_dtype_block(MFT_DTYPE_INVALID, NULL, NULL) == -1);
    CHECK(mft_dtype_block(MFT_DTYPE_COUNT_, &e, NULL) == -1 && e == 0);
    for (int d = MFT_Q4_0; d <= MFT_Q2_0; d++) {
        double x = 0;
        unsigned char buf[512] = {0};
        CHECK(mft_dtype_block((mft_dtype)d, &e, &b) == 1 && e >= 32 && b);
        CHECK(mft_dtype_to_f64((mft_dtype)d, buf, &x, 1) == MFT_ERR_DTYPE);
        CHECK(mft_dtype_from_f64((mft_dtype)d, &x, buf, 1) == MFT_ERR_DTYPE);
        CHECK(!mft_dtype_is_float((mft_dtype)d));
    }
}

/* safetensors' Rust writer sorts by Dtype declaration order, descending,
 * then by tensor name: this is that order, first written first. */
static void test_alignment_writer_order(void)
{
    static const mft_dtype order[] = {
        MFT_U64, MFT_I64, MFT_F64, MFT_C64, MFT_F32, MFT_U32,
        MFT_I32, MFT_BF16, MFT_F16, MFT_U16, MFT_I16, MFT_F8_E5M2FNUZ,
        MFT_F8_E4M3FNUZ, MFT_F8_E8M0, MFT_F8_E4M3, MFT_F8_E5M2, MFT_I8,
        MFT_U8, MFT_F6_E3M2, MFT_F6_E2M3, MFT_F4, MFT_BOOL,
    };
    size_t n = sizeof order / sizeof order[0];
    for (size_t i = 0; i + 1 < n; i++)
        CHECKF(mft_dtype_alignment(order[i]) > mft_dtype_alignment(order[i + 1]),
               "%s (%u) must sort before %s (%u)", mft_dtype_name(order[i]),
               mft_dtype_alignment(order[i]), mft_dtype_name(order[i + 1]),
               mft_dtype_alignment(order[i + 1]));
    /* every dtype has a distinct rank >= 1 */
    for (int a = 0; a < MFT_DTYPE_COUNT_; a++) {
        CHECK(mft_dtype_alignment((mft_dtype)a) >= 1);
        for (int b = a + 1; b < MFT_DTYPE_COUNT_; b++)
            CHECKF(mft_dtype_alignment((mft_dtype)a) !=
                       mft_dtype_alignment((mft_dtype)b),
                   "%s and %s share a rank", mft_dtype_name((mft_dtype)a),
                   mft_dtype_name((mft_dtype)b));
    }
    /* the types safetensors lacks stay inside their size groups */
    CHECK(mft_dtype_alignment(MFT_C128) > mft_dtype_alignment(MFT_U64));
    CHECK(mft_dtype_alignment(MFT_C32) > mft_dtype_alignment(MFT_F32));
    CHECK(mft_dtype_alignment(MFT_C32) < mft_dtype_alignment(MFT_C64));
    CHECK(mft_dtype_alignment(MFT_I4) < mft_dtype_alignment(MFT_F4));
    CHECK(mft_dtype_alignment(MFT_STRING) < mft_dtype_alignment(MFT_BOOL));
    CHECK(mft_dtype_alignment((mft_dtype)99) >= 1);
}

/* ---------------------------------------------------------------- exhaustive */

static void test_f16_exhaustive(void)
{
    for (unsigned h = 0; h < 65536; h++) {
        double x = dec1(MFT_F16, h);
        unsigned back = enc1(MFT_F16, x);
        int is_nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
        if (is_nan) {
            CHECKF(isnan(x) && (back & 0x7C00) == 0x7C00 && (back & 0x3FF) &&
                       (back & 0x8000) == (h & 0x8000),
                   "F16 NaN %04x -> %04x", h, back);
            if (h & 0x200) /* quiet NaN: payload kept exactly */
                CHECKF(back == h, "F16 qNaN %04x -> %04x", h, back);
        } else {
            CHECKF(back == h, "F16 %04x -> %.17g -> %04x", h, x, back);
        }
        float f = mftc_f16_to_f32((uint16_t)h);
        if (is_nan)
            CHECKF(isnan(f) && mftc_f32_to_f16(f) == (h | 0x200),
                   "mftc F16 NaN %04x", h);
        else
            CHECKF((double)f == x && !signbit(f) == !signbit(x) &&
                       mftc_f32_to_f16(f) == h,
                   "mftc F16 %04x", h);
    }
    CHECK(dec1(MFT_F16, 0x3C00) == 1.0);
    CHECK(dec1(MFT_F16, 0x0001) == 0x1p-24);
    CHECK(dec1(MFT_F16, 0x7BFF) == 65504.0);
    CHECK(isinf(dec1(MFT_F16, 0xFC00)) && dec1(MFT_F16, 0xFC00) < 0);
}

static void test_bf16_exhaustive(void)
{
    for (unsigned h = 0; h < 65536; h++) {
        double x = dec1(MFT_BF16, h);
        unsigned back = enc1(MFT_BF16, x);
        int is_nan = (h & 0x7F80) == 0x7F80 && (h & 0x7F);
        if (is_nan)
            CHECKF(isnan(x) && back == ((h & 0x8000) | 0x7FC0),
                   "BF16 NaN %04x -> %04x", h, back);
        else
            CHECKF(back == h, "BF16 %04x -> %.17g -> %04x", h, x, back);
        float f = mftc_bf16_to_f32((uint16_t)h);
        CHECKF(bits32(f) == (uint32_t)h << 16, "mftc bf16 %04x", h);
        if (is_nan)
            CHECKF(mftc_f32_to_bf16(f) == ((h & 0x8000) | 0x7FC0),
                   "mftc BF16 NaN %04x", h);
        else
            CHECKF((double)f == x && mftc_f32_to_bf16(f) == h, "mftc BF16 %04x",
                   h);
    }
    CHECK(dec1(MFT_BF16, 0x3F80) == 1.0);
    CHECK(dec1(MFT_BF16, 0x0001) == 0x1p-133);
}

static int f8_is_nan(mft_dtype d, unsigned c)
{
    switch (d) {
    case MFT_F8_E4M3: return (c & 0x7F) == 0x7F;
    case MFT_F8_E5M2: return (c & 0x7C) == 0x7C && (c & 3);
    case MFT_F8_E4M3FNUZ:
    case MFT_F8_E5M2FNUZ: return c == 0x80;
    case MFT_F8_E8M0: return c == 0xFF;
    default: return 0;
    }
}

static void test_f8_exhaustive(void)
{
    static const mft_dtype types[] = {MFT_F8_E4M3, MFT_F8_E5M2,
                                      MFT_F8_E4M3FNUZ, MFT_F8_E5M2FNUZ,
                                      MFT_F8_E8M0};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        mft_dtype d = types[t];
        for (unsigned c = 0; c < 256; c++) {
            double x = dec1(d, c);
            unsigned back = enc1(d, x);
            if (f8_is_nan(d, c)) {
                CHECKF(isnan(x) && f8_is_nan(d, back), "%s NaN %02x -> %02x",
                       mft_dtype_name(d), c, back);
                if (d == MFT_F8_E5M2)
                    CHECKF(back == ((c & 0x80) | 0x7E), "E5M2 NaN %02x", c);
                else
                    CHECKF(back == c, "%s NaN %02x -> %02x", mft_dtype_name(d),
                           c, back);
            } else {
                CHECKF(!isnan(x) && back == c, "%s %02x -> %.17g -> %02x",
                       mft_dtype_name(d), c, x, back);
            }
        }
    }
    /* a few known values */
    CHECK(dec1(MFT_F8_E4M3, 0x7E) == 448.0);
    CHECK(dec1(MFT_F8_E4M3, 0x01) == 0x1p-9);
    CHECK(dec1(MFT_F8_E5M2, 0x7B) == 57344.0);
    CHECK(isinf(dec1(MFT_F8_E5M2, 0x7C)));
    CHECK(dec1(MFT_F8_E4M3FNUZ, 0x7F) == 240.0);
    CHECK(dec1(MFT_F8_E4M3FNUZ, 0x01) == 0x1p-10);
    CHECK(dec1(MFT_F8_E5M2FNUZ, 0x7F) == 57344.0);
    CHECK(dec1(MFT_F8_E5M2FNUZ, 0x01) == 0x1p-17);
    CHECK(dec1(MFT_F8_E8M0, 0x00) == 0x1p-127);
    CHECK(dec1(MFT_F8_E8M0, 0x7F) == 1.0);
    CHECK(dec1(MFT_F8_E8M0, 0xFE) == 0x1p127);
    CHECK(signbit(dec1(MFT_F8_E4M3FNUZ, 0x80))); /* ml_dtypes: -NaN */
    CHECK(!signbit(dec1(MFT_F8_E8M0, 0xFF)));
}

static void test_f4_exhaustive_and_order(void)
{
    static const double vals[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6,
                                    -0.0, -0.5, -1, -1.5, -2, -3, -4, -6};
    for (unsigned b = 0; b < 256; b++) {
        unsigned char in = (unsigned char)b, out = 0x5A;
        double x[2];
        CHECK(mft_dtype_to_f64(MFT_F4, &in, x, 2) == MFT_OK);
        CHECKF(x[0] == vals[b & 15] && !signbit(x[0]) == !signbit(vals[b & 15]),
               "F4 %02x low nibble %g", b, x[0]);
        CHECKF(x[1] == vals[b >> 4] && !signbit(x[1]) == !signbit(vals[b >> 4]),
               "F4 %02x high nibble %g", b, x[1]);
        CHECK(mft_dtype_from_f64(MFT_F4, x, &out, 2) == MFT_OK);
        CHECKF(out == b, "F4 %02x -> %02x", b, out);
    }
    /* element 0 is the low nibble; an odd count zeroes the unused nibble */
    double v[3] = {0.5, 1.0, 6.0};
    unsigned char o[2] = {0xFF, 0xFF};
    CHECK(mft_dtype_from_f64(MFT_F4, v, o, 3) == MFT_OK);
    CHECK(o[0] == 0x21 && o[1] == 0x07);
}

static void test_subbyte_ints(void)
{
    unsigned char b[2] = {0x8F, 0x17}; /* I4: -1, -8, 7, 1 */
    double x[8];
    CHECK(mft_dtype_to_f64(MFT_I4, b, x, 4) == MFT_OK);
    CHECK(x[0] == -1 && x[1] == -8 && x[2] == 7 && x[3] == 1);
    CHECK(mft_dtype_to_f64(MFT_U4, b, x, 4) == MFT_OK);
    CHECK(x[0] == 15 && x[1] == 8 && x[2] == 7 && x[3] == 1);
    unsigned char c = 0xE4; /* 2-bit fields low first: 0, 1, 2, 3 */
    CHECK(mft_dtype_to_f64(MFT_U2, &c, x, 4) == MFT_OK);
    CHECK(x[0] == 0 && x[1] == 1 && x[2] == 2 && x[3] == 3);
    CHECK(mft_dtype_to_f64(MFT_I2, &c, x, 4) == MFT_OK);
    CHECK(x[0] == 0 && x[1] == 1 && x[2] == -2 && x[3] == -1);

    double in[5] = {-1.9, -8.0, 7.99, 8.0, -9.0}; /* -1 -8 7 0(out) 0(out) */
    unsigned char o[3] = {0xAA, 0xAA, 0xAA};
    CHECK(mft_dtype_from_f64(MFT_I4, in, o, 5) == MFT_OK);
    CHECKF(o[0] == 0x8F && o[1] == 0x07 && o[2] == 0x00, "I4 %02x %02x %02x",
           o[0], o[1], o[2]);
    double u2[5] = {0, 1, 2, 3.5, 4};
    CHECK(mft_dtype_from_f64(MFT_U2, u2, o, 5) == MFT_OK);
    CHECKF(o[0] == 0xE4 && o[1] == 0x00, "U2 %02x %02x", o[0], o[1]);
    double i2[4] = {-2, -1, 1, 2};
    CHECK(mft_dtype_from_f64(MFT_I2, i2, o, 4) == MFT_OK);
    CHECKF(o[0] == 0x1E, "I2 %02x", o[0]); /* 10 11 01 00 -> 0b00011110 */
}

/* ---------------------------------------------------------------- rounding */

static void test_rounding_cases(void)
{
    static const struct {
        mft_dtype d;
        double x;
        unsigned code;
    } cases[] = {
        /* F16: no double rounding through float */
        {MFT_F16, 1.0 + 0x1p-11, 0x3C00},             /* tie -> even */
        {MFT_F16, 1.0 + 0x1p-11 + 0x1p-40, 0x3C01},   /* just above the tie */
        {MFT_F16, 1.0 + 0x1p-11 - 0x1p-40, 0x3C00},
        {MFT_F16, 1.0 + 3 * 0x1p-11, 0x3C02},         /* tie -> even (up) */
        {MFT_F16, 65504.0, 0x7BFF},
        {MFT_F16, 65519.99, 0x7BFF},
        {MFT_F16, 65520.0, 0x7C00},
        {MFT_F16, -1e300, 0xFC00},
        {MFT_F16, 0x1p-25, 0x0000},                   /* tie with 0 -> 0 */
        {MFT_F16, 0x1p-25 + 0x1p-60, 0x0001},
        {MFT_F16, -0x1p-26, 0x8000},
        {MFT_F16, 0x1.ffcp-15, 0x0400},               /* carry into normal */
        {MFT_F16, 5e-324, 0x0000},
        {MFT_F16, -0.0, 0x8000},
        {MFT_F16, INFINITY, 0x7C00},
        {MFT_F16, NAN, 0x7E00},
        {MFT_F16, -NAN, 0xFE00},
        /* BF16 */
        {MFT_BF16, 1.0 + 0x1p-8, 0x3F80},
        {MFT_BF16, 1.0 + 0x1p-8 + 0x1p-40, 0x3F81},
        {MFT_BF16, 0x1.fep127, 0x7F7F},
        {MFT_BF16, 0x1.ffp127, 0x7F80},               /* tie at max -> Inf */
        {MFT_BF16, 1e39, 0x7F80},
        {MFT_BF16, 0x1p-134, 0x0000},
        {MFT_BF16, 0x1.0000001p-134, 0x0001},
        {MFT_BF16, -NAN, 0xFFC0},
        /* F8 E4M3 (fn): overflow is NaN */
        {MFT_F8_E4M3, 448.0, 0x7E},
        {MFT_F8_E4M3, 464.0, 0x7E},
        {MFT_F8_E4M3, 464.0001, 0x7F},
        {MFT_F8_E4M3, 1000.0, 0x7F},
        {MFT_F8_E4M3, -1000.0, 0xFF},
        {MFT_F8_E4M3, INFINITY, 0x7F},
        {MFT_F8_E4M3, -INFINITY, 0xFF},
        {MFT_F8_E4M3, NAN, 0x7F},
        {MFT_F8_E4M3, -NAN, 0xFF},
        {MFT_F8_E4M3, -0.0, 0x80},
        {MFT_F8_E4M3, 0x1p-10, 0x00},
        {MFT_F8_E4M3, 0x1.000001p-10, 0x01},
        {MFT_F8_E4M3, 1.0 + 0x1p-4 + 0x1p-40, 0x39},
        /* F8 E5M2 */
        {MFT_F8_E5M2, 57344.0, 0x7B},
        {MFT_F8_E5M2, 61440.0, 0x7C},                 /* tie -> Inf */
        {MFT_F8_E5M2, 61439.0, 0x7B},
        {MFT_F8_E5M2, -INFINITY, 0xFC},
        {MFT_F8_E5M2, NAN, 0x7E},
        {MFT_F8_E5M2, -NAN, 0xFE},
        {MFT_F8_E5M2, 1000.0, 0x64},
        /* FNUZ */
        {MFT_F8_E4M3FNUZ, 240.0, 0x7F},
        {MFT_F8_E4M3FNUZ, 248.0, 0x80},
        {MFT_F8_E4M3FNUZ, 247.9, 0x7F},
        {MFT_F8_E4M3FNUZ, -0.0, 0x00},
        {MFT_F8_E4M3FNUZ, -1e-30, 0x00},
        {MFT_F8_E4M3FNUZ, -1.0, 0xC0},
        {MFT_F8_E4M3FNUZ, INFINITY, 0x80},
        {MFT_F8_E4M3FNUZ, -NAN, 0x80},
        {MFT_F8_E5M2FNUZ, 57344.0, 0x7F},
        {MFT_F8_E5M2FNUZ, 61440.0, 0x80},
        {MFT_F8_E5M2FNUZ, -0.0, 0x00},
        {MFT_F8_E5M2FNUZ, 1000.0, 0x68},
        /* E8M0 */
        {MFT_F8_E8M0, 1.0, 0x7F},
        {MFT_F8_E8M0, 1.5, 0x80},
        {MFT_F8_E8M0, 1.4999999, 0x7F},
        {MFT_F8_E8M0, 3.0, 0x81},
        {MFT_F8_E8M0, 0.75, 0x7F},
        {MFT_F8_E8M0, 1000.0, 0x89},
        {MFT_F8_E8M0, 0.0, 0xFF},
        {MFT_F8_E8M0, -0.0, 0xFF},
        {MFT_F8_E8M0, -1.0, 0xFF},
        {MFT_F8_E8M0, INFINITY, 0xFF},
        {MFT_F8_E8M0, NAN, 0xFF},
        {MFT_F8_E8M0, 1e-300, 0x00},
        {MFT_F8_E8M0, 5e-324, 0x00},
        {MFT_F8_E8M0, 0x1p127, 0xFE},
        {MFT_F8_E8M0, 0x1.8p127, 0xFF},
        {MFT_F8_E8M0, 0x1.7ffffffp127, 0xFE},
        /* F4 E2M1: saturates; NaN as ml_dtypes (+NaN -> -0, -NaN -> +0) */
        {MFT_F4, 0.25, 0x0},
        {MFT_F4, 0.2500001, 0x1},
        {MFT_F4, 2.5, 0x4},
        {MFT_F4, 3.5, 0x6},
        {MFT_F4, 5.0, 0x6},
        {MFT_F4, 5.0001, 0x7},
        {MFT_F4, 7.0, 0x7},
        {MFT_F4, 1000.0, 0x7},
        {MFT_F4, -1000.0, 0xF},
        {MFT_F4, INFINITY, 0x7},
        {MFT_F4, -INFINITY, 0xF},
        {MFT_F4, -0.0, 0x8},
        {MFT_F4, NAN, 0x8},
        {MFT_F4, -NAN, 0x0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned got = enc1(cases[i].d, cases[i].x);
        if (cases[i].d == MFT_F4)
            got &= 0xF;
        CHECKF(got == cases[i].code, "case %zu: %s(%a) = %#x, want %#x", i,
               mft_dtype_name(cases[i].d), cases[i].x, got, cases[i].code);
    }
}

static void test_integers_and_bool(void)
{
    double x[] = {3.9, -3.9, 255.9, 256.0, -0.5, -1.0, NAN, INFINITY, 1e300};
    unsigned char u8[9];
    CHECK(mft_dtype_from_f64(MFT_U8, x, u8, 9) == MFT_OK);
    static const unsigned char want_u8[9] = {3, 0, 255, 0, 0, 0, 0, 0, 0};
    CHECK(memcmp(u8, want_u8, 9) == 0);
    int8_t i8[9];
    CHECK(mft_dtype_from_f64(MFT_I8, x, i8, 9) == MFT_OK);
    CHECK(i8[0] == 3 && i8[1] == -3 && i8[2] == 0 && i8[4] == 0 && i8[5] == -1 &&
          i8[6] == 0 && i8[7] == 0);

    double big[] = {-0x1p63, 0x1p63, 9.3e18, -2147483648.0, 2147483647.9,
                    2147483648.0, 0x1p64 - 2048.0, 0x1p64};
    int64_t i64[8];
    CHECK(mft_dtype_from_f64(MFT_I64, big, i64, 8) == MFT_OK);
    CHECK(i64[0] == INT64_MIN && i64[1] == 0 && i64[2] == 0 &&
          i64[3] == -2147483648LL);
    int32_t i32[8];
    CHECK(mft_dtype_from_f64(MFT_I32, big, i32, 8) == MFT_OK);
    CHECK(i32[0] == 0 && i32[3] == INT32_MIN && i32[4] == INT32_MAX &&
          i32[5] == 0);
    uint64_t u64[8];
    CHECK(mft_dtype_from_f64(MFT_U64, big, u64, 8) == MFT_OK);
    CHECK(u64[0] == 0 && u64[1] == (1ull << 63) &&
          u64[6] == 18446744073709549568ull && u64[7] == 0);

    unsigned char raw[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    double d;
    CHECK(mft_dtype_to_f64(MFT_I64, raw, &d, 1) == MFT_OK && d == -1.0);
    CHECK(mft_dtype_to_f64(MFT_U64, raw, &d, 1) == MFT_OK && d == 0x1p64);
    CHECK(mft_dtype_to_f64(MFT_I16, raw, &d, 1) == MFT_OK && d == -1.0);
    CHECK(mft_dtype_to_f64(MFT_U32, raw, &d, 1) == MFT_OK && d == 4294967295.0);
    unsigned char le[4] = {0x01, 0x02, 0x03, 0x04};
    CHECK(mft_dtype_to_f64(MFT_U32, le, &d, 1) == MFT_OK && d == 0x04030201);
    CHECK(mft_dtype_to_f64(MFT_U16, le, &d, 1) == MFT_OK && d == 0x0201);

    unsigned char bools[4] = {0, 1, 2, 255};
    double bd[4];
    CHECK(mft_dtype_to_f64(MFT_BOOL, bools, bd, 4) == MFT_OK);
    CHECK(bd[0] == 0 && bd[1] == 1 && bd[2] == 1 && bd[3] == 1);
    double bx[4] = {0.0, -0.0, NAN, -1e-300};
    CHECK(mft_dtype_from_f64(MFT_BOOL, bx, bools, 4) == MFT_OK);
    CHECK(bools[0] == 0 && bools[1] == 0 && bools[2] == 1 && bools[3] == 1);
}

static void test_complex_and_wide_floats(void)
{
    double v[4] = {1.5, -2.0, 0x1p-20, 65504.0};
    unsigned char buf[64];
    double back[4];
    CHECK(mft_dtype_from_f64(MFT_C32, v, buf, 2) == MFT_OK);
    CHECK(buf[0] == 0x00 && buf[1] == 0x3E && buf[2] == 0x00 && buf[3] == 0xC0);
    CHECK(mft_dtype_to_f64(MFT_C32, buf, back, 2) == MFT_OK);
    CHECK(memcmp(back, v, sizeof v) == 0);
    CHECK(mft_dtype_from_f64(MFT_C64, v, buf, 2) == MFT_OK);
    CHECK(mft_dtype_to_f64(MFT_C64, buf, back, 2) == MFT_OK);
    CHECK(memcmp(back, v, sizeof v) == 0);
    CHECK(mft_dtype_from_f64(MFT_C128, v, buf, 2) == MFT_OK);
    CHECK(mft_dtype_to_f64(MFT_C128, buf, back, 2) == MFT_OK);
    CHECK(memcmp(back, v, sizeof v) == 0);

    double f = 1.0 + 0x1p-24; /* tie in F32 -> even */
    uint32_t u;
    CHECK(mft_dtype_from_f64(MFT_F32, &f, &u, 1) == MFT_OK && u == 0x3F800000);
    f = 1e39;
    CHECK(mft_dtype_from_f64(MFT_F32, &f, &u, 1) == MFT_OK && u == 0x7F800000);
    uint64_t nb = 0x7FF0000000000123ull; /* F64 copies bits (sNaN too) */
    double sn = from_bits64(nb), out;
    CHECK(mft_dtype_from_f64(MFT_F64, &sn, &out, 1) == MFT_OK);
    CHECK(bits64(out) == nb);
}

static void test_errors(void)
{
    double x = 1.0;
    unsigned char b[16];
    CHECK(mft_dtype_to_f64(MFT_STRING, b, &x, 1) == MFT_ERR_DTYPE);
    CHECK(mft_dtype_from_f64(MFT_STRING, &x, b, 1) == MFT_ERR_DTYPE);
    CHECK(mft_dtype_to_f64(MFT_DTYPE_INVALID, b, &x, 1) == MFT_ERR_DTYPE);
    CHECK(mft_dtype_from_f64(MFT_DTYPE_COUNT_, &x, b, 1) == MFT_ERR_DTYPE);
    CHECK(mft_dtype_to_f64((mft_dtype)-3, b, &x, 1) == MFT_ERR_DTYPE);
    CHECK(mft_dtype_to_f64(MFT_F6_E2M3, b, &x, 1) == MFT_ERR_DTYPE);
    CHECK(mft_dtype_from_f64(MFT_F6_E3M2, &x, b, 1) == MFT_ERR_DTYPE);
    CHECK(mft_dtype_to_f64(MFT_F32, NULL, &x, 1) == MFT_ERR_MISUSE);
    CHECK(mft_dtype_to_f64(MFT_F32, b, NULL, 1) == MFT_ERR_MISUSE);
    CHECK(mft_dtype_from_f64(MFT_F32, NULL, b, 1) == MFT_ERR_MISUSE);
    CHECK(mft_dtype_from_f64(MFT_F32, &x, NULL, 1) == MFT_ERR_MISUSE);
    CHECK(mft_dtype_to_f64(MFT_F32, NULL, NULL, 0) == MFT_OK);
    CHECK(mft_dtype_from_f64(MFT_I4, NULL, NULL, 0) == MFT_OK);
}

/* ---------------------------------------------------------------- convert */

static void test_convert_fast_paths(void)
{
    enum { N = 200000 };
    static uint32_t f32[N];
    static uint16_t fast[N], slow[N];
    static double tmp[N];
    for (size_t i = 0; i < N; i++) {
        uint32_t r = (uint32_t)rng();
        /* half the time near the F16 range, to hit normals/subnormals/ties */
        if (i & 1)
            r = (r & 0x80000000u) | (0x33000000u + r % 0x14800000u);
        if (i % 7 == 0)
            r &= 0xFFFFF000u; /* lots of exact F16 and tie patterns */
        f32[i] = r;
    }
    /* F32 -> F16 / BF16 fast path vs the double path */
    for (size_t i = 0; i < N; i++)
        tmp[i] = (double)from_bits32(f32[i]);
    mftc_convert(MFT_F16, fast, MFT_F32, f32, N);
    CHECK(mft_dtype_from_f64(MFT_F16, tmp, slow, N) == MFT_OK);
    for (size_t i = 0; i < N; i++)
        CHECKF(fast[i] == slow[i], "F32 %08x -> F16 fast %04x double %04x",
               f32[i], fast[i], slow[i]);
    mftc_convert(MFT_BF16, fast, MFT_F32, f32, N);
    CHECK(mft_dtype_from_f64(MFT_BF16, tmp, slow, N) == MFT_OK);
    for (size_t i = 0; i < N; i++)
        CHECKF(fast[i] == slow[i], "F32 %08x -> BF16 fast %04x double %04x",
               f32[i], fast[i], slow[i]);

    /* all 16-bit patterns: F16 <-> BF16 and -> F32 */
    static uint16_t all[65536], o16[65536], ref[65536];
    static uint32_t o32[65536];
    static double d[65536];
    for (unsigned h = 0; h < 65536; h++)
        all[h] = (uint16_t)h;
    mftc_convert(MFT_BF16, o16, MFT_F16, all, 65536);
    CHECK(mft_dtype_to_f64(MFT_F16, all, d, 65536) == MFT_OK);
    CHECK(mft_dtype_from_f64(MFT_BF16, d, ref, 65536) == MFT_OK);
    CHECK(memcmp(o16, ref, sizeof ref) == 0);
    mftc_convert(MFT_F16, o16, MFT_BF16, all, 65536);
    CHECK(mft_dtype_to_f64(MFT_BF16, all, d, 65536) == MFT_OK);
    CHECK(mft_dtype_from_f64(MFT_F16, d, ref, 65536) == MFT_OK);
    for (unsigned h = 0; h < 65536; h++)
        CHECKF(o16[h] == ref[h], "BF16 %04x -> F16 %04x vs %04x", h, o16[h],
               ref[h]);
    mftc_convert(MFT_F32, o32, MFT_F16, all, 65536);
    CHECK(mft_dtype_to_f64(MFT_F16, all, d, 65536) == MFT_OK);
    for (unsigned h = 0; h < 65536; h++)
        CHECKF(isnan(d[h]) ? isnan(from_bits32(o32[h]))
                           : (double)from_bits32(o32[h]) == d[h] &&
                                 !signbit(from_bits32(o32[h])) == !signbit(d[h]),
               "F16 %04x -> F32 %08x", h, o32[h]);
    mftc_convert(MFT_F32, o32, MFT_BF16, all, 65536);
    for (unsigned h = 0; h < 65536; h++)
        CHECKF(o32[h] == (uint32_t)h << 16, "BF16 %04x -> F32", h);

    /* f32 signalling NaN: made quiet, sign and payload kept */
    CHECK(mftc_f32_to_f16(from_bits32(0x7F802000u)) == 0x7E01);
    CHECK(mftc_f32_to_f16(from_bits32(0xFF800001u)) == 0xFE00);
    CHECK(mftc_f32_to_bf16(from_bits32(0xFF800001u)) == 0xFFC0);
    CHECK(mftc_f32_to_bf16(from_bits32(0x7F7FFFFFu)) == 0x7F80);
    CHECK(mftc_f32_to_bf16(from_bits32(0x3F808000u)) == 0x3F80);
    CHECK(mftc_f32_to_bf16(from_bits32(0x3F818000u)) == 0x3F82);
}

static void test_convert_general(void)
{
    /* same dtype: memcpy, packed tail masked */
    unsigned char src[4] = {0x21, 0xF7, 0x11, 0x22}, dst[4] = {0};
    mftc_convert(MFT_F4, dst, MFT_F4, src, 3);
    CHECK(dst[0] == 0x21 && dst[1] == 0x07 && dst[2] == 0);
    double dd = 2.5, dd2 = 0;
    mftc_convert(MFT_F64, &dd2, MFT_F64, &dd, 1);
    CHECK(dd2 == 2.5);

    /* integer -> integer: exact, wrapping like a C cast */
    int64_t i64[4] = {(1LL << 53) + 1, -1, 0x123456789LL, INT64_MIN};
    int64_t i64b[4];
    mftc_convert(MFT_U64, i64b, MFT_I64, i64, 4);
    CHECK(memcmp(i64, i64b, sizeof i64) == 0);
    int32_t i32[4];
    mftc_convert(MFT_I32, i32, MFT_I64, i64, 4);
    CHECK(i32[0] == 1 && i32[1] == -1 && i32[2] == 0x23456789 && i32[3] == 0);
    unsigned char b[4];
    mftc_convert(MFT_BOOL, b, MFT_I64, i64, 4);
    CHECK(b[0] == 1 && b[1] == 1 && b[2] == 1 && b[3] == 1);
    uint8_t u8[4];
    int8_t s8[4] = {-1, -128, 5, 0};
    mftc_convert(MFT_U8, u8, MFT_I8, s8, 4);
    CHECK(u8[0] == 255 && u8[1] == 128 && u8[2] == 5 && u8[3] == 0);
    unsigned char i4[2];
    mftc_convert(MFT_I4, i4, MFT_I8, s8, 4);
    CHECK(i4[0] == 0x0F && i4[1] == 0x05);
    int16_t s16[4];
    mftc_convert(MFT_I16, s16, MFT_I4, i4, 4);
    CHECK(s16[0] == -1 && s16[1] == 0 && s16[2] == 5 && s16[3] == 0);

    /* float -> integer: truncation, out of range -> 0 */
    float f[5] = {-3.7f, 200.5f, 1e10f, NAN, 127.9f};
    int8_t q[5];
    mftc_convert(MFT_I8, q, MFT_F32, f, 5);
    CHECK(q[0] == -3 && q[1] == 0 && q[2] == 0 && q[3] == 0 && q[4] == 127);

    /* complex <-> real */
    float c64[4] = {1.5f, 9.0f, -2.0f, 7.0f};
    double re[2];
    mftc_convert(MFT_F64, re, MFT_C64, c64, 2);
    CHECK(re[0] == 1.5 && re[1] == -2.0);
    double c128[4];
    float r32[2] = {0.25f, -8.0f};
    mftc_convert(MFT_C128, c128, MFT_F32, r32, 2);
    CHECK(c128[0] == 0.25 && c128[1] == 0 && c128[2] == -8.0 && c128[3] == 0);
    uint16_t c32[4];
    mftc_convert(MFT_C32, c32, MFT_C64, c64, 2);
    CHECK(c32[0] == 0x3E00 && c32[1] == 0x4880 && c32[2] == 0xC000 &&
          c32[3] == 0x4700);

    /* more than one chunk, packed output: offsets must line up */
    enum { M = 1001 };
    static float big[M];
    static unsigned char p4[(M + 1) / 2], p4ref[(M + 1) / 2];
    static double bd[M];
    for (size_t i = 0; i < M; i++) {
        big[i] = (float)((int)(i % 29) - 14) * 0.25f;
        bd[i] = big[i];
    }
    mftc_convert(MFT_F4, p4, MFT_F32, big, M);
    CHECK(mft_dtype_from_f64(MFT_F4, bd, p4ref, M) == MFT_OK);
    CHECK(memcmp(p4, p4ref, sizeof p4) == 0);
    static uint16_t h[M];
    mftc_convert(MFT_F16, h, MFT_F4, p4, M);
    CHECK(mft_dtype_to_f64(MFT_F4, p4, bd, M) == MFT_OK);
    for (size_t i = 0; i < M; i++) {
        CHECKF(dec1(MFT_F16, h[i]) == bd[i], "F4 -> F16 element %zu", i);
        if (unit_current_failed)
            break;
    }
    static unsigned char e8[M], u4[(M + 1) / 2];
    mftc_convert(MFT_U4, u4, MFT_F32, big, M); /* negatives -> 0 */
    mftc_convert(MFT_F8_E4M3, e8, MFT_U4, u4, M);
    for (size_t i = 0; i < M; i++) {
        double v = big[i] >= 0 ? (double)(int)big[i] : 0.0;
        CHECKF(dec1(MFT_F8_E4M3, e8[i]) == v, "U4 -> E4M3 element %zu", i);
        if (unit_current_failed)
            break;
    }

    /* unsupported dtypes: no-op */
    unsigned char guard[4] = {1, 2, 3, 4};
    mftc_convert(MFT_STRING, guard, MFT_F32, f, 1);
    mftc_convert(MFT_F6_E2M3, guard, MFT_F32, f, 1);
    mftc_convert(MFT_F32, guard, MFT_DTYPE_INVALID, f, 1);
    CHECK(guard[0] == 1 && guard[1] == 2 && guard[2] == 3 && guard[3] == 4);
    mftc_convert(MFT_F32, NULL, MFT_F16, NULL, 0);
}

int main(void)
{
    RUN(test_names_bits_flags);
    RUN(test_block);
    RUN(test_alignment_writer_order);
    RUN(test_f16_exhaustive);
    RUN(test_bf16_exhaustive);
    RUN(test_f8_exhaustive);
    RUN(test_f4_exhaustive_and_order);
    RUN(test_subbyte_ints);
    RUN(test_rounding_cases);
    RUN(test_integers_and_bool);
    RUN(test_complex_and_wide_floats);
    RUN(test_errors);
    RUN(test_convert_fast_paths);
    RUN(test_convert_general);
    return unit_summary();
}
