"""Helpers for the PyTorch reader tests (test_torch_read.py, test_torch_malformed.py,
test_corpora_benign.py).

* The oracle is tools/gen_torch_fixtures.py run with the real torch: under Debian's python3-torch 1.13
  at test time (conftest.py's `torch113_fixtures`), and under torch 2.x ahead of time into the committed
  tests/fixtures/torch2/ (`make fixtures-torch2`).  Its manifest.json describes every file.
* Comparisons of mft's JSON with the manifest live here, so every test file judges values the same way.
* Malformed inputs are assembled byte by byte (`P` pickle opcodes, `torch_zip`).
"""

import hashlib
import io
import json
import math
import re
import struct
import zipfile
from pathlib import Path

import ml_dtypes
import numpy as np

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
GENERATOR = REPO_ROOT / "tools" / "gen_torch_fixtures.py"
TORCH2_DIR = TESTS_DIR / "fixtures" / "torch2"
DEBIAN_PYTHON = "/usr/bin/python3"

# Files only torch 2.x can write (the 1.13 run lists them under "omitted"; test_torch_read checks that).
TORCH2_ONLY = {"big_endian.pt", "dtypes_f4.pt"}

# The committed torch 2.x fixture set must stay small.
TORCH2_MAX_BYTES = 2 * 1024 * 1024


def load_manifest(directory):
    path = Path(directory) / "manifest.json"
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def torch2_manifest():
    """The committed manifest, or None when it is missing (test_torch_read reports that as a failure)."""
    try:
        return load_manifest(TORCH2_DIR)
    except FileNotFoundError:
        return None


# ---- JSON from mft --------------------------------------------------------------------------------

def _reject_constant(const):
    raise ValueError(f"non-standard JSON constant {const!r}")


def _parse_int(text):
    # "-0" is a negative zero written without a fraction; keep its sign for float comparisons.
    return -0.0 if text == "-0" else int(text)


def parse_json(text):
    """Strict JSON (NaN/Infinity literals refused), integers exact, "-0" kept as -0.0."""
    return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)


NONFINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def same_value(got, want):
    """Is mft's JSON value `got` the manifest's `want`?  Exact: ints digit for digit, floats bit for bit
    (a float may be written as an integer literal when it is integral; -0.0 keeps its sign), bools as
    bools, the non-finite strings as themselves."""
    if want is None or isinstance(want, bool):
        return got is want
    if isinstance(want, int):
        return type(got) is int and got == want
    if isinstance(want, float):
        if type(got) not in (int, float):
            return False
        g = float(got)
        return g == want and math.copysign(1.0, g) == math.copysign(1.0, want)
    if isinstance(want, str):
        return isinstance(got, str) and got == want
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same_value, got, want))
    if isinstance(want, dict):
        return (isinstance(got, dict) and list(got) == list(want)
                and all(same_value(got[k], want[k]) for k in want))
    raise TypeError(f"unexpected manifest value {want!r}")


# ---- tensor data ----------------------------------------------------------------------------------

FLOAT_DTYPES = {
    "F16": np.dtype(np.float16), "BF16": np.dtype(ml_dtypes.bfloat16), "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn), "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
    "F8_E4M3FNUZ": np.dtype(ml_dtypes.float8_e4m3fnuz), "F8_E5M2FNUZ": np.dtype(ml_dtypes.float8_e5m2fnuz),
    "F8_E8M0": np.dtype(ml_dtypes.float8_e8m0fnu),
}
COMPLEX_PART = {"C32": "F16", "C64": "F32", "C128": "F64"}
INT_DTYPES = {"I8", "U8", "I16", "U16", "I32", "U32", "I64", "U64", "QI8", "QU8", "QI32"}
ELEMENT_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "QI8": 1, "QU8": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
                 "U32": 4, "I32": 4, "QI32": 4, "F32": 4, "C32": 4, "U64": 8, "I64": 8, "F64": 8, "C64": 8,
                 "C128": 16, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1, "F8_E8M0": 1}


def nested_matches_shape(data, shape):
    if not shape:
        return not isinstance(data, list)
    return (isinstance(data, list) and len(data) == shape[0]
            and all(nested_matches_shape(x, shape[1:]) for x in data))


