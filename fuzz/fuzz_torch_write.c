/* libFuzzer target: the PyTorch writer over whatever the readers accept.
 * Any file mft opens is copied whole (mft_node_from_value of its root) into
 * a .pth; when the writer accepts it, mft's own reader must open the result
 * and list the same number of tensors (every tensor of the source is
 * written; numpy arrays and quantization parameters may add some). A
 * refusal must come with a message. Output under $TMPDIR (default /tmp). */
#include "mft.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[512];
    if (!out[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(out, sizeof out, "%s/mft-fuzz-torch-write-%ld.pt",
                 tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
    }
    mft_open_options o;
    memset(&o, 0, sizeof o);
    o.limits[MFT_LIMIT_PICKLE_ITEMS] = 1u << 16; /* keep each run small */
    o.limits[MFT_LIMIT_PICKLE_DEPTH] = 500;
    mft_file *f = NULL;
    if (mft_open_memory(data, size, "fuzz.pt", &o, &f) != MFT_OK) {
        mft_close(f);
        return 0;
    }
    mft_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.overwrite = 1;
    mft_writer *w = NULL;
    if (mft_writer_open(out, MFT_FORMAT_PYTORCH_ZIP, &wo, &w) != MFT_OK)
        abort();
    mft_node *root = mft_node_from_value(w, f, mft_file_root(f), MFT_DTYPE_INVALID);
    mft_status st = root ? mft_writer_set_root(w, root) : MFT_ERR_MISUSE;
    if (st == MFT_OK)
        st = mft_writer_commit(w);
    if (st != MFT_OK && mft_writer_errmsg(w)[0] == 0)
        abort(); /* a refusal without a reason */
    mft_writer_free(w);
    if (st == MFT_OK) {
        mft_file *g = NULL;
        if (mft_open(out, &o, &g) != MFT_OK)
            abort(); /* the writer wrote something its reader refuses */
        if (mft_tensor_count(g) < mft_tensor_count(f))
            abort();
        mft_close(g);
        unlink(out);
    }
    mft_close(f);
    return 0;
}
