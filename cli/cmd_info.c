/* mft info FILE [--json]: what the file is and what it holds, in totals. */
#include "cli.h"
#include <getopt.h>
#include <string.h>

static const char help[] =
    "usage: mft info FILE [--json]\n\n"
    "Show the file's format, tensor count, parameter count, bytes by dtype\n"
    "and its metadata. Reads only the header.\n\n"
    "  --json    print one JSON object\n"
    "  -h, --help\n";

struct dtype_total {
    uint64_t tensors, params, bytes;
};

static void print_value(FILE *out, const mft_value *v, int as_json)
{
    size_t n;
    const char *s;
    switch (mft_value_get_kind(v)) {
    case MFT_VALUE_STRING:
        s = mft_value_bytes(v, &n);
        if (as_json)
            json_string(out, s);
        else
            fputs(s, out);
        break;
    case MFT_VALUE_INT:
        fprintf(out, "%lld", (long long)mft_value_int(v));
        break;
    case MFT_VALUE_FLOAT:
        json_double(out, mft_value_float(v));
        break;
    case MFT_VALUE_BOOL:
        fputs(mft_value_bool(v) ? "true" : "false", out);
        break;
    case MFT_VALUE_NONE:
        fputs("null", out);
        break;
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
        fputc('[', out);
        for (size_t i = 0; i < mft_value_len(v); i++) {
            if (i)
                fputs(", ", out);
            print_value(out, mft_value_item(v, i), 1);
        }
        fputc(']', out);
        break;
    case MFT_VALUE_DICT:
        fputc('{', out);
        for (size_t i = 0; i < mft_value_len(v); i++) {
            if (i)
                fputs(", ", out);
            print_value(out, mft_value_key(v, i), 1);
            fputs(": ", out);
            print_value(out, mft_value_item(v, i), 1);
        }
        fputc('}', out);
        break;
    default:
        fputs(as_json ? "null" : "?", out);
    }
}

int cmd_info(int argc, char **argv)
{
    int as_json = 0;
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            as_json = 1;
        else if (c == 'h') {
            fputs(help, stdout);
            return EXIT_OK;
        } else
            return cli_usage_error("info", "bad option");
    }
    if (optind != argc - 1)
        return cli_usage_error("info", "expected exactly one FILE");
    const char *path = argv[optind];
    mft_file *f = cli_open(path);
    if (!f)
        return EXIT_ERROR;

    struct dtype_total totals[MFT_DTYPE_COUNT_];
    memset(totals, 0, sizeof totals);
    uint64_t params = 0, bytes = 0, f32_bytes = 0;
    size_t n = mft_tensor_count(f);
    for (size_t i = 0; i < n; i++) {
        mft_tensor t;
        mft_tensor_at(f, i, &t);
        totals[t.dtype].tensors++;
        totals[t.dtype].params += t.numel;
        totals[t.dtype].bytes += t.nbytes;
        params += t.numel;
        bytes += t.nbytes;
        f32_bytes += t.numel * 4;
    }
    const mft_value *meta = mft_file_metadata(f);
    const char *format = mft_format_name(mft_file_format(f));

    if (as_json) {
        printf("{\"file\": ");
        json_string(stdout, path);
        printf(", \"format\": \"%s\", \"tensors\": %zu, \"parameters\": %llu, "
               "\"nbytes\": %llu, \"dtypes\": {",
               format, n, (unsigned long long)params,
               (unsigned long long)bytes);
        int first = 1;
        for (int d = 0; d < MFT_DTYPE_COUNT_; d++) {
            if (!totals[d].tensors)
                continue;
            printf("%s\"%s\": {\"tensors\": %llu, \"parameters\": %llu, "
                   "\"nbytes\": %llu}",
                   first ? "" : ", ", mft_dtype_name((mft_dtype)d),
                   (unsigned long long)totals[d].tensors,
                   (unsigned long long)totals[d].params,
                   (unsigned long long)totals[d].bytes);
            first = 0;
        }
        printf("}, \"metadata\": ");
        if (meta)
            print_value(stdout, meta, 1);
        else
            printf("{}");
        printf("}\n");
    } else {
        char a[64], b[64];
        printf("file        %s\n", path);
        printf("format      %s\n", format);
        printf("tensors     %zu\n", n);
        group_digits(params, a, sizeof a);
        printf("parameters  %s\n", a);
        human_bytes(bytes, a, sizeof a);
        group_digits(bytes, b, sizeof b);
        printf("size        %s (%s bytes)\n", a, b);
        human_bytes(f32_bytes, a, sizeof a);
        printf("size as F32 %s\n", a);
        int first = 1;
        for (int d = 0; d < MFT_DTYPE_COUNT_; d++) {
            if (!totals[d].tensors)
                continue;
            group_digits(totals[d].params, a, sizeof a);
            human_bytes(totals[d].bytes, b, sizeof b);
            printf("%s%-5s %6llu tensors  %14s params  %10s\n",
                   first ? "dtypes      " : "            ",
                   mft_dtype_name((mft_dtype)d),
                   (unsigned long long)totals[d].tensors, a, b);
            first = 0;
        }
        size_t nm = mft_value_len(meta);
        if (nm) {
            printf("metadata\n");
            for (size_t i = 0; i < nm; i++) {
                printf("  ");
                print_value(stdout, mft_value_key(meta, i), 0);
                printf(": ");
                print_value(stdout, mft_value_item(meta, i), 0);
                printf("\n");
            }
        }
    }
    mft_close(f);
    return EXIT_OK;
}
