"""NumPy .npy / .npz: files written by numpy at test time are read by mft exactly as numpy reads them;
files mft writes load back with np.load bit for bit (and an .npy is byte-identical to np.save's);
malformed files give exit status 2 with a distinctive phrase and the byte offset.

Digests are numpy's: sha256 of np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes().
"""

import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from numpy.lib import format as npf

import st_util as su

# numpy dtype (little-endian spelling) -> mft dtype name
CODES = {
    "b1": "BOOL", "i1": "I8", "u1": "U8", "i2": "I16", "u2": "U16", "i4": "I32", "u4": "U32",
    "i8": "I64", "u8": "U64", "f2": "F16", "f4": "F32", "f8": "F64", "c8": "C64", "c16": "C128",
}
MULTIBYTE = [k for k in CODES if k not in ("b1", "i1", "u1")]


def code_of(a):
    return CODES[a.dtype.str[1:]]


def c_order_le(a):
    """The array in C order and little-endian (np.ascontiguousarray would make a 0-d array 1-d)."""
    return np.array(a, order="C").astype(a.dtype.newbyteorder("<"))


def le_bytes(a):
    return c_order_le(a).tobytes()


def digest(a):
    return hashlib.sha256(le_bytes(a)).hexdigest()


def entry(name, a):
    return {"name": name, "dtype": code_of(a), "shape": list(a.shape), "nbytes": a.nbytes,
            "sha256": digest(a)}


def make_array(kind, shape, seed, order="<"):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    dt = np.dtype(kind if kind in ("b1", "i1", "u1") else order + kind)
    if kind == "b1":
        a = rng.integers(0, 2, n).astype(np.bool_)
    elif kind[0] in "iu":
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, n, dtype=dt.newbyteorder("="), endpoint=True)
    elif kind[0] == "f":
        a = (rng.standard_normal(n) * 100).astype(dt.newbyteorder("="))
        if n >= 4:
            a[:4] = [np.nan, np.inf, -np.inf, -0.0]
    else:
        a = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt.newbyteorder("="))
    return a.astype(dt).reshape(shape)


def json_values(a):
    """What `mft get --json` prints for an array's data."""
    def one(x):
        if isinstance(x, (bool, np.bool_)):
            return bool(x)
        if isinstance(x, (np.integer, int)):
            return int(x)
        if isinstance(x, (np.complexfloating, complex)):
            return [one(np.float64(x.real)), one(np.float64(x.imag))]
        f = float(x)
        if f != f:
            return "NaN"
        if f in (float("inf"), float("-inf")):
            return "Infinity" if f > 0 else "-Infinity"
        return f

    def rec(v):
        if isinstance(v, np.ndarray) and v.ndim > 0:
            return [rec(x) for x in v]
        return one(v[()] if isinstance(v, np.ndarray) else v)

    return rec(np.asarray(a))


def same_json(got, want):
    """Compare JSON numbers exactly (NaN as its string), -0.0 keeping its sign."""
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same_json, got, want))
    if isinstance(want, float) and isinstance(got, (int, float)):
        return float(got) == want and np.signbit(float(got)) == np.signbit(want)
    return got == want


def check_error(res, path, pattern):
    assert res.rc == 2, res.describe()
    assert res.out == "", f"nothing may be printed on stdout:\n{res.describe()}"
    assert res.err.startswith(f"mft: {path}"), res.describe()
    assert re.search(pattern, res.err, re.IGNORECASE), f"stderr should match /{pattern}/i:\n{res.describe()}"
    assert re.search(r"\(at byte \d+\)", res.err), f"no byte offset:\n{res.describe()}"


def ls(run_mft, path):
    return run_mft("ls", path, "--json", "--hash", check=0).json()


# ------------------------------------------------------------------------------------------------
# reading .npy
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fortran", [False, True], ids=["C", "F"])
@pytest.mark.parametrize("kind,order", [(k, o) for k in CODES for o in "<>" if o == "<" or k in MULTIBYTE],
                         ids=lambda v: {"<": "le", ">": "be"}.get(v, v))
