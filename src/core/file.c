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
    if (fmt == MFT_FORMAT_UNKNOWN && n >= 4 && memcmp(p, "PK\3\4", 4) == 0)
        fmt = MFT_FORMAT_PYTORCH_ZIP; /* refined by the central directory */
    if (fmt == MFT_FORMAT_UNKNOWN && f->src.size >= 2 &&
        p[f->src.size - 1] == '.' && strchr("(]}cKJMIFSVNXUTL)lde", p[0]))
        fmt = MFT_FORMAT_PICKLE; /* protocol 0/1 pickle: opcode … STOP */
    if (fmt == MFT_FORMAT_UNKNOWN) {
        if (strcmp(ext, ".safetensors") == 0)
            fmt = MFT_FORMAT_SAFETENSORS;
        else if (strcmp(ext, ".gguf") == 0 && f->src.size > 0)
            fmt = MFT_FORMAT_GGUF;
        else if (strcmp(ext, ".npy") == 0 && f->src.size > 0)
            fmt = MFT_FORMAT_NPY;
        else if (strcmp(ext, ".npz") == 0 && f->src.size > 0)
            fmt = MFT_FORMAT_NPZ;
        else if (strcmp(ext, ".pkl") == 0 || strcmp(ext, ".pickle") == 0)
            fmt = MFT_FORMAT_PICKLE;
        else if (f->src.size == 0)
            return mftc_fail(f, MFT_ERR_FORMAT, NULL, -1, "file is empty");
    }
    f->format = fmt;
    switch (fmt) {
    case MFT_FORMAT_SAFETENSORS:
        return mftc_read_safetensors(f);
    case MFT_FORMAT_SAFETENSORS_INDEX:
        return mftc_read_safetensors_index(f);
    case MFT_FORMAT_GGUF:
        return mftc_read_gguf(f);
    case MFT_FORMAT_PICKLE:
        return mftc_read_pickle(f);
    case MFT_FORMAT_PYTORCH_LEGACY:
        return mftc_read_pytorch_legacy(f);
    case MFT_FORMAT_PYTORCH_ZIP:
        return mftc_read_zip_model(f);
    case MFT_FORMAT_NPY:
        return mftc_read_npy(f);
    case MFT_FORMAT_NPZ:
        return mftc_read_npz(f);
    default: {
        char hex[64];
        mftc_hex_prefix(p, n, hex, sizeof hex);
        return mftc_fail(f, MFT_ERR_FORMAT, NULL, -1,
                         "not a model file mft can read (first bytes: %s)",
                         hex);
    }
    }
}

