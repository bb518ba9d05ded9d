/* mft stats FILE [--json] [--filter GLOB] [--threads N]: per tensor min, max,
 * mean, std, NaN/Inf/zero counts, computed by mft_stats_many on all cores. */
#include "cli.h"
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mft stats FILE [--json] [--filter GLOB] [--threads N]\n\n"
    "Per tensor: min, max, mean, std, and the NaN, Inf and zero counts\n"
    "(sparsity = zeros / elements). One pass over the data, on all cores.\n\n"
    "  std is the sample standard deviation (n - 1, as torch.std). NaN and\n"
    "  Inf are counted and left out of min, max, mean and std (as torch over\n"
    "  t[torch.isfinite(t)]). Values are exact in double (F16, BF16, F8 …);\n"
    "  sums are pairwise in double. Integer tensors print exact min/max;\n"
    "  quantized tensors their dequantized values; complex tensors only the\n"
    "  counts. FLAGS: nan, inf, all-zero, constant.\n\n"
    "  --json         {\"file\", \"format\", \"tensors\": [{\"name\", \"dtype\",\n"
    "                 \"shape\", \"min\", \"max\", \"mean\", \"std\", \"nan\", \"inf\",\n"
    "                 \"zeros\", \"numel\", \"count\", \"sparsity\"}]}; a statistic\n"
    "                 without a value (no finite element; std of fewer than\n"
    "                 two) is null; a tensor without statistics (Q4_0 …) has\n"
    "                 \"skipped\": why\n"
    "  --filter GLOB  only tensors whose name matches GLOB\n"
    "  --threads N    worker threads (default: one per core)\n"
    "  -h, --help\n";

/* "%.5g", and "-" for NaN (no value). */
static void num(double v, char *buf, size_t cap)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.5g", v);
}

static void extreme(const mft_stats *s, int which, char *buf, size_t cap)
{
    if (!s->count)
        snprintf(buf, cap, "-");
    else if (s->integer == 1)
        snprintf(buf, cap, "%lld", (long long)(which ? s->imax : s->imin));
    else if (s->integer == 2)
        snprintf(buf, cap, "%llu",
                 (unsigned long long)(which ? s->umax : s->umin));
    else
        num(which ? s->max : s->min, buf, cap);
}

static void json_extreme(const mft_stats *s, int which)
{
    if (!s->count)
        printf("null");
    else if (s->integer == 1)
        printf("%lld", (long long)(which ? s->imax : s->imin));
    else if (s->integer == 2)
        printf("%llu", (unsigned long long)(which ? s->umax : s->umin));
    else
        json_double(stdout, which ? s->max : s->min);
}

static void json_or_null(double v)
{
    if (isnan(v))
        printf("null");
    else
        json_double(stdout, v);
}

void cli_stats_cell(const mft_stats *s, int field, char *buf, size_t cap)
{
    if (s->status != MFT_OK)
        snprintf(buf, cap, "-");
    else if (field < 2)
        extreme(s, field, buf, cap);
    else
        num(field == 2 ? s->mean : s->std, buf, cap);
}

void cli_stats_json(const mft_stats *s)
{
    int ok = s->status == MFT_OK;
    printf("\"min\": ");
    if (ok)
        json_extreme(s, 0);
    else
        printf("null");
    printf(", \"max\": ");
    if (ok)
        json_extreme(s, 1);
    else
        printf("null");
    printf(", \"mean\": ");
    json_or_null(ok ? s->mean : NAN);
    printf(", \"std\": ");
    json_or_null(ok ? s->std : NAN);
    if (ok)
        printf(", \"nan\": %llu, \"inf\": %llu, \"zeros\": %llu",
               (unsigned long long)s->nan, (unsigned long long)s->inf,
               (unsigned long long)s->zeros);
    else
        printf(", \"nan\": null, \"inf\": null, \"zeros\": null");
}

