/* Casting while streaming (mft_writer_add_cast): the source tensor's bytes
 * arrive in chunks from mft_tensor_stream (zero-copy from the mapping when
 * they are stored contiguously), are converted CAST_ELEMS elements at a time
 * with mftc_convert, and go straight to the output. Memory stays at two
 * fixed buffers whatever the tensor's size. Chunks need not end on element
 * boundaries: a partial group is carried over to the next chunk. */
#include "dtype.h"
#include "writer.h"
#include <stdlib.h>
#include <string.h>

/* Elements converted per step: a multiple of 8, so every sub-byte packing
 * starts a step on a byte boundary. */
#define CAST_ELEMS (1u << 18)

typedef struct cast_ctx {
    mft_writer *w;
    mft_bytes_sink out_sink; /* where converted bytes go */
    void *out_user;
    mft_dtype from, to;
    unsigned sbits, dbits;
    uint64_t left;       /* elements still to convert */
    uint8_t *carry;      /* partial step of source bytes */
    size_t ncarry, step; /* bytes held; bytes of one full step */
    uint8_t *out;
    mft_status st;
} cast_ctx;

struct outfile_sink {
    mft_writer *w;
    mftc_outfile *o;
    mft_status st;
};

static int to_outfile(void *user, const void *bytes, size_t len)
{
    struct outfile_sink *s = user;
    s->st = mftc_outfile_write(s->o, bytes, len, s->w->errmsg);
    return s->st != MFT_OK;
}

/* Convert `n` elements at `src` and write them. */
static int convert_out(cast_ctx *c, const uint8_t *src, uint64_t n)
{
    mftc_convert(c->to, c->out, c->from, src, (size_t)n);
    uint64_t bytes = (n * c->dbits + 7) / 8;
    c->left -= n;
    if (c->out_sink(c->out_user, c->out, (size_t)bytes) != 0) {
        c->st = MFT_ERR_IO; /* the sink's own status is the caller's */
        return 1;
    }
    return 0;
}

static int cast_sink(void *user, const void *bytes, size_t len)
{
    cast_ctx *c = user;
    const uint8_t *p = bytes;
    while (len) {
        if (c->ncarry || len < c->step) {
            size_t take = c->step - c->ncarry;
            if (take > len)
                take = len;
            memcpy(c->carry + c->ncarry, p, take);
            c->ncarry += take;
            p += take;
            len -= take;
            if (c->ncarry == c->step) {
                uint64_t n = c->left < CAST_ELEMS ? c->left : CAST_ELEMS;
                if (convert_out(c, c->carry, n))
                    return 1;
                c->ncarry = 0;
            }
            continue;
        }
        /* whole steps straight from the caller's bytes */
        uint64_t n = c->left < CAST_ELEMS ? c->left : CAST_ELEMS;
        if (convert_out(c, p, n))
            return 1;
        p += c->step;
        len -= c->step;
    }
    return 0;
}

mft_status mftc_writer_cast_stream(mft_writer *w, const mftc_wtensor *t,
                                   mft_bytes_sink sink, void *user)
{
    mft_tensor info;
    if (mft_tensor_at(t->src, t->src_index, &info) != MFT_OK)
        return mftc_writer_fail(w, MFT_ERR_NOT_FOUND, "%s",
                                mft_file_errmsg(t->src));
    cast_ctx c;
    memset(&c, 0, sizeof c);
    c.w = w;
    c.out_sink = sink;
    c.out_user = user;
    c.from = t->src_dtype;
    c.to = t->dtype;
    c.sbits = mft_dtype_bits(c.from);
    c.dbits = mft_dtype_bits(c.to);
    c.left = info.numel;
    c.step = (size_t)CAST_ELEMS * c.sbits / 8;
    c.carry = malloc(c.step);
    c.out = malloc((size_t)CAST_ELEMS * c.dbits / 8);
    if (!c.carry || !c.out) {
        free(c.carry);
        free(c.out);
        return mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
    }
    mft_status st = mft_tensor_stream(t->src, t->src_index, cast_sink, &c);
    if (c.st != MFT_OK)
        st = c.st;
    else if (st != MFT_OK)
        st = mftc_writer_fail(w, st, "%s", mft_file_errmsg(t->src));
    else if (c.ncarry) { /* the last, partial step */
        uint64_t n = c.left;
        if ((n * c.sbits + 7) / 8 != c.ncarry)
            st = mftc_writer_fail(w, MFT_ERR_CORRUPT,
                                  "tensor \"%s\": the source gave %zu "
                                  "trailing bytes for %llu elements",
                                  t->name, c.ncarry, (unsigned long long)n);
        else if (convert_out(&c, c.carry, n))
            st = c.st;
    }
    if (st == MFT_OK && c.left)
        st = mftc_writer_fail(w, MFT_ERR_CORRUPT,
                              "tensor \"%s\": the source ended %llu elements "
                              "early",
                              t->name, (unsigned long long)c.left);
    free(c.carry);
    free(c.out);
    return st;
}

mft_status mftc_writer_emit_cast(mft_writer *w, const mftc_wtensor *t,
                                 mftc_outfile *o)
{
    struct outfile_sink s = {w, o, MFT_OK};
    mft_status st = mftc_writer_cast_stream(w, t, to_outfile, &s);
    return s.st != MFT_OK ? s.st : st;
}
