/* GGUF writer: version 3, little-endian, byte for byte what gguf-py's
 * GGUFWriter writes for the same key/values and tensors (gguf 0.19.0,
 * write_header_to_file + write_kv_data_to_file + write_tensors_to_file):
 *   "GGUF", u32 3, u64 tensor count, u64 key/value count;
 *   key/values in the order they were set (a key set again keeps its place);
 *   tensor infos in the order tensors were added, dims as ggml's ne[] (the
 *   shape reversed), offsets the running sum of sizes padded to ALIGNMENT;
 *   zero padding to ALIGNMENT after the infos (even with no tensors) and
 *   after every tensor's data, the last included.
 * ALIGNMENT is the value of general.alignment when set (it must be a UINT32
 * and a non-zero power of two, as ggml requires), else 32. Tensor data is
 * streamed from its source (mftc_writer_emit), never gathered in memory;
 * the header (key/values and infos) is built in memory first. */
#include "../core/checked.h"
#include "../core/cursor.h"
#include "../core/writer.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_MAX_NAME 64 /* names are < GGML_MAX_NAME bytes */
#define GGUF_MAX_DIMS 4

int mftc_gguf_type_of(mft_dtype d); /* gguf.c */

typedef struct bbuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} bbuf;

static void put(bbuf *b, const void *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        uint8_t *g = realloc(b->p, cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        b->p = g;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_le(bbuf *b, uint64_t x, unsigned n)
{
    uint8_t t[8];
    for (unsigned i = 0; i < n; i++)
        t[i] = (uint8_t)(x >> (8 * i));
    put(b, t, n);
}

static void put_str(bbuf *b, const char *s, size_t n)
{
    put_le(b, n, 8);
    put(b, s, n);
}

/* The payload of one value (no type id before it). */
static int put_value(mft_writer *w, bbuf *b, const mft_value *v,
                     const char *key)
{
    int t = v->gguf_type - 1;
    uint64_t x = 0;
    switch (t) {
    case MFT_GGUF_UINT8: case MFT_GGUF_INT8: case MFT_GGUF_UINT16:
    case MFT_GGUF_INT16: case MFT_GGUF_UINT32: case MFT_GGUF_INT32:
    case MFT_GGUF_UINT64: case MFT_GGUF_INT64: {
        static const unsigned char size[] = {
            [MFT_GGUF_UINT8] = 1, [MFT_GGUF_INT8] = 1, [MFT_GGUF_UINT16] = 2,
            [MFT_GGUF_INT16] = 2, [MFT_GGUF_UINT32] = 4, [MFT_GGUF_INT32] = 4,
            [MFT_GGUF_UINT64] = 8, [MFT_GGUF_INT64] = 8};
        if (v->kind == MFT_VALUE_INT)
            x = (uint64_t)v->u.i;
        else if (v->kind == MFT_VALUE_BIGINT && v->u.s.n >= 8)
            x = mftc_load_le((const uint8_t *)v->u.s.p, 8);
        else
            break;
        put_le(b, x, size[t]);
        return 1;
    }
    case MFT_GGUF_FLOAT32: {
        if (v->kind != MFT_VALUE_FLOAT)
            break;
        float f = (float)v->u.f;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        put_le(b, bits, 4);
        return 1;
    }
    case MFT_GGUF_FLOAT64:
        if (v->kind != MFT_VALUE_FLOAT)
            break;
        memcpy(&x, &v->u.f, 8);
        put_le(b, x, 8);
        return 1;
    case MFT_GGUF_BOOL:
        if (v->kind != MFT_VALUE_BOOL)
            break;
        put_le(b, v->u.b != 0, 1);
        return 1;
    case MFT_GGUF_STRING:
        if (v->kind != MFT_VALUE_STRING)
            break;
        put_str(b, v->u.s.p, v->u.s.n);
        return 1;
    case MFT_GGUF_ARRAY: {
        if (v->kind != MFT_VALUE_LIST || !v->gguf_elem)
            break;
        int et = v->gguf_elem - 1;
        put_le(b, (uint64_t)et, 4);
        put_le(b, v->u.seq.n, 8);
        for (size_t i = 0; i < v->u.seq.n; i++) {
            const mft_value *it = v->u.seq.items[i];
            if (it->gguf_type - 1 != et) {
                mftc_writer_fail(w, MFT_ERR_MISUSE,
                                 "%s: metadata \"%s\": item %zu of an ARRAY "
                                 "of %s is a %s",
                                 w->path, key, i, mft_gguf_type_name(et),
                                 mft_gguf_type_name(it->gguf_type - 1));
                return 0;
            }
            if (!put_value(w, b, it, key))
                return 0;
        }
        return 1;
    }
    default:
        break;
    }
    mftc_writer_fail(w, MFT_ERR_MISUSE,
                     "%s: metadata \"%s\": value does not match its type %s",
                     w->path, key, mft_gguf_type_name(t));
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static mft_status check_tensors(mft_writer *w)
{
    for (size_t i = 0; i < w->ntensors; i++) {
        const mftc_wtensor *t = &w->tensors[i];
        size_t len = strlen(t->name);
        if (len >= GGUF_MAX_NAME)
            return mftc_writer_fail(w, MFT_ERR_UNSUPPORTED,
                                    "%s: tensor \"%s\": GGUF names are at most "
                                    "%d bytes, this one has %zu (rename it)",
                                    w->path, t->name, GGUF_MAX_NAME - 1, len);
        if (t->ndim > GGUF_MAX_DIMS)
            return mftc_writer_fail(w, MFT_ERR_UNSUPPORTED,
                                    "%s: tensor \"%s\": GGUF tensors have at "
                                    "most %d dimensions, this one has %d",
                                    w->path, t->name, GGUF_MAX_DIMS, t->ndim);
        if (mftc_gguf_type_of(t->dtype) < 0)
            return mftc_writer_fail(w, MFT_ERR_DTYPE,
                                    "%s: tensor \"%s\": GGUF cannot hold dtype "
                                    "%s (cast it with --dtype or leave it out)",
                                    w->path, t->name, mft_dtype_name(t->dtype));
    }
    if (w->ntensors < 2)
        return MFT_OK;
    const char **names = malloc(w->ntensors * sizeof *names);
    if (!names)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < w->ntensors; i++)
        names[i] = w->tensors[i].name;
    qsort(names, w->ntensors, sizeof *names, cmp_name);
    mft_status st = MFT_OK;
    for (size_t i = 1; i < w->ntensors && st == MFT_OK; i++)
        if (strcmp(names[i], names[i - 1]) == 0)
            st = mftc_writer_fail(w, MFT_ERR_MISUSE,
                                  "%s: duplicate tensor name \"%s\"", w->path,
                                  names[i]);
    free(names);
    return st;
}

static mft_status write_zeros(mft_writer *w, mftc_outfile *o, uint64_t n)
{
    static const uint8_t zeros[4096];
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        mft_status st = mftc_outfile_write(o, zeros, k, w->errmsg);
        if (st != MFT_OK)
            return st;
        n -= k;
    }
    return MFT_OK;
}

static uint64_t pad_to(uint64_t x, uint64_t align)
{
    return (align - x % align) % align;
}

mft_status mftc_write_gguf(mft_writer *w)
{
    uint64_t align = 32;
    for (size_t i = 0; i < w->nvalues; i++) {
        if (strcmp(w->values[i].key, "general.alignment") != 0)
            continue;
        const mft_value *v = w->values[i].value;
        if (v->gguf_type - 1 != MFT_GGUF_UINT32 || v->kind != MFT_VALUE_INT)
            return mftc_writer_fail(w, MFT_ERR_MISUSE,
                                    "%s: general.alignment must be a UINT32, "
                                    "not %s",
                                    w->path,
                                    mft_gguf_type_name(v->gguf_type - 1));
        if (v->u.i <= 0 || (v->u.i & (v->u.i - 1)) != 0)
            return mftc_writer_fail(w, MFT_ERR_MISUSE,
                                    "%s: general.alignment %lld is not a "
                                    "non-zero power of two",
                                    w->path, (long long)v->u.i);
        align = (uint64_t)v->u.i;
    }
    mft_status st = check_tensors(w);
    if (st != MFT_OK)
        return st;

    bbuf h = {0};
    put(&h, "GGUF", 4);
    put_le(&h, 3, 4);
    put_le(&h, w->ntensors, 8);
    put_le(&h, w->nvalues, 8);
    for (size_t i = 0; i < w->nvalues; i++) {
        const mft_value *v = w->values[i].value;
        put_str(&h, w->values[i].key, strlen(w->values[i].key));
        put_le(&h, (uint64_t)(v->gguf_type - 1), 4);
        if (!put_value(w, &h, v, w->values[i].key)) {
            free(h.p);
            return MFT_ERR_MISUSE;
        }
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->ntensors; i++) {
        const mftc_wtensor *t = &w->tensors[i];
        put_str(&h, t->name, strlen(t->name));
        put_le(&h, (uint64_t)t->ndim, 4);
        for (int d = t->ndim - 1; d >= 0; d--)
            put_le(&h, t->shape[d], 8);
        put_le(&h, (uint64_t)mftc_gguf_type_of(t->dtype), 4);
        put_le(&h, offset, 8);
        if (!mftc_add_u64(offset, t->nbytes + pad_to(t->nbytes, align),
                          &offset)) {
            free(h.p);
            return mftc_writer_fail(w, MFT_ERR_LIMIT,
                                    "%s: data size overflows", w->path);
        }
    }
    if (h.oom) {
        free(h.p);
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    }

    mftc_outfile o;
    st = mftc_outfile_open(&o, w->path, w->opts.overwrite, w->errmsg);
    if (st != MFT_OK) {
        free(h.p);
        w->failed = 1;
        return st;
    }
    st = mftc_outfile_write(&o, h.p, h.n, w->errmsg);
    if (st == MFT_OK)
        st = write_zeros(w, &o, pad_to(h.n, align));
    free(h.p);
    for (size_t i = 0; i < w->ntensors && st == MFT_OK; i++) {
        const mftc_wtensor *t = &w->tensors[i];
        uint64_t before = o.written;
        st = mftc_writer_emit(w, t, &o);
        if (st == MFT_OK && o.written - before != t->nbytes)
            st = mftc_writer_fail(w, MFT_ERR_CORRUPT,
                                  "%s: tensor \"%s\": %llu bytes written, "
                                  "expected %llu",
                                  w->path, t->name,
                                  (unsigned long long)(o.written - before),
                                  (unsigned long long)t->nbytes);
        if (st == MFT_OK)
            st = write_zeros(w, &o, pad_to(t->nbytes, align));
    }
    if (st == MFT_OK)
        st = mftc_outfile_finish(&o, w->opts.overwrite, w->errmsg);
    if (st == MFT_OK)
        st = mftc_outfile_publish(&o, w->errmsg);
    if (st != MFT_OK) {
        mftc_outfile_abandon(&o);
        w->failed = 1;
        return st;
    }
    return mftc_writer_add_output(w, w->path);
}
