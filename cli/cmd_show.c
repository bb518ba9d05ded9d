/* mft show FILE [PATH] [--json]: the value tree, as Python would print it
 * (tensors as tensor(shape=[…], dtype=…)), without running anything. */
#include "cli.h"
#include <getopt.h>
#include <string.h>

static const char help[] =
    "usage: mft show FILE [PATH] [--json]\n\n"
    "Print the file's value tree (or the value at PATH) the way Python prints\n"
    "it: dicts, lists, tuples, numbers, strings; tensors as\n"
    "tensor(shape=[20, 10], dtype=F32); whole nn.Module pickles as their\n"
    "state_dict; other objects of unknown classes as Class(attr=value, …).\n"
    "Nothing in the file is executed.\n\n"
    "  --json   the same as JSON (tensors as {\"tensor\", \"dtype\", \"shape\"})\n"
    "  -h, --help\n";

int cmd_show(int argc, char **argv)
{
    int as_json = 0;
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            as_json = 1;
        else if (c == 'h') {
            fputs(help, stdout);
            return EXIT_OK;
        } else
            return cli_usage_error("show", "bad option");
    }
    if (optind != argc - 1 && optind != argc - 2)
        return cli_usage_error("show", "expected FILE and an optional PATH");
    const char *path = argv[optind];
    mft_file *f = cli_open(path);
    if (!f)
        return EXIT_ERROR;
    const mft_value *v = mft_file_root(f);
    if (optind == argc - 2) {
        const char *p = argv[optind + 1];
        size_t idx;
        if (mft_tensor_find(f, p, &idx) == MFT_OK) {
            mft_tensor t;
            char shape[512];
            mft_tensor_at(f, idx, &t);
            shape_string(&t, shape, sizeof shape);
            if (as_json) {
                printf("{\"tensor\": ");
                json_string(stdout, t.name);
                printf(", \"dtype\": \"%s\", \"shape\": %s}\n",
                       mft_dtype_name(t.dtype), shape);
            }
            else
                printf("tensor(shape=%s, dtype=%s)\n", shape,
                       mft_dtype_name(t.dtype));
            mft_close(f);
            return EXIT_OK;
        }
        v = mft_value_find(v, p);
        if (!v)
            v = mft_value_find(mft_file_metadata(f), p);
        if (!v) {
            cli_error("%s: nothing at \"%s\"", path, p);
            mft_close(f);
            return EXIT_ERROR;
        }
    }
    if (as_json)
        print_json_value(f, v, stdout);
    else
        print_repr(f, v, stdout);
    fputc('\n', stdout);
    mft_close(f);
    return EXIT_OK;
}
