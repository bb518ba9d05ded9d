/* mft convert IN OUT: rewrite tensors (and metadata) into a new file,
 * optionally selecting a subtree, renaming and sharding. Streams: tensor
 * bytes go from IN's mapping to OUT without being held in memory. */
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mft convert IN OUT [--to FORMAT] [--dtype DT] [--select PATH]\n"
    "                   [--strip-prefix P] [--rename OLD=NEW]...\n"
    "                   [--meta KEY[:TYPE]=VALUE]... [--shard-size SIZE]\n"
    "                   [--force]\n\n"
    "Write the tensors of IN to OUT. The output format comes from --to, else\n"
    "from OUT's extension (.safetensors, .gguf, .npz, .npy, .pt/.pth/.bin).\n"
    "The output is written to a temporary file beside OUT and renamed into\n"
    "place only when complete.\n"
    "PyTorch output is a torch.save zip that torch.load(weights_only=True)\n"
    "loads: from a PyTorch input the whole value tree (checkpoints keep their\n"
    "epochs, losses, optimizer state; whole models and TorchScript archives\n"
    "become their state_dict; what weights_only refuses is written as what\n"
    "it holds and named on stderr; shared storages stay shared), from other\n"
    "inputs an OrderedDict state_dict of the tensors.\n"
    "GGUF output keeps the input's key/values (GGUF inputs: with their types;\n"
    "others: bool BOOL, int INT64, float FLOAT64, str STRING, lists ARRAY) and\n"
    "adds general.quantization_version = 2 when a tensor is block-quantized\n"
    "and a non-GGUF input lacks the key; general.architecture only comes from\n"
    "the input or from --meta (then it is written first, as gguf-py does).\n\n"
    "  --to FORMAT        output format: safetensors, gguf, npz, npy (.npy:\n"
    "                     exactly one tensor, named by the file), pytorch\n"
    "  --dtype DT         cast every real floating tensor (F32, F16, BF16, F64,\n"
    "                     F8_*, F4) to DT, rounding to nearest even as torch\n"
    "                     and numpy do; integer, bool, complex and quantized\n"
    "                     tensors are copied as they are\n"
    "  --meta KEY=VALUE   set a metadata entry (repeatable; replaces one the\n"
    "                     input has). GGUF: a STRING, or KEY:TYPE=VALUE with\n"
    "                     TYPE one of UINT8 INT8 UINT16 INT16 UINT32 INT32\n"
    "                     UINT64 INT64 FLOAT32 FLOAT64 BOOL STRING\n"
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
    "  --keep-metadata    PyTorch inputs: non-tensor values (epoch, losses …)\n"
    "                     go to the output's metadata, one key per leaf path\n"
    "                     (strings as they are, others as JSON text); without\n"
    "                     it they are named on stderr\n"
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

/* Non-tensor leaves of the value tree (epoch, losses.0, config.name …):
 * kept as metadata with --keep-metadata, else named on stderr. */
typedef struct leaves {
    mft_file *f;
    mft_writer *w;
    const char *in;
    const char *select;
    int keep;
    int typed; /* GGUF target: values keep their types */
    size_t dropped, kept;
    char **names; /* the first 20 dropped paths */
    unsigned long steps;
    char path[4096];
    mft_status st;
} leaves;

