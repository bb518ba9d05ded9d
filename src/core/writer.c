/* The public writer: collects tensor declarations and metadata, then hands
 * them to the format's writer at commit. Tensor bytes are never gathered in
 * memory: they are streamed from their pointer, source mapping or callback
 * straight into the output file. */
#include "writer.h"
#include "checked.h"
#include "dtype.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mft_status mftc_writer_fail(mft_writer *w, mft_status code, const char *fmt,
                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->errmsg, sizeof w->errmsg, fmt, ap);
    va_end(ap);
    w->failed = 1;
    return code;
}

mft_status mft_writer_open(const char *path, mft_format format,
                           const mft_writer_options *opts, mft_writer **out)
{
    if (!out)
        return MFT_ERR_MISUSE;
    mft_writer *w = calloc(1, sizeof *w);
    *out = w;
    if (!w)
        return MFT_ERR_NOMEM;
    if (opts)
        w->opts = *opts;
    w->format = format;
    if (!path)
        return mftc_writer_fail(w, MFT_ERR_MISUSE, "no output path");
    w->path = strdup(path);
    if (!w->path)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    if (format != MFT_FORMAT_SAFETENSORS && format != MFT_FORMAT_GGUF &&
        format != MFT_FORMAT_NPY && format != MFT_FORMAT_NPZ &&
        format != MFT_FORMAT_PYTORCH_ZIP)
        return mftc_writer_fail(w, MFT_ERR_UNSUPPORTED,
                                "%s: writing %s is not supported yet", path,
                                mft_format_name(format));
    if (format == MFT_FORMAT_GGUF && w->opts.max_shard_bytes)
        return mftc_writer_fail(w, MFT_ERR_UNSUPPORTED,
                                "%s: splitting GGUF files into shards is not "
                                "supported",
                                path);
    if ((format == MFT_FORMAT_NPY || format == MFT_FORMAT_NPZ ||
         format == MFT_FORMAT_PYTORCH_ZIP) &&
        w->opts.max_shard_bytes)
        return mftc_writer_fail(w, MFT_ERR_UNSUPPORTED,
                                "%s: splitting %s files into shards is not "
                                "supported",
                                path, mft_format_name(format));
    return MFT_OK;
}

const char *mft_writer_errmsg(const mft_writer *w) { return w ? w->errmsg : ""; }

mft_status mft_writer_set_metadata(mft_writer *w, const char *key,
                                   const char *value)
{
    return mft_writer_set_metadata_n(w, key, value, value ? strlen(value) : 0);
}

static char *memdup0(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = 0;
    }
    return d;
}

mft_status mft_writer_set_metadata_n(mft_writer *w, const char *key,
                                     const char *value, size_t len)
{
    if (w && !key && !value) {
        w->meta_section = 1;
        return MFT_OK;
    }
    if (!w || !key || !value)
        return MFT_ERR_MISUSE;
    if (w->format == MFT_FORMAT_GGUF)
        return mftc_writer_set_string(w, key, value);
    for (size_t i = 0; i < w->nmeta; i++)
        if (strcmp(w->meta_keys[i], key) == 0) {
            char *v = memdup0(value, len);
            if (!v)
                return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
            free(w->meta_values[i]);
            w->meta_values[i] = v;
            w->meta_lens[i] = len;
            return MFT_OK;
        }
    if (w->nmeta == w->meta_cap) {
        size_t cap = w->meta_cap ? w->meta_cap * 2 : 8;
        char **k = realloc(w->meta_keys, cap * sizeof *k);
        if (k)
            w->meta_keys = k;
        char **v = realloc(w->meta_values, cap * sizeof *v);
        if (v)
            w->meta_values = v;
        size_t *l = realloc(w->meta_lens, cap * sizeof *l);
        if (l)
            w->meta_lens = l;
        if (!k || !v || !l)
            return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
        w->meta_cap = cap;
    }
    char *k = strdup(key), *v = memdup0(value, len);
    if (!k || !v) {
        free(k);
        free(v);
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    }
    w->meta_keys[w->nmeta] = k;
    w->meta_lens[w->nmeta] = len;
    w->meta_values[w->nmeta++] = v;
    return MFT_OK;
}

