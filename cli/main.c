/* mft — the command-line tool. One file per command; each is a thin client
 * of include/mft.h. */
#include "cli.h"
#include <string.h>

static const struct command {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {"info", cmd_info, "format, tensor count, parameters, bytes by dtype, metadata"},
    {"ls", cmd_ls, "list tensors: name, dtype, shape, size [--json] [--hash]"},
    {"show", cmd_show, "print the value tree like Python (never runs it)"},
    {"get", cmd_get, "print one value: a tensor's values, a scalar [--json|--raw]"},
    {"tree", cmd_tree, "module hierarchy: parameters and bytes per module, layer kinds"},
    {"stats", cmd_stats, "per tensor min, max, mean, std, NaN/Inf/zero counts"},
    {"diff", cmd_diff, "compare two files: names, dtypes, shapes, values (allclose)"},
    {"check", cmd_check, "will FILE load into REF? load_state_dict(strict=True) rules"},
    {"convert", cmd_convert, "convert or rewrite a file (select, rename, shard)"},
    {"scan", cmd_scan, "is it safe to load? verdict per file [--json] [--strict]"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mft COMMAND [OPTIONS] FILE...\n\n"
            "Inspect, check and convert deep-learning model files without "
            "running them.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'mft COMMAND --help' describes a command. "
                 "Exit status: 0 ok, 1 a finding, 2 an error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("mft: no command given\n", stderr);
        usage(stderr);
        return EXIT_ERROR;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("mft %s\n", mft_version());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mft: unknown command '%s'\nTry 'mft --help'.\n", cmd);
    return EXIT_ERROR;
}
