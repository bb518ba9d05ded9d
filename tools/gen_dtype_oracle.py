#!/usr/bin/env python3
"""Write the dtype conversion oracle: inputs and the encodings numpy and
ml_dtypes give for them, for tests/unit/dtype_oracle_check.c to compare with
mft's src/core/dtype.c.

Usage: gen_dtype_oracle.py --out FILE [--seed N] [--selfcheck]

--selfcheck additionally verifies, with exact rational arithmetic, that the
reference libraries round to nearest-even straight from float64 (no double
rounding through float32) and follow the overflow rules dtype.c documents.

File layout (all little-endian):
  magic   8 bytes  b"MFTDTOR1"
  nsect   uint32
  then nsect sections, each:
    kind      uint32   1 ENC64  float64 -> code       (mft_dtype_from_f64)
                       2 ENC32  float32 -> code       (mftc_convert from F32)
                       3 DEC    code -> float64 bits  (mft_dtype_to_f64)
                       4 CVT    code -> code          (mftc_convert 16-bit)
    name      char[16] dtype name, NUL padded ("F16", "F8_E4M3", "F16>BF16")
    in_size   uint32   bytes per input element
    out_size  uint32   bytes per output element
    count     uint64
    inputs    count * in_size bytes
    outputs   count * out_size bytes
F4 codes are one per byte (low nibble), as ml_dtypes stores float4_e2m1fn;
the checker packs them two per byte, element 0 in the low nibble.
"""
import argparse
import struct
import sys
from fractions import Fraction

import numpy as np
import ml_dtypes as md

ENC64, ENC32, DEC, CVT = 1, 2, 3, 4

# mft name -> (numpy type, storage uint type)
SMALL = {
    "F16": (np.float16, np.uint16),
    "BF16": (md.bfloat16, np.uint16),
    "F8_E4M3": (md.float8_e4m3fn, np.uint8),
    "F8_E5M2": (md.float8_e5m2, np.uint8),
    "F8_E4M3FNUZ": (md.float8_e4m3fnuz, np.uint8),
    "F8_E5M2FNUZ": (md.float8_e5m2fnuz, np.uint8),
    "F8_E8M0": (md.float8_e8m0fnu, np.uint8),
    "F4": (md.float4_e2m1fn, np.uint8),
}
NCODES = {"F16": 1 << 16, "BF16": 1 << 16, "F4": 16}


def all_codes(name):
    n = NCODES.get(name, 256)
    return np.arange(n, dtype=np.uint32).astype(SMALL[name][1])


def finite_values(name):
    """Sorted distinct finite non-negative values of a type."""
    t, u = SMALL[name]
    with np.errstate(invalid="ignore", over="ignore"):
        v = all_codes(name).view(t).astype(np.float64)
    v = v[np.isfinite(v)]
    return np.unique(np.abs(v))


def encode64(name, x):
    t, u = SMALL[name]
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        return np.asarray(x, dtype=np.float64).astype(t).view(u)


def tie_points(name, rng, max_pairs):
    """Positive midpoints of adjacent values (exact ties: one bit more than
    the type holds) and the overflow tie just past the largest value."""
    v = finite_values(name)
    pairs = np.arange(len(v) - 1)
    if len(pairs) > max_pairs:
        # keep both ends (zero, subnormals; the top), sample the rest
        ends = np.concatenate([pairs[:40], pairs[-40:]])
        mid = rng.choice(pairs[40:-40], size=max_pairs - 80, replace=False)
        pairs = np.unique(np.concatenate([ends, mid]))
    m = (v[pairs] + v[pairs + 1]) / 2
    top = v[-1]
    return np.concatenate([m, [top + (top - v[-2]) / 2, top * 2]])


def with_neighbours(pts):
    """The points, one ulp (of their own precision) either side, both signs."""
    inf = pts.dtype.type(np.inf)
    with np.errstate(over="ignore"):
        p = np.concatenate([pts, np.nextafter(pts, inf), np.nextafter(pts, -inf)])
    return np.concatenate([p, -p])


