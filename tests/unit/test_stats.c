/* Unit tests for src/ops/stats.c and src/ops/compare.c through the public
 * API, on safetensors files built in memory: every F16 and BF16 bit pattern
 * against a long double reference, multi-unit tensors split across threads
 * (bit-identical results), empty / scalar / all-NaN tensors, integer
 * extremes, and torch.isclose's rule in mft_tensor_compare. */
#include "mft.h"
#include "unit.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct spec {
    const char *name, *dtype;
    int ndim;
    uint64_t shape[4];
    const void *data;
    size_t nbytes;
} spec;

/* A safetensors file of `n` tensors in a malloc'd buffer. */
static unsigned char *build(const spec *t, size_t n, size_t *len)
{
    char header[4096];
    size_t h = 0, off = 0;
    h += (size_t)snprintf(header + h, sizeof header - h, "{");
    for (size_t i = 0; i < n; i++) {
        h += (size_t)snprintf(header + h, sizeof header - h,
                              "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "",
                              t[i].name, t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++)
            h += (size_t)snprintf(header + h, sizeof header - h, d ? ",%llu" : "%llu",
                                  (unsigned long long)t[i].shape[d]);
        h += (size_t)snprintf(header + h, sizeof header - h,
                              "],\"data_offsets\":[%zu,%zu]}", off, off + t[i].nbytes);
        off += t[i].nbytes;
    }
    h += (size_t)snprintf(header + h, sizeof header - h, "}");
    while (h % 8)
        header[h++] = ' ';
    *len = 8 + h + off;
    unsigned char *buf = malloc(*len);
    uint64_t hl = h;
    for (int k = 0; k < 8; k++)
        buf[k] = (unsigned char)(hl >> (8 * k));
    memcpy(buf + 8, header, h);
    off = 8 + h;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + off, t[i].data, t[i].nbytes);
        off += t[i].nbytes;
    }
    return buf;
}

/* Reference statistics of doubles, two-pass in long double. */
typedef struct ref {
    uint64_t count, nan, inf, zeros;
    double min, max, mean, std;
} ref;

static ref reference(const double *x, size_t n)
{
    ref r = {0, 0, 0, 0, INFINITY, -INFINITY, NAN, NAN};
    long double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) {
            r.nan++;
            continue;
        }
        if (isinf(x[i])) {
            r.inf++;
            continue;
        }
        r.zeros += x[i] == 0;
        r.count++;
        sum += x[i];
        if (x[i] < r.min)
            r.min = x[i];
        if (x[i] > r.max)
            r.max = x[i];
    }
    if (!r.count)
        return r;
    long double mean = sum / (long double)r.count, m2 = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            m2 += ((long double)x[i] - mean) * ((long double)x[i] - mean);
    r.mean = (double)mean;
    if (r.count > 1)
        r.std = (double)sqrtl(m2 / (long double)(r.count - 1));
    return r;
}

static int close_rel(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fabs(b);
}

static void exhaustive(const char *dtype_name, mft_dtype dtype)
{
    static uint16_t bits[65536];
    static double vals[65536];
    for (unsigned i = 0; i < 65536; i++)
        bits[i] = (uint16_t)i;
    CHECK(mft_dtype_to_f64(dtype, bits, vals, 65536) == MFT_OK);
    spec t = {"t", dtype_name, 1, {65536}, bits, sizeof bits};
    size_t len;
    unsigned char *buf = build(&t, 1, &len);
    mft_file *f = NULL;
    CHECK(mft_open_memory(buf, len, "x.safetensors", NULL, &f) == MFT_OK);
    mft_stats s;
    CHECK(mft_tensor_stats(f, 0, &s) == MFT_OK);
    ref r = reference(vals, 65536);
    CHECKF(s.nan == r.nan && s.inf == r.inf && s.zeros == r.zeros && s.count == r.count,
           "%s counts %llu %llu %llu %llu", dtype_name, (unsigned long long)s.nan,
           (unsigned long long)s.inf, (unsigned long long)s.zeros, (unsigned long long)s.count);
    CHECKF(s.min == r.min && s.max == r.max, "%s min %g max %g", dtype_name, s.min, s.max);
    CHECKF(close_rel(s.mean, r.mean, 1e-12) || fabs(s.mean - r.mean) < 1e-12 * r.std,
           "%s mean %.17g vs %.17g", dtype_name, s.mean, r.mean);
    CHECKF(close_rel(s.std, r.std, 1e-12), "%s std %.17g vs %.17g", dtype_name, s.std, r.std);
    CHECK(s.integer == 0 && s.numel == 65536);
    mft_close(f);
    free(buf);
}

