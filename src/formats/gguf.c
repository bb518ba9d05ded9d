/* GGUF reader (versions 2 and 3, little-endian).
 *
 * Layout (shared/reference/safetensors-gguf-npy.md §2; ggml docs/gguf.md):
 *   0   "GGUF"                magic
 *   4   u32 version           2 or 3 (same layout; 1 had 32-bit counts)
 *   8   u64 tensor_count
 *   16  u64 kv_count
 *   24  kv_count × { string key, u32 value_type, value }
 *       tensor_count × { string name, u32 n_dims, u64 ne[n_dims],
 *                        u32 ggml_type, u64 offset }
 *       zero padding to ALIGNMENT (only when tensor_count > 0)
 *       data: tensor i at data_start + offset_i
 *   string = u64 length + bytes (no NUL); array = u32 element type, u64
 *   count, the elements (arrays may nest; ggml itself refuses that).
 *
 * What we check, following ggml's gguf_init_from_reader (src/gguf.cpp at
 * d99724f) and adding what a zero-copy reader needs:
 *  - magic; version 0, 1 (GGUFv1), > 3 and byte-swapped versions refused;
 *  - counts: tensors within the tensor limit, and every count (tensors,
 *    key/values, array items) against the bytes that its smallest encoding
 *    would need, before anything is allocated;
 *  - keys non-empty, without NUL, no duplicates; value types 0..12; BOOL
 *    bytes 0 or 1; strings within the string limit and the file; arrays
 *    within the item limit (counted over the whole file: each item becomes a
 *    value node) and the nesting limit (MFT_LIMIT_JSON_DEPTH);
 *  - general.alignment a UINT32 that is a non-zero power of two (ggml's rule;
 *    default 32);
 *  - tensor names < GGML_MAX_NAME (64) bytes, no NUL, unique; n_dims ≤ 4
 *    (GGML_MAX_DIMS); every ne ≤ INT64_MAX (ggml reads int64 and wants ≥ 0:
 *    0 is allowed, n_dims 0 too); the element count within int64; a known
 *    ggml type; ne[0] a multiple of the type's block size; byte size
 *    (elements / block × block bytes) without overflow;
 *  - offsets multiples of the alignment, every tensor's bytes inside the
 *    file, no two tensors sharing a byte. ggml also insists on its own
 *    canonical order (each offset = the padded end of the previous tensor);
 *    we accept any aligned, in-bounds, non-overlapping layout.
 * A file may end right after its key/values when it has no tensors (the
 * llama.cpp vocab-only files do). Tensor bytes are borrowed from the mapping.
 *
 * Tensors: shape = ne[] reversed (numpy order: ne[0], the fastest-varying
 * dimension, is the last extent), so ggml's ne[] is mft_tensor.shape read
 * backwards and n_dims is ndim. Block types count elements (numel), their
 * nbytes and digest cover the raw blocks. */
#include "../core/checked.h"
#include "../core/cursor.h"
#include "../core/dtype.h"
#include "../core/internal.h"
#include <stdlib.h>
#include <string.h>

#define GGUF_MAX_NAME 64 /* ggml's GGML_MAX_NAME: names are < 64 bytes */
#define GGUF_MAX_DIMS 4  /* GGML_MAX_DIMS */
#define GGUF_DEFAULT_ALIGNMENT 32u
#define MIN_KV_BYTES 14u     /* u64 len, 1 key byte, u32 type, 1 byte value */
#define MIN_TENSOR_BYTES 24u /* u64 len, u32 n_dims, u32 type, u64 offset */

