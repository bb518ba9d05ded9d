/* Internal structures shared by the core, the containers and the format
 * readers. Nothing here is part of the public API. */
#ifndef MFT_CORE_INTERNAL_H
#define MFT_CORE_INTERNAL_H

#include "mft.h"
#include "limits.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define MFTC_ERRMSG_SIZE 1024

/* ------------------------------------------------------------------ arena */

/* Bump allocator for everything that lives as long as a handle: names,
 * shapes, value nodes. Freed in one go by mft_close. */
typedef struct mftc_arena_block mftc_arena_block;
typedef struct mftc_arena {
    mftc_arena_block *head;
    size_t used_total; /* bytes handed out, for accounting */
} mftc_arena;

void *mftc_arena_alloc(mftc_arena *a, size_t size); /* zeroed, 16-aligned */
char *mftc_arena_strndup(mftc_arena *a, const char *s, size_t n);
void mftc_arena_free(mftc_arena *a);

/* ------------------------------------------------------------------ source */

/* The bytes of one file: a read-only mapping, a heap copy, or a borrowed
 * caller buffer. */
typedef struct mftc_source {
    const uint8_t *data;
    uint64_t size;
    int kind; /* 0 none, 1 mmap, 2 heap, 3 borrowed */
} mftc_source;

/* Open and map `path`; on failure fills `err` (size MFTC_ERRMSG_SIZE). */
mft_status mftc_source_open(mftc_source *s, const char *path, int no_mmap,
                            char *err);
void mftc_source_close(mftc_source *s);
/* Ask the kernel to read [off, off+len) ahead; a hint, never fails. */
void mftc_source_willneed(const mftc_source *s, uint64_t off, uint64_t len);
/* Whole-file passes (digests, copies) call this on bytes they are done with:
 * the pages of a read-only private mapping are dropped from this process
 * (they stay in the page cache and fault back in unchanged if touched
 * again), so the resident size stays flat however large the file. */
void mftc_source_done(const mftc_source *s, const uint8_t *p, uint64_t len);

/* ------------------------------------------------------------------ values */

struct mft_value {
    mft_value_kind kind;
    uint16_t visit; /* scratch mark for graph walks (cycles, sharing) */
    uint16_t flags; /* MFTC_VFLAG_* */
    uint32_t depth; /* nesting below this value, as a pickle built it */
    /* GGUF metadata: the value type it was stored with + 1 (0: none
     * recorded) and, for an array, its element type + 1. */
    unsigned char gguf_type, gguf_elem;
    union {
        int b;
        int64_t i;
        double f;
        struct {
            const char *p;
            size_t n;
        } s; /* STRING, BYTES, BIGINT */
        struct {
            mft_value **items;
            mft_value **keys; /* DICT only */
            size_t n, cap;
        } seq;
        size_t tensor;
        struct {
            const char *cls;      /* normalised "module.name" */
            mft_value *state;     /* BUILD state */
            mft_value *args;      /* REDUCE/NEWOBJ arguments (a TUPLE) */
            mft_value *callee;    /* the callable when it was not a GLOBAL */
            mft_value *items;     /* APPEND(S) onto the object (LIST) */
            mft_value *dictitems; /* SETITEM(S) onto the object (DICT) */
            uint64_t offset;      /* where the pickle created it */
            int form;             /* MFTC_OBJ_* */
        } obj;
    } u;
};

/* Value flags. */
enum {
    MFTC_VFLAG_MODULE = 1, /* a DICT that is a flattened nn.Module state_dict */
    MFTC_VFLAG_FROZEN = 2, /* a SET that is a frozenset */
    MFTC_VFLAG_ORDERED = 4 /* a DICT built as collections.OrderedDict */
};

/* Forms of an OBJECT value. */
enum {
    MFTC_OBJ_GLOBAL = 1, /* a bare GLOBAL reference */
    MFTC_OBJ_CALL = 2,   /* REDUCE, INST, OBJ: callee(*args) */
    MFTC_OBJ_NEW = 3,    /* NEWOBJ(_EX): cls.__new__(cls, *args) */
    MFTC_OBJ_PERSID = 4  /* a persistent id: state = the id value */
};

mft_value *mftc_value_new(mftc_arena *a, mft_value_kind kind);
mft_value *mftc_value_string(mftc_arena *a, const char *s, size_t n);
mft_value *mftc_value_int(mftc_arena *a, int64_t i);
/* Append to a LIST/TUPLE (key NULL) or DICT; 0 on out of memory. */
int mftc_value_append(mftc_arena *a, mft_value *seq, mft_value *key,
                      mft_value *item);

/* ------------------------------------------------------------------ tensors */

