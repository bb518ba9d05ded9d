/* safetensors writer, matching the reference (Rust) writer byte for byte:
 * tensors ordered by dtype rank descending then name (mft_dtype_alignment
 * gives the rank), compact JSON with fields in the order dtype, shape,
 * data_offsets, "__metadata__" first, the header padded with spaces to a
 * multiple of 8, no padding between tensors.
 * Sharding follows huggingface_hub's split_state_dict_into_shards_factory:
 * greedy in declaration order; a tensor bigger than the limit gets a shard of
 * its own, appended at once; otherwise a new shard starts when the current
 * one would exceed the limit. Files are named model-0000K-of-0000N.safetensors
 * with model.safetensors.index.json written as transformers writes it
 * (json.dumps(indent=2, sort_keys=True) + "\n"). All outputs are written to
 * temporaries first and renamed only when every one is complete. */
#include "../core/checked.h"
#include "../core/writer.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->n < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        char *g = realloc(b->p, cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        b->p = g;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(sbuf *b, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    sb_put(b, t, (size_t)n);
}

/* serde_json string escaping */
static void sb_json_n(sbuf *b, const char *s, size_t n);
static void sb_json(sbuf *b, const char *s)
{
    sb_json_n(b, s, strlen(s));
}

static void sb_json_n(sbuf *b, const char *s, size_t n)
{
    size_t need = mftc_json_escape(s, n, NULL, 0);
    if (b->oom)
        return;
    char *tmp = malloc(need);
    if (!tmp) {
        b->oom = 1;
        return;
    }
    mftc_json_escape(s, n, tmp, need);
    sb_put(b, tmp, need);
    free(tmp);
}

/* Python json.dumps escaping with ensure_ascii=True */
static void sb_pyjson(sbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sb_put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        char e[16];
        if (c == '"' || c == '\\') {
            e[0] = '\\';
            e[1] = (char)c;
            sb_put(b, e, 2);
            p++;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
                   c == '\f') {
            e[0] = '\\';
            e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't'
                 : c == '\b' ? 'b' : 'f';
            sb_put(b, e, 2);
            p++;
        } else if (c < 0x20 || c >= 0x80) {
            uint32_t cp = c;
            int extra = 0;
            if (c >= 0xF0) { cp = c & 0x07; extra = 3; }
            else if (c >= 0xE0) { cp = c & 0x0F; extra = 2; }
            else if (c >= 0xC0) { cp = c & 0x1F; extra = 1; }
            p++;
            for (int i = 0; i < extra && (*p & 0xC0) == 0x80; i++, p++)
                cp = (cp << 6) | (*p & 0x3F);
            uint32_t units[2];
            int nu = 0;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                units[nu++] = 0xD800 + (cp >> 10);
                units[nu++] = 0xDC00 + (cp & 0x3FF);
            } else {
                units[nu++] = cp;
            }
            for (int i = 0; i < nu; i++) {
                e[0] = '\\';
                e[1] = 'u';
                e[2] = hex[(units[i] >> 12) & 15];
                e[3] = hex[(units[i] >> 8) & 15];
                e[4] = hex[(units[i] >> 4) & 15];
                e[5] = hex[units[i] & 15];
                sb_put(b, e, 6);
            }
        } else {
            sb_put(b, (const char *)p, 1);
            p++;
        }
    }
    sb_put(b, "\"", 1);
}

static int safetensors_dtype(mft_dtype d)
{
    switch (d) {
    case MFT_STRING: case MFT_C32: case MFT_C128:
    case MFT_I4: case MFT_U4: case MFT_I2: case MFT_U2:
    case MFT_QI8: case MFT_QU8: case MFT_QI32:
    case MFT_DTYPE_INVALID:
        return 0;
    default: /* not the ggml block types either */
        return (unsigned)d < MFT_DTYPE_COUNT_ && mft_dtype_bits(d) != 0;
    }
}

/* qsort has no context argument in C11; sort with an explicit merge sort
 * instead of a global so concurrent writers stay independent. */