static mft_status add(mft_writer *w, const char *name, mft_dtype dtype,
                      int ndim, const uint64_t *shape, mftc_wtensor **out)
{
    if (!w || !name || ndim < 0 || (ndim && !shape))
        return MFT_ERR_MISUSE;
    if (w->committed)
        return mftc_writer_fail(w, MFT_ERR_MISUSE, "writer already committed");
    if (ndim > MFT_MAX_DIMS)
        return mftc_writer_fail(w, MFT_ERR_LIMIT,
                                "tensor \"%s\": %d dimensions (at most %d)",
                                name, ndim, MFT_MAX_DIMS);
    if (mft_dtype_block(dtype, NULL, NULL) < 0)
        return mftc_writer_fail(w, MFT_ERR_DTYPE,
                                "tensor \"%s\": dtype %s cannot be written",
                                name, mft_dtype_name(dtype));
    if (w->ntensors == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        mftc_wtensor *g = realloc(w->tensors, cap * sizeof *g);
        if (!g)
            return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
        w->tensors = g;
        w->cap = cap;
    }
    mftc_wtensor *t = &w->tensors[w->ntensors];
    memset(t, 0, sizeof *t);
    uint64_t numel;
    const char *why;
    if (!mftc_tensor_size(dtype, shape, ndim, &numel, &t->nbytes, &why))
        return mftc_writer_fail(w, MFT_ERR_MISUSE, "tensor \"%s\" (%s) %s",
                                name, mft_dtype_name(dtype), why);
    t->name = strdup(name);
    if (!t->name)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim)
        memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    w->ntensors++;
    *out = t;
    return MFT_OK;
}

mft_status mft_writer_add_tensor(mft_writer *w, const char *name,
                                 mft_dtype dtype, int ndim,
                                 const uint64_t *shape, const void *data,
                                 uint64_t nbytes)
{
    mftc_wtensor *t;
    mft_status st = add(w, name, dtype, ndim, shape, &t);
    if (st != MFT_OK)
        return st;
    if (nbytes != t->nbytes || (!data && nbytes)) {
        free(t->name);
        w->ntensors--;
        return mftc_writer_fail(w, MFT_ERR_MISUSE,
                                "tensor \"%s\": %llu bytes given, shape needs "
                                "%llu",
                                name, (unsigned long long)nbytes,
                                (unsigned long long)t->nbytes);
    }
    t->data = data;
    return MFT_OK;
}

mft_status mft_writer_add_tensor_cb(mft_writer *w, const char *name,
                                    mft_dtype dtype, int ndim,
                                    const uint64_t *shape, mft_fill_fn fill,
                                    void *user)
{
    if (!fill)
        return MFT_ERR_MISUSE;
    mftc_wtensor *t;
    mft_status st = add(w, name, dtype, ndim, shape, &t);
    if (st == MFT_OK) {
        t->fill = fill;
        t->fill_user = user;
    }
    return st;
}

mft_status mft_writer_add_from(mft_writer *w, const char *name, mft_file *src,
                               size_t index)
{
    mft_tensor info;
    if (!w || !src)
        return MFT_ERR_MISUSE;
    if (mft_tensor_at(src, index, &info) != MFT_OK)
        return mftc_writer_fail(w, MFT_ERR_NOT_FOUND, "%s",
                                mft_file_errmsg(src));
    mftc_wtensor *t;
    mft_status st = add(w, name ? name : info.name, info.dtype, info.ndim,
                        info.shape, &t);
    if (st == MFT_OK) {
        t->src = src;
        t->src_index = index;
    }
    return st;
}

mft_status mft_writer_add_cast(mft_writer *w, const char *name,
                               mft_dtype dtype, mft_file *src, size_t index)
{
    mft_tensor info;
    if (!w || !src)
        return MFT_ERR_MISUSE;
    if (mft_tensor_at(src, index, &info) != MFT_OK)
        return mftc_writer_fail(w, MFT_ERR_NOT_FOUND, "%s",
                                mft_file_errmsg(src));
    if (!name)
        name = info.name;
    /* a zero-count decode succeeds exactly for the dtypes it supports */
    if (mft_dtype_to_f64(info.dtype, NULL, NULL, 0) != MFT_OK ||
        mft_dtype_from_f64(dtype, NULL, NULL, 0) != MFT_OK)
        return mftc_writer_fail(w, MFT_ERR_DTYPE,
                                "tensor \"%s\": cannot cast %s to %s", name,
                                mft_dtype_name(info.dtype),
                                mft_dtype_name(dtype));
    mftc_wtensor *t = NULL;
    mft_status st = add(w, name, dtype, info.ndim, info.shape, &t);
    if (st == MFT_OK) {
        t->src = src;
        t->src_index = index;
        t->cast = dtype != info.dtype;
        t->src_dtype = info.dtype;
    }
    return st;
}

struct emit_ctx {
    mft_writer *w;
    mftc_outfile *o;
    mft_status st;
};