def test_npy_dtypes_orders(kind, order, fortran, tmp_path, run_mft):
    a = make_array(kind, (3, 4, 5), seed=len(kind) + ord(kind[0]), order=order)
    if fortran:
        a = np.asfortranarray(a)
    path = tmp_path / f"arr_{kind}.npy"
    np.save(path, a)
    listing = ls(run_mft, path)
    assert listing["format"] == "npy"
    assert listing["tensors"] == [entry(f"arr_{kind}", a)]
    got = run_mft("get", path, f"arr_{kind}", "--json", check=0).json()
    assert got["dtype"] == code_of(a) and got["shape"] == [3, 4, 5]
    assert same_json(got["data"], json_values(a))


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (3, 0, 2), (1,), (1, 1, 7), (5, 1)],
                         ids=lambda s: "x".join(map(str, s)) or "scalar")
@pytest.mark.parametrize("fortran", [False, True], ids=["C", "F"])
def test_npy_shapes(shape, fortran, tmp_path, run_mft):
    a = make_array("f4", shape, 3, ">")
    if fortran and shape:  # (asfortranarray makes a 0-d array 1-d)
        a = np.asfortranarray(a)
    path = tmp_path / "s.npy"
    np.save(path, a)
    assert ls(run_mft, path)["tensors"] == [entry("s", a)]
    got = run_mft("get", path, "s", "--json", check=0).json()
    assert got["shape"] == list(shape)
    assert same_json(got["data"], json_values(a))


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)], ids=["v1", "v2", "v3"])
def test_npy_versions(version, tmp_path, run_mft):
    a = np.asfortranarray(make_array("i8", (4, 3), 9, ">"))
    path = tmp_path / "v.npy"
    with open(path, "wb") as f:
        npf.write_array(f, a, version=version)
    assert path.read_bytes()[6] == version[0]
    assert ls(run_mft, path)["tensors"] == [entry("v", a)]


def test_npy_v2_from_a_huge_header(tmp_path, run_mft):
    """A header over 65535 bytes forces version 2.0 (hand-padded: numpy only gets there with huge
    structured dtypes, which mft does not read)."""
    a = np.arange(6, dtype=np.int32)
    text = "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }" + " " * 70000
    body = text.encode() + b" " * (-(12 + len(text) + 1) % 64) + b"\n"
    path = tmp_path / "huge.npy"
    path.write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", len(body)) + body + a.tobytes())
    assert np.array_equal(np.load(path, max_header_size=10 ** 6), a)
    assert ls(run_mft, path)["tensors"] == [entry("huge", a)]


def test_npy_python2_long_and_trailing_bytes(tmp_path, run_mft):
    """Python 2 longs (3L) are accepted in 1.0 headers, and bytes after the array are ignored, both as
    numpy does (documented: trailing bytes are not an error)."""
    a = np.arange(3, dtype=np.uint16)
    text = "{'descr': '<u2', 'fortran_order': False, 'shape': (3L,), }"
    body = text.encode() + b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    path = tmp_path / "py2.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body + a.tobytes() + b"junk")
    assert ls(run_mft, path)["tensors"] == [entry("py2", a)]


def test_npy_name_from_file(tmp_path, run_mft):
    a = np.ones(2, np.float32)
    for name, want in [("model.weights.npy", "model.weights"), ("noext", "noext")]:
        path = tmp_path / name
        np.save(open(path, "wb"), a)
        assert ls(run_mft, path)["tensors"][0]["name"] == want


# ------------------------------------------------------------------------------------------------
# reading .npz
# ------------------------------------------------------------------------------------------------

def many_arrays():
    arrays = {}
    kinds = list(CODES)
    for i in range(40):
        kind = kinds[i % len(kinds)]
        order = ">" if i % 3 == 0 else "<"
        a = make_array(kind, [(2, 3), (4,), (), (0, 2), (3, 2, 2)][i % 5], i, order)
        if i % 4 == 1:
            a = np.asfortranarray(a)
        arrays[f"layer{i}.w" if i % 2 else f"blk/{i}/bias"] = a
    return arrays


