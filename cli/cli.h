/* Shared helpers of the mft command-line tool. The CLI uses only the public
 * API (include/mft.h); nothing here parses file bytes. */
#ifndef MFT_CLI_H
#define MFT_CLI_H
#include "mft.h"
#include <stdint.h>
#include <stdio.h>

/* Exit statuses (DESIGN.md §4). */
enum { EXIT_OK = 0, EXIT_FINDING = 1, EXIT_ERROR = 2 };

int cmd_info(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_tree(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_scan(int argc, char **argv);

/* mft convert to PyTorch from a PyTorch input (cli/convert_torch.c): the
 * value tree at `select` (NULL: the root) into `w`, committed; returns an
 * exit status. */
int cli_is_torch_input(mft_format f);
int convert_torch_tree(mft_file *f, mft_writer *w, const char *in,
                       const char *out, const char *select, mft_dtype cast);

/* Value trees (cli/values.c): Python-style repr, and JSON. */
void print_repr(mft_file *f, const mft_value *v, FILE *out);
void print_json_value(mft_file *f, const mft_value *v, FILE *out);
void py_float(double v, FILE *out);

/* "mft: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error for `cmd`: the message and a hint; returns EXIT_ERROR. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Open `path`; on failure print its message and return NULL. */
mft_file *cli_open(const char *path);

/* JSON output */
void json_string(FILE *out, const char *s);
void json_string_n(FILE *out, const char *s, size_t n);
void json_double(FILE *out, double v);
/* Shortest text that reads back as the same double ("0.1", "1e+20"). */
void format_double(double v, char *buf, size_t cap);

/* "1.5 KiB", "12 B" */
void human_bytes(uint64_t n, char *buf, size_t cap);
/* "1,234,567" */
void group_digits(uint64_t n, char *buf, size_t cap);
/* "[2, 3]" */
void shape_string(const mft_tensor *t, char *buf, size_t cap);
/* Parse "5GB", "100MiB", "4096": 0 on success. */
int parse_size(const char *s, uint64_t *out);

/* Digests of every tensor, computed on all cores; NULL on failure (message
 * printed). `digests` has 32 bytes per tensor. */
unsigned char *cli_hash_all(mft_file *f);

/* Progress line on stderr for long passes (cli/progress.c): drawn only when
 * stderr is a terminal and total is large; cli_progress_update is an
 * mft_progress_fn. */
typedef struct cli_progress {
    const char *label;
    uint64_t total;
    double start;
    int on, drawn;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label, uint64_t total);
void cli_progress_update(void *user, uint64_t done, uint64_t total);
void cli_progress_end(cli_progress *p);

/* Statistics (cli/cmd_stats.c), shared with ls --stats: computed on all
 * cores with a progress line (NULL on failure, message printed); one cell
 * (field 0 min, 1 max, 2 mean, 3 std; "-" when absent); the JSON fields
 * "min" … "zeros" on stdout. */
mft_stats *cli_stats_compute(mft_file *f, const size_t *idx, size_t n,
                             unsigned threads);
void cli_stats_cell(const mft_stats *s, int field, char *buf, size_t cap);
void cli_stats_json(const mft_stats *s);

/* Tensor selection shared by check and diff (cli/names.c): with `select`,
 * only the tensors under that path, named from there; with `strip`, that
 * prefix removed where a name starts with it. Either may be NULL. */
typedef struct cli_names {
    size_t n;
    size_t *index;      /* tensor index in the file */
    const char **name;  /* borrowed from the file: the name as selected */
} cli_names;
int cli_names_select(mft_file *f, const char *select, const char *strip,
                     cli_names *out);
void cli_names_free(cli_names *n);
/* Exact-name lookup over an array of names (borrowed). */
typedef struct cli_nameset {
    const char *const *names;
    size_t *slot; /* index + 1, 0 empty */
    size_t cap;
} cli_nameset;
int cli_nameset_init(cli_nameset *s, const char *const *names, size_t n);
long cli_nameset_find(const cli_nameset *s, const char *name); /* -1: none */
void cli_nameset_free(cli_nameset *s);
#endif
