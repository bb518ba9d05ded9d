/* mft ls FILE [--json] [--hash] [--stats] [--filter GLOB]: one line per
 * tensor. */
#include "cli.h"
#include <fnmatch.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mft ls FILE [--json] [--hash] [--stats] [--filter GLOB]\n\n"
    "List the tensors of FILE in file order: name, dtype, shape, parameters\n"
    "and size; then the totals (tensors, parameters, bytes, size as F32) and\n"
    "the tensors, parameters and bytes per dtype.\n\n"
    "  --json          print {\"file\", \"format\", \"tensors\": [...]}\n"
    "  --hash          add each tensor's sha256 (of its row-major elements;\n"
    "                  the same tensor has the same digest in every format)\n"
    "  --stats         add min, max, mean and std (JSON: \"stats\" with the\n"
    "                  NaN/Inf/zero counts too; see mft stats --help)\n"
    "  --filter GLOB   only names matching GLOB (fnmatch; '*' crosses '.')\n"
    "  -h, --help\n";

/* The footer: totals and the dtype summary of the listed tensors. */
static void print_totals(mft_file *f, const char *filter)
{
    struct { uint64_t tensors, params, bytes; } by[MFT_DTYPE_COUNT_];
    memset(by, 0, sizeof by);
    uint64_t tensors = 0, params = 0, bytes = 0, f32 = 0;
    for (size_t i = 0; i < mft_tensor_count(f); i++) {
        mft_tensor t;
        mft_tensor_at(f, i, &t);
        if (filter && fnmatch(filter, t.name, 0) != 0)
            continue;
        tensors++;
        params += t.numel;
        bytes += t.nbytes;
        f32 += t.numel * 4;
        if ((unsigned)t.dtype < MFT_DTYPE_COUNT_) {
            by[t.dtype].tensors++;
            by[t.dtype].params += t.numel;
            by[t.dtype].bytes += t.nbytes;
        }
    }
    char a[64], b[64], c[64], d[64];
    group_digits(params, a, sizeof a);
    human_bytes(bytes, b, sizeof b);
    group_digits(bytes, c, sizeof c);
    human_bytes(f32, d, sizeof d);
    printf("\n%llu tensor%s, %s parameters, %s (%s bytes), %s as F32\n",
           (unsigned long long)tensors, tensors == 1 ? "" : "s", a, b, c, d);
    /* one line per dtype, largest first */
    int order[MFT_DTYPE_COUNT_], n = 0;
    for (int k = 0; k < MFT_DTYPE_COUNT_; k++)
        if (by[k].tensors)
            order[n++] = k;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && by[order[j]].bytes > by[order[j - 1]].bytes;
             j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    size_t wp = 1;
    for (int i = 0; i < n; i++) {
        group_digits(by[order[i]].params, a, sizeof a);
        if (strlen(a) > wp)
            wp = strlen(a);
    }
    for (int i = 0; i < n; i++) {
        int k = order[i];
        group_digits(by[k].params, a, sizeof a);
        human_bytes(by[k].bytes, b, sizeof b);
        printf("  %-11s %6llu tensor%s  %*s params  %10s\n",
               mft_dtype_name((mft_dtype)k), (unsigned long long)by[k].tensors,
               by[k].tensors == 1 ? " " : "s", (int)wp, a, b);
    }
}

