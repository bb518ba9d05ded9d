/* mft check FILE --against REF: would model.load_state_dict(FILE's state,
 * strict=True) accept it, when the model's state_dict is REF's tensors?
 * Torch's rules (nn.Module.load_state_dict / _load_from_state_dict):
 *  - every key the model has must be in the state_dict: else "Missing
 *    key(s)", in the model's order;
 *  - every key of the state_dict must belong to the model: else
 *    "Unexpected key(s)", listed module by module in the order torch visits
 *    the modules (the root first), each module's in the state_dict's order;
 *  - a key in both must have the model's shape: else "size mismatch for K:
 *    copying a param with shape torch.Size([…]) from checkpoint, the shape in
 *    current model is torch.Size([…])." — except that a 1-d tensor loads into
 *    a 0-d parameter (torch's backward compatibility with 0.3 files);
 *  - dtypes may differ: param.copy_() casts (reported as notes, not errors).
 * The messages are worded as torch words them, in torch's order: missing,
 * unexpected, then the size mismatches. */
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mft check FILE --against REF [--select PATH] [--strip-prefix P]\n"
    "                 [--against-select PATH] [--json]\n\n"
    "Check that FILE's tensors would load into a model whose state_dict is\n"
    "REF's, with load_state_dict(strict=True) rules: missing keys, unexpected\n"
    "keys, shape mismatches (worded as torch words them). Dtype differences\n"
    "are notes: load_state_dict casts. Nothing is loaded or run.\n\n"
    "  --against REF           the reference: a state_dict, a whole model, a\n"
    "                          safetensors file … (any format mft reads)\n"
    "  --select PATH           use FILE's tensors under PATH, named from there\n"
    "                          (--select model_state_dict for a checkpoint)\n"
    "  --strip-prefix P        remove P from FILE's names that start with it\n"
    "                          (--strip-prefix module. for DataParallel)\n"
    "  --against-select PATH   the same as --select, for REF\n"
    "  --json                  {\"file\", \"against\", \"ok\", \"matched\", \"missing\",\n"
    "                          \"unexpected\", \"size_mismatch\", \"dtype_cast\"}\n"
    "  -h, --help\n\n"
    "Exit status: 0 it loads, 1 it would not, 2 an error.\n";

/* torch.Size([2, 3]) */
static void torch_size(const mft_tensor *t, FILE *out)
{
    fputs("torch.Size([", out);
    for (int d = 0; d < t->ndim; d++)
        fprintf(out, d ? ", %llu" : "%llu", (unsigned long long)t->shape[d]);
    fputs("])", out);
}

static int same_shape(const mft_tensor *a, const mft_tensor *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

/* Shapes as load_state_dict sees them: a 1-d input for a 0-d parameter is
 * indexed [0] first (it then fits when it has an element). */
static int loads(const mft_tensor *in, const mft_tensor *param)
{
    if (param->ndim == 0 && in->ndim == 1)
        return in->shape[0] >= 1;
    return same_shape(in, param);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The prefix that, removed from FILE's names, matches the most REF names:
 * "model_state_dict." or "module." … ; NULL when none beats `matched`. */
static char *best_prefix(const cli_names *fn, const cli_nameset *ref,
                         size_t matched, size_t *count)
{
    size_t cap = 0, n = 0;
    char **pre = NULL;
    for (size_t i = 0; i < fn->n; i++) {
        const char *name = fn->name[i];
        for (const char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
            if (cli_nameset_find(ref, dot + 1) < 0)
                continue;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                char **np = realloc(pre, nc * sizeof *np);
                if (!np)
                    break;
                pre = np;
                cap = nc;
            }
            pre[n++] = strndup(name, (size_t)(dot - name) + 1);
        }
    }
    if (n)
        qsort(pre, n, sizeof *pre, cmp_str);
    char *best = NULL;
    size_t best_n = matched;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && pre[j] && pre[i] && strcmp(pre[j], pre[i]) == 0)
            j++;
        if (j == i)
            j++;
        if (pre[i] && j - i > best_n) {
            best_n = j - i;
            best = pre[i];
        }
        i = j;
    }
    char *out = best ? strdup(best) : NULL;
    for (size_t i = 0; i < n; i++)
        free(pre[i]);
    free(pre);
    *count = best_n;
    return out;
}

/* The model's module structure, as far as REF's keys show it: every
 * proper '.'-prefix of a key is a module; a module's rank is the position
 * of its first key (state_dict() lists a module's own tensors, then its
 * children's, in the order load_state_dict visits them). Modules without
 * tensors (ReLU …) are invisible here. */
typedef struct modules {
    char **name;
    size_t *rank, *depth;
    size_t n, cap;
    cli_nameset set;
} modules;

