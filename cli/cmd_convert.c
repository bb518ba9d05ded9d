/* mft convert IN OUT: rewrite tensors (and metadata) into a new file,
 * optionally selecting a subtree, renaming and sharding. Streams: tensor
 * bytes go from IN's mapping to OUT without being held in memory. */
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mft convert IN OUT [--to FORMAT] [--select PATH]\n"
    "                   [--strip-prefix P] [--rename OLD=NEW]...\n"
    "                   [--shard-size SIZE] [--force]\n\n"
    "Write the tensors of IN to OUT. The output format comes from --to, else\n"
    "from OUT's extension (.safetensors). The output is written to a temporary\n"
    "file beside OUT and renamed into place only when complete.\n\n"
    "  --to FORMAT        output format: safetensors\n"
    "  --select PATH      keep only tensor PATH or the subtree under PATH\n"
    "                     (which becomes the root: PATH. leaves the names)\n"
    "  --strip-prefix P   remove the leading path P (with or without its\n"
    "                     final '.') from the names that start with it\n"
    "  --rename OLD=NEW   replace the path components OLD by NEW wherever\n"
    "                     they stand on '.' boundaries (repeatable, applied\n"
    "                     in order, after --select and --strip-prefix)\n"
    "  --shard-size SIZE  split into HF shards of at most SIZE bytes each\n"
    "                     (5GB, 500MB, 2GiB …; a larger tensor gets a shard of\n"
    "                     its own): OUT-0000K-of-0000N.safetensors plus\n"
    "                     OUT.index.json, as transformers names them\n"
    "  --force            replace OUT if it exists\n"
    "  -h, --help\n";

/* Replace the path-component sequence `old` by `new_` wherever it stands on
 * component boundaries ('.'), left to right: with OLD=attn, "h.0.attn.c_attn.w"
 * becomes "h.0.self_attn.c_attn.w" — c_attn is not touched. */
static char *rename_components(const char *s, const char *old, const char *new_)
{
    size_t ol = strlen(old), nl = strlen(new_), sl = strlen(s);
    size_t cap = sl + 1 + (nl > ol ? (sl / (ol ? ol : 1) + 1) * (nl - ol) : 0);
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    size_t i = 0;
    while (i < sl) {
        int at_start = i == 0 || s[i - 1] == '.';
        if (at_start && ol && strncmp(s + i, old, ol) == 0 &&
            (s[i + ol] == 0 || s[i + ol] == '.')) {
            memcpy(o, new_, nl);
            o += nl;
            i += ol;
            continue;
        }
        *o++ = s[i++];
    }
    *o = 0;
    return out;
}

typedef struct planned {
    char *name;       /* output name */
    const char *from; /* input name */
    size_t index;
} planned;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const planned *)a)->name, ((const planned *)b)->name);
}

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    return dot ? dot : "";
}

