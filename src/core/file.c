/* The mft_file handle: opening (detect, then hand to a format reader), the
 * tensor table and its name index, and the public tensor accessors. */
#include "internal.h"
#include "checked.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t default_limits[MFT_LIMIT_COUNT_] = {
    [MFT_LIMIT_HEADER_BYTES] = MFT_DEFAULT_HEADER_BYTES,
    [MFT_LIMIT_TENSORS] = MFT_DEFAULT_TENSORS,
    [MFT_LIMIT_DIMS] = MFT_DEFAULT_DIMS,
    [MFT_LIMIT_NAME_BYTES] = MFT_DEFAULT_NAME_BYTES,
    [MFT_LIMIT_JSON_DEPTH] = MFT_DEFAULT_JSON_DEPTH,
    [MFT_LIMIT_SHARDS] = MFT_DEFAULT_SHARDS,
    [MFT_LIMIT_PICKLE_DEPTH] = MFT_DEFAULT_PICKLE_DEPTH,
    [MFT_LIMIT_PICKLE_MEMO] = MFT_DEFAULT_PICKLE_MEMO,
    [MFT_LIMIT_PICKLE_ITEMS] = MFT_DEFAULT_PICKLE_ITEMS,
    [MFT_LIMIT_ZIP_ENTRIES] = MFT_DEFAULT_ZIP_ENTRIES,
    [MFT_LIMIT_INFLATE_BYTES] = MFT_DEFAULT_INFLATE_BYTES,
    [MFT_LIMIT_STRING_BYTES] = MFT_DEFAULT_STRING_BYTES,
    [MFT_LIMIT_ARRAY_ITEMS] = MFT_DEFAULT_ARRAY_ITEMS,
};

const char *mft_version(void) { return MFT_VERSION_STRING; }
int mft_version_number(void) { return MFT_VERSION_NUMBER; }

static mft_file *file_new(const char *name, const mft_open_options *opts,
                          mft_status *st)
{
    mft_file *f = calloc(1, sizeof *f);
    if (!f) {
        *st = MFT_ERR_NOMEM;
        return NULL;
    }
    f->path = strdup(name ? name : "(memory)");
    if (!f->path) {
        free(f);
        *st = MFT_ERR_NOMEM;
        return NULL;
    }
    memcpy(f->limits, default_limits, sizeof f->limits);
    *st = MFT_OK;
    if (opts) {
        f->no_mmap = opts->no_mmap;
        for (int i = 0; i < MFT_LIMIT_COUNT_; i++) {
            if (opts->limits[i] == 0)
                continue;
            if (opts->limits[i] > default_limits[i]) {
                *st = mftc_fail(f, MFT_ERR_MISUSE, NULL, -1,
                                "limit %d raised above its maximum %llu", i,
                                (unsigned long long)default_limits[i]);
                break;
            }
            f->limits[i] = opts->limits[i];
        }
    }
    f->root = mftc_value_new(&f->arena, MFT_VALUE_DICT);
    if (!f->root)
        *st = mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    return f;
}

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    return dot ? dot : "";
}

/* Pick a reader by content. When the content matches nothing but the name
 * says what the file claims to be, run that reader anyway: its error ("header
 * length runs past end of file") says more than "unrecognised format". */
static mft_status dispatch(mft_file *f)
{
    const uint8_t *p = f->src.data;
    size_t n = f->src.size < MFT_DETECT_BYTES ? (size_t)f->src.size
                                              : MFT_DETECT_BYTES;
    mft_format fmt = mft_detect(p, n);
    const char *ext = extension(f->path);
    if (fmt == MFT_FORMAT_UNKNOWN) {
        if (strcmp(ext, ".safetensors") == 0)
            fmt = MFT_FORMAT_SAFETENSORS;
        else if (f->src.size == 0)
            return mftc_fail(f, MFT_ERR_FORMAT, NULL, -1, "file is empty");
    }
    f->format = fmt;
    switch (fmt) {
    case MFT_FORMAT_SAFETENSORS:
        return mftc_read_safetensors(f);
    case MFT_FORMAT_SAFETENSORS_INDEX:
        return mftc_read_safetensors_index(f);
    default: {
        char hex[64];
        mftc_hex_prefix(p, n, hex, sizeof hex);
        return mftc_fail(f, MFT_ERR_FORMAT, NULL, -1,
                         "not a model file mft can read (first bytes: %s)",
                         hex);
    }
    }
}

