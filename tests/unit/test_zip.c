/* Unit tests for src/container: the zip reader (central directory, zip64,
 * local headers, stored and deflated data, every rejection rule) and the
 * streaming zip writer (alignment, zip64, torch-style descriptors), plus the
 * npy header writer and the load/gather path it feeds. */
#include "container/zip.h"
#include "container/zip_write.h"
#include "core/atomic.h"
#include "core/internal.h"
#include "formats/npy.h"
#include "unit.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* A handle with default limits to report errors on: opening one byte of
 * nothing fails but still hands back a usable handle. */
static mft_file *handle(uint64_t inflate_limit)
{
    mft_open_options o;
    memset(&o, 0, sizeof o);
    o.limits[MFT_LIMIT_INFLATE_BYTES] = inflate_limit;
    mft_file *f = NULL;
    mft_open_memory("?", 1, "t.zip", &o, &f);
    return f;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    if (!tmpdir[0]) {
        strcpy(tmpdir, "/tmp/mft-unit-zip-XXXXXX");
        if (!mkdtemp(tmpdir))
            tmpdir[0] = 0;
    }
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    if (buf && fread(buf, 1, (size_t)len, fp) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    *n = (size_t)len;
    return buf;
}

typedef struct member {
    const char *name;
    const char *data;
    size_t len;
    unsigned align;
} member;

/* Write members with the zip writer; return the archive's bytes. */
static uint8_t *write_zip(const mftc_zipw_options *opt, const member *m,
                          size_t n, size_t *len, const char *prefix)
{
    make_tmpdir();
    char path[128], err[MFTC_ERRMSG_SIZE];
    snprintf(path, sizeof path, "%s/out.zip", tmpdir);
    mftc_outfile o;
    if (mftc_outfile_open(&o, path, 1, err) != MFT_OK)
        return NULL;
    mft_status st = MFT_OK;
    if (prefix) /* bytes before the archive: offsets stay absolute */
        st = mftc_outfile_write(&o, prefix, strlen(prefix), err);
    mftc_zipw z;
    mftc_zipw_init(&z, &o, err, opt);
    for (size_t i = 0; i < n && st == MFT_OK; i++) {
        st = mftc_zipw_begin(&z, m[i].name, m[i].len, m[i].align);
        /* half through the writer, half straight to the output (tapped) */
        size_t half = m[i].len / 2;
        if (st == MFT_OK && half)
            st = mftc_zipw_write(&z, m[i].data, half);
        if (st == MFT_OK && m[i].len - half)
            st = mftc_outfile_write(&o, m[i].data + half, m[i].len - half,
                                    err);
        if (st == MFT_OK)
            st = mftc_zipw_end(&z);
    }
    if (st == MFT_OK)
        st = mftc_zipw_finish(&z);
    mftc_zipw_free(&z);
    if (st == MFT_OK)
        st = mftc_outfile_finish(&o, 1, err);
    if (st == MFT_OK)
        st = mftc_outfile_publish(&o, err);
    mftc_outfile_abandon(&o);
    if (st != MFT_OK) {
        fprintf(stderr, "write_zip: %s\n", err);
        return NULL;
    }
    uint8_t *buf = slurp(path, len);
    unlink(path);
    return buf;
}

static int member_is(const mftc_zip *z, const mftc_zip_entry *e,
                     const char *want, size_t n)
{
    const uint8_t *p;
    uint8_t *owned;
    if (mftc_zip_data(z, e, &p, &owned) != MFT_OK)
        return 0;
    int ok = e->size == n && memcmp(p, want, n) == 0;
    free(owned);
    uint32_t crc;
    int crc_ok;
    return ok && mftc_zip_crc_ok(z, e, &crc, &crc_ok) == MFT_OK && crc_ok &&
           crc == (uint32_t)crc32(0, (const Bytef *)want, (uInt)n);
}

struct collect {
    uint8_t *buf;
    size_t n;
};

static int collect_sink(void *user, const void *bytes, size_t len)
{
    struct collect *c = user;
    uint8_t *g = realloc(c->buf, c->n + len + 1);
    if (!g)
        return 1;
    memcpy(g + c->n, bytes, len);
    c->buf = g;
    c->n += len;
    return 0;
}

static const char TEXT[] = "the quick brown fox jumps over the lazy dog";

static void test_roundtrip_aligned(void)
{
    member m[] = {
        {"archive/data.pkl", TEXT, sizeof TEXT - 1, 64},
        {"archive/data/0", "0123456789abcdef", 16, 64},
        {"archive/empty", "", 0, 64},
        {"plain.txt", TEXT, 9, 0},
        {"archive/data/1", TEXT, 5, 4096},
        {"plain.txt", "dup", 3, 0}, /* duplicates are kept */
    };
    size_t len;
    uint8_t *buf = write_zip(NULL, m, 6, &len, NULL);
    CHECK(buf != NULL);
    if (!buf)
        return;
    mft_file *f = handle(0);
    mftc_zip z;
    mft_status st = mftc_zip_open(&z, f, buf, len);
    CHECKF(st == MFT_OK, "%s", mft_file_errmsg(f));
    CHECK(z.count == 6 && z.duplicates == 1 && !z.zip64);
    for (size_t i = 0; st == MFT_OK && i < z.count; i++) {
        const mftc_zip_entry *e = &z.entries[i];
        CHECK(strcmp(e->name, m[i].name) == 0);
        CHECK(e->local_name_matches);
        CHECK(e->method == MFTC_ZIP_STORED && e->size == m[i].len);
        if (m[i].align > 1)
            CHECKF(e->data_offset % m[i].align == 0, "%s at %llu", e->name,
                   (unsigned long long)e->data_offset);
        CHECKF(member_is(&z, e, m[i].data, m[i].len), "%s", e->name);
    }
    if (st == MFT_OK) {
        CHECK(mftc_zip_find(&z, "plain.txt") == &z.entries[3]);
        CHECK(mftc_zip_find(&z, "archive/data/0") == &z.entries[1]);
        CHECK(mftc_zip_find(&z, "nope") == NULL);
        CHECK(mftc_zip_find_suffix(&z, "/data.pkl") == &z.entries[0]);
        CHECK(mftc_zip_find_suffix(&z, "data/1") == &z.entries[4]);
        struct collect c = {0};
        CHECK(mftc_zip_stream(&z, &z.entries[0], 4, 5, collect_sink, &c) ==
                  MFT_OK &&
              c.n == 5 && memcmp(c.buf, TEXT + 4, 5) == 0);
        free(c.buf);
        uint8_t pre[8];
        size_t got;
        CHECK(mftc_zip_prefix(&z, &z.entries[0], pre, sizeof pre, &got) ==
                  MFT_OK &&
              got == 8 && memcmp(pre, TEXT, 8) == 0);
    }
    mft_close(f);
    free(buf);
}

/* numpy's savez layout: a zip64 extra in every local header; and an archive
 * preceded by other bytes fails on the local header signature check only if
 * offsets were relative — ours are absolute. */
static void test_force_zip64(void)
{
    mftc_zipw_options o = {.force_zip64 = 1};
    member m[] = {{"w.npy", TEXT, 20, 64}, {"b.npy", TEXT, 0, 64}};
    size_t len;
    uint8_t *buf = write_zip(&o, m, 2, &len, NULL);
    CHECK(buf != NULL);
    if (!buf)
        return;
    /* local header: version 45, sizes escaped, zip64 extra first */
    CHECK(buf[4] == 45 && memcmp(buf + 18, "\xff\xff\xff\xff\xff\xff\xff\xff",
                                 8) == 0);
    CHECK(buf[30 + 5] == 1 && buf[30 + 6] == 0 && buf[30 + 7] == 16);
    mft_file *f = handle(0);
    mftc_zip z;
    CHECKF(mftc_zip_open(&z, f, buf, len) == MFT_OK, "%s", mft_file_errmsg(f));
    CHECK(z.count == 2 && member_is(&z, &z.entries[0], TEXT, 20) &&
          member_is(&z, &z.entries[1], "", 0));
    mft_close(f);
    free(buf);
}

/* torch's layout: flags 0x0808 (0x0800 on empty members, which have no
 * descriptor), zero local CRC/sizes, descriptors, zip64 end records always,
 * data 64-aligned with the FB record. */
static void test_torch_style(void)
{
    mftc_zipw_options o = {.data_descriptor = 1, .zip64_end = 1,
                           .torch_fields = 1};
    member m[] = {{"tensor_float32_proto2_zip/data.pkl", TEXT, 40, 64},
                  {"tensor_float32_proto2_zip/byteorder", "little", 6, 64},
                  {"tensor_float32_proto2_zip/data/0", "", 0, 64},
                  {"tensor_float32_proto2_zip/version", "3\n", 2, 64}};
    size_t len;
    uint8_t *buf = write_zip(&o, m, 4, &len, NULL);
    CHECK(buf != NULL);
    if (!buf)
        return;
    /* the worked example of pytorch-format.md §2.4: data at 128, L = 60 */
    CHECK(buf[6] == 0x08 && buf[7] == 0x08);
    CHECK(buf[28] == 64 && buf[29] == 0);
    CHECK(buf[30 + 34] == 'F' && buf[30 + 35] == 'B' && buf[30 + 36] == 60);
    /* descriptor right after the first member's data */
    CHECK(memcmp(buf + 128 + 40, "PK\x07\x08", 4) == 0);
    mft_file *f = handle(0);
    mftc_zip z;
    CHECKF(mftc_zip_open(&z, f, buf, len) == MFT_OK, "%s", mft_file_errmsg(f));
    CHECK(z.zip64 && z.count == 4);
    CHECK(z.entries[0].data_offset == 128);
    for (size_t i = 0; i < z.count && i < 4; i++) {
        /* bit 3 only where a descriptor follows: not on the empty member */
        CHECK(z.entries[i].flags == (m[i].len ? 0x0808 : 0x0800));
        CHECK(z.entries[i].data_offset % 64 == 0);
        CHECK(member_is(&z, &z.entries[i], m[i].data, m[i].len));
    }
    /* the empty member has no descriptor: the next header follows at once */
    const mftc_zip_entry *e = &z.entries[2], *next = &z.entries[3];
    CHECK(next->local_header_offset == e->data_offset);
    mft_close(f);
    free(buf);
}

/* More than 65535 members: counts escape into the zip64 end record. */
static void test_many_members_zip64(void)
{
    size_t n = 70000;
    member *m = calloc(n, sizeof *m);
    char (*names)[16] = calloc(n, sizeof *names);
    CHECK(m && names);
    if (!m || !names) {
        free(m);
        free(names);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "m%zu", i);
        m[i].name = names[i];
        m[i].data = names[i];
        m[i].len = strlen(names[i]);
    }
    size_t len;
    uint8_t *buf = write_zip(NULL, m, n, &len, NULL);
    CHECK(buf != NULL);
    mft_file *f = handle(0);
    mftc_zip z;
    if (buf) {
        /* classic end record: counts escaped */
        CHECK(buf[len - 22 + 10] == 0xff && buf[len - 22 + 11] == 0xff);
        CHECKF(mftc_zip_open(&z, f, buf, len) == MFT_OK, "%s",
               mft_file_errmsg(f));
        CHECK(z.zip64 && z.count == n);
        if (z.count == n) {
            CHECK(mftc_zip_find(&z, "m69999") == &z.entries[69999]);
            CHECK(member_is(&z, &z.entries[12345], "m12345", 6));
        }
    }
    /* a lowered member limit refuses it */
    mft_close(f);
    mft_open_options o;
    memset(&o, 0, sizeof o);
    o.limits[MFT_LIMIT_ZIP_ENTRIES] = 1000;
    f = NULL;
    mft_open_memory("?", 1, "t.zip", &o, &f);
    if (buf) {
        CHECK(mftc_zip_open(&z, f, buf, len) == MFT_ERR_LIMIT);
        CHECK(strstr(mft_file_errmsg(f), "exceed the limit"));
    }
    mft_close(f);
    free(buf);
    free(m);
    free(names);
}

