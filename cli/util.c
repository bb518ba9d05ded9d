#include "cli.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("mft: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mft: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'mft %s --help'.\n", cmd);
    return EXIT_ERROR;
}

mft_file *cli_open(const char *path)
{
    mft_file *f = NULL;
    mft_status st = mft_open(path, NULL, &f);
    if (st != MFT_OK) {
        if (f && mft_file_errmsg(f)[0])
            cli_error("%s", mft_file_errmsg(f));
        else
            cli_error("%s: %s", path, mft_strerror(st));
        mft_close(f);
        return NULL;
    }
    return f;
}

void json_string(FILE *out, const char *s)
{
    json_string_n(out, s, strlen(s));
}

void json_string_n(FILE *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s,
                             *end = (const unsigned char *)s + n;
         p < end; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(out, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void format_double(double v, char *buf, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
}

void json_double(FILE *out, double v)
{
    if (isnan(v)) {
        fputs("\"NaN\"", out);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", out);
        return;
    }
    char buf[40];
    format_double(v, buf, sizeof buf);
    /* keep it a float in JSON readers that care: 1 → 1.0 */
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0");
    fputs(buf, out);
}

void human_bytes(uint64_t n, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (n < 1024) {
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
        return;
    }
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v,
             units[u]);
}

void group_digits(uint64_t n, char *buf, size_t cap)
{
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < cap; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = 0;
}

void shape_string(const mft_tensor *t, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < t->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ", %llu" : "%llu",
                              (unsigned long long)t->shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v >= 0) || isinf(v))
        return -1;
    while (*end == ' ')
        end++;
    static const struct { const char *unit; double mult; } units[] = {
        {"", 1}, {"b", 1}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
        {"tb", 1e12}, {"kib", 1024.0}, {"mib", 1048576.0},
        {"gib", 1073741824.0}, {"tib", 1099511627776.0}, {"k", 1e3},
        {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            double bytes = v * units[i].mult;
            if (bytes >= 18446744073709551615.0)
                return -1;
            *out = (uint64_t)bytes;
            return 0;
        }
    }
    return -1;
}

/* ---- parallel hashing ---- */

struct hash_job {
    mft_file *f;
    unsigned char *digests;
    size_t n;
    atomic_size_t next;
    atomic_int failed;
};

static void *hash_worker(void *arg)
{
    struct hash_job *job = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->n || atomic_load(&job->failed))
            break;
        mft_tensor t;
        if (mft_tensor_at(job->f, i, &t) == MFT_OK && t.kind)
            continue; /* sparse: no digest */
        if (mft_tensor_sha256(job->f, i, job->digests + 32 * i) != MFT_OK)
            atomic_store(&job->failed, 1);
    }
    return NULL;
}

unsigned char *cli_hash_all(mft_file *f)
{
    size_t n = mft_tensor_count(f);
    unsigned char *d = calloc(n ? n : 1, 32);
    if (!d) {
        cli_error("out of memory");
        return NULL;
    }
    struct hash_job job;
    job.f = f;
    job.digests = d;
    job.n = n;
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, 0);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nthreads = cores > 1 ? (size_t)cores : 1;
    if (nthreads > 64)
        nthreads = 64;
    if (nthreads > n)
        nthreads = n ? n : 1;
    pthread_t tid[64];
    size_t started = 0;
    for (size_t t = 1; t < nthreads; t++)
        if (pthread_create(&tid[started], NULL, hash_worker, &job) == 0)
            started++;
    hash_worker(&job);
    for (size_t t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    if (atomic_load(&job.failed)) {
        cli_error("%s: hashing failed: %s", mft_file_path(f),
                  mft_file_errmsg(f));
        free(d);
        return NULL;
    }
    return d;
}
