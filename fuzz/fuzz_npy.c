/* libFuzzer target: the .npy and .npz readers through the public API (as
 * "x.npy" and "x.npz", so the name picks the reader when detection does
 * not), plus what a caller does next: digests, reads (gathering Fortran-order
 * and big-endian arrays, inflating deflated members), lookups. Zip inputs
 * that are not npz (no .npy first member) are left to the PyTorch target. */
#include "mft.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const uint8_t *data, size_t size, const char *name)
{
    mft_open_options o;
    memset(&o, 0, sizeof o);
    o.limits[MFT_LIMIT_INFLATE_BYTES] = 1u << 24;
    o.limits[MFT_LIMIT_STRING_BYTES] = 1u << 24;
    mft_file *f = NULL;
    if (mft_open_memory(data, size, name, &o, &f) == MFT_OK) {
        size_t n = mft_tensor_count(f);
        for (size_t i = 0; i < n; i++) {
            mft_tensor t;
            unsigned char digest[32];
            if (mft_tensor_at(f, i, &t) != MFT_OK)
                abort();
            mft_status st = mft_tensor_sha256(f, i, digest);
            /* only an inflate that fails late may refuse (corrupt stream) */
            if (st != MFT_OK && (t.data || !t.member))
                abort();
            size_t found;
            if (mft_tensor_find(f, t.name, &found) != MFT_OK || found != i)
                abort();
            if (st == MFT_OK && t.nbytes && t.nbytes <= 4096) {
                unsigned char buf[4096];
                if (mft_tensor_read(f, i, buf, sizeof buf) != MFT_OK)
                    abort();
                double vals[16];
                size_t count = t.numel < 8 ? (size_t)t.numel : 8;
                mft_dtype_to_f64(t.dtype, buf, vals, count);
            }
        }
    } else if (f && mft_file_errmsg(f)[0] == 0) {
        abort(); /* every failure must explain itself */
    }
    mft_close(f);
}

/* Bytes that reach the npy/npz readers only because of the name: nothing
 * else claims them (not a zip — PyTorch's — and not what the dispatcher
 * takes for a protocol 0/1 pickle). */
static int unclaimed(const uint8_t *data, size_t size)
{
    if (mft_detect(data, size < 4096 ? size : 4096) != MFT_FORMAT_UNKNOWN)
        return 0;
    if (size >= 2 && data[0] == 'P' && data[1] == 'K')
        return 0;
    if (size >= 2 && data[size - 1] == '.' &&
        strchr("(]}cKJMIFSVNXUTL)lde", data[0]))
        return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mft_format fmt = mft_detect(data, size < 4096 ? size : 4096);
    int free_for_all = unclaimed(data, size);
    if (fmt == MFT_FORMAT_NPY || free_for_all)
        walk(data, size, "x.npy");
    if (fmt == MFT_FORMAT_NPZ || free_for_all)
        walk(data, size, "x.npz");
    return 0;
}
