/* Hugging Face sharded safetensors sets, opened through their index
 * (`model.safetensors.index.json`, see shared/reference/safetensors-gguf-npy.md
 * §4):
 *   {"metadata": {"total_size": …, …}, "weight_map": {tensor: shard file}}
 * Every shard is opened as a safetensors file of its own (with the same
 * limits); the handle lists all their tensors, shard by shard in sorted file
 * name order (the order transformers loads them), each in data order. The
 * weight map and the shards must agree exactly: every mapped tensor is in
 * the shard named for it, every shard tensor is mapped to its shard, and no
 * name appears twice. Shard names must be plain file names beside the index:
 * a name is never allowed to reach outside the index's directory. */
#include "../core/internal.h"
#include "../core/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shard_ref {
    const char *file; /* shard file name from the map */
    size_t index;     /* position in sorted unique shard list */
} shard_ref;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int plain_file_name(const char *s, size_t n)
{
    if (n == 0 || strlen(s) != n)
        return 0;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    return strchr(s, '/') == NULL && strchr(s, '\\') == NULL;
}

static mft_status json_to_value(mft_file *f, const mftc_json *j,
                                mft_value **out)
{
    mft_value *v = NULL;
    switch (j->type) {
    case MFTC_JSON_NULL:
        v = mftc_value_new(&f->arena, MFT_VALUE_NONE);
        break;
    case MFTC_JSON_BOOL:
        v = mftc_value_new(&f->arena, MFT_VALUE_BOOL);
        if (v)
            v->u.b = j->u.b;
        break;
    case MFTC_JSON_NUMBER:
        if (j->u.num.is_int && j->u.num.mag <= (uint64_t)INT64_MAX)
            v = mftc_value_int(&f->arena, j->u.num.neg
                                              ? -(int64_t)j->u.num.mag
                                              : (int64_t)j->u.num.mag);
        else {
            v = mftc_value_new(&f->arena, MFT_VALUE_FLOAT);
            if (v)
                v->u.f = j->u.num.d;
        }
        break;
    case MFTC_JSON_STRING:
        v = mftc_value_string(&f->arena, j->u.str.p, j->u.str.n);
        break;
    case MFTC_JSON_ARRAY:
    case MFTC_JSON_OBJECT:
        v = mftc_value_new(&f->arena, j->type == MFTC_JSON_ARRAY
                                          ? MFT_VALUE_LIST
                                          : MFT_VALUE_DICT);
        for (size_t i = 0; v && i < j->u.kids.n; i++) {
            const mftc_json_member *m = &j->u.kids.m[i];
            mft_value *item, *key = NULL;
            if (json_to_value(f, &m->value, &item) != MFT_OK)
                return MFT_ERR_NOMEM;
            if (m->key && !(key = mftc_value_string(&f->arena, m->key,
                                                    m->key_len)))
                return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
            if (!mftc_value_append(&f->arena, v, key, item))
                return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        }
        break;
    }
    if (!v)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    *out = v;
    return MFT_OK;
}

/* Open shard `name` beside the index. */
static mft_status open_shard(mft_file *f, const char *name, mft_file **out)
{
    const char *slash = strrchr(f->path, '/');
    size_t dirlen = slash ? (size_t)(slash - f->path) + 1 : 0;
    size_t nl = strlen(name);
    char *path = malloc(dirlen + nl + 1);
    if (!path)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    memcpy(path, f->path, dirlen);
    memcpy(path + dirlen, name, nl + 1);
    mft_open_options opts;
    memset(&opts, 0, sizeof opts);
    memcpy(opts.limits, f->limits, sizeof opts.limits);
    opts.no_mmap = f->no_mmap;
    mft_file *part = NULL;
    mft_status st = mft_open(path, &opts, &part);
    free(path);
    *out = part;
    if (st == MFT_OK && part->format != MFT_FORMAT_SAFETENSORS)
        return mftc_fail(f, MFT_ERR_MISMATCH, name, -1,
                         "shard is %s, not safetensors",
                         mft_format_name(part->format));
    if (st != MFT_OK) {
        /* the shard's own message names its path, member and offset */
        if (part)
            snprintf(f->errmsg, sizeof f->errmsg, "%s", part->errmsg);
        else
            mftc_fail(f, st, name, -1, "%s", mft_strerror(st));
    }
    return st;
}