typedef struct mftc_tensor {
    const char *name;
    mft_dtype dtype;
    int ndim;
    uint64_t *shape;
    int64_t *strides;
    uint64_t numel;
    uint64_t nbytes;
    const uint8_t *data; /* row-major LE bytes in a mapping, or NULL */
    const char *member;  /* shard or zip member, NULL for the file itself */
    const mftc_source *src; /* the mapping `data` points into, or NULL */
    /* When `data` is NULL the elements are gathered: element i (row-major
     * index tuple k) is at storage + (storage_offset + Σ k_d·strides[d]) ×
     * element size. Readers prove at open time that every addressed byte
     * lies inside [storage, storage + storage_nbytes). `byteswap`: stored
     * big-endian (complex types swap each component). */
    const uint8_t *storage;
    uint64_t storage_nbytes;
    uint64_t storage_offset;
    int byteswap;
    size_t quant_count;    /* see mft_tensor */
    double *quant_scale;
    int64_t *quant_zero_point;
    int quant_axis;
    const char *kind;
    uint8_t negate;    /* torch's lazy neg bit: values are -stored */
    uint8_t conjugate; /* torch's lazy conj bit: imaginary parts negated */
    /* When `data` and `storage` are both NULL, `load` produces the storage
     * for one walk (e.g. by inflating a zip member): *storage and *nbytes
     * describe it (addressed as above), *owned (or NULL) is freed when the
     * walk ends. `load_ctx` is the reader's. Safe to run concurrently. */
    mft_status (*load)(mft_file *f, const struct mftc_tensor *t,
                       const uint8_t **storage, uint64_t *nbytes,
                       void **owned);
    /* Optional, with `load`: stream a row-major, not byte-swapped view's
     * nbytes straight to `sink` without materialising the storage (a large
     * deflated member inflated chunk by chunk: memory stays flat). */
    mft_status (*stream)(mft_file *f, const struct mftc_tensor *t,
                         mft_bytes_sink sink, void *user);
    const void *load_ctx;
    uint64_t offset;     /* byte offset of the data in that member/file */
} mftc_tensor;

/* ------------------------------------------------------------------ file */

struct mft_file {
    char *path;
    mft_format format;
    uint64_t limits[MFT_LIMIT_COUNT_];
    int no_mmap;
    char errmsg[MFTC_ERRMSG_SIZE];

    mftc_source src;
    mftc_arena arena;

    mftc_tensor *tensors;
    size_t ntensors, tensors_cap;
    /* Open-addressing index of tensor names → index + 1 (0 = empty). */
    size_t *name_index;
    size_t name_index_cap;

    mft_value *root;
    mft_value *metadata;

    /* Heap buffers that tensors point into (inflated zip members), freed
     * by mft_close. */
    void **owned;
    size_t nowned;

    /* Parts of a multi-file set (HF shards), owned. */
    mft_file **parts;
    size_t nparts;
};

/* Record a failure on the handle: "PATH: MEMBER: message (at byte N)".
 * `member` may be NULL; `offset` < 0 means no offset. Returns `code`. */
mft_status mftc_fail(mft_file *f, mft_status code, const char *member,
                     int64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
mft_status mftc_vfail(mft_file *f, mft_status code, const char *member,
                      int64_t offset, const char *fmt, va_list ap);

/* Append a tensor record (name and shape already in the arena). Returns its
 * index via *index; fails with MFT_ERR_LIMIT past the tensor limit. */
mft_status mftc_add_tensor(mft_file *f, const mftc_tensor *t, size_t *index);
/* Build the name index; a duplicate name fails with MFT_ERR_CORRUPT and
 * sets *dup to its index. */
mft_status mftc_index_names(mft_file *f, size_t *dup);
/* Add the last tensor to the name index (rebuilt, doubled, when it gets
 * half full): readers that look names up while listing stay linear. The
 * name must not be in the index yet. */
mft_status mftc_index_add_last(mft_file *f);
/* Fill row-major strides for a contiguous tensor. */
int64_t *mftc_contiguous_strides(mftc_arena *a, const uint64_t *shape,
                                 int ndim);

/* Write a JSON string literal (with quotes) for `s` into `out`, escaped as
 * serde_json does; returns the bytes needed (may exceed cap, then truncated). */
size_t mftc_json_escape(const char *s, size_t n, char *out, size_t cap);

/* Format readers. Each fills a fresh handle from f->src or fails with a
 * message. */
mft_status mftc_read_safetensors(mft_file *f);
mft_status mftc_read_safetensors_index(mft_file *f);
mft_status mftc_read_pickle(mft_file *f);
mft_status mftc_read_pytorch_legacy(mft_file *f);
/* Any zip: a torch.save / TorchScript archive when it holds data.pkl,
 * else handed to the npz reader. */
mft_status mftc_read_zip_model(mft_file *f);
/* Keep `p` (malloc'd) until the handle closes; frees it on failure. */
mft_status mftc_keep(mft_file *f, void *p);
mft_status mftc_read_gguf(mft_file *f);
mft_status mftc_read_npy(mft_file *f);
mft_status mftc_read_npz(mft_file *f);

/* Effective limit on a handle. */
static inline uint64_t mftc_limit(const mft_file *f, mft_limit which)
{
    return f->limits[which];
}

/* Human-readable first bytes of a buffer ("50 4b 03 04 …"). */
void mftc_hex_prefix(const uint8_t *p, size_t n, char *out, size_t cap);

#endif