@pytest.mark.parametrize("compressed", [False, True], ids=["savez", "savez_compressed"])
def test_npz_many_members(compressed, tmp_path, run_mft):
    arrays = many_arrays()
    path = tmp_path / "m.npz"
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    listing = ls(run_mft, path)
    assert listing["format"] == "npz"
    loaded = np.load(path)
    assert [t["name"] for t in listing["tensors"]] == loaded.files
    assert listing["tensors"] == [entry(k, arrays[k]) for k in loaded.files]
    for key in ["blk/0/bias", "layer1.w", "blk/4/bias"]:
        got = run_mft("get", path, key, "--json", check=0).json()
        assert same_json(got["data"], json_values(arrays[key])), key


def test_npz_positional_and_extra_members(tmp_path, run_mft):
    """savez(*args) names arrays arr_0, arr_1 …; a member that is not an .npy is not a tensor (numpy
    hands it back as bytes) and shows in the value tree."""
    a, b = np.arange(3), np.eye(2)
    path = tmp_path / "p.npz"
    np.savez(path, a, b)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("README.txt", b"hello")
    assert ls(run_mft, path)["tensors"] == [entry("arr_0", a), entry("arr_1", b)]
    assert "hello" in run_mft("get", path, "README.txt", check=0).out
    res = run_mft("convert", path, tmp_path / "p.safetensors", check=0)
    assert "README.txt" in res.err  # named, never dropped silently


def test_npz_duplicate_member_names(tmp_path, run_mft):
    """A repeated member name gets #1 (DESIGN.md §3)."""
    path = tmp_path / "d.npz"
    a, b = np.arange(2, dtype=np.int8), np.arange(3, dtype=np.int8)
    with zipfile.ZipFile(path, "w") as zf:
        for arr in (a, b):
            buf = io.BytesIO()
            np.save(buf, arr)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile: "Duplicate name"
                zf.writestr("w.npy", buf.getvalue())
    assert ls(run_mft, path)["tensors"] == [entry("w", a), entry("w#1", b)]


def test_npz_empty(tmp_path, run_mft):
    path = tmp_path / "e.npz"
    np.savez(path)
    listing = ls(run_mft, path)
    assert listing["format"] == "npz" and listing["tensors"] == []


def test_npz_crc_mismatch_is_a_verify_matter(tmp_path, run_mft):
    """A wrong CRC does not stop reading (numpy's zipfile would refuse the member on a full read):
    checking CRCs is `mft verify`'s job."""
    a = np.arange(5, dtype=np.float64)
    path = tmp_path / "crc.npz"
    np.savez(path, a=a)
    blob = bytearray(path.read_bytes())
    cd = blob.rfind(b"PK\x01\x02")
    blob[cd + 16] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert ls(run_mft, path)["tensors"] == [entry("a", a)]


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------

def numpy_codes():
    return [c for c in su.SUPPORTED_CODES if su.DTYPES[c][1] is not None and
            c not in ("BF16",) and not c.startswith("F8")]


@pytest.fixture(scope="module")
def st_source(tmp_path_factory):
    d = tmp_path_factory.mktemp("st")
    tensors = {}
    for i, code in enumerate(numpy_codes()):
        for j, shape in enumerate([(), (0,), (7,), (2, 3), (3, 0, 2), (2, 1, 4)]):
            tensors[f"{code.lower()}.{j}"] = su.make_tensor(code, shape, 100 * i + j)
    tensors["nested/name.with.dots"] = su.make_tensor("F32", (4, 4), 7)
    return su.write_ref(d / "src.safetensors", tensors, metadata={"format": "pt"}), tensors


def npz_data_offsets(path):
    """Absolute offsets of each member's array data (after its .npy header), from the local headers."""
    blob = path.read_bytes()
    out = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            lh = info.header_offset
            assert blob[lh:lh + 4] == b"PK\x03\x04"
            nlen, xlen = struct.unpack("<HH", blob[lh + 26:lh + 30])
            start = lh + 30 + nlen + xlen
            hl = struct.unpack("<H", blob[start + 8:start + 10])[0]
            out[info.filename] = (start, start + 10 + hl)
    return out


