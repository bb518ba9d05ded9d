/* mft info FILE [--json]: what the file is and what it holds, in totals. */
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mft info FILE [--json]\n\n"
    "Show the file's format, tensor count, parameter count, bytes by dtype\n"
    "and its metadata. Reads only the header.\n\n"
    "  --json    print one JSON object\n"
    "  -h, --help\n";

struct dtype_total {
    uint64_t tensors, params, bytes;
};

/* Metadata printing. Huge arrays (GGUF vocabularies) are summarised:
 *  - JSON: an array of more than JSON_ITEMS items becomes
 *    {"type": "array", "items": N, "item_type": "STRING"} (item_type: the
 *    GGUF element type, else the kind of the first item); shorter arrays are
 *    written in full.
 *  - text: arrays of up to TEXT_ITEMS items in full, longer ones as
 *    "[151936 strings]", "[32064 × FLOAT32]", "[2 arrays]"; strings longer
 *    than TEXT_STRING bytes or spanning lines as their start, "…" and their
 *    size. */
#define JSON_ITEMS 64
#define TEXT_ITEMS 8
#define TEXT_STRING 200
#define MAX_DEPTH 64

/* Decimal digits of a little-endian two's complement integer. */
static void print_bigint(FILE *out, const unsigned char *p, size_t n)
{
    unsigned char mag[64];
    char dig[160];
    if (n == 0 || n > sizeof mag) {
        fputs(n ? "0 /* too large */" : "0", out);
        return;
    }
    int neg = (p[n - 1] & 0x80) != 0;
    unsigned carry = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned x = neg ? (unsigned)(unsigned char)~p[i] + carry : p[i];
        mag[i] = (unsigned char)x;
        carry = neg ? x >> 8 : 0;
    }
    size_t nd = 0, len = n;
    do {
        unsigned rem = 0;
        for (size_t i = len; i-- > 0;) {
            unsigned cur = rem << 8 | mag[i];
            mag[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
        }
        dig[nd++] = (char)('0' + rem);
        while (len && !mag[len - 1])
            len--;
    } while (len);
    if (neg)
        fputc('-', out);
    while (nd)
        fputc(dig[--nd], out);
}

/* A JSON string of n bytes; invalid UTF-8 bytes become U+FFFD. */
static void json_bytes(FILE *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int)c, out);
        } else if (c == '\n') {
            fputs("\\n", out);
        } else if (c == '\r') {
            fputs("\\r", out);
        } else if (c == '\t') {
            fputs("\\t", out);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        } else if (c < 0x80) {
            fputc((int)c, out);
        } else {
            /* a well-formed UTF-8 sequence is copied, anything else is
             * replaced byte by byte */
            size_t k = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3
                     : c >= 0xC2 && c < 0xE0 ? 2 : 0;
            int ok = k && i + k <= n;
            for (size_t j = 1; ok && j < k; j++)
                ok = (p[i + j] & 0xC0) == 0x80;
            if (ok && k == 3) {
                unsigned cp = (c & 0x0F) << 12 | (p[i + 1] & 0x3F) << 6;
                ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
            }
            if (ok && k == 4) {
                unsigned cp = (c & 0x07) << 18 | (p[i + 1] & 0x3F) << 12;
                ok = cp >= 0x10000 && cp <= 0x10FFFF;
            }
            if (ok) {
                fwrite(p + i, 1, k, out);
                i += k;
                continue;
            }
            fputs("\\ufffd", out);
        }
        i++;
    }
    fputc('"', out);
}

/* What the items of a list are, for summaries. */
static const char *item_type(const mft_value *v, int *gguf)
{
    int et = -1;
    *gguf = mft_value_gguf_type(v, &et) >= 0 && et >= 0;
    if (*gguf)
        return mft_gguf_type_name(et);
    static const char *const kinds[] = {
        "NONE", "BOOL", "INT", "INT", "FLOAT", "STRING", "BYTES",
        "LIST", "TUPLE", "DICT", "TENSOR", "OBJECT", "SET"};
    unsigned k = mft_value_len(v) ? (unsigned)mft_value_get_kind(
                                        mft_value_item(v, 0))
                                  : 0;
    return k < sizeof kinds / sizeof kinds[0] ? kinds[k] : "?";
}