mft_status mftc_keep(mft_file *f, void *p)
{
    void **g = realloc(f->owned, (f->nowned + 1) * sizeof *g);
    if (!g) {
        free(p);
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    }
    f->owned = g;
    f->owned[f->nowned++] = p;
    return MFT_OK;
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
    for (size_t i = 0; i < f->nowned; i++)
        free(f->owned[i]);
    free(f->owned);
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

mft_status mftc_index_add_last(mft_file *f)
{
    if (!f->ntensors)
        return MFT_OK;
    if (!f->name_index || f->ntensors * 2 > f->name_index_cap)
        return mftc_index_names(f, NULL);
    size_t i = f->ntensors - 1, cap = f->name_index_cap;
    size_t slot = (size_t)hash_name(f->tensors[i].name) & (cap - 1);
    while (f->name_index[slot])
        slot = (slot + 1) & (cap - 1);
    f->name_index[slot] = i + 1;
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
    out->quant_count = t->quant_count;
    out->quant_scale = t->quant_scale;
    out->quant_zero_point = t->quant_zero_point;
    out->quant_axis = t->quant_count ? t->quant_axis : -1;
    out->kind = t->kind;
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

/* Reverse the bytes of each `unit`-byte group of p[0, n). */
static void swap_units(uint8_t *p, size_t n, size_t unit)
{
    size_t i = 0;
    switch (unit) {
    case 2:
        for (; i + 2 <= n; i += 2) {
            uint16_t v;
            memcpy(&v, p + i, 2);
            v = __builtin_bswap16(v);
            memcpy(p + i, &v, 2);
        }
        break;
    case 4:
        for (; i + 4 <= n; i += 4) {
            uint32_t v;
            memcpy(&v, p + i, 4);
            v = __builtin_bswap32(v);
            memcpy(p + i, &v, 4);
        }
        break;
    case 8:
        for (; i + 8 <= n; i += 8) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            v = __builtin_bswap64(v);
            memcpy(p + i, &v, 8);
        }
        break;
    default:
        for (; i + unit <= n; i += unit)
            for (size_t a = i, b = i + unit - 1; a < b; a++, b--) {
                uint8_t c = p[a];
                p[a] = p[b];
                p[b] = c;
            }
    }
}

/* Copy `count` elements of `es` bytes, `step` bytes apart, to dst. */
static void copy_strided(uint8_t *dst, const uint8_t *src, uint64_t count,
                         uint64_t step, size_t es)
{
    switch (es) { /* fixed sizes: the compiler turns memcpy into a move */
    case 1:
        for (uint64_t k = 0; k < count; k++)
            dst[k] = src[k * step];
        break;
    case 2:
        for (uint64_t k = 0; k < count; k++)
            memcpy(dst + 2 * k, src + k * step, 2);
        break;
    case 4:
        for (uint64_t k = 0; k < count; k++)
            memcpy(dst + 4 * k, src + k * step, 4);
        break;
    case 8:
        for (uint64_t k = 0; k < count; k++)
            memcpy(dst + 8 * k, src + k * step, 8);
        break;
    case 16:
        for (uint64_t k = 0; k < count; k++)
            memcpy(dst + 16 * k, src + k * step, 16);
        break;
    default:
        for (uint64_t k = 0; k < count; k++)
            memcpy(dst + es * k, src + k * step, es);
    }
}

/* Apply torch's lazy neg (all components) or conj (imaginary part) bit to
 * one little-endian element: floats flip their sign bit, integers negate. */
static void negate_element(mft_dtype dt, uint8_t *e, size_t es, int all)
{
    if (mft_dtype_is_complex(dt)) {
        size_t half = es / 2;
        if (all)
            e[half - 1] ^= 0x80;
        e[es - 1] ^= 0x80;
    } else if (mft_dtype_is_float(dt)) {
        e[es - 1] ^= 0x80;
    } else {
        unsigned carry = 1;
        for (size_t i = 0; i < es; i++) {
            unsigned v = (uint8_t)~e[i] + carry;
            e[i] = (uint8_t)v;
            carry = v >> 8;
        }
    }
}

/* Gather a strided and/or byte-swapped tensor into row-major little-endian
 * chunks of at most MFT_STREAM_CHUNK bytes. Dimensions of extent 1 are
 * dropped and neighbours that are contiguous with each other merged, so the
 * innermost run is as long as the layout allows: a run with stride 1 is
 * copied with memcpy (then swapped in place), any other with a fixed-size
 * element loop. Strides are non-negative element counts (the readers prove
 * every addressed element lies in the storage). */
static mft_status gather(mft_file *f, const mftc_tensor *t, mft_bytes_sink sink,
                         void *user)
{
    unsigned bits = mft_dtype_bits(t->dtype);
    if (bits < 8 || bits % 8)
        return mftc_fail(f, MFT_ERR_UNSUPPORTED, t->member, -1,
                         "tensor \"%s\": strided %s data", t->name,
                         mft_dtype_name(t->dtype));
    if (t->numel == 0)
        return MFT_OK;
    size_t es = bits / 8;
    size_t swap_unit = mft_dtype_is_complex(t->dtype) ? es / 2 : es;
    int swap = t->byteswap && swap_unit > 1;
    /* collapse the layout */
    uint64_t shape[MFT_MAX_DIMS];
    uint64_t stride[MFT_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < t->ndim && d < MFT_MAX_DIMS; d++) {
        if (t->shape[d] == 1)
            continue;
        if (t->strides[d] < 0)
            return mftc_fail(f, MFT_ERR_UNSUPPORTED, t->member, -1,
                             "tensor \"%s\": negative stride", t->name);
        uint64_t sd = (uint64_t)t->strides[d];
        if (n && stride[n - 1] == sd * t->shape[d]) {
            shape[n - 1] *= t->shape[d]; /* ≤ numel: no overflow */
            stride[n - 1] = sd;
        } else {
            shape[n] = t->shape[d];
            stride[n] = sd;
            n++;
        }
    }
    uint64_t run = n ? shape[n - 1] : 1;
    uint64_t step = n ? stride[n - 1] * es : es;
    int outer = n ? n - 1 : 0;
    size_t chunk = MFT_STREAM_CHUNK - MFT_STREAM_CHUNK % es;
    if (t->nbytes < chunk)
        chunk = (size_t)t->nbytes;
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    uint64_t idx[MFT_MAX_DIMS] = {0};
    const uint8_t *base = t->storage + t->storage_offset * es;
    uint64_t row = 0; /* element offset of the current run */
    size_t fill = 0;
    mft_status st = MFT_OK;
    for (uint64_t done = 0; done < t->numel && st == MFT_OK;) {
        for (uint64_t k = 0; k < run && st == MFT_OK;) {
            uint64_t take = (chunk - fill) / es;
            if (take > run - k)
                take = run - k;
            const uint8_t *src = base + row * es + k * step;
            if (step == es)
                memcpy(buf + fill, src, (size_t)(take * es));
            else
                copy_strided(buf + fill, src, take, step, es);
            if (swap)
                swap_units(buf + fill, (size_t)(take * es), swap_unit);
            if (t->negate || t->conjugate)
                for (uint64_t e = 0; e < take; e++)
                    negate_element(t->dtype, buf + fill + e * es, es,
                                   t->negate);
            fill += (size_t)(take * es);
            k += take;
            if (fill == chunk) {
                if (sink(user, buf, fill) != 0)
                    st = MFT_ERR_MISUSE;
                fill = 0;
                /* one sequential run through a mapping: drop what was
                 * read, as the contiguous walk does */
                if (n <= 1 && step == es && t->src)
                    mftc_source_done(t->src, src, take * es);
            }
        }
        done += run;
        /* next row-major index over the outer dimensions */
        for (int d = outer - 1; d >= 0; d--) {
            row += stride[d];
            if (++idx[d] < shape[d])
                break;
            row -= stride[d] * shape[d];
            idx[d] = 0;
        }
    }
    if (st == MFT_OK && fill && sink(user, buf, fill) != 0)
        st = MFT_ERR_MISUSE;
    free(buf);
    return st;
}

/* Row-major element order: each stride (of an extent > 1) is the product of
 * the extents after it. */
static int row_major(const mftc_tensor *t)
{
    uint64_t acc = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] > 1 && (t->strides[d] < 0 ||
                                (uint64_t)t->strides[d] != acc))
            return 0;
        acc *= t->shape[d]; /* numel fits in 64 bits */
    }
    return 1;
}

