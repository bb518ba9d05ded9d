/* NumPy .npz reader and writer (shared/reference/safetensors-gguf-npy.md
 * §3.3): a zip archive with one .npy stream per array.
 *
 * Reader: every member whose name ends in ".npy" is an array named after
 * the member without that suffix (`w.npy` → `w`, `a/b.npy` → `a/b`), as
 * np.load(...)["w"] names it. Stored members (np.savez) are parsed in place
 * and their data borrowed from the mapping; deflated members
 * (np.savez_compressed) have only their header inflated at open, and their
 * data inflated when read — chunk by chunk for C-order little-endian arrays
 * (memory stays flat), whole for those that need a gather (Fortran order,
 * big-endian) — (src/container/zip.c checks the declared size
 * against MFT_LIMIT_INFLATE_BYTES when the file is opened and the inflated
 * length on every read). Other members — numpy hands them back as raw
 * bytes — become BYTES values of the root dict under their full name; a
 * non-empty archive without any .npy member is not an npz (the PyTorch
 * reader hands every zip without data.pkl here) and is refused. A
 * name that repeats gets "#k" appended (DESIGN.md §3), where numpy would
 * silently pick the last one. CRCs are not checked on open or read (that is
 * `mft verify`'s job); a member whose local header names it differently
 * than the central directory is refused, as Python's zipfile does.
 *
 * Writer: one STORED member `<name>.npy` per tensor, the np.save header of
 * a C-order array, data at a multiple of 64 bytes in the file (the header
 * is a multiple of 64 and the member starts aligned), every local header
 * with a zip64 extra as numpy's savez writes it (force_zip64). */
#include "npy.h"
#include "../container/zip.h"
#include "../container/zip_write.h"
#include "../core/checked.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ name dedupe */

/* Names handed out so far, each with the next "#k" to try when it repeats
 * (so n repeats of one name cost O(n), not O(n²)). */
typedef struct name_set {
    const char **names;
    uint64_t *next_k;
    size_t cap, n;
} name_set;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static size_t set_slot(const name_set *s, const char *name)
{
    size_t slot = (size_t)fnv(name) & (s->cap - 1);
    while (s->names[slot] && strcmp(s->names[slot], name) != 0)
        slot = (slot + 1) & (s->cap - 1);
    return slot;
}

static int set_init(name_set *s, size_t expect)
{
    s->cap = 16;
    while (s->cap < expect * 2 + 2)
        s->cap *= 2;
    s->n = 0;
    s->names = calloc(s->cap, sizeof *s->names);
    s->next_k = calloc(s->cap, sizeof *s->next_k);
    return s->names && s->next_k;
}

static void set_free(name_set *s)
{
    free(s->names);
    free(s->next_k);
}

/* Double the table (kept at most half full). */
static int set_grow(name_set *s)
{
    name_set g;
    g.cap = s->cap * 2;
    g.n = 0;
    g.names = calloc(g.cap, sizeof *g.names);
    g.next_k = calloc(g.cap, sizeof *g.next_k);
    if (!g.names || !g.next_k) {
        set_free(&g);
        return 0;
    }
    for (size_t i = 0; i < s->cap; i++)
        if (s->names[i]) {
            size_t slot = set_slot(&g, s->names[i]);
            g.names[slot] = s->names[i];
            g.next_k[slot] = s->next_k[i];
            g.n++;
        }
    set_free(s);
    *s = g;
    return 1;
}

/* The unique name for `name`: itself, or name#k (k = 1, 2, …) in the arena
 * when it was handed out before. */
