/* mft convert … OUT.pth from a PyTorch input: the whole value tree (or the
 * --select subtree) is written back — checkpoints keep epoch, losses,
 * optimizer state with its int keys …; whole models and TorchScript
 * archives as the state_dict the reader gives. What torch's weights_only
 * loader would refuse is written as what it holds and named on stderr. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

int cli_is_torch_input(mft_format f)
{
    return f == MFT_FORMAT_PYTORCH_ZIP || f == MFT_FORMAT_PYTORCH_LEGACY ||
           f == MFT_FORMAT_TORCHSCRIPT || f == MFT_FORMAT_PICKLE ||
           f == MFT_FORMAT_PYTORCH_EXPORT;
}

int convert_torch_tree(mft_file *f, mft_writer *w, const char *in,
                       const char *out, const char *select, mft_dtype cast)
{
    const mft_value *v = mft_file_root(f);
    if (select && select[0]) {
        v = mft_value_find(v, select);
        if (!v) {
            cli_error("%s: nothing under \"%s\"", in, select);
            return EXIT_ERROR;
        }
    }
    mft_node *root = mft_node_from_value(w, f, v, cast);
    if (!root || mft_writer_set_root(w, root) != MFT_OK) {
        cli_error("%s", mft_writer_errmsg(w));
        return EXIT_ERROR;
    }
    size_t notes = mft_writer_note_count(w);
    for (size_t i = 0; i < notes; i++)
        fprintf(stderr,
                "mft: %s: %s (torch.load(weights_only=True) refuses the "
                "original)\n",
                in, mft_writer_note(w, i));
    if (mft_writer_commit(w) != MFT_OK) {
        cli_error("%s", mft_writer_errmsg(w));
        return EXIT_ERROR;
    }
    /* what was written: the tensors at or under the selected path */
    size_t n = 0, sl = select ? strlen(select) : 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < mft_tensor_count(f); i++) {
        mft_tensor t;
        if (mft_tensor_at(f, i, &t) != MFT_OK)
            continue;
        if (sl && (strncmp(t.name, select, sl) != 0 ||
                   (t.name[sl] && t.name[sl] != '.')))
            continue;
        n++;
        bytes += t.nbytes;
    }
    char size[32];
    human_bytes(bytes, size, sizeof size);
    fprintf(stderr, "mft: wrote %zu tensors (%s) to %s\n", n, size, out);
    return EXIT_OK;
}
