/* libFuzzer target: the zip reader (src/container/zip.c) over arbitrary
 * bytes, then everything a caller does with an archive: look every member up
 * by name and suffix, read its header, stream it, extract it (stored
 * zero-copy, deflated inflated under a lowered limit) and check its CRC;
 * streaming and extraction must agree. */
#include "container/zip.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_sink(void *user, const void *bytes, size_t len)
{
    (void)bytes;
    *(uint64_t *)user += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a handle to report on: opening one byte fails but yields one */
    mft_open_options o;
    memset(&o, 0, sizeof o);
    o.limits[MFT_LIMIT_INFLATE_BYTES] = 1u << 24;
    mft_file *f = NULL;
    mft_open_memory("?", 1, "fuzz.zip", &o, &f);
    if (!f)
        return 0;
    mftc_zip z;
    if (mftc_zip_open(&z, f, data, size) == MFT_OK) {
        for (size_t i = 0; i < z.count; i++) {
            const mftc_zip_entry *e = &z.entries[i];
            const mftc_zip_entry *g = mftc_zip_find(&z, e->name);
            if (!g || strcmp(g->name, e->name) != 0 || g > e)
                abort();
            if (!mftc_zip_find_suffix(&z, e->name))
                abort();
            if (e->data_offset + e->comp_size > z.cd_offset)
                abort(); /* validated at open */
            uint8_t head[64];
            size_t got;
            if (mftc_zip_prefix(&z, e, head, sizeof head, &got) == MFT_OK &&
                got > sizeof head)
                abort();
            /* streamed, skipping a few bytes: same verdict as whole */
            uint64_t count = 0;
            mft_status ss = mftc_zip_stream(&z, e, e->size > 3 ? 3 : 0,
                                            e->size > 3 ? e->size - 3 : 0,
                                            count_sink, &count);
            const uint8_t *p;
            uint8_t *owned;
            if (mftc_zip_data(&z, e, &p, &owned) == MFT_OK) {
                volatile uint8_t sink = 0;
                for (uint64_t k = 0; k < e->size; k += 4096)
                    sink ^= p[k];
                if (e->size)
                    sink ^= p[e->size - 1];
                (void)sink;
                free(owned);
                uint32_t crc;
                int ok;
                if (mftc_zip_crc_ok(&z, e, &crc, &ok) != MFT_OK)
                    abort(); /* extracted once, must extract again */
                if (ss != MFT_OK ||
                    count != (e->size > 3 ? e->size - 3 : 0))
                    abort();
            } else if (ss == MFT_OK) {
                abort(); /* streaming accepted what extraction refused */
            } else if (mft_file_errmsg(f)[0] == 0) {
                abort();
            }
        }
    } else if (mft_file_errmsg(f)[0] == 0) {
        abort(); /* every failure must explain itself */
    }
    mft_close(f);
    return 0;
}