static void test_f16_every_pattern(void) { exhaustive("F16", MFT_F16); }
static void test_bf16_every_pattern(void) { exhaustive("BF16", MFT_BF16); }

static void test_threads_and_units(void)
{
    /* 5 Mi + 3 floats: two 16 MiB units and a partial one; values on an
     * offset (1e4 + noise) so naive accumulation would drift */
    size_t n = (5u << 20) + 3;
    float *x = malloc(n * sizeof *x);
    double *d = malloc(n * sizeof *d);
    uint64_t state = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        x[i] = 1e4f + (float)((double)(state >> 11) / 9007199254740992.0 - 0.5);
        d[i] = x[i];
    }
    x[7] = NAN;
    d[7] = NAN;
    spec t[2] = {{"big", "F32", 1, {n}, x, n * sizeof *x},
                 {"small", "F32", 2, {2, 2}, x + 100, 16}};
    size_t len;
    unsigned char *buf = build(t, 2, &len);
    mft_file *f = NULL;
    CHECK(mft_open_memory(buf, len, "x.safetensors", NULL, &f) == MFT_OK);
    mft_stats one[2], many[2], single;
    mft_stats_options o;
    memset(&o, 0, sizeof o);
    o.threads = 1;
    CHECK(mft_stats_many(f, NULL, 2, &o, one) == MFT_OK);
    o.threads = 7;
    CHECK(mft_stats_many(f, NULL, 2, &o, many) == MFT_OK);
    CHECK(mft_tensor_stats(f, 0, &single) == MFT_OK);
    CHECK(memcmp(&one[0], &many[0], sizeof one[0]) == 0);
    CHECK(memcmp(&one[0], &single, sizeof single) == 0);
    ref r = reference(d, n);
    CHECK(one[0].nan == 1 && one[0].count == n - 1);
    CHECKF(close_rel(one[0].mean, r.mean, 1e-15), "mean %.17g vs %.17g", one[0].mean, r.mean);
    CHECKF(close_rel(one[0].std, r.std, 1e-11), "std %.17g vs %.17g", one[0].std, r.std);
    CHECK(one[0].min == r.min && one[0].max == r.max);
    CHECK(one[1].count == 4);
    size_t idx = 1;
    CHECK(mft_stats_many(f, &idx, 1, NULL, many) == MFT_OK && many[0].count == 4);
    idx = 2;
    CHECK(mft_stats_many(f, &idx, 1, NULL, many) == MFT_ERR_NOT_FOUND);
    mft_close(f);
    free(buf);
    free(x);
    free(d);
}