int cmd_ls(int argc, char **argv)
{
    int as_json = 0, hash = 0, with_stats = 0;
    const char *filter = NULL;
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"hash", no_argument, 0, 's'},
                                         {"stats", no_argument, 0, 'S'},
                                         {"filter", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 's': hash = 1; break;
        case 'S': with_stats = 1; break;
        case 'f': filter = optarg; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("ls", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("ls", "expected exactly one FILE");
    const char *path = argv[optind];
    mft_file *f = cli_open(path);
    if (!f)
        return EXIT_ERROR;
    size_t n = mft_tensor_count(f);
    unsigned char *digests = NULL;
    if (hash && !(digests = cli_hash_all(f))) {
        mft_close(f);
        return EXIT_ERROR;
    }
    /* stats[i]: tensor i's statistics, for the listed tensors */
    mft_stats *stats = NULL, *computed = NULL;
    size_t *idx = NULL;
    if (with_stats) {
        idx = malloc((n ? n : 1) * sizeof *idx);
        stats = calloc(n ? n : 1, sizeof *stats);
        size_t m = 0;
        for (size_t i = 0; idx && i < n; i++) {
            mft_tensor t;
            mft_tensor_at(f, i, &t);
            if (!filter || fnmatch(filter, t.name, 0) == 0)
                idx[m++] = i;
        }
        if (!idx || !stats || !(computed = cli_stats_compute(f, idx, m, 0))) {
            if (!idx || !stats)
                cli_error("out of memory");
            free(idx);
            free(stats);
            free(digests);
            mft_close(f);
            return EXIT_ERROR;
        }
        for (size_t k = 0; k < m; k++)
            stats[idx[k]] = computed[k];
        free(computed);
        free(idx);
    }
    char shape[1024], hex[65];
    if (as_json) {
        printf("{\"file\": ");
        json_string(stdout, path);
        printf(", \"format\": \"%s\", \"tensors\": [",
               mft_format_name(mft_file_format(f)));
        int first = 1;
        for (size_t i = 0; i < n; i++) {
            mft_tensor t;
            mft_tensor_at(f, i, &t);
            if (filter && fnmatch(filter, t.name, 0) != 0)
                continue;
            printf("%s{\"name\": ", first ? "" : ", ");
            first = 0;
            json_string(stdout, t.name);
            shape_string(&t, shape, sizeof shape);
            printf(", \"dtype\": \"%s\", \"shape\": %s", mft_dtype_name(t.dtype),
                   shape);
            if (t.kind)
                printf(", \"kind\": \"%s\"", t.kind);
            else
                printf(", \"nbytes\": %llu", (unsigned long long)t.nbytes);
            if (t.quant_count) {
                printf(", \"quant\": {\"scale\": [");
                for (size_t q = 0; q < t.quant_count; q++) {
                    if (q)
                        printf(", ");
                    json_double(stdout, t.quant_scale[q]);
                }
                printf("], \"zero_point\": [");
                for (size_t q = 0; q < t.quant_count; q++)
                    printf(q ? ", %lld" : "%lld", (long long)t.quant_zero_point[q]);
                printf("]");
                if (t.quant_axis >= 0)
                    printf(", \"axis\": %d", t.quant_axis);
                printf("}");
            }
            if (digests && !t.kind) {
                for (int k = 0; k < 32; k++)
                    sprintf(hex + 2 * k, "%02x", digests[32 * i + (size_t)k]);
                printf(", \"sha256\": \"%s\"", hex);
            }
            if (stats) {
                printf(", \"stats\": {");
                cli_stats_json(&stats[i]);
                printf("}");
            }
            printf("}");
        }
        printf("]}\n");
    } else {
        /* two passes: column widths, then rows */
        size_t wname = 4, wshape = 5, wparams = 6, wdtype = 6, wst[4] = {3, 3, 4, 3};
        char buf[64], cell[64];
        for (size_t i = 0; i < n; i++) {
            mft_tensor t;
            mft_tensor_at(f, i, &t);
            if (filter && fnmatch(filter, t.name, 0) != 0)
                continue;
            size_t l = strlen(t.name);
            if (l > wname)
                wname = l;
            shape_string(&t, shape, sizeof shape);
            if (strlen(shape) > wshape)
                wshape = strlen(shape);
            group_digits(t.numel, buf, sizeof buf);
            if (strlen(buf) > wparams)
                wparams = strlen(buf);
            if (strlen(mft_dtype_name(t.dtype)) > wdtype)
                wdtype = strlen(mft_dtype_name(t.dtype));
            for (int k = 0; stats && k < 4; k++) {
                cli_stats_cell(&stats[i], k, cell, sizeof cell);
                if (strlen(cell) > wst[k])
                    wst[k] = strlen(cell);
            }
        }
        if (wname > 80)
            wname = 80;
        printf("%-*s  %-*s  %-*s  %*s  %10s", (int)wname, "NAME", (int)wdtype,
               "DTYPE", (int)wshape, "SHAPE", (int)wparams, "PARAMS", "SIZE");
        if (stats)
            printf("  %*s  %*s  %*s  %*s", (int)wst[0], "MIN", (int)wst[1],
                   "MAX", (int)wst[2], "MEAN", (int)wst[3], "STD");
        printf("%s\n", digests ? "  SHA256" : "");
        for (size_t i = 0; i < n; i++) {
            mft_tensor t;
            mft_tensor_at(f, i, &t);
            if (filter && fnmatch(filter, t.name, 0) != 0)
                continue;
            shape_string(&t, shape, sizeof shape);
            group_digits(t.numel, buf, sizeof buf);
            char size[32];
            human_bytes(t.nbytes, size, sizeof size);
            printf("%-*s  %-*s  %-*s  %*s  %10s", (int)wname, t.name,
                   (int)wdtype, mft_dtype_name(t.dtype), (int)wshape, shape,
                   (int)wparams, buf, size);
            for (int k = 0; stats && k < 4; k++) {
                cli_stats_cell(&stats[i], k, cell, sizeof cell);
                printf("  %*s", (int)wst[k], cell);
            }
            if (digests && !t.kind) {
                for (int k = 0; k < 32; k++)
                    sprintf(hex + 2 * k, "%02x", digests[32 * i + (size_t)k]);
                printf("  %s", hex);
            } else if (t.kind) {
                printf("  (%s)", t.kind);
            }
            printf("\n");
        }
        print_totals(f, filter);
    }
    free(digests);
    free(stats);
    mft_close(f);
    return EXIT_OK;
}
