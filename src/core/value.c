/* The value tree: immutable once a reader has built it, allocated in the
 * handle's arena. */
#include "internal.h"
#include <string.h>

mft_value *mftc_value_new(mftc_arena *a, mft_value_kind kind)
{
    mft_value *v = mftc_arena_alloc(a, sizeof *v);
    if (v)
        v->kind = kind;
    return v;
}

mft_value *mftc_value_string(mftc_arena *a, const char *s, size_t n)
{
    mft_value *v = mftc_value_new(a, MFT_VALUE_STRING);
    if (!v)
        return NULL;
    char *p = mftc_arena_strndup(a, s, n);
    if (!p)
        return NULL;
    v->u.s.p = p;
    v->u.s.n = n;
    return v;
}

mft_value *mftc_value_int(mftc_arena *a, int64_t i)
{
    mft_value *v = mftc_value_new(a, MFT_VALUE_INT);
    if (v)
        v->u.i = i;
    return v;
}

int mftc_value_append(mftc_arena *a, mft_value *seq, mft_value *key,
                      mft_value *item)
{
    int is_dict = seq->kind == MFT_VALUE_DICT;
    if (seq->u.seq.n == seq->u.seq.cap) {
        size_t cap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 4;
        if (cap > SIZE_MAX / sizeof(mft_value *))
            return 0;
        mft_value **items = mftc_arena_alloc(a, cap * sizeof *items);
        mft_value **keys = is_dict ? mftc_arena_alloc(a, cap * sizeof *keys)
                                   : NULL;
        if (!items || (is_dict && !keys))
            return 0;
        if (seq->u.seq.n) {
            memcpy(items, seq->u.seq.items, seq->u.seq.n * sizeof *items);
            if (is_dict)
                memcpy(keys, seq->u.seq.keys, seq->u.seq.n * sizeof *keys);
        }
        seq->u.seq.items = items;
        seq->u.seq.keys = keys;
        seq->u.seq.cap = cap;
    }
    if (is_dict)
        seq->u.seq.keys[seq->u.seq.n] = key;
    seq->u.seq.items[seq->u.seq.n++] = item;
    return 1;
}

/* ---- public getters ---- */

mft_value_kind mft_value_get_kind(const mft_value *v)
{
    return v ? v->kind : MFT_VALUE_NONE;
}

int mft_value_bool(const mft_value *v)
{
    return v && v->kind == MFT_VALUE_BOOL ? v->u.b : 0;
}

int64_t mft_value_int(const mft_value *v)
{
    if (!v)
        return 0;
    if (v->kind == MFT_VALUE_INT)
        return v->u.i;
    if (v->kind == MFT_VALUE_BOOL)
        return v->u.b;
    return 0;
}

double mft_value_float(const mft_value *v)
{
    if (!v)
        return 0;
    if (v->kind == MFT_VALUE_FLOAT)
        return v->u.f;
    if (v->kind == MFT_VALUE_INT)
        return (double)v->u.i;
    return 0;
}

const char *mft_value_bytes(const mft_value *v, size_t *len)
{
    if (!v || (v->kind != MFT_VALUE_STRING && v->kind != MFT_VALUE_BYTES &&
               v->kind != MFT_VALUE_BIGINT)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = v->u.s.n;
    return v->u.s.p;
}

static int is_seq(const mft_value *v)
{
    return v && (v->kind == MFT_VALUE_LIST || v->kind == MFT_VALUE_TUPLE ||
                 v->kind == MFT_VALUE_DICT);
}

size_t mft_value_len(const mft_value *v)
{
    return is_seq(v) ? v->u.seq.n : 0;
}

const mft_value *mft_value_item(const mft_value *v, size_t i)
{
    return is_seq(v) && i < v->u.seq.n ? v->u.seq.items[i] : NULL;
}

const mft_value *mft_value_key(const mft_value *v, size_t i)
{
    return v && v->kind == MFT_VALUE_DICT && i < v->u.seq.n
               ? v->u.seq.keys[i]
               : NULL;
}

const mft_value *mft_value_lookup(const mft_value *v, const char *key)
{
    if (!v || v->kind != MFT_VALUE_DICT || !key)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < v->u.seq.n; i++) {
        const mft_value *k = v->u.seq.keys[i];
        if (k && k->kind == MFT_VALUE_STRING && k->u.s.n == kl &&
            memcmp(k->u.s.p, key, kl) == 0)
            return v->u.seq.items[i];
    }
    return NULL;
}

size_t mft_value_tensor(const mft_value *v)
{
    return v && v->kind == MFT_VALUE_TENSOR ? v->u.tensor : (size_t)-1;
}

const char *mft_value_class(const mft_value *v)
{
    return v && v->kind == MFT_VALUE_OBJECT ? v->u.obj.cls : NULL;
}

const mft_value *mft_value_state(const mft_value *v)
{
    return v && v->kind == MFT_VALUE_OBJECT ? v->u.obj.state : NULL;
}
