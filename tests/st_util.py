"""Helpers for the safetensors tests.

* Reference files are written by the real `safetensors` package (the Rust writer through its Python
  binding), with tensor bytes taken from numpy / ml_dtypes arrays.
* Malformed files are crafted byte by byte (`craft`).
* Expectations (digests, sizes, file order, shard split) are computed here in Python, never by mft.
"""

import hashlib
import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import ml_dtypes
import numpy as np
import safetensors

# dtype code -> (bits per element, numpy/ml_dtypes dtype or None, dtype name the binding's TensorSpec takes)
DTYPES = {
    "BOOL": (8, np.dtype(np.bool_), "bool"),
    "U8": (8, np.dtype(np.uint8), "uint8"),
    "I8": (8, np.dtype(np.int8), "int8"),
    "U16": (16, np.dtype(np.uint16), "uint16"),
    "I16": (16, np.dtype(np.int16), "int16"),
    "U32": (32, np.dtype(np.uint32), "uint32"),
    "I32": (32, np.dtype(np.int32), "int32"),
    "U64": (64, np.dtype(np.uint64), "uint64"),
    "I64": (64, np.dtype(np.int64), "int64"),
    "F16": (16, np.dtype(np.float16), "float16"),
    "BF16": (16, np.dtype(ml_dtypes.bfloat16), "bfloat16"),
    "F32": (32, np.dtype(np.float32), "float32"),
    "F64": (64, np.dtype(np.float64), "float64"),
    "C64": (64, np.dtype(np.complex64), "complex64"),
    "F8_E4M3": (8, np.dtype(ml_dtypes.float8_e4m3fn), "float8_e4m3fn"),
    "F8_E5M2": (8, np.dtype(ml_dtypes.float8_e5m2), "float8_e5m2"),
    "F8_E4M3FNUZ": (8, np.dtype(ml_dtypes.float8_e4m3fnuz), "float8_e4m3fnuz"),
    "F8_E5M2FNUZ": (8, np.dtype(ml_dtypes.float8_e5m2fnuz), "float8_e5m2fnuz"),
    "F8_E8M0": (8, np.dtype(ml_dtypes.float8_e8m0fnu), "float8_e8m0fnu"),
    # Packed FP4 E2M1, two per byte; the binding takes torch's storage dtype float4_e2m1fn_x2 and the
    # storage shape (last dimension halved) and records the logical shape in the header.
    "F4": (4, None, "float4_e2m1fn_x2"),
}

# Dtypes every supported safetensors release must be able to write (the tests insist on them).
REQUIRED_CODES = (
    "BOOL U8 I8 U16 I16 U32 I32 U64 I64 F16 BF16 F32 F64 C64 "
    "F8_E4M3 F8_E5M2 F8_E4M3FNUZ F8_E5M2FNUZ F8_E8M0 F4"
).split()

# The Rust writer's tensor order: descending `Dtype` (the enum's declaration order, listed ascending
# below), then name (bytewise).  Within one alignment class the enum order decides, not the name: the
# file order is U64 I64 F64 C64 | F32 U32 I32 | BF16 F16 U16 I16 | F8_E5M2FNUZ F8_E4M3FNUZ F8_E8M0 F8_E4M3
# F8_E5M2 I8 U8 | F4 | BOOL (checked against the safetensors 0.8.0 binding).
RUST_DTYPE_ENUM_ORDER = (
    "BOOL F4 F6_E2M3 F6_E3M2 U8 I8 F8_E5M2 F8_E4M3 F8_E8M0 F8_E4M3FNUZ F8_E5M2FNUZ "
    "I16 U16 F16 BF16 I32 U32 F32 C64 F64 I64 U64"
).split()

MAX_HEADER = 100_000_000

_TensorSpec = getattr(safetensors, "TensorSpec", None)


def _spec_accepts(code):
    name = DTYPES[code][2]
    if _TensorSpec is not None:
        try:
            _TensorSpec(dtype=name, shape=[2], data_ptr=0, data_len=0)
            return True
        except Exception:
            return False
    # Older bindings (dict API with safetensors dtype codes)
    try:
        nbytes = 1 if code == "F4" else DTYPES[code][0] // 8 * 2
        safetensors.serialize({"t": {"dtype": code, "shape": [2], "data": b"\0" * nbytes}})
        return True
    except Exception:
        return False


# Every dtype code the installed reference writer accepts, in DTYPES order.
SUPPORTED_CODES = [c for c in DTYPES if _spec_accepts(c)]


def bits(code):
    return DTYPES[code][0]


