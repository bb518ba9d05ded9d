/* Atomic output files: bytes go to an unnamed (O_TMPFILE) or hidden temporary
 * file in the target's directory; publish() fsyncs it, gives it its final
 * name with rename(2) and fsyncs the directory, so a reader — or a crash, or
 * SIGKILL — sees the old target or the complete new one, never a mix.
 * abandon() removes every trace. Shared by every writer. */
#ifndef MFT_CORE_ATOMIC_H
#define MFT_CORE_ATOMIC_H
#include "internal.h"

typedef struct mftc_outfile {
    int fd;
    char *target;  /* final path */
    char *tmpname; /* named temporary (mkstemp fallback), else NULL */
    uint64_t written;
    /* When set, sees every byte written, in order (the zip writer's CRC-32
     * of a member whatever writes the member's bytes). */
    void (*tap)(void *user, const void *buf, size_t len);
    void *tap_user;
} mftc_outfile;

/* Create the temporary for `target`. Fails with MFT_ERR_EXISTS when the target
 * exists and !overwrite. `err` receives a message (MFTC_ERRMSG_SIZE). */
mft_status mftc_outfile_open(mftc_outfile *o, const char *target, int overwrite,
                             char *err);
mft_status mftc_outfile_write(mftc_outfile *o, const void *buf, size_t len,
                              char *err);
/* Make the data durable under its temporary name (a named file, hidden). */
mft_status mftc_outfile_finish(mftc_outfile *o, int overwrite, char *err);
/* Rename onto the target (after finish). */
mft_status mftc_outfile_publish(mftc_outfile *o, char *err);
void mftc_outfile_abandon(mftc_outfile *o);
#endif