static const char *unique_name(mftc_arena *a, name_set *s, const char *name)
{
    if ((s->n + 2) * 2 > s->cap && !set_grow(s))
        return NULL;
    size_t slot = set_slot(s, name);
    if (!s->names[slot]) {
        s->names[slot] = name;
        s->next_k[slot] = 1;
        s->n++;
        return name;
    }
    size_t base_slot = slot;
    size_t len = strlen(name);
    char *cand = mftc_arena_alloc(a, len + 24);
    if (!cand)
        return NULL;
    for (uint64_t k = s->next_k[base_slot];; k++) {
        snprintf(cand, len + 24, "%s#%llu", name, (unsigned long long)k);
        size_t c = set_slot(s, cand);
        if (!s->names[c]) {
            s->next_k[base_slot] = k + 1;
            s->names[c] = cand;
            s->next_k[c] = 1;
            s->n++;
            return cand;
        }
    }
}

/* ------------------------------------------------------------ reader */

typedef struct npz_member {
    const mftc_zip *z;
    const mftc_zip_entry *e;
    uint64_t skip; /* the .npy header */
} npz_member;

/* Load hook for deflated members: inflate the whole member, hand out the
 * array bytes after the header. */
static mft_status npz_load(mft_file *f, const mftc_tensor *t,
                           const uint8_t **storage, uint64_t *nbytes,
                           void **owned)
{
    const npz_member *m = t->load_ctx;
    const uint8_t *p;
    uint8_t *buf;
    (void)f;
    mft_status st = mftc_zip_data(m->z, m->e, &p, &buf);
    if (st != MFT_OK)
        return st;
    *storage = p + m->skip;
    *nbytes = m->e->size - m->skip;
    *owned = buf;
    return MFT_OK;
}

/* Stream hook for large deflated members: inflate chunk by chunk. */
static mft_status npz_stream(mft_file *f, const mftc_tensor *t,
                             mft_bytes_sink sink, void *user)
{
    const npz_member *m = t->load_ctx;
    (void)f;
    return mftc_zip_stream(m->z, m->e, m->skip, t->nbytes, sink, user);
}

static mft_status add_root(mft_file *f, const char *name, mft_value *v)
{
    mft_value *k = mftc_value_string(&f->arena, name, strlen(name));
    if (!k || !v || !mftc_value_append(&f->arena, f->root, k, v))
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    return MFT_OK;
}

/* A member that is not an array: its bytes as a BYTES value. */
static mft_status read_other(mft_file *f, const mftc_zip *z,
                             const mftc_zip_entry *e, name_set *names)
{
    uint64_t cap = mftc_limit(f, MFT_LIMIT_STRING_BYTES);
    if (e->size > cap)
        return mftc_fail(f, MFT_ERR_LIMIT, e->name, (int64_t)e->cd_offset,
                         "non-array member of %llu bytes exceeds the string "
                         "limit of %llu",
                         (unsigned long long)e->size, (unsigned long long)cap);
    const uint8_t *p;
    uint8_t *owned;
    mft_status st = mftc_zip_data(z, e, &p, &owned);
    if (st != MFT_OK)
        return st;
    mft_value *v = mftc_value_new(&f->arena, MFT_VALUE_BYTES);
    char *copy = mftc_arena_strndup(&f->arena, (const char *)p,
                                    (size_t)e->size);
    free(owned);
    if (!v || !copy)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    v->u.s.p = copy;
    v->u.s.n = (size_t)e->size;
    const char *name = unique_name(&f->arena, names, e->name);
    if (!name)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    return add_root(f, name, v);
}