def numel(shape):
    return math.prod(shape)  # math.prod(()) == 1: a 0-d tensor holds one element


def nbytes_of(code, shape):
    return numel(shape) * bits(code) // 8


def sha256(b):
    return hashlib.sha256(bytes(b)).hexdigest()


def le_bytes(arr):
    """C-contiguous little-endian bytes of an array (what safetensors stores and mft digests)."""
    arr = np.ascontiguousarray(arr)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return arr.tobytes()


@dataclass
class Tensor:
    dtype: str
    shape: tuple
    data: bytes
    array: object = field(default=None, repr=False)  # numpy / ml_dtypes array when one can hold it

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        self.data = bytes(self.data)
        assert len(self.data) == nbytes_of(self.dtype, self.shape), (self.dtype, self.shape, len(self.data))

    @property
    def nbytes(self):  # also what huggingface_hub's numpy splitter asks for
        return len(self.data)

    @property
    def numel(self):
        return numel(self.shape)

    @property
    def sha256(self):
        # The numpy digest when numpy can hold the dtype (the data is the array's LE C-order bytes).
        if self.array is not None:
            return sha256(le_bytes(self.array))
        return sha256(self.data)

    def entry(self, name, with_hash=True):
        """The `mft ls --json` entry expected for this tensor."""
        e = {"name": name, "dtype": self.dtype, "shape": list(self.shape), "nbytes": self.nbytes}
        if with_hash:
            e["sha256"] = self.sha256
        return e


def from_array(arr, code=None):
    arr = np.asarray(arr)
    if code is None:
        matches = [c for c, (_, dt, _) in DTYPES.items() if dt is not None and dt == arr.dtype]
        assert matches, f"no safetensors dtype for {arr.dtype}"
        code = matches[0]
    return Tensor(code, arr.shape, le_bytes(arr), np.ascontiguousarray(arr))


def _specials(code):
    dt = DTYPES[code][1]
    if code in ("F16", "F32", "F64"):
        info = np.finfo(dt)
        return np.array([np.nan, np.inf, -np.inf, -0.0, info.smallest_subnormal, info.max, info.min], dtype=dt)
    if code in ("U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64"):
        info = np.iinfo(dt)
        return np.array([info.min, info.max, 0, 1], dtype=dt)
    return None


def make_tensor(code, shape, seed):
    """Deterministic content for `code` and `shape`; special values (NaN, ±Inf, -0, extremes) included
    when there is room."""
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    n = numel(shape)
    _, dt, _ = DTYPES[code]
    if code == "F4":
        assert n % 2 == 0
        return Tensor(code, shape, rng.bytes(n // 2))
    if code == "BOOL":
        arr = rng.integers(0, 2, size=n).astype(np.bool_)
    elif code in ("U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64"):
        info = np.iinfo(dt)
        arr = rng.integers(info.min, info.max, size=n, dtype=dt, endpoint=True)
    elif code in ("F16", "F32", "F64"):
        arr = (rng.standard_normal(n) * 100).astype(dt)
    elif code == "C64":
        arr = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    else:  # BF16 and the F8 types: every bit pattern, NaNs included
        arr = np.frombuffer(rng.bytes(n * dt.itemsize), dtype=dt).copy()
    sp = _specials(code)
    if sp is not None and n >= len(sp):
        arr[: len(sp)] = sp
    arr = arr.reshape(shape)
    return Tensor(code, shape, le_bytes(arr), arr)


def serialize_ref(tensors, metadata=None):
    """Bytes of a safetensors file written by the reference (Rust) writer."""
    keep = []
    if _TensorSpec is not None:
        specs = {}
        for name, t in tensors.items():
            buf = np.frombuffer(t.data, dtype=np.uint8) if t.data else np.zeros(1, np.uint8)
            keep.append(buf)
            shape = list(t.shape)
            if t.dtype == "F4":
                assert shape and shape[-1] % 2 == 0, "the binding needs an even last dimension for F4"
                shape[-1] //= 2
            specs[name] = _TensorSpec(dtype=DTYPES[t.dtype][2], shape=shape,
                                      data_ptr=buf.ctypes.data, data_len=len(t.data))
        out = bytes(safetensors.serialize(specs, metadata=metadata))
    else:
        specs = {n: {"dtype": t.dtype, "shape": list(t.shape), "data": t.data} for n, t in tensors.items()}
        out = bytes(safetensors.serialize(specs, metadata=metadata))
    del keep
    return out


def write_ref(path, tensors, metadata=None):
    path = Path(path)
    path.write_bytes(serialize_ref(tensors, metadata))
    return path


def split_header(buf):
    """(N, header bytes, data bytes) of a safetensors file."""
    n = struct.unpack("<Q", buf[:8])[0]
    return n, buf[8:8 + n], buf[8 + n:]


def read_header(buf):
    """The header as an ordered dict (JSON order kept)."""
    _, hdr, _ = split_header(buf)
    return json.loads(hdr.decode("utf-8"))


def file_order(header):
    """Tensor names in data-offset order ((begin, end), JSON order breaking ties)."""
    names = [k for k in header if k != "__metadata__"]
    pos = {k: i for i, k in enumerate(names)}
    return sorted(names, key=lambda k: (header[k]["data_offsets"][0], header[k]["data_offsets"][1], pos[k]))


def rust_order(tensors):
    """Names in the order the Rust writer lays them out."""
    rank = {c: i for i, c in enumerate(RUST_DTYPE_ENUM_ORDER)}
    return sorted(tensors, key=lambda n: (-rank[tensors[n].dtype], n.encode("utf-8")))


def load_reference(buf):
    """{name: Tensor} read back by the reference library (safetensors.deserialize), plus metadata."""
    out = {}
    for name, info in safetensors.deserialize(bytes(buf)):
        out[name] = Tensor(info["dtype"], info["shape"], bytes(info["data"]))
    header = read_header(buf)
    return out, header.get("__metadata__")


# ---- hand-crafted files -------------------------------------------------------------------------

def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, end]}


