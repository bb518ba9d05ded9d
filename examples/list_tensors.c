/* A minimal libmft client: list a model file's tensors with their digests.
 *   cc list_tensors.c $(pkg-config --cflags --libs mft) -o list_tensors
 *   ./list_tensors model.safetensors */
#include <mft.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    mft_file *f = NULL;
    mft_status st = mft_open(argv[1], NULL, &f);
    if (st != MFT_OK) {
        /* the handle explains: file, member, what was wrong, byte offset */
        fprintf(stderr, "%s: %s\n", mft_errname(st),
                f ? mft_file_errmsg(f) : mft_strerror(st));
        mft_close(f);
        return 2;
    }
    printf("%s (%s), libmft %s\n", argv[1], mft_format_name(mft_file_format(f)),
           mft_version());
    for (size_t i = 0; i < mft_tensor_count(f); i++) {
        mft_tensor t;
        unsigned char d[32];
        mft_tensor_at(f, i, &t); /* t.data points into the file's mapping */
        mft_tensor_sha256(f, i, d);
        printf("%s %s [", t.name, mft_dtype_name(t.dtype));
        for (int k = 0; k < t.ndim; k++)
            printf(k ? ",%llu" : "%llu", (unsigned long long)t.shape[k]);
        printf("] ");
        for (int k = 0; k < 32; k++)
            printf("%02x", d[k]);
        printf("\n");
    }
    mft_close(f);
    return 0;
}
