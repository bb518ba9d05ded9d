/* Bump allocator: blocks of at least 64 KiB, each allocation 16-aligned and
 * zeroed; large requests get a block of their own. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 65536u

struct mftc_arena_block {
    mftc_arena_block *next;
    size_t size, used;
    _Alignas(16) unsigned char mem[];
};

void *mftc_arena_alloc(mftc_arena *a, size_t size)
{
    size = (size + 15u) & ~(size_t)15u;
    if (size == 0)
        size = 16;
    mftc_arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t want = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        if (want > SIZE_MAX - sizeof *b)
            return NULL;
        b = malloc(sizeof *b + want);
        if (!b)
            return NULL;
        b->size = want;
        b->used = 0;
        /* keep a partly used current block in front when the new one is a
         * one-off large allocation */
        if (a->head && size > ARENA_BLOCK) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->mem + b->used;
    b->used += size;
    a->used_total += size;
    memset(p, 0, size);
    return p;
}

char *mftc_arena_strndup(mftc_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = mftc_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void mftc_arena_free(mftc_arena *a)
{
    mftc_arena_block *b = a->head;
    while (b) {
        mftc_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}