def random_inputs(rng, n):
    out = []
    # magnitudes across and beyond every type's range, subnormals included
    e = rng.integers(-160, 141, size=n)
    mant = rng.integers(0, 1 << 52, size=n, dtype=np.uint64)
    sign = rng.integers(0, 2, size=n, dtype=np.uint64) << np.uint64(63)
    bits = sign | ((e + 1023).astype(np.uint64) << np.uint64(52)) | mant
    out.append(bits.view(np.float64))
    # any double at all (finite), double subnormals included
    b = rng.integers(0, 1 << 63, size=n // 8, dtype=np.uint64)
    b = b[(b >> np.uint64(52)) != np.uint64(0x7FF)]
    out.append(b.view(np.float64))
    out.append(-b[: len(b) // 2].view(np.float64))
    sub = rng.integers(1, 1 << 52, size=64, dtype=np.uint64).view(np.float64)
    out.append(np.concatenate([sub, -sub]))
    # short significands: exact ties for coarse types land here often
    k = rng.integers(-30, 20, size=n // 4)
    s = rng.integers(1, 1 << 12, size=n // 4)
    out.append(np.ldexp(s.astype(np.float64), k) * rng.choice([-1.0, 1.0], size=n // 4))
    return np.concatenate(out)


def special_inputs():
    q = [0x7FF8000000000000, 0xFFF8000000000000,  # +-NaN
         0x7FFC000000000000, 0xFFFF000000000001,  # quiet NaNs with payload
         0x7FF0000000000000, 0xFFF0000000000000,  # +-Inf
         0x0000000000000000, 0x8000000000000000,  # +-0
         0x0000000000000001, 0x8000000000000001,  # +-min subnormal
         0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,  # +-max
         0x0010000000000000]                      # min normal
    vals = np.array(q, dtype=np.uint64).view(np.float64)
    more = np.array([1.0, -1.0, 3.0, 0.75, 1.5, 448.0, 464.0, 480.0, 1000.0,
                     -1000.0, 57344.0, 61440.0, 65504.0, 65520.0, 240.0, 248.0,
                     6.0, 7.0, 5.0, 1e30, 1e-30, 1e-300, 2.0**-127, 2.0**-128,
                     2.0**127, 1.5 * 2.0**127, 1 + 2.0**-8 + 2.0**-40,
                     1 + 2.0**-11 + 2.0**-40, 1 + 2.0**-4 + 2.0**-40])
    return np.concatenate([vals, more, -more])


def f32_inputs(rng, n):
    b = rng.integers(0, 1 << 32, size=n, dtype=np.uint64).astype(np.uint32)
    nan = (b & 0x7F800000) == 0x7F800000
    nan &= (b & 0x007FFFFF) != 0
    b[nan] |= 0x00400000  # quiet: numpy keeps signalling NaNs signalling
    parts = [b.view(np.float32)]
    for name in ("F16", "BF16"):
        with np.errstate(over="ignore"):
            t = tie_points(name, rng, 1000).astype(np.float32)  # exact: <=12 bits
        parts.append(with_neighbours(t))
    # f16 subnormal range and around 65520, densely
    e = rng.integers(-27, -13, size=1000)
    m = rng.integers(0, 1 << 23, size=1000)
    parts.append((np.ldexp(1.0 + m / 2.0**23, e)).astype(np.float32))
    parts.append(np.array([65504, 65519, 65520, 65521, 1e5, 3.4e38, np.inf,
                           -np.inf, np.nan, -np.nan, 0.0, -0.0, 2.0**-25,
                           2.0**-24, 2.0**-149], dtype=np.float32))
    x = np.concatenate(parts).astype(np.float32)
    return x


# ------------------------------------------------------------------ selfcheck

def expected_exact(name, x, table):
    """Independent RNE from a float64, with dtype.c's documented overflow and
    NaN rules; returns the code."""
    vals, codes_pos, max_code, sign_bit, kind = table
    if np.isnan(x):
        return None  # NaN handling is compared directly against the libraries
    neg = np.signbit(x)
    a = abs(float(x))
    if name == "F8_E8M0":
        if neg or a == 0.0 or np.isinf(a):
            return 0xFF
        m, e = np.frexp(a)  # a = m * 2^e, m in [0.5, 1)
        e = int(e) - 1
        if m >= 0.75:
            e += 1
        if e < -127:
            return 0
        if e > 127:
            return 0xFF
        return e + 127
    top = vals[-1]
    if np.isinf(a):
        over = True
    else:
        fa = Fraction(a)
        # the tie just past the largest value
        ulp = Fraction(top) - Fraction(vals[-2])
        over = fa > Fraction(top) + ulp / 2 or (
            fa == Fraction(top) + ulp / 2 and (codes_pos[-1] & 1))
    s = sign_bit if neg else 0
    if over:
        if kind == "ieee":
            return s | (max_code + 1)
        if kind == "fn":
            return s | (max_code + 1)
        if kind == "fnuz":
            return 0x80
        return s | max_code
    i = int(np.searchsorted(vals, a, side="left"))
    if i == len(vals):  # above the top, below the overflow tie
        c = codes_pos[-1]
    elif vals[i] == a:
        c = codes_pos[i]
    else:
        lo, hi = Fraction(vals[i - 1]), Fraction(vals[i])
        fa = Fraction(a)
        dl, dh = fa - lo, hi - fa
        if dl < dh or (dl == dh and codes_pos[i - 1] % 2 == 0):
            c = codes_pos[i - 1]
        else:
            c = codes_pos[i]
    if c == 0 and kind == "fnuz":
        return 0
    return s | c


def selfcheck(inputs):
    kinds = {"F16": "ieee", "BF16": "ieee", "F8_E5M2": "ieee", "F8_E4M3": "fn",
             "F8_E4M3FNUZ": "fnuz", "F8_E5M2FNUZ": "fnuz", "F4": "sat",
             "F8_E8M0": "e8m0"}
    bad = 0
    for name, (t, u) in SMALL.items():
        codes = all_codes(name)
        sign_bit = {1: 0x80, 2: 0x8000}[np.dtype(u).itemsize] if name != "F4" else 0x8
        with np.errstate(invalid="ignore"):
            v = codes.view(t).astype(np.float64)
        pos = np.isfinite(v) & ~np.signbit(v)
        if name in ("F8_E4M3FNUZ", "F8_E5M2FNUZ"):
            pos &= codes < 0x80
        vals, order = v[pos], np.argsort(v[pos], kind="stable")
        vals = vals[order]
        codes_pos = [int(c) for c in codes[pos][order]]
        max_code = codes_pos[-1]
        table = (vals, codes_pos, max_code, sign_bit, kinds[name])
        got = encode64(name, inputs)
        for x, g in zip(inputs, got):
            want = expected_exact(name, x, table)
            if want is not None and int(g) != want:
                bad += 1
                if bad <= 20:
                    print(f"selfcheck {name}: {float(x).hex()} library {int(g):#x} "
                          f"exact {want:#x}", file=sys.stderr)
    return bad


# ------------------------------------------------------------------ output

def section(kind, name, inp, out):
    inp = np.ascontiguousarray(inp)
    out = np.ascontiguousarray(out)
    assert len(inp) == len(out)
    head = struct.pack("<I16sIIQ", kind, name.encode(), inp.dtype.itemsize,
                       out.dtype.itemsize, len(inp))
    return head + inp.astype(inp.dtype.newbyteorder("<")).tobytes() + \
        out.astype(out.dtype.newbyteorder("<")).tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--selfcheck", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    parts = [special_inputs(), random_inputs(rng, 5000)]
    for name in SMALL:
        parts.append(with_neighbours(tie_points(name, rng, 600)))
    x64 = np.concatenate(parts)
    x32 = f32_inputs(rng, 6000)

    sections = []
    for name in SMALL:
        sections.append(section(ENC64, name, x64, encode64(name, x64)))
    with np.errstate(over="ignore"):
        sections.append(section(ENC64, "F32", x64, x64.astype(np.float32).view(np.uint32)))
    for name in ("F16", "BF16"):
        t, u = SMALL[name]
        with np.errstate(over="ignore"):
            enc = x32.astype(t).view(u)
        sections.append(section(ENC32, name, x32.view(np.uint32), enc))
    for name, (t, u) in SMALL.items():
        codes = all_codes(name)
        with np.errstate(invalid="ignore"):
            dec = codes.view(t).astype(np.float64)
        sections.append(section(DEC, name, codes, dec.view(np.uint64)))
    all16 = all_codes("F16")
    with np.errstate(invalid="ignore", over="ignore"):
        f2b = all16.view(np.float16).astype(md.bfloat16).view(np.uint16)
        b2f = all16.view(md.bfloat16).astype(np.float16).view(np.uint16)
    sections.append(section(CVT, "F16>BF16", all16, f2b))
    sections.append(section(CVT, "BF16>F16", all16, b2f))

    with open(args.out, "wb") as f:
        f.write(b"MFTDTOR1" + struct.pack("<I", len(sections)))
        for s in sections:
            f.write(s)
    print(f"wrote {args.out}: {len(x64)} float64 inputs, {len(x32)} float32 inputs, "
          f"{len(sections)} sections (numpy {np.__version__}, ml_dtypes {md.__version__})")

    if args.selfcheck:
        bad = selfcheck(x64)
        print(f"selfcheck: {bad} inputs where the libraries are not exact RNE from float64")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