/* ggml type id → mft dtype (0: no such type). */
static const mft_dtype k_ggml[] = {
    [0] = MFT_F32,      [1] = MFT_F16,      [2] = MFT_Q4_0,
    [3] = MFT_Q4_1,     [6] = MFT_Q5_0,     [7] = MFT_Q5_1,
    [8] = MFT_Q8_0,     [9] = MFT_Q8_1,     [10] = MFT_Q2_K,
    [11] = MFT_Q3_K,    [12] = MFT_Q4_K,    [13] = MFT_Q5_K,
    [14] = MFT_Q6_K,    [15] = MFT_Q8_K,    [16] = MFT_IQ2_XXS,
    [17] = MFT_IQ2_XS,  [18] = MFT_IQ3_XXS, [19] = MFT_IQ1_S,
    [20] = MFT_IQ4_NL,  [21] = MFT_IQ3_S,   [22] = MFT_IQ2_S,
    [23] = MFT_IQ4_XS,  [24] = MFT_I8,      [25] = MFT_I16,
    [26] = MFT_I32,     [27] = MFT_I64,     [28] = MFT_F64,
    [29] = MFT_IQ1_M,   [30] = MFT_BF16,    [34] = MFT_TQ1_0,
    [35] = MFT_TQ2_0,   [39] = MFT_MXFP4,   [40] = MFT_NVFP4,
    [41] = MFT_Q1_0,    [42] = MFT_Q2_0,
};
#define N_GGML (sizeof k_ggml / sizeof k_ggml[0])

/* Used by the writer too (declared in gguf_write.c). */
int mftc_gguf_type_of(mft_dtype d);
int mftc_gguf_type_of(mft_dtype d)
{
    for (unsigned i = 0; i < N_GGML; i++)
        if (k_ggml[i] == d && d != MFT_DTYPE_INVALID)
            return (int)i;
    return -1;
}

static const char *const k_type_names[MFT_GGUF_TYPE_COUNT_] = {
    "UINT8", "INT8",   "UINT16", "INT16", "UINT32", "INT32",  "FLOAT32",
    "BOOL",  "STRING", "ARRAY",  "UINT64", "INT64", "FLOAT64",
};

const char *mft_gguf_type_name(int type)
{
    return type >= 0 && type < MFT_GGUF_TYPE_COUNT_ ? k_type_names[type]
                                                     : "INVALID";
}

int mft_value_gguf_type(const mft_value *v, int *elem_type)
{
    int t = v && v->gguf_type ? v->gguf_type - 1 : -1;
    if (elem_type)
        *elem_type = t == MFT_GGUF_ARRAY && v->gguf_elem ? v->gguf_elem - 1
                                                         : -1;
    return t;
}

