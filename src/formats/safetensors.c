/* safetensors reader.
 *
 * Layout (see shared/reference/safetensors-gguf-npy.md §1):
 *   [0, 8)        N, u64 little-endian: bytes of the JSON header
 *   [8, 8+N)      UTF-8 JSON object: "__metadata__" (string → string, optional)
 *                 and name → {"dtype", "shape", "data_offsets": [begin, end)}
 *   [8+N, EOF)    the data buffer; offsets are relative to its start
 *
 * We enforce every rule the reference reader (Rust `Metadata::validate`)
 * does, in its order: header size cap, 8+N within the file, UTF-8, JSON shape,
 * known dtypes, entries sorted by offsets forming one gap-free, overlap-free
 * run from 0, element count × size == span (checked arithmetic, whole bytes
 * for sub-byte types), and the run ending exactly at end of file. We also
 * refuse duplicate keys, which the reference silently collapses.
 * Tensors are listed in data order; their bytes are borrowed from the
 * mapping (zero-copy). */
#include "../core/checked.h"
#include "../core/cursor.h"
#include "../core/internal.h"
#include "../core/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBER "header"

typedef struct entry {
    const char *name;
    size_t name_len;
    uint64_t name_offset;
    mft_dtype dtype;
    int ndim;
    uint64_t *shape;
    uint64_t begin, end;
    uint64_t numel, nbytes;
} entry;

static int json_u64(const mftc_json *v, uint64_t *out)
{
    if (v->type != MFTC_JSON_NUMBER || !v->u.num.is_int ||
        (v->u.num.neg && v->u.num.mag != 0))
        return 0;
    *out = v->u.num.mag;
    return 1;
}

/* Print a shape as "[2, 3]" into buf. */
static void shape_text(const uint64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ", %llu" : "%llu",
                              (unsigned long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

static mft_status parse_metadata(mft_file *f, const mftc_json *meta)
{
    if (!f->metadata && !(f->metadata = mftc_value_new(&f->arena,
                                                       MFT_VALUE_DICT)))
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    if (meta->type != MFTC_JSON_OBJECT)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)meta->offset,
                         "__metadata__ must be an object of strings");
    for (size_t i = 0; i < meta->u.kids.n; i++) {
        const mftc_json_member *m = &meta->u.kids.m[i];
        if (m->value.type != MFTC_JSON_STRING)
            return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER,
                             (int64_t)m->value.offset,
                             "__metadata__ value of \"%.200s\" must be a "
                             "string",
                             m->key);
        mft_value *k = mftc_value_string(&f->arena, m->key, m->key_len);
        mft_value *v = mftc_value_string(&f->arena, m->value.u.str.p,
                                         m->value.u.str.n);
        if (!k || !v || !mftc_value_append(&f->arena, f->metadata, k, v))
            return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    }
    return MFT_OK;
}

static mft_status parse_entry(mft_file *f, const mftc_json_member *m,
                              entry *e)
{
    const mftc_json *v = &m->value;
    const char *name = m->key;
    e->name = name;
    e->name_len = m->key_len;
    e->name_offset = m->key_offset;
    if (m->key_len > mftc_limit(f, MFT_LIMIT_NAME_BYTES))
        return mftc_fail(f, MFT_ERR_LIMIT, MEMBER, (int64_t)m->key_offset,
                         "tensor name of %zu bytes exceeds the limit of %llu",
                         m->key_len,
                         (unsigned long long)mftc_limit(f,
                                                        MFT_LIMIT_NAME_BYTES));
    if (strlen(name) != m->key_len)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)m->key_offset,
                         "tensor name contains a NUL character");
    if (v->type != MFTC_JSON_OBJECT)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)v->offset,
                         "tensor \"%.200s\": entry must be an object with "
                         "dtype, shape and data_offsets",
                         name);
    const mftc_json *dt = mftc_json_get(v, "dtype");
    const mftc_json *sh = mftc_json_get(v, "shape");
    const mftc_json *off = mftc_json_get(v, "data_offsets");
    if (!dt || !sh || !off)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)v->offset,
                         "tensor \"%.200s\": missing \"%s\"", name,
                         !dt ? "dtype" : !sh ? "shape" : "data_offsets");
    if (dt->type != MFTC_JSON_STRING)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)dt->offset,
                         "tensor \"%.200s\": dtype must be a string", name);
    e->dtype = mft_dtype_from_name(dt->u.str.p);
    /* safetensors has no STRING, I4 … dtype: only its own names count */
    if (e->dtype == MFT_DTYPE_INVALID || e->dtype == MFT_STRING ||
        e->dtype == MFT_C32 || e->dtype == MFT_C128 ||
        (e->dtype >= MFT_I4 && e->dtype <= MFT_U2) ||
        mft_dtype_bits(e->dtype) == 0 /* ggml block types */)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)dt->offset,
                         "tensor \"%.200s\": unknown dtype \"%.40s\"", name,
                         dt->u.str.p);
    if (sh->type != MFTC_JSON_ARRAY)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)sh->offset,
                         "tensor \"%.200s\": shape must be an array of "
                         "non-negative integers",
                         name);
    if (sh->u.kids.n > mftc_limit(f, MFT_LIMIT_DIMS))
        return mftc_fail(f, MFT_ERR_LIMIT, MEMBER, (int64_t)sh->offset,
                         "tensor \"%.200s\": %zu dimensions exceed the limit "
                         "of %llu",
                         name, sh->u.kids.n,
                         (unsigned long long)mftc_limit(f, MFT_LIMIT_DIMS));
    e->ndim = (int)sh->u.kids.n;
    e->shape = mftc_arena_alloc(&f->arena,
                                (size_t)(e->ndim ? e->ndim : 1) * sizeof(uint64_t));
    if (!e->shape)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    for (int i = 0; i < e->ndim; i++) {
        const mftc_json *d = &sh->u.kids.m[i].value;
        if (!json_u64(d, &e->shape[i]))
            return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)d->offset,
                             "tensor \"%.200s\": shape must be an array of "
                             "non-negative integers",
                             name);
    }
    if (off->type != MFTC_JSON_ARRAY || off->u.kids.n != 2 ||
        !json_u64(&off->u.kids.m[0].value, &e->begin) ||
        !json_u64(&off->u.kids.m[1].value, &e->end))
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)off->offset,
                         "tensor \"%.200s\": data_offsets must be two "
                         "non-negative integers [begin, end]",
                         name);
    if (e->end < e->begin)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)off->offset,
                         "tensor \"%.200s\": data_offsets end %llu is before "
                         "begin %llu",
                         name, (unsigned long long)e->end,
                         (unsigned long long)e->begin);
    return MFT_OK;
}

