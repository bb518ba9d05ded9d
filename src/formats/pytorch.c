/* PyTorch files: torch.save zip archives, the legacy (≤ 1.5) stream format,
 * TorchScript archives and raw pickles (shared/reference/pytorch-format.md).
 *
 * The pickle machine (src/pickle) turns the pickle into an inert value graph;
 * this file then
 *   1. resolves persistent ids to storages (zip records data/<key>, or the
 *      legacy format's size-prefixed blobs),
 *   2. turns the known rebuild calls (_rebuild_tensor_v2/_v3, _rebuild_tensor,
 *      _rebuild_parameter(_with_state), _rebuild_from_type_v2,
 *      _rebuild_qtensor …) into TENSOR values — validating offset, sizes and
 *      strides against the storage with checked arithmetic, so no tensor can
 *      address a byte outside its storage,
 *   3. replaces every nn.Module object (an object whose state holds
 *      _parameters, _buffers and _modules) and every TorchScript module by the
 *      dict its state_dict() would give — parameters, persistent buffers,
 *      then children, recursively,
 *   4. lists every tensor under its path (DESIGN.md §3).
 * Nothing is imported or called; unknown classes stay inert objects. */
#include "../core/checked.h"
#include "../core/internal.h"
#include "../pickle/pickle.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ storages */

typedef struct storage {
    const char *key;
    mft_dtype dtype;      /* from the storage class; INVALID for untyped */
    uint64_t numel;       /* as declared in the persistent id */
    const uint8_t *data;  /* bytes, or NULL until found */
    uint64_t nbytes;      /* available bytes */
    const char *member;   /* zip member or NULL */
    uint64_t offset;      /* file offset of data */
    const mftc_source *src;
    int declared_bytes;   /* numel counts bytes (UntypedStorage) */
} storage;

typedef struct torch_ctx {
    mft_file *f;
    const char *member; /* the pickle's member, for messages */
    storage *st;
    size_t nst, capst;
    int byteswap;
    /* tensor specs made by resolution; TENSOR values index them. The
     * storage bytes are attached by finalize() once every storage is known
     * (the legacy format stores them after the pickles). */
    mftc_tensor *specs;
    size_t *spec_storage;
    const mft_value **spec_qscale, **spec_qzero; /* per-channel params */
    size_t nspecs, capspecs;
    size_t *first_listing; /* spec → table index of its first path */
    /* zip lookup of a storage record, set by the zip reader */
    mft_status (*find_record)(struct torch_ctx *, const char *key,
                              const char *prefix, storage *s);
    void *zip;
    const char *record_prefix; /* "data/" or "constants/" */
    unsigned depth;
    int keys_sparse; /* some storage key is not its own index ("0", "1" …) */
} torch_ctx;

static const struct {
    const char *cls;
    mft_dtype dtype;
} storage_classes[] = {
    {"DoubleStorage", MFT_F64},   {"FloatStorage", MFT_F32},
    {"HalfStorage", MFT_F16},     {"BFloat16Storage", MFT_BF16},
    {"LongStorage", MFT_I64},     {"IntStorage", MFT_I32},
    {"ShortStorage", MFT_I16},    {"CharStorage", MFT_I8},
    {"ByteStorage", MFT_U8},      {"BoolStorage", MFT_BOOL},
    {"ComplexDoubleStorage", MFT_C128}, {"ComplexFloatStorage", MFT_C64},
    {"QInt8Storage", MFT_QI8},    {"QUInt8Storage", MFT_QU8},
    {"QInt32Storage", MFT_QI32},
    /* TorchScript spells them with C++ scalar type names */
    {"DoubleStorage", MFT_F64},   {"Float8_e4m3fnStorage", MFT_F8_E4M3},
    {"Float8_e5m2Storage", MFT_F8_E5M2},
    {"Float8_e4m3fnuzStorage", MFT_F8_E4M3FNUZ},
    {"Float8_e5m2fnuzStorage", MFT_F8_E5M2FNUZ},
    {"ComplexHalfStorage", MFT_C32}, {"UInt16Storage", MFT_U16},
    {"UInt32Storage", MFT_U32},   {"UInt64Storage", MFT_U64},
};

static const struct {
    const char *name;
    mft_dtype dtype;
} torch_dtypes[] = {
    {"torch.float32", MFT_F32},   {"torch.float", MFT_F32},
    {"torch.float64", MFT_F64},   {"torch.double", MFT_F64},
    {"torch.float16", MFT_F16},   {"torch.half", MFT_F16},
    {"torch.bfloat16", MFT_BF16}, {"torch.int64", MFT_I64},
    {"torch.long", MFT_I64},      {"torch.int32", MFT_I32},
    {"torch.int", MFT_I32},       {"torch.int16", MFT_I16},
    {"torch.short", MFT_I16},     {"torch.int8", MFT_I8},
    {"torch.uint8", MFT_U8},      {"torch.bool", MFT_BOOL},
    {"torch.complex64", MFT_C64}, {"torch.cfloat", MFT_C64},
    {"torch.complex128", MFT_C128}, {"torch.cdouble", MFT_C128},
    {"torch.complex32", MFT_C32}, {"torch.chalf", MFT_C32},
    {"torch.uint16", MFT_U16},    {"torch.uint32", MFT_U32},
    {"torch.uint64", MFT_U64},    {"torch.float8_e4m3fn", MFT_F8_E4M3},
    {"torch.float8_e5m2", MFT_F8_E5M2},
    {"torch.float8_e4m3fnuz", MFT_F8_E4M3FNUZ},
    {"torch.float8_e5m2fnuz", MFT_F8_E5M2FNUZ},
    {"torch.float8_e8m0fnu", MFT_F8_E8M0},
    {"torch.float4_e2m1fn_x2", MFT_U8}, /* re-labelled F4 below */
    {"torch.bits8", MFT_U8},      {"torch.bits16", MFT_U16},
    {"torch.quint8", MFT_U8},     {"torch.qint8", MFT_I8},
    {"torch.qint32", MFT_I32},
};

static mft_dtype storage_dtype(const char *cls)
{
    const char *dot = strrchr(cls, '.');
    const char *base = dot ? dot + 1 : cls;
    for (size_t i = 0; i < sizeof storage_classes / sizeof storage_classes[0]; i++)
        if (strcmp(base, storage_classes[i].cls) == 0)
            return storage_classes[i].dtype;
    return MFT_DTYPE_INVALID;
}

static mft_dtype dtype_global(const mft_value *v)
{
    if (!v || v->kind != MFT_VALUE_OBJECT || v->u.obj.form != MFTC_OBJ_GLOBAL)
        return MFT_DTYPE_INVALID;
    for (size_t i = 0; i < sizeof torch_dtypes / sizeof torch_dtypes[0]; i++)
        if (strcmp(v->u.obj.cls, torch_dtypes[i].name) == 0)
            return torch_dtypes[i].dtype;
    return MFT_DTYPE_INVALID;
}

static int str_is(const mft_value *v, const char *s)
{
    return v && v->kind == MFT_VALUE_STRING && strlen(s) == v->u.s.n &&
           memcmp(v->u.s.p, s, v->u.s.n) == 0;
}

static const mft_value *arg(const mft_value *call, size_t i)
{
    const mft_value *a = call->u.obj.args;
    return a && i < a->u.seq.n ? a->u.seq.items[i] : NULL;
}