def test_convert_safetensors_to_npz(st_source, tmp_path, run_mft):
    src, tensors = st_source
    out = tmp_path / "y.npz"
    res = run_mft("convert", src, out, check=0)
    assert "not carried over" in res.err  # __metadata__ has no place in an npz
    loaded = np.load(out)
    assert sorted(loaded.files) == sorted(tensors)
    for name, t in tensors.items():
        a = loaded[name]
        assert a.dtype == t.array.dtype and a.shape == t.shape, name
        assert a.tobytes() == t.data, name
    # stored, zip64 extras like savez, data 64-byte aligned
    with zipfile.ZipFile(out) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert zf.testzip() is None
    for member, (start, data) in npz_data_offsets(out).items():
        assert start % 64 == 0 and data % 64 == 0, member
    # the listing matches the source's digests
    want = {n: t.sha256 for n, t in tensors.items()}
    assert {t["name"]: t["sha256"] for t in ls(run_mft, out)["tensors"]} == want


def test_written_npz_passes_zip_testers(st_source, tmp_path, run_mft):
    src, _ = st_source
    out = tmp_path / "t.npz"
    run_mft("convert", src, out, check=0)
    py = subprocess.run([sys.executable, "-m", "zipfile", "-t", str(out)], capture_output=True, text=True)
    assert py.returncode == 0 and "Done testing" in py.stdout, py.stdout + py.stderr
    unzip = shutil.which("unzip")
    assert unzip, "unzip is installed by scripts/install-deps.sh"
    res = subprocess.run([unzip, "-t", str(out)], capture_output=True, text=True)
    assert res.returncode == 0 and "No errors detected" in res.stdout, res.stdout + res.stderr


@pytest.mark.parametrize("kind", list(CODES))
def test_convert_to_npy_is_byte_identical(kind, tmp_path, run_mft):
    for order, fortran, shape in [("<", False, (3, 5)), (">", True, (2, 3, 4)), ("<", False, ()),
                                  ("<", False, (0, 4)), ("<", False, (123456,))]:
        if order == ">" and kind not in MULTIBYTE:
            order = "<"
        a = make_array(kind, shape, 5, order)
        if fortran:
            a = np.asfortranarray(a)
        src = tmp_path / "in.npy"
        np.save(src, a)
        out = tmp_path / "out.npy"
        run_mft("convert", src, out, "--force", check=0)
        want = io.BytesIO()
        np.save(want, c_order_le(a))
        assert out.read_bytes() == want.getvalue(), (kind, order, fortran, shape)


def test_convert_npz_roundtrip(tmp_path, run_mft):
    """npz (compressed, big-endian, Fortran) → safetensors → npz: values survive bit for bit."""
    import safetensors.numpy

    arrays = {k: v for k, v in many_arrays().items() if code_of(v) != "C128"}
    src = tmp_path / "in.npz"
    np.savez_compressed(src, **arrays)
    st = tmp_path / "mid.safetensors"
    run_mft("convert", src, st, check=0)
    back = safetensors.numpy.load_file(st)
    for k, a in arrays.items():
        assert back[k].dtype.str[1:] == a.dtype.str[1:], k
        assert le_bytes(back[k]) == le_bytes(a), k
    out = tmp_path / "out.npz"
    run_mft("convert", st, out, check=0)
    loaded = np.load(out)
    for k, a in arrays.items():
        assert loaded[k].tobytes() == le_bytes(a) and loaded[k].shape == a.shape, k
    # and npz → npz directly, C128 included
    out2 = tmp_path / "direct.npz"
    src2 = tmp_path / "in2.npz"
    np.savez(src2, **many_arrays())
    run_mft("convert", src2, out2, check=0)
    loaded = np.load(out2)
    for k, a in many_arrays().items():
        assert loaded[k].tobytes() == le_bytes(a), k


def test_convert_to_npz_with_to_flag(st_source, tmp_path, run_mft):
    src, tensors = st_source
    out = tmp_path / "weights.bin"
    run_mft("convert", src, out, "--to", "npz", check=0)
    assert sorted(np.load(out).files) == sorted(tensors)