/* Whether every element a view addresses lies in its storage: (offset +
 * Σ (extent − 1) × stride + 1) × element size ≤ storage bytes, checked. */
static int view_fits(const mftc_tensor *t)
{
    unsigned bits = mft_dtype_bits(t->dtype);
    if (t->numel == 0)
        return 1;
    if (bits % 8) /* packed types are only ever contiguous from offset 0 */
        return t->storage_offset == 0 && row_major(t) &&
               t->nbytes <= t->storage_nbytes;
    uint64_t last = t->storage_offset, step, end;
    for (int d = 0; d < t->ndim; d++) {
        if (t->strides[d] < 0 ||
            !mftc_mul_u64(t->shape[d] - 1, (uint64_t)t->strides[d], &step) ||
            !mftc_add_u64(last, step, &last))
            return 0;
    }
    return mftc_add_u64(last, 1, &end) && mftc_mul_u64(end, bits / 8, &end) &&
           end <= t->storage_nbytes;
}

/* A tensor whose storage a load hook produces (inflated zip member …):
 * load it, check the view against it, then stream it directly or gather. */
static mft_status load_stream(mft_file *f, const mftc_tensor *t,
                              mft_bytes_sink sink, void *user)
{
    mftc_tensor v = *t;
    void *owned = NULL;
    mft_status st = t->load(f, t, &v.storage, &v.storage_nbytes, &owned);
    if (st != MFT_OK)
        return st;
    unsigned bits = mft_dtype_bits(t->dtype);
    if (!view_fits(&v)) {
        st = mftc_fail(f, MFT_ERR_CORRUPT, t->member, -1,
                       "tensor \"%s\": its storage of %llu bytes is too "
                       "small for its shape and strides",
                       t->name, (unsigned long long)v.storage_nbytes);
    } else if (!v.byteswap && row_major(&v)) {
        const uint8_t *p = v.storage + v.storage_offset * (bits / 8);
        for (uint64_t done = 0; done < t->nbytes && st == MFT_OK;) {
            uint64_t n = t->nbytes - done;
            if (n > MFT_STREAM_CHUNK)
                n = MFT_STREAM_CHUNK;
            if (sink(user, p + done, (size_t)n) != 0)
                st = MFT_ERR_MISUSE;
            done += n;
        }
    } else {
        st = gather(f, &v, sink, user);
    }
    free(owned);
    return st;
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
    if (t->kind)
        return mftc_fail(f, MFT_ERR_UNSUPPORTED, t->member, -1,
                         "tensor \"%s\": the values of a %s tensor are not "
                         "exposed as one array",
                         t->name, t->kind);
    if (!t->data && t->nbytes && t->storage)
        return gather(f, t, sink, user);
    if (!t->data && t->nbytes && t->stream && !t->byteswap && row_major(t))
        return t->stream(f, t, sink, user);
    if (!t->data && t->nbytes && t->load)
        return load_stream(f, t, sink, user);
    if (!t->data && t->nbytes)
        return mftc_fail(f, MFT_ERR_UNSUPPORTED, t->member, -1,
                         "tensor \"%s\": its values are not stored in the "
                         "file",
                         t->name);
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
