/* Zip archive reader (internal): the container under PyTorch checkpoints,
 * TorchScript archives, .npz and .keras files.
 *
 * Layout (PKWARE APPNOTE 6.3; shared/reference/pytorch-format.md §2.4,
 * safetensors-gguf-npy.md §3.3):
 *   [local header 30 B + name + extra][data] …   one per member
 *   [central directory entry 46 B + name + extra + comment] …
 *   [zip64 end record 56 B][zip64 locator 20 B]   when zip64
 *   [end of central directory 22 B + comment ≤ 65535 B]
 *
 * Everything is driven from the central directory (so data descriptors and
 * local headers that carry zeros are handled), except the data offset,
 * which comes from the LOCAL header: writers such as torch pad the local
 * extra field only. Every offset and size is checked against the archive
 * with checked arithmetic when the archive is opened, so a member's data
 * range [data_offset, data_offset + comp_size) always lies inside it and
 * before the central directory, and no two members overlap. Member names
 * are copied NUL-terminated (a NUL inside a name is refused) and are never
 * used as file-system paths.
 *
 * Memory: the entry table, the names and the name index are allocated in
 * the handle's arena and live as long as the mft_file; there is nothing to
 * close. Errors go to the mft_file given at open, naming the member and the
 * byte offset in the archive. */
#ifndef MFT_CONTAINER_ZIP_H
#define MFT_CONTAINER_ZIP_H

#include "../core/internal.h"

/* Compression methods mft knows by name (for messages) and reads (0, 8). */
#define MFTC_ZIP_STORED 0
#define MFTC_ZIP_DEFLATED 8

/* General-purpose flag bits. */
#define MFTC_ZIP_FLAG_ENCRYPTED 0x0001u
#define MFTC_ZIP_FLAG_DESCRIPTOR 0x0008u /* sizes and CRC after the data */
#define MFTC_ZIP_FLAG_STRONG 0x0040u     /* strong encryption */
#define MFTC_ZIP_FLAG_UTF8 0x0800u

typedef struct mftc_zip_entry {
    const char *name;      /* NUL-terminated copy, in the handle's arena */
    size_t name_len;
    uint16_t method;       /* MFTC_ZIP_STORED, MFTC_ZIP_DEFLATED, … */
    uint16_t flags;
    uint32_t crc32;        /* from the central directory */
    uint64_t comp_size;    /* bytes stored in the archive */
    uint64_t size;         /* bytes once extracted (declared) */
    uint64_t local_header_offset;
    uint64_t data_offset;  /* first data byte, from the local header */
    uint64_t cd_offset;    /* its central directory record, for messages */
    int local_name_matches; /* the local header repeats the central name */
    int zip64;             /* sizes or offset came from a zip64 extra */
} mftc_zip_entry;

typedef struct mftc_zip {
    mft_file *f;           /* where failures are reported */
    const uint8_t *data;   /* the archive bytes (borrowed) */
    uint64_t size;
    mftc_zip_entry *entries; /* central directory order */
    size_t count;
    size_t duplicates;     /* entries whose name an earlier entry has */
    uint64_t cd_offset, cd_size;
    uint64_t eocd_offset;  /* the classic end record */
    int zip64;             /* a zip64 end record was present and used */
    const uint8_t *comment; /* archive comment (borrowed) */
    size_t comment_len;
    /* name hash → entry index + 1 of the first entry with that name */
    size_t *index;
    size_t index_cap;
} mftc_zip;

/* Parse the archive in [data, data + size) and validate it. On failure the
 * handle's message says what is wrong and where; *z is then unusable. */
mft_status mftc_zip_open(mftc_zip *z, mft_file *f, const uint8_t *data,
                         uint64_t size);

/* The first entry named exactly `name`, or NULL. */
const mftc_zip_entry *mftc_zip_find(const mftc_zip *z, const char *name);
/* The first entry (central directory order) whose name ends with `suffix`,
 * or NULL: mftc_zip_find_suffix(z, "/data.pkl") finds torch's pickle under
 * whatever top-level folder the archive has. */
const mftc_zip_entry *mftc_zip_find_suffix(const mftc_zip *z,
                                           const char *suffix);

/* Whether the member can be extracted at all: not encrypted, stored or
 * deflated, and (deflated) a declared size within MFT_LIMIT_INFLATE_BYTES.
 * Readers call this at open time so a bomb is refused before any work. */
mft_status mftc_zip_check_readable(const mftc_zip *z, const mftc_zip_entry *e);

/* The member's bytes (e->size of them). A stored member is not copied:
 * *out points into the archive and *owned is NULL. A deflated member is
 * inflated (zlib, as Python's zipfile) into a buffer returned in *owned
 * (== *out), which the caller frees; its declared size is checked against
 * MFT_LIMIT_INFLATE_BYTES before anything is allocated, and it must be one
 * complete deflate stream inflating to exactly that size.
 * Encrypted members and other methods are MFT_ERR_UNSUPPORTED. */
mft_status mftc_zip_data(const mftc_zip *z, const mftc_zip_entry *e,
                         const uint8_t **out, uint8_t **owned);

/* The first min(n, e->size) bytes of the member into buf (inflating only as
 * much as needed); *got receives the count. For reading a header without
 * extracting the member. */
mft_status mftc_zip_prefix(const mftc_zip *z, const mftc_zip_entry *e,
                           uint8_t *buf, size_t n, size_t *got);

/* Stream bytes [skip, skip + len) of the member to `sink` in chunks of at
 * most MFT_STREAM_CHUNK: stored members zero-copy, deflated ones inflated as
 * they go (memory stays flat whatever the size) and inflated to the end, so
 * a member that does not inflate to exactly its declared size is refused
 * as by mftc_zip_data. A non-zero return from sink stops the walk with
 * MFT_ERR_MISUSE. skip + len must lie within e->size. */
mft_status mftc_zip_stream(const mftc_zip *z, const mftc_zip_entry *e,
                           uint64_t skip, uint64_t len, mft_bytes_sink sink,
                           void *user);

/* CRC-32 of the member's extracted bytes into *crc, and *ok = whether it
 * equals the central directory's (for `mft verify`). A CRC mismatch is not
 * an error of this function. */
mft_status mftc_zip_crc_ok(const mftc_zip *z, const mftc_zip_entry *e,
                           uint32_t *crc, int *ok);

/* CRC-32 (zlib's polynomial), continuing from `crc` (0 to start). */
uint32_t mftc_crc32(uint32_t crc, const void *p, size_t n);

/* "stored", "deflated", "bzip2" … for messages. */
const char *mftc_zip_method_name(unsigned method);

#endif