static void test_edges(void)
{
    float nan2[2] = {NAN, NAN}, one = 3.0f;
    int64_t ext[3] = {INT64_MAX, INT64_MIN, 0};
    uint64_t uext[2] = {UINT64_MAX, 5};
    char str[4] = "abc";
    spec t[] = {
        {"empty", "F32", 2, {3, 0}, "", 0},
        {"nan", "F32", 1, {2}, nan2, sizeof nan2},
        {"scalar", "F32", 0, {0}, &one, 4},
        {"i64", "I64", 1, {3}, ext, sizeof ext},
        {"u64", "U64", 1, {2}, uext, sizeof uext},
        {"bytes", "U8", 1, {4}, str, 4},
    };
    size_t len;
    unsigned char *buf = build(t, sizeof t / sizeof t[0], &len);
    mft_file *f = NULL;
    CHECK(mft_open_memory(buf, len, "x.safetensors", NULL, &f) == MFT_OK);
    mft_stats s[6];
    CHECK(mft_stats_many(f, NULL, 6, NULL, s) == MFT_OK);
    CHECK(s[0].numel == 0 && s[0].count == 0 && isnan(s[0].mean) && isnan(s[0].min));
    CHECK(s[1].nan == 2 && s[1].count == 0 && isnan(s[1].max) && isnan(s[1].std));
    CHECK(s[2].count == 1 && s[2].mean == 3.0 && isnan(s[2].std) && s[2].min == 3.0);
    CHECK(s[3].integer == 1 && s[3].imin == INT64_MIN && s[3].imax == INT64_MAX);
    CHECK(s[3].zeros == 1);
    CHECK(s[4].integer == 2 && s[4].umin == 5 && s[4].umax == UINT64_MAX);
    CHECK(s[5].integer == 1 && s[5].imin == 0 && s[5].imax == 'c' && s[5].zeros == 1);
    CHECK(mft_tensor_stats(f, 99, &s[0]) == MFT_ERR_NOT_FOUND);
    CHECK(mft_stats_many(NULL, NULL, 0, NULL, s) == MFT_ERR_MISUSE);
    CHECK(mft_stats_many(f, NULL, 5, NULL, s) == MFT_ERR_MISUSE); /* count != all */
    mft_close(f);
    free(buf);
}

static void test_compare_isclose(void)
{
    float a[8] = {1.0f, NAN, INFINITY, INFINITY, 1.0f, 0.0f, 100.0f, -2.0f};
    float b[8] = {1.0f, NAN, INFINITY, -INFINITY, 1.000005f, 1e-9f, 100.0f, -2.0f};
    double c[8];
    for (int i = 0; i < 8; i++)
        c[i] = b[i];
    spec t[] = {{"a", "F32", 1, {8}, a, sizeof a},
                {"b", "F32", 1, {8}, b, sizeof b},
                {"c", "F64", 1, {8}, c, sizeof c},
                {"short", "F32", 1, {7}, a, 28}};
    size_t len;
    unsigned char *buf = build(t, 4, &len);
    mft_file *f = NULL;
    CHECK(mft_open_memory(buf, len, "x.safetensors", NULL, &f) == MFT_OK);
    mft_compare r;
    /* torch.isclose(a, b) at the defaults: the NaN pair and inf/-inf are
     * not close; 1 vs 1.000005 is (|d| = 5e-6 <= 1e-8 + 1e-5 * 1.000005);
     * 0 vs 1e-9 is (<= atol) */
    CHECK(mft_tensor_compare(f, 0, f, 1, NULL, &r) == MFT_OK);
    CHECKF(r.mismatched == 2 && r.nan_mismatch == 1, "%llu %llu",
           (unsigned long long)r.mismatched, (unsigned long long)r.nan_mismatch);
    CHECK(isinf(r.max_abs) && r.max_abs_at == 3 && isinf(r.max_rel));
    CHECK(!r.identical);
    mft_compare_options o = {1e-5, 1e-8, 1};
    CHECK(mft_tensor_compare(f, 0, f, 1, &o, &r) == MFT_OK && r.mismatched == 1);
    o.rtol = 0;
    o.atol = 0;
    o.equal_nan = 0;
    CHECK(mft_tensor_compare(f, 0, f, 1, &o, &r) == MFT_OK && r.mismatched == 4);
    /* F32 against the same values in F64: exact */
    CHECK(mft_tensor_compare(f, 1, f, 2, NULL, &r) == MFT_OK);
    CHECK(r.mismatched == 1 && r.nan_mismatch == 1 && r.max_abs == 0 && !r.identical);
    CHECK(mft_tensor_compare(f, 0, f, 0, NULL, &r) == MFT_OK && r.identical);
    CHECK(mft_tensor_compare(f, 0, f, 3, NULL, &r) == MFT_ERR_MISMATCH);
    mft_close(f);
    free(buf);
}

int main(void)
{
    RUN(test_f16_every_pattern);
    RUN(test_bf16_every_pattern);
    RUN(test_threads_and_units);
    RUN(test_edges);
    RUN(test_compare_isclose);
    return unit_summary();
}
