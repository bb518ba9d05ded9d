/* NumPy .npy pieces shared by the .npy and .npz readers and writers
 * (shared/reference/safetensors-gguf-npy.md §3). Internal. */
#ifndef MFT_FORMATS_NPY_H
#define MFT_FORMATS_NPY_H

#include "../core/internal.h"
#include "../core/writer.h"

typedef struct mftc_npy_header {
    unsigned major, minor;
    uint64_t header_len;  /* the HEADER_LEN field */
    uint64_t data_offset; /* where the array bytes start (10 or 12 + len) */
    mft_dtype dtype;
    int big_endian;       /* the elements must be byte-swapped */
    int fortran;          /* column-major element order */
    int ndim;
    uint64_t *shape;      /* ndim extents, in the handle's arena */
    uint64_t numel, nbytes;
} mftc_npy_header;

/* Bytes of preamble needed to know the header length (magic, version,
 * length field): 12 covers every version. */
#define MFTC_NPY_PREAMBLE 12u

/* Parse magic, version and header length from the first `avail` bytes of an
 * .npy stream `total` bytes long. `member` (zip member or NULL) and byte
 * offsets relative to the stream's start go into messages. */
mft_status mftc_npy_preamble(mft_file *f, const char *member,
                             const uint8_t *p, size_t avail, uint64_t total,
                             mftc_npy_header *h);
/* Parse the header dict; p holds at least h->data_offset bytes. Fills the
 * dtype, order and shape, numel and nbytes. */
mft_status mftc_npy_parse_header(mft_file *f, const char *member,
                                 const uint8_t *p, mftc_npy_header *h);
/* Fill a tensor's shape, strides, sizes and storage from a parsed header;
 * `storage` (may be NULL when a load hook supplies it) holds the array
 * bytes. Column-major and big-endian arrays get data = NULL and are
 * gathered on read. */
mft_status mftc_npy_tensor(mft_file *f, const mftc_npy_header *h,
                           const uint8_t *storage, mftc_tensor *t);

/* numpy's descr for a dtype ("<f4"), NULL when plain numpy has none. */
const char *mftc_npy_descr(mft_dtype dtype);
/* Refuse (naming the tensor) a dtype plain numpy cannot load. */
mft_status mftc_npy_check_dtype(mft_writer *w, const mftc_wtensor *t,
                                const char *target);
/* The header np.save writes for a C-order array of this dtype and shape,
 * byte for byte (version 1.0, or 2.0 when it does not fit). Returns its
 * length (at most MFTC_NPY_HEADER_MAX). */
#define MFTC_NPY_HEADER_MAX 4096u
size_t mftc_npy_header_bytes(mft_dtype dtype, int ndim, const uint64_t *shape,
                             uint8_t *out);

#endif