/* Encoded size of one value of a fixed-size type; 0 for STRING/ARRAY. */
static unsigned fixed_size(uint32_t t)
{
    static const unsigned char sz[MFT_GGUF_TYPE_COUNT_] = {
        1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < MFT_GGUF_TYPE_COUNT_ ? sz[t] : 0;
}

/* Smallest encoding of one array element of type t. */
static unsigned min_size(uint32_t t)
{
    return t == MFT_GGUF_STRING ? 8u : t == MFT_GGUF_ARRAY ? 12u
                                                           : fixed_size(t);
}

/* ---------------------------------------------------------------- reader */

typedef struct reader {
    mft_file *f;
    mftc_cursor c;
    uint64_t items_left; /* array items the file may still create */
    uint64_t max_depth;
    const char *key;     /* the key being read, for messages */
} reader;

#define FAIL(r, code, off, ...)                                              \
    mftc_fail((r)->f, code, NULL, (int64_t)(off), __VA_ARGS__)

static mft_status oom(reader *r)
{
    return mftc_fail(r->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
}

static mft_status truncated(reader *r, const char *what)
{
    return FAIL(r, MFT_ERR_CORRUPT, mftc_offset(&r->c),
                "truncated: %s runs past end of file (%llu bytes)", what,
                (unsigned long long)r->f->src.size);
}

/* A string: u64 length + bytes. `what` names it in messages. */
static mft_status read_string(reader *r, const char *what, uint64_t limit,
                              const uint8_t **p, uint64_t *n)
{
    uint64_t at = mftc_offset(&r->c), len;
    if (!mftc_le64(&r->c, &len))
        return truncated(r, what);
    if (len > limit)
        return FAIL(r, MFT_ERR_LIMIT, at,
                    "%s of %llu bytes exceeds the limit of %llu", what,
                    (unsigned long long)len, (unsigned long long)limit);
    if (len > mftc_remaining(&r->c))
        return FAIL(r, MFT_ERR_CORRUPT, at,
                    "%s length %llu runs past end of file (%llu bytes)", what,
                    (unsigned long long)len,
                    (unsigned long long)r->f->src.size);
    mftc_take(&r->c, (size_t)len, p);
    *n = len;
    return MFT_OK;
}

static mft_status read_value(reader *r, uint32_t type, uint64_t type_at,
                             unsigned depth, mft_value **out);

static mft_status read_array(reader *r, unsigned depth, mft_value *list)
{
    uint64_t at = mftc_offset(&r->c), count;
    uint32_t et;
    if (!mftc_le32(&r->c, &et))
        return truncated(r, "array element type");
    if (et >= MFT_GGUF_TYPE_COUNT_)
        return FAIL(r, MFT_ERR_CORRUPT, at,
                    "key \"%.200s\": unknown array element type %u", r->key,
                    et);
    if (et == MFT_GGUF_ARRAY && depth + 1 >= r->max_depth)
        return FAIL(r, MFT_ERR_LIMIT, at,
                    "key \"%.200s\": arrays nested deeper than %llu (the "
                    "limit)",
                    r->key, (unsigned long long)r->max_depth);
    uint64_t count_at = mftc_offset(&r->c);
    if (!mftc_le64(&r->c, &count))
        return truncated(r, "array item count");
    uint64_t lim = mftc_limit(r->f, MFT_LIMIT_ARRAY_ITEMS);
    if (count > lim || count > r->items_left)
        return FAIL(r, MFT_ERR_LIMIT, count_at,
                    "key \"%.200s\": array of %llu items exceeds the limit of "
                    "%llu array items per file",
                    r->key, (unsigned long long)count,
                    (unsigned long long)lim);
    if (count > mftc_remaining(&r->c) / min_size(et))
        return FAIL(r, MFT_ERR_CORRUPT, count_at,
                    "key \"%.200s\": array of %llu %s items runs past end of "
                    "file (%llu bytes)",
                    r->key, (unsigned long long)count, mft_gguf_type_name((int)et),
                    (unsigned long long)r->f->src.size);
    r->items_left -= count;
    list->gguf_elem = (unsigned char)(et + 1);
    if (count) {
        list->u.seq.items =
            mftc_arena_alloc(&r->f->arena, (size_t)count * sizeof(mft_value *));
        if (!list->u.seq.items)
            return oom(r);
        list->u.seq.cap = (size_t)count;
    }
    for (uint64_t i = 0; i < count; i++) {
        mft_value *item;
        mft_status st = read_value(r, et, at, depth + 1, &item);
        if (st != MFT_OK)
            return st;
        list->u.seq.items[list->u.seq.n++] = item;
    }
    return MFT_OK;
}

static mft_status read_value(reader *r, uint32_t type, uint64_t type_at,
                             unsigned depth, mft_value **out)
{
    mftc_arena *a = &r->f->arena;
    uint64_t at = mftc_offset(&r->c);
    const uint8_t *p;
    mft_value *v;
    if (type >= MFT_GGUF_TYPE_COUNT_)
        return FAIL(r, MFT_ERR_CORRUPT, type_at,
                    "key \"%.200s\": unknown value type %u", r->key, type);
    if (type == MFT_GGUF_STRING) {
        uint64_t n;
        mft_status st = read_string(r, "string value",
                                    mftc_limit(r->f, MFT_LIMIT_STRING_BYTES),
                                    &p, &n);
        if (st != MFT_OK)
            return st;
        v = mftc_value_string(a, (const char *)p, (size_t)n);
    } else if (type == MFT_GGUF_ARRAY) {
        v = mftc_value_new(a, MFT_VALUE_LIST);
        if (!v)
            return oom(r);
        mft_status st = read_array(r, depth, v);
        if (st != MFT_OK)
            return st;
    } else {
        unsigned n = fixed_size(type);
        if (!mftc_take(&r->c, n, &p))
            return truncated(r, "value");
        uint64_t x = mftc_load_le(p, n);
        switch (type) {
        case MFT_GGUF_BOOL:
            if (x > 1)
                return FAIL(r, MFT_ERR_CORRUPT, at,
                            "key \"%.200s\": BOOL value %llu is not 0 or 1",
                            r->key, (unsigned long long)x);
            if ((v = mftc_value_new(a, MFT_VALUE_BOOL)))
                v->u.b = (int)x;
            break;
        case MFT_GGUF_FLOAT32: {
            uint32_t b32 = (uint32_t)x;
            float fl;
            memcpy(&fl, &b32, 4);
            if ((v = mftc_value_new(a, MFT_VALUE_FLOAT)))
                v->u.f = fl;
            break;
        }
        case MFT_GGUF_FLOAT64: {
            double d;
            memcpy(&d, &x, 8);
            if ((v = mftc_value_new(a, MFT_VALUE_FLOAT)))
                v->u.f = d;
            break;
        }
        case MFT_GGUF_INT8: v = mftc_value_int(a, (int8_t)x); break;
        case MFT_GGUF_INT16: v = mftc_value_int(a, (int16_t)x); break;
        case MFT_GGUF_INT32: v = mftc_value_int(a, (int32_t)x); break;
        case MFT_GGUF_INT64: v = mftc_value_int(a, (int64_t)x); break;
        case MFT_GGUF_UINT64:
            if (x > (uint64_t)INT64_MAX) { /* exact, as a 9-byte BIGINT */
                char *b = mftc_arena_alloc(a, 9);
                v = mftc_value_new(a, MFT_VALUE_BIGINT);
                if (!b || !v)
                    return oom(r);
                memcpy(b, p, 8);
                b[8] = 0;
                v->u.s.p = b;
                v->u.s.n = 9;
                break;
            }
            v = mftc_value_int(a, (int64_t)x);
            break;
        default: /* UINT8, UINT16, UINT32 */
            v = mftc_value_int(a, (int64_t)x);
        }
    }
    if (!v)
        return oom(r);
    v->gguf_type = (unsigned char)(type + 1);
    *out = v;
    return MFT_OK;
}

/* ---------------------------------------------------------------- keys */

/* A growing open-addressing set of key values, for duplicate detection. */
typedef struct keyset {
    const mft_value **slots;
    size_t cap, n;
} keyset;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* 1 inserted, 0 duplicate, -1 out of memory. */
static int keyset_add(keyset *ks, const mft_value *k)
{
    if ((ks->n + 1) * 2 > ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 64;
        const mft_value **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < ks->cap; i++) {
            const mft_value *e = ks->slots[i];
            if (!e)
                continue;
            size_t s = (size_t)hash_bytes(e->u.s.p, e->u.s.n) & (cap - 1);
            while (slots[s])
                s = (s + 1) & (cap - 1);
            slots[s] = e;
        }
        free(ks->slots);
        ks->slots = slots;
        ks->cap = cap;
    }
    size_t s = (size_t)hash_bytes(k->u.s.p, k->u.s.n) & (ks->cap - 1);
    while (ks->slots[s]) {
        const mft_value *e = ks->slots[s];
        if (e->u.s.n == k->u.s.n && memcmp(e->u.s.p, k->u.s.p, k->u.s.n) == 0)
            return 0;
        s = (s + 1) & (ks->cap - 1);
    }
    ks->slots[s] = k;
    ks->n++;
    return 1;
}

static mft_status read_kvs(reader *r, uint64_t n_kv, uint32_t *alignment)
{
    mft_file *f = r->f;
    keyset ks = {0};
    mft_status st = MFT_OK;
    *alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < n_kv && st == MFT_OK; i++) {
        uint64_t key_at = mftc_offset(&r->c), klen;
        const uint8_t *kp;
        r->key = "";
        st = read_string(r, "key", mftc_limit(f, MFT_LIMIT_NAME_BYTES), &kp,
                         &klen);
        if (st != MFT_OK)
            break;
        if (klen == 0) {
            st = FAIL(r, MFT_ERR_CORRUPT, key_at, "key number %llu is empty",
                      (unsigned long long)i);
            break;
        }
        if (memchr(kp, 0, (size_t)klen)) {
            st = FAIL(r, MFT_ERR_CORRUPT, key_at,
                      "key number %llu contains a NUL byte",
                      (unsigned long long)i);
            break;
        }
        mft_value *k = mftc_value_string(&f->arena, (const char *)kp,
                                         (size_t)klen);
        if (!k) {
            st = oom(r);
            break;
        }
        int added = keyset_add(&ks, k);
        if (added < 0) {
            st = oom(r);
            break;
        }
        if (added == 0) {
            st = FAIL(r, MFT_ERR_CORRUPT, key_at, "duplicate key \"%.200s\"",
                      k->u.s.p);
            break;
        }
        r->key = k->u.s.p;
        uint64_t type_at = mftc_offset(&r->c);
        uint32_t type;
        if (!mftc_le32(&r->c, &type)) {
            st = truncated(r, "value type");
            break;
        }
        mft_value *v;
        st = read_value(r, type, type_at, 0, &v);
        if (st != MFT_OK)
            break;
        if (strcmp(k->u.s.p, "general.alignment") == 0) {
            if (type != MFT_GGUF_UINT32)
                st = FAIL(r, MFT_ERR_CORRUPT, type_at,
                          "general.alignment must be a UINT32, not %s",
                          mft_gguf_type_name((int)type));
            else if (v->u.i == 0 || (v->u.i & (v->u.i - 1)) != 0)
                st = FAIL(r, MFT_ERR_CORRUPT, type_at + 4,
                          "general.alignment %lld is not a non-zero power of "
                          "two",
                          (long long)v->u.i);
            else
                *alignment = (uint32_t)v->u.i;
            if (st != MFT_OK)
                break;
        }
        if (!mftc_value_append(&f->arena, f->metadata, k, v))
            st = oom(r);
    }
    free(ks.slots);
    return st;
}

