/* mft scan FILE... [--json] [--strict]: is a model file safe to load?
 * Directories are scanned recursively (symbolic links to directories are
 * not followed). Verdicts and the JSON shape are DESIGN.md §4's. */
#include "cli.h"
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help[] =
    "usage: mft scan FILE... [--json] [--strict]\n\n"
    "Tell whether model files are safe to load, without loading them: every\n"
    "pickle they hold (zip members whatever their names, nested archives, the\n"
    "legacy format's pickles, .npy object arrays, pickles back to back or\n"
    "after junk) runs on a data-only pickle machine that records each import\n"
    "and call with its byte offset. Directories are scanned recursively.\n\n"
    "Verdicts:\n"
    "  SAFE        every import on the allowlist (torch's weights_only set and\n"
    "              numpy arrays), every structure well formed\n"
    "  SUSPICIOUS  imports off the allowlist that are not known to be\n"
    "              dangerous (__main__.Net, argparse.Namespace), TorchScript\n"
    "              code, malformed but harmless structure\n"
    "  DANGEROUS   a known-dangerous or unresolvable callable (os.system,\n"
    "              builtins.eval, a STACK_GLOBAL computed at load time, frame\n"
    "              tampering …)\n"
    "  ERROR       nothing could be read\n\n"
    "  --json      {\"files\": [{\"file\", \"verdict\", \"format\", \"findings\":\n"
    "              [{\"severity\", \"global\", \"member\", \"offset\", \"message\",\n"
    "              \"kind\", \"canonical\"}], \"imports\", \"error\"}]}\n"
    "  --strict    SUSPICIOUS counts as a finding too\n"
    "  -h, --help\n\n"
    "Exit status: 0 nothing found (SUSPICIOUS allowed without --strict), 1 a\n"
    "file is DANGEROUS (or SUSPICIOUS with --strict), 2 an ERROR or bad usage.\n";

typedef struct scan_run {
    int json, strict;
    size_t files, by_verdict[4];
    int first;
} scan_run;

static void json_opt_string(FILE *out, const char *s)
{
    if (s)
        json_string(out, s);
    else
        fputs("null", out);
}

static void print_json(scan_run *run, const mft_scan_report *r)
{
    printf("%s\n  {\"file\": ", run->first ? "" : ",");
    run->first = 0;
    json_string(stdout, mft_scan_file(r));
    printf(", \"verdict\": \"%s\", \"format\": \"%s\", \"findings\": [",
           mft_verdict_name(mft_scan_verdict(r)),
           mft_format_name(mft_scan_format(r)));
    size_t n = mft_scan_finding_count(r);
    for (size_t i = 0; i < n; i++) {
        mft_scan_finding f;
        if (mft_scan_finding_at(r, i, &f) != MFT_OK)
            continue;
        printf("%s\n    {\"severity\": \"%s\", \"global\": ", i ? "," : "",
               mft_severity_name(f.severity));
        json_opt_string(stdout, f.global);
        fputs(", \"member\": ", stdout);
        json_opt_string(stdout, f.member);
        if (f.offset >= 0)
            printf(", \"offset\": %lld", (long long)f.offset);
        else
            fputs(", \"offset\": null", stdout);
        fputs(", \"message\": ", stdout);
        json_string(stdout, f.message);
        fputs(", \"kind\": ", stdout);
        json_string(stdout, f.kind);
        fputs(", \"canonical\": ", stdout);
        json_opt_string(stdout, f.canonical ? f.canonical : f.global);
        fputc('}', stdout);
    }
    fputs(n ? "\n  ], \"imports\": [" : "], \"imports\": [", stdout);
    for (size_t i = 0; i < mft_scan_import_count(r); i++) {
        if (i)
            fputs(", ", stdout);
        json_string(stdout, mft_scan_import_at(r, i));
    }
    fputc(']', stdout);
    if (mft_scan_verdict(r) == MFT_VERDICT_ERROR) {
        fputs(", \"error\": ", stdout);
        json_string(stdout, mft_scan_error(r));
    }
    fputc('}', stdout);
}

static size_t width(const char *s) { return s ? strlen(s) : 1; }

