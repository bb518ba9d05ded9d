"""Seed corpora for fuzz/fuzz_npy.c and fuzz/fuzz_zip.c (fuzz/corpus/npy, fuzz/corpus/zip).

Valid seeds are written by numpy (np.save, np.savez, np.savez_compressed, format.write_array with
explicit versions) and by Python's zipfile (stored, deflated, forced zip64, comments, data descriptors
from a non-seekable stream); hand-made malformed variants point the fuzzers at each validation rule.
After seeding, `make fuzz` grows the corpora and `-merge=1` keeps them small; what is committed
replays in `make test`.

    python tools/gen_npy_fuzz_seeds.py [OUT_DIR]     (default fuzz/corpus)
"""
import io
import os
import struct
import sys
import zipfile

import numpy as np
from numpy.lib import format as npf

out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus"
npy_dir = os.path.join(out, "npy")
zip_dir = os.path.join(out, "zip")
os.makedirs(npy_dir, exist_ok=True)
os.makedirs(zip_dir, exist_ok=True)


def put(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(arr, version=None, allow_pickle=False):
    b = io.BytesIO()
    if version is None:
        np.save(b, arr, allow_pickle=allow_pickle)
    else:
        npf.write_array(b, np.asanyarray(arr), version=version, allow_pickle=allow_pickle)
    return b.getvalue()


def npz(compressed=False, **arrays):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


# ---- .npy
a = np.arange(6, dtype=np.float32).reshape(2, 3)
seeds = {
    "f4_2x3": npy(a),
    "fortran_i2": npy(np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4))),
    "fortran_3d_c8": npy(np.asfortranarray((np.arange(8) + 1j).astype(np.complex64).reshape(2, 2, 2))),
    "big_f8": npy(np.arange(4, dtype=">f8")),
    "big_fortran_u4": npy(np.asfortranarray(np.arange(6, dtype=">u4").reshape(2, 3))),
    "bool_0d": npy(np.array(True)),
    "empty": npy(np.zeros((0, 3), np.int64)),
    "c16": npy(np.array([1 + 2j, 3 - 4j])),
    "f2": npy(np.ones(3, np.float16)),
    "v2": npy(a, version=(2, 0)),
    "v3": npy(a, version=(3, 0)),
    "object": npy(np.array([{"a": 1}], dtype=object), allow_pickle=True),
    "structured": npy(np.zeros(2, dtype=[("x", "<i4"), ("y", "<f4")])),
    "void2": npy(np.zeros(2, dtype="V2")),
    "trailing": npy(a) + b"trailing bytes",
}
for k, v in seeds.items():
    put(npy_dir, "seed_" + k, v)


def header(text, version=1, pad_to=64):
    h = text.encode("latin1")
    pre = 10 if version == 1 else 12
    h += b" " * (-(pre + len(h) + 1) % pad_to) + b"\n"
    ln = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + ln + h


good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
bad = {
    "bad_version": b"\x93NUMPY\x04\x00" + header(good)[8:] + bytes(8),
    "bad_magic": b"\x93NUMPZ" + header(good)[6:] + bytes(8),
    "len_past_eof": header(good)[:8] + struct.pack("<H", 60000) + header(good)[10:],
    "not_dict": header("['descr', '<f4']") + bytes(8),
    "missing_key": header("{'descr': '<f4', 'shape': (2,), }") + bytes(8),
    "extra_key": header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}") + bytes(8),
    "dup_key": header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}") + bytes(8),
    "bad_descr": header("{'descr': '<q9', 'fortran_order': False, 'shape': (2,), }") + bytes(8),
    "shape_overflow": header("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }"),
    "shape_int": header("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }") + bytes(8),
    "negative": header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }") + bytes(8),
    "short_data": header(good) + bytes(7),
    "py2_long": header("{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }") + bytes(8),
    "escape": header("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (2,), }") + bytes(8),
    "fortran_int": header("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }") + bytes(8),
}
for k, v in bad.items():
    put(npy_dir, k, v)

# ---- .npz (both corpora)
z_store = npz(w=a, b=np.arange(3, dtype=">i2"), **{"n/e/sted": np.eye(2)})
z_comp = npz(True, w=a, f=np.asfortranarray(a.reshape(3, 2)))
put(npy_dir, "seed_npz_stored", z_store)
put(npy_dir, "seed_npz_deflated", z_comp)
put(npy_dir, "seed_npz_empty", npz())
put(zip_dir, "seed_npz_stored", z_store)
put(zip_dir, "seed_npz_deflated", z_comp)

# ---- zips of other shapes


def zipped(members, *, method=zipfile.ZIP_STORED, comment=b"", force_zip64=False, stream=False):
    b = io.BytesIO()

    class Unseekable(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            return b.write(data)

    target = Unseekable() if stream else b
    with zipfile.ZipFile(target, "w", compression=method) as zf:
        for name, data in members:
            with zf.open(name, "w", force_zip64=force_zip64) as m:
                m.write(data)
        zf.comment = comment
    return b.getvalue()


put(zip_dir, "seed_torchlike", zipped([("archive/data.pkl", b"\x80\x02}q\x00."),
                                       ("archive/byteorder", b"little"),
                                       ("archive/data/0", bytes(range(16))),
                                       ("archive/version", b"3\n")]))
put(zip_dir, "seed_deflated", zipped([("a.txt", b"hello " * 50), ("b", b"")], method=zipfile.ZIP_DEFLATED))
put(zip_dir, "seed_zip64_forced", zipped([("x", b"abc")], force_zip64=True))
put(zip_dir, "seed_descriptor", zipped([("s.bin", b"0123456789")], stream=True))
put(zip_dir, "seed_comment", zipped([("c", b"x")], comment=b"PK\x05\x06 fake end in a comment"))
put(zip_dir, "seed_empty", zipped([]))
good_zip = zipped([("a.txt", b"hello world")])
put(zip_dir, "bad_truncated_cd", good_zip[:-30] + good_zip[-22:])
eocd = bytearray(good_zip)
eocd[-6:-2] = struct.pack("<I", 0x7FFFFFF0)
put(zip_dir, "bad_eocd_offset", bytes(eocd))
lying = bytearray(zipped([("a.txt", b"hello " * 50)], method=zipfile.ZIP_DEFLATED))
cd = lying.rfind(b"PK\x01\x02")
lying[cd + 24:cd + 28] = struct.pack("<I", 1 << 30)  # declared size
put(zip_dir, "bad_lying_size", bytes(lying))
