/* Overflow-checked size arithmetic. Every product or sum of sizes that come
 * from a file goes through these before it is used to allocate or to test a
 * bound. Each returns 1 on success and 0 when the result would overflow. */
#ifndef MFT_CORE_CHECKED_H
#define MFT_CORE_CHECKED_H
#include <stddef.h>
#include <stdint.h>

static inline int mftc_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

static inline int mftc_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline int mftc_mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* Product of `n` extents; 1 for n == 0 (a scalar). */
static inline int mftc_shape_numel(const uint64_t *shape, size_t n,
                                   uint64_t *out)
{
    uint64_t p = 1;
    for (size_t i = 0; i < n; i++)
        if (!mftc_mul_u64(p, shape[i], &p))
            return 0;
    *out = p;
    return 1;
}

/* Bytes of `numel` elements of `bits` each; fails on overflow or when the
 * bit count is not a whole number of bytes (sets *whole = 0 then). */
static inline int mftc_elem_bytes(uint64_t numel, unsigned bits,
                                  uint64_t *out, int *whole)
{
    uint64_t total_bits;
    *whole = 1;
    if (!mftc_mul_u64(numel, bits, &total_bits))
        return 0;
    if (total_bits % 8) {
        *whole = 0;
        return 0;
    }
    *out = total_bits / 8;
    return 1;
}

/* a + b <= limit, without overflowing. */
static inline int mftc_fits(uint64_t a, uint64_t b, uint64_t limit)
{
    return a <= limit && b <= limit - a;
}
#endif