static void print_value(FILE *out, const mft_value *v, int as_json, int depth)
{
    size_t n;
    const char *s;
    if (depth > MAX_DEPTH) {
        fputs(as_json ? "null" : "…", out);
        return;
    }
    switch (mft_value_get_kind(v)) {
    case MFT_VALUE_STRING:
        s = mft_value_bytes(v, &n);
        if (as_json || depth > 0) {
            json_bytes(out, s, n);
        } else if (n <= TEXT_STRING && !memchr(s, '\n', n) &&
                   strlen(s) == n) {
            fputs(s, out);
        } else {
            size_t k = 0;
            while (k < n && k < 80 && s[k] != '\n' && s[k])
                k++;
            json_bytes(out, s, k);
            fprintf(out, "… (%zu bytes)", n);
        }
        break;
    case MFT_VALUE_INT:
        fprintf(out, "%lld", (long long)mft_value_int(v));
        break;
    case MFT_VALUE_BIGINT:
        s = mft_value_bytes(v, &n);
        print_bigint(out, (const unsigned char *)s, n);
        break;
    case MFT_VALUE_FLOAT:
        json_double(out, mft_value_float(v));
        break;
    case MFT_VALUE_BOOL:
        fputs(mft_value_bool(v) ? "true" : "false", out);
        break;
    case MFT_VALUE_NONE:
        fputs("null", out);
        break;
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_SET: {
        size_t len = mft_value_len(v);
        int gguf;
        const char *it = item_type(v, &gguf);
        if (as_json && len > JSON_ITEMS) {
            fprintf(out,
                    "{\"type\": \"array\", \"items\": %zu, \"item_type\": "
                    "\"%s\"}",
                    len, it);
            break;
        }
        if (!as_json && len > TEXT_ITEMS) {
            if (strcmp(it, "STRING") == 0)
                fprintf(out, "[%zu strings]", len);
            else if (strcmp(it, "ARRAY") == 0 || strcmp(it, "LIST") == 0)
                fprintf(out, "[%zu arrays]", len);
            else
                fprintf(out, "[%zu × %s]", len, it);
            break;
        }
        fputc('[', out);
        for (size_t i = 0; i < len; i++) {
            if (i)
                fputs(", ", out);
            print_value(out, mft_value_item(v, i), as_json, depth + 1);
        }
        fputc(']', out);
        break;
    }
    case MFT_VALUE_DICT:
        fputc('{', out);
        for (size_t i = 0; i < mft_value_len(v); i++) {
            const mft_value *k = mft_value_key(v, i);
            if (i)
                fputs(", ", out);
            if (mft_value_get_kind(k) == MFT_VALUE_STRING) {
                s = mft_value_bytes(k, &n);
                json_bytes(out, s, n);
            } else {
                fputc('"', out);
                print_value(out, k, 0, depth + 1);
                fputc('"', out);
            }
            fputs(": ", out);
            print_value(out, mft_value_item(v, i), as_json, depth + 1);
        }
        fputc('}', out);
        break;
    default:
        fputs(as_json ? "null" : "?", out);
    }
}

/* ---- contents: the top level of a checkpoint's value tree ---- */

#define CONTENTS_MAX 200 /* top-level entries listed; the rest counted */
#define REPR_MAX 100     /* characters of a value's repr shown inline */

/* The key of item i of `root` as a path component ("epoch", "3"). */
static char *key_text(mft_file *f, const mft_value *root, size_t i)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    const mft_value *k = mft_value_get_kind(root) == MFT_VALUE_DICT
                             ? mft_value_key(root, i)
                             : NULL;
    if (!k)
        fprintf(m, "%zu", i);
    else if (mft_value_get_kind(k) == MFT_VALUE_STRING) {
        size_t n;
        const char *s = mft_value_bytes(k, &n);
        fwrite(s, 1, n, m);
    } else
        print_repr(f, k, m);
    fclose(m);
    return buf;
}

/* Python repr of v, cut to REPR_MAX characters with "…". */
static char *short_repr(mft_file *f, const mft_value *v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    print_repr(f, v, m);
    fclose(m);
    if (buf && len > REPR_MAX) {
        size_t cut = REPR_MAX;
        while (cut && ((unsigned char)buf[cut] & 0xC0) == 0x80)
            cut--; /* not inside a UTF-8 sequence */
        strcpy(buf + cut, "…");
    }
    return buf;
}

