/* Streaming zip writer (internal) into an mftc_outfile (src/core/atomic.h).
 *
 *   mftc_zipw z;
 *   mftc_zipw_init(&z, &out, errbuf, &opts);
 *   for each member:
 *       mftc_zipw_begin(&z, name, size, 64);   // size known up front
 *       mftc_zipw_write(&z, bytes, n) …        // or mft_bytes_sink mftc_zipw_sink
 *       mftc_zipw_end(&z);
 *   mftc_zipw_finish(&z);                      // central directory + end records
 *   mftc_zipw_free(&z);                        // always
 *
 * Members are stored (method 0); the CRC-32 is computed as the bytes go by.
 * Alignment: with align > 1 the local header's extra field carries a padding
 * record (id 0x4246 "FB", filled with 'Z', as torch writes it) sized so the
 * member's data starts at a multiple of align in the output file. Zip64
 * extra fields and end records are written whenever a size, an offset or
 * the member count needs them, or always when asked to.
 *
 * By default the CRC is patched into the local header once the member is
 * written (pwrite on the output's descriptor), so local headers are complete
 * as Python's zipfile writes them; with data_descriptor the local header
 * carries zeros, flag bit 3 is set and a data descriptor follows the data,
 * as torch (miniz) writes them.
 *
 * Errors are written into `err` (MFTC_ERRMSG_SIZE bytes, e.g. a writer's
 * errmsg); after an error every call fails with the same status. */
#ifndef MFT_CONTAINER_ZIP_WRITE_H
#define MFT_CONTAINER_ZIP_WRITE_H

#include "../core/atomic.h"

typedef struct mftc_zipw_options {
    /* Every member gets a zip64 extra field (with its 64-bit sizes) in its
     * local header, as numpy's savez does (force_zip64=True). */
    int force_zip64;
    /* Always end with the zip64 end record and locator (torch). */
    int zip64_end;
    /* Flag bit 3, zero CRC/sizes in the local header and a data descriptor
     * after each member (under torch_fields an empty member has neither
     * bit 3 nor a descriptor, exactly as miniz writes it); else the CRC is
     * patched in place. */
    int data_descriptor;
    /* Header fields as torch's patched miniz writes them: versions 0, flag
     * bit 11 (UTF-8) always, DOS time/date 0, attributes 0, and a local
     * zip64 extra holding the 64-bit sizes (size ≥ 0xFFFFFFFF) and header
     * offset (offset ≥ 0xFFFFFFFF) when needed. Otherwise: versions 20/45,
     * made by Unix, bit 11 only for non-ASCII names, 1980-01-01 00:00,
     * mode 0644, local zip64 extra with both sizes when needed or forced. */
    int torch_fields;
} mftc_zipw_options;

typedef struct mftc_zipw_member {
    char *name;
    uint16_t name_len;
    uint16_t flags;
    uint32_t crc;
    uint64_t size;
    uint64_t lho;
    int local_zip64; /* the local header has a zip64 extra */
} mftc_zipw_member;

typedef struct mftc_zipw {
    mftc_outfile *out;
    char *err;
    mftc_zipw_options opt;
    mftc_zipw_member *members;
    size_t count, cap;
    int in_member;
    uint64_t declared, data_start;
    uint32_t crc;
    mft_status failed; /* MFT_OK until something fails */
} mftc_zipw;

/* Start an archive at the output's current position (offsets are absolute
 * file offsets). `opt` may be NULL for the defaults (all zero). */
void mftc_zipw_init(mftc_zipw *z, mftc_outfile *out, char *err,
                    const mftc_zipw_options *opt);
/* Begin a stored member of exactly `size` bytes whose data starts at a
 * multiple of `align` (0 or 1: no alignment; else a power of two ≤ 32768).
 * The name must be 1–65535 bytes without NUL. */
mft_status mftc_zipw_begin(mftc_zipw *z, const char *name, uint64_t size,
                           unsigned align);
/* Write member bytes. Between begin and end the member's bytes may also
 * go to the output directly (mftc_outfile_write, mftc_writer_emit): the
 * writer taps the output to compute the CRC, and end() checks the count. */
mft_status mftc_zipw_write(mftc_zipw *z, const void *p, size_t n);
/* mft_bytes_sink adaptor: `user` is the mftc_zipw. */
int mftc_zipw_sink(void *user, const void *bytes, size_t len);
/* Finish the member: exactly the declared size must have been written. */
mft_status mftc_zipw_end(mftc_zipw *z);
/* Write the central directory and the end records. */
mft_status mftc_zipw_finish(mftc_zipw *z);
void mftc_zipw_free(mftc_zipw *z);

#endif
