/* The bounded byte cursor: every read of file bytes goes through one. A read
 * that asks for more than remains fails and leaves the cursor where it was,
 * so callers report the offset of the field that did not fit. */
#ifndef MFT_CORE_CURSOR_H
#define MFT_CORE_CURSOR_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct mftc_cursor {
    const uint8_t *base; /* first byte of the region */
    size_t pos;          /* next byte to read, relative to base */
    size_t end;          /* one past the last readable byte */
    uint64_t origin;     /* file offset of base, for messages */
} mftc_cursor;

static inline mftc_cursor mftc_cursor_make(const void *base, size_t len,
                                           uint64_t origin)
{
    mftc_cursor c = {(const uint8_t *)base, 0, len, origin};
    return c;
}

static inline size_t mftc_remaining(const mftc_cursor *c)
{
    return c->end - c->pos;
}

/* File offset of the next byte. */
static inline uint64_t mftc_offset(const mftc_cursor *c)
{
    return c->origin + c->pos;
}

static inline int mftc_skip(mftc_cursor *c, size_t n)
{
    if (n > mftc_remaining(c))
        return 0;
    c->pos += n;
    return 1;
}

/* Borrow `n` bytes at the cursor. */
static inline int mftc_take(mftc_cursor *c, size_t n, const uint8_t **out)
{
    if (n > mftc_remaining(c))
        return 0;
    *out = c->base + c->pos;
    c->pos += n;
    return 1;
}

static inline int mftc_u8(mftc_cursor *c, uint8_t *out)
{
    if (mftc_remaining(c) < 1)
        return 0;
    *out = c->base[c->pos++];
    return 1;
}

static inline uint64_t mftc_load_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline int mftc_le16(mftc_cursor *c, uint16_t *out)
{
    if (mftc_remaining(c) < 2)
        return 0;
    *out = (uint16_t)mftc_load_le(c->base + c->pos, 2);
    c->pos += 2;
    return 1;
}

static inline int mftc_le32(mftc_cursor *c, uint32_t *out)
{
    if (mftc_remaining(c) < 4)
        return 0;
    *out = (uint32_t)mftc_load_le(c->base + c->pos, 4);
    c->pos += 4;
    return 1;
}

static inline int mftc_le64(mftc_cursor *c, uint64_t *out)
{
    if (mftc_remaining(c) < 8)
        return 0;
    *out = mftc_load_le(c->base + c->pos, 8);
    c->pos += 8;
    return 1;
}

static inline int mftc_peek(const mftc_cursor *c, int *out)
{
    if (c->pos >= c->end)
        return 0;
    *out = c->base[c->pos];
    return 1;
}
#endif