static size_t nargs(const mft_value *call)
{
    return call->u.obj.args ? call->u.obj.args->u.seq.n : 0;
}

static mft_status fail_at(torch_ctx *c, const mft_value *v, const char *fmt,
                          ...) __attribute__((format(printf, 3, 4)));
static mft_status fail_at(torch_ctx *c, const mft_value *v, const char *fmt,
                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    mftc_vfail(c->f, MFT_ERR_CORRUPT, c->member,
               v && v->kind == MFT_VALUE_OBJECT ? (int64_t)v->u.obj.offset : -1,
               fmt, ap);
    va_end(ap);
    return MFT_ERR_CORRUPT;
}

/* The storage of a persistent id ('storage', cls, key, location, numel[, view]). */
static mft_status resolve_storage(torch_ctx *c, const mft_value *pid,
                                  size_t *out)
{
    const mft_value *t = pid->u.obj.state;
    if (!t || t->kind != MFT_VALUE_TUPLE || t->u.seq.n < 5 ||
        !str_is(t->u.seq.items[0], "storage"))
        return fail_at(c, pid, "persistent id is not a ('storage', type, key, "
                               "location, size) tuple");
    const mft_value *cls = t->u.seq.items[1], *key = t->u.seq.items[2],
                    *numel = t->u.seq.items[4];
    if (key->kind != MFT_VALUE_STRING || numel->kind != MFT_VALUE_INT ||
        numel->u.i < 0 || cls->kind != MFT_VALUE_OBJECT)
        return fail_at(c, pid, "malformed storage persistent id");
    /* torch numbers storages "0", "1", … in order of first use: while
     * every key so far is its own index, a lookup costs O(1) (a scan per
     * persistent id made files with many storages quadratic) */
    size_t k = 0;
    int dec = key->u.s.n > 0 && key->u.s.n <= 18 &&
              (key->u.s.n == 1 || key->u.s.p[0] != '0');
    for (size_t i = 0; dec && i < key->u.s.n; i++) {
        char ch = key->u.s.p[i];
        dec = ch >= '0' && ch <= '9';
        k = k * 10 + (size_t)(ch - '0');
    }
    if (!c->keys_sparse && dec && k < c->nst) {
        *out = k;
        return MFT_OK;
    }
    if (c->keys_sparse || !dec)
        for (size_t i = 0; i < c->nst; i++)
            if (strcmp(c->st[i].key, key->u.s.p) == 0) {
                *out = i;
                return MFT_OK;
            }
    if (!dec || k != c->nst)
        c->keys_sparse = 1;
    if (c->nst == c->capst) {
        size_t cap = c->capst ? c->capst * 2 : 16;
        storage *g = realloc(c->st, cap * sizeof *g);
        if (!g)
            return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        c->st = g;
        c->capst = cap;
    }
    storage *s = &c->st[c->nst];
    memset(s, 0, sizeof *s);
    s->key = key->u.s.p;
    s->numel = (uint64_t)numel->u.i;
    if (strstr(cls->u.obj.cls, "UntypedStorage")) {
        s->declared_bytes = 1;
        s->dtype = MFT_DTYPE_INVALID;
    } else {
        s->dtype = storage_dtype(cls->u.obj.cls);
        if (s->dtype == MFT_DTYPE_INVALID)
            return fail_at(c, pid, "unknown storage type %s", cls->u.obj.cls);
    }
    if (c->find_record) {
        mft_status st = c->find_record(c, s->key, c->record_prefix, s);
        if (st != MFT_OK)
            return st;
    }
    *out = c->nst++;
    return MFT_OK;
}

static int int_tuple(const mft_value *v, uint64_t *out, int max, int *n)
{
    if (!v || (v->kind != MFT_VALUE_TUPLE && v->kind != MFT_VALUE_LIST) ||
        v->u.seq.n > (size_t)max)
        return 0;
    for (size_t i = 0; i < v->u.seq.n; i++) {
        const mft_value *x = v->u.seq.items[i];
        if (x->kind != MFT_VALUE_INT || x->u.i < 0)
            return 0;
        out[i] = (uint64_t)x->u.i;
    }
    *n = (int)v->u.seq.n;
    return 1;
}

static mft_status add_spec(torch_ctx *c, const mftc_tensor *t, size_t si,
                           size_t *index)
{
    if (c->nspecs == c->capspecs) {
        size_t cap = c->capspecs ? c->capspecs * 2 : 64;
        mftc_tensor *g = realloc(c->specs, cap * sizeof *g);
        if (!g)
            return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        c->specs = g;
        size_t *h = realloc(c->spec_storage, cap * sizeof *h);
        if (!h)
            return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        c->spec_storage = h;
        const mft_value **q1 = realloc(c->spec_qscale, cap * sizeof *q1);
        if (q1)
            c->spec_qscale = q1;
        const mft_value **q2 = realloc(c->spec_qzero, cap * sizeof *q2);
        if (q2)
            c->spec_qzero = q2;
        if (!q1 || !q2)
            return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        c->capspecs = cap;
    }
    c->specs[c->nspecs] = *t;
    c->spec_storage[c->nspecs] = si;
    c->spec_qscale[c->nspecs] = NULL;
    c->spec_qzero[c->nspecs] = NULL;
    *index = c->nspecs++;
    return MFT_OK;
}

/* Per-channel scales and zero points: two 1-d tensors (already finalized,
 * since arguments are resolved first) read as doubles. */
static mft_status channel_params(torch_ctx *c, mftc_tensor *t,
                                 const mft_value *scales,
                                 const mft_value *zeros)
{
    const mftc_tensor *s = &c->specs[scales->u.tensor];
    const mftc_tensor *z = &c->specs[zeros->u.tensor];
    if (s->ndim != 1 || z->ndim != 1 || s->numel != z->numel || !s->data ||
        !z->data || s->numel > (1u << 24) || mft_dtype_bits(s->dtype) < 8 ||
        mft_dtype_bits(z->dtype) < 8)
        return mftc_fail(c->f, MFT_ERR_CORRUPT, c->member, -1,
                         "per-channel quantization parameters are not two "
                         "1-d tensors of equal length");
    size_t n = (size_t)s->numel;
    t->quant_scale = mftc_arena_alloc(&c->f->arena, (n ? n : 1) * sizeof(double));
    t->quant_zero_point = mftc_arena_alloc(&c->f->arena, (n ? n : 1) * sizeof(int64_t));
    double *zd = malloc((n ? n : 1) * sizeof *zd);
    if (!t->quant_scale || !t->quant_zero_point || !zd) {
        free(zd);
        return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    }
    mft_dtype_to_f64(s->dtype, s->data, t->quant_scale, n);
    mft_dtype_to_f64(z->dtype, z->data, zd, n);
    for (size_t i = 0; i < n; i++)
        t->quant_zero_point[i] = (int64_t)zd[i];
    free(zd);
    t->quant_count = n;
    return MFT_OK;
}

/* Attach storage bytes to every tensor spec, checking each storage holds
 * what its persistent id declares. */
