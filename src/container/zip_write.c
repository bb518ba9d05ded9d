/* Streaming zip writer: see zip_write.h. */
#include "zip_write.h"
#include "zip.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ESC32 0xFFFFFFFFu
#define DOS_DATE_1980 0x0021u /* 1980-01-01 */
#define UNIX_MODE_0644 (0100644u << 16)

static mft_status zfail(mftc_zipw *z, mft_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static mft_status zfail(mftc_zipw *z, mft_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->err, MFTC_ERRMSG_SIZE, fmt, ap);
    va_end(ap);
    z->failed = code;
    return code;
}

/* Little-endian field writers over a byte buffer. */
typedef struct obuf {
    uint8_t *p;
    size_t n;
} obuf;

static void put16(obuf *b, uint64_t v)
{
    b->p[b->n++] = (uint8_t)v;
    b->p[b->n++] = (uint8_t)(v >> 8);
}

static void put32(obuf *b, uint64_t v)
{
    put16(b, v & 0xFFFF);
    put16(b, (v >> 16) & 0xFFFF);
}

static void put64(obuf *b, uint64_t v)
{
    put32(b, v & ESC32);
    put32(b, v >> 32);
}

static void putbytes(obuf *b, const void *p, size_t n)
{
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

void mftc_zipw_init(mftc_zipw *z, mftc_outfile *out, char *err,
                    const mftc_zipw_options *opt)
{
    memset(z, 0, sizeof *z);
    z->out = out;
    z->err = err;
    if (opt)
        z->opt = *opt;
}

static mft_status emit(mftc_zipw *z, const void *p, size_t n)
{
    mft_status st = mftc_outfile_write(z->out, p, n, z->err);
    if (st != MFT_OK)
        z->failed = st;
    return st;
}

static int non_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 1;
    return 0;
}

static void crc_tap(void *user, const void *buf, size_t len)
{
    mftc_zipw *z = user;
    z->crc = mftc_crc32(z->crc, buf, len);
}

mft_status mftc_zipw_begin(mftc_zipw *z, const char *name, uint64_t size,
                           unsigned align)
{
    if (z->failed)
        return z->failed;
    if (z->in_member)
        return zfail(z, MFT_ERR_MISUSE, "zip member \"%s\" is still open",
                     z->members[z->count - 1].name);
    size_t nlen = name ? strlen(name) : 0;
    if (nlen == 0 || nlen > 0xFFFF)
        return zfail(z, MFT_ERR_MISUSE,
                     "zip member names must have 1 to 65535 bytes (got %zu)",
                     nlen);
    if (align > 32768 || (align & (align - 1)))
        return zfail(z, MFT_ERR_MISUSE,
                     "zip alignment %u is not a power of two up to 32768",
                     align);
    if (z->count == z->cap) {
        size_t cap = z->cap ? z->cap * 2 : 16;
        mftc_zipw_member *g = realloc(z->members, cap * sizeof *g);
        if (!g)
            return zfail(z, MFT_ERR_NOMEM, "out of memory");
        z->members = g;
        z->cap = cap;
    }
    mftc_zipw_member *m = &z->members[z->count];
    memset(m, 0, sizeof *m);
    m->name = strdup(name);
    if (!m->name)
        return zfail(z, MFT_ERR_NOMEM, "out of memory");
    z->count++;
    m->name_len = (uint16_t)nlen;
    m->size = size;
    m->lho = z->out->written;
    int torch = z->opt.torch_fields;
    int big = size >= ESC32, far = m->lho >= ESC32;
    size_t z64 = 0; /* zip64 extra body bytes */
    if (torch) {
        z64 = (big ? 16 : 0) + (far ? 8 : 0);
    } else if (big || z->opt.force_zip64) {
        z64 = 16;
    }
    m->local_zip64 = z64 > 0;
    size_t xlen = z64 ? 4 + z64 : 0;
    if (align > 1) {
        uint64_t start = m->lho + 30 + nlen + xlen + 4;
        xlen += 4 + (size_t)((align - start % align) % align);
    }
    /* miniz sets bit 3 only on members it writes a descriptor after: an
     * empty member under torch_fields has neither (unzip -t reads a set
     * bit 3 as a promise of a descriptor and calls the archive overlapped) */
    int descriptor = z->opt.data_descriptor && !(torch && size == 0);
    m->flags = (uint16_t)((descriptor ? MFTC_ZIP_FLAG_DESCRIPTOR : 0) |
                          (torch || non_ascii(name) ? MFTC_ZIP_FLAG_UTF8 : 0));
    size_t hlen = 30 + nlen + xlen;
    uint8_t *hdr = malloc(hlen);
    if (!hdr)
        return zfail(z, MFT_ERR_NOMEM, "out of memory");
    obuf b = {hdr, 0};
    put32(&b, 0x04034b50u);
    put16(&b, torch ? 0 : m->local_zip64 ? 45 : 20);
    put16(&b, m->flags);
    put16(&b, MFTC_ZIP_STORED);
    put16(&b, 0);                           /* time */
    put16(&b, torch ? 0 : DOS_DATE_1980);   /* date */
    put32(&b, 0);                           /* CRC: patched or descriptor */
    uint64_t local_size = m->local_zip64 && (!torch || big) ? ESC32
                          : z->opt.data_descriptor         ? 0
                                                           : size;
    put32(&b, local_size);
    put32(&b, local_size);
    put16(&b, nlen);
    put16(&b, xlen);
    putbytes(&b, name, nlen);
    if (z64) {
        put16(&b, 0x0001);
        put16(&b, z64);
        if (!torch || big) {
            put64(&b, size);
            put64(&b, size);
        }
        if (torch && far)
            put64(&b, m->lho);
    }
    if (align > 1) {
        size_t pad = hlen - b.n - 4;
        put16(&b, 0x4246); /* "FB" */
        put16(&b, pad);
        memset(b.p + b.n, 'Z', pad);
        b.n += pad;
    }
    mft_status st = emit(z, hdr, b.n);
    free(hdr);
    if (st != MFT_OK)
        return st;
    z->in_member = 1;
    z->declared = size;
    z->data_start = z->out->written;
    z->crc = 0;
    z->out->tap = crc_tap;
    z->out->tap_user = z;
    return MFT_OK;
}