def test_npy_output_needs_one_tensor(st_source, tmp_path, run_mft):
    src, _ = st_source
    res = run_mft("convert", src, tmp_path / "x.npy")
    assert res.rc == 2 and "exactly one" in res.err, res.describe()
    assert not (tmp_path / "x.npy").exists()
    res = run_mft("convert", src, tmp_path / "one.npy", "--select", "f32.3", check=0)
    assert np.load(tmp_path / "one.npy").shape == (2, 3)


@pytest.mark.parametrize("code", ["BF16", "F8_E4M3", "F4"])
def test_npz_refuses_dtypes_numpy_cannot_load(code, tmp_path, run_mft):
    if code not in su.SUPPORTED_CODES:
        pytest.skip(f"the installed safetensors cannot write {code}")
    shape = (4,)
    src = su.write_ref(tmp_path / "q.safetensors", {"ok": su.make_tensor("F32", (2,), 1),
                                                    "bad.one": su.make_tensor(code, shape, 2)})
    for out, extra in (("q.npz", []), ("q.npy", ["--select", "bad.one"])):
        res = run_mft("convert", src, tmp_path / out, *extra)
        assert res.rc == 2, res.describe()
        assert '"bad.one"' in res.err and code in res.err and "numpy" in res.err, res.describe()
        assert not (tmp_path / out).exists()
    if code != "F4":  # --dtype casts the floating tensors, and then numpy loads them
        run_mft("convert", src, tmp_path / "q.npz", "--dtype", "F32", check=0)
        assert np.load(tmp_path / "q.npz")["bad.one"].dtype == np.float32


def test_npz_refuses_unsafe_member_names(tmp_path, run_mft):
    src = su.write_ref(tmp_path / "n.safetensors", {"../evil": su.make_tensor("F32", (2,), 1)})
    res = run_mft("convert", src, tmp_path / "n.npz")
    assert res.rc == 2 and "safe zip member" in res.err, res.describe()


# ------------------------------------------------------------------------------------------------
# malformed input: one case per rule
# ------------------------------------------------------------------------------------------------

def npy_bytes(text, data=b"", version=1, hlen=None, magic=b"\x93NUMPY"):
    body = text.encode("latin1")
    pre = 10 if version == 1 else 12
    body += b" " * (-(pre + len(body) + 1) % 64) + b"\n"
    n = len(body) if hlen is None else hlen
    ln = struct.pack("<H", n) if version == 1 else struct.pack("<I", n)
    return magic + bytes([version, 0]) + ln + body + data


GOOD = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"


def local_header(name, comp, size, crc, method, extra=b""):
    return (struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, comp, size,
                        len(name), len(extra)) + name + extra)


def zip_bytes(members, *, cd_cut=0, cd_offset_delta=0, zip64_sizes=None):
    """A zip archive built field by field: members = [(name, stored bytes, declared size, method,
    crc)]. zip64_sizes overrides one member's (size, comp) through a zip64 extra field."""
    out = b""
    central = b""
    for i, (name, data, size, method, crc) in enumerate(members):
        name = name.encode()
        lho = len(out)
        out += local_header(name, len(data), size & 0xFFFFFFFF, crc, method) + data
        extra = b""
        csize, ccomp = size, len(data)
        if zip64_sizes is not None and i == 0:
            extra = struct.pack("<HHQQ", 1, 16, *zip64_sizes)
            csize = ccomp = 0xFFFFFFFF
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, 0, method, 0, 0x21, crc,
                               ccomp, csize, len(name), len(extra), 0, 0, 0, 0, lho) + name + extra
    cd = len(out)
    central = central[:len(central) - cd_cut] if cd_cut else central
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                       len(central) + cd_cut, cd + cd_offset_delta, 0)
    return out + central + eocd


def npz_of(npy, name="w.npy", method=0):
    crc = zlib.crc32(npy)
    if method == 8:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = c.compress(npy) + c.flush()
    else:
        data = npy
    return zip_bytes([(name, data, len(npy), method, crc)])


VALID = npy_bytes(GOOD, bytes(24))