static mft_status finalize(torch_ctx *c)
{
    for (size_t i = 0; i < c->nspecs; i++) {
        mftc_tensor *t = &c->specs[i];
        if (c->spec_storage[i] == (size_t)-1)
            continue; /* sparse: no storage of its own */
        const storage *s = &c->st[c->spec_storage[i]];
        if (!s->data && t->storage_nbytes)
            return mftc_fail(c->f, MFT_ERR_CORRUPT, c->member, -1,
                             "storage \"%s\" has no data record", s->key);
        if (t->storage_nbytes > s->nbytes)
            return mftc_fail(c->f, MFT_ERR_CORRUPT, s->member,
                             (int64_t)s->offset,
                             "storage record %s holds %llu bytes, but its "
                             "persistent id declares %llu",
                             s->key, (unsigned long long)s->nbytes,
                             (unsigned long long)t->storage_nbytes);
        unsigned bits = mft_dtype_bits(t->dtype);
        uint64_t es = bits >= 8 ? bits / 8 : 1;
        int contiguous = t->data != NULL;
        t->member = s->member;
        t->src = s->src;
        t->storage = s->data ? s->data : (const uint8_t *)"";
        t->byteswap = c->byteswap && es > 1;
        t->offset = s->offset + t->storage_offset * es;
        t->data = contiguous && !t->byteswap && !t->negate && !t->conjugate
                      ? t->storage + t->storage_offset * es
                      : NULL;
        if (c->spec_qscale[i]) {
            mft_status st = channel_params(c, t, c->spec_qscale[i],
                                           c->spec_qzero[i]);
            if (st != MFT_OK)
                return st;
        }
    }
    return MFT_OK;
}

/* _rebuild_tensor_v2/_v3/_rebuild_tensor/_rebuild_qtensor core: storage,
 * offset, size, stride (+ dtype for v3). */
static mft_status make_tensor(torch_ctx *c, mft_value *call, const mft_value *pid,
                              const mft_value *offset, const mft_value *size,
                              const mft_value *stride, mft_dtype v3_dtype,
                              int is_fp4)
{
    mft_file *f = c->f;
    if (!pid || pid->kind != MFT_VALUE_OBJECT || pid->u.obj.form != MFTC_OBJ_PERSID)
        return fail_at(c, call, "tensor storage is not a persistent id");
    size_t si = 0;
    mft_status st = resolve_storage(c, pid, &si);
    if (st != MFT_OK)
        return st;
    const storage *s = &c->st[si];
    mft_dtype dtype = v3_dtype != MFT_DTYPE_INVALID ? v3_dtype : s->dtype;
    if (dtype == MFT_DTYPE_INVALID)
        return fail_at(c, call, "untyped storage without a dtype");
    uint64_t shape[MFT_MAX_DIMS], strides[MFT_MAX_DIMS];
    int nd = 0, ns = 0;
    uint64_t max_dims = mftc_limit(f, MFT_LIMIT_DIMS);
    if (!int_tuple(size, shape, MFT_MAX_DIMS, &nd) ||
        !int_tuple(stride, strides, MFT_MAX_DIMS, &ns) || nd != ns ||
        (uint64_t)nd > max_dims)
        return fail_at(c, call, "tensor size/stride must be tuples of equal "
                                "length of non-negative ints (at most %llu)",
                       (unsigned long long)max_dims);
    if (!offset || offset->kind != MFT_VALUE_INT || offset->u.i < 0)
        return fail_at(c, call, "tensor storage offset must be a "
                                "non-negative int");
    unsigned bits = mft_dtype_bits(dtype);
    uint64_t es = bits / 8;
    /* the storage's byte size as declared */
    uint64_t declared;
    if (s->declared_bytes)
        declared = s->numel;
    else if (!mftc_mul_u64(s->numel, mft_dtype_bits(s->dtype) / 8, &declared))
        return fail_at(c, call, "storage size overflows");
    uint64_t numel, last = (uint64_t)offset->u.i, storage_elems = declared / es;
    if (!mftc_shape_numel(shape, (size_t)nd, &numel))
        return fail_at(c, call, "tensor size overflows");
    int contiguous = 1;
    uint64_t expect = 1;
    for (int d = nd - 1; d >= 0; d--) {
        if (shape[d] != 1 && strides[d] != expect)
            contiguous = 0;
        if (!mftc_mul_u64(expect, shape[d], &expect))
            contiguous = 0;
    }
    if (numel) {
        for (int d = 0; d < nd; d++) {
            uint64_t span;
            if (!mftc_mul_u64(shape[d] - 1, strides[d], &span) ||
                !mftc_add_u64(last, span, &last))
                return fail_at(c, call, "tensor extent overflows");
        }
        if (last >= storage_elems)
            return fail_at(c, call, "tensor reaches element %llu of storage "
                                    "%s, which has %llu elements",
                           (unsigned long long)last, s->key,
                           (unsigned long long)storage_elems);
    }
    mftc_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.ndim = nd;
    t.shape = mftc_arena_alloc(&f->arena, (size_t)(nd ? nd : 1) * sizeof *t.shape);
    t.strides = mftc_arena_alloc(&f->arena, (size_t)(nd ? nd : 1) * sizeof *t.strides);
    if (!t.shape || !t.strides)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    for (int d = 0; d < nd; d++) {
        t.shape[d] = shape[d];
        t.strides[d] = (int64_t)strides[d];
    }
    if (is_fp4 && nd) {
        /* float4_e2m1fn_x2 holds two FP4 values per element: list it as F4
         * with the last dimension doubled, as safetensors stores it */
        if (!contiguous)
            return fail_at(c, call, "non-contiguous float4_e2m1fn_x2 tensor");
        t.dtype = MFT_F4;
        if (!mftc_mul_u64(t.shape[nd - 1], 2, &t.shape[nd - 1]))
            return fail_at(c, call, "tensor size overflows");
        for (int d = 0; d < nd - 1; d++)
            t.strides[d] *= 2;
        numel *= 2;
    }
    t.numel = numel;
    int whole;
    if (!mftc_elem_bytes(numel, mft_dtype_bits(t.dtype), &t.nbytes, &whole))
        return fail_at(c, call, "tensor byte size overflows");
    t.storage_offset = (uint64_t)offset->u.i;
    t.storage_nbytes = declared;
    /* contiguity is recorded by leaving data non-NULL as a marker until
     * finalize() points it into the storage */
    t.data = contiguous ? (const uint8_t *)"" : NULL;
    size_t idx = 0;
    st = add_spec(c, &t, si, &idx);
    if (st != MFT_OK)
        return st;
    call->kind = MFT_VALUE_TENSOR;
    call->u.tensor = idx;
    return MFT_OK;
}

/* _rebuild_sparse_tensor(layout, data): listed with its kind, dtype and
 * shape; its component tensors are not separate entries. */
