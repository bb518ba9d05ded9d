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
#endif