/* ------------------------------------------------- hand-made archives */

typedef struct bb {
    uint8_t p[4096];
    size_t n;
} bb;

static void b16(bb *b, unsigned v)
{
    b->p[b->n++] = (uint8_t)v;
    b->p[b->n++] = (uint8_t)(v >> 8);
}
static void b32(bb *b, uint32_t v)
{
    b16(b, v & 0xffff);
    b16(b, v >> 16);
}
static void b64(bb *b, uint64_t v)
{
    b32(b, (uint32_t)v);
    b32(b, (uint32_t)(v >> 32));
}
static void bput(bb *b, const void *p, size_t n)
{
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

typedef struct spec {
    const char *name;
    const uint8_t *data; /* as stored */
    size_t comp, size;   /* stored bytes, declared size */
    unsigned method, flags;
    uint32_t crc;
    int zip64_central;   /* sizes and offset via a zip64 extra */
    int zip64_end;
    const char *local_name; /* NULL: same as name */
} spec;

/* One-member archive built field by field. */
static void craft(bb *b, const spec *s)
{
    size_t nl = strlen(s->name);
    const char *ln = s->local_name ? s->local_name : s->name;
    b->n = 0;
    b32(b, 0x04034b50);
    b16(b, 20);
    b16(b, s->flags);
    b16(b, s->method);
    b16(b, 0);
    b16(b, 0x21);
    b32(b, s->crc);
    b32(b, (uint32_t)s->comp);
    b32(b, (uint32_t)s->size);
    b16(b, (unsigned)strlen(ln));
    b16(b, 0);
    bput(b, ln, strlen(ln));
    bput(b, s->data, s->comp);
    size_t cd = b->n;
    b32(b, 0x02014b50);
    b16(b, 0x031e);
    b16(b, 20);
    b16(b, s->flags);
    b16(b, s->method);
    b16(b, 0);
    b16(b, 0x21);
    b32(b, s->crc);
    b32(b, s->zip64_central ? 0xffffffffu : (uint32_t)s->comp);
    b32(b, s->zip64_central ? 0xffffffffu : (uint32_t)s->size);
    b16(b, (unsigned)nl);
    b16(b, s->zip64_central ? 28 : 0);
    b16(b, 0);
    b16(b, 0);
    b16(b, 0);
    b32(b, 0);
    b32(b, s->zip64_central ? 0xffffffffu : 0);
    bput(b, s->name, nl);
    if (s->zip64_central) {
        b16(b, 1);
        b16(b, 24);
        b64(b, s->size);
        b64(b, s->comp);
        b64(b, 0);
    }
    size_t cd_size = b->n - cd;
    if (s->zip64_end) {
        size_t rec = b->n;
        b32(b, 0x06064b50);
        b64(b, 44);
        b16(b, 45);
        b16(b, 45);
        b32(b, 0);
        b32(b, 0);
        b64(b, 1);
        b64(b, 1);
        b64(b, cd_size);
        b64(b, cd);
        b32(b, 0x07064b50);
        b32(b, 0);
        b64(b, rec);
        b32(b, 1);
    }
    b32(b, 0x06054b50);
    b16(b, 0);
    b16(b, 0);
    b16(b, s->zip64_end ? 0xffff : 1);
    b16(b, s->zip64_end ? 0xffff : 1);
    b32(b, s->zip64_end ? 0xffffffffu : (uint32_t)cd_size);
    b32(b, s->zip64_end ? 0xffffffffu : (uint32_t)cd);
    b16(b, 0);
}

static size_t deflate_raw(const void *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    deflate(&s, Z_FINISH);
    size_t got = cap - s.avail_out;
    deflateEnd(&s);
    return got;
}

static mft_status open_spec(const spec *s, mft_file **f, mftc_zip *z, bb *b,
                            uint64_t limit)
{
    craft(b, s);
    *f = handle(limit);
    return mftc_zip_open(z, *f, b->p, b->n);
}

static void test_zip64_central_and_end(void)
{
    spec s = {.name = "a/b.bin", .data = (const uint8_t *)TEXT, .comp = 12,
              .size = 12, .zip64_central = 1, .zip64_end = 1};
    s.crc = (uint32_t)crc32(0, (const Bytef *)TEXT, 12);
    bb b;
    mft_file *f;
    mftc_zip z;
    CHECKF(open_spec(&s, &f, &z, &b, 0) == MFT_OK, "%s", mft_file_errmsg(f));
    CHECK(z.zip64 && z.count == 1 && z.entries[0].zip64);
    CHECK(z.count == 1 && member_is(&z, &z.entries[0], TEXT, 12));
    mft_close(f);
}

static void test_deflated(void)
{
    static char text[3000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = TEXT[i % 40];
    uint8_t comp[2048];
    size_t clen = deflate_raw(text, sizeof text, comp, sizeof comp);
    spec s = {.name = "x.npy", .data = comp, .comp = clen,
              .size = sizeof text, .method = 8};
    s.crc = (uint32_t)crc32(0, (const Bytef *)text, sizeof text);
    bb b;
    mft_file *f;
    mftc_zip z;
    CHECKF(open_spec(&s, &f, &z, &b, 0) == MFT_OK, "%s", mft_file_errmsg(f));
    CHECK(member_is(&z, &z.entries[0], text, sizeof text));
    uint8_t pre[100];
    size_t got;
    CHECK(mftc_zip_prefix(&z, &z.entries[0], pre, sizeof pre, &got) ==
              MFT_OK &&
          got == 100 && memcmp(pre, text, 100) == 0);
    /* streamed: a window of the member, inflated chunk by chunk */
    struct collect c = {0};
    CHECK(mftc_zip_stream(&z, &z.entries[0], 100, 2500, collect_sink, &c) ==
              MFT_OK &&
          c.n == 2500 && memcmp(c.buf, text + 100, 2500) == 0);
    free(c.buf);
    mft_close(f);

    /* a declared size larger than what inflates: refused on read */
    s.size = sizeof text + 1;
    CHECK(open_spec(&s, &f, &z, &b, 0) == MFT_OK);
    const uint8_t *p;
    uint8_t *owned;
    CHECK(mftc_zip_data(&z, &z.entries[0], &p, &owned) == MFT_ERR_CORRUPT);
    CHECK(strstr(mft_file_errmsg(f), "not the 3001 it declares"));
    c.buf = NULL;
    c.n = 0;
    CHECK(mftc_zip_stream(&z, &z.entries[0], 0, 10, collect_sink, &c) ==
          MFT_ERR_CORRUPT);
    free(c.buf);
    mft_close(f);
    /* smaller: the inflater stops at the declared size */
    s.size = sizeof text - 1;
    CHECK(open_spec(&s, &f, &z, &b, 0) == MFT_OK);
    CHECK(mftc_zip_data(&z, &z.entries[0], &p, &owned) == MFT_ERR_CORRUPT);
    CHECK(strstr(mft_file_errmsg(f), "more than the 2999 bytes"));
    c.buf = NULL;
    c.n = 0;
    CHECK(mftc_zip_stream(&z, &z.entries[0], 0, 10, collect_sink, &c) ==
          MFT_ERR_CORRUPT);
    free(c.buf);
    mft_close(f);
    /* over the inflate limit: refused before allocating */
    s.size = sizeof text;
    CHECK(open_spec(&s, &f, &z, &b, 1000) == MFT_OK);
    CHECK(mftc_zip_check_readable(&z, &z.entries[0]) == MFT_ERR_LIMIT);
    CHECK(mftc_zip_data(&z, &z.entries[0], &p, &owned) == MFT_ERR_LIMIT);
    CHECK(strstr(mft_file_errmsg(f), "inflate limit"));
    mft_close(f);
    /* a corrupt stream */
    comp[0] ^= 0xff;
    comp[1] ^= 0xff;
    CHECK(open_spec(&s, &f, &z, &b, 0) == MFT_OK);
    CHECK(mftc_zip_data(&z, &z.entries[0], &p, &owned) == MFT_ERR_CORRUPT);
    mft_close(f);
}

static void test_crc_mismatch_is_not_an_error(void)
{
    spec s = {.name = "a", .data = (const uint8_t *)TEXT, .comp = 5,
              .size = 5, .crc = 1234};
    bb b;
    mft_file *f;
    mftc_zip z;
    CHECK(open_spec(&s, &f, &z, &b, 0) == MFT_OK);
    uint32_t crc;
    int ok = 1;
    CHECK(mftc_zip_crc_ok(&z, &z.entries[0], &crc, &ok) == MFT_OK && !ok);
    mft_close(f);
}

static void expect_open_fail(const char *what, bb *b, size_t len,
                             mft_status code, const char *phrase)
{
    mft_file *f = handle(0);
    mftc_zip z;
    mft_status st = mftc_zip_open(&z, f, b->p, len);
    CHECKF(st == code, "%s: status %d, message %s", what, st,
           mft_file_errmsg(f));
    CHECKF(strstr(mft_file_errmsg(f), phrase) != NULL &&
               strstr(mft_file_errmsg(f), "(at byte "),
           "%s: message %s", what, mft_file_errmsg(f));
    mft_close(f);
}

static void test_rejections(void)
{
    spec s = {.name = "a.txt", .data = (const uint8_t *)TEXT, .comp = 10,
              .size = 10};
    bb b;
    craft(&b, &s);
    size_t n = b.n;
    /* no end record */
    expect_open_fail("truncated end", &b, n - 3, MFT_ERR_CORRUPT,
                     "end-of-central-directory");
    expect_open_fail("tiny", &b, 10, MFT_ERR_CORRUPT, "too short");
    /* central directory offset past the end */
    bb c = b;
    c.p[n - 6] = 0xf0;
    expect_open_fail("cd offset", &c, n, MFT_ERR_CORRUPT,
                     "runs past the end record");
    /* truncated central directory: size claims more than there is */
    c = b;
    c.p[n - 10] += 1;
    expect_open_fail("cd size", &c, n, MFT_ERR_CORRUPT, "central directory");
    /* a count of 2 with room for 1 */
    c = b;
    c.p[n - 12] = 2;
    c.p[n - 14] = 2;
    expect_open_fail("count", &c, n, MFT_ERR_CORRUPT, "holds at most");
    /* bad central signature */
    c = b;
    size_t cd = 30 + 5 + 10;
    c.p[cd] = 'X';
    expect_open_fail("central sig", &c, n, MFT_ERR_CORRUPT, "bad signature");
    /* bad local signature */
    c = b;
    c.p[0] = 'X';
    expect_open_fail("local sig", &c, n, MFT_ERR_CORRUPT,
                     "no local file header");
    /* NUL in the name */
    c = b;
    c.p[cd + 46 + 1] = 0;
    expect_open_fail("nul", &c, n, MFT_ERR_CORRUPT, "NUL");
    /* data running into the central directory */
    spec t = s;
    t.comp = 10;
    t.size = 10;
    craft(&c, &t);
    c.p[cd + 20] = 200; /* central compressed size */
    c.p[cd + 24] = 200;
    expect_open_fail("data past cd", &c, c.n, MFT_ERR_CORRUPT,
                     "runs past the start of the central directory");
    /* stored sizes that disagree */
    craft(&c, &t);
    c.p[cd + 24] = 9;
    expect_open_fail("stored sizes", &c, c.n, MFT_ERR_CORRUPT,
                     "compressed size");
    /* zip64 escape without an extra field */
    craft(&c, &t);
    memset(c.p + cd + 24, 0xff, 4);
    expect_open_fail("zip64 missing", &c, c.n, MFT_ERR_CORRUPT, "zip64");
    /* multi-volume */
    craft(&c, &t);
    c.p[c.n - 18] = 1;
    expect_open_fail("multi-volume", &c, c.n, MFT_ERR_UNSUPPORTED, "volume");
}

static void test_overlap(void)
{
    /* two central entries pointing at one local header */
    spec s = {.name = "a", .data = (const uint8_t *)TEXT, .comp = 4,
              .size = 4};
    bb b;
    craft(&b, &s);
    size_t cd = 30 + 1 + 4, rec = 46 + 1;
    bb c;
    c.n = 0;
    bput(&c, b.p, cd);
    bput(&c, b.p + cd, rec);
    bput(&c, b.p + cd, rec);
    b32(&c, 0x06054b50);
    b16(&c, 0);
    b16(&c, 0);
    b16(&c, 2);
    b16(&c, 2);
    b32(&c, (uint32_t)(2 * rec));
    b32(&c, (uint32_t)cd);
    b16(&c, 0);
    expect_open_fail("overlap", &c, c.n, MFT_ERR_CORRUPT, "overlap");
}

static void test_unreadable_members(void)
{
    spec s = {.name = "a", .data = (const uint8_t *)TEXT, .comp = 4,
              .size = 4, .method = 12};
    bb b;
    mft_file *f;
    mftc_zip z;
    CHECK(open_spec(&s, &f, &z, &b, 0) == MFT_OK);
    const uint8_t *p;
    uint8_t *owned;
    CHECK(mftc_zip_data(&z, &z.entries[0], &p, &owned) == MFT_ERR_UNSUPPORTED);
    CHECK(strstr(mft_file_errmsg(f), "bzip2"));
    mft_close(f);
    s.method = 0;
    s.flags = 1;
    CHECK(open_spec(&s, &f, &z, &b, 0) == MFT_OK);
    CHECK(mftc_zip_data(&z, &z.entries[0], &p, &owned) == MFT_ERR_UNSUPPORTED);
    CHECK(strstr(mft_file_errmsg(f), "encrypted"));
    mft_close(f);
    /* a local header naming the member differently is flagged */
    s.flags = 0;
    s.local_name = "b";
    CHECK(open_spec(&s, &f, &z, &b, 0) == MFT_OK);
    CHECK(!z.entries[0].local_name_matches);
    mft_close(f);
}

static void test_eocd_comment(void)
{
    spec s = {.name = "a", .data = (const uint8_t *)TEXT, .comp = 4,
              .size = 4};
    bb b;
    craft(&b, &s);
    /* a comment that itself contains an end signature: the real one wins */
    static const char comment[] = "PK\x05\x06 not a record";
    size_t cl = sizeof comment - 1;
    b.p[b.n - 2] = (uint8_t)cl;
    bput(&b, comment, cl);
    mft_file *f = handle(0);
    mftc_zip z;
    CHECKF(mftc_zip_open(&z, f, b.p, b.n) == MFT_OK, "%s",
           mft_file_errmsg(f));
    CHECK(z.comment_len == cl && memcmp(z.comment, comment, cl) == 0);
    mft_close(f);
}

static void test_writer_misuse(void)
{
    make_tmpdir();
    char path[128], err[MFTC_ERRMSG_SIZE];
    snprintf(path, sizeof path, "%s/misuse.zip", tmpdir);
    mftc_outfile o;
    CHECK(mftc_outfile_open(&o, path, 1, err) == MFT_OK);
    mftc_zipw z;
    mftc_zipw_init(&z, &o, err, NULL);
    CHECK(mftc_zipw_begin(&z, "", 1, 0) == MFT_ERR_MISUSE);
    mftc_zipw_init(&z, &o, err, NULL);
    CHECK(mftc_zipw_begin(&z, "a", 1, 3) == MFT_ERR_MISUSE);
    mftc_zipw_init(&z, &o, err, NULL);
    CHECK(mftc_zipw_begin(&z, "a", 4, 0) == MFT_OK);
    CHECK(mftc_zipw_write(&z, "abcde", 5) == MFT_ERR_MISUSE);
    mftc_zipw_free(&z);
    mftc_zipw_init(&z, &o, err, NULL);
    CHECK(mftc_zipw_begin(&z, "a", 4, 0) == MFT_OK);
    CHECK(mftc_zipw_write(&z, "abc", 3) == MFT_OK);
    CHECK(mftc_zipw_end(&z) == MFT_ERR_MISUSE);
    CHECK(strstr(err, "3 bytes written, 4 declared"));
    CHECK(mftc_zipw_finish(&z) == MFT_ERR_MISUSE); /* sticky */
    mftc_zipw_free(&z);
    CHECK(o.tap == NULL);
    mftc_outfile_abandon(&o);
    CHECK(access(path, F_OK) != 0);
}

/* np.save's header for a few shapes (checked against numpy 2.x). */
static void test_npy_header_bytes(void)
{
    uint8_t h[MFTC_NPY_HEADER_MAX];
    uint64_t shape[2] = {3, 4};
    size_t n = mftc_npy_header_bytes(MFT_F32, 2, shape, h);
    static const char want[] =
        "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
        "'shape': (3, 4), }";
    CHECK(n == 128 && memcmp(h, want, sizeof want - 1) == 0);
    CHECK(h[127] == '\n' && h[126] == ' ');
    n = mftc_npy_header_bytes(MFT_BOOL, 0, NULL, h);
    CHECK(n == 128 && memcmp(h + 10, "{'descr': '|b1', 'fortran_order': "
                                     "False, 'shape': (), }",
                             53) == 0);
    uint64_t one[1] = {7};
    n = mftc_npy_header_bytes(MFT_C128, 1, one, h);
    CHECK(n % 64 == 0 && strstr((const char *)h + 10, "'shape': (7,), }"));
}

/* A big-endian, Fortran-order array through mft_open_memory: data is NULL
 * and reads gather row-major little-endian bytes. */
static void test_npy_gather(void)
{
    uint8_t file[256];
    const char *hdr = "{'descr': '>i4', 'fortran_order': True, 'shape': (2, "
                      "3), }";
    size_t hl = strlen(hdr);
    memcpy(file, "\x93NUMPY\x01\x00", 8);
    file[8] = (uint8_t)(118);
    file[9] = 0;
    memset(file + 10, ' ', 118);
    memcpy(file + 10, hdr, hl);
    file[127] = '\n';
    /* column-major 2×3 of 0..5 row-major: columns (0,3) (1,4) (2,5) */
    int vals[6] = {0, 3, 1, 4, 2, 5};
    for (int i = 0; i < 6; i++) {
        uint8_t *p = file + 128 + 4 * i;
        p[0] = 0;
        p[1] = 0;
        p[2] = 0;
        p[3] = (uint8_t)vals[i];
    }
    mft_file *f = NULL;
    mft_status st = mft_open_memory(file, 128 + 24, "m.npy", NULL, &f);
    CHECKF(st == MFT_OK, "%s", mft_file_errmsg(f));
    mft_tensor t;
    if (st == MFT_OK && mft_tensor_at(f, 0, &t) == MFT_OK) {
        CHECK(strcmp(t.name, "m") == 0 && t.data == NULL);
        CHECK(t.strides[0] == 1 && t.strides[1] == 2);
        int32_t out[6];
        CHECK(mft_tensor_read(f, 0, out, sizeof out) == MFT_OK);
        for (int i = 0; i < 6; i++)
            CHECKF(out[i] == i, "out[%d] = %d", i, out[i]);
    }
    mft_close(f);
}

int main(void)
{
    RUN(test_roundtrip_aligned);
    RUN(test_force_zip64);
    RUN(test_torch_style);
    RUN(test_many_members_zip64);
    RUN(test_zip64_central_and_end);
    RUN(test_deflated);
    RUN(test_crc_mismatch_is_not_an_error);
    RUN(test_rejections);
    RUN(test_overlap);
    RUN(test_unreadable_members);
    RUN(test_eocd_comment);
    RUN(test_writer_misuse);
    RUN(test_npy_header_bytes);
    RUN(test_npy_gather);
    if (tmpdir[0])
        rmdir(tmpdir);
    return unit_summary();
}