static mft_status make_sparse(torch_ctx *c, mft_value *v)
{
    const mft_value *layout = arg(v, 0), *data = arg(v, 1);
    const char *kind = "sparse";
    if (layout->kind == MFT_VALUE_OBJECT) {
        const char *lc = layout->u.obj.cls;
        const mft_value *la = layout->u.obj.args;
        if (la && la->u.seq.n && la->u.seq.items[0]->kind == MFT_VALUE_STRING)
            lc = la->u.seq.items[0]->u.s.p; /* _get_layout('torch.sparse_coo') */
        const char *dot = strrchr(lc, '.');
        kind = dot ? dot + 1 : lc;
    }
    if (!data || (data->kind != MFT_VALUE_TUPLE && data->kind != MFT_VALUE_LIST) ||
        data->u.seq.n < 3)
        return fail_at(c, v, "sparse tensor data is not a tuple");
    /* COO: (indices, values, size[, coalesced]); compressed layouts:
     * (compressed_indices, plain_indices, values, size) */
    int coo = strcmp(kind, "sparse_coo") == 0;
    if (!coo && data->u.seq.n < 4)
        return fail_at(c, v, "sparse tensor data is too short");
    const mft_value *values = data->u.seq.items[coo ? 1 : 2];
    const mft_value *size = data->u.seq.items[coo ? 2 : 3];
    if (values->kind != MFT_VALUE_TENSOR)
        return fail_at(c, v, "sparse tensor values are not a tensor");
    uint64_t shape[MFT_MAX_DIMS];
    int nd = 0;
    if (!int_tuple(size, shape, MFT_MAX_DIMS, &nd))
        return fail_at(c, v, "sparse tensor size is not a tuple of ints");
    mftc_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = c->specs[values->u.tensor].dtype;
    t.ndim = nd;
    t.shape = mftc_arena_alloc(&c->f->arena, (size_t)(nd ? nd : 1) * sizeof *t.shape);
    if (!t.shape)
        return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    memcpy(t.shape, shape, (size_t)nd * sizeof *shape);
    t.strides = mftc_contiguous_strides(&c->f->arena, t.shape, nd);
    if (!t.strides || !mftc_shape_numel(shape, (size_t)nd, &t.numel))
        return fail_at(c, v, "sparse tensor size overflows");
    t.kind = mftc_arena_strndup(&c->f->arena, kind, strlen(kind));
    size_t idx = 0;
    mft_status st = add_spec(c, &t, (size_t)-1, &idx);
    if (st != MFT_OK)
        return st;
    v->kind = MFT_VALUE_TENSOR;
    v->u.tensor = idx;
    return MFT_OK;
}

/* Turn a resolved tensor node `inner` into the value of `call` (parameters,
 * subclasses: same tensor). */
static void alias_tensor(mft_value *call, const mft_value *inner)
{
    size_t idx = inner->u.tensor;
    call->kind = MFT_VALUE_TENSOR;
    call->u.tensor = idx;
}

static mft_status rebuild(torch_ctx *c, mft_value *v)
{
    const char *cls = v->u.obj.cls;
    if (strncmp(cls, "torch._utils._rebuild_", 22) != 0 &&
        strcmp(cls, "torch._tensor._rebuild_from_type_v2") != 0 &&
        strncmp(cls, "torch.jit._pickle.", 18) != 0)
        return MFT_OK;
    const char *fn = strrchr(cls, '.') + 1;
    size_t n = nargs(v);
    if (strcmp(fn, "_rebuild_tensor_v2") == 0 && n >= 4) {
        const mft_value *meta = n >= 7 ? arg(v, 6) : NULL;
        int neg = mft_value_bool(mft_value_lookup(meta, "neg"));
        int conj = mft_value_bool(mft_value_lookup(meta, "conj"));
        mft_status st = make_tensor(c, v, arg(v, 0), arg(v, 1), arg(v, 2),
                                    arg(v, 3), MFT_DTYPE_INVALID, 0);
        if (st == MFT_OK) {
            c->specs[v->u.tensor].negate = (uint8_t)neg;
            c->specs[v->u.tensor].conjugate = (uint8_t)conj;
        }
        return st;
    }
    if (strcmp(fn, "_rebuild_tensor") == 0 && n == 4)
        return make_tensor(c, v, arg(v, 0), arg(v, 1), arg(v, 2), arg(v, 3),
                           MFT_DTYPE_INVALID, 0);
    if (strcmp(fn, "_rebuild_tensor_v3") == 0 && n >= 7) {
        mft_dtype dt = dtype_global(arg(v, 6));
        if (dt == MFT_DTYPE_INVALID)
            return fail_at(c, v, "_rebuild_tensor_v3 with an unknown dtype %s",
                           arg(v, 6)->kind == MFT_VALUE_OBJECT
                               ? arg(v, 6)->u.obj.cls
                               : "(not a global)");
        int fp4 = strcmp(arg(v, 6)->u.obj.cls, "torch.float4_e2m1fn_x2") == 0;
        return make_tensor(c, v, arg(v, 0), arg(v, 1), arg(v, 2), arg(v, 3), dt,
                           fp4);
    }
    if (strcmp(fn, "_rebuild_qtensor") == 0 && n >= 5) {
        /* quantizer params: (per_tensor_affine, scale, zero_point) or
         * (per_channel_affine, scales, zero_points, axis) */
        const mft_value *qp = arg(v, 4);
        const mft_value *scheme = mft_value_item(qp, 0);
        double scale = 0;
        int64_t zp = 0, axis = -1;
        const mft_value *scales = NULL, *zeros = NULL;
        int per_tensor = scheme && scheme->kind == MFT_VALUE_OBJECT &&
                         strstr(scheme->u.obj.cls, "per_tensor") != NULL;
        if (per_tensor && mft_value_len(qp) >= 3) {
            const mft_value *sv = mft_value_item(qp, 1), *zv = mft_value_item(qp, 2);
            if (sv->kind != MFT_VALUE_FLOAT && sv->kind != MFT_VALUE_INT)
                return fail_at(c, v, "quantized tensor scale is not a number");
            scale = mft_value_float(sv);
            zp = mft_value_int(zv);
        } else if (mft_value_len(qp) >= 4) {
            scales = mft_value_item(qp, 1);
            zeros = mft_value_item(qp, 2);
            axis = mft_value_int(mft_value_item(qp, 3));
            if (scales->kind != MFT_VALUE_TENSOR || zeros->kind != MFT_VALUE_TENSOR)
                return fail_at(c, v, "per-channel quantization parameters are "
                                     "not tensors");
        } else {
            return fail_at(c, v, "unknown quantization scheme");
        }
        mft_status st = make_tensor(c, v, arg(v, 0), arg(v, 1), arg(v, 2),
                                    arg(v, 3), MFT_DTYPE_INVALID, 0);
        if (st != MFT_OK)
            return st;
        mftc_tensor *t = &c->specs[v->u.tensor];
        if (scales) {
            c->spec_qscale[v->u.tensor] = scales;
            c->spec_qzero[v->u.tensor] = zeros;
            t->quant_axis = (int)axis;
            if (axis < 0 || axis >= t->ndim)
                return fail_at(c, v, "quantization axis out of range");
        } else {
            t->quant_scale = mftc_arena_alloc(&c->f->arena, sizeof(double));
            t->quant_zero_point = mftc_arena_alloc(&c->f->arena, sizeof(int64_t));
            if (!t->quant_scale || !t->quant_zero_point)
                return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
            t->quant_scale[0] = scale;
            t->quant_zero_point[0] = zp;
            t->quant_count = 1;
            t->quant_axis = -1;
        }
        return MFT_OK;
    }
    if ((strcmp(fn, "_rebuild_sparse_tensor") == 0 ||
         strcmp(fn, "_rebuild_sparse_csr_tensor") == 0) && n >= 2)
        return make_sparse(c, v);
    if ((strcmp(fn, "_rebuild_parameter") == 0 ||
         strcmp(fn, "_rebuild_parameter_with_state") == 0) &&
        n >= 1 && arg(v, 0)->kind == MFT_VALUE_TENSOR) {
        alias_tensor(v, arg(v, 0));
        return MFT_OK;
    }
    if (strcmp(fn, "_rebuild_from_type_v2") == 0 && n >= 3) {
        /* (func, new_type, args, state): the tensor is func(*args) */
        const mft_value *inner = arg(v, 2);
        if (inner && inner->kind == MFT_VALUE_TUPLE && inner->u.seq.n &&
            inner->u.seq.items[0]->kind == MFT_VALUE_TENSOR &&
            arg(v, 0)->kind == MFT_VALUE_OBJECT &&
            strstr(arg(v, 0)->u.obj.cls, "_rebuild_parameter")) {
            alias_tensor(v, inner->u.seq.items[0]);
            return MFT_OK;
        }
        /* func is itself a rebuild function applied to args: rebuild in
         * place with those arguments */
        if (arg(v, 0)->kind == MFT_VALUE_OBJECT && inner &&
            inner->kind == MFT_VALUE_TUPLE) {
            mft_value tmp = *v;
            tmp.u.obj.cls = arg(v, 0)->u.obj.cls;
            tmp.u.obj.args = (mft_value *)inner;
            tmp.u.obj.form = MFTC_OBJ_CALL;
            mft_status st = rebuild(c, &tmp);
            if (st == MFT_OK && tmp.kind == MFT_VALUE_TENSOR)
                *v = tmp;
            return st;
        }
        return MFT_OK;
    }
    if (strncmp(cls, "torch.jit._pickle.", 18) == 0 && n >= 1) {
        /* restore_type_tag(value, type), build_intlist(list) …: identity */
        *v = *arg(v, 0);
        return MFT_OK;
    }
    return MFT_OK;
}