mft_status mftc_zipw_write(mftc_zipw *z, const void *p, size_t n)
{
    if (z->failed)
        return z->failed;
    if (!z->in_member)
        return zfail(z, MFT_ERR_MISUSE, "zip write outside a member");
    uint64_t so_far = z->out->written - z->data_start;
    if (so_far > z->declared || n > z->declared - so_far)
        return zfail(z, MFT_ERR_MISUSE,
                     "zip member \"%s\": more than its declared %llu bytes",
                     z->members[z->count - 1].name,
                     (unsigned long long)z->declared);
    return emit(z, p, n);
}

int mftc_zipw_sink(void *user, const void *bytes, size_t len)
{
    return mftc_zipw_write(user, bytes, len) != MFT_OK;
}

mft_status mftc_zipw_end(mftc_zipw *z)
{
    if (z->failed)
        return z->failed;
    if (!z->in_member)
        return zfail(z, MFT_ERR_MISUSE, "no zip member to end");
    mftc_zipw_member *m = &z->members[z->count - 1];
    uint64_t written = z->out->written - z->data_start;
    z->out->tap = NULL;
    z->out->tap_user = NULL;
    if (written != z->declared)
        return zfail(z, MFT_ERR_MISUSE,
                     "zip member \"%s\": %llu bytes written, %llu declared",
                     m->name, (unsigned long long)written,
                     (unsigned long long)z->declared);
    m->crc = z->crc;
    z->in_member = 0;
    uint8_t tmp[24];
    obuf b = {tmp, 0};
    if (z->opt.data_descriptor) {
        if (z->opt.torch_fields && m->size == 0)
            return MFT_OK; /* miniz writes none for empty members */
        put32(&b, 0x08074b50u);
        put32(&b, m->crc);
        if (m->local_zip64) {
            put64(&b, m->size);
            put64(&b, m->size);
        } else {
            put32(&b, m->size);
            put32(&b, m->size);
        }
        return emit(z, tmp, b.n);
    }
    put32(&b, m->crc);
    ssize_t w;
    do
        w = pwrite(z->out->fd, tmp, 4, (off_t)(m->lho + 14));
    while (w < 0 && errno == EINTR);
    if (w != 4)
        return zfail(z, MFT_ERR_IO, "%s: write failed at byte %llu: %s",
                     z->out->target, (unsigned long long)(m->lho + 14),
                     w < 0 ? strerror(errno) : "short write");
    return MFT_OK;
}

