#include "atomic.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static mode_t file_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

mft_status mftc_outfile_open(mftc_outfile *o, const char *target, int overwrite,
                             char *err)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    struct stat st;
    if (stat(target, &st) == 0) {
        if (!overwrite) {
            snprintf(err, MFTC_ERRMSG_SIZE,
                     "%s: output exists (use --force to replace it)", target);
            return MFT_ERR_EXISTS;
        }
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, MFTC_ERRMSG_SIZE, "%s: output is a directory",
                     target);
            return MFT_ERR_IO;
        }
    }
    o->target = strdup(target);
    char *dir = dir_of(target);
    if (!o->target || !dir) {
        free(dir);
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: out of memory", target);
        return MFT_ERR_NOMEM;
    }
#ifdef O_TMPFILE
    o->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, file_mode());
#endif
    if (o->fd < 0) {
        size_t n = strlen(dir) + strlen(base_of(target)) + 32;
        o->tmpname = malloc(n);
        if (o->tmpname) {
            snprintf(o->tmpname, n, "%s/.%s.mft-XXXXXX", dir, base_of(target));
            o->fd = mkstemp(o->tmpname);
            if (o->fd >= 0)
                fchmod(o->fd, file_mode());
        }
    }
    free(dir);
    if (o->fd < 0) {
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: cannot create a file beside it: %s",
                 target, strerror(errno));
        free(o->tmpname);
        o->tmpname = NULL;
        return MFT_ERR_IO;
    }
    return MFT_OK;
}

mft_status mftc_outfile_write(mftc_outfile *o, const void *buf, size_t len,
                              char *err)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(o->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, MFTC_ERRMSG_SIZE, "%s: write failed at byte %llu: %s",
                     o->target, (unsigned long long)o->written,
                     w < 0 ? strerror(errno) : "no progress");
            return MFT_ERR_IO;
        }
        if (o->tap)
            o->tap(o->tap_user, p, (size_t)w);
        p += w;
        len -= (size_t)w;
        o->written += (uint64_t)w;
    }
    return MFT_OK;
}

mft_status mftc_outfile_finish(mftc_outfile *o, int overwrite, char *err)
{
    if (fsync(o->fd) != 0) {
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: fsync failed: %s", o->target,
                 strerror(errno));
        return MFT_ERR_IO;
    }
    if (!o->tmpname) {
        /* give the unnamed file a hidden name so rename can replace the
         * target atomically (linkat cannot replace) */
        char *dir = dir_of(o->target);
        size_t n = (dir ? strlen(dir) : 0) + strlen(base_of(o->target)) + 48;
        char *name = malloc(n);
        char proc[64];
        int ok = 0;
        for (int attempt = 0; dir && name && attempt < 16 && !ok; attempt++) {
            snprintf(name, n, "%s/.%s.mft-%ld-%d", dir, base_of(o->target),
                     (long)getpid(), attempt);
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0)
                ok = 1;
            else if (errno != EEXIST)
                break;
        }
        free(dir);
        if (!ok) {
            snprintf(err, MFTC_ERRMSG_SIZE, "%s: cannot name the new file: %s",
                     o->target, strerror(errno));
            free(name);
            return MFT_ERR_IO;
        }
        o->tmpname = name;
    }
    struct stat st;
    if (!overwrite && stat(o->target, &st) == 0) {
        snprintf(err, MFTC_ERRMSG_SIZE,
                 "%s: output appeared while writing (use --force to replace it)",
                 o->target);
        return MFT_ERR_EXISTS;
    }
    return MFT_OK;
}

mft_status mftc_outfile_publish(mftc_outfile *o, char *err)
{
    if (rename(o->tmpname, o->target) != 0) {
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: rename failed: %s", o->target,
                 strerror(errno));
        return MFT_ERR_IO;
    }
    free(o->tmpname);
    o->tmpname = NULL;
    char *dir = dir_of(o->target);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    close(o->fd);
    o->fd = -1;
    free(o->target);
    o->target = NULL;
    return MFT_OK;
}

void mftc_outfile_abandon(mftc_outfile *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmpname)
        unlink(o->tmpname);
    free(o->tmpname);
    free(o->target);
    o->tmpname = NULL;
    o->target = NULL;
}
