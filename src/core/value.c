/* The value tree: immutable once a reader has built it, allocated in the
 * handle's arena. */
#include "internal.h"
#include <stdio.h>
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

/* ---- path lookup ---- */

static size_t key_text(const mft_value *k, char *buf, size_t cap,
                       const char **text)
{
    if (k->kind == MFT_VALUE_STRING) {
        *text = k->u.s.p;
        return k->u.s.n;
    }
    int n = -1;
    if (k->kind == MFT_VALUE_INT)
        n = snprintf(buf, cap, "%lld", (long long)k->u.i);
    else if (k->kind == MFT_VALUE_BOOL)
        n = snprintf(buf, cap, "%s", k->u.b ? "True" : "False");
    *text = buf;
    return n < 0 ? (size_t)-1 : (size_t)n;
}

static const mft_value *find_rec(const mft_value *v, const char *path,
                                 unsigned depth);

static const mft_value *find_in_dict(const mft_value *d, const char *path,
                                     unsigned depth)
{
    size_t plen = strlen(path), best_prev = (size_t)-1;
    /* longest matching key first, then shorter ones (backtracking) */
    for (;;) {
        size_t best = (size_t)-1, best_len = 0;
        char buf[32];
        for (size_t i = 0; i < d->u.seq.n; i++) {
            const char *t;
            size_t n = key_text(d->u.seq.keys[i], buf, sizeof buf, &t);
            if (n == (size_t)-1 || n > plen || memcmp(t, path, n) != 0 ||
                (path[n] != 0 && path[n] != '.'))
                continue;
            if (best_prev != (size_t)-1 && n >= best_prev)
                continue;
            if (best == (size_t)-1 || n > best_len) {
                best = i;
                best_len = n;
            }
        }
        if (best == (size_t)-1)
            return NULL;
        const mft_value *item = d->u.seq.items[best];
        if (path[best_len] == 0)
            return item;
        const mft_value *r = find_rec(item, path + best_len + 1, depth + 1);
        if (r)
            return r;
        best_prev = best_len;
    }
}

static const mft_value *find_rec(const mft_value *v, const char *path,
                                 unsigned depth)
{
    if (!v || depth > 10000)
        return NULL;
    if (!*path)
        return v;
    switch (v->kind) {
    case MFT_VALUE_DICT:
        return find_in_dict(v, path, depth);
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_SET: {
        size_t i = 0, k = 0;
        if (path[0] < '0' || path[0] > '9')
            return NULL;
        for (; path[k] >= '0' && path[k] <= '9'; k++) {
            if (i > (SIZE_MAX - 9) / 10)
                return NULL;
            i = i * 10 + (size_t)(path[k] - '0');
        }
        if ((path[k] != 0 && path[k] != '.') || i >= v->u.seq.n)
            return NULL;
        return path[k] ? find_rec(v->u.seq.items[i], path + k + 1, depth + 1)
                       : v->u.seq.items[i];
    }
    case MFT_VALUE_OBJECT: {
        const mft_value *r = NULL;
        const mft_value *s = v->u.obj.state;
        if (s && s->kind == MFT_VALUE_TUPLE && s->u.seq.n == 2 &&
            s->u.seq.items[0]->kind == MFT_VALUE_DICT)
            s = s->u.seq.items[0];
        if (s)
            r = find_rec(s, path, depth + 1);
        if (!r && v->u.obj.dictitems)
            r = find_rec(v->u.obj.dictitems, path, depth + 1);
        if (!r && v->u.obj.items)
            r = find_rec(v->u.obj.items, path, depth + 1);
        return r;
    }
    default:
        return NULL;
    }
}

const mft_value *mft_value_find(const mft_value *v, const char *path)
{
    return path ? find_rec(v, path, 0) : NULL;
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
                 v->kind == MFT_VALUE_DICT || v->kind == MFT_VALUE_SET);
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

const mft_value *mft_value_args(const mft_value *v)
{
    return v && v->kind == MFT_VALUE_OBJECT ? v->u.obj.args : NULL;
}

int mft_value_is_frozen(const mft_value *v)
{
    return v && v->kind == MFT_VALUE_SET && (v->flags & MFTC_VFLAG_FROZEN);
}

int mft_value_is_global(const mft_value *v)
{
    return v && v->kind == MFT_VALUE_OBJECT && v->u.obj.form == MFTC_OBJ_GLOBAL;
}