mft_status mftc_read_safetensors_index(mft_file *f)
{
    f->format = MFT_FORMAT_SAFETENSORS_INDEX;
    uint64_t size = f->src.size;
    if (size > mftc_limit(f, MFT_LIMIT_HEADER_BYTES))
        return mftc_fail(f, MFT_ERR_LIMIT, NULL, 0,
                         "index of %llu bytes exceeds the limit of %llu",
                         (unsigned long long)size,
                         (unsigned long long)mftc_limit(f,
                                                        MFT_LIMIT_HEADER_BYTES));
    const uint8_t *p = f->src.data;
    size_t skip = size >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF
                      ? 3
                      : 0;
    size_t bad = mftc_utf8_check(p + skip, (size_t)size - skip);
    if (bad != size - skip)
        return mftc_fail(f, MFT_ERR_CORRUPT, NULL, (int64_t)(bad + skip),
                         "index is not valid UTF-8");
    mftc_json_error jerr;
    mftc_json *root = mftc_json_parse(
        &f->arena, (const char *)p + skip, (size_t)size - skip, skip,
        (unsigned)mftc_limit(f, MFT_LIMIT_JSON_DEPTH), &jerr);
    if (!root)
        return mftc_fail(f, jerr.nomem ? MFT_ERR_NOMEM : MFT_ERR_CORRUPT, NULL,
                         (int64_t)jerr.offset, "invalid JSON: %s", jerr.msg);
    const mftc_json *map = mftc_json_get(root, "weight_map");
    if (!map || map->type != MFTC_JSON_OBJECT)
        return mftc_fail(f, MFT_ERR_CORRUPT, "weight_map",
                         map ? (int64_t)map->offset : -1,
                         "the index needs a \"weight_map\" object");
    const mftc_json *meta = mftc_json_get(root, "metadata");
    if (meta) {
        if (meta->type != MFTC_JSON_OBJECT)
            return mftc_fail(f, MFT_ERR_CORRUPT, "metadata",
                             (int64_t)meta->offset,
                             "\"metadata\" must be an object");
        mft_value *mv;
        mft_status st = json_to_value(f, meta, &mv);
        if (st != MFT_OK)
            return st;
        f->metadata = mv;
    }

    /* Shard list: the sorted set of weight_map values. */
    size_t nmap = map->u.kids.n;
    const char **files = malloc((nmap ? nmap : 1) * sizeof *files);
    if (!files)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    for (size_t i = 0; i < nmap; i++) {
        const mftc_json_member *m = &map->u.kids.m[i];
        if (m->value.type != MFTC_JSON_STRING) {
            free(files);
            return mftc_fail(f, MFT_ERR_CORRUPT, "weight_map",
                             (int64_t)m->value.offset,
                             "shard of \"%.200s\" must be a string", m->key);
        }
        if (!plain_file_name(m->value.u.str.p, m->value.u.str.n)) {
            free(files);
            return mftc_fail(f, MFT_ERR_CORRUPT, "weight_map",
                             (int64_t)m->value.offset,
                             "shard \"%.200s\" of \"%.200s\" must be a plain "
                             "file name beside the index",
                             m->value.u.str.p, m->key);
        }
        files[i] = m->value.u.str.p;
    }
    qsort(files, nmap, sizeof *files, cmp_str);
    size_t nshards = 0;
    for (size_t i = 0; i < nmap; i++)
        if (nshards == 0 || strcmp(files[nshards - 1], files[i]) != 0)
            files[nshards++] = files[i];
    if (nshards > mftc_limit(f, MFT_LIMIT_SHARDS)) {
        free(files);
        return mftc_fail(f, MFT_ERR_LIMIT, "weight_map", -1,
                         "%zu shards exceed the limit of %llu", nshards,
                         (unsigned long long)mftc_limit(f, MFT_LIMIT_SHARDS));
    }
    f->parts = calloc(nshards ? nshards : 1, sizeof *f->parts);
    if (!f->parts) {
        free(files);
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    }
    mft_status st = MFT_OK;
    for (size_t s = 0; s < nshards && st == MFT_OK; s++) {
        mft_file *part = NULL;
        st = open_shard(f, files[s], &part);
        f->parts[f->nparts++] = part;
        if (st != MFT_OK)
            break;
        const char *member = mftc_arena_strndup(&f->arena, files[s],
                                                strlen(files[s]));
        if (!member) {
            st = mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
            break;
        }
        for (size_t i = 0; i < part->ntensors && st == MFT_OK; i++) {
            mftc_tensor t = part->tensors[i];
            t.member = member;
            size_t idx;
            st = mftc_add_tensor(f, &t, &idx);
            if (st != MFT_OK)
                break;
            mft_value *k = mftc_value_string(&f->arena, t.name,
                                             strlen(t.name));
            mft_value *v = mftc_value_new(&f->arena, MFT_VALUE_TENSOR);
            if (!k || !v || !mftc_value_append(&f->arena, f->root, k, v))
                st = mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
            else
                v->u.tensor = idx;
        }
    }
    free(files);
    if (st != MFT_OK)
        return st;
    /* The shards' own __metadata__ (e.g. {"format": "pt"}, which transformers
     * requires) belongs to the set too: merge it after the index's keys, the
     * first shard winning where shards disagree. */
    for (size_t s = 0; s < f->nparts; s++) {
        const mft_value *pm = f->parts[s]->metadata;
        if (pm && !f->metadata &&
            !(f->metadata = mftc_value_new(&f->arena, MFT_VALUE_DICT)))
            return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        for (size_t i = 0; i < mft_value_len(pm); i++) {
            const char *k = mft_value_bytes(mft_value_key(pm, i), NULL);
            if (mft_value_lookup(f->metadata, k))
                continue;
            if (!mftc_value_append(&f->arena, f->metadata,
                                   (mft_value *)mft_value_key(pm, i),
                                   (mft_value *)mft_value_item(pm, i)))
                return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        }
    }

    size_t dup;
    st = mftc_index_names(f, &dup);
    if (st == MFT_ERR_CORRUPT) {
        const mftc_tensor *t = &f->tensors[dup];
        size_t first = 0;
        mft_tensor_find(f, t->name, &first);
        return mftc_fail(f, MFT_ERR_MISMATCH, t->member, -1,
                         "tensor \"%.200s\" is also in shard %s", t->name,
                         f->tensors[first].member);
    }
    if (st != MFT_OK)
        return st;
    /* Every shard tensor is mapped to its own shard … */
    for (size_t i = 0; i < f->ntensors; i++) {
        const mftc_tensor *t = &f->tensors[i];
        const mftc_json *where = mftc_json_get(map, t->name);
        if (!where)
            return mftc_fail(f, MFT_ERR_MISMATCH, t->member, -1,
                             "shard holds tensor \"%.200s\", which weight_map "
                             "does not list",
                             t->name);
        if (strcmp(where->u.str.p, t->member) != 0)
            return mftc_fail(f, MFT_ERR_MISMATCH, "weight_map",
                             (int64_t)where->offset,
                             "weight_map puts tensor \"%.200s\" in %s, but it "
                             "is in %s",
                             t->name, where->u.str.p, t->member);
    }
    /* … and every mapped tensor exists (the map has no duplicate keys, so
     * equal counts now mean equal sets). */
    if (nmap != f->ntensors) {
        for (size_t i = 0; i < nmap; i++) {
            const mftc_json_member *m = &map->u.kids.m[i];
            if (mft_tensor_find(f, m->key, NULL) != MFT_OK)
                return mftc_fail(f, MFT_ERR_MISMATCH, "weight_map",
                                 (int64_t)m->key_offset,
                                 "tensor \"%.200s\" is mapped to %s, which "
                                 "does not hold it",
                                 m->key, m->value.u.str.p);
        }
    }
    f->errmsg[0] = 0;
    return MFT_OK;
}