static mft_status read_array(mft_file *f, const mftc_zip *z,
                             const mftc_zip_entry *e, name_set *names)
{
    mftc_npy_header h;
    uint8_t pre[MFTC_NPY_PREAMBLE];
    size_t got;
    const uint8_t *hdr = NULL;
    uint8_t *hdr_buf = NULL;
    mft_status st;
    int stored = e->method == MFTC_ZIP_STORED;
    if (stored) {
        hdr = z->data + e->data_offset;
        got = e->size < MFTC_NPY_PREAMBLE ? (size_t)e->size
                                          : MFTC_NPY_PREAMBLE;
        st = mftc_npy_preamble(f, e->name, hdr, got, e->size, &h);
    } else {
        st = mftc_zip_prefix(z, e, pre, sizeof pre, &got);
        if (st == MFT_OK)
            st = mftc_npy_preamble(f, e->name, pre, got, e->size, &h);
        if (st == MFT_OK) {
            /* header_len is within the header limit and the member */
            hdr_buf = malloc((size_t)h.data_offset);
            if (!hdr_buf)
                return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1,
                                 "out of memory");
            st = mftc_zip_prefix(z, e, hdr_buf, (size_t)h.data_offset, &got);
            hdr = hdr_buf;
        }
    }
    if (st == MFT_OK)
        st = mftc_npy_parse_header(f, e->name, hdr, &h);
    free(hdr_buf);
    if (st != MFT_OK)
        return st;
    if (h.nbytes > e->size - h.data_offset)
        return mftc_fail(f, MFT_ERR_CORRUPT, e->name, (int64_t)h.data_offset,
                         "array data is shorter than the shape needs: %llu "
                         "bytes left in the member, %llu needed",
                         (unsigned long long)(e->size - h.data_offset),
                         (unsigned long long)h.nbytes);
    mftc_tensor t;
    memset(&t, 0, sizeof t);
    char *base = mftc_arena_strndup(&f->arena, e->name, e->name_len - 4);
    if (!base || !(t.name = unique_name(&f->arena, names, base)))
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    const uint8_t *storage =
        stored ? z->data + e->data_offset + h.data_offset : NULL;
    if ((st = mftc_npy_tensor(f, &h, storage, &t)) != MFT_OK)
        return st;
    t.member = e->name;
    t.offset = h.data_offset;
    if (stored) {
        t.src = &f->src;
    } else {
        npz_member *m = mftc_arena_alloc(&f->arena, sizeof *m);
        if (!m)
            return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
        m->z = z;
        m->e = e;
        m->skip = h.data_offset;
        t.load = npz_load;     /* whole member, for gathers */
        t.stream = npz_stream; /* chunk by chunk, for C-order LE reads */
        t.load_ctx = m;
    }
    size_t idx;
    if ((st = mftc_add_tensor(f, &t, &idx)) != MFT_OK)
        return st;
    mft_value *v = mftc_value_new(&f->arena, MFT_VALUE_TENSOR);
    if (v)
        v->u.tensor = idx;
    return add_root(f, t.name, v);
}

static int is_npy_member(const mftc_zip_entry *e)
{
    return e->name_len >= 4 && memcmp(e->name + e->name_len - 4, ".npy", 4) == 0;
}

mft_status mftc_read_npz(mft_file *f)
{
    f->format = MFT_FORMAT_NPZ;
    if (f->src.size == 0)
        return mftc_fail(f, MFT_ERR_CORRUPT, NULL, -1, "file is empty");
    mftc_zip *z = mftc_arena_alloc(&f->arena, sizeof *z);
    if (!z)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    mft_status st = mftc_zip_open(z, f, f->src.data, f->src.size);
    if (st != MFT_OK)
        return st;
    size_t arrays = 0;
    for (size_t i = 0; i < z->count; i++)
        arrays += is_npy_member(&z->entries[i]);
    if (z->count && !arrays)
        return mftc_fail(f, MFT_ERR_FORMAT, NULL, (int64_t)z->cd_offset,
                         "a zip archive with neither data.pkl (PyTorch) nor "
                         ".npy members (npz): not a model file mft can read "
                         "(first member \"%.200s\")",
                         z->entries[0].name);
    name_set names;
    if (!set_init(&names, z->count)) {
        set_free(&names);
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    }
    for (size_t i = 0; i < z->count && st == MFT_OK; i++) {
        const mftc_zip_entry *e = &z->entries[i];
        if (!e->local_name_matches) {
            st = mftc_fail(f, MFT_ERR_CORRUPT, e->name,
                           (int64_t)e->local_header_offset,
                           "the local header names this member differently "
                           "than the central directory");
            break;
        }
        if ((st = mftc_zip_check_readable(z, e)) != MFT_OK)
            break;
        if (is_npy_member(e))
            st = read_array(f, z, e, &names);
        else
            st = read_other(f, z, e, &names);
    }
    set_free(&names);
    if (st != MFT_OK)
        return st;
    if (mftc_index_names(f, NULL) != MFT_OK)
        return mftc_fail(f, MFT_ERR_NOMEM, NULL, -1, "out of memory");
    return MFT_OK;
}

