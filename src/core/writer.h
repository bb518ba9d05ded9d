/* The writer handle shared by every format's writer. */
#ifndef MFT_CORE_WRITER_H
#define MFT_CORE_WRITER_H
#include "atomic.h"
#include "internal.h"

typedef struct mftc_torch mftc_torch;

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
    /* mft_writer_add_cast: the source's dtype (dtype is the target's) */
    int cast;
    mft_dtype src_dtype;
} mftc_wtensor;

/* A typed metadata entry (mft_writer_set_value and friends): the value is a
 * copy in the writer's arena whose every node carries its GGUF type. */
typedef struct mftc_wvalue {
    char *key;
    mft_value *value;
} mftc_wvalue;

struct mft_writer {
    char *path;
    mft_format format;
    mft_writer_options opts;
    char errmsg[MFTC_ERRMSG_SIZE];
    int committed, failed;

    mftc_wtensor *tensors;
    size_t ntensors, cap;
    char **meta_keys, **meta_values;
    size_t *meta_lens; /* value lengths: values may hold NUL */
    size_t nmeta, meta_cap;
    int meta_section; /* write a metadata section even when empty */
    /* typed metadata (GGUF), in the order first set */
    mftc_arena vals_arena;
    mftc_wvalue *values;
    size_t nvalues, values_cap;

    /* PyTorch files: the value tree and what the torch writer keeps
     * (src/formats/pytorch_write.c); NULL for other formats */
    struct mftc_torch *torch;

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
mft_status mftc_write_gguf(mft_writer *w);
mft_status mftc_write_npy(mft_writer *w);
mft_status mftc_write_npz(mft_writer *w);
mft_status mftc_write_pytorch(mft_writer *w);
/* Free w->torch (mft_writer_free). */
void mftc_torch_free(mft_writer *w);
/* Stream tensor t (added with mft_writer_add_cast: t->cast set) converted
 * into o, or into `sink` (chunks of at most 2^18 converted elements; a
 * non-zero return stops it with MFT_ERR_IO unless the sink's caller reports
 * its own status). Every writer must route t->cast tensors through one of
 * these: the bytes at t->src are in t->src_dtype, not t->dtype. */
mft_status mftc_writer_emit_cast(mft_writer *w, const mftc_wtensor *t,
                                 mftc_outfile *o);
mft_status mftc_writer_cast_stream(mft_writer *w, const mftc_wtensor *t,
                                   mft_bytes_sink sink, void *user);
/* GGUF writers: mft_writer_set_metadata lands here as a STRING value. */
mft_status mftc_writer_set_string(mft_writer *w, const char *key,
                                  const char *value);
/* Free the typed metadata (mft_writer_free). */
void mftc_writer_free_values(mft_writer *w);
#endif
