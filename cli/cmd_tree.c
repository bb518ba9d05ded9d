/* mft tree FILE [--depth N] [--json] [--expand]: the module hierarchy that
 * the tensor paths spell (fc1.weight → module fc1), with parameters and
 * bytes per module and a guess of each layer's kind from names and shapes.
 *
 * Guesses, for a module whose children are tensors:
 *   in_proj_weight [3E, E]                     MultiheadAttention
 *   running_mean + running_var                 BatchNorm
 *   weight of 3 / 4 / 5 dims                   Conv1d / Conv2d / Conv3d
 *   weight [N, D] named like an embedding,
 *     without bias                             Embedding
 *   weight [in, out] named c_attn/c_fc/c_proj  Conv1D (GPT-2's transposed
 *                                              linear)
 *   weight [out, in]                           Linear (+ its role from the
 *                                              name: attention q/k/v/qkv/out,
 *                                              MLP gate/up/down, LM head)
 *   weight [C] + bias [C]                      LayerNorm (GroupNorm if so
 *                                              named)
 *   weight [C] alone, norm-like name           RMSNorm
 *   exp_avg + exp_avg_sq / momentum_buffer     Adam / SGD optimizer state
 * and for containers: Attention (holds q/k/v or qkv projections), MLP
 * (holds up/down projections), Block (holds both). Runs of three or more
 * numbered siblings with the same structure (h.0 … h.23) print the first
 * and one line for the rest, unless --expand. */
#include "cli.h"
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mft tree FILE [--depth N] [--json] [--expand]\n\n"
    "The module hierarchy of FILE's tensor paths (split at '.'; at '/' for\n"
    "paths without '.'), with parameters and bytes per module and a guess of\n"
    "each layer's kind from its tensor names and shapes (Linear, Conv2d,\n"
    "Embedding, LayerNorm, RMSNorm, BatchNorm, attention projections …).\n"
    "Runs of numbered siblings with the same structure (layers 1 … 23 like\n"
    "layer 0) are folded into one line.\n\n"
    "  --depth N   show N levels (deeper modules are counted, not listed)\n"
    "  --expand    list every numbered sibling\n"
    "  --json      {\"file\", \"format\", \"parameters\", \"nbytes\", \"tensors\",\n"
    "              \"children\": [{\"name\", \"path\", \"kind\", \"parameters\",\n"
    "              \"nbytes\", \"tensors\", \"children\"} | {\"name\", \"path\",\n"
    "              \"dtype\", \"shape\", \"parameters\", \"nbytes\"}]}\n"
    "  -h, --help\n";

typedef struct node {
    const char *seg;        /* path segment (owned by the tree's pool) */
    size_t seglen;
    struct node *parent;
    long tensor;            /* index of the tensor at exactly this path, -1 */
    struct node **kids;
    size_t nkids, cap;
    uint64_t params, bytes, ntensors;
    uint64_t sig;           /* structure below this node */
    const char *kind;       /* guess, or NULL */
    char desc[96];
    int layer;              /* a leaf module with a recognised kind */
} node;

typedef struct tree {
    mft_file *f;
    node root;
    /* (parent, segment) → child, open addressing */
    node **slots;
    size_t cap, count;
} tree;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static size_t slot_of(const tree *t, const node *parent, const char *seg,
                      size_t len)
{
    uint64_t h = fnv(1469598103934665603ull, &parent, sizeof parent);
    h = fnv(h, seg, len);
    size_t i = (size_t)h & (t->cap - 1);
    while (t->slots[i] &&
           !(t->slots[i]->parent == parent && t->slots[i]->seglen == len &&
             memcmp(t->slots[i]->seg, seg, len) == 0))
        i = (i + 1) & (t->cap - 1);
    return i;
}

static int grow(tree *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    node **old = t->slots;
    size_t ocap = t->cap;
    t->slots = calloc(ncap, sizeof *t->slots);
    if (!t->slots) {
        t->slots = old;
        return -1;
    }
    t->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i])
            t->slots[slot_of(t, old[i]->parent, old[i]->seg, old[i]->seglen)] =
                old[i];
    free(old);
    return 0;
}