/* ------------------------------------------------------------ writer */

/* A tensor name as a zip member: not absolute, no "." or ".." component,
 * so that extracting the archive cannot write outside its folder. */
static int safe_member_name(const char *name)
{
    if (!name[0] || name[0] == '/' || strchr(name, '\\'))
        return 0;
    for (const char *p = name; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n;
        if (*p == '/')
            p++;
    }
    return 1;
}

mft_status mftc_write_npz(mft_writer *w)
{
    if (w->nmeta || w->nvalues)
        return mftc_writer_fail(w, MFT_ERR_UNSUPPORTED,
                                "%s: .npz files have no metadata; %zu "
                                "metadata entries would be lost",
                                w->path, w->nmeta + w->nvalues);
    for (size_t i = 0; i < w->ntensors; i++) {
        const mftc_wtensor *t = &w->tensors[i];
        mft_status st = mftc_npy_check_dtype(w, t, "npz");
        if (st != MFT_OK)
            return st;
        if (!safe_member_name(t->name) || strlen(t->name) > 0xFFFF - 4)
            return mftc_writer_fail(w, MFT_ERR_MISUSE,
                                    "%s: tensor \"%s\": the name is not a "
                                    "safe zip member path (empty, absolute, "
                                    "a '.' or '..' component, a backslash, "
                                    "or too long)",
                                    w->path, t->name);
    }
    mftc_outfile out;
    mft_status st = mftc_outfile_open(&out, w->path, w->opts.overwrite,
                                      w->errmsg);
    if (st != MFT_OK) {
        w->failed = 1;
        return st;
    }
    mftc_zipw_options zo;
    memset(&zo, 0, sizeof zo);
    zo.force_zip64 = 1;
    mftc_zipw z;
    mftc_zipw_init(&z, &out, w->errmsg, &zo);
    char *member = NULL;
    for (size_t i = 0; i < w->ntensors && st == MFT_OK; i++) {
        const mftc_wtensor *t = &w->tensors[i];
        uint8_t hdr[MFTC_NPY_HEADER_MAX];
        size_t hlen = mftc_npy_header_bytes(t->dtype, t->ndim, t->shape, hdr);
        size_t n = strlen(t->name);
        char *g = realloc(member, n + 5);
        if (!g) {
            st = mftc_writer_fail(w, MFT_ERR_NOMEM, "out of memory");
            break;
        }
        member = g;
        memcpy(member, t->name, n);
        memcpy(member + n, ".npy", 5);
        uint64_t size;
        if (!mftc_add_u64(hlen, t->nbytes, &size)) {
            st = mftc_writer_fail(w, MFT_ERR_MISUSE, "tensor too large");
            break;
        }
        st = mftc_zipw_begin(&z, member, size, 64);
        if (st == MFT_OK)
            st = mftc_zipw_write(&z, hdr, hlen);
        if (st == MFT_OK) /* the zip writer taps the output for the CRC */
            st = mftc_writer_emit(w, t, &out);
        if (st == MFT_OK)
            st = mftc_zipw_end(&z);
    }
    free(member);
    if (st == MFT_OK)
        st = mftc_zipw_finish(&z);
    mftc_zipw_free(&z);
    if (st == MFT_OK)
        st = mftc_outfile_finish(&out, w->opts.overwrite, w->errmsg);
    if (st == MFT_OK)
        st = mftc_outfile_publish(&out, w->errmsg);
    if (st == MFT_OK)
        st = mftc_writer_add_output(w, w->path);
    mftc_outfile_abandon(&out);
    return st;
}