/* Element count and byte size against the span: reference rules 8–10. */
static mft_status check_size(mft_file *f, entry *e)
{
    char sh[256];
    unsigned bits = mft_dtype_bits(e->dtype);
    int whole = 1;
    if (!mftc_shape_numel(e->shape, (size_t)e->ndim, &e->numel)) {
        shape_text(e->shape, e->ndim, sh, sizeof sh);
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)e->name_offset,
                         "tensor \"%.200s\": shape %s overflows 64-bit element "
                         "count",
                         e->name, sh);
    }
    if (!mftc_elem_bytes(e->numel, bits, &e->nbytes, &whole)) {
        if (!whole)
            return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER,
                             (int64_t)e->name_offset,
                             "tensor \"%.200s\": %llu elements of %s are not a "
                             "whole number of bytes",
                             e->name, (unsigned long long)e->numel,
                             mft_dtype_name(e->dtype));
        shape_text(e->shape, e->ndim, sh, sizeof sh);
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)e->name_offset,
                         "tensor \"%.200s\": byte size of shape %s × %s "
                         "overflows",
                         e->name, sh, mft_dtype_name(e->dtype));
    }
    if (e->end - e->begin != e->nbytes) {
        shape_text(e->shape, e->ndim, sh, sizeof sh);
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)e->name_offset,
                         "tensor \"%.200s\": data_offsets [%llu, %llu] span "
                         "%llu bytes, which does not match shape %s × %s = "
                         "%llu bytes",
                         e->name, (unsigned long long)e->begin,
                         (unsigned long long)e->end,
                         (unsigned long long)(e->end - e->begin), sh,
                         mft_dtype_name(e->dtype),
                         (unsigned long long)e->nbytes);
    }
    return MFT_OK;
}

static int by_offsets(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->name_offset < y->name_offset ? -1 : 1; /* stable */
}

