"""Helpers for the GGUF tests and fuzz seeds.

* Reference files are written by the real `gguf` package (gguf-py's GGUFWriter); quantized blocks come
  from `gguf.quants.quantize`.
* Malformed files are built byte by byte here (`Gguf`), following the layout in
  shared/reference/safetensors-gguf-npy.md §2: magic, u32 version, u64 tensor count, u64 kv count, the
  key/values, the tensor infos, padding to the alignment, the data.
* Expectations are computed in Python from what GGUFReader reads, never by mft.
"""

import hashlib
import struct

import numpy as np

# GGUF value types (spec ids)
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
TYPE_NAMES = "UINT8 INT8 UINT16 INT16 UINT32 INT32 FLOAT32 BOOL STRING ARRAY UINT64 INT64 FLOAT64".split()
_FMT = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i", FLOAT32: "<f",
        BOOL: "<B", UINT64: "<Q", INT64: "<q", FLOAT64: "<d"}

# ggml type ids used here, with (elements per block, bytes per block)
GGML = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q8_0": (8, 32, 34), "I8": (24, 1, 1),
        "I32": (26, 1, 4), "Q4_K": (12, 256, 144), "BF16": (30, 1, 2)}


def s(text):
    b = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("<Q", len(b)) + b


def val(t, v):
    """The payload of a value of GGUF type t (no type id)."""
    if t == STRING:
        return s(v)
    if t == ARRAY:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(val(et, i) for i in items)
    return struct.pack(_FMT[t], v)


def kv(key, t, v):
    return s(key) + struct.pack("<I", t) + val(t, v)


def tinfo(name, ne, ggml_type, offset):
    """A tensor info: ne in ggml order (innermost first)."""
    return s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne) + \
        struct.pack("<IQ", ggml_type, offset)


def pad(n, align=32):
    return (align - n % align) % align


def build(kvs=(), tensors=(), data=b"", *, version=3, n_tensors=None, n_kv=None, align=32, magic=b"GGUF",
          pad_header=True, raw_kvs=None, raw_tensors=None):
    """Assemble a GGUF file. kvs: (key, type, value) triples; tensors: (name, ne, ggml_type, offset)."""
    kv_bytes = raw_kvs if raw_kvs is not None else b"".join(kv(*x) for x in kvs)
    ti_bytes = raw_tensors if raw_tensors is not None else b"".join(tinfo(*t) for t in tensors)
    head = magic + struct.pack("<I", version) + struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors,
                                                            len(kvs) if n_kv is None else n_kv)
    blob = head + kv_bytes + ti_bytes
    if pad_header:
        blob += b"\0" * pad(len(blob), align)
    return blob + data


def sha256(b):
    return hashlib.sha256(bytes(b)).hexdigest()


def reader_value(field):
    """A GGUFReader field as a plain Python value (nested arrays kept nested: the reader flattens them)."""
    import gguf
    if field.types[0] != gguf.GGUFValueType.ARRAY:
        return field.contents()
    return _nested(field)


def _nested(field):
    """Decode an ARRAY field's raw parts (type, count, items …) into nested lists."""
    import gguf
    parts = field.parts[3:]  # after key length, key, value type
    pos = [0]

    def take():
        p = parts[pos[0]]
        pos[0] += 1
        return p

    def one(t):
        if t == gguf.GGUFValueType.STRING:
            take()  # length
            return bytes(take()).decode("utf-8")
        if t == gguf.GGUFValueType.ARRAY:
            et = int(take()[0])
            n = int(take()[0])
            return [one(gguf.GGUFValueType(et)) for _ in range(n)]
        v = take()[0]
        return bool(v) if t == gguf.GGUFValueType.BOOL else v.item()

    return one(gguf.GGUFValueType.ARRAY)


def summarised(value, elem_name, limit=64):
    """What `mft info --json` shows for an array value."""
    if len(value) > limit:
        return {"type": "array", "items": len(value), "item_type": elem_name}
    return value
