/* mft ls FILE [--json] [--hash] [--filter GLOB]: one line per tensor. */
#include "cli.h"
#include <fnmatch.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mft ls FILE [--json] [--hash] [--filter GLOB]\n\n"
    "List the tensors of FILE in file order: name, dtype, shape, parameters\n"
    "and size.\n\n"
    "  --json          print {\"file\", \"format\", \"tensors\": [...]}\n"
    "  --hash          add each tensor's sha256 (of its row-major elements;\n"
    "                  the same tensor has the same digest in every format)\n"
    "  --filter GLOB   only names matching GLOB (fnmatch; '*' crosses '.')\n"
    "  -h, --help\n";

int cmd_ls(int argc, char **argv)
{
    int as_json = 0, hash = 0;
    const char *filter = NULL;
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"hash", no_argument, 0, 's'},
                                         {"filter", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 's': hash = 1; break;
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
            printf("}");
        }
        printf("]}\n");
    } else {
        /* two passes: column widths, then rows */
        size_t wname = 4, wshape = 5, wparams = 6;
        char buf[64];
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
        }
        if (wname > 80)
            wname = 80;
        printf("%-*s  %-6s  %-*s  %*s  %10s%s\n", (int)wname, "NAME", "DTYPE",
               (int)wshape, "SHAPE", (int)wparams, "PARAMS", "SIZE",
               digests ? "  SHA256" : "");
        for (size_t i = 0; i < n; i++) {
            mft_tensor t;
            mft_tensor_at(f, i, &t);
            if (filter && fnmatch(filter, t.name, 0) != 0)
                continue;
            shape_string(&t, shape, sizeof shape);
            group_digits(t.numel, buf, sizeof buf);
            char size[32];
            human_bytes(t.nbytes, size, sizeof size);
            printf("%-*s  %-6s  %-*s  %*s  %10s", (int)wname, t.name,
                   mft_dtype_name(t.dtype), (int)wshape, shape, (int)wparams,
                   buf, size);
            if (digests && !t.kind) {
                for (int k = 0; k < 32; k++)
                    sprintf(hex + 2 * k, "%02x", digests[32 * i + (size_t)k]);
                printf("  %s", hex);
            } else if (t.kind) {
                printf("  (%s)", t.kind);
            }
            printf("\n");
        }
    }
    free(digests);
    mft_close(f);
    return EXIT_OK;
}
