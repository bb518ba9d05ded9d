/* mft diff A B: what differs between two model files, across formats:
 * names only in one of them, dtype and shape changes, and values compared
 * with torch.allclose's rule (mft_tensor_compare), on all cores. */
#include "cli.h"
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char help[] =
    "usage: mft diff A B [--rtol Y] [--atol X] [--equal-nan] [--json]\n"
    "                [--select PATH] [--strip-prefix P] [-q]\n\n"
    "Compare two model files of any formats: tensors only in A or only in B,\n"
    "dtype and shape changes, and for tensors of the same shape their values,\n"
    "with torch.allclose's rule (B is the reference, as torch's `other`):\n"
    "    |a - b| <= atol + rtol * |b|      (equal values, infinities too, are\n"
    "                                      close)\n"
    "NaN is never close to anything, not even NaN, unless --equal-nan; a\n"
    "tensor that is byte-for-byte identical (same dtype, same bytes) counts as\n"
    "the same whatever it holds. Values of different dtypes are compared as\n"
    "float64; values mft does not decode (GGUF block types such as Q4_K)\n"
    "are compared byte for byte, by digest. Reported per tensor: elements not\n"
    "close, greatest absolute and relative difference (|a - b| / |b|) and\n"
    "where.\n\n"
    "  --rtol Y          relative tolerance (default 1e-05, torch's)\n"
    "  --atol X          absolute tolerance (default 1e-08, torch's)\n"
    "  --equal-nan       NaN in both places counts as equal\n"
    "  --select PATH     compare only the tensors under PATH, on both sides,\n"
    "                    named from there\n"
    "  --strip-prefix P  remove P where a name starts with it, on both sides\n"
    "  --json            one JSON object (\"same\", \"only_a\", \"only_b\",\n"
    "                    \"tensors\": [...], \"summary\")\n"
    "  -q, --quiet       no output: the exit status says it\n"
    "  -h, --help\n\n"
    "Exit status: 0 the same (within tolerance), 1 different, 2 an error.\n";

typedef struct pair {
    size_t ia, ib;       /* tensor indices */
    const char *name;
    mft_tensor a, b;
    int same_shape, same_dtype, comparable;
    int bytes_only; /* block-quantized …: compared by digest, not by value */
    mft_status st;
    mft_compare cmp;
} pair;

typedef struct work {
    mft_file *fa, *fb;
    pair *pairs;
    size_t n;
    mft_compare_options opt;
    atomic_size_t next;
    atomic_size_t finished;
    atomic_uint_fast64_t done_bytes;
} work;

static void *compare_worker(void *arg)
{
    work *w = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&w->next, 1);
        if (i >= w->n)
            break;
        pair *p = &w->pairs[i];
        if (p->comparable)
            p->st = mft_tensor_compare(w->fa, p->ia, w->fb, p->ib, &w->opt,
                                       &p->cmp);
        if (p->comparable && p->st == MFT_ERR_DTYPE && p->same_dtype) {
            /* values mft cannot decode (Q4_K …, strings): the same bytes
             * or not, by digest */
            unsigned char da[32], db[32];
            if (mft_tensor_sha256(w->fa, p->ia, da) == MFT_OK &&
                mft_tensor_sha256(w->fb, p->ib, db) == MFT_OK) {
                memset(&p->cmp, 0, sizeof p->cmp);
                p->cmp.numel = p->a.numel;
                p->cmp.identical = memcmp(da, db, 32) == 0;
                p->cmp.max_abs = p->cmp.max_rel = NAN;
                p->bytes_only = 1;
                p->st = MFT_OK;
            }
        }
        atomic_fetch_add(&w->done_bytes, p->a.nbytes);
        atomic_fetch_add(&w->finished, 1);
    }
    return NULL;
}

/* Compare every comparable pair on all cores; the calling thread draws the
 * progress line. */
