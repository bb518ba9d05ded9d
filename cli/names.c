/* Tensor name selection shared by check and diff: --select PATH keeps the
 * tensors under PATH and names them from there (what
 * model.load_state_dict(ckpt["model_state_dict"]) sees); --strip-prefix P
 * removes P where a name starts with it (torch's
 * consume_prefix_in_state_dict_if_present, for DataParallel's "module."). */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

int cli_names_select(mft_file *f, const char *select, const char *strip,
                     cli_names *out)
{
    size_t n = mft_tensor_count(f);
    memset(out, 0, sizeof *out);
    out->index = malloc((n ? n : 1) * sizeof *out->index);
    out->name = malloc((n ? n : 1) * sizeof *out->name);
    if (!out->index || !out->name) {
        cli_names_free(out);
        cli_error("out of memory");
        return -1;
    }
    size_t sl = select ? strlen(select) : 0;
    size_t pl = strip ? strlen(strip) : 0;
    for (size_t i = 0; i < n; i++) {
        mft_tensor t;
        mft_tensor_at(f, i, &t);
        const char *name = t.name;
        if (sl) {
            if (strncmp(name, select, sl) != 0 || name[sl] != '.')
                continue;
            name += sl + 1;
        }
        if (pl && strncmp(name, strip, pl) == 0 && name[pl])
            name += pl;
        out->index[out->n] = i;
        out->name[out->n] = name;
        out->n++;
    }
    return 0;
}

void cli_names_free(cli_names *n)
{
    free(n->index);
    free(n->name);
    n->index = NULL;
    n->name = NULL;
    n->n = 0;
}

/* ---- a small string → index hash set ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int cli_nameset_init(cli_nameset *s, const char *const *names, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2 + 1)
        cap *= 2;
    s->cap = cap;
    s->names = names;
    s->slot = calloc(cap, sizeof *s->slot);
    if (!s->slot) {
        cli_error("out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)hash_str(names[i]) & (cap - 1);
        while (s->slot[h] && strcmp(names[s->slot[h] - 1], names[i]) != 0)
            h = (h + 1) & (cap - 1);
        if (!s->slot[h])
            s->slot[h] = i + 1; /* the first of equal names wins */
    }
    return 0;
}

long cli_nameset_find(const cli_nameset *s, const char *name)
{
    if (!s->cap)
        return -1;
    size_t h = (size_t)hash_str(name) & (s->cap - 1);
    while (s->slot[h]) {
        if (strcmp(s->names[s->slot[h] - 1], name) == 0)
            return (long)(s->slot[h] - 1);
        h = (h + 1) & (s->cap - 1);
    }
    return -1;
}

void cli_nameset_free(cli_nameset *s)
{
    free(s->slot);
    s->slot = NULL;
    s->cap = 0;
}
