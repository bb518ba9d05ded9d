/* libFuzzer target: the GGUF reader through the public API, plus what a
 * caller does next: digests, reads, a walk of the metadata tree, and handing
 * every key/value and tensor to a GGUF writer (never committed, so nothing
 * touches the file system). */
#include "mft.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const mft_value *v, int depth)
{
    size_t n = 1, len;
    int et;
    if (depth > 100)
        abort(); /* the reader bounds nesting */
    int t = mft_value_gguf_type(v, &et);
    if (t < 0 || t >= MFT_GGUF_TYPE_COUNT_)
        abort(); /* every GGUF value records its type */
    switch (mft_value_get_kind(v)) {
    case MFT_VALUE_STRING:
    case MFT_VALUE_BIGINT:
        if (!mft_value_bytes(v, &len))
            abort();
        break;
    case MFT_VALUE_LIST:
        if (t != MFT_GGUF_ARRAY || et < 0)
            abort();
        for (size_t i = 0; i < mft_value_len(v); i++)
            n += walk(mft_value_item(v, i), depth + 1);
        break;
    default:
        break;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mft_file *f = NULL;
    /* only what reaches the GGUF reader: content detected as GGUF, or
     * unknown content (the name then forces the GGUF reader) */
    mft_format fmt = mft_detect(data, size < 4096 ? size : 4096);
    if (fmt != MFT_FORMAT_GGUF && fmt != MFT_FORMAT_UNKNOWN)
        return 0;
    if (mft_open_memory(data, size, "x.gguf", NULL, &f) == MFT_OK &&
        mft_file_format(f) == MFT_FORMAT_GGUF) { /* others: their targets */
        mft_writer *w = NULL;
        mft_writer_open("/nonexistent/fuzz.gguf", MFT_FORMAT_GGUF, NULL, &w);
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
            if (t.ndim > 4 || strlen(t.name) > 63)
                abort();
            if (t.nbytes && t.nbytes <= 4096) {
                unsigned char buf[4096];
                if (mft_tensor_read(f, i, buf, sizeof buf) != MFT_OK)
                    abort();
                double vals[8];
                size_t count = t.numel < 8 ? (size_t)t.numel : 8;
                if (mft_dtype_bits(t.dtype) >= 8)
                    mft_dtype_to_f64(t.dtype, buf, vals, count);
            }
            if (w && mft_writer_add_from(w, NULL, f, i) != MFT_OK)
                abort();
        }
        const mft_value *meta = mft_file_metadata(f);
        if (!meta)
            abort();
        for (size_t i = 0; i < mft_value_len(meta); i++) {
            size_t len;
            const mft_value *k = mft_value_key(meta, i);
            const char *key = mft_value_bytes(k, &len);
            if (!key || !len)
                abort();
            walk(mft_value_item(meta, i), 0);
            /* GGUF values keep their types: the writer takes every one */
            if (w && mft_writer_set_value(w, key, mft_value_item(meta, i)) !=
                         MFT_OK)
                abort();
        }
        mft_writer_free(w);
    } else if (f && mft_file_format(f) == MFT_FORMAT_GGUF &&
               mft_file_errmsg(f)[0] == 0) {
        abort(); /* every failure must explain itself */
    }
    mft_close(f);
    return 0;
}