static void sort_indices(const mftc_wtensor *t, size_t *idx, size_t *tmp,
                         size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_indices(t, idx, tmp, h);
    sort_indices(t, idx + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        const mftc_wtensor *x = &t[idx[i]], *y = &t[idx[j]];
        unsigned rx = mft_dtype_alignment(x->dtype);
        unsigned ry = mft_dtype_alignment(y->dtype);
        int take_left = rx != ry ? rx > ry : strcmp(x->name, y->name) <= 0;
        tmp[k++] = take_left ? idx[i++] : idx[j++];
    }
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

typedef struct shard {
    size_t *members; /* indices into w->tensors, declaration order */
    size_t n;
    char *path;
    const char *file; /* base name, inside path */
    mftc_outfile out;
    int open;
} shard;

static mft_status build_header(mft_writer *w, const size_t *order, size_t n,
                               sbuf *h)
{
    sb_put(h, "{", 1);
    int first = 1;
    if (w->nmeta || w->meta_section) {
        sb_str(h, "\"__metadata__\":{");
        for (size_t i = 0; i < w->nmeta; i++) {
            if (i)
                sb_put(h, ",", 1);
            sb_json(h, w->meta_keys[i]);
            sb_put(h, ":", 1);
            sb_json_n(h, w->meta_values[i], w->meta_lens[i]);
        }
        sb_put(h, "}", 1);
        first = 0;
    }
    uint64_t off = 0;
    for (size_t k = 0; k < n; k++) {
        const mftc_wtensor *t = &w->tensors[order[k]];
        if (!first)
            sb_put(h, ",", 1);
        first = 0;
        sb_json(h, t->name);
        sb_str(h, ":{\"dtype\":\"");
        sb_str(h, mft_dtype_name(t->dtype));
        sb_str(h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d)
                sb_put(h, ",", 1);
            sb_u64(h, t->shape[d]);
        }
        sb_str(h, "],\"data_offsets\":[");
        sb_u64(h, off);
        sb_put(h, ",", 1);
        if (!mftc_add_u64(off, t->nbytes, &off))
            return mftc_writer_fail(w, MFT_ERR_LIMIT, "%s: data size overflows",
                                    w->path);
        sb_u64(h, off);
        sb_str(h, "]}");
    }
    sb_put(h, "}", 1);
    while (!h->oom && h->n % 8)
        sb_put(h, " ", 1);
    if (h->oom)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    if (h->n > MFT_DEFAULT_HEADER_BYTES)
        return mftc_writer_fail(w, MFT_ERR_LIMIT,
                                "%s: header of %zu bytes exceeds the "
                                "safetensors limit of %llu",
                                w->path, h->n,
                                (unsigned long long)MFT_DEFAULT_HEADER_BYTES);
    return MFT_OK;
}

static mft_status write_shard(mft_writer *w, shard *s)
{
    size_t *order = malloc((s->n ? s->n : 1) * sizeof *order);
    size_t *tmp = malloc((s->n ? s->n : 1) * sizeof *tmp);
    sbuf h = {0};
    mft_status st = MFT_OK;
    if (!order || !tmp)
        st = mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    if (st == MFT_OK) {
        memcpy(order, s->members, s->n * sizeof *order);
        sort_indices(w->tensors, order, tmp, s->n);
        st = build_header(w, order, s->n, &h);
    }
    if (st == MFT_OK) {
        st = mftc_outfile_open(&s->out, s->path, w->opts.overwrite, w->errmsg);
        if (st == MFT_OK)
            s->open = 1;
    }
    if (st == MFT_OK) {
        unsigned char len8[8];
        for (int i = 0; i < 8; i++)
            len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
        st = mftc_outfile_write(&s->out, len8, 8, w->errmsg);
        if (st == MFT_OK)
            st = mftc_outfile_write(&s->out, h.p, h.n, w->errmsg);
    }
    for (size_t k = 0; k < s->n && st == MFT_OK; k++)
        st = mftc_writer_emit(w, &w->tensors[order[k]], &s->out);
    if (st == MFT_OK)
        st = mftc_outfile_finish(&s->out, w->opts.overwrite, w->errmsg);
    free(order);
    free(tmp);
    free(h.p);
    if (st != MFT_OK)
        w->failed = 1;
    return st;
}