/* ------------------------------------------------------------ module flattening */

static const mft_value *dict_get(const mft_value *d, const char *key)
{
    return mft_value_lookup(d, key);
}

static int set_has(const mft_value *set, const char *name)
{
    if (!set || (set->kind != MFT_VALUE_SET && set->kind != MFT_VALUE_LIST &&
                 set->kind != MFT_VALUE_TUPLE))
        return 0;
    for (size_t i = 0; i < set->u.seq.n; i++)
        if (str_is(set->u.seq.items[i], name))
            return 1;
    return 0;
}

static int is_module_state(const mft_value *state)
{
    return state && state->kind == MFT_VALUE_DICT &&
           dict_get(state, "_parameters") && dict_get(state, "_buffers") &&
           dict_get(state, "_modules");
}

static mft_status put(torch_ctx *c, mft_value *dict, const char *prefix,
                      const char *name, mft_value *v)
{
    size_t pl = strlen(prefix), nl = strlen(name);
    char *key = mftc_arena_alloc(&c->f->arena, pl + nl + 2);
    if (!key)
        return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    memcpy(key, prefix, pl);
    if (pl)
        key[pl++] = '.';
    memcpy(key + pl, name, nl + 1);
    mft_value *k = mftc_value_new(&c->f->arena, MFT_VALUE_STRING);
    if (!k)
        return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    k->u.s.p = key;
    k->u.s.n = pl + nl;
    return mftc_value_append(&c->f->arena, dict, k, v)
               ? MFT_OK
               : mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
}

/* Append the entries of `sd` (an already flattened state dict) under prefix. */
static mft_status put_all(torch_ctx *c, mft_value *dict, const char *prefix,
                          const mft_value *sd)
{
    for (size_t i = 0; i < sd->u.seq.n; i++) {
        const mft_value *k = sd->u.seq.keys[i];
        if (k->kind != MFT_VALUE_STRING)
            continue;
        mft_status st = put(c, dict, prefix, k->u.s.p, sd->u.seq.items[i]);
        if (st != MFT_OK)
            return st;
    }
    return MFT_OK;
}

/* nn.Module → its state_dict (children are already flattened: post-order). */
static mft_status flatten_module(torch_ctx *c, mft_value *obj)
{
    const mft_value *state = obj->u.obj.state;
    const mft_value *params = dict_get(state, "_parameters");
    const mft_value *buffers = dict_get(state, "_buffers");
    const mft_value *modules = dict_get(state, "_modules");
    const mft_value *np = dict_get(state, "_non_persistent_buffers_set");
    mft_value *sd = mftc_value_new(&c->f->arena, MFT_VALUE_DICT);
    if (!sd)
        return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    mft_status st = MFT_OK;
    for (size_t i = 0; params && i < mft_value_len(params) && st == MFT_OK; i++) {
        const mft_value *k = params->u.seq.keys[i];
        mft_value *v = params->u.seq.items[i];
        if (k->kind == MFT_VALUE_STRING && v->kind == MFT_VALUE_TENSOR)
            st = put(c, sd, "", k->u.s.p, v);
    }
    for (size_t i = 0; buffers && i < mft_value_len(buffers) && st == MFT_OK; i++) {
        const mft_value *k = buffers->u.seq.keys[i];
        mft_value *v = buffers->u.seq.items[i];
        if (k->kind == MFT_VALUE_STRING && v->kind == MFT_VALUE_TENSOR &&
            !set_has(np, k->u.s.p))
            st = put(c, sd, "", k->u.s.p, v);
    }
    for (size_t i = 0; modules && i < mft_value_len(modules) && st == MFT_OK; i++) {
        const mft_value *k = modules->u.seq.keys[i];
        const mft_value *m = modules->u.seq.items[i];
        if (k->kind == MFT_VALUE_STRING && m->kind == MFT_VALUE_DICT)
            st = put_all(c, sd, k->u.s.p, m);
    }
    if (st == MFT_OK) {
        /* the object's node becomes the dict */
        *obj = *sd;
        obj->flags |= MFTC_VFLAG_MODULE;
        obj->visit = 1;
    }
    return st;
}

/* A TorchScript module object (class __torch__.*): attributes in order;
 * tensors are parameters/buffers, flattened module children follow. */
