/* dtype_oracle_check FILE — compare src/core/dtype.c with the encodings that
 * numpy/ml_dtypes gave (file written by tools/gen_dtype_oracle.py; its
 * docstring describes the layout). Prints the first mismatches of each
 * section and a closing "N passed, M failed" line (sections); exits 0 only
 * when every value matches, 1 on a mismatch, 2 on a bad file or usage.
 *
 * Values are compared bit for bit, with one relaxation: where the expected
 * result is a NaN in a 16-bit float or a float64, any NaN of the same sign
 * is accepted (numpy keeps signalling NaNs signalling, mft makes them quiet;
 * ml_dtypes' BF16 decode quiets through the FPU). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mft.h"
#include "../../src/core/dtype.h"

enum { ENC64 = 1, ENC32 = 2, DEC = 3, CVT = 4 };
enum { MAX_SHOWN = 10 };

static uint64_t rd_le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static double f64_of(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static int nan16(mft_dtype d, uint64_t c)
{
    if (d == MFT_F16)
        return (c & 0x7C00) == 0x7C00 && (c & 0x3FF);
    if (d == MFT_BF16)
        return (c & 0x7F80) == 0x7F80 && (c & 0x7F);
    return 0;
}

static int nan64(uint64_t b)
{
    return (b & 0x7FF0000000000000ull) == 0x7FF0000000000000ull &&
           (b & 0x000FFFFFFFFFFFFFull);
}

/* Does `got` match `want` for an output of dtype d (size n bytes)? */
static int same(mft_dtype d, unsigned n, uint64_t got, uint64_t want)
{
    if (got == want)
        return 1;
    if (n == 2 && nan16(d, want))
        return nan16(d, got) && (got & 0x8000) == (want & 0x8000);
    if (n == 8 && nan64(want))
        return nan64(got) && (got >> 63) == (want >> 63);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s ORACLE_FILE\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    unsigned char head[12];
    if (fread(head, 1, 12, f) != 12 || memcmp(head, "MFTDTOR1", 8) != 0) {
        fprintf(stderr, "%s: not a dtype oracle file\n", argv[1]);
        fclose(f);
        return 2;
    }
    uint32_t nsect = (uint32_t)rd_le(head + 8, 4);
    uint64_t checked = 0, mismatches = 0;
    unsigned sect_ok = 0, sect_bad = 0;

    for (uint32_t s = 0; s < nsect; s++) {
        unsigned char sh[36];
        if (fread(sh, 1, sizeof sh, f) != sizeof sh) {
            fprintf(stderr, "section %u: truncated header\n", (unsigned)s);
            fclose(f);
            return 2;
        }
        unsigned kind = (unsigned)rd_le(sh, 4);
        char name[17];
        memcpy(name, sh + 4, 16);
        name[16] = 0;
        unsigned isz = (unsigned)rd_le(sh + 20, 4), osz = (unsigned)rd_le(sh + 24, 4);
        uint64_t count = rd_le(sh + 28, 8);
        if (isz == 0 || isz > 8 || osz == 0 || osz > 8 || count > (1u << 26)) {
            fprintf(stderr, "section %u (%s): bad sizes\n", (unsigned)s, name);
            fclose(f);
            return 2;
        }
        size_t n = (size_t)count;
        unsigned char *in = malloc(n * isz + 1), *want = malloc(n * osz + 1);
        unsigned char *got = calloc(n * 8 + 16, 1);
        double *dbl = malloc(n * sizeof(double) + 1);
        if (!in || !want || !got || !dbl) {
            fprintf(stderr, "out of memory\n");
            goto bad_file;
        }
        if (fread(in, isz, n, f) != n || fread(want, osz, n, f) != n) {
            fprintf(stderr, "section %u (%s): truncated\n", (unsigned)s, name);
            goto bad_file;
        }

        /* Run mft: results go to got[] as n values of osz bytes. */
        mft_dtype d = MFT_DTYPE_INVALID, d2 = MFT_DTYPE_INVALID;
        char *gt = strchr(name, '>');
        if (gt) {
            *gt = 0;
            d = mft_dtype_from_name(name);
            d2 = mft_dtype_from_name(gt + 1);
            *gt = '>';
        } else {
            d = mft_dtype_from_name(name);
        }
        mft_status st = MFT_OK;
        mft_dtype outd = d;
        switch (kind) {
        case ENC64:
            for (size_t i = 0; i < n; i++)
                dbl[i] = f64_of(rd_le(in + 8 * i, 8));
            if (d == MFT_F4) { /* packed, then one code per byte */
                unsigned char *packed = calloc(n / 2 + 1, 1);
                if (!packed)
                    goto bad_file;
                st = mft_dtype_from_f64(d, dbl, packed, n);
                for (size_t i = 0; i < n; i++)
                    got[i] = (packed[i / 2] >> (4 * (i & 1))) & 0xF;
                free(packed);
            } else {
                st = mft_dtype_from_f64(d, dbl, got, n);
            }
            break;
        case ENC32: {
            /* the mftc_convert fast path and the scalar helper must agree */
            mftc_convert(d, got, MFT_F32, in, n);
            for (size_t i = 0; i < n && st == MFT_OK; i++) {
                float x;
                uint32_t b = (uint32_t)rd_le(in + 4 * i, 4);
                memcpy(&x, &b, 4);
                uint16_t one = d == MFT_F16 ? mftc_f32_to_f16(x) : mftc_f32_to_bf16(x);
                if (one != rd_le(got + 2 * i, 2)) {
                    fprintf(stderr, "%s: scalar and convert disagree at %zu\n",
                            name, i);
                    st = MFT_ERR_MISMATCH;
                }
            }
            break;
        }
        case DEC:
            outd = MFT_F64;
            if (d == MFT_F4) {
                unsigned char *packed = calloc(n / 2 + 1, 1);
                if (!packed)
                    goto bad_file;
                for (size_t i = 0; i < n; i++)
                    packed[i / 2] |= (unsigned char)((in[i] & 0xF) << (4 * (i & 1)));
                st = mft_dtype_to_f64(d, packed, dbl, n);
                free(packed);
            } else {
                st = mft_dtype_to_f64(d, in, dbl, n);
            }
            for (size_t i = 0; i < n; i++) {
                uint64_t b;
                memcpy(&b, dbl + i, 8);
                for (unsigned k = 0; k < 8; k++)
                    got[8 * i + k] = (unsigned char)(b >> (8 * k));
            }
            break;
        case CVT:
            outd = d2;
            mftc_convert(d2, got, d, in, n);
            break;
        default:
            st = MFT_ERR_MISUSE;
        }
        if (d == MFT_DTYPE_INVALID || st != MFT_OK ||
            (kind == CVT && d2 == MFT_DTYPE_INVALID)) {
            fprintf(stderr, "section %u (%s, kind %u): cannot run (status %d)\n",
                    (unsigned)s, name, kind, (int)st);
            goto bad_file;
        }

        uint64_t bad = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t w = rd_le(want + (size_t)osz * i, osz);
            uint64_t g = rd_le(got + (size_t)osz * i, osz);
            if (!same(outd, osz, g, w)) {
                if (bad < MAX_SHOWN) {
                    uint64_t x = rd_le(in + (size_t)isz * i, isz);
                    printf("MISMATCH kind %u %s: input %#" PRIx64, kind, name, x);
                    if (isz == 8)
                        printf(" (%a)", f64_of(x));
                    printf(" -> mft %#" PRIx64 ", reference %#" PRIx64 "\n", g, w);
                }
                bad++;
            }
        }
        checked += n;
        mismatches += bad;
        if (bad)
            sect_bad++;
        else
            sect_ok++;
        printf("%s kind %u %-16s %8zu values, %" PRIu64 " mismatches\n",
               bad ? "FAIL" : "ok", kind, name, n, bad);
        free(in);
        free(want);
        free(got);
        free(dbl);
        continue;
    bad_file:
        free(in);
        free(want);
        free(got);
        free(dbl);
        fclose(f);
        return 2;
    }
    fclose(f);
    printf("dtype oracle: %" PRIu64 " values checked, %" PRIu64 " mismatches\n",
           checked, mismatches);
    printf("%u passed, %u failed\n", sect_ok, sect_bad);
    return mismatches || nsect == 0 ? 1 : 0;
}
