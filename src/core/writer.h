/* The writer handle shared by every format's writer. */
#ifndef MFT_CORE_WRITER_H
#define MFT_CORE_WRITER_H
#include "atomic.h"
#include "internal.h"

typedef struct mftc_wtensor {
    char *name;
    mft_dtype dtype;
    int ndim;
    uint64_t shape[MFT_MAX_DIMS];
    uint64_t nbytes;
    const uint8_t *data; /* or: */
    mft_fill_fn fill;
    void *fill_user;
    /* source file tensor, when added with mft_writer_add_from */
    mft_file *src;
    size_t src_index;
} mftc_wtensor;

struct mft_writer {
    char *path;
    mft_format format;
    mft_writer_options opts;
    char errmsg[MFTC_ERRMSG_SIZE];
    int committed, failed;

    mftc_wtensor *tensors;
    size_t ntensors, cap;
    char **meta_keys, **meta_values;
    size_t nmeta, meta_cap;
    int meta_section; /* write a metadata section even when empty */

    /* outputs of a successful commit */
    char **outputs;
    size_t noutputs;
};

mft_status mftc_writer_fail(mft_writer *w, mft_status code, const char *fmt,
                            ...) __attribute__((format(printf, 3, 4)));
/* Stream tensor t's bytes into o. */
mft_status mftc_writer_emit(mft_writer *w, const mftc_wtensor *t,
                            mftc_outfile *o);
mft_status mftc_writer_add_output(mft_writer *w, const char *path);

mft_status mftc_write_safetensors(mft_writer *w);
#endif