static node *child(tree *t, node *parent, const char *seg, size_t len)
{
    if ((t->count + 1) * 2 > t->cap && grow(t) != 0)
        return NULL;
    size_t i = slot_of(t, parent, seg, len);
    if (t->slots[i])
        return t->slots[i];
    node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->seg = seg;
    n->seglen = len;
    n->parent = parent;
    n->tensor = -1;
    if (parent->nkids == parent->cap) {
        size_t nc = parent->cap ? parent->cap * 2 : 4;
        node **nk = realloc(parent->kids, nc * sizeof *nk);
        if (!nk) {
            free(n);
            return NULL;
        }
        parent->kids = nk;
        parent->cap = nc;
    }
    parent->kids[parent->nkids++] = n;
    t->slots[i] = n;
    t->count++;
    return n;
}

static void free_node(node *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        free_node(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
}

static int seg_is(const node *n, const char *s)
{
    return strlen(s) == n->seglen && strncasecmp(n->seg, s, n->seglen) == 0;
}

static int seg_in(const node *n, const char *const *list)
{
    for (; *list; list++)
        if (seg_is(n, *list))
            return 1;
    return 0;
}

static int seg_has(const node *n, const char *needle)
{
    size_t l = strlen(needle);
    for (size_t i = 0; i + l <= n->seglen; i++)
        if (strncasecmp(n->seg + i, needle, l) == 0)
            return 1;
    return 0;
}

static int is_number(const node *n)
{
    if (!n->seglen)
        return 0;
    for (size_t i = 0; i < n->seglen; i++)
        if (!isdigit((unsigned char)n->seg[i]))
            return 0;
    return 1;
}

/* The tensor child named `name`, filled into *t; 0 if none. */
static int tensor_kid(tree *tr, const node *n, const char *name, mft_tensor *t)
{
    for (size_t i = 0; i < n->nkids; i++)
        if (n->kids[i]->tensor >= 0 && !n->kids[i]->nkids &&
            seg_is(n->kids[i], name)) {
            mft_tensor_at(tr->f, (size_t)n->kids[i]->tensor, t);
            return 1;
        }
    return 0;
}

enum role { R_NONE, R_Q, R_K, R_V, R_O, R_QKV, R_GATE, R_UP, R_DOWN, R_HEAD };

static enum role role_of(const node *n)
{
    static const char *const q[] = {"q_proj", "query", "q", "wq", "attn_q", "to_q", "q_lin", NULL};
    static const char *const k[] = {"k_proj", "key", "k", "wk", "attn_k", "to_k", "k_lin", NULL};
    static const char *const v[] = {"v_proj", "value", "v", "wv", "attn_v", "to_v", "v_lin", NULL};
    static const char *const o[] = {"o_proj", "out_proj", "wo", "attn_output", "attn_out", "out_lin", "to_out", NULL};
    static const char *const qkv[] = {"qkv", "c_attn", "query_key_value", "wqkv", "qkv_proj", "attn_qkv", "in_proj", NULL};
    static const char *const gate[] = {"gate_proj", "w1", "ffn_gate", NULL};
    static const char *const up[] = {"up_proj", "fc1", "c_fc", "w3", "ffn_up", "fc_in", "dense_h_to_4h", NULL};
    static const char *const down[] = {"down_proj", "fc2", "w2", "ffn_down", "fc_out", "dense_4h_to_h", NULL};
    static const char *const head[] = {"lm_head", "output", "classifier", "head", NULL};
    const node *p = n->parent;
    if (seg_in(n, qkv)) return R_QKV;
    if (seg_in(n, q)) return R_Q;
    if (seg_in(n, k)) return R_K;
    if (seg_in(n, v)) return R_V;
    if (seg_in(n, o)) return R_O;
    if (seg_in(n, gate)) return R_GATE;
    if (seg_in(n, up)) return R_UP;
    if (seg_in(n, down)) return R_DOWN;
    /* GPT-2's c_proj and BERT's dense: by what holds them */
    if ((seg_is(n, "c_proj") || seg_is(n, "dense")) && p) {
        if (seg_has(p, "attn") || seg_has(p, "attention"))
            return R_O;
        if (seg_has(p, "mlp") || seg_is(p, "output"))
            return R_DOWN;
        if (seg_is(p, "intermediate"))
            return R_UP;
    }
    /* plain names, by what holds them */
    if (p && (seg_has(p, "attn") || seg_has(p, "attention")) &&
        (seg_is(n, "out") || seg_is(n, "proj") || seg_is(n, "o")))
        return R_O;
    if (p && (seg_has(p, "mlp") || seg_has(p, "ffn") ||
              seg_has(p, "feed_forward"))) {
        if (seg_is(n, "gate"))
            return R_GATE;
        if (seg_is(n, "up") || seg_is(n, "fc"))
            return R_UP;
        if (seg_is(n, "down") || seg_is(n, "proj"))
            return R_DOWN;
    }
    if (seg_in(n, head) && p && !p->parent)
        return R_HEAD;
    if (seg_is(n, "lm_head"))
        return R_HEAD;
    return R_NONE;
}

static const char *role_text(enum role r)
{
    switch (r) {
    case R_Q: return "attention query";
    case R_K: return "attention key";
    case R_V: return "attention value";
    case R_O: return "attention output";
    case R_QKV: return "attention q|k|v";
    case R_GATE: return "MLP gate";
    case R_UP: return "MLP up";
    case R_DOWN: return "MLP down";
    case R_HEAD: return "LM head";
    default: return NULL;
    }
}

static int norm_like(const node *n)
{
    return seg_has(n, "norm") || seg_has(n, "ln") || seg_is(n, "rms") ||
           seg_has(n, "layernorm");
}

static int embed_like(const node *n)
{
    static const char *const names[] = {"wte", "wpe", "shared", "tok_embeddings", "token_embd",
                                        "embed_tokens", "word_embeddings", "position_embeddings",
                                        "token_type_embeddings", "embed", "embedding", "embeddings", NULL};
    return seg_in(n, names) || seg_has(n, "emb");
}

/* A leaf module's kind from its tensors. */
static void guess_layer(tree *tr, node *n)
{
    mft_tensor w, b, rm, ipw;
    int hw = tensor_kid(tr, n, "weight", &w) || tensor_kid(tr, n, "kernel", &w);
    int hb = tensor_kid(tr, n, "bias", &b);
    mft_tensor x;
    if (tensor_kid(tr, n, "in_proj_weight", &ipw) && ipw.ndim == 2) {
        n->kind = "MultiheadAttention";
        snprintf(n->desc, sizeof n->desc, "embed_dim=%llu",
                 (unsigned long long)ipw.shape[1]);
    } else if (tensor_kid(tr, n, "running_mean", &rm) &&
               tensor_kid(tr, n, "running_var", &x)) {
        n->kind = "BatchNorm";
        snprintf(n->desc, sizeof n->desc, "%llu", (unsigned long long)rm.numel);
    } else if (tensor_kid(tr, n, "exp_avg", &x) &&
               tensor_kid(tr, n, "exp_avg_sq", &x)) {
        n->kind = "Adam state";
    } else if (tensor_kid(tr, n, "momentum_buffer", &x)) {
        n->kind = "SGD momentum";
    } else if (hw && w.ndim >= 3 && w.ndim <= 5) {
        static const char *const conv[] = {"Conv1d", "Conv2d", "Conv3d"};
        int keras = tensor_kid(tr, n, "kernel", &x);
        n->kind = conv[w.ndim - 3];
        /* torch: [out, in/groups, k…]; Keras kernels: [k…, in, out] */
        uint64_t out = keras ? w.shape[w.ndim - 1] : w.shape[0];
        uint64_t in = keras ? w.shape[w.ndim - 2] : w.shape[1];
        size_t o = (size_t)snprintf(n->desc, sizeof n->desc, "%llu -> %llu, kernel ",
                                    (unsigned long long)in, (unsigned long long)out);
        for (int d = 0; d < w.ndim - 2 && o < sizeof n->desc; d++)
            o += (size_t)snprintf(n->desc + o, sizeof n->desc - o, d ? "x%llu" : "%llu",
                                  (unsigned long long)w.shape[keras ? d : d + 2]);
        if (!hb && o < sizeof n->desc)
            snprintf(n->desc + o, sizeof n->desc - o, ", no bias");
    } else if (hw && w.ndim == 2) {
        enum role r = role_of(n);
        int keras = tensor_kid(tr, n, "kernel", &x);
        int gpt2 = seg_is(n, "c_attn") || seg_is(n, "c_fc") ||
                   seg_is(n, "c_proj");
        if (!hb && r == R_NONE && embed_like(n)) {
            n->kind = "Embedding";
            snprintf(n->desc, sizeof n->desc, "%llu x %llu",
                     (unsigned long long)w.shape[0],
                     (unsigned long long)w.shape[1]);
            return;
        }
        /* GPT-2's Conv1D and Keras' Dense store [in, out] */
        n->kind = gpt2 ? "Conv1D" : keras ? "Dense" : "Linear";
        uint64_t in = gpt2 || keras ? w.shape[0] : w.shape[1];
        uint64_t out = gpt2 || keras ? w.shape[1] : w.shape[0];
        const char *rt = role_text(r);
        snprintf(n->desc, sizeof n->desc, "%llu -> %llu%s%s%s",
                 (unsigned long long)in, (unsigned long long)out,
                 hb ? "" : ", no bias", rt ? ", " : "", rt ? rt : "");
    } else if (hw && w.ndim == 1 && hb && b.ndim == 1 &&
               b.numel == w.numel) {
        /* an affine 1-d weight and bias without running statistics */
        n->kind = seg_has(n, "group") || seg_is(n, "gn") ? "GroupNorm"
                                                         : "LayerNorm";
        snprintf(n->desc, sizeof n->desc, "%llu", (unsigned long long)w.numel);
    } else if (hw && w.ndim == 1 && !hb && norm_like(n)) {
        n->kind = "RMSNorm";
        snprintf(n->desc, sizeof n->desc, "%llu", (unsigned long long)w.numel);
    }
}

static void guess_container(node *n)
{
    int attn = 0, mlp = 0, block = 0;
    for (size_t i = 0; i < n->nkids; i++) {
        node *k = n->kids[i];
        enum role r = k->layer ? role_of(k) : R_NONE;
        if (r >= R_Q && r <= R_QKV)
            attn = 1;
        if (r >= R_GATE && r <= R_DOWN)
            mlp = 1;
        if (k->kind && (strcmp(k->kind, "Attention") == 0 ||
                        strcmp(k->kind, "MultiheadAttention") == 0))
            block |= 1;
        if (k->kind && strcmp(k->kind, "MLP") == 0)
            block |= 2;
    }
    if (block == 3 || (attn && mlp))
        n->kind = "Block";
    else if (attn)
        n->kind = "Attention";
    else if (mlp)
        n->kind = "MLP";
}

/* Totals, signatures and guesses, bottom-up. */
static void finish(tree *tr, node *n)
{
    int leaf_module = n->nkids > 0;
    uint64_t sig = 1469598103934665603ull;
    n->params = n->bytes = n->ntensors = 0;
    if (n->tensor >= 0) {
        mft_tensor t;
        mft_tensor_at(tr->f, (size_t)n->tensor, &t);
        n->params = t.numel;
        n->bytes = t.nbytes;
        n->ntensors = 1;
        sig = fnv(sig, &t.dtype, sizeof t.dtype);
        sig = fnv(sig, &t.ndim, sizeof t.ndim);
        sig = fnv(sig, t.shape, sizeof *t.shape * (size_t)t.ndim);
    }
    for (size_t i = 0; i < n->nkids; i++) {
        node *k = n->kids[i];
        finish(tr, k);
        n->params += k->params;
        n->bytes += k->bytes;
        n->ntensors += k->ntensors;
        if (k->nkids || k->tensor < 0)
            leaf_module = 0;
        sig = fnv(sig, k->seg, k->seglen);
        sig = fnv(sig, &k->sig, sizeof k->sig);
    }
    n->sig = sig;
    if (n->parent && leaf_module && n->tensor < 0) {
        guess_layer(tr, n);
        n->layer = n->kind != NULL;
    } else if (n->parent && n->nkids) {
        guess_container(n);
    }
}

/* ---- text ---- */

typedef struct line {
    char *label;  /* prefix + connector + segment */
    char kind[640];
    uint64_t params, bytes;
    int has_counts;
} line;

typedef struct lines {
    line *v;
    size_t n, cap;
} lines;

static void add_line(lines *ls, const char *prefix, const char *conn,
                     const char *seg, size_t seglen, const char *kind,
                     uint64_t params, uint64_t bytes)
{
    if (ls->n == ls->cap) {
        size_t nc = ls->cap ? ls->cap * 2 : 64;
        line *nv = realloc(ls->v, nc * sizeof *nv);
        if (!nv)
            return;
        ls->v = nv;
        ls->cap = nc;
    }
    line *l = &ls->v[ls->n];
    if (asprintf(&l->label, "%s%s%.*s", prefix, conn, (int)seglen, seg) < 0)
        return;
    snprintf(l->kind, sizeof l->kind, "%s", kind);
    l->params = params;
    l->bytes = bytes;
    l->has_counts = 1;
    ls->n++;
}

static void kind_text(tree *tr, const node *n, char *buf, size_t cap)
{
    if (n->tensor >= 0 && !n->nkids) {
        mft_tensor t;
        char shape[512];
        mft_tensor_at(tr->f, (size_t)n->tensor, &t);
        shape_string(&t, shape, sizeof shape);
        snprintf(buf, cap, "%s %s", mft_dtype_name(t.dtype), shape);
    } else if (n->kind && n->desc[0]) {
        snprintf(buf, cap, "%s(%s)", n->kind, n->desc);
    } else if (n->kind) {
        snprintf(buf, cap, "%s", n->kind);
    } else {
        buf[0] = 0;
    }
}

/* UTF-8 display width: count code points. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void walk_text(tree *tr, const node *n, const char *prefix, int depth,
                      int max_depth, int expand, lines *ls)
{
    if (max_depth >= 0 && depth >= max_depth)
        return;
    for (size_t i = 0; i < n->nkids; i++) {
        const node *k = n->kids[i];
        /* a run of same-structure numbered siblings after k */
        size_t run = 1;
        if (!expand && is_number(k) && k->nkids)
            while (i + run < n->nkids && is_number(n->kids[i + run]) &&
                   n->kids[i + run]->sig == k->sig)
                run++;
        if (run < 3)
            run = 1;
        int last = i + run >= n->nkids;
        /* layers show their kind, not their tensors */
        int open = k->nkids && !k->layer;
        char kind[640];
        kind_text(tr, k, kind, sizeof kind);
        add_line(ls, prefix, last && run == 1 ? "└─ " : "├─ ", k->seg,
                 k->seglen, kind, k->params, k->bytes);
        if (open) {
            char *sub = NULL;
            if (asprintf(&sub, "%s%s", prefix,
                         last && run == 1 ? "   " : "│  ") >= 0) {
                walk_text(tr, k, sub, depth + 1, max_depth, expand, ls);
                free(sub);
            }
        }
        if (run > 1) {
            uint64_t p = 0, b = 0;
            for (size_t j = 1; j < run; j++) {
                p += n->kids[i + j]->params;
                b += n->kids[i + j]->bytes;
            }
            char seg[128], what[640];
            /* "1 … 23" when the run is a range of numbers, else a count
             * (files sorted by name list 1, 10, 11 … 19, 2, 20 …) */
            unsigned long long lo = ~0ull, hi = 0;
            for (size_t j = 1; j < run; j++) {
                unsigned long long v =
                    strtoull(n->kids[i + j]->seg, NULL, 10);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            if (hi - lo + 1 == run - 1)
                snprintf(seg, sizeof seg, "%llu … %llu", lo, hi);
            else
                snprintf(seg, sizeof seg, "(%zu others)", run - 1);
            snprintf(what, sizeof what, "%zu more like %.*s", run - 1,
                     (int)k->seglen, k->seg);
            add_line(ls, prefix, last ? "└─ " : "├─ ", seg, strlen(seg),
                     what, p, b);
            i += run - 1;
        }
    }
}