/* ---------------------------------------------------------------- tensors */

typedef struct tinfo {
    const char *name;
    uint64_t name_at, offset_at;
    mft_dtype dtype;
    int ndim;
    uint64_t *shape; /* numpy order */
    uint64_t numel, nbytes;
    uint64_t begin, end; /* file offsets of the data */
} tinfo;

static mft_status read_tensor_info(reader *r, uint32_t alignment, tinfo *t)
{
    mft_file *f = r->f;
    const uint8_t *np;
    uint64_t nlen;
    t->name_at = mftc_offset(&r->c);
    r->key = "";
    mft_status st = read_string(r, "tensor name",
                                mftc_limit(f, MFT_LIMIT_NAME_BYTES), &np,
                                &nlen);
    if (st != MFT_OK)
        return st;
    if (nlen >= GGUF_MAX_NAME)
        return FAIL(r, MFT_ERR_CORRUPT, t->name_at,
                    "tensor name \"%.*s…\" is too long: %llu bytes (GGUF "
                    "allows at most %d)",
                    40, (const char *)np, (unsigned long long)nlen,
                    GGUF_MAX_NAME - 1);
    if (memchr(np, 0, (size_t)nlen))
        return FAIL(r, MFT_ERR_CORRUPT, t->name_at,
                    "tensor name contains a NUL byte");
    if (!(t->name = mftc_arena_strndup(&f->arena, (const char *)np,
                                       (size_t)nlen)))
        return oom(r);
    uint64_t at = mftc_offset(&r->c);
    uint32_t n_dims;
    if (!mftc_le32(&r->c, &n_dims))
        return truncated(r, "tensor info");
    if (n_dims > GGUF_MAX_DIMS)
        return FAIL(r, MFT_ERR_CORRUPT, at,
                    "tensor \"%s\" has %u dimensions (GGUF allows at most %d)",
                    t->name, n_dims, GGUF_MAX_DIMS);
    if (n_dims > mftc_limit(f, MFT_LIMIT_DIMS))
        return FAIL(r, MFT_ERR_LIMIT, at,
                    "tensor \"%s\": %u dimensions exceed the limit of %llu",
                    t->name, n_dims,
                    (unsigned long long)mftc_limit(f, MFT_LIMIT_DIMS));
    t->ndim = (int)n_dims;
    t->shape = mftc_arena_alloc(&f->arena, (n_dims ? n_dims : 1) *
                                               sizeof *t->shape);
    if (!t->shape)
        return oom(r);
    uint64_t ne[GGUF_MAX_DIMS];
    for (uint32_t j = 0; j < n_dims; j++) {
        uint64_t dim_at = mftc_offset(&r->c);
        if (!mftc_le64(&r->c, &ne[j]))
            return truncated(r, "tensor info");
        if (ne[j] > (uint64_t)INT64_MAX)
            return FAIL(r, MFT_ERR_CORRUPT, dim_at,
                        "tensor \"%s\": dimension %u has an invalid number "
                        "of elements (%lld < 0)",
                        t->name, j, (long long)ne[j]);
        t->shape[n_dims - 1 - j] = ne[j];
    }
    uint64_t type_at = mftc_offset(&r->c);
    uint32_t gtype;
    if (!mftc_le32(&r->c, &gtype))
        return truncated(r, "tensor info");
    t->dtype = gtype < N_GGML ? k_ggml[gtype] : MFT_DTYPE_INVALID;
    if (t->dtype == MFT_DTYPE_INVALID)
        return FAIL(r, MFT_ERR_UNSUPPORTED, type_at,
                    "tensor \"%s\" has unknown ggml type %u", t->name, gtype);
    unsigned blck, bsize;
    mft_dtype_block(t->dtype, &blck, &bsize);
    if (n_dims && ne[0] % blck)
        return FAIL(r, MFT_ERR_CORRUPT, type_at,
                    "tensor \"%s\" of type %s has %llu elements per row, not "
                    "a multiple of the block size %u",
                    t->name, mft_dtype_name(t->dtype),
                    (unsigned long long)ne[0], blck);
    const char *why;
    if (!mftc_tensor_size(t->dtype, t->shape, t->ndim, &t->numel, &t->nbytes,
                          &why) ||
        t->numel > (uint64_t)INT64_MAX)
        return FAIL(r, MFT_ERR_CORRUPT, at,
                    "tensor \"%s\" (%s, %u dimensions) %s", t->name,
                    mft_dtype_name(t->dtype), n_dims,
                    t->numel > (uint64_t)INT64_MAX && !why[0]
                        ? "has more than INT64_MAX elements"
                        : why);
    t->offset_at = mftc_offset(&r->c);
    if (!mftc_le64(&r->c, &t->begin))
        return truncated(r, "tensor info");
    if (t->begin % alignment)
        return FAIL(r, MFT_ERR_CORRUPT, t->offset_at,
                    "tensor \"%s\": data offset %llu is not a multiple of the "
                    "alignment %u",
                    t->name, (unsigned long long)t->begin, alignment);
    return MFT_OK;
}