static int modules_build(modules *m, const cli_names *ref)
{
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < ref->n; i++) {
        const char *k = ref->name[i];
        size_t depth = 0;
        for (const char *dot = strchr(k, '.'); dot; dot = strchr(dot + 1, '.')) {
            depth++;
            size_t len = (size_t)(dot - k);
            /* new prefixes only (linear check against the last few is
             * enough for ordered state_dicts; the set removes the rest) */
            if (m->n == m->cap) {
                size_t nc = m->cap ? m->cap * 2 : 64;
                char **nn = realloc(m->name, nc * sizeof *nn);
                size_t *nr = nn ? realloc(m->rank, nc * sizeof *nr) : NULL;
                size_t *nd = nr ? realloc(m->depth, nc * sizeof *nd) : NULL;
                if (nn)
                    m->name = nn;
                if (nr)
                    m->rank = nr;
                if (!nd)
                    return -1;
                m->depth = nd;
                m->cap = nc;
            }
            m->name[m->n] = strndup(k, len);
            if (!m->name[m->n])
                return -1;
            m->rank[m->n] = i;
            m->depth[m->n] = depth;
            m->n++;
        }
    }
    /* the first entry of each name wins in the set: its first key */
    return cli_nameset_init(&m->set, (const char *const *)m->name, m->n);
}

static void modules_free(modules *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->name[i]);
    free(m->name);
    free(m->rank);
    free(m->depth);
    cli_nameset_free(&m->set);
}

/* A BatchNorm's num_batches_tracked that the state_dict lacks: torch's
 * _BatchNorm._load_from_state_dict fills in tensor(0) when the state_dict
 * carries no version 2 metadata for the module — true of every dict built by
 * hand (a renamed DataParallel state_dict) and of pre-0.4.1 files; mft does
 * not keep the `_metadata` attribute, so it forgives the key as torch
 * does in those cases. */
static int forgiven_missing(const char *ref_key)
{
    static const char tail[] = "num_batches_tracked";
    size_t n = strlen(ref_key), t = sizeof tail - 1;
    return n >= t && strcmp(ref_key + n - t, tail) == 0 &&
           (n == t || ref_key[n - t - 1] == '.');
}

/* REF key i is missing from FILE (and not forgiven). */
static int is_missing(const cli_names *rn, size_t i, const cli_nameset *fset)
{
    return cli_nameset_find(fset, rn->name[i]) < 0 &&
           !forgiven_missing(rn->name[i]);
}

enum { KEY_MATCHED, KEY_UNEXPECTED, KEY_IGNORED };

/* What load_state_dict makes of a state_dict key: it walks down the
 * modules along the key; at the first component that is neither a child
 * module nor a tensor of the module reached, the key is unexpected there
 * (*rank, *depth: that module's place in the visit order); a key that names
 * a tensor exactly matches; anything else is never looked at (a key
 * that ends at a module, or continues past a tensor). */
static int classify(const char *key, const modules *m, const cli_nameset *ref,
                    size_t *rank, size_t *depth)
{
    size_t pos = 0;
    *rank = 0;
    *depth = 0;
    char *buf = strdup(key);
    if (!buf)
        return KEY_UNEXPECTED;
    int out = KEY_UNEXPECTED;
    for (;;) {
        const char *rest = key + pos;
        const char *dot = strchr(rest, '.');
        size_t flen = dot ? (size_t)(dot - rest) : strlen(rest);
        buf[pos + flen] = 0; /* buf = the path up to this component */
        long mi = cli_nameset_find(&m->set, buf);
        if (mi >= 0) {
            if (!dot) {
                out = KEY_IGNORED;
                break;
            }
            *rank = m->rank[mi];
            *depth = m->depth[mi];
            buf[pos + flen] = '.';
            pos += flen + 1;
            continue;
        }
        if (cli_nameset_find(ref, buf) >= 0)
            out = dot ? KEY_IGNORED : KEY_MATCHED;
        break;
    }
    free(buf);
    return out;
}

struct unexpected {
    size_t file_index; /* in FILE's selection */
    size_t rank, depth;
};

static int cmp_unexpected(const void *pa, const void *pb)
{
    const struct unexpected *a = pa, *b = pb;
    /* the root (depth 0) first, then modules in visit order, a module
     * before its first child, then state_dict order */
    size_t ra = a->depth ? a->rank + 1 : 0, rb = b->depth ? b->rank + 1 : 0;
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (a->depth != b->depth)
        return a->depth < b->depth ? -1 : 1;
    return a->file_index < b->file_index ? -1 : a->file_index > b->file_index;
}