static const char *kind_name(mft_value_kind k)
{
    static const char *const names[] = {"none", "bool", "int", "int", "float",
                                        "str", "bytes", "list", "tuple",
                                        "dict", "tensor", "object", "set"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

struct subtotal {
    uint64_t tensors, params, bytes;
    unsigned char *seen; /* one bit per tensor index: count each once */
    uint64_t budget;     /* values visited at most (shared subtrees) */
};

static void walk_tensors(mft_file *f, const mft_value *v, struct subtotal *t,
                         int depth)
{
    if (!v || depth > MAX_DEPTH || t->budget == 0)
        return;
    t->budget--;
    switch (mft_value_get_kind(v)) {
    case MFT_VALUE_TENSOR: {
        size_t i = mft_value_tensor(v);
        mft_tensor x;
        if (i >= mft_tensor_count(f) || (t->seen[i / 8] >> (i % 8) & 1))
            return;
        t->seen[i / 8] |= (unsigned char)(1u << (i % 8));
        mft_tensor_at(f, i, &x);
        t->tensors++;
        t->params += x.numel;
        t->bytes += x.nbytes;
        return;
    }
    case MFT_VALUE_LIST:
    case MFT_VALUE_TUPLE:
    case MFT_VALUE_DICT:
    case MFT_VALUE_SET:
        for (size_t i = 0; i < mft_value_len(v); i++)
            walk_tensors(f, mft_value_item(v, i), t, depth + 1);
        return;
    case MFT_VALUE_OBJECT:
        walk_tensors(f, mft_value_state(v), t, depth + 1);
        return;
    default:
        return;
    }
}

/* The distinct tensors a value holds (bounded walk). */
static struct subtotal tensors_under(mft_file *f, const mft_value *v)
{
    struct subtotal t;
    memset(&t, 0, sizeof t);
    t.seen = calloc(mft_tensor_count(f) / 8 + 1, 1);
    t.budget = 1000000;
    if (t.seen)
        walk_tensors(f, v, &t, 0);
    free(t.seen);
    t.seen = NULL;
    return t;
}

/* Whether the root is a checkpoint-like container worth listing: a dict,
 * list or tuple with at least one item that is not a tensor. */
static int has_contents(const mft_value *root)
{
    mft_value_kind k = mft_value_get_kind(root);
    if (k != MFT_VALUE_DICT && k != MFT_VALUE_LIST && k != MFT_VALUE_TUPLE)
        return 0;
    for (size_t i = 0; i < mft_value_len(root); i++)
        if (mft_value_get_kind(mft_value_item(root, i)) != MFT_VALUE_TENSOR)
            return 1;
    return 0;
}

static void print_contents(mft_file *f, int as_json)
{
    const mft_value *root = mft_file_root(f);
    size_t n = mft_value_len(root), shown = n < CONTENTS_MAX ? n : CONTENTS_MAX;
    size_t wkey = 0;
    if (!as_json) {
        for (size_t i = 0; i < shown; i++) {
            char *k = key_text(f, root, i);
            if (k && strlen(k) > wkey)
                wkey = strlen(k);
            free(k);
        }
        if (wkey > 40)
            wkey = 40;
        printf("contents\n");
    }
    for (size_t i = 0; i < shown; i++) {
        const mft_value *v = mft_value_item(root, i);
        mft_value_kind vk = mft_value_get_kind(v);
        char *k = key_text(f, root, i);
        struct subtotal st = tensors_under(f, v);
        char a[64], b[64];
        if (as_json) {
            printf("%s{\"key\": ", i ? ", " : "");
            json_string(stdout, k ? k : "");
            printf(", \"kind\": \"%s\"", kind_name(vk));
            if (vk == MFT_VALUE_TENSOR || st.tensors) {
                printf(", \"tensors\": %llu, \"parameters\": %llu, "
                       "\"nbytes\": %llu",
                       (unsigned long long)st.tensors,
                       (unsigned long long)st.params,
                       (unsigned long long)st.bytes);
                if (vk != MFT_VALUE_TENSOR)
                    printf(", \"items\": %zu", mft_value_len(v));
            } else if (vk == MFT_VALUE_DICT || vk == MFT_VALUE_LIST ||
                       vk == MFT_VALUE_TUPLE || vk == MFT_VALUE_SET) {
                printf(", \"items\": %zu", mft_value_len(v));
            } else {
                printf(", \"value\": ");
                print_json_value(f, v, stdout);
            }
            printf("}");
            free(k);
            continue;
        }
        printf("  %-*s  ", (int)wkey, k ? k : "");
        if (vk == MFT_VALUE_TENSOR) {
            mft_tensor t;
            char shape[512];
            mft_tensor_at(f, mft_value_tensor(v), &t);
            shape_string(&t, shape, sizeof shape);
            human_bytes(t.nbytes, b, sizeof b);
            printf("tensor %s %s, %s\n", mft_dtype_name(t.dtype), shape, b);
        } else if (st.tensors) {
            group_digits(st.params, a, sizeof a);
            human_bytes(st.bytes, b, sizeof b);
            if (vk == MFT_VALUE_OBJECT && mft_value_class(v))
                printf("%s with ", mft_value_class(v));
            printf("%llu tensor%s, %s params, %s",
                   (unsigned long long)st.tensors, st.tensors == 1 ? "" : "s",
                   a, b);
            if (vk == MFT_VALUE_DICT && mft_value_len(v) <= 8 &&
                st.tensors != mft_value_len(v)) {
                /* a nested checkpoint part: name its keys */
                printf(" (");
                for (size_t j = 0; j < mft_value_len(v); j++) {
                    char *kk = key_text(f, v, j);
                    printf("%s%s", j ? ", " : "", kk ? kk : "");
                    free(kk);
                }
                printf(")");
            }
            printf("\n");
        } else {
            char *r = short_repr(f, v);
            printf("%s\n", r ? r : "");
            free(r);
        }
        free(k);
    }
    if (n > shown && !as_json)
        printf("  … %zu more\n", n - shown);
}

int cmd_info(int argc, char **argv)
{
    int as_json = 0;
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            as_json = 1;
        else if (c == 'h') {
            fputs(help, stdout);
            return EXIT_OK;
        } else
            return cli_usage_error("info", "bad option");
    }
    if (optind != argc - 1)
        return cli_usage_error("info", "expected exactly one FILE");
    const char *path = argv[optind];
    mft_file *f = cli_open(path);
    if (!f)
        return EXIT_ERROR;

    struct dtype_total totals[MFT_DTYPE_COUNT_];
    memset(totals, 0, sizeof totals);
    uint64_t params = 0, bytes = 0, f32_bytes = 0;
    size_t n = mft_tensor_count(f);
    for (size_t i = 0; i < n; i++) {
        mft_tensor t;
        mft_tensor_at(f, i, &t);
        totals[t.dtype].tensors++;
        totals[t.dtype].params += t.numel;
        totals[t.dtype].bytes += t.nbytes;
        params += t.numel;
        bytes += t.nbytes;
        f32_bytes += t.numel * 4;
    }
    const mft_value *meta = mft_file_metadata(f);
    const char *format = mft_format_name(mft_file_format(f));

    if (as_json) {
        printf("{\"file\": ");
        json_string(stdout, path);
        printf(", \"format\": \"%s\", \"tensors\": %zu, \"parameters\": %llu, "
               "\"nbytes\": %llu, \"dtypes\": {",
               format, n, (unsigned long long)params,
               (unsigned long long)bytes);
        int first = 1;
        for (int d = 0; d < MFT_DTYPE_COUNT_; d++) {
            if (!totals[d].tensors)
                continue;
            printf("%s\"%s\": {\"tensors\": %llu, \"parameters\": %llu, "
                   "\"nbytes\": %llu}",
                   first ? "" : ", ", mft_dtype_name((mft_dtype)d),
                   (unsigned long long)totals[d].tensors,
                   (unsigned long long)totals[d].params,
                   (unsigned long long)totals[d].bytes);
            first = 0;
        }
        printf("}, \"metadata\": ");
        if (meta)
            print_value(stdout, meta, 1, 0);
        else
            printf("{}");
        if (has_contents(mft_file_root(f))) {
            printf(", \"contents\": [");
            print_contents(f, 1);
            printf("]");
        }
        printf("}\n");
    } else {
        char a[64], b[64];
        printf("file        %s\n", path);
        printf("format      %s\n", format);
        printf("tensors     %zu\n", n);
        group_digits(params, a, sizeof a);
        printf("parameters  %s\n", a);
        human_bytes(bytes, a, sizeof a);
        group_digits(bytes, b, sizeof b);
        printf("size        %s (%s bytes)\n", a, b);
        human_bytes(f32_bytes, a, sizeof a);
        printf("size as F32 %s\n", a);
        int first = 1;
        for (int d = 0; d < MFT_DTYPE_COUNT_; d++) {
            if (!totals[d].tensors)
                continue;
            group_digits(totals[d].params, a, sizeof a);
            human_bytes(totals[d].bytes, b, sizeof b);
            printf("%s%-5s %6llu tensors  %14s params  %10s\n",
                   first ? "dtypes      " : "            ",
                   mft_dtype_name((mft_dtype)d),
                   (unsigned long long)totals[d].tensors, a, b);
            first = 0;
        }
        if (has_contents(mft_file_root(f)))
            print_contents(f, 0);
        size_t nm = mft_value_len(meta);
        if (nm) {
            printf("metadata\n");
            for (size_t i = 0; i < nm; i++) {
                printf("  ");
                print_value(stdout, mft_value_key(meta, i), 0, 0);
                printf(": ");
                print_value(stdout, mft_value_item(meta, i), 0, 0);
                printf("\n");
            }
        }
    }
    mft_close(f);
    return EXIT_OK;
}
