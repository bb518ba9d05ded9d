"""Seed corpora for the fuzz targets (fuzz/corpus/<target>/).

Valid seeds are written by the real safetensors package; a few hand-made
malformed variants point the fuzzer at each validation rule. After seeding,
`make fuzz` grows the corpus and `-merge=1` keeps it small; what is committed
replays in `make test`.
"""
import json
import os
import struct
import sys

import numpy as np
from safetensors.numpy import save

out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus"
st_dir = os.path.join(out, "safetensors")
js_dir = os.path.join(out, "json")
os.makedirs(st_dir, exist_ok=True)
os.makedirs(js_dir, exist_ok=True)


def put(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


valid = {
    "seed_basic": save({"w": np.arange(6, dtype=np.float32).reshape(2, 3),
                        "b": np.ones(3, np.float16)}, metadata={"format": "pt"}),
    "seed_scalar_empty": save({"s": np.array(3, np.int64),
                               "e": np.zeros((0, 4), np.float32)}),
    "seed_dtypes": save({k: np.ones(2, t) for k, t in [
        ("u8", np.uint8), ("i8", np.int8), ("u16", np.uint16),
        ("i16", np.int16), ("u32", np.uint32), ("i32", np.int32),
        ("u64", np.uint64), ("i64", np.int64), ("f64", np.float64),
        ("bool", np.bool_), ("c64", np.complex64)]}),
    "seed_empty_file_header": save({}),
}
for name, data in valid.items():
    put(st_dir, name, data)


def raw(header, data=b""):
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


put(st_dir, "bad_overlap", raw({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4))
put(st_dir, "bad_gap", raw({"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}, b"\0\0"))
put(st_dir, "bad_f4", raw({"a": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}, b"\0\0"))
put(st_dir, "bad_meta", raw({"__metadata__": {"a": 1}}))
put(st_dir, "bad_dup", b"\x20\0\0\0\0\0\0\0" + b'{"__metadata__":{},"__metadata__":{}}'[:32])
put(st_dir, "bad_len", struct.pack("<Q", 1 << 40) + b"{}")
put(st_dir, "bad_short", b"\x01\x02")
for name, text in {
    "obj": '{"a": [1, 2.5, -3e10, true, false, null], "b": {"c": "\\u00e9\\ud83d\\ude00"}}',
    "deep": "[" * 70 + "]" * 70,
    "dup": '{"x": 1, "x": 2}',
    "big": '{"n": 18446744073709551616, "m": 18446744073709551615}',
    "esc": '"\\n\\t\\"\\\\\\/\\b\\f\\r"',
}.items():
    put(js_dir, name, text.encode())