CASES = {
    # .npy preamble
    "npy_bad_magic_version": ("x.npy", npy_bytes(GOOD, bytes(24), version=4), r"format version 4\.0"),
    "npy_bad_minor_version": ("x.npy", VALID[:7] + b"\x01" + VALID[8:], r"format version 1\.1"),
    "npy_header_length_past_eof": ("x.npy", npy_bytes(GOOD, hlen=5000), r"header length 5000 runs past end"),
    "npy_truncated_in_preamble": ("x.npy", VALID[:9], r"truncated"),
    # the dict
    "npy_header_not_a_dict": ("x.npy", npy_bytes("('<f4', False, (2, 3))", bytes(24)), r"not a dict"),
    "npy_missing_key": ("x.npy", npy_bytes("{'descr': '<f4', 'shape': (2, 3), }", bytes(24)),
                        r"no 'fortran_order' key"),
    "npy_extra_key": ("x.npy", npy_bytes(GOOD[:-1] + "'x': 1}", bytes(24)), r"unexpected key 'x'"),
    "npy_duplicate_key": ("x.npy", npy_bytes("{'shape': (2, 3), " + GOOD[1:], bytes(24)),
                          r"duplicate key 'shape'"),
    "npy_bad_descr": ("x.npy", npy_bytes(GOOD.replace("<f4", "<f3"), bytes(24)), r"bad descr '<f3'"),
    "npy_descr_not_string": ("x.npy", npy_bytes(GOOD.replace("'<f4'", "4"), bytes(24)), r"bad descr"),
    "npy_structured_descr": ("x.npy", npy_bytes(GOOD.replace("'<f4'", "[('a', '<f4')]"), bytes(24)),
                             r"structured dtype"),
    "npy_object_array": ("x.npy", npy_bytes(GOOD.replace("<f4", "|O"), bytes(48)),
                         r"object arrays need pickle; not loaded"),
    "npy_void_dtype": ("x.npy", npy_bytes(GOOD.replace("<f4", "|V2"), bytes(12)), r"void"),
    "npy_fortran_not_bool": ("x.npy", npy_bytes(GOOD.replace("False", "0"), bytes(24)),
                             r"fortran_order must be True or False"),
    "npy_shape_not_tuple": ("x.npy", npy_bytes(GOOD.replace("(2, 3)", "[2, 3]"), bytes(24)),
                            r"shape must be a tuple"),
    "npy_shape_parenthesised_int": ("x.npy", npy_bytes(GOOD.replace("(2, 3)", "(6)"), bytes(24)),
                                    r"parenthesised integer"),
    "npy_negative_dimension": ("x.npy", npy_bytes(GOOD.replace("(2, 3)", "(-2, 3)"), bytes(24)),
                               r"negative dimension"),
    "npy_shape_overflow": ("x.npy", npy_bytes(GOOD.replace("(2, 3)", "(4294967296, 4294967296, 2)")),
                           r"overflows"),
    "npy_dimension_too_big": ("x.npy", npy_bytes(GOOD.replace("(2, 3)", "(99999999999999999999,)")),
                              r"does not fit in 64 bits"),
    "npy_data_shorter_than_shape": ("x.npy", npy_bytes(GOOD, bytes(23)), r"shorter than the shape needs"),
    "npy_unterminated_string": ("x.npy", npy_bytes("{'descr: '<f4'", bytes(24)), r"unterminated string|expected"),
    "npy_garbage_after_dict": ("x.npy", npy_bytes(GOOD + " x", bytes(24)), r"after the header dict"),
    # .npz: members and the zip around them
    "npz_member_bad_npy": ("x.npz", npz_of(npy_bytes(GOOD.replace("<f4", "<q8"), bytes(24))), r"w\.npy: bad descr"),
    "npz_member_data_short": ("x.npz", npz_of(npy_bytes(GOOD, bytes(20)), method=8), r"w\.npy: array data is shorter"),
    "npz_member_deflated_object": ("x.npz", npz_of(npy_bytes(GOOD.replace("<f4", "|O"), bytes(8)), method=8),
                                   r"object arrays need pickle"),
    "npz_zip_bomb_declared_1tb": ("x.npz", None, r"1099511627776 bytes once inflated, over the inflate limit"),
    "npz_truncated_central_directory": ("x.npz", zip_bytes([("w.npy", VALID, len(VALID), 0, 0)], cd_cut=10),
                                        r"central directory"),
    "npz_eocd_offset_past_end": ("x.npz", zip_bytes([("w.npy", VALID, len(VALID), 0, 0)], cd_offset_delta=1 << 20),
                                 r"past the end record|past end"),
    "npz_no_end_record": ("x.npz", npz_of(VALID)[:-22], r"no end-of-central-directory record"),
    "npz_unsupported_method": ("x.npz", zip_bytes([("w.npy", VALID, len(VALID), 12, 0)]),
                               r"compression method 12 \(bzip2\)"),
}