mft_status mftc_zipw_finish(mftc_zipw *z)
{
    if (z->failed)
        return z->failed;
    if (z->in_member)
        return zfail(z, MFT_ERR_MISUSE, "zip member \"%s\" is still open",
                     z->members[z->count - 1].name);
    int torch = z->opt.torch_fields;
    uint64_t cd_start = z->out->written;
    enum { STAGE = 1 << 16 };
    uint8_t *stage = malloc(STAGE + 46 + 0xFFFF + 28);
    if (!stage)
        return zfail(z, MFT_ERR_NOMEM, "out of memory");
    obuf b = {stage, 0};
    mft_status st = MFT_OK;
    for (size_t i = 0; i < z->count && st == MFT_OK; i++) {
        const mftc_zipw_member *m = &z->members[i];
        int big = m->size >= ESC32, far = m->lho >= ESC32;
        size_t z64 = (big ? 16 : 0) + (far ? 8 : 0);
        int v45 = z64 || m->local_zip64;
        put32(&b, 0x02014b50u);
        put16(&b, torch ? 0 : 0x0300 | (v45 ? 45 : 20));
        put16(&b, torch ? 0 : v45 ? 45 : 20);
        put16(&b, m->flags);
        put16(&b, MFTC_ZIP_STORED);
        put16(&b, 0);
        put16(&b, torch ? 0 : DOS_DATE_1980);
        put32(&b, m->crc);
        put32(&b, big ? ESC32 : m->size);
        put32(&b, big ? ESC32 : m->size);
        put16(&b, m->name_len);
        put16(&b, z64 ? 4 + z64 : 0);
        put16(&b, 0); /* comment */
        put16(&b, 0); /* disk */
        put16(&b, 0); /* internal attributes */
        put32(&b, torch ? 0 : UNIX_MODE_0644);
        put32(&b, far ? ESC32 : m->lho);
        putbytes(&b, m->name, m->name_len);
        if (z64) {
            put16(&b, 0x0001);
            put16(&b, z64);
            if (big) {
                put64(&b, m->size);
                put64(&b, m->size);
            }
            if (far)
                put64(&b, m->lho);
        }
        if (b.n >= STAGE) {
            st = emit(z, stage, b.n);
            b.n = 0;
        }
    }
    if (st == MFT_OK && b.n)
        st = emit(z, stage, b.n);
    b.n = 0;
    if (st == MFT_OK) {
        uint64_t cd_size = z->out->written - cd_start;
        uint64_t n = z->count;
        if (z->opt.zip64_end || n >= 0xFFFF || cd_start >= ESC32 ||
            cd_size >= ESC32) {
            uint64_t rec = z->out->written;
            put32(&b, 0x06064b50u);
            put64(&b, 44);
            put16(&b, torch ? 0x031E : 45);
            put16(&b, 45);
            put32(&b, 0);
            put32(&b, 0);
            put64(&b, n);
            put64(&b, n);
            put64(&b, cd_size);
            put64(&b, cd_start);
            put32(&b, 0x07064b50u);
            put32(&b, 0);
            put64(&b, rec);
            put32(&b, 1);
        }
        put32(&b, 0x06054b50u);
        put16(&b, 0);
        put16(&b, 0);
        put16(&b, n >= 0xFFFF ? 0xFFFF : n);
        put16(&b, n >= 0xFFFF ? 0xFFFF : n);
        put32(&b, cd_size >= ESC32 ? ESC32 : cd_size);
        put32(&b, cd_start >= ESC32 ? ESC32 : cd_start);
        put16(&b, 0);
        st = emit(z, stage, b.n);
    }
    free(stage);
    return st;
}

void mftc_zipw_free(mftc_zipw *z)
{
    if (!z)
        return;
    if (z->in_member && z->out && z->out->tap_user == z) {
        z->out->tap = NULL;
        z->out->tap_user = NULL;
    }
    for (size_t i = 0; i < z->count; i++)
        free(z->members[i].name);
    free(z->members);
    z->members = NULL;
    z->count = z->cap = 0;
}