def nested_matches_complex_shape(data, shape):
    if not shape:
        return isinstance(data, list) and len(data) == 2 and not any(isinstance(x, list) for x in data)
    return (isinstance(data, list) and len(data) == shape[0]
            and all(nested_matches_complex_shape(x, shape[1:]) for x in data))


def flat(data, depth):
    """Leaves of a nested list `depth` levels deep (a complex element [re, im] stays one leaf)."""
    if depth == 0:
        yield data
        return
    for x in data:
        yield from flat(x, depth - 1)


def _as_dtype_bits(values, npdtype):
    """JSON numbers / non-finite strings -> (bits as uints, NaN mask) after rounding to npdtype."""
    f64 = np.array([NONFINITE[v] if isinstance(v, str) else float(v) for v in values], dtype=np.float64)
    arr = f64.astype(npdtype)
    nan = np.isnan(arr.astype(np.float64))
    bits = arr.view(np.dtype(f"u{npdtype.itemsize}"))
    return bits, nan


def float_values_problem(got, want, code):
    """None when the JSON numbers `got` are the dtype's values `want` (manifest: exact doubles or the
    non-finite strings) bit for bit after rounding to the dtype; NaNs match NaNs (sign not compared)."""
    for v in got:
        ok = (isinstance(v, (int, float)) and not isinstance(v, bool)) or v in NONFINITE
        if not ok:
            return f"not a number or NaN/Infinity string: {v!r}"
    npdtype = FLOAT_DTYPES[code]
    gbits, gnan = _as_dtype_bits(got, npdtype)
    wbits, wnan = _as_dtype_bits(want, npdtype)
    if (gnan != wnan).any():
        return f"NaN positions differ: got {got}, want {want}"
    if (gbits[~wnan] != wbits[~wnan]).any():
        return f"values differ (as {code}): got {got}, want {want}"
    return None


def tensor_data_problem(doc, entry):
    """None when mft's `get --json` document of a tensor matches the manifest entry, else why not."""
    if not isinstance(doc, dict) or set(doc) < {"dtype", "shape", "data"}:
        return f"not a {{dtype, shape, data}} object: {str(doc)[:200]}"
    if doc["dtype"] != entry["dtype"]:
        return f"dtype {doc['dtype']} != {entry['dtype']}"
    if doc["shape"] != entry["shape"]:
        return f"shape {doc['shape']} != {entry['shape']}"
    code, shape, data, want = entry["dtype"], entry["shape"], doc["data"], entry["tolist"]
    depth = len(shape)
    if code in COMPLEX_PART:
        if not nested_matches_complex_shape(data, shape):
            return f"data is not nested as shape {shape} of [re, im] pairs: {str(data)[:200]}"
        g = list(flat(data, depth))
        w = list(flat(want, depth))
        part = COMPLEX_PART[code]
        return (float_values_problem([x[0] for x in g], [x[0] for x in w], part)
                or float_values_problem([x[1] for x in g], [x[1] for x in w], part))
    if not nested_matches_shape(data, shape):
        return f"data is not nested as shape {shape}: {str(data)[:200]}"
    g = list(flat(data, depth))
    w = list(flat(want, depth))
    if len(g) != len(w):
        return f"{len(g)} values, want {len(w)}"
    if code == "BOOL":
        if not all(isinstance(v, bool) for v in g) or g != w:
            return f"bools differ: got {g}, want {w}"
        return None
    if code in INT_DTYPES:
        if not all(type(v) is int for v in g) or g != w:
            return f"integers differ: got {g}, want {w}"
        return None
    return float_values_problem(g, w, code)


# ---- paths ----------------------------------------------------------------------------------------