mft_status mft_open(const char *path, const mft_open_options *opts,
                    mft_file **out)
{
    mft_status st;
    if (!out)
        return MFT_ERR_MISUSE;
    *out = NULL;
    if (!path)
        return MFT_ERR_MISUSE;
    mft_file *f = file_new(path, opts, &st);
    *out = f;
    if (st != MFT_OK)
        return st;
    st = mftc_source_open(&f->src, path, f->no_mmap, f->errmsg);
    if (st != MFT_OK)
        return st;
    return dispatch(f);
}

mft_status mft_open_memory(const void *data, size_t len, const char *name,
                           const mft_open_options *opts, mft_file **out)
{
    mft_status st;
    if (!out)
        return MFT_ERR_MISUSE;
    *out = NULL;
    if (!data && len)
        return MFT_ERR_MISUSE;
    mft_file *f = file_new(name, opts, &st);
    *out = f;
    if (st != MFT_OK)
        return st;
    f->src.data = data ? data : (const uint8_t *)"";
    f->src.size = len;
    f->src.kind = 3;
    if (mft_detect(data, len < MFT_DETECT_BYTES ? len : MFT_DETECT_BYTES) ==
        MFT_FORMAT_SAFETENSORS_INDEX)
        return mftc_fail(f, MFT_ERR_UNSUPPORTED, NULL, -1,
                         "a sharded set must be opened from its path");
    return dispatch(f);
}

void mft_close(mft_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nparts; i++)
        mft_close(f->parts[i]);
    free(f->parts);
    mftc_source_close(&f->src);
    mftc_arena_free(&f->arena);
    free(f->tensors);
    free(f->name_index);
    free(f->path);
    free(f);
}

const char *mft_file_errmsg(const mft_file *f) { return f ? f->errmsg : ""; }
mft_format mft_file_format(const mft_file *f)
{
    return f ? f->format : MFT_FORMAT_UNKNOWN;
}
const char *mft_file_path(const mft_file *f) { return f ? f->path : NULL; }
const mft_value *mft_file_root(const mft_file *f) { return f ? f->root : NULL; }
const mft_value *mft_file_metadata(const mft_file *f)
{
    return f ? f->metadata : NULL;
}

/* ---------------------------------------------------------------- tensors */

mft_status mftc_add_tensor(mft_file *f, const mftc_tensor *t, size_t *index)
{
    if (f->ntensors >= mftc_limit(f, MFT_LIMIT_TENSORS))
        return mftc_fail(f, MFT_ERR_LIMIT, NULL, -1,
                         "more than %llu tensors (the limit)",
                         (unsigned long long)mftc_limit(f, MFT_LIMIT_TENSORS));
    if (f->ntensors == f->tensors_cap) {
        size_t cap = f->tensors_cap ? f->tensors_cap * 2 : 64;
        size_t bytes;
        if (!mftc_mul_size(cap, sizeof *f->tensors, &bytes))
            return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        mftc_tensor *grown = realloc(f->tensors, bytes);
        if (!grown)
            return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        f->tensors = grown;
        f->tensors_cap = cap;
    }
    f->tensors[f->ntensors] = *t;
    if (index)
        *index = f->ntensors;
    f->ntensors++;
    return MFT_OK;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

mft_status mftc_index_names(mft_file *f, size_t *dup)
{
    size_t cap = 16;
    while (cap < f->ntensors * 2)
        cap *= 2;
    free(f->name_index);
    f->name_index = calloc(cap, sizeof *f->name_index);
    if (!f->name_index)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    f->name_index_cap = cap;
    for (size_t i = 0; i < f->ntensors; i++) {
        size_t slot = (size_t)hash_name(f->tensors[i].name) & (cap - 1);
        while (f->name_index[slot]) {
            size_t j = f->name_index[slot] - 1;
            if (strcmp(f->tensors[j].name, f->tensors[i].name) == 0) {
                if (dup)
                    *dup = i;
                return MFT_ERR_CORRUPT;
            }
            slot = (slot + 1) & (cap - 1);
        }
        f->name_index[slot] = i + 1;
    }
    return MFT_OK;
}

int64_t *mftc_contiguous_strides(mftc_arena *a, const uint64_t *shape,
                                 int ndim)
{
    int64_t *s = mftc_arena_alloc(a, (size_t)(ndim ? ndim : 1) * sizeof *s);
    if (!s)
        return NULL;
    int64_t acc = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        s[i] = acc;
        /* extents were checked to multiply within u64; strides saturate */
        if (shape[i] && (uint64_t)acc <= (uint64_t)INT64_MAX / shape[i])
            acc *= (int64_t)shape[i];
    }
    return s;
}

