"""Seed corpus for fuzz/fuzz_gguf.c (fuzz/corpus/gguf/).

Valid seeds are written by the real gguf package (GGUFWriter: every value type, nested arrays, several
tensor types incl. Q8_0/Q4_0 blocks from gguf.quants, custom alignment, a file with no tensors); the
hand-made malformed files of tests/test_gguf.py (one per validation rule) point the fuzzer at each
check. After seeding, `make fuzz` grows the corpus and `-merge=1` keeps it small; what is committed
replays in `make test`.

    python tools/gen_gguf_seeds.py [OUT_DIR]      (default fuzz/corpus/gguf)
"""
import os
import sys
import tempfile
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import test_gguf as tg  # noqa: E402  (MALFORMED, ACCEPTED: the hand-made cases)

out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "fuzz" / "corpus" / "gguf")
out.mkdir(parents=True, exist_ok=True)


def small_values(w):
    w.add_uint8("u8", 1)
    w.add_int16("i16", -2)
    w.add_uint64("u64", 2 ** 64 - 1)
    w.add_float32("f32", 0.5)
    w.add_float64("f64", 2.5)
    w.add_bool("b", True)
    w.add_string("s", "x\ny")
    w.add_array("as", ["a", "bc"])
    w.add_array("ai", [1, 2, 3])
    w.add_array("nested", [[1], ["z"]])


def small_tensors(w):
    w.add_tensor("f32", np.arange(6, dtype=np.float32).reshape(2, 3))
    w.add_tensor("f16", np.ones(4, np.float16))
    w.add_tensor("i8", np.arange(4, dtype=np.int8))
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(2, 32)
    w.add_tensor("q8", gguf.quants.quantize(x, T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("q4", gguf.quants.quantize(x, T.Q4_0), raw_dtype=T.Q4_0)
    w.add_tensor("s", np.array(1.0, np.float32))


with tempfile.TemporaryDirectory() as d:
    d = Path(d)
    seeds = {
        "seed_values_tensors": tg.write(d / "a.gguf", lambda w: (small_values(w), small_tensors(w))),
        "seed_align64": tg.write(d / "b.gguf", small_tensors, alignment=64),
        "seed_kv_only": tg.write(d / "c.gguf", small_values, tensors=False),
        "seed_no_arch": tg.write(d / "d.gguf", lambda w: w.add_tensor("t", np.ones(2, np.float32)), arch=""),
    }
    for name, path in seeds.items():
        (out / name).write_bytes(path.read_bytes())
for name, (blob, _) in tg.MALFORMED.items():
    (out / f"bad_{name}").write_bytes(blob)
for name, (blob, _) in tg.ACCEPTED.items():
    (out / f"edge_{name}").write_bytes(blob)
print(f"{len(os.listdir(out))} seeds in {out}")