def sample(items, limit=60):
    """All items when there are few; else the first and last 20 and 20 spread between (a big fixture
    such as many.pt has 1001 values: one `mft get` per value would dominate the test time)."""
    items = list(items)
    if len(items) <= limit:
        return items
    third = limit // 3
    middle = items[third:-third]
    step = max(1, len(middle) // third)
    return items[:third] + middle[::step][:third] + items[-third:]


def path_named_in(path, text):
    """Is `path` named in `text` as a whole path (not as a prefix of a longer one)?"""
    return re.search(r"(?<![\w.#-])" + re.escape(path) + r"(?![\w.#-])", text) is not None


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---- crafting pickles -----------------------------------------------------------------------------

class P:
    """Pickle opcodes as bytes (protocol 2 unless noted)."""
    PROTO2 = b"\x80\x02"
    PROTO4 = b"\x80\x04"
    MARK = b"("
    STOP = b"."
    EMPTY_DICT = b"}"
    EMPTY_LIST = b"]"
    EMPTY_TUPLE = b")"
    TUPLE = b"t"
    TUPLE2 = b"\x86"
    APPEND = b"a"
    SETITEM = b"s"
    SETITEMS = b"u"
    REDUCE = b"R"
    BINPERSID = b"Q"
    NEWFALSE = b"\x89"
    NONE = b"N"
    MEMOIZE = b"\x94"  # protocol 4

    @staticmethod
    def str(s):
        b = s.encode("utf-8")
        return b"X" + struct.pack("<I", len(b)) + b

    @staticmethod
    def glob(module, name):
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    @staticmethod
    def int(n):
        if 0 <= n < 256:
            return b"K" + bytes([n])
        if 0 <= n < 65536:
            return b"M" + struct.pack("<H", n)
        if -2 ** 31 <= n < 2 ** 31:
            return b"J" + struct.pack("<i", n)
        nbytes = (n.bit_length() + 8) // 8
        return b"\x8a" + bytes([nbytes]) + n.to_bytes(nbytes, "little", signed=True)

    @staticmethod
    def tuple(items):
        return P.MARK + b"".join(items) + P.TUPLE

    @staticmethod
    def long_binput(i):
        return b"r" + struct.pack("<I", i)

    @staticmethod
    def long_binget(i):
        return b"j" + struct.pack("<I", i)


def tensor_ops(key="0", storage_cls="FloatStorage", storage_numel=6, offset=0, size=(2, 3), stride=(3, 1)):
    """Opcodes of one `torch._utils._rebuild_tensor_v2(...)` REDUCE, as torch.save writes it."""
    pid = P.tuple([P.str("storage"), P.glob("torch", storage_cls), P.str(key), P.str("cpu"),
                   P.int(storage_numel)])
    args = P.tuple([pid + P.BINPERSID, P.int(offset), P.tuple([P.int(d) for d in size]),
                    P.tuple([P.int(s) for s in stride]), P.NEWFALSE,
                    P.glob("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE])
    return P.glob("torch._utils", "_rebuild_tensor_v2") + args + P.REDUCE


def state_dict_pickle(items):
    """PROTO 2, a dict built with MARK ... SETITEMS from (key, value opcodes) pairs, STOP."""
    body = b"".join(P.str(k) + v for k, v in items)
    return P.PROTO2 + P.EMPTY_DICT + P.MARK + body + P.SETITEMS + P.STOP


def torch_zip(members, prefix="archive"):
    """A torch.save-style zip (stored entries under one folder) from {record name: bytes}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(f"{prefix}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)
    return buf.getvalue()


BASE_VALUES = [1.5, -2.0, 0.25, 3.0, -0.5, 8.0]  # the 2x3 F32 tensor "w" of the base file
BASE_STORAGE = struct.pack("<6f", *BASE_VALUES)


def base_members(pickle_bytes=None, storage=BASE_STORAGE):
    if pickle_bytes is None:
        pickle_bytes = state_dict_pickle([("w", tensor_ops())])
    return {"data.pkl": pickle_bytes, "byteorder": b"little", "data/0": storage, "version": b"3\n"}


def member_data_offset(blob, name):
    """File offset of the first data byte of zip member `name` (from its local header)."""
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        info = z.getinfo(name)
    at = info.header_offset
    assert blob[at:at + 4] == b"PK\x03\x04"
    name_len, extra_len = struct.unpack("<HH", blob[at + 26:at + 30])
    return at + 30 + name_len + extra_len


def rename_member(blob, old, new):
    """The zip `blob` with member name `old` replaced by `new` (same length) in every local and
    central directory header, so the archive stays consistent."""
    assert len(old) == len(new)
    old_b, new_b = old.encode(), new.encode()
    count = blob.count(old_b)
    assert count >= 2, f"{old} appears {count} times"
    return blob.replace(old_b, new_b)