mft_status mftc_read_safetensors(mft_file *f)
{
    f->format = MFT_FORMAT_SAFETENSORS;
    uint64_t size = f->src.size;
    mftc_cursor cur = mftc_cursor_make(f->src.data, (size_t)size, 0);
    uint64_t n;
    if (size == 0)
        return mftc_fail(f, MFT_ERR_CORRUPT, NULL, -1, "file is empty");
    if (!mftc_le64(&cur, &n))
        return mftc_fail(f, MFT_ERR_CORRUPT, NULL, 0,
                         "too short for a safetensors header: %llu bytes, "
                         "need at least 8",
                         (unsigned long long)size);
    uint64_t cap = mftc_limit(f, MFT_LIMIT_HEADER_BYTES);
    if (n > cap)
        return mftc_fail(f, MFT_ERR_LIMIT, MEMBER, 0,
                         "header length %llu exceeds the limit of %llu bytes",
                         (unsigned long long)n, (unsigned long long)cap);
    if (n > mftc_remaining(&cur))
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, 0,
                         "header length %llu runs past end of file (%llu "
                         "bytes)",
                         (unsigned long long)n, (unsigned long long)size);
    const uint8_t *hdr;
    mftc_take(&cur, (size_t)n, &hdr);
    size_t bad = mftc_utf8_check(hdr, (size_t)n);
    if (bad != n)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)(8 + bad),
                         "header is not valid UTF-8");
    mftc_json_error jerr;
    mftc_json *root = mftc_json_parse(
        &f->arena, (const char *)hdr, (size_t)n, 8,
        (unsigned)mftc_limit(f, MFT_LIMIT_JSON_DEPTH), &jerr);
    if (!root) {
        if (jerr.nomem)
            return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        if (strncmp(jerr.msg, "duplicate key", 13) == 0)
            return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)jerr.offset,
                             "%s", jerr.msg);
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)jerr.offset,
                         "invalid JSON: %s", jerr.msg);
    }
    if (root->type != MFTC_JSON_OBJECT)
        return mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)root->offset,
                         "header must be a JSON object");

    size_t count = root->u.kids.n;
    entry *entries = calloc(count ? count : 1, sizeof *entries);
    if (!entries)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    size_t ne = 0;
    mft_status st = MFT_OK;
    for (size_t i = 0; i < count && st == MFT_OK; i++) {
        const mftc_json_member *m = &root->u.kids.m[i];
        if (strcmp(m->key, "__metadata__") == 0 && m->key_len == 12)
            st = parse_metadata(f, &m->value);
        else if (ne >= mftc_limit(f, MFT_LIMIT_TENSORS))
            st = mftc_fail(f, MFT_ERR_LIMIT, MEMBER, (int64_t)m->key_offset,
                           "more than %llu tensors (the limit)",
                           (unsigned long long)mftc_limit(f, MFT_LIMIT_TENSORS));
        else
            st = parse_entry(f, m, &entries[ne++]);
    }
    for (size_t i = 0; i < ne && st == MFT_OK; i++)
        st = check_size(f, &entries[i]);
    if (st != MFT_OK) {
        free(entries);
        return st;
    }

    qsort(entries, ne, sizeof *entries, by_offsets);
    uint64_t data_start = 8 + n, data_len = size - data_start, run = 0;
    for (size_t i = 0; i < ne; i++) {
        entry *e = &entries[i];
        if (e->begin > run)
            st = mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)e->name_offset,
                           "gap of %llu bytes in the data before tensor "
                           "\"%.200s\" (data_offsets begin %llu, previous "
                           "tensor ends at %llu)",
                           (unsigned long long)(e->begin - run), e->name,
                           (unsigned long long)e->begin,
                           (unsigned long long)run);
        else if (e->begin < run)
            st = mftc_fail(f, MFT_ERR_CORRUPT, MEMBER, (int64_t)e->name_offset,
                           "tensor \"%.200s\" (data_offsets [%llu, %llu]) "
                           "overlaps tensor \"%.200s\", which ends at %llu",
                           e->name, (unsigned long long)e->begin,
                           (unsigned long long)e->end, entries[i - 1].name,
                           (unsigned long long)run);
        if (st != MFT_OK) {
            free(entries);
            return st;
        }
        run = e->end;
    }
    if (run > data_len) {
        const entry *last = &entries[ne - 1];
        st = mftc_fail(f, MFT_ERR_CORRUPT, NULL, (int64_t)size,
                       "truncated: tensor \"%.200s\" ends at byte %llu, past "
                       "end of file (%llu bytes)",
                       last->name,
                       (unsigned long long)(data_start + last->end),
                       (unsigned long long)size);
    } else if (run < data_len) {
        st = mftc_fail(f, MFT_ERR_CORRUPT, NULL, (int64_t)(data_start + run),
                       "%llu trailing bytes after the last tensor's data",
                       (unsigned long long)(data_len - run));
    }
    for (size_t i = 0; i < ne && st == MFT_OK; i++) {
        entry *e = &entries[i];
        mftc_tensor t;
        memset(&t, 0, sizeof t);
        t.name = e->name;
        t.dtype = e->dtype;
        t.ndim = e->ndim;
        t.shape = e->shape;
        t.strides = mftc_contiguous_strides(&f->arena, e->shape, e->ndim);
        t.numel = e->numel;
        t.nbytes = e->nbytes;
        t.data = f->src.data + data_start + e->begin;
        t.offset = data_start + e->begin;
        t.src = &f->src;
        size_t idx;
        if (!t.strides)
            st = mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        else
            st = mftc_add_tensor(f, &t, &idx);
        if (st == MFT_OK) {
            mft_value *k = mftc_value_string(&f->arena, e->name, e->name_len);
            mft_value *v = mftc_value_new(&f->arena, MFT_VALUE_TENSOR);
            if (!k || !v || !mftc_value_append(&f->arena, f->root, k, v))
                st = mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
            else
                v->u.tensor = idx;
        }
    }
    free(entries);
    if (st != MFT_OK)
        return st;
    /* duplicate names were refused by the JSON parser */
    if (mftc_index_names(f, NULL) != MFT_OK)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    return MFT_OK;
}