size_t mft_tensor_count(const mft_file *f) { return f ? f->ntensors : 0; }

mft_status mft_tensor_at(mft_file *f, size_t index, mft_tensor *out)
{
    if (!f || !out)
        return MFT_ERR_MISUSE;
    if (index >= f->ntensors)
        return mftc_fail(f, MFT_ERR_NOT_FOUND, NULL, -1,
                         "no tensor number %zu (the file has %zu)", index,
                         f->ntensors);
    const mftc_tensor *t = &f->tensors[index];
    out->name = t->name;
    out->dtype = t->dtype;
    out->ndim = t->ndim;
    out->shape = t->shape;
    out->strides = t->strides;
    out->numel = t->numel;
    out->nbytes = t->nbytes;
    out->data = t->data;
    out->member = t->member;
    out->offset = t->offset;
    return MFT_OK;
}

mft_status mft_tensor_find(mft_file *f, const char *name, size_t *index)
{
    if (!f || !name)
        return MFT_ERR_MISUSE;
    if (f->name_index_cap) {
        size_t cap = f->name_index_cap;
        size_t slot = (size_t)hash_name(name) & (cap - 1);
        while (f->name_index[slot]) {
            size_t j = f->name_index[slot] - 1;
            if (strcmp(f->tensors[j].name, name) == 0) {
                if (index)
                    *index = j;
                return MFT_OK;
            }
            slot = (slot + 1) & (cap - 1);
        }
    }
    return mftc_fail(f, MFT_ERR_NOT_FOUND, NULL, -1, "no tensor named \"%s\"",
                     name);
}

mft_status mft_tensor_stream(mft_file *f, size_t index, mft_bytes_sink sink,
                             void *user)
{
    if (!f || !sink)
        return MFT_ERR_MISUSE;
    if (index >= f->ntensors)
        return mftc_fail(f, MFT_ERR_NOT_FOUND, NULL, -1,
                         "no tensor number %zu", index);
    const mftc_tensor *t = &f->tensors[index];
    if (!t->data && t->nbytes)
        return mftc_fail(f, MFT_ERR_UNSUPPORTED, t->member, -1,
                         "tensor \"%s\": bytes not addressable", t->name);
    uint64_t done = 0;
    while (done < t->nbytes) {
        uint64_t n = t->nbytes - done;
        if (n > MFT_STREAM_CHUNK)
            n = MFT_STREAM_CHUNK;
        if (sink(user, t->data + done, (size_t)n) != 0)
            return MFT_ERR_MISUSE;
        /* only big walks drop pages: a small read is likely read again */
        if (t->nbytes > MFT_STREAM_CHUNK)
            mftc_source_done(t->src, t->data + done, n);
        done += n;
    }
    return MFT_OK;
}

struct copy_sink {
    uint8_t *dst;
    uint64_t at;
};

static int copy_to(void *user, const void *bytes, size_t len)
{
    struct copy_sink *c = user;
    memcpy(c->dst + c->at, bytes, len);
    c->at += len;
    return 0;
}

mft_status mft_tensor_read(mft_file *f, size_t index, void *dst,
                           uint64_t dst_size)
{
    if (!f || (!dst && dst_size))
        return MFT_ERR_MISUSE;
    if (index >= f->ntensors)
        return mftc_fail(f, MFT_ERR_NOT_FOUND, NULL, -1,
                         "no tensor number %zu", index);
    if (dst_size < f->tensors[index].nbytes)
        return mftc_fail(f, MFT_ERR_MISUSE, NULL, -1,
                         "buffer of %llu bytes too small for %llu",
                         (unsigned long long)dst_size,
                         (unsigned long long)f->tensors[index].nbytes);
    struct copy_sink c = {dst, 0};
    return mft_tensor_stream(f, index, copy_to, &c);
}
