/* libFuzzer target: the pickle machine and the PyTorch value resolution,
 * through the public API (raw pickle and legacy-format readers), then the
 * walks a caller does: every tensor digested, every path looked up. */
#include "mft.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long budget;

static void walk(const mft_value *v, int depth)
{
    if (!v || depth > 64 || --budget < 0)
        return;
    for (size_t i = 0; i < mft_value_len(v); i++) {
        walk(mft_value_key(v, i), depth + 1);
        walk(mft_value_item(v, i), depth + 1);
    }
    if (mft_value_get_kind(v) == MFT_VALUE_OBJECT) {
        walk(mft_value_state(v), depth + 1);
        walk(mft_value_args(v), depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mft_open_options o;
    memset(&o, 0, sizeof o);
    o.limits[MFT_LIMIT_PICKLE_ITEMS] = 1u << 16; /* keep each run small */
    o.limits[MFT_LIMIT_PICKLE_DEPTH] = 500;
    mft_file *f = NULL;
    if (mft_open_memory(data, size, "fuzz.pkl", &o, &f) == MFT_OK) {
        for (size_t i = 0; i < mft_tensor_count(f); i++) {
            mft_tensor t;
            unsigned char d[32];
            if (mft_tensor_at(f, i, &t) != MFT_OK)
                abort();
            mft_tensor_sha256(f, i, d);
            if (!mft_value_find(mft_file_root(f), ""))
                abort();
        }
        budget = 100000;
        walk(mft_file_root(f), 0);
    } else if (f && mft_file_errmsg(f)[0] == 0) {
        abort();
    }
    mft_close(f);
    return 0;
}