static mft_status flatten_script_module(torch_ctx *c, mft_value *obj)
{
    const mft_value *state = obj->u.obj.state;
    mft_value *sd = mftc_value_new(&c->f->arena, MFT_VALUE_DICT);
    if (!sd)
        return mftc_fail(c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    mft_status st = MFT_OK;
    /* tensors first (parameters and buffers), then children */
    for (int pass = 0; pass < 2 && st == MFT_OK; pass++)
        for (size_t i = 0; i < state->u.seq.n && st == MFT_OK; i++) {
            const mft_value *k = state->u.seq.keys[i];
            mft_value *v = state->u.seq.items[i];
            if (k->kind != MFT_VALUE_STRING)
                continue;
            if (pass == 0 && v->kind == MFT_VALUE_TENSOR)
                st = put(c, sd, "", k->u.s.p, v);
            else if (pass == 1 && v->kind == MFT_VALUE_DICT &&
                     (v->flags & MFTC_VFLAG_MODULE))
                st = put_all(c, sd, k->u.s.p, v);
        }
    if (st == MFT_OK) {
        *obj = *sd;
        obj->flags |= MFTC_VFLAG_MODULE;
        obj->visit = 1;
    }
    return st;
}

/* Post-order walk: children first, then rebuild calls and modules. */
static mft_status resolve(torch_ctx *c, mft_value *v, unsigned depth);

static mft_status resolve_seq(torch_ctx *c, mft_value *v, unsigned depth)
{
    for (size_t i = 0; i < v->u.seq.n; i++) {
        mft_status st;
        if (v->kind == MFT_VALUE_DICT && (st = resolve(c, v->u.seq.keys[i], depth)))
            return st;
        if ((st = resolve(c, v->u.seq.items[i], depth)))
            return st;
    }
    return MFT_OK;
}

static mft_status resolve(torch_ctx *c, mft_value *v, unsigned depth)
{
    if (!v)
        return MFT_OK;
    if (depth > mftc_limit(c->f, MFT_LIMIT_PICKLE_DEPTH))
        return mftc_fail(c->f, MFT_ERR_LIMIT, c->member, -1,
                         "values nest deeper than %llu (the limit)",
                         (unsigned long long)mftc_limit(c->f,
                                                        MFT_LIMIT_PICKLE_DEPTH));
    if (v->visit)
        return MFT_OK;
    v->visit = 1;
    mft_status st = MFT_OK;
    switch (v->kind) {
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_DICT:
    case MFT_VALUE_SET:
        return resolve_seq(c, v, depth + 1);
    case MFT_VALUE_OBJECT:
        if ((st = resolve(c, v->u.obj.args, depth + 1)) ||
            (st = resolve(c, v->u.obj.state, depth + 1)) ||
            (st = resolve(c, v->u.obj.items, depth + 1)) ||
            (st = resolve(c, v->u.obj.dictitems, depth + 1)) ||
            (st = resolve(c, v->u.obj.callee, depth + 1)))
            return st;
        if (v->u.obj.form == MFTC_OBJ_CALL || v->u.obj.form == MFTC_OBJ_NEW) {
            if ((st = rebuild(c, v)))
                return st;
            if (v->kind != MFT_VALUE_OBJECT)
                return MFT_OK;
            if (is_module_state(v->u.obj.state))
                return flatten_module(c, v);
            if (strncmp(v->u.obj.cls, "__torch__.", 10) == 0 && v->u.obj.state &&
                v->u.obj.state->kind == MFT_VALUE_DICT) {
                return flatten_script_module(c, v);
            }
        }
        return MFT_OK;
    default:
        return MFT_OK;
    }
}

/* ------------------------------------------------------------ naming */

typedef struct namer {
    torch_ctx *c;
    char *path;
    size_t len, cap;
    uint64_t steps; /* nodes visited: shared values are walked per path */
} namer;

static int path_push(namer *n, const char *part, size_t plen, size_t *saved)
{
    *saved = n->len;
    size_t need = n->len + plen + 2;
    if (need > n->cap) {
        size_t cap = n->cap ? n->cap : 256;
        while (cap < need)
            cap *= 2;
        char *g = realloc(n->path, cap);
        if (!g)
            return 0;
        n->path = g;
        n->cap = cap;
    }
    if (n->len)
        n->path[n->len++] = '.';
    memcpy(n->path + n->len, part, plen);
    n->len += plen;
    n->path[n->len] = 0;
    return 1;
}

static mft_status list_tensor(namer *n, mft_value *v)
{
    torch_ctx *c = n->c;
    mft_file *f = c->f;
    mftc_tensor t = c->specs[v->u.tensor];
    /* a repeated path gets #k (DESIGN.md §3) */
    const char *base = n->len ? n->path : "";
    char *name = mftc_arena_strndup(&f->arena, base, n->len);
    if (!name)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    t.name = name;
    if (mft_tensor_find(f, name, NULL) == MFT_OK) {
        for (unsigned k = 1;; k++) {
            char *alt = mftc_arena_alloc(&f->arena, n->len + 16);
            if (!alt)
                return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
            snprintf(alt, n->len + 16, "%s#%u", base, k);
            if (mft_tensor_find(f, alt, NULL) != MFT_OK) {
                t.name = alt;
                break;
            }
        }
    }
    f->errmsg[0] = 0;
    size_t idx = 0;
    mft_status st = mftc_add_tensor(f, &t, &idx);
    if (st != MFT_OK)
        return st;
    if (c->first_listing[v->u.tensor] == (size_t)-1)
        c->first_listing[v->u.tensor] = idx;
    /* keep the name index current for the #k check (incrementally: a
     * rebuild per tensor made listing quadratic) */
    return mftc_index_add_last(f) == MFT_OK
               ? MFT_OK
               : mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
}

static mft_status name_walk(namer *n, mft_value *v, unsigned depth);

static mft_status name_child(namer *n, const char *part, size_t plen,
                             mft_value *child, unsigned depth)
{
    size_t saved;
    if (!path_push(n, part, plen, &saved))
        return mftc_fail(n->c->f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    mft_status st = name_walk(n, child, depth + 1);
    n->len = saved;
    if (n->path)
        n->path[n->len] = 0;
    return st;
}

static mft_status name_seq(namer *n, mft_value *v, unsigned depth)
{
    char buf[32];
    for (size_t i = 0; i < v->u.seq.n; i++) {
        const char *part = buf;
        size_t plen;
        if (v->kind == MFT_VALUE_DICT) {
            const mft_value *k = v->u.seq.keys[i];
            if (k->kind == MFT_VALUE_STRING) {
                part = k->u.s.p;
                plen = k->u.s.n;
            } else if (k->kind == MFT_VALUE_INT) {
                plen = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)k->u.i);
            } else if (k->kind == MFT_VALUE_BOOL) {
                plen = (size_t)snprintf(buf, sizeof buf, "%s", k->u.b ? "True" : "False");
            } else {
                plen = (size_t)snprintf(buf, sizeof buf, "%zu", i);
            }
        } else {
            plen = (size_t)snprintf(buf, sizeof buf, "%zu", i);
        }
        mft_status st = name_child(n, part, plen, v->u.seq.items[i], depth);
        if (st != MFT_OK)
            return st;
    }
    return MFT_OK;
}

static mft_status name_walk(namer *n, mft_value *v, unsigned depth)
{
    if (!v)
        return MFT_OK;
    if (depth > mftc_limit(n->c->f, MFT_LIMIT_PICKLE_DEPTH))
        return mftc_fail(n->c->f, MFT_ERR_LIMIT, n->c->member, -1,
                         "values nest deeper than %llu (the limit)",
                         (unsigned long long)mftc_limit(n->c->f,
                                                        MFT_LIMIT_PICKLE_DEPTH));
    /* a pickle can share one value many times (memo), so a small file can
     * describe exponentially many paths: bound the walk */
    if (++n->steps > mftc_limit(n->c->f, MFT_LIMIT_PICKLE_ITEMS))
        return mftc_fail(n->c->f, MFT_ERR_LIMIT, n->c->member, -1,
                         "shared values expand to more than %llu paths (the "
                         "limit)",
                         (unsigned long long)mftc_limit(n->c->f,
                                                        MFT_LIMIT_PICKLE_ITEMS));
    if (v->kind == MFT_VALUE_TENSOR)
        return list_tensor(n, v);
    /* a container seen on the current path again is a cycle: stop there */
    if (v->visit == 2)
        return MFT_OK;
    mft_status st = MFT_OK;
    uint16_t saved = v->visit;
    v->visit = 2;
    switch (v->kind) {
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_DICT:
    case MFT_VALUE_SET:
        st = name_seq(n, v, depth);
        break;
    case MFT_VALUE_OBJECT:
        /* other objects: their attribute path */
        if (v->u.obj.state && v->u.obj.state->kind == MFT_VALUE_DICT)
            st = name_seq(n, v->u.obj.state, depth);
        else if (v->u.obj.state && v->u.obj.state->kind == MFT_VALUE_TUPLE &&
                 v->u.obj.state->u.seq.n == 2) {
            /* (dict, slots) */
            for (size_t i = 0; i < 2 && st == MFT_OK; i++)
                if (v->u.obj.state->u.seq.items[i]->kind == MFT_VALUE_DICT)
                    st = name_seq(n, v->u.obj.state->u.seq.items[i], depth);
        } else if (v->u.obj.state)
            st = name_walk(n, v->u.obj.state, depth + 1);
        if (st == MFT_OK && v->u.obj.dictitems)
            st = name_seq(n, v->u.obj.dictitems, depth);
        if (st == MFT_OK && v->u.obj.items)
            st = name_seq(n, v->u.obj.items, depth);
        break;
    default:
        break;
    }
    v->visit = saved;
    return st;
}