int cmd_check(int argc, char **argv)
{
    const char *against = NULL, *select = NULL, *strip = NULL,
               *ref_select = NULL;
    int as_json = 0;
    static const struct option opts[] = {
        {"against", required_argument, 0, 'a'},
        {"select", required_argument, 0, 's'},
        {"strip-prefix", required_argument, 0, 'p'},
        {"against-select", required_argument, 0, 'S'},
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': against = optarg; break;
        case 's': select = optarg; break;
        case 'p': strip = optarg; break;
        case 'S': ref_select = optarg; break;
        case 'j': as_json = 1; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("check", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("check", "expected exactly one FILE");
    if (!against)
        return cli_usage_error("check", "--against REF is required");
    const char *path = argv[optind];
    mft_file *f = cli_open(path);
    if (!f)
        return EXIT_ERROR;
    mft_file *r = cli_open(against);
    if (!r) {
        mft_close(f);
        return EXIT_ERROR;
    }
    int rc = EXIT_ERROR;
    cli_names fn, rn;
    cli_nameset fset, rset;
    memset(&fn, 0, sizeof fn);
    memset(&rn, 0, sizeof rn);
    memset(&fset, 0, sizeof fset);
    memset(&rset, 0, sizeof rset);
    char *hint = NULL;
    modules mods;
    memset(&mods, 0, sizeof mods);
    struct unexpected *unexp = NULL;
    size_t nunexpected = 0;
    if (cli_names_select(f, select, strip, &fn) != 0 ||
        cli_names_select(r, ref_select, NULL, &rn) != 0 ||
        cli_nameset_init(&fset, fn.name, fn.n) != 0 ||
        cli_nameset_init(&rset, rn.name, rn.n) != 0)
        goto out;
    if (select && fn.n == 0) {
        cli_error("%s: no tensors under \"%s\"", path, select);
        goto out;
    }
    if (ref_select && rn.n == 0) {
        cli_error("%s: no tensors under \"%s\"", against, ref_select);
        goto out;
    }
    size_t nmissing = 0, nsize = 0, ncast = 0, matched = 0;
    for (size_t i = 0; i < rn.n; i++) {
        long k = cli_nameset_find(&fset, rn.name[i]);
        if (k < 0) {
            nmissing += !forgiven_missing(rn.name[i]);
            continue;
        }
        matched++;
        mft_tensor a, b;
        mft_tensor_at(f, fn.index[k], &a);
        mft_tensor_at(r, rn.index[i], &b);
        if (!loads(&a, &b))
            nsize++;
        else if (a.dtype != b.dtype)
            ncast++;
    }
    if (modules_build(&mods, &rn) != 0) {
        cli_error("out of memory");
        goto out;
    }
    unexp = calloc(fn.n ? fn.n : 1, sizeof *unexp);
    if (!unexp) {
        cli_error("out of memory");
        goto out;
    }
    for (size_t i = 0; i < fn.n; i++) {
        struct unexpected u = {i, 0, 0};
        if (classify(fn.name[i], &mods, &rset, &u.rank, &u.depth) ==
            KEY_UNEXPECTED)
            unexp[nunexpected++] = u;
    }
    qsort(unexp, nunexpected, sizeof *unexp, cmp_unexpected);
    size_t hint_n = 0;
    if (nmissing || nunexpected)
        hint = best_prefix(&fn, &rset, matched, &hint_n);
    int ok = !nmissing && !nunexpected && !nsize;

    if (as_json) {
        printf("{\"file\": ");
        json_string(stdout, path);
        printf(", \"against\": ");
        json_string(stdout, against);
        printf(", \"ok\": %s, \"matched\": %zu, \"missing\": [",
               ok ? "true" : "false", matched);
        int first = 1;
        for (size_t i = 0; i < rn.n; i++)
            if (is_missing(&rn, i, &fset)) {
                printf(first ? "" : ", ");
                json_string(stdout, rn.name[i]);
                first = 0;
            }
        printf("], \"unexpected\": [");
        for (size_t i = 0; i < nunexpected; i++) {
            printf(i ? ", " : "");
            json_string(stdout, fn.name[unexp[i].file_index]);
        }
        printf("], \"size_mismatch\": [");
        char sa[1024], sb[1024];
        for (int pass = 0; pass < 2; pass++) {
            first = 1;
            if (pass)
                printf("], \"dtype_cast\": [");
            for (size_t i = 0; i < rn.n; i++) {
                long k = cli_nameset_find(&fset, rn.name[i]);
                if (k < 0)
                    continue;
                mft_tensor a, b;
                mft_tensor_at(f, fn.index[k], &a);
                mft_tensor_at(r, rn.index[i], &b);
                int fits = loads(&a, &b);
                if (pass == 0 && !fits) {
                    shape_string(&a, sa, sizeof sa);
                    shape_string(&b, sb, sizeof sb);
                    printf("%s{\"key\": ", first ? "" : ", ");
                    json_string(stdout, rn.name[i]);
                    printf(", \"checkpoint\": %s, \"model\": %s}", sa, sb);
                    first = 0;
                } else if (pass == 1 && fits && a.dtype != b.dtype) {
                    printf("%s{\"key\": ", first ? "" : ", ");
                    json_string(stdout, rn.name[i]);
                    printf(", \"checkpoint\": \"%s\", \"model\": \"%s\"}",
                           mft_dtype_name(a.dtype), mft_dtype_name(b.dtype));
                    first = 0;
                }
            }
        }
        printf("]");
        if (hint) {
            printf(", \"hint\": {\"prefix\": ");
            json_string(stdout, hint);
            printf(", \"matches\": %zu}", hint_n);
        }
        printf("}\n");
    } else if (ok) {
        printf("ok: %s loads into %s with strict=True: %zu keys match",
               path, against, matched);
        if (ncast)
            printf(" (%zu cast to the model's dtype)", ncast);
        printf("\n");
        for (size_t i = 0; i < rn.n; i++) {
            long k = cli_nameset_find(&fset, rn.name[i]);
            mft_tensor a, b;
            if (k < 0) {
                printf("note: %s: not in the checkpoint; torch fills in 0 "
                       "(a state_dict without version metadata)\n",
                       rn.name[i]);
                continue;
            }
            mft_tensor_at(f, fn.index[k], &a);
            mft_tensor_at(r, rn.index[i], &b);
            if (a.dtype != b.dtype)
                printf("note: %s: %s in the checkpoint, %s in the model "
                       "(copy_ casts)\n",
                       rn.name[i], mft_dtype_name(a.dtype),
                       mft_dtype_name(b.dtype));
        }
    } else {
        printf("Error(s) in loading state_dict for %s:", against);
        if (nmissing) {
            printf("\n\tMissing key(s) in state_dict: ");
            int first = 1;
            for (size_t i = 0; i < rn.n; i++)
                if (is_missing(&rn, i, &fset)) {
                    printf("%s\"%s\"", first ? "" : ", ", rn.name[i]);
                    first = 0;
                }
            printf(". ");
        }
        if (nunexpected) {
            printf("\n\tUnexpected key(s) in state_dict: ");
            for (size_t i = 0; i < nunexpected; i++)
                printf("%s\"%s\"", i ? ", " : "",
                       fn.name[unexp[i].file_index]);
            printf(". ");
        }
        for (size_t i = 0; i < rn.n; i++) {
            long k = cli_nameset_find(&fset, rn.name[i]);
            if (k < 0)
                continue;
            mft_tensor a, b;
            mft_tensor_at(f, fn.index[k], &a);
            mft_tensor_at(r, rn.index[i], &b);
            if (loads(&a, &b))
                continue;
            printf("\n\tsize mismatch for %s: copying a param with shape ",
                   rn.name[i]);
            torch_size(&a, stdout);
            printf(" from checkpoint, the shape in current model is ");
            torch_size(&b, stdout);
            printf(".");
        }
        printf("\n\n%zu missing, %zu unexpected, %zu size mismatch%s; %zu of "
               "%zu keys match\n",
               nmissing, nunexpected, nsize, nsize == 1 ? "" : "es",
               matched - nsize, rn.n);
        if (hint) {
            size_t hl = strlen(hint);
            char *path_only = NULL;
            if (asprintf(&path_only, "%s%s%.*s", select ? select : "",
                         select ? "." : "", (int)(hl ? hl - 1 : 0), hint) < 0)
                path_only = NULL;
            const mft_value *sub =
                path_only ? mft_value_find(mft_file_root(f), path_only) : NULL;
            if (sub && mft_value_get_kind(sub) != MFT_VALUE_TENSOR && !strip)
                printf("hint: %zu keys match under \"%s\": try --select %s\n",
                       hint_n, path_only, path_only);
            else
                printf("hint: %zu keys match without the prefix \"%s\": try "
                       "--strip-prefix %s\n",
                       hint_n, hint, hint);
            free(path_only);
        }
    }
    rc = ok ? EXIT_OK : EXIT_FINDING;
out:
    free(unexp);
    modules_free(&mods);
    free(hint);
    cli_nameset_free(&fset);
    cli_nameset_free(&rset);
    cli_names_free(&fn);
    cli_names_free(&rn);
    mft_close(f);
    mft_close(r);
    return rc;
}