static void leaf(leaves *l, const mft_value *v)
{
    const char *path = l->path;
    size_t sl = l->select ? strlen(l->select) : 0;
    if (l->select) {
        if (strncmp(path, l->select, sl) != 0 || (path[sl] && path[sl] != '.'))
            return;
        path += path[sl] ? sl + 1 : 0;
    }
    if (!l->keep) {
        if (l->dropped++ < 20) {
            char *name = strdup(path);
            char **g = realloc(l->names, l->dropped * sizeof *g);
            if (g && name) {
                l->names = g;
                l->names[l->dropped - 1] = name;
            } else {
                free(name);
                if (g)
                    l->names = g;
                l->dropped--;
            }
        }
        return;
    }
    if (l->typed) {
        mft_status s2 = mft_writer_set_value(l->w, path, v);
        if (s2 == MFT_ERR_UNSUPPORTED)
            fprintf(stderr, "mft: %s: not carried over: %s\n", l->in,
                    mft_writer_errmsg(l->w));
        else if (s2 != MFT_OK && l->st == MFT_OK)
            l->st = s2;
        else if (s2 == MFT_OK)
            l->kept++;
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return;
    if (mft_value_get_kind(v) == MFT_VALUE_STRING) {
        size_t sn;
        const char *s = mft_value_bytes(v, &sn);
        fwrite(s, 1, sn, m);
    } else
        print_json_value(l->f, v, m);
    fclose(m);
    if (l->st == MFT_OK)
        l->st = mft_writer_set_metadata_n(l->w, path, text, len);
    l->kept++;
    free(text);
}

/* A list (of lists …) of scalars and strings only: no tensor, dict or
 * object inside. */
static int plain_list(const mft_value *v, int depth)
{
    if (depth > 64)
        return 0;
    for (size_t i = 0; i < mft_value_len(v); i++) {
        const mft_value *it = mft_value_item(v, i);
        mft_value_kind k = mft_value_get_kind(it);
        if (k == MFT_VALUE_LIST || k == MFT_VALUE_TUPLE || k == MFT_VALUE_SET) {
            if (!plain_list(it, depth + 1))
                return 0;
        } else if (k == MFT_VALUE_DICT || k == MFT_VALUE_TENSOR ||
                   k == MFT_VALUE_OBJECT) {
            return 0;
        }
    }
    return 1;
}

static void walk_leaves(leaves *l, const mft_value *v, size_t at, int depth)
{
    mft_value_kind k = mft_value_get_kind(v);
    /* shared values are visited once per path: bound the walk */
    if (k == MFT_VALUE_TENSOR || depth > 200 || ++l->steps > 10000000)
        return;
    if (k == MFT_VALUE_OBJECT) {
        if (mft_value_state(v))
            walk_leaves(l, mft_value_state(v), at, depth + 1);
        return;
    }
    if ((k != MFT_VALUE_DICT && k != MFT_VALUE_LIST && k != MFT_VALUE_TUPLE &&
         k != MFT_VALUE_SET) ||
        mft_value_len(v) == 0) {
        if (at)
            leaf(l, v);
        return;
    }
    if (l->typed && k != MFT_VALUE_DICT && at && plain_list(v, 0)) {
        leaf(l, v); /* GGUF: a list of plain values is one ARRAY value */
        return;
    }
    for (size_t i = 0; i < mft_value_len(v); i++) {
        char part[256];
        const mft_value *key = mft_value_key(v, i);
        if (k != MFT_VALUE_DICT)
            snprintf(part, sizeof part, "%zu", i);
        else if (mft_value_get_kind(key) == MFT_VALUE_STRING)
            snprintf(part, sizeof part, "%s", mft_value_bytes(key, NULL));
        else if (mft_value_get_kind(key) == MFT_VALUE_INT)
            snprintf(part, sizeof part, "%lld", (long long)mft_value_int(key));
        else
            snprintf(part, sizeof part, "%zu", i);
        size_t n = strlen(part);
        if (at + n + 2 >= sizeof l->path)
            continue;
        if (at)
            l->path[at] = '.';
        memcpy(l->path + at + (at ? 1 : 0), part, n + 1);
        walk_leaves(l, mft_value_item(v, i), at + n + (at ? 1 : 0), depth + 1);
        l->path[at] = 0;
    }
}

/* --meta KEY[:TYPE]=VALUE: split into key, GGUF type and text (in place).
 * Returns 0 on a malformed argument. */
static int parse_meta(char *arg, const char **key, int *type,
                      const char **text)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return 0;
    *eq = 0;
    *text = eq + 1;
    *key = arg;
    *type = MFT_GGUF_STRING;
    char *colon = strrchr(arg, ':');
    if (colon) {
        for (int t = 0; t < MFT_GGUF_TYPE_COUNT_; t++)
            if (t != MFT_GGUF_ARRAY &&
                strcmp(colon + 1, mft_gguf_type_name(t)) == 0) {
                *type = t;
                *colon = 0;
                return colon != arg;
            }
    }
    return 1;
}

/* Apply one --meta argument (already checked by parse_meta); `only_arch`
 * selects general.architecture (written first), else everything else. */