static int by_begin(const void *a, const void *b)
{
    const tinfo *x = *(const tinfo *const *)a, *y = *(const tinfo *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->name_at < y->name_at ? -1 : 1;
}

static mft_status place_tensors(reader *r, tinfo *ts, size_t n,
                                uint64_t data_start)
{
    uint64_t size = r->f->src.size;
    for (size_t i = 0; i < n; i++) {
        tinfo *t = &ts[i];
        uint64_t rel = t->begin;
        if (!mftc_add_u64(data_start, rel, &t->begin) ||
            !mftc_add_u64(t->begin, t->nbytes, &t->end) || t->end > size)
            return FAIL(r, MFT_ERR_CORRUPT, t->offset_at,
                        "tensor \"%s\": data offset %llu + %llu bytes runs "
                        "past end of file (data starts at byte %llu, file "
                        "has %llu bytes)",
                        t->name, (unsigned long long)rel,
                        (unsigned long long)t->nbytes,
                        (unsigned long long)data_start,
                        (unsigned long long)size);
    }
    if (n < 2)
        return MFT_OK;
    tinfo **order = malloc(n * sizeof *order);
    if (!order)
        return oom(r);
    for (size_t i = 0; i < n; i++)
        order[i] = &ts[i];
    qsort(order, n, sizeof *order, by_begin);
    mft_status st = MFT_OK;
    const tinfo *prev = NULL;
    for (size_t i = 0; i < n && st == MFT_OK; i++) {
        const tinfo *t = order[i];
        if (!t->nbytes)
            continue;
        if (prev && t->begin < prev->end)
            st = FAIL(r, MFT_ERR_CORRUPT, t->offset_at,
                      "tensor \"%s\" (bytes %llu to %llu) overlaps tensor "
                      "\"%s\" (bytes %llu to %llu)",
                      t->name, (unsigned long long)t->begin,
                      (unsigned long long)t->end, prev->name,
                      (unsigned long long)prev->begin,
                      (unsigned long long)prev->end);
        if (!prev || t->end > prev->end)
            prev = t;
    }
    free(order);
    return st;
}

mft_status mftc_read_gguf(mft_file *f)
{
    f->format = MFT_FORMAT_GGUF;
    reader rd;
    memset(&rd, 0, sizeof rd);
    rd.f = f;
    rd.c = mftc_cursor_make(f->src.data, (size_t)f->src.size, 0);
    rd.items_left = mftc_limit(f, MFT_LIMIT_ARRAY_ITEMS);
    rd.max_depth = mftc_limit(f, MFT_LIMIT_JSON_DEPTH);
    reader *r = &rd;
    const uint8_t *magic;
    if (!mftc_take(&r->c, 4, &magic))
        return FAIL(r, MFT_ERR_CORRUPT, 0,
                    "too short for a GGUF header: %llu bytes",
                    (unsigned long long)f->src.size);
    if (memcmp(magic, "GGUF", 4) != 0) {
        char hex[64];
        mftc_hex_prefix(magic, 4, hex, sizeof hex);
        return FAIL(r, MFT_ERR_FORMAT, 0,
                    "bad magic %s: not a GGUF file (expected 47 47 55 46, "
                    "\"GGUF\")",
                    hex);
    }
    uint32_t version;
    uint64_t n_tensors, n_kv;
    if (!mftc_le32(&r->c, &version))
        return truncated(r, "header");
    if (version == 0 || version > 0xFFFF)
        return FAIL(r, MFT_ERR_UNSUPPORTED, 4,
                    (version & 0xFFFF) == 0 && version
                        ? "GGUF version field 0x%08x: a big-endian file, "
                          "which mft does not read"
                        : "bad GGUF version %u",
                    version);
    if (version == 1)
        return FAIL(r, MFT_ERR_UNSUPPORTED, 4,
                    "GGUF version 1 is no longer supported (its counts were "
                    "32-bit; versions 2 and 3 are read)");
    if (version > 3)
        return FAIL(r, MFT_ERR_UNSUPPORTED, 4,
                    "GGUF version %u is newer than this reader (it reads "
                    "versions 2 and 3)",
                    version);
    if (!mftc_le64(&r->c, &n_tensors) || !mftc_le64(&r->c, &n_kv))
        return truncated(r, "header");
    if (n_tensors > mftc_limit(f, MFT_LIMIT_TENSORS))
        return FAIL(r, MFT_ERR_LIMIT, 8,
                    "tensor count %llu exceeds the limit of %llu",
                    (unsigned long long)n_tensors,
                    (unsigned long long)mftc_limit(f, MFT_LIMIT_TENSORS));
    if (n_kv > mftc_remaining(&r->c) / MIN_KV_BYTES)
        return FAIL(r, MFT_ERR_CORRUPT, 16,
                    "key/value count %llu cannot fit in the %llu bytes left "
                    "(each takes at least %u)",
                    (unsigned long long)n_kv,
                    (unsigned long long)mftc_remaining(&r->c), MIN_KV_BYTES);
    if (n_tensors > mftc_remaining(&r->c) / MIN_TENSOR_BYTES)
        return FAIL(r, MFT_ERR_CORRUPT, 8,
                    "tensor count %llu cannot fit in the %llu bytes left "
                    "(each tensor info takes at least %u)",
                    (unsigned long long)n_tensors,
                    (unsigned long long)mftc_remaining(&r->c),
                    MIN_TENSOR_BYTES);

    if (!(f->metadata = mftc_value_new(&f->arena, MFT_VALUE_DICT)))
        return oom(r);
    uint32_t alignment;
    mft_status st = read_kvs(r, n_kv, &alignment);
    if (st != MFT_OK)
        return st;
    if (n_tensors > mftc_remaining(&r->c) / MIN_TENSOR_BYTES)
        return FAIL(r, MFT_ERR_CORRUPT, 8,
                    "tensor count %llu cannot fit in the %llu bytes left "
                    "after the key/values",
                    (unsigned long long)n_tensors,
                    (unsigned long long)mftc_remaining(&r->c));

    size_t n = (size_t)n_tensors;
    tinfo *ts = calloc(n ? n : 1, sizeof *ts);
    if (!ts)
        return oom(r);
    for (size_t i = 0; i < n && st == MFT_OK; i++)
        st = read_tensor_info(r, alignment, &ts[i]);
    uint64_t data_start = mftc_offset(&r->c);
    if (st == MFT_OK && n) {
        uint64_t pad = (alignment - data_start % alignment) % alignment;
        data_start += pad;
        if (data_start > f->src.size)
            st = FAIL(r, MFT_ERR_CORRUPT, mftc_offset(&r->c),
                      "truncated: the data section would start at byte %llu, "
                      "past end of file (%llu bytes)",
                      (unsigned long long)data_start,
                      (unsigned long long)f->src.size);
    }
    if (st == MFT_OK)
        st = place_tensors(r, ts, n, data_start);
    for (size_t i = 0; i < n && st == MFT_OK; i++) {
        tinfo *e = &ts[i];
        mftc_tensor t;
        memset(&t, 0, sizeof t);
        t.name = e->name;
        t.dtype = e->dtype;
        t.ndim = e->ndim;
        t.shape = e->shape;
        t.strides = mftc_contiguous_strides(&f->arena, e->shape, e->ndim);
        t.numel = e->numel;
        t.nbytes = e->nbytes;
        t.data = f->src.data + e->begin;
        t.offset = e->begin;
        t.src = &f->src;
        size_t idx;
        if (!t.strides)
            st = oom(r);
        else
            st = mftc_add_tensor(f, &t, &idx);
        if (st == MFT_OK) {
            mft_value *k = mftc_value_string(&f->arena, e->name,
                                             strlen(e->name));
            mft_value *v = mftc_value_new(&f->arena, MFT_VALUE_TENSOR);
            if (!k || !v || !mftc_value_append(&f->arena, f->root, k, v))
                st = oom(r);
            else
                v->u.tensor = idx;
        }
    }
    if (st == MFT_OK) {
        size_t dup = 0;
        mft_status ist = mftc_index_names(f, &dup);
        if (ist == MFT_ERR_CORRUPT)
            st = FAIL(r, MFT_ERR_CORRUPT, ts[dup].name_at,
                      "duplicate tensor name \"%s\"", ts[dup].name);
        else if (ist != MFT_OK)
            st = ist;
    }
    free(ts);
    return st;
}