/* ---- JSON ---- */

static void json_path(const node *n, FILE *out, int *first)
{
    if (!n->parent)
        return;
    json_path(n->parent, out, first);
    if (!*first)
        fputc('.', out);
    *first = 0;
    for (size_t i = 0; i < n->seglen; i++) {
        char c = n->seg[i];
        if (c == '"' || c == '\\')
            fputc('\\', out);
        if ((unsigned char)c < 0x20)
            fprintf(out, "\\u%04x", (unsigned char)c);
        else
            fputc(c, out);
    }
}

static void walk_json(tree *tr, const node *n, int depth, int max_depth)
{
    fputs("{\"name\": ", stdout);
    json_string_n(stdout, n->seg, n->seglen);
    fputs(", \"path\": \"", stdout);
    int first = 1;
    json_path(n, stdout, &first);
    fputs("\"", stdout);
    if (n->tensor >= 0) {
        mft_tensor t;
        char shape[1024];
        mft_tensor_at(tr->f, (size_t)n->tensor, &t);
        shape_string(&t, shape, sizeof shape);
        printf(", \"dtype\": \"%s\", \"shape\": %s", mft_dtype_name(t.dtype),
               shape);
    }
    if (n->kind) {
        printf(", \"kind\": ");
        json_string(stdout, n->kind);
        if (n->desc[0]) {
            printf(", \"detail\": ");
            json_string(stdout, n->desc);
        }
    }
    printf(", \"parameters\": %llu, \"nbytes\": %llu",
           (unsigned long long)n->params, (unsigned long long)n->bytes);
    if (n->nkids) {
        printf(", \"tensors\": %llu, \"children\": [",
               (unsigned long long)n->ntensors);
        if (max_depth < 0 || depth < max_depth)
            for (size_t i = 0; i < n->nkids; i++) {
                if (i)
                    printf(", ");
                walk_json(tr, n->kids[i], depth + 1, max_depth);
            }
        printf("]");
    }
    printf("}");
}