mft_stats *cli_stats_compute(mft_file *f, const size_t *idx, size_t n,
                             unsigned threads)
{
    mft_stats *st = malloc((n ? n : 1) * sizeof *st);
    if (!st) {
        cli_error("out of memory");
        return NULL;
    }
    uint64_t bytes = 0;
    for (size_t k = 0; k < n; k++) {
        mft_tensor t;
        mft_tensor_at(f, idx[k], &t);
        bytes += t.nbytes;
    }
    cli_progress prog;
    cli_progress_start(&prog, "stats", bytes);
    mft_stats_options o;
    memset(&o, 0, sizeof o);
    o.threads = threads;
    if (prog.on) {
        o.progress = cli_progress_update;
        o.user = &prog;
    }
    mft_status rc = mft_stats_many(f, idx, n, &o, st);
    cli_progress_end(&prog);
    if (rc != MFT_OK) {
        cli_error("%s", mft_file_errmsg(f)[0] ? mft_file_errmsg(f)
                                              : mft_strerror(rc));
        free(st);
        return NULL;
    }
    return st;
}

static void flags(const mft_stats *s, char *buf, size_t cap)
{
    buf[0] = 0;
    if (s->status != MFT_OK) {
        snprintf(buf, cap, "(%s)", s->status == MFT_ERR_UNSUPPORTED
                                       ? "sparse: skipped"
                                       : "no values: skipped");
        return;
    }
    size_t n = 0;
    if (s->nan)
        n += (size_t)snprintf(buf + n, cap - n, "%snan", n ? "," : "");
    if (s->inf && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%sinf", n ? "," : "");
    if (s->numel && s->zeros == s->numel && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%sall-zero", n ? "," : "");
    else if (s->count >= 2 && s->min == s->max && n < cap)
        snprintf(buf + n, cap - n, "%sconstant", n ? "," : "");
}

int cmd_stats(int argc, char **argv)
{
    int as_json = 0;
    unsigned threads = 0;
    const char *filter = NULL;
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"filter", required_argument, 0, 'f'},
                                         {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 'f': filter = optarg; break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 1024)
                return cli_usage_error("stats", "--threads wants 1 … 1024");
            threads = (unsigned)v;
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("stats", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("stats", "expected exactly one FILE");
    const char *path = argv[optind];
    mft_file *f = cli_open(path);
    if (!f)
        return EXIT_ERROR;
    size_t total = mft_tensor_count(f), n = 0;
    size_t *idx = malloc((total ? total : 1) * sizeof *idx);
    if (!idx) {
        cli_error("out of memory");
        mft_close(f);
        return EXIT_ERROR;
    }
    for (size_t i = 0; i < total; i++) {
        mft_tensor t;
        mft_tensor_at(f, i, &t);
        if (filter && fnmatch(filter, t.name, 0) != 0)
            continue;
        idx[n++] = i;
    }
    mft_stats *st = cli_stats_compute(f, idx, n, threads);
    if (!st) {
        free(idx);
        mft_close(f);
        return EXIT_ERROR;
    }
    char shape[1024];
    if (as_json) {
        printf("{\"file\": ");
        json_string(stdout, path);
        printf(", \"format\": \"%s\", \"tensors\": [",
               mft_format_name(mft_file_format(f)));
        for (size_t k = 0; k < n; k++) {
            mft_tensor t;
            const mft_stats *s = &st[k];
            mft_tensor_at(f, idx[k], &t);
            shape_string(&t, shape, sizeof shape);
            printf("%s{\"name\": ", k ? ", " : "");
            json_string(stdout, t.name);
            printf(", \"dtype\": \"%s\", \"shape\": %s, ",
                   mft_dtype_name(t.dtype), shape);
            cli_stats_json(s);
            if (s->status == MFT_OK) {
                printf(", \"numel\": %llu, \"count\": %llu, \"sparsity\": ",
                       (unsigned long long)s->numel,
                       (unsigned long long)s->count);
                json_or_null(s->numel ? (double)s->zeros / (double)s->numel
                                      : NAN);
            } else {
                printf(", \"numel\": %llu, \"count\": null, \"sparsity\": null, "
                       "\"skipped\": ",
                       (unsigned long long)t.numel);
                char why[128];
                snprintf(why, sizeof why, "no statistics for %s",
                         t.kind ? t.kind : mft_dtype_name(t.dtype));
                json_string(stdout, why);
            }
            printf("}");
        }
        printf("]}\n");
    } else {
        /* widths first, then rows */
        enum { NCOL = 11 };
        static const char *const head[NCOL] = {
            "NAME", "DTYPE", "SHAPE", "MIN", "MAX", "MEAN", "STD",
            "NAN", "INF", "ZEROS", "FLAGS"};
        size_t w[NCOL];
        for (int k = 0; k < NCOL; k++)
            w[k] = strlen(head[k]);
        char cell[NCOL][1024];
        uint64_t nan = 0, inf = 0, zeros = 0, values = 0;
        size_t flagged = 0;
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                if (w[0] > 60)
                    w[0] = 60;
                printf("%-*s  %-*s  %-*s  %*s  %*s  %*s  %*s  %*s  %*s  %*s  %s\n",
                       (int)w[0], head[0], (int)w[1], head[1], (int)w[2], head[2],
                       (int)w[3], head[3], (int)w[4], head[4], (int)w[5],
                       head[5], (int)w[6], head[6], (int)w[7], head[7],
                       (int)w[8], head[8], (int)w[9], head[9], head[10]);
            }
            for (size_t k = 0; k < n; k++) {
                mft_tensor t;
                const mft_stats *s = &st[k];
                mft_tensor_at(f, idx[k], &t);
                int ok = s->status == MFT_OK;
                snprintf(cell[0], sizeof cell[0], "%s", t.name);
                snprintf(cell[1], sizeof cell[1], "%s", mft_dtype_name(t.dtype));
                shape_string(&t, cell[2], sizeof cell[2]);
                if (ok) {
                    extreme(s, 0, cell[3], sizeof cell[3]);
                    extreme(s, 1, cell[4], sizeof cell[4]);
                    num(s->mean, cell[5], sizeof cell[5]);
                    num(s->std, cell[6], sizeof cell[6]);
                    group_digits(s->nan, cell[7], sizeof cell[7]);
                    group_digits(s->inf, cell[8], sizeof cell[8]);
                    if (s->numel && s->zeros)
                        snprintf(cell[9], sizeof cell[9], "%.1f%%",
                                 100.0 * (double)s->zeros / (double)s->numel);
                    else
                        snprintf(cell[9], sizeof cell[9], "0");
                } else {
                    for (int col = 3; col < 10; col++)
                        snprintf(cell[col], sizeof cell[col], "-");
                }
                flags(s, cell[10], sizeof cell[10]);
                if (pass == 0) {
                    for (int col = 0; col < NCOL; col++)
                        if (strlen(cell[col]) > w[col])
                            w[col] = strlen(cell[col]);
                    if (ok) {
                        nan += s->nan;
                        inf += s->inf;
                        zeros += s->zeros;
                        values += s->numel;
                    }
                    if (cell[10][0])
                        flagged++;
                    continue;
                }
                printf("%-*s  %-*s  %-*s  %*s  %*s  %*s  %*s  %*s  %*s  %*s",
                       (int)w[0], cell[0], (int)w[1], cell[1], (int)w[2], cell[2],
                       (int)w[3], cell[3], (int)w[4], cell[4], (int)w[5],
                       cell[5], (int)w[6], cell[6], (int)w[7], cell[7],
                       (int)w[8], cell[8], (int)w[9], cell[9]);
                /* no trailing blanks on unflagged rows */
                printf(cell[10][0] ? "  %s\n" : "%s\n", cell[10]);
            }
        }
        char a[64], b[64], z[64], v[64];
        group_digits(values, v, sizeof v);
        group_digits(nan, a, sizeof a);
        group_digits(inf, b, sizeof b);
        group_digits(zeros, z, sizeof z);
        printf("\n%zu tensors, %s values: %s NaN, %s Inf, %s zeros (%.2f%%)",
               n, v, a, b, z,
               values ? 100.0 * (double)zeros / (double)values : 0.0);
        if (flagged)
            printf("; %zu tensor%s flagged (nan, inf, all-zero, constant)",
                   flagged, flagged == 1 ? "" : "s");
        printf("\n");
    }
    free(idx);
    free(st);
    mft_close(f);
    return EXIT_OK;
}
