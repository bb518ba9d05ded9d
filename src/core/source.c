/* File sources: a read-only private mapping (the normal case: tensor bytes
 * are borrowed from it), or a heap copy for callers that ask for no mmap. */
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

mft_status mftc_source_open(mftc_source *s, const char *path, int no_mmap,
                            char *err)
{
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: cannot open: %s", path,
                 strerror(errno));
        return MFT_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: cannot stat: %s", path,
                 strerror(errno));
        close(fd);
        return MFT_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: is a directory", path);
        close(fd);
        return MFT_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: not a regular file", path);
        close(fd);
        return MFT_ERR_IO;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size > (uint64_t)SIZE_MAX) {
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: too large to map", path);
        close(fd);
        return MFT_ERR_LIMIT;
    }
    if (size == 0) {
        s->data = (const uint8_t *)"";
        s->size = 0;
        s->kind = 3;
        close(fd);
        return MFT_OK;
    }
    if (!no_mmap) {
        void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            close(fd);
            s->data = p;
            s->size = size;
            s->kind = 1;
            return MFT_OK;
        }
        /* fall through to reading, e.g. on file systems without mmap */
    }
    uint8_t *buf = malloc((size_t)size);
    if (!buf) {
        snprintf(err, MFTC_ERRMSG_SIZE, "%s: out of memory reading %llu bytes",
                 path, (unsigned long long)size);
        close(fd);
        return MFT_ERR_NOMEM;
    }
    uint64_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, buf + got, (size_t)(size - got), (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, MFTC_ERRMSG_SIZE, "%s: read failed at byte %llu: %s",
                     path, (unsigned long long)got,
                     r < 0 ? strerror(errno) : "file shrank");
            free(buf);
            close(fd);
            return MFT_ERR_IO;
        }
        got += (uint64_t)r;
    }
    close(fd);
    s->data = buf;
    s->size = size;
    s->kind = 2;
    return MFT_OK;
}

void mftc_source_close(mftc_source *s)
{
    if (s->kind == 1)
        munmap((void *)s->data, (size_t)s->size);
    else if (s->kind == 2)
        free((void *)s->data);
    memset(s, 0, sizeof *s);
}

void mftc_source_done(const mftc_source *s, const uint8_t *p, uint64_t len)
{
    if (!s || s->kind != 1 || p < s->data || p >= s->data + s->size)
        return;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    uintptr_t start = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)p + (uintptr_t)len) & ~((uintptr_t)page - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_DONTNEED);
}

void mftc_source_willneed(const mftc_source *s, uint64_t off, uint64_t len)
{
    if (s->kind != 1 || off >= s->size)
        return;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    uint64_t start = off - off % (uint64_t)page;
    uint64_t end = off + len > s->size ? s->size : off + len;
    madvise((void *)(s->data + start), (size_t)(end - start), MADV_WILLNEED);
}