static const char *file_stem(mft_file *f)
{
    const char *slash = strrchr(f->path, '/');
    const char *base = slash ? slash + 1 : f->path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return mftc_arena_strndup(&f->arena, base, n);
}

/* Resolve tensors, flatten modules, name every tensor; root becomes the
 * file's value tree. */
static mft_status finish(torch_ctx *c, mft_value *root)
{
    mft_file *f = c->f;
    mft_status st;
    c->first_listing = malloc((c->nspecs ? c->nspecs : 1) * sizeof(size_t));
    if (!c->first_listing)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    for (size_t i = 0; i < c->nspecs; i++)
        c->first_listing[i] = (size_t)-1;
    namer n = {c, NULL, 0, 0, 0};
    if (root->kind == MFT_VALUE_TENSOR) {
        const char *stem = file_stem(f);
        size_t saved;
        if (!stem || !path_push(&n, stem, strlen(stem), &saved))
            st = mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        else
            st = list_tensor(&n, root);
    } else {
        st = name_walk(&n, root, 0);
    }
    free(n.path);
    if (st != MFT_OK)
        return st;
    f->root = root;
    f->errmsg[0] = 0;
    return MFT_OK;
}

/* After naming, point every TENSOR value at its first table entry. */
static void retarget(torch_ctx *c, mft_value *v, unsigned depth)
{
    if (!v || depth > 100000 || v->visit == 3)
        return;
    if (v->kind == MFT_VALUE_TENSOR) {
        if (v->u.tensor < c->nspecs && c->first_listing[v->u.tensor] != (size_t)-1)
            v->u.tensor = c->first_listing[v->u.tensor];
        v->visit = 3;
        return;
    }
    v->visit = 3;
    switch (v->kind) {
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_DICT:
    case MFT_VALUE_SET:
        for (size_t i = 0; i < v->u.seq.n; i++) {
            if (v->kind == MFT_VALUE_DICT)
                retarget(c, v->u.seq.keys[i], depth + 1);
            retarget(c, v->u.seq.items[i], depth + 1);
        }
        break;
    case MFT_VALUE_OBJECT:
        retarget(c, v->u.obj.args, depth + 1);
        retarget(c, v->u.obj.state, depth + 1);
        retarget(c, v->u.obj.items, depth + 1);
        retarget(c, v->u.obj.dictitems, depth + 1);
        retarget(c, v->u.obj.callee, depth + 1);
        break;
    default:
        break;
    }
}

static void ctx_free(torch_ctx *c)
{
    free(c->spec_qscale);
    free(c->spec_qzero);
    free(c->spec_storage);
    free(c->st);
    free(c->specs);
    free(c->first_listing);
}

/* ------------------------------------------------------------ raw pickle */

static int is_legacy_magic(const mft_value *v);

mft_status mftc_read_pickle(mft_file *f)
{
    f->format = MFT_FORMAT_PICKLE;
    mftc_pickle_result r;
    mft_status st = mftc_pickle_load(f, f->src.data, (size_t)f->src.size, 0,
                                     NULL, &r);
    if (st != MFT_OK)
        return st;
    /* a pickle of the legacy magic number starts a PyTorch ≤ 1.5 file,
     * whatever protocol (and framing) wrote it */
    if (is_legacy_magic(r.root))
        return mftc_read_pytorch_legacy(f);
    torch_ctx c;
    memset(&c, 0, sizeof c);
    c.f = f;
    st = resolve(&c, r.root, 0);
    if (st == MFT_OK)
        st = finalize(&c);
    if (st == MFT_OK)
        st = finish(&c, r.root);
    if (st == MFT_OK)
        retarget(&c, r.root, 0);
    ctx_free(&c);
    return st;
}

/* ------------------------------------------------------------ legacy format */

static int is_int_value(const mft_value *v, int64_t want)
{
    return v && v->kind == MFT_VALUE_INT && v->u.i == want;
}

/* The legacy magic 0x1950A86A20F9469CFC6C as LONG bytes. */
static int is_legacy_magic(const mft_value *v)
{
    static const uint8_t magic[] = {0x6C, 0xFC, 0x9C, 0x46, 0xF9,
                                    0x20, 0x6A, 0xA8, 0x50, 0x19};
    return v && v->kind == MFT_VALUE_BIGINT && v->u.s.n == 10 &&
           memcmp(v->u.s.p, magic, 10) == 0;
}

mft_status mftc_read_pytorch_legacy(mft_file *f)
{
    f->format = MFT_FORMAT_PYTORCH_LEGACY;
    const uint8_t *p = f->src.data;
    size_t size = (size_t)f->src.size, at = 0;
    mftc_pickle_result r[5];
    static const char *const what[] = {"magic number", "protocol version",
                                       "system info", "object pickle",
                                       "storage key list"};
    for (int i = 0; i < 5; i++) {
        mft_status st = mftc_pickle_load(f, p + at, size - at, at, what[i], &r[i]);
        if (st != MFT_OK)
            return st;
        if (i == 0 && !is_legacy_magic(r[0].root))
            return mftc_fail(f, MFT_ERR_FORMAT, NULL, 0,
                             "not a legacy PyTorch file (magic number "
                             "missing)");
        if (i == 1 && !is_int_value(r[1].root, 1001))
            return mftc_fail(f, MFT_ERR_UNSUPPORTED, what[1], (int64_t)at,
                             "unsupported legacy protocol version");
        at += r[i].used;
    }
    torch_ctx c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.member = what[3];
    const mft_value *le = mft_value_lookup(r[2].root, "little_endian");
    c.byteswap = le && le->kind == MFT_VALUE_BOOL && !le->u.b;
    /* resolve first (collects storages with their dtypes) without data */
    mft_status st = resolve(&c, r[3].root, 0);
    const mft_value *keys = r[4].root;
    if (st == MFT_OK && (!keys || keys->kind != MFT_VALUE_LIST))
        st = mftc_fail(f, MFT_ERR_CORRUPT, what[4], -1,
                       "the storage key list is not a list");
    /* the blobs: per key, an 8-byte element count then the elements */
    for (size_t i = 0; st == MFT_OK && i < keys->u.seq.n; i++) {
        const mft_value *k = keys->u.seq.items[i];
        if (k->kind != MFT_VALUE_STRING) {
            st = mftc_fail(f, MFT_ERR_CORRUPT, what[4], -1,
                           "storage key %zu is not a string", i);
            break;
        }
        storage *s = NULL;
        for (size_t j = 0; j < c.nst; j++)
            if (strcmp(c.st[j].key, k->u.s.p) == 0)
                s = &c.st[j];
        if (!s) {
            st = mftc_fail(f, MFT_ERR_CORRUPT, NULL, (int64_t)at,
                           "storage \"%s\" is listed but no tensor uses it",
                           k->u.s.p);
            break;
        }
        if (size - at < 8) {
            st = mftc_fail(f, MFT_ERR_CORRUPT, NULL, (int64_t)at,
                           "truncated: storage \"%s\" size missing", s->key);
            break;
        }
        uint64_t count = 0;
        for (int b = 0; b < 8; b++)
            count |= (uint64_t)p[at + (size_t)b] << (8 * b);
        if (c.byteswap) {
            uint64_t sw = 0;
            for (int b = 0; b < 8; b++)
                sw = (sw << 8) | ((count >> (8 * b)) & 0xFF);
            count = sw;
        }
        at += 8;
        uint64_t es = s->declared_bytes ? 1 : mft_dtype_bits(s->dtype) / 8, bytes;
        if (!mftc_mul_u64(count, es, &bytes) || bytes > size - at) {
            st = mftc_fail(f, MFT_ERR_CORRUPT, NULL, (int64_t)(at - 8),
                           "truncated: storage \"%s\" declares %llu elements, "
                           "past end of file",
                           s->key, (unsigned long long)count);
            break;
        }
        s->data = p + at;
        s->nbytes = bytes;
        s->offset = at;
        s->src = &f->src;
        at += (size_t)bytes;
    }
    if (st == MFT_OK && at != size)
        st = mftc_fail(f, MFT_ERR_CORRUPT, NULL, (int64_t)at,
                       "%llu trailing bytes after the last storage",
                       (unsigned long long)(size - at));
    if (st == MFT_OK)
        st = finalize(&c);
    if (st == MFT_OK)
        st = finish(&c, r[3].root);
    if (st == MFT_OK)
        retarget(&c, r[3].root, 0);
    ctx_free(&c);
    return st;
}