static void compare_all(work *w, uint64_t total)
{
    atomic_init(&w->next, 0);
    atomic_init(&w->finished, 0);
    atomic_init(&w->done_bytes, 0);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = cores > 1 ? (size_t)cores : 1;
    if (nt > 64)
        nt = 64;
    if (nt > w->n)
        nt = w->n ? w->n : 1;
    cli_progress prog;
    cli_progress_start(&prog, "diff", total);
    pthread_t tid[64];
    size_t started = 0;
    for (size_t t = 0; t < nt; t++)
        if (pthread_create(&tid[started], NULL, compare_worker, w) == 0)
            started++;
    if (!started)
        compare_worker(w);
    while (started && atomic_load(&w->finished) < w->n) {
        cli_progress_update(&prog, atomic_load(&w->done_bytes), total);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (size_t t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    cli_progress_end(&prog);
}

/* "[3, 2]": a flat row-major index as coordinates. */
static void coords(const mft_tensor *t, uint64_t flat, char *buf, size_t cap)
{
    uint64_t idx[MFT_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) {
        uint64_t e = t->shape[d] ? t->shape[d] : 1;
        idx[d] = flat % e;
        flat /= e;
    }
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, d ? ", %llu" : "%llu",
                              (unsigned long long)idx[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

static void json_num_or_null(double v, int present)
{
    if (!present)
        printf("null");
    else
        json_double(stdout, v);
}

int cmd_diff(int argc, char **argv)
{
    int as_json = 0, quiet = 0;
    const char *select = NULL, *strip = NULL;
    mft_compare_options opt = {1e-5, 1e-8, 0};
    static const struct option opts[] = {
        {"rtol", required_argument, 0, 'r'},
        {"atol", required_argument, 0, 'a'},
        {"equal-nan", no_argument, 0, 'n'},
        {"select", required_argument, 0, 's'},
        {"strip-prefix", required_argument, 0, 'p'},
        {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
        case 'a': {
            char *end;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || !(v >= 0) || isinf(v))
                return cli_usage_error("diff", "--%s wants a number >= 0",
                                       c == 'r' ? "rtol" : "atol");
            if (c == 'r')
                opt.rtol = v;
            else
                opt.atol = v;
            break;
        }
        case 'n': opt.equal_nan = 1; break;
        case 's': select = optarg; break;
        case 'p': strip = optarg; break;
        case 'j': as_json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("diff", "bad option");
        }
    }
    if (optind != argc - 2)
        return cli_usage_error("diff", "expected two files, A and B");
    const char *pa = argv[optind], *pb = argv[optind + 1];
    mft_file *fa = cli_open(pa);
    if (!fa)
        return EXIT_ERROR;
    mft_file *fb = cli_open(pb);
    if (!fb) {
        mft_close(fa);
        return EXIT_ERROR;
    }
    int rc = EXIT_ERROR;
    cli_names na, nb;
    cli_nameset sa, sb;
    memset(&na, 0, sizeof na);
    memset(&nb, 0, sizeof nb);
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    pair *pairs = NULL;
    if (cli_names_select(fa, select, strip, &na) != 0 ||
        cli_names_select(fb, select, strip, &nb) != 0 ||
        cli_nameset_init(&sa, na.name, na.n) != 0 ||
        cli_nameset_init(&sb, nb.name, nb.n) != 0)
        goto out;
    pairs = calloc(na.n ? na.n : 1, sizeof *pairs);
    if (!pairs) {
        cli_error("out of memory");
        goto out;
    }
    size_t np = 0, only_a = 0, only_b = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < na.n; i++) {
        long k = cli_nameset_find(&sb, na.name[i]);
        if (k < 0) {
            only_a++;
            continue;
        }
        pair *p = &pairs[np++];
        p->ia = na.index[i];
        p->ib = nb.index[k];
        p->name = na.name[i];
        mft_tensor_at(fa, p->ia, &p->a);
        mft_tensor_at(fb, p->ib, &p->b);
        p->same_dtype = p->a.dtype == p->b.dtype;
        p->same_shape = p->a.ndim == p->b.ndim;
        for (int d = 0; p->same_shape && d < p->a.ndim; d++)
            p->same_shape = p->a.shape[d] == p->b.shape[d];
        p->comparable = p->same_shape;
        if (p->comparable)
            total += p->a.nbytes;
    }
    for (size_t i = 0; i < nb.n; i++)
        if (cli_nameset_find(&sa, nb.name[i]) < 0)
            only_b++;
    work w;
    memset(&w, 0, sizeof w);
    w.fa = fa;
    w.fb = fb;
    w.pairs = pairs;
    w.n = np;
    w.opt = opt;
    compare_all(&w, total);

    /* verdicts */
    size_t identical = 0, close = 0, different = 0, dtype_changes = 0,
           shape_changes = 0, not_compared = 0;
    for (size_t i = 0; i < np; i++) {
        pair *p = &pairs[i];
        if (!p->same_dtype)
            dtype_changes++;
        if (!p->same_shape) {
            shape_changes++;
            continue;
        }
        if (p->st == MFT_ERR_DTYPE || p->st == MFT_ERR_UNSUPPORTED) {
            not_compared++;
            continue;
        }
        if (p->st != MFT_OK) {
            cli_error("%s", mft_file_errmsg(fa)[0] ? mft_file_errmsg(fa)
                                                    : mft_file_errmsg(fb));
            goto out;
        }
        if (p->cmp.identical)
            identical++;
        else if (p->bytes_only)
            different++;
        else if (p->cmp.mismatched == 0)
            close++;
        else
            different++;
    }
    int same = !only_a && !only_b && !dtype_changes && !shape_changes &&
               !different && !not_compared;
    rc = same ? EXIT_OK : EXIT_FINDING;
    if (quiet)
        goto out;
    char s1[1024], s2[1024], i1[512], i2[512];
    if (as_json) {
        printf("{\"a\": ");
        json_string(stdout, pa);
        printf(", \"b\": ");
        json_string(stdout, pb);
        printf(", \"format_a\": \"%s\", \"format_b\": \"%s\", \"rtol\": ",
               mft_format_name(mft_file_format(fa)),
               mft_format_name(mft_file_format(fb)));
        json_double(stdout, opt.rtol);
        printf(", \"atol\": ");
        json_double(stdout, opt.atol);
        printf(", \"equal_nan\": %s, \"same\": %s, \"only_a\": [",
               opt.equal_nan ? "true" : "false", same ? "true" : "false");
        int first = 1;
        for (size_t i = 0; i < na.n; i++)
            if (cli_nameset_find(&sb, na.name[i]) < 0) {
                printf(first ? "" : ", ");
                json_string(stdout, na.name[i]);
                first = 0;
            }
        printf("], \"only_b\": [");
        first = 1;
        for (size_t i = 0; i < nb.n; i++)
            if (cli_nameset_find(&sa, nb.name[i]) < 0) {
                printf(first ? "" : ", ");
                json_string(stdout, nb.name[i]);
                first = 0;
            }
        printf("], \"tensors\": [");
        for (size_t i = 0; i < np; i++) {
            pair *p = &pairs[i];
            shape_string(&p->a, s1, sizeof s1);
            shape_string(&p->b, s2, sizeof s2);
            printf("%s{\"name\": ", i ? ", " : "");
            json_string(stdout, p->name);
            printf(", \"dtype_a\": \"%s\", \"dtype_b\": \"%s\", \"shape_a\": "
                   "%s, \"shape_b\": %s",
                   mft_dtype_name(p->a.dtype), mft_dtype_name(p->b.dtype), s1,
                   s2);
            int values = p->same_shape && p->st == MFT_OK;
            const char *status =
                !p->same_shape ? "shape"
                : !values ? "not_compared"
                : p->cmp.identical ? "identical"
                : p->bytes_only || p->cmp.mismatched ? "different" : "close";
            printf(", \"status\": \"%s\"", status);
            if (values && p->bytes_only) {
                printf(", \"identical\": %s, \"allclose\": null, \"numel\": %llu, "
                       "\"compared\": \"bytes\"",
                       p->cmp.identical ? "true" : "false",
                       (unsigned long long)p->cmp.numel);
            } else if (values) {
                const mft_compare *m = &p->cmp;
                int have = m->numel && !isnan(m->max_abs);
                printf(", \"identical\": %s, \"allclose\": %s, \"numel\": "
                       "%llu, \"mismatched\": %llu, \"nan_mismatch\": %llu, "
                       "\"max_abs\": ",
                       m->identical ? "true" : "false",
                       m->identical || !m->mismatched ? "true" : "false",
                       (unsigned long long)m->numel,
                       (unsigned long long)m->mismatched,
                       (unsigned long long)m->nan_mismatch);
                json_num_or_null(m->max_abs, have);
                printf(", \"max_abs_index\": ");
                if (have) {
                    coords(&p->a, m->max_abs_at, i1, sizeof i1);
                    printf("%s", i1);
                } else {
                    printf("null");
                }
                printf(", \"max_rel\": ");
                json_num_or_null(m->max_rel, have);
                printf(", \"max_rel_index\": ");
                if (have) {
                    coords(&p->a, m->max_rel_at, i2, sizeof i2);
                    printf("%s", i2);
                } else {
                    printf("null");
                }
            }
            printf("}");
        }
        printf("], \"summary\": {\"compared\": %zu, \"identical\": %zu, "
               "\"close\": %zu, \"different\": %zu, \"not_compared\": %zu, "
               "\"only_a\": %zu, \"only_b\": %zu, \"dtype_changes\": %zu, "
               "\"shape_changes\": %zu}}\n",
               np - shape_changes - not_compared, identical, close, different,
               not_compared, only_a, only_b, dtype_changes, shape_changes);
        goto out;
    }
    printf("--- %s (%s)\n+++ %s (%s)\n", pa,
           mft_format_name(mft_file_format(fa)), pb,
           mft_format_name(mft_file_format(fb)));
    for (size_t i = 0; i < na.n; i++)
        if (cli_nameset_find(&sb, na.name[i]) < 0) {
            mft_tensor t;
            mft_tensor_at(fa, na.index[i], &t);
            shape_string(&t, s1, sizeof s1);
            printf("only in A  %s  %s %s\n", na.name[i],
                   mft_dtype_name(t.dtype), s1);
        }
    for (size_t i = 0; i < nb.n; i++)
        if (cli_nameset_find(&sa, nb.name[i]) < 0) {
            mft_tensor t;
            mft_tensor_at(fb, nb.index[i], &t);
            shape_string(&t, s1, sizeof s1);
            printf("only in B  %s  %s %s\n", nb.name[i],
                   mft_dtype_name(t.dtype), s1);
        }
    for (size_t i = 0; i < np; i++) {
        pair *p = &pairs[i];
        if (!p->same_dtype)
            printf("dtype      %s  %s -> %s\n", p->name,
                   mft_dtype_name(p->a.dtype), mft_dtype_name(p->b.dtype));
        if (!p->same_shape) {
            shape_string(&p->a, s1, sizeof s1);
            shape_string(&p->b, s2, sizeof s2);
            printf("shape      %s  %s -> %s\n", p->name, s1, s2);
            continue;
        }
        if (p->st != MFT_OK) {
            printf("values     %s  not compared (%s)\n", p->name,
                   p->a.kind ? p->a.kind : "no values of this dtype");
            continue;
        }
        const mft_compare *m = &p->cmp;
        if (m->identical)
            continue;
        if (p->bytes_only) {
            printf("values     %s  bytes differ (%s values are compared by "
                   "digest, not element by element)\n",
                   p->name, mft_dtype_name(p->a.dtype));
            continue;
        }
        printf("%s %s  ", m->mismatched ? "values    " : "close     ",
               p->name);
        if (m->mismatched)
            printf("%llu of %llu elements not close (%.4g%%)",
                   (unsigned long long)m->mismatched,
                   (unsigned long long)m->numel,
                   100.0 * (double)m->mismatched / (double)m->numel);
        else
            printf("all %llu elements close", (unsigned long long)m->numel);
        if (m->nan_mismatch)
            printf(", %llu with NaN", (unsigned long long)m->nan_mismatch);
        if (!isnan(m->max_abs)) {
            coords(&p->a, m->max_abs_at, i1, sizeof i1);
            coords(&p->a, m->max_rel_at, i2, sizeof i2);
            printf("; max abs diff %.6g at %s, max rel diff %.6g at %s",
                   m->max_abs, i1, m->max_rel, i2);
        }
        printf("\n");
    }
    printf("%zu tensors compared: %zu identical, %zu close, %zu different",
           np - shape_changes - not_compared, identical, close, different);
    if (not_compared)
        printf(", %zu without comparable values", not_compared);
    printf(" (rtol=%g, atol=%g%s)", opt.rtol, opt.atol,
           opt.equal_nan ? ", equal_nan" : "");
    if (only_a || only_b)
        printf("; %zu only in A, %zu only in B", only_a, only_b);
    if (dtype_changes)
        printf("; %zu dtype change%s", dtype_changes,
               dtype_changes == 1 ? "" : "s");
    if (shape_changes)
        printf("; %zu shape change%s", shape_changes,
               shape_changes == 1 ? "" : "s");
    printf("\n%s\n", same ? "same" : "different");
out:
    free(pairs);
    cli_nameset_free(&sa);
    cli_nameset_free(&sb);
    cli_names_free(&na);
    cli_names_free(&nb);
    mft_close(fa);
    mft_close(fb);
    return rc;
}