int cmd_tree(int argc, char **argv)
{
    int as_json = 0, expand = 0, max_depth = -1;
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"depth", required_argument, 0, 'd'},
                                         {"expand", no_argument, 0, 'e'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 'e': expand = 1; break;
        case 'd': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000)
                return cli_usage_error("tree", "--depth wants a number >= 1");
            max_depth = (int)v;
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("tree", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("tree", "expected exactly one FILE");
    const char *path = argv[optind];
    mft_file *f = cli_open(path);
    if (!f)
        return EXIT_ERROR;
    tree tr;
    memset(&tr, 0, sizeof tr);
    tr.f = f;
    tr.root.tensor = -1;
    size_t n = mft_tensor_count(f);
    int rc = EXIT_OK;
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        mft_tensor t;
        mft_tensor_at(f, i, &t);
        char sep = strchr(t.name, '.') || !strchr(t.name, '/') ? '.' : '/';
        node *at = &tr.root;
        const char *s = t.name;
        for (;;) {
            const char *e = strchr(s, sep);
            size_t len = e ? (size_t)(e - s) : strlen(s);
            at = child(&tr, at, s, len);
            if (!at) {
                cli_error("out of memory");
                rc = EXIT_ERROR;
                break;
            }
            if (!e)
                break;
            s = e + 1;
        }
        if (at && at->tensor < 0)
            at->tensor = (long)i;
    }
    if (rc == EXIT_OK) {
        finish(&tr, &tr.root);
        if (as_json) {
            printf("{\"file\": ");
            json_string(stdout, path);
            printf(", \"format\": \"%s\", \"parameters\": %llu, \"nbytes\": "
                   "%llu, \"tensors\": %llu, \"children\": [",
                   mft_format_name(mft_file_format(f)),
                   (unsigned long long)tr.root.params,
                   (unsigned long long)tr.root.bytes,
                   (unsigned long long)tr.root.ntensors);
            for (size_t i = 0; i < tr.root.nkids; i++) {
                if (i)
                    printf(", ");
                walk_json(&tr, tr.root.kids[i], 1, max_depth);
            }
            printf("]}\n");
        } else {
            lines ls;
            memset(&ls, 0, sizeof ls);
            walk_text(&tr, &tr.root, "", 0, max_depth, expand, &ls);
            size_t wl = 4, wk = 4, wp = 6;
            char buf[64], size[32];
            for (size_t i = 0; i < ls.n; i++) {
                if (width(ls.v[i].label) > wl)
                    wl = width(ls.v[i].label);
                if (width(ls.v[i].kind) > wk)
                    wk = width(ls.v[i].kind);
                group_digits(ls.v[i].params, buf, sizeof buf);
                if (strlen(buf) > wp)
                    wp = strlen(buf);
            }
            group_digits(tr.root.params, buf, sizeof buf);
            if (strlen(buf) > wp)
                wp = strlen(buf);
            human_bytes(tr.root.bytes, size, sizeof size);
            printf("%s (%s): %llu tensors, %s parameters, %s\n", path,
                   mft_format_name(mft_file_format(f)),
                   (unsigned long long)tr.root.ntensors, buf, size);
            printf("%-*s  %-*s  %*s  %10s\n", (int)wl, "NAME", (int)wk, "KIND",
                   (int)wp, "PARAMS", "SIZE");
            for (size_t i = 0; i < ls.n; i++) {
                line *l = &ls.v[i];
                group_digits(l->params, buf, sizeof buf);
                human_bytes(l->bytes, size, sizeof size);
                printf("%s%*s  %s%*s  %*s  %10s\n", l->label,
                       (int)(wl - width(l->label)), "", l->kind,
                       (int)(wk - width(l->kind)), "", (int)wp, buf, size);
                free(l->label);
            }
            free(ls.v);
        }
    }
    free_node(&tr.root);
    free(tr.slots);
    mft_close(f);
    return rc;
}
