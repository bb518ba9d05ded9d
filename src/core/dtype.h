/* dtype.h — internal fast element conversions (see dtype.c for the rules). */
#ifndef MFT_CORE_DTYPE_H
#define MFT_CORE_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "mft.h"

/* IEEE half <-> float. f32->f16 rounds to nearest, ties to even; overflow
 * gives +-Inf; a NaN stays NaN (sign and top payload bits kept, made quiet).
 * f16->f32 is exact (NaN payload kept). */
float mftc_f16_to_f32(uint16_t h);
uint16_t mftc_f32_to_f16(float f);

/* bfloat16 <-> float. f32->bf16 rounds to nearest, ties to even, like torch
 * and ml_dtypes; overflow gives +-Inf; NaN gives the quiet NaN 0x7FC0 with
 * the input's sign (ml_dtypes; torch drops the sign). bf16->f32 is exact. */
float mftc_bf16_to_f32(uint16_t h);
uint16_t mftc_f32_to_bf16(float f);

/* Convert `count` elements of `src_dtype` at `src` into `dst_dtype` at `dst`
 * (both little-endian, sub-byte types packed low bits first and starting at
 * the first bit of the buffer; the unused high bits of a last partial output
 * byte are written as zero).
 *  - same dtype: memcpy;
 *  - F32<->F16, F32<->BF16, F16<->BF16: direct fast paths (single rounding);
 *  - integer/BOOL -> integer/BOOL: exact, wrapping to the target width like a
 *    C cast (as torch and numpy do); BOOL targets get 1 for any non-zero;
 *  - anything else goes through double with mft_dtype_from_f64's rules
 *    (float -> integer truncates toward zero, NaN/out of range gives 0);
 *    I64/U64 magnitudes above 2^53 are rounded to double first;
 *  - complex -> real keeps the real part; real -> complex sets im = 0.
 * Dtypes mft_dtype_from_f64 rejects (STRING, INVALID, F6_*) make this a
 * no-op: callers check the dtypes first. Pointers may be NULL only when
 * count is 0. */
void mftc_convert(mft_dtype dst_dtype, void *dst, mft_dtype src_dtype,
                  const void *src, size_t count);

/* Element count and bytes of a tensor of `dtype` with `shape` (numpy order,
 * `ndim` extents): sub-byte types must fill whole bytes, block types whole
 * blocks along the last (innermost) dimension, as ggml requires of ne[0].
 * Returns 1, or 0 with *why set to a phrase ("overflows", …). */
int mftc_tensor_size(mft_dtype dtype, const uint64_t *shape, int ndim,
                     uint64_t *numel, uint64_t *nbytes, const char **why);

#endif