int cmd_convert(int argc, char **argv)
{
    const char *to = NULL, *select = NULL, *strip = NULL;
    const char **renames = calloc((size_t)argc + 1, sizeof *renames);
    size_t nrenames = 0;
    int force = 0;
    uint64_t shard = 0;
    static const struct option opts[] = {
        {"to", required_argument, 0, 't'},
        {"select", required_argument, 0, 's'},
        {"strip-prefix", required_argument, 0, 'p'},
        {"rename", required_argument, 0, 'r'},
        {"shard-size", required_argument, 0, 'z'},
        {"force", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, rc = EXIT_ERROR;
    planned *plan = NULL;
    size_t kept = 0;
    if (!renames) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
        switch (c) {
        case 't': to = optarg; break;
        case 's': select = optarg; break;
        case 'p': strip = optarg; break;
        case 'r':
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                free(renames);
                return cli_usage_error("convert",
                                       "--rename wants OLD=NEW, got '%s'",
                                       optarg);
            }
            renames[nrenames++] = optarg;
            break;
        case 'z':
            if (parse_size(optarg, &shard) != 0 || shard == 0) {
                free(renames);
                return cli_usage_error("convert", "bad --shard-size '%s'",
                                       optarg);
            }
            break;
        case 'f': force = 1; break;
        case 'h':
            fputs(help, stdout);
            free(renames);
            return EXIT_OK;
        default:
            free(renames);
            return cli_usage_error("convert", "bad option");
        }
    }
    if (optind != argc - 2) {
        free(renames);
        return cli_usage_error("convert", "expected IN and OUT");
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    mft_format fmt = MFT_FORMAT_UNKNOWN;
    if (to) {
        fmt = mft_format_from_name(to);
        if (fmt == MFT_FORMAT_UNKNOWN) {
            free(renames);
            return cli_usage_error("convert", "unknown format '%s'", to);
        }
    } else if (strcmp(extension(out), ".safetensors") == 0) {
        fmt = MFT_FORMAT_SAFETENSORS;
    } else {
        free(renames);
        return cli_usage_error("convert",
                               "cannot tell the output format from '%s'; "
                               "use --to",
                               out);
    }
    if (fmt != MFT_FORMAT_SAFETENSORS) {
        free(renames);
        return cli_usage_error("convert", "writing %s is not supported yet",
                               mft_format_name(fmt));
    }

    mft_file *f = cli_open(in);
    if (!f) {
        free(renames);
        return EXIT_ERROR;
    }
    mft_writer_options wopts;
    memset(&wopts, 0, sizeof wopts);
    wopts.overwrite = force;
    wopts.max_shard_bytes = shard;
    mft_writer *w = NULL;
    mft_status st = mft_writer_open(out, fmt, &wopts, &w);
    if (st != MFT_OK) {
        cli_error("%s", w ? mft_writer_errmsg(w) : mft_strerror(st));
        goto done;
    }
    /* Metadata carries over; an index's set-level totals are recomputed. */
    const mft_value *meta = mft_file_metadata(f);
    if (meta)
        mft_writer_set_metadata(w, NULL, NULL);
    int from_index = mft_file_format(f) == MFT_FORMAT_SAFETENSORS_INDEX;
    for (size_t i = 0; i < mft_value_len(meta); i++) {
        const char *k = mft_value_bytes(mft_value_key(meta, i), NULL);
        const mft_value *v = mft_value_item(meta, i);
        if (!k)
            continue;
        if (from_index && (strcmp(k, "total_size") == 0 ||
                           strcmp(k, "total_parameters") == 0))
            continue;
        char num[64];
        const char *text = NULL;
        switch (mft_value_get_kind(v)) {
        case MFT_VALUE_STRING: text = mft_value_bytes(v, NULL); break;
        case MFT_VALUE_INT:
            snprintf(num, sizeof num, "%lld", (long long)mft_value_int(v));
            text = num;
            break;
        case MFT_VALUE_FLOAT:
            format_double(mft_value_float(v), num, sizeof num);
            text = num;
            break;
        case MFT_VALUE_BOOL:
            text = mft_value_bool(v) ? "true" : "false";
            break;
        default:
            fprintf(stderr, "mft: %s: metadata \"%s\" not carried over (not "
                            "a scalar)\n", in, k);
        }
        if (text && mft_writer_set_metadata(w, k, text) != MFT_OK) {
            cli_error("%s", mft_writer_errmsg(w));
            goto done;
        }
    }
    size_t n = mft_tensor_count(f);
    size_t sel_len = select ? strlen(select) : 0;
    size_t strip_len = strip ? strlen(strip) : 0;
    if (strip_len && strip[strip_len - 1] == '.')
        strip_len--;
    uint64_t bytes = 0;
    plan = calloc(n ? n : 1, sizeof *plan);
    if (!plan) {
        cli_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        mft_tensor t;
        mft_tensor_at(f, i, &t);
        const char *name = t.name;
        if (select) {
            if (strcmp(name, select) == 0)
                ; /* the selected path is a tensor: keep its name */
            else if (strncmp(name, select, sel_len) == 0 &&
                     name[sel_len] == '.')
                name += sel_len + 1;
            else
                continue;
        }
        if (strip_len && strncmp(name, strip, strip_len) == 0 &&
            name[strip_len] == '.' && name[strip_len + 1])
            name += strip_len + 1;
        char *renamed = strdup(name);
        for (size_t r = 0; r < nrenames && renamed; r++) {
            const char *eq = strchr(renames[r], '=');
            char *old = strndup(renames[r], (size_t)(eq - renames[r]));
            char *next = old ? rename_components(renamed, old, eq + 1) : NULL;
            free(old);
            free(renamed);
            renamed = next;
        }
        if (!renamed) {
            cli_error("out of memory");
            goto done;
        }
        plan[kept].name = renamed;
        plan[kept].from = t.name;
        plan[kept].index = i;
        kept++;
        if (!renamed[0]) {
            cli_error("%s: tensor \"%s\" would get an empty name", in, t.name);
            goto done;
        }
        bytes += t.nbytes;
    }
    /* Two inputs must not collide on one output name. */
    planned *sorted = malloc((kept ? kept : 1) * sizeof *sorted);
    if (!sorted) {
        cli_error("out of memory");
        goto done;
    }
    memcpy(sorted, plan, kept * sizeof *sorted);
    qsort(sorted, kept, sizeof *sorted, by_name);
    for (size_t i = 1; i < kept; i++)
        if (strcmp(sorted[i].name, sorted[i - 1].name) == 0) {
            cli_error("%s: tensors \"%s\" and \"%s\" collide: both would be "
                      "named \"%s\"",
                      in, sorted[i - 1].from, sorted[i].from, sorted[i].name);
            free(sorted);
            goto done;
        }
    free(sorted);
    for (size_t i = 0; i < kept; i++) {
        st = mft_writer_add_from(w, plan[i].name, f, plan[i].index);
        if (st != MFT_OK) {
            cli_error("%s", mft_writer_errmsg(w));
            goto done;
        }
    }
    if (select && kept == 0) {
        cli_error("%s: nothing under \"%s\"", in, select);
        goto done;
    }
    st = mft_writer_commit(w);
    if (st != MFT_OK) {
        cli_error("%s", mft_writer_errmsg(w));
        goto done;
    }
    char size[32];
    human_bytes(bytes, size, sizeof size);
    size_t nout = mft_writer_output_count(w);
    if (nout > 1)
        fprintf(stderr, "mft: wrote %zu tensors (%s) to %zu shards and %s\n",
                kept, size, nout - 1, mft_writer_output_path(w, nout - 1));
    else
        fprintf(stderr, "mft: wrote %zu tensors (%s) to %s\n", kept, size,
                out);
    rc = EXIT_OK;
done:
    for (size_t i = 0; plan && i < kept; i++)
        free(plan[i].name);
    free(plan);
    mft_writer_free(w);
    mft_close(f);
    free(renames);
    return rc;
}