static void print_human(const mft_scan_report *r)
{
    mft_verdict v = mft_scan_verdict(r);
    if (v == MFT_VERDICT_ERROR) {
        printf("%s: ERROR: %s\n", mft_scan_file(r), mft_scan_error(r));
        fflush(stdout);
        return;
    }
    size_t n = mft_scan_finding_count(r);
    printf("%s: %s (%s", mft_scan_file(r), mft_verdict_name(v),
           mft_format_name(mft_scan_format(r)));
    if (n)
        printf(", %zu finding%s", n, n == 1 ? "" : "s");
    printf(")\n");
    if (!n)
        return;
    /* column widths, capped so long names do not push the messages away */
    size_t wg = 6, wm = 6;
    for (size_t i = 0; i < n; i++) {
        mft_scan_finding f;
        mft_scan_finding_at(r, i, &f);
        if (width(f.global) > wg)
            wg = width(f.global);
        if (width(f.member) > wm)
            wm = width(f.member);
    }
    wg = wg > 48 ? 48 : wg;
    wm = wm > 40 ? 40 : wm;
    printf("  %-10s  %-*s  %-*s  %8s  %s\n", "SEVERITY", (int)wg, "GLOBAL",
           (int)wm, "MEMBER", "OFFSET", "MESSAGE");
    for (size_t i = 0; i < n; i++) {
        mft_scan_finding f;
        mft_scan_finding_at(r, i, &f);
        char off[32];
        if (f.offset >= 0)
            snprintf(off, sizeof off, "%lld", (long long)f.offset);
        else
            snprintf(off, sizeof off, "-");
        printf("  %-10s  %-*s  %-*s  %8s  %s\n", mft_severity_name(f.severity),
               (int)wg, f.global ? f.global : "-", (int)wm,
               f.member ? f.member : "-", off, f.message);
    }
    fflush(stdout);
}

static int scan_one(scan_run *run, const char *path)
{
    mft_scan_report *r = NULL;
    mft_status st = mft_scan_path(path, NULL, &r);
    if (st != MFT_OK || !r) {
        cli_error("%s: %s", path, mft_strerror(st));
        run->by_verdict[MFT_VERDICT_ERROR]++;
        run->files++;
        return -1;
    }
    run->files++;
    run->by_verdict[mft_scan_verdict(r)]++;
    if (run->json)
        print_json(run, r);
    else
        print_human(r);
    mft_scan_report_free(r);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scan a directory's regular files, recursively, in name order. */
static void scan_dir(scan_run *run, const char *dir, int depth)
{
    if (depth > 64) {
        cli_error("%s: directories nested too deep; not scanned", dir);
        run->by_verdict[MFT_VERDICT_ERROR]++;
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("%s: cannot open directory", dir);
        run->by_verdict[MFT_VERDICT_ERROR]++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **g = realloc(names, cap * sizeof *g);
            if (!g)
                break;
            names = g;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n])
            break;
        snprintf(names[n], len, "%s%s%s", dir,
                 dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        /* sockets, fifos, devices and dangling links are skipped;
         * a link to a directory is not followed (no loops) */
        struct stat lst, st;
        if (lstat(names[i], &lst) == 0 && S_ISDIR(lst.st_mode))
            scan_dir(run, names[i], depth + 1);
        else if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            scan_one(run, names[i]);
        free(names[i]);
    }
    free(names);
}

int cmd_scan(int argc, char **argv)
{
    scan_run run;
    memset(&run, 0, sizeof run);
    run.first = 1;
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"strict", no_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            run.json = 1;
        else if (c == 's')
            run.strict = 1;
        else if (c == 'h') {
            fputs(help, stdout);
            return EXIT_OK;
        } else
            return cli_usage_error("scan", "bad option");
    }
    if (optind >= argc)
        return cli_usage_error("scan", "expected at least one FILE");
    if (run.json)
        fputs("{\"files\": [", stdout);
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            scan_dir(&run, argv[i], 0);
        else
            scan_one(&run, argv[i]);
    }
    if (run.json)
        fputs(run.first ? "]}\n" : "\n]}\n", stdout);
    else if (run.files > 1)
        printf("%zu files: %zu SAFE, %zu SUSPICIOUS, %zu DANGEROUS, %zu ERROR\n",
               run.files, run.by_verdict[MFT_VERDICT_SAFE],
               run.by_verdict[MFT_VERDICT_SUSPICIOUS],
               run.by_verdict[MFT_VERDICT_DANGEROUS],
               run.by_verdict[MFT_VERDICT_ERROR]);
    if (run.by_verdict[MFT_VERDICT_DANGEROUS] ||
        (run.strict && run.by_verdict[MFT_VERDICT_SUSPICIOUS]))
        return EXIT_FINDING;
    if (run.by_verdict[MFT_VERDICT_ERROR])
        return EXIT_ERROR;
    return EXIT_OK;
}