def lying_deflate():
    """A deflated member whose declared size is larger than what inflates: the header parses (only its
    prefix is inflated at open), reading the data finds the lie."""
    npy = VALID
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = c.compress(npy) + c.flush()
    return zip_bytes([("w.npy", data, len(npy) + 100, 8, zlib.crc32(npy))])


def bomb():
    """A deflated member that declares 1 TB once inflated: the .npy header of a 2^37-element F64 array,
    deflated, with the declared size to match (what numpy_dos_create.py builds, minus the data)."""
    npy = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (137438953472,), }")
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = c.compress(npy) + c.flush()
    return zip_bytes([("w.npy", data, 0, 8, 0)], zip64_sizes=(1 << 40, len(data)))


CASES["npz_zip_bomb_declared_1tb"] = ("x.npz", bomb(), CASES["npz_zip_bomb_declared_1tb"][2])
CASES["npz_lying_deflate_size"] = ("x.npz", lying_deflate(), r"inflates to \d+ bytes, not the \d+ it declares")
READ_FAILS = {"npz_lying_deflate_size"}  # open succeeds; the data read (--hash) fails


@pytest.fixture
def bad_file(request, tmp_path):
    name, blob, pattern = CASES[request.param]
    path = tmp_path / f"{request.param}{os.path.splitext(name)[1]}"
    path.write_bytes(blob)
    return path, pattern


def test_numpy_rejects_every_case(tmp_path):
    """Sanity of the crafted cases: numpy (or its zipfile) refuses each one too, except a repeated
    header key, which Python's dict literal lets overwrite the first (mft is stricter there), and the
    structured and void dtypes numpy reads but mft does not (refused clearly as unsupported), and a
    deflated member declaring more bytes than it inflates to (numpy reads only what the .npy header
    asks for and never reaches the end of the stream; mft insists on the declared size)."""
    accepted_by_numpy = {"npy_duplicate_key", "npy_structured_descr", "npy_void_dtype",
                         "npz_lying_deflate_size"}
    for case, (name, blob, _) in CASES.items():
        path = tmp_path / (case + os.path.splitext(name)[1])
        path.write_bytes(blob)
        try:
            r = np.load(path)
            if hasattr(r, "files"):
                [r[k] for k in r.files]
        except Exception:
            assert case not in accepted_by_numpy, f"numpy now rejects {case}"
            continue
        assert case in accepted_by_numpy, f"numpy loads {case}: the crafted file is not malformed"


@pytest.mark.parametrize("bad_file", list(CASES), indirect=True)
def test_malformed(bad_file, run_mft, tmp_path):
    path, pattern = bad_file
    case = path.stem
    res = run_mft("ls", path, "--json", "--hash")
    check_error(res, path, pattern)
    if case not in READ_FAILS:
        check_error(run_mft("info", path), path, pattern)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    res = run_mft("convert", path, out_dir / "o.npz")
    assert res.rc == 2 and os.listdir(out_dir) == [], res.describe()


def test_inflate_limit_is_checked_before_allocating(tmp_path, run_mft):
    """The bomb case again, but under ASan's allocator: no allocation of the declared size happens
    (a 1 TB malloc would abort the sanitizer build)."""
    name, blob, pattern = CASES["npz_zip_bomb_declared_1tb"]
    path = tmp_path / "bomb.npz"
    path.write_bytes(blob)
    res = run_mft("get", path, "w", "--json")
    check_error(res, path, pattern)