static int emit_sink(void *user, const void *bytes, size_t len)
{
    struct emit_ctx *c = user;
    c->st = mftc_outfile_write(c->o, bytes, len, c->w->errmsg);
    return c->st != MFT_OK;
}

mft_status mftc_writer_emit(mft_writer *w, const mftc_wtensor *t,
                            mftc_outfile *o)
{
    if (t->cast)
        return mftc_writer_emit_cast(w, t, o);
    if (t->src) {
        struct emit_ctx c = {w, o, MFT_OK};
        mft_status st = mft_tensor_stream(t->src, t->src_index, emit_sink, &c);
        if (c.st != MFT_OK)
            return c.st;
        if (st != MFT_OK)
            return mftc_writer_fail(w, st, "%s", mft_file_errmsg(t->src));
        /* written once: drop the mapped pages of the source (they stay in
         * the page cache), so resident memory stays flat however many
         * tensors of any size stream through */
        const mftc_tensor *s = &t->src->tensors[t->src_index];
        if (s->data && s->src)
            mftc_source_done(s->src, s->data, s->nbytes);
        return MFT_OK;
    }
    if (t->data) {
        uint64_t done = 0;
        while (done < t->nbytes) {
            uint64_t n = t->nbytes - done;
            if (n > MFT_STREAM_CHUNK)
                n = MFT_STREAM_CHUNK;
            mft_status st = mftc_outfile_write(o, t->data + done, (size_t)n,
                                               w->errmsg);
            if (st != MFT_OK)
                return st;
            done += n;
        }
        return MFT_OK;
    }
    if (t->nbytes == 0)
        return MFT_OK;
    size_t chunk = t->nbytes < MFT_STREAM_CHUNK ? (size_t)t->nbytes
                                                : MFT_STREAM_CHUNK;
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    mft_status st = MFT_OK;
    for (uint64_t done = 0; done < t->nbytes && st == MFT_OK;) {
        uint64_t n = t->nbytes - done;
        if (n > chunk)
            n = chunk;
        if (t->fill(t->fill_user, done, buf, (size_t)n) != 0)
            st = mftc_writer_fail(w, MFT_ERR_MISUSE,
                                  "tensor \"%s\": the fill callback failed at "
                                  "byte %llu",
                                  t->name, (unsigned long long)done);
        else
            st = mftc_outfile_write(o, buf, (size_t)n, w->errmsg);
        done += n;
    }
    free(buf);
    return st;
}

mft_status mftc_writer_add_output(mft_writer *w, const char *path)
{
    char **g = realloc(w->outputs, (w->noutputs + 1) * sizeof *g);
    if (!g)
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    w->outputs = g;
    if (!(g[w->noutputs] = strdup(path)))
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    w->noutputs++;
    return MFT_OK;
}

mft_status mft_writer_commit(mft_writer *w)
{
    if (!w)
        return MFT_ERR_MISUSE;
    if (w->committed)
        return mftc_writer_fail(w, MFT_ERR_MISUSE, "writer already committed");
    if (w->failed) /* keep the message of the failure that came first */
        return MFT_ERR_MISUSE;
    mft_status st;
    switch (w->format) {
    case MFT_FORMAT_SAFETENSORS:
        st = mftc_write_safetensors(w);
        break;
    case MFT_FORMAT_GGUF:
        st = mftc_write_gguf(w);
        break;
    case MFT_FORMAT_NPY:
        st = mftc_write_npy(w);
        break;
    case MFT_FORMAT_NPZ:
        st = mftc_write_npz(w);
        break;
    case MFT_FORMAT_PYTORCH_ZIP:
        st = mftc_write_pytorch(w);
        break;
    default:
        st = mftc_writer_fail(w, MFT_ERR_UNSUPPORTED, "unsupported format");
    }
    if (st == MFT_OK)
        w->committed = 1;
    else
        w->failed = 1;
    return st;
}

size_t mft_writer_output_count(const mft_writer *w)
{
    return w ? w->noutputs : 0;
}

const char *mft_writer_output_path(const mft_writer *w, size_t i)
{
    return w && i < w->noutputs ? w->outputs[i] : NULL;
}

void mft_writer_free(mft_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->ntensors; i++)
        free(w->tensors[i].name);
    free(w->tensors);
    for (size_t i = 0; i < w->nmeta; i++) {
        free(w->meta_keys[i]);
        free(w->meta_values[i]);
    }
    free(w->meta_keys);
    free(w->meta_values);
    free(w->meta_lens);
    mftc_writer_free_values(w);
    mftc_torch_free(w);
    for (size_t i = 0; i < w->noutputs; i++)
        free(w->outputs[i]);
    free(w->outputs);
    free(w->path);
    free(w);
}