static mft_status apply_meta(mft_writer *w, const char *arg, int only_arch,
                             int *is_qv)
{
    const char *k, *t;
    int ty;
    char *copy = strdup(arg);
    if (!copy)
        return MFT_ERR_NOMEM;
    mft_status st = MFT_OK;
    parse_meta(copy, &k, &ty, &t);
    int arch = strcmp(k, "general.architecture") == 0;
    if (arch == only_arch) {
        st = mft_writer_set_typed(w, k, (mft_gguf_type)ty, t);
        if (strcmp(k, "general.quantization_version") == 0)
            *is_qv = 1;
    }
    free(copy);
    return st;
}

static int is_block_type(mft_dtype d)
{
    return mft_dtype_block(d, NULL, NULL) == 1;
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
    int force = 0, keep_meta = 0;
    mft_dtype cast = MFT_DTYPE_INVALID;
    /* --meta arguments share the renames array, filled from its end: each
     * option takes at least one of the argc - 1 arguments */
    size_t nmetas = 0;
    uint64_t shard = 0;
    static const struct option opts[] = {
        {"to", required_argument, 0, 't'},
        {"select", required_argument, 0, 's'},
        {"strip-prefix", required_argument, 0, 'p'},
        {"rename", required_argument, 0, 'r'},
        {"shard-size", required_argument, 0, 'z'},
        {"force", no_argument, 0, 'f'},
        {"keep-metadata", no_argument, 0, 'k'},
        {"dtype", required_argument, 0, 'd'},
        {"meta", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, rc = EXIT_ERROR;
    planned *plan = NULL;
    size_t kept = 0;
    if (!renames) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    const char **metas = renames + argc; /* metas[-1], metas[-2] … */
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
        case 'k': keep_meta = 1; break;
        case 'd':
            cast = mft_dtype_from_name(optarg);
            if (!mft_dtype_is_float(cast) || mft_dtype_is_complex(cast) ||
                mft_dtype_from_f64(cast, NULL, NULL, 0) != MFT_OK) {
                free(renames);
                return cli_usage_error("convert",
                                       "--dtype wants a real floating dtype "
                                       "(F32, F16, BF16, F64, F8_E4M3 …), "
                                       "got '%s'",
                                       optarg);
            }
            break;
        case 'm': {
            const char *k, *t;
            int ty;
            char *copy = strdup(optarg);
            if (!copy || !parse_meta(copy, &k, &ty, &t)) {
                free(copy);
                free(renames);
                return cli_usage_error("convert",
                                       "--meta wants KEY=VALUE or "
                                       "KEY:TYPE=VALUE, got '%s'",
                                       optarg);
            }
            free(copy);
            metas[-(ptrdiff_t)++nmetas] = optarg;
            break;
        }
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
        fmt = strcmp(to, "pytorch") == 0 ? MFT_FORMAT_PYTORCH_ZIP
                                         : mft_format_from_name(to);
        if (fmt == MFT_FORMAT_UNKNOWN) {
            free(renames);
            return cli_usage_error("convert", "unknown format '%s'", to);
        }
    } else if (strcmp(extension(out), ".safetensors") == 0) {
        fmt = MFT_FORMAT_SAFETENSORS;
    } else if (strcmp(extension(out), ".gguf") == 0) {
        fmt = MFT_FORMAT_GGUF;
    } else if (strcmp(extension(out), ".npz") == 0) {
        fmt = MFT_FORMAT_NPZ;
    } else if (strcmp(extension(out), ".npy") == 0) {
        fmt = MFT_FORMAT_NPY;
    } else if (strcmp(extension(out), ".pt") == 0 ||
               strcmp(extension(out), ".pth") == 0 ||
               strcmp(extension(out), ".bin") == 0) {
        fmt = MFT_FORMAT_PYTORCH_ZIP;
    } else {
        free(renames);
        return cli_usage_error("convert",
                               "cannot tell the output format from '%s'; "
                               "use --to",
                               out);
    }
    if (fmt != MFT_FORMAT_SAFETENSORS && fmt != MFT_FORMAT_NPZ &&
        fmt != MFT_FORMAT_NPY && fmt != MFT_FORMAT_GGUF &&
        fmt != MFT_FORMAT_PYTORCH_ZIP) {
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
    /* --meta general.architecture comes first, as GGUFWriter writes it */
    int have_qv = 0, any_block = 0;
    for (size_t i = 1; i <= nmetas; i++)
        if (apply_meta(w, metas[-(ptrdiff_t)i], 1, &have_qv) != MFT_OK) {
            cli_error("%s", mft_writer_errmsg(w));
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
        if (fmt == MFT_FORMAT_NPZ || fmt == MFT_FORMAT_NPY ||
            fmt == MFT_FORMAT_PYTORCH_ZIP) {
            fprintf(stderr, "mft: %s: metadata \"%s\" not carried over (%s "
                            "files have no metadata)\n",
                    in, k, mft_format_name(fmt));
            continue;
        }
        if (fmt == MFT_FORMAT_GGUF) { /* typed; GGUF inputs keep theirs */
            st = mft_writer_set_value(w, k, v);
            if (st == MFT_ERR_UNSUPPORTED) {
                fprintf(stderr, "mft: %s: not carried over: %s\n", in,
                        mft_writer_errmsg(w));
                continue;
            }
            if (st != MFT_OK) {
                cli_error("%s", mft_writer_errmsg(w));
                goto done;
            }
            if (strcmp(k, "general.quantization_version") == 0)
                have_qv = 1;
            continue;
        }
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
    for (size_t i = 1; i <= nmetas; i++)
        if (apply_meta(w, metas[-(ptrdiff_t)i], 0, &have_qv) != MFT_OK) {
            cli_error("%s", mft_writer_errmsg(w));
            goto done;
        }
    /* PyTorch from PyTorch: the value tree, not just the tensors (renames
     * apply to flat names: with them, an OrderedDict of the tensors) */
    if (fmt == MFT_FORMAT_PYTORCH_ZIP && !strip && !nrenames &&
        cli_is_torch_input(mft_file_format(f))) {
        rc = convert_torch_tree(f, w, in, out, select, cast);
        goto done;
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
        mft_tensor ti;
        mft_tensor_at(f, plan[i].index, &ti);
        if (cast != MFT_DTYPE_INVALID && mft_dtype_is_float(ti.dtype) &&
            !mft_dtype_is_complex(ti.dtype))
            st = mft_writer_add_cast(w, plan[i].name, cast, f, plan[i].index);
        else
            st = mft_writer_add_from(w, plan[i].name, f, plan[i].index);
        if (st == MFT_OK && is_block_type(ti.dtype))
            any_block = 1;
        if (st != MFT_OK) {
            cli_error("%s", mft_writer_errmsg(w));
            goto done;
        }
    }
    mft_format infmt = mft_file_format(f);
    if (infmt == MFT_FORMAT_PYTORCH_ZIP || infmt == MFT_FORMAT_PYTORCH_LEGACY ||
        infmt == MFT_FORMAT_TORCHSCRIPT || infmt == MFT_FORMAT_PICKLE ||
        infmt == MFT_FORMAT_NPZ /* members that are not arrays */) {
        leaves l;
        memset(&l, 0, sizeof l);
        l.f = f;
        l.w = w;
        l.in = in;
        l.select = select;
        l.keep = keep_meta;
        l.typed = fmt == MFT_FORMAT_GGUF;
        walk_leaves(&l, mft_file_root(f), 0, 0);
        if (l.dropped) {
            fprintf(stderr, "mft: %s: %zu non-tensor value%s not written (use "
                            "--keep-metadata): ",
                    in, l.dropped, l.dropped == 1 ? "" : "s");
            size_t shown = l.dropped < 20 ? l.dropped : 20;
            for (size_t i = 0; i < shown; i++)
                fprintf(stderr, "%s%s", i ? ", " : "", l.names[i]);
            if (l.dropped > shown)
                fprintf(stderr, " and %zu more", l.dropped - shown);
            fputc('\n', stderr);
        }
        for (size_t i = 0; i < l.dropped && i < 20; i++)
            free(l.names[i]);
        free(l.names);
        if (l.st != MFT_OK) {
            cli_error("%s", mft_writer_errmsg(w));
            goto done;
        }
    }
    if (select && kept == 0) {
        cli_error("%s: nothing under \"%s\"", in, select);
        goto done;
    }
    /* GGUF from another format: quantized tensors need
     * general.quantization_version (ggml's GGML_QNT_VERSION, 2 since 2023).
     * A GGUF input is rewritten with exactly its own key/values. */
    if (fmt == MFT_FORMAT_GGUF && mft_file_format(f) != MFT_FORMAT_GGUF &&
        any_block && !have_qv &&
        mft_writer_set_typed(w, "general.quantization_version",
                             MFT_GGUF_UINT32, "2") != MFT_OK) {
        cli_error("%s", mft_writer_errmsg(w));
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