/* ------------------------------------------------------------ zip archives */

#include "../container/zip.h"

typedef struct zip_state {
    mftc_zip z;
    const char *prefix; /* "archive/" */
    size_t prefix_len;
} zip_state;

static mft_status zip_record(torch_ctx *c, const char *key, const char *dir,
                             storage *s)
{
    zip_state *zs = c->zip;
    mft_file *f = c->f;
    size_t n = zs->prefix_len + strlen(dir) + strlen(key) + 1;
    char *name = mftc_arena_alloc(&f->arena, n);
    if (!name)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    snprintf(name, n, "%.*s%s%s", (int)zs->prefix_len, zs->prefix, dir, key);
    const mftc_zip_entry *e = mftc_zip_find(&zs->z, name);
    if (!e)
        return mftc_fail(f, MFT_ERR_CORRUPT, c->member, -1,
                         "storage record %s is missing from the archive",
                         name);
    const uint8_t *data;
    uint8_t *owned = NULL;
    mft_status st = mftc_zip_data(&zs->z, e, &data, &owned);
    if (st != MFT_OK)
        return st;
    if (owned && (st = mftc_keep(f, owned)) != MFT_OK)
        return st;
    s->data = data;
    s->nbytes = e->size;
    s->member = name;
    s->offset = owned ? 0 : e->data_offset;
    s->src = owned ? NULL : &f->src;
    return MFT_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static mft_status read_torch_zip(mft_file *f, zip_state *zs,
                                 const mftc_zip_entry *pkl)
{
    const char *slash = strrchr(pkl->name, '/');
    zs->prefix = pkl->name;
    zs->prefix_len = slash ? (size_t)(slash - pkl->name) + 1 : 0;
    char *name = mftc_arena_alloc(&f->arena, zs->prefix_len + 32);
    if (!name)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    snprintf(name, zs->prefix_len + 32, "%.*sconstants.pkl",
             (int)zs->prefix_len, zs->prefix);
    int script = mftc_zip_find(&zs->z, name) != NULL;
    f->format = script ? MFT_FORMAT_TORCHSCRIPT : MFT_FORMAT_PYTORCH_ZIP;
    torch_ctx c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.member = pkl->name;
    c.zip = zs;
    c.find_record = zip_record;
    c.record_prefix = "data/";
    snprintf(name, zs->prefix_len + 32, "%.*sbyteorder", (int)zs->prefix_len,
             zs->prefix);
    const mftc_zip_entry *bo = mftc_zip_find(&zs->z, name);
    if (bo) {
        uint8_t buf[16];
        size_t got = 0;
        if (mftc_zip_prefix(&zs->z, bo, buf, sizeof buf, &got) == MFT_OK &&
            got >= 3 && memcmp(buf, "big", 3) == 0)
            c.byteswap = 1;
    }
    const uint8_t *data;
    uint8_t *owned = NULL;
    mft_status st = mftc_zip_data(&zs->z, pkl, &data, &owned);
    mftc_pickle_result r;
    if (st == MFT_OK)
        st = mftc_pickle_load(f, data, (size_t)pkl->size,
                              owned ? 0 : pkl->data_offset, pkl->name, &r);
    free(owned); /* the value tree holds copies of everything it needs */
    if (st == MFT_OK)
        st = resolve(&c, r.root, 0);
    if (st == MFT_OK)
        st = finalize(&c);
    if (st == MFT_OK)
        st = finish(&c, r.root);
    if (st == MFT_OK)
        retarget(&c, r.root, 0);
    if (st == MFT_OK && script) {
        /* TorchScript code is listed, never run */
        mft_value *code = mftc_value_new(&f->arena, MFT_VALUE_LIST);
        if (!f->metadata)
            f->metadata = mftc_value_new(&f->arena, MFT_VALUE_DICT);
        if (!code || !f->metadata)
            st = mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        for (size_t i = 0; st == MFT_OK && i < zs->z.count; i++) {
            const char *n = zs->z.entries[i].name;
            if (strncmp(n, zs->prefix, zs->prefix_len) == 0 &&
                strncmp(n + zs->prefix_len, "code/", 5) == 0 && ends_with(n, ".py")) {
                mft_value *s = mftc_value_string(&f->arena, n + zs->prefix_len,
                                                 strlen(n + zs->prefix_len));
                if (!s || !mftc_value_append(&f->arena, code, NULL, s))
                    st = mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
            }
        }
        mft_value *k = mftc_value_string(&f->arena, "code_files", 10);
        if (st == MFT_OK && (!k || !mftc_value_append(&f->arena, f->metadata, k, code)))
            st = mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    }
    ctx_free(&c);
    return st;
}

__attribute__((weak)) mft_status mftc_read_npz(mft_file *f);

mft_status mftc_read_zip_model(mft_file *f)
{
    zip_state *zs = mftc_arena_alloc(&f->arena, sizeof *zs);
    if (!zs)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    f->format = MFT_FORMAT_PYTORCH_ZIP;
    mft_status st = mftc_zip_open(&zs->z, f, f->src.data, f->src.size);
    if (st != MFT_OK)
        return st;
    /* torch.save puts data.pkl in one top-level folder of any name */
    const mftc_zip_entry *pkl = NULL;
    for (size_t i = 0; i < zs->z.count && !pkl; i++) {
        const char *n = zs->z.entries[i].name;
        const char *slash = strchr(n, '/');
        if ((slash && strcmp(slash + 1, "data.pkl") == 0) ||
            strcmp(n, "data.pkl") == 0)
            pkl = &zs->z.entries[i];
    }
    if (pkl)
        return read_torch_zip(f, zs, pkl);
    if (mftc_read_npz) {
        f->format = MFT_FORMAT_NPZ;
        return mftc_read_npz(f);
    }
    return mftc_fail(f, MFT_ERR_FORMAT, NULL, -1,
                     "a zip archive without data.pkl: not a PyTorch file");
}