static char *shard_name(const char *path, size_t k, size_t n)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - path) : strlen(path);
    const char *ext = dot && dot != base ? dot : "";
    size_t len = stem + strlen(ext) + 64;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%.*s-%05zu-of-%05zu%s", (int)stem, path, k, n, ext);
    return s;
}

static int cmp_name_ptr(const void *a, const void *b)
{
    const mftc_wtensor *x = *(const mftc_wtensor *const *)a;
    const mftc_wtensor *y = *(const mftc_wtensor *const *)b;
    return strcmp(x->name, y->name);
}

mft_status mftc_write_safetensors(mft_writer *w)
{
    size_t n = w->ntensors;
    /* Names unique, dtypes representable. */
    const mftc_wtensor **by_name = malloc((n ? n : 1) * sizeof *by_name);
    if (!by_name)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        by_name[i] = &w->tensors[i];
    qsort(by_name, n, sizeof *by_name, cmp_name_ptr);
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(by_name[i]->name, by_name[i - 1]->name) == 0) {
            mft_status st = mftc_writer_fail(
                w, MFT_ERR_MISUSE, "%s: duplicate tensor name \"%s\"", w->path,
                by_name[i]->name);
            free(by_name);
            return st;
        }
        if (!safetensors_dtype(by_name[i]->dtype)) {
            mft_status st = mftc_writer_fail(
                w, MFT_ERR_DTYPE,
                "%s: tensor \"%s\": safetensors cannot hold dtype %s", w->path,
                by_name[i]->name, mft_dtype_name(by_name[i]->dtype));
            free(by_name);
            return st;
        }
        if (strcmp(by_name[i]->name, "__metadata__") == 0) {
            free(by_name);
            return mftc_writer_fail(w, MFT_ERR_MISUSE,
                                    "%s: a tensor cannot be named __metadata__",
                                    w->path);
        }
    }
    free(by_name);

    /* Plan shards. */
    uint64_t limit = w->opts.max_shard_bytes;
    shard *shards = calloc(n + 1, sizeof *shards);
    size_t *members = malloc((n ? n : 1) * sizeof *members);
    if (!shards || !members) {
        free(shards);
        free(members);
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    }
    size_t nsh = 0;
    uint64_t total = 0;
    if (!limit) {
        shards[0].members = members;
        for (size_t i = 0; i < n; i++)
            members[i] = i;
        shards[0].n = n;
        nsh = 1;
        for (size_t i = 0; i < n; i++)
            total += w->tensors[i].nbytes;
    } else {
        /* Greedy as huggingface_hub: a tensor over the limit becomes a
         * shard at once; the open shard is appended (and so numbered) only
         * when the next tensor would overflow it, or at the end. */
        size_t *slot_of = malloc((n ? n : 1) * sizeof *slot_of);
        size_t *pending = malloc((n ? n : 1) * sizeof *pending);
        size_t *count = calloc(n + 1, sizeof *count);
        if (!slot_of || !pending || !count) {
            free(slot_of);
            free(pending);
            free(count);
            free(shards);
            free(members);
            return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
        }
        size_t npending = 0, next_slot = 0;
        uint64_t cur_size = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t sz = w->tensors[i].nbytes;
            total += sz;
            if (sz > limit) {
                slot_of[i] = next_slot++;
                continue;
            }
            if (cur_size + sz > limit) {
                for (size_t k = 0; k < npending; k++)
                    slot_of[pending[k]] = next_slot;
                next_slot++;
                npending = 0;
                cur_size = 0;
            }
            pending[npending++] = i;
            cur_size += sz;
        }
        if (npending) {
            for (size_t k = 0; k < npending; k++)
                slot_of[pending[k]] = next_slot;
            next_slot++;
        }
        for (size_t i = 0; i < n; i++)
            count[slot_of[i]]++;
        nsh = next_slot;
        size_t at = 0;
        for (size_t s = 0; s < nsh; s++) {
            shards[s].members = members + at;
            at += count[s];
        }
        for (size_t i = 0; i < n; i++) {
            shard *s = &shards[slot_of[i]];
            s->members[s->n++] = i;
        }
        free(slot_of);
        free(pending);
        free(count);
        if (nsh == 0) { /* no tensors: one empty file */
            shards[0].members = members;
            nsh = 1;
        }
    }

    mft_status st = MFT_OK;
    for (size_t s = 0; s < nsh && st == MFT_OK; s++) {
        shards[s].path = nsh == 1 ? strdup(w->path)
                                  : shard_name(w->path, s + 1, nsh);
        if (!shards[s].path)
            st = mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
        else {
            const char *slash = strrchr(shards[s].path, '/');
            shards[s].file = slash ? slash + 1 : shards[s].path;
        }
    }
    for (size_t s = 0; s < nsh && st == MFT_OK; s++)
        st = write_shard(w, &shards[s]);

    /* The index, for more than one shard. */
    mftc_outfile index_out;
    int index_open = 0;
    char *index_path = NULL;
    if (st == MFT_OK && nsh > 1) {
        size_t pl = strlen(w->path);
        index_path = malloc(pl + 16);
        const mftc_wtensor **sorted = malloc(n * sizeof *sorted);
        size_t *shard_of = malloc(n * sizeof *shard_of);
        sbuf j = {0};
        if (!index_path || !sorted || !shard_of)
            st = mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
        if (st == MFT_OK) {
            snprintf(index_path, pl + 16, "%s.index.json", w->path);
            for (size_t s = 0; s < nsh; s++)
                for (size_t k = 0; k < shards[s].n; k++)
                    shard_of[shards[s].members[k]] = s;
            for (size_t i = 0; i < n; i++)
                sorted[i] = &w->tensors[i];
            qsort(sorted, n, sizeof *sorted, cmp_name_ptr);
            sb_str(&j, "{\n  \"metadata\": {\n    \"total_size\": ");
            sb_u64(&j, total);
            sb_str(&j, "\n  },\n  \"weight_map\": {");
            for (size_t i = 0; i < n; i++) {
                size_t ti = (size_t)(sorted[i] - w->tensors);
                sb_str(&j, i ? ",\n    " : "\n    ");
                sb_pyjson(&j, sorted[i]->name);
                sb_str(&j, ": ");
                sb_pyjson(&j, shards[shard_of[ti]].file);
            }
            sb_str(&j, n ? "\n  }\n}\n" : "}\n}\n");
            if (j.oom)
                st = mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
        }
        if (st == MFT_OK) {
            st = mftc_outfile_open(&index_out, index_path, w->opts.overwrite,
                                   w->errmsg);
            index_open = st == MFT_OK;
        }
        if (st == MFT_OK)
            st = mftc_outfile_write(&index_out, j.p, j.n, w->errmsg);
        if (st == MFT_OK)
            st = mftc_outfile_finish(&index_out, w->opts.overwrite, w->errmsg);
        free(sorted);
        free(shard_of);
        free(j.p);
    }

    /* Publish: shards first, the index (what readers open) last. */
    for (size_t s = 0; s < nsh && st == MFT_OK; s++) {
        st = mftc_outfile_publish(&shards[s].out, w->errmsg);
        if (st == MFT_OK) {
            shards[s].open = 0;
            st = mftc_writer_add_output(w, shards[s].path);
        }
    }
    if (st == MFT_OK && index_open) {
        st = mftc_outfile_publish(&index_out, w->errmsg);
        if (st == MFT_OK) {
            index_open = 0;
            st = mftc_writer_add_output(w, index_path);
        }
    }
    if (index_open)
        mftc_outfile_abandon(&index_out);
    for (size_t s = 0; s < nsh; s++) {
        if (shards[s].open)
            mftc_outfile_abandon(&shards[s].out);
        free(shards[s].path);
    }
    free(index_path);
    free(shards);
    free(members);
    return st;
}
