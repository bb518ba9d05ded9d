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
            const char *cls;
            mft_value *state;
        } obj;
    } u;
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

/* Effective limit on a handle. */
static inline uint64_t mftc_limit(const mft_file *f, mft_limit which)
{
    return f->limits[which];
}

/* Human-readable first bytes of a buffer ("50 4b 03 04 …"). */
void mftc_hex_prefix(const uint8_t *p, size_t n, char *out, size_t cap);

#endif