def craft(header, data=b"", *, pad=True, length=None, trailer=b""):
    """A safetensors file from a header (dict/list → compact JSON; str → UTF-8; bytes as they are).

    pad: pad the header with spaces to a multiple of 8.  length: override the u64 header length.
    """
    if isinstance(header, (dict, list)):
        hdr = jdump(header).encode("utf-8")
    elif isinstance(header, str):
        hdr = header.encode("utf-8")
    else:
        hdr = bytes(header)
    if pad:
        hdr += b" " * (-len(hdr) % 8)
    n = len(hdr) if length is None else length
    return struct.pack("<Q", n) + hdr + data + trailer


def craft_tensors(items, metadata=None, *, pad=True):
    """A well-formed file whose JSON lists `items` [(name, Tensor)] in the given order, data laid out
    in that same order (so JSON order == offset order), with no alignment padding unless pad."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, t in items:
        header[name] = entry(t.dtype, t.shape, len(data), len(data) + t.nbytes)
        data += t.data
    return craft(header, data, pad=pad)


# ---- Hugging Face sharding ---------------------------------------------------------------------

_BINARY_UNITS = {"KIB": 2 ** 10, "MIB": 2 ** 20, "GIB": 2 ** 30, "TIB": 2 ** 40}


def parse_size(text):
    """Shard size in bytes: a plain integer, a decimal unit as huggingface_hub parses it (KB MB GB TB =
    10^3…10^12), or a binary unit (KiB MiB GiB TiB = 2^10…2^40)."""
    s = text.strip()
    if s.isdigit():
        return int(s)
    for unit, mult in _BINARY_UNITS.items():
        if s.upper().endswith(unit):
            return int(float(s[: -len(unit)]) * mult)
    from huggingface_hub.serialization._base import parse_size_to_int

    return parse_size_to_int(s)


def hf_split(state_dict, max_shard_size, filename_pattern="model{suffix}.safetensors"):
    """huggingface_hub's greedy splitter over `state_dict` (values need only .nbytes), in dict order."""
    try:
        from huggingface_hub import split_numpy_state_dict_into_shards as split  # huggingface_hub < 1.0
    except ImportError:
        split = None
    if split is not None:
        return split(state_dict, filename_pattern=filename_pattern, max_shard_size=max_shard_size)
    from huggingface_hub.serialization import split_state_dict_into_shards_factory

    return split_state_dict_into_shards_factory(
        state_dict,
        get_storage_size=lambda t: t.nbytes,
        filename_pattern=filename_pattern,
        max_shard_size=max_shard_size,
    )


def write_index(path, split_or_map, total_size=None):
    """Write a `*.safetensors.index.json` the way transformers' save_pretrained does."""
    if hasattr(split_or_map, "tensor_to_filename"):
        weight_map = split_or_map.tensor_to_filename
        metadata = dict(split_or_map.metadata)
    else:
        weight_map = split_or_map
        metadata = {"total_size": total_size}
    index = {"metadata": metadata, "weight_map": weight_map}
    Path(path).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return index
