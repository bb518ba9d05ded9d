/* libFuzzer target: the safetensors reader through the public API, plus
 * everything a caller does next (digests, reads, metadata walk). */
#include "mft.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mft_file *f = NULL;
    /* the name forces the safetensors reader even when detection fails */
    if (mft_open_memory(data, size, "fuzz.safetensors", NULL, &f) == MFT_OK) {
        size_t n = mft_tensor_count(f);
        for (size_t i = 0; i < n; i++) {
            mft_tensor t;
            unsigned char digest[32];
            if (mft_tensor_at(f, i, &t) != MFT_OK)
                abort();
            if (mft_tensor_sha256(f, i, digest) != MFT_OK)
                abort();
            size_t found;
            if (mft_tensor_find(f, t.name, &found) != MFT_OK || found != i)
                abort();
            if (t.nbytes && t.nbytes <= 4096) {
                unsigned char buf[4096];
                if (mft_tensor_read(f, i, buf, sizeof buf) != MFT_OK)
                    abort();
                double vals[64];
                size_t count = t.numel < 8 ? (size_t)t.numel : 8;
                if (mft_dtype_bits(t.dtype) >= 8)
                    mft_dtype_to_f64(t.dtype, buf, vals, count);
            }
        }
        const mft_value *meta = mft_file_metadata(f);
        for (size_t i = 0; i < mft_value_len(meta); i++) {
            size_t len;
            if (!mft_value_bytes(mft_value_item(meta, i), &len))
                abort();
        }
    } else if (f && mft_file_errmsg(f)[0] == 0) {
        abort(); /* every failure must explain itself */
    }
    mft_close(f);
    return 0;
}
