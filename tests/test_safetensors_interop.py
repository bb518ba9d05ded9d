"""safetensors interop: files written by the real `safetensors` package are read by mft exactly as the
reference reads them, and files mft writes are read back by the reference bit for bit.

Every fixture is generated at test time (seeded, deterministic) into pytest's tmp_path.
"""

import fnmatch
import json
import math
import os

import ml_dtypes
import numpy as np
import pytest
import safetensors
import safetensors.numpy

import st_util as su

# ------------------------------------------------------------------------------------------------
# shared fixtures
# ------------------------------------------------------------------------------------------------

# Shapes per dtype: 0-d, empty (a 0 in the shape), 1-d, 2-d, 3-d.  F4 needs an even last dimension
# (two values per byte, and the binding takes the storage shape), so no 0-d F4.
SHAPES = [(), (0,), (7,), (2, 3), (3, 0, 2), (2, 1, 4)]
F4_SHAPES = [(0,), (8,), (2, 6), (3, 0, 2), (2, 1, 4)]


def shapes_for(code):
    return F4_SHAPES if code == "F4" else SHAPES


def shape_tag(shape):
    return "s" + ("x".join(map(str, shape)) if shape else "scalar")


@pytest.fixture(scope="module")
def all_dtypes(tmp_path_factory):
    """One reference-written file with every dtype the installed binding accepts, in every shape."""
    tensors = {}
    seed = 0
    for code in su.SUPPORTED_CODES:
        for shape in shapes_for(code):
            seed += 1
            tensors[f"{code.lower()}.{shape_tag(shape)}"] = su.make_tensor(code, shape, seed)
    path = su.write_ref(tmp_path_factory.mktemp("all") / "all_dtypes.safetensors", tensors,
                        metadata={"format": "pt"})
    header = su.read_header(path.read_bytes())
    return path, tensors, header


@pytest.fixture(scope="module")
def all_listing(all_dtypes, run_mft):
    path, _, _ = all_dtypes
    return run_mft("ls", path, "--json", "--hash", check=0).json()


def expected_listing(path, tensors, header, with_hash=True):
    return [tensors[n].entry(n, with_hash) for n in su.file_order(header)]


def expected_info(path, tensors, metadata, fmt="safetensors"):
    dtypes = {}
    for t in tensors.values():
        d = dtypes.setdefault(t.dtype, {"tensors": 0, "parameters": 0, "nbytes": 0})
        d["tensors"] += 1
        d["parameters"] += t.numel
        d["nbytes"] += t.nbytes
    return {
        "file": str(path),
        "format": fmt,
        "tensors": len(tensors),
        "parameters": sum(t.numel for t in tensors.values()),
        "nbytes": sum(t.nbytes for t in tensors.values()),
        "dtypes": dtypes,
        "metadata": metadata or {},
    }


def assert_error(res, path=None):
    """The error contract: exit 2, nothing on stdout, stderr starts with `mft: ` (and the path)."""
    assert res.rc == 2, res.describe()
    assert res.out == "", res.describe()
    prefix = "mft: " if path is None else f"mft: {path}"
    assert res.err.startswith(prefix), f"stderr should start with {prefix!r}:\n{res.describe()}"


# ------------------------------------------------------------------------------------------------
# the reference library itself (guards the assumptions the other tests make)
# ------------------------------------------------------------------------------------------------

def test_reference_writes_every_required_dtype():
    missing = [c for c in su.REQUIRED_CODES if c not in su.SUPPORTED_CODES]
    assert not missing, f"installed safetensors {safetensors.__version__} cannot write {missing}"


def test_reference_writer_order_model():
    """st_util.rust_order (used to state what mft's writer must do) matches the reference writer."""
    tensors = {}
    for i, code in enumerate(su.SUPPORTED_CODES):
        for name in ("zz", "a", "m.0"):
            tensors[f"{name}.{code}"] = su.make_tensor(code, (2, 2), i)
    header = su.read_header(su.serialize_ref(dict(reversed(list(tensors.items())))))
    assert [k for k in header if k != "__metadata__"] == su.rust_order(tensors)


# ------------------------------------------------------------------------------------------------
# reading: ls
# ------------------------------------------------------------------------------------------------

def test_ls_top_level(all_dtypes, all_listing):
    path, tensors, _ = all_dtypes
    assert all_listing["file"] == str(path)
    assert all_listing["format"] == "safetensors"
    assert len(all_listing["tensors"]) == len(tensors)


def test_ls_is_in_file_order(all_dtypes, all_listing):
    _, _, header = all_dtypes
    assert [e["name"] for e in all_listing["tensors"]] == su.file_order(header)


@pytest.mark.parametrize("code", su.SUPPORTED_CODES)
def test_ls_hash_per_dtype(code, all_dtypes, all_listing):
    path, tensors, header = all_dtypes
    got = {e["name"]: e for e in all_listing["tensors"]}
    for shape in shapes_for(code):
        name = f"{code.lower()}.{shape_tag(shape)}"
        assert got[name] == tensors[name].entry(name), name


def test_ls_digest_matches_file_bytes(all_dtypes, all_listing):
    """The digests are over the bytes the reference library returns for each tensor."""
    path, _, _ = all_dtypes
    ref, _ = su.load_reference(path.read_bytes())
    for e in all_listing["tensors"]:
        assert e["sha256"] == su.sha256(ref[e["name"]].data), e["name"]


def test_ls_without_hash(all_dtypes, run_mft):
    path, tensors, header = all_dtypes
    data = run_mft("ls", path, "--json", check=0).json()
    assert data["tensors"] == expected_listing(path, tensors, header, with_hash=False)


def test_ls_human_lists_every_name(all_dtypes, run_mft):
    path, tensors, _ = all_dtypes
    res = run_mft("ls", path, check=0)
    for name in tensors:
        assert name in res.out


def test_ls_large_tensor_digest(tmp_path, run_mft):
    """A multi-megabyte tensor (digest computed in chunks must equal numpy's)."""
    arr = np.random.default_rng(7).standard_normal((1024, 2048)).astype(np.float32)
    small = np.arange(3, dtype=np.int64)
    path = tmp_path / "big.safetensors"
    safetensors.numpy.save_file({"big": arr, "small": small}, str(path))
    data = run_mft("ls", path, "--json", "--hash", check=0).json()
    got = {e["name"]: e for e in data["tensors"]}
    assert got["big"]["sha256"] == su.sha256(arr.tobytes())
    assert got["big"]["nbytes"] == arr.nbytes
    assert got["small"]["sha256"] == su.sha256(small.tobytes())


def test_ls_offset_order_not_json_order(tmp_path, run_mft):
    """A third-party file (name-ordered JSON, data laid out differently, no alignment padding) is listed
    by data offset."""
    tensors = {
        "a": su.make_tensor("F32", (3,), 1),
        "b": su.make_tensor("U8", (5,), 2),
        "c": su.make_tensor("I64", (2,), 3),
    }
    layout = ["c", "b", "a"]  # data order
    header, data = {}, b""
    for name in layout:
        t = tensors[name]
        header[name] = su.entry(t.dtype, t.shape, len(data), len(data) + t.nbytes)
        data += t.data
    header = {k: header[k] for k in sorted(header)}  # JSON in name order
    blob = su.craft(header, data, pad=False)
    assert su.load_reference(blob)[0]["b"].data == tensors["b"].data  # the reference accepts it
    path = tmp_path / "third_party.safetensors"
    path.write_bytes(blob)
    res = run_mft("ls", path, "--json", "--hash", check=0).json()
    assert res["tensors"] == [tensors[n].entry(n) for n in layout]


# ------------------------------------------------------------------------------------------------
# names: non-ASCII, dots, JSON escapes, many tensors, --filter
# ------------------------------------------------------------------------------------------------

ODD_NAMES = [
    "model.layers.0.self_attn.q_proj.weight",
    "a",
    "a.b",
    "a.b.c",
    "trailing.",
    ".leading",
    "ünïcödé.wéight",
    "日本語.テンソル",
    "emoji.🙂.bias",
    "space in name",
    "slash/and:colon",
    'quote"and\\backslash',
    "tab\tand\nnewline",
    "ctl\x01\x1f\x7f",
    "line\u2028sep",
]


@pytest.fixture(scope="module")
def odd_names(tmp_path_factory):
    tensors = {n: su.make_tensor("F32" if i % 2 else "I16", (i % 3 + 1, 2), 100 + i)
               for i, n in enumerate(ODD_NAMES)}
    path = su.write_ref(tmp_path_factory.mktemp("names") / "names.safetensors", tensors)
    return path, tensors, su.read_header(path.read_bytes())


def test_odd_names_ls(odd_names, run_mft):
    path, tensors, header = odd_names
    data = run_mft("ls", path, "--json", "--hash", check=0).json()
    assert data["tensors"] == expected_listing(path, tensors, header)


@pytest.mark.parametrize("idx", range(len(ODD_NAMES)), ids=[ascii(n)[1:-1] for n in ODD_NAMES])
def test_odd_names_get_raw(idx, odd_names, run_mft):
    path, tensors, _ = odd_names
    name = ODD_NAMES[idx]
    res = run_mft("get", path, name, "--raw", check=0)
    assert res.stdout == tensors[name].data


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    codes = ["F32", "F16", "BF16", "I64", "U8", "BOOL", "I32", "F64"]
    tensors = {}
    for i in range(3000):
        code = codes[i % len(codes)]
        shape = [(), (1,), (3,), (2, 2), (0, 4)][i % 5]
        tensors[f"blocks.{i // 10}.part{i % 10}.{code.lower()}"] = su.make_tensor(code, shape, 1000 + i)
    path = su.write_ref(tmp_path_factory.mktemp("many") / "many.safetensors", tensors,
                        metadata={"format": "pt"})
    return path, tensors, su.read_header(path.read_bytes())


def test_many_tensors_ls(many, run_mft):
    path, tensors, header = many
    data = run_mft("ls", path, "--json", "--hash", check=0).json()
    assert data["tensors"] == expected_listing(path, tensors, header)


@pytest.mark.parametrize("pattern", [
    "*.f32",
    "blocks.1?.*",
    "blocks.[0-2].part[13].*",
    "*part9.bool",
    "blocks.299.part9.f64",
    "blocks.*.part?.i*",
    "nomatch*",
])
def test_ls_filter(pattern, many, run_mft):
    path, tensors, header = many
    data = run_mft("ls", path, "--json", "--hash", "--filter", pattern, check=0).json()
    want = [n for n in su.file_order(header) if fnmatch.fnmatchcase(n, pattern)]
    assert [e["name"] for e in data["tensors"]] == want
    for e in data["tensors"]:
        assert e == tensors[e["name"]].entry(e["name"])


# ------------------------------------------------------------------------------------------------
# get --raw / --json / metadata keys
# ------------------------------------------------------------------------------------------------

RAW_SHAPES = {"first": 0, "empty": 1, "2d": 3}


@pytest.mark.parametrize("which", RAW_SHAPES)
@pytest.mark.parametrize("code", su.SUPPORTED_CODES)
def test_get_raw(code, which, all_dtypes, run_mft):
    path, tensors, _ = all_dtypes
    shape = shapes_for(code)[RAW_SHAPES[which]]
    name = f"{code.lower()}.{shape_tag(shape)}"
    res = run_mft("get", path, name, "--raw", check=0)
    assert res.stdout == tensors[name].data
    if tensors[name].array is not None:
        assert res.stdout == su.le_bytes(tensors[name].array)


NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def nested_matches_shape(data, shape):
    if not shape:
        return not isinstance(data, list)
    return (isinstance(data, list) and len(data) == shape[0]
            and all(nested_matches_shape(x, shape[1:]) for x in data))


def flat(data):
    if isinstance(data, list):
        for x in data:
            yield from flat(x)
    else:
        yield data


def check_json_tensor(doc, arr, code):
    assert doc["dtype"] == code
    assert doc["shape"] == list(arr.shape)
    assert nested_matches_shape(doc["data"], arr.shape), doc["data"]
    values = list(flat(doc["data"]))
    expected = arr.reshape(-1)
    assert len(values) == expected.size
    if code == "BOOL":
        assert all(isinstance(v, bool) for v in values), values
        assert values == expected.tolist()
    elif code[0] in "UI":
        assert all(isinstance(v, int) and not isinstance(v, bool) for v in values), values
        assert values == expected.tolist()  # exact, also beyond 2^53
    else:
        for v in values:
            assert (isinstance(v, (int, float)) and not isinstance(v, bool)) or v in NONFINITE, v
        got = np.array([NONFINITE.get(v, v) if isinstance(v, str) else v for v in values],
                       dtype=np.float64).astype(arr.dtype)
        exp_nan = np.isnan(expected.astype(np.float64))
        got_nan = np.isnan(got.astype(np.float64))
        assert (exp_nan == got_nan).all(), (values, expected)
        uint = np.dtype(f"u{arr.dtype.itemsize}")
        # every non-NaN value bit for bit (so -0.0 keeps its sign, subnormals survive)
        assert (got.view(uint)[~exp_nan] == expected.view(uint)[~exp_nan]).all(), (values, expected)


JSON_VALUES = {
    "f32": np.array([[1.5, -0.0, np.nan], [np.inf, -np.inf, 3.4028235e38], [1e-45, 0.1, -2.75]],
                    dtype=np.float32),
    "f64": np.array([0.1, 1e308, 5e-324, -np.nan, 2.0 ** 60, -1.0 / 3], dtype=np.float64),
    "f16": np.array([0.1, 65504, -0.0, np.nan, np.inf, 6e-08, -1.5], dtype=np.float16),
    "bf16": np.array([1.0, 3.140625, -3.0e38, np.nan, -np.inf, 1e-40, 0.0], dtype=ml_dtypes.bfloat16),
    "i64": np.array([2 ** 63 - 1, -2 ** 63, 2 ** 53 + 1, -(2 ** 53 + 1), 0], dtype=np.int64),
    "u64": np.array([2 ** 64 - 1, 2 ** 53 + 1, 0], dtype=np.uint64),
    "i32": np.array([[-2 ** 31, 2 ** 31 - 1], [7, -7]], dtype=np.int32),
    "u8": np.array([0, 255, 17], dtype=np.uint8),
    "i8": np.array([-128, 127, 0], dtype=np.int8),
    "bool": np.array([[True, False], [False, True]], dtype=np.bool_),
    "scalar_f32": np.array(-2.5, dtype=np.float32),
    "scalar_i64": np.array(-(2 ** 62), dtype=np.int64),
    "scalar_bool": np.array(True),
    "empty_2x0": np.zeros((2, 0), dtype=np.float32),
    "empty_0": np.zeros((0,), dtype=np.int32),
}


@pytest.fixture(scope="module")
def json_values_file(tmp_path_factory):
    tensors = {n: su.from_array(a) for n, a in JSON_VALUES.items()}
    return su.write_ref(tmp_path_factory.mktemp("json") / "values.safetensors", tensors), tensors


@pytest.mark.parametrize("name", list(JSON_VALUES))
def test_get_json_values(name, json_values_file, run_mft):
    path, tensors = json_values_file
    doc = run_mft("get", path, name, "--json", check=0).json()
    check_json_tensor(doc, JSON_VALUES[name], tensors[name].dtype)


@pytest.fixture(scope="module")
def meta_file(tmp_path_factory):
    metadata = {"format": "pt", "note": "héllo wörld ✓", "empty": "", "w": "a metadata value",
                "json_text": '{"epoch": 3, "loss": [0.5, 0.25]}', "multi.dotted.key": "v"}
    tensors = {"w": su.make_tensor("F32", (2, 2), 5), "b": su.make_tensor("F16", (2,), 6)}
    path = su.write_ref(tmp_path_factory.mktemp("meta") / "meta.safetensors", tensors, metadata)
    return path, tensors, metadata


@pytest.mark.parametrize("key", ["format", "note", "empty", "json_text", "multi.dotted.key"])
def test_get_metadata_key(key, meta_file, run_mft):
    path, _, metadata = meta_file
    res = run_mft("get", path, key, check=0)
    assert res.out == metadata[key] + "\n"


def test_get_tensor_wins_over_metadata_key(meta_file, run_mft):
    path, tensors, _ = meta_file
    assert run_mft("get", path, "w", "--raw", check=0).stdout == tensors["w"].data


def test_get_unknown_name(meta_file, run_mft):
    path, _, _ = meta_file
    assert_error(run_mft("get", path, "no.such.tensor", "--raw"), path)


# ------------------------------------------------------------------------------------------------
# info
# ------------------------------------------------------------------------------------------------

def test_info_json_all_dtypes(all_dtypes, run_mft):
    path, tensors, header = all_dtypes
    data = run_mft("info", path, "--json", check=0).json()
    want = expected_info(path, tensors, header.get("__metadata__"))
    for key, value in want.items():
        assert data.get(key) == value, key


def test_info_json_metadata(meta_file, run_mft):
    path, tensors, metadata = meta_file
    data = run_mft("info", path, "--json", check=0).json()
    want = expected_info(path, tensors, metadata)
    for key, value in want.items():
        assert data.get(key) == value, key


def test_info_json_no_metadata(odd_names, run_mft):
    path, tensors, _ = odd_names
    data = run_mft("info", path, "--json", check=0).json()
    want = expected_info(path, tensors, None)
    for key, value in want.items():
        assert data.get(key) == value, key


def test_info_human(all_dtypes, run_mft):
    path, tensors, _ = all_dtypes
    res = run_mft("info", path, check=0)
    assert "safetensors" in res.out
    assert str(len(tensors)) in res.out


# ------------------------------------------------------------------------------------------------
# writing: convert
# ------------------------------------------------------------------------------------------------

# dtypes safetensors' numpy loader (safe_open(framework="np")) can return
NUMPY_LOADABLE = {"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F16", "F32", "F64", "C64"}


def listdir(d):
    return sorted(os.listdir(d))


def convert(run_mft, src, dst, *opts, check=0):
    return run_mft("convert", src, dst, *opts, check=check)


def roundtrip_cases():
    """name -> (tensors, metadata) written by the reference writer."""
    cases = {}
    cases["one_f32"] = ({"w": su.make_tensor("F32", (4, 4), 1)}, None)
    cases["metadata_one_key"] = ({"w": su.make_tensor("F32", (3,), 2), "b": su.make_tensor("U8", (3,), 3)},
                                 {"format": "pt"})
    cases["metadata_many_keys"] = ({"w": su.make_tensor("BF16", (2, 3), 4)},
                                   {f"key{i}": f"välue {i}" for i in range(12)})
    cases["metadata_empty_object"] = ({"w": su.make_tensor("I8", (5,), 5)}, {})
    cases["no_tensors"] = ({}, None)
    cases["no_tensors_metadata"] = ({}, {"format": "pt"})
    cases["only_empty_and_scalars"] = ({"e": su.make_tensor("F32", (0, 3), 6), "s": su.make_tensor("I64", (), 7),
                                        "z": su.make_tensor("BOOL", (0,), 8)}, None)
    cases["unaligned_sizes"] = ({f"t{i}": su.make_tensor(c, (i + 1,), 10 + i)
                                 for i, c in enumerate(["U8", "BOOL", "I8", "F16", "F32", "F64", "I16"])}, None)
    return cases


ROUNDTRIP = roundtrip_cases()


@pytest.mark.parametrize("case", list(ROUNDTRIP) + ["all_dtypes", "odd_names", "many"])
def test_convert_byte_identical(case, request, tmp_path, run_mft):
    """Converting a reference-written file with no options gives the same bytes."""
    if case in ROUNDTRIP:
        tensors, metadata = ROUNDTRIP[case]
        src = su.write_ref(tmp_path / "in.safetensors", tensors, metadata)
    else:
        src = request.getfixturevalue(case)[0]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dst = out_dir / "out.safetensors"
    res = convert(run_mft, src, dst)
    assert res.out == ""
    assert listdir(out_dir) == ["out.safetensors"]  # no temporary file left behind
    assert dst.read_bytes() == src.read_bytes()


def test_convert_loads_bit_exact(all_dtypes, tmp_path, run_mft):
    src, tensors, header = all_dtypes
    dst = tmp_path / "out.safetensors"
    convert(run_mft, src, dst)
    ref, metadata = su.load_reference(dst.read_bytes())
    assert metadata == header["__metadata__"]
    assert set(ref) == set(tensors)
    for name, t in tensors.items():
        assert (ref[name].dtype, ref[name].shape, ref[name].data) == (t.dtype, t.shape, t.data), name
    # and through safe_open / numpy for the dtypes numpy has
    with safetensors.safe_open(str(dst), framework="np") as f:
        assert f.metadata() == header["__metadata__"]
        for name, t in tensors.items():
            if t.dtype in NUMPY_LOADABLE:
                arr = f.get_tensor(name)
                assert arr.shape == t.shape and arr.tobytes() == t.data, name


def test_convert_reorders_like_reference_writer(tmp_path, run_mft):
    """A name-ordered, unaligned third-party file comes out exactly as the Rust writer would write it."""
    tensors = {
        "a.u8": su.make_tensor("U8", (3,), 1),
        "b.f32": su.make_tensor("F32", (2, 2), 2),
        "c.bool": su.make_tensor("BOOL", (5,), 3),
        "d.i64": su.make_tensor("I64", (3,), 4),
        "e.bf16": su.make_tensor("BF16", (3,), 5),
        "f.i32": su.make_tensor("I32", (1,), 6),
        "g.u32": su.make_tensor("U32", (1,), 7),
        "h.f16": su.make_tensor("F16", (1,), 8),
        "i.f8": su.make_tensor("F8_E4M3", (3,), 9),
        "j.i8": su.make_tensor("I8", (1,), 10),
        "k.f4": su.make_tensor("F4", (2, 2), 11),
    }
    metadata = {"format": "pt"}
    src = tmp_path / "third_party.safetensors"
    src.write_bytes(su.craft_tensors(sorted(tensors.items()), metadata, pad=False))
    dst = tmp_path / "out.safetensors"
    convert(run_mft, src, dst)
    assert dst.read_bytes() == su.serialize_ref(tensors, metadata)


# Selection and renaming.  Names are tensor paths (DESIGN §3).  `--select P` keeps the subtree under P
# re-rooted at P, as `check --select` does for load_state_dict (`P.x` becomes `x`; a tensor named exactly
# P keeps its name); `--strip-prefix P` turns `P.x` into `x` (P given with or without the trailing dot)
# and leaves other names alone; `--rename OLD=NEW` renames the tensor OLD and the subtree `OLD.` to
# NEW / `NEW.` (repeatable, applied in order).  Order: select, then strip, then rename.
SEL_TENSORS = {
    "model.encoder.layer.0.w": ("F32", (2, 2)),
    "model.encoder.layer.1.w": ("F32", (2, 2)),
    "model.encoder_extra.w": ("F16", (3,)),
    "model.decoder.w": ("BF16", (2,)),
    "model.decoder.b": ("I64", (2,)),
    "model": ("U8", (1,)),
    "other.x": ("I32", (4,)),
    "modelx.y": ("F64", (1,)),
}

STRIPPED_MODEL = {"model.encoder.layer.0.w": "encoder.layer.0.w",
                  "model.encoder.layer.1.w": "encoder.layer.1.w",
                  "model.encoder_extra.w": "encoder_extra.w",
                  "model.decoder.w": "decoder.w", "model.decoder.b": "decoder.b",
                  "model": "model", "other.x": "other.x", "modelx.y": "modelx.y"}

SELECT_CASES = {
    "select_subtree": (["--select", "model.encoder"],
                       {"model.encoder.layer.0.w": "layer.0.w", "model.encoder.layer.1.w": "layer.1.w"}),
    "select_exact_tensor": (["--select", "model.decoder.w"], {"model.decoder.w": "model.decoder.w"}),
    "select_root": (["--select", "other"], {"other.x": "x"}),
    "strip_prefix": (["--strip-prefix", "model"], STRIPPED_MODEL),
    "strip_prefix_with_dot": (["--strip-prefix", "model."], STRIPPED_MODEL),
    "rename_exact": (["--rename", "other.x=other.y"],
                     {**{n: n for n in SEL_TENSORS if n != "other.x"}, "other.x": "other.y"}),
    "rename_subtree": (["--rename", "model.encoder=enc"],
                       {**{n: n for n in SEL_TENSORS},
                        "model.encoder.layer.0.w": "enc.layer.0.w",
                        "model.encoder.layer.1.w": "enc.layer.1.w"}),
    "rename_twice": (["--rename", "other=misc", "--rename", "modelx.y=z"],
                     {**{n: n for n in SEL_TENSORS}, "other.x": "misc.x", "modelx.y": "z"}),
    "rename_chain": (["--rename", "other.x=tmp", "--rename", "tmp=final"],
                     {**{n: n for n in SEL_TENSORS if n != "other.x"}, "other.x": "final"}),
    "select_strip_rename": (["--select", "model.decoder", "--strip-prefix", "decoder", "--rename", "w=weight"],
                            {"model.decoder.w": "weight", "model.decoder.b": "b"}),
    "select_then_strip_then_rename": (["--select", "model", "--strip-prefix", "encoder",
                                       "--rename", "decoder=dec"],
                                      {"model.encoder.layer.0.w": "layer.0.w",
                                       "model.encoder.layer.1.w": "layer.1.w",
                                       "model.encoder_extra.w": "encoder_extra.w",
                                       "model.decoder.w": "dec.w", "model.decoder.b": "dec.b",
                                       "model": "model"}),
}


@pytest.fixture(scope="module")
def sel_file(tmp_path_factory):
    tensors = {n: su.make_tensor(c, s, i) for i, (n, (c, s)) in enumerate(SEL_TENSORS.items())}
    path = su.write_ref(tmp_path_factory.mktemp("sel") / "sel.safetensors", tensors, {"format": "pt"})
    return path, tensors


@pytest.mark.parametrize("case", list(SELECT_CASES))
def test_convert_select_strip_rename(case, sel_file, tmp_path, run_mft):
    src, tensors = sel_file
    opts, mapping = SELECT_CASES[case]
    dst = tmp_path / "out.safetensors"
    convert(run_mft, src, dst, *opts)
    want = {new: tensors[old] for old, new in mapping.items()}
    ref, metadata = su.load_reference(dst.read_bytes())
    assert metadata == {"format": "pt"}  # metadata kept
    assert sorted(ref) == sorted(want)
    for name, t in want.items():
        assert (ref[name].dtype, ref[name].shape, ref[name].data) == (t.dtype, t.shape, t.data), name
    # and laid out exactly as the reference writer lays out the same tensors
    assert dst.read_bytes() == su.serialize_ref(want, {"format": "pt"})


@pytest.mark.parametrize("opts", [
    ["--rename", "other.x=model.decoder.w"],      # onto an existing name
    ["--rename", "other.x=z", "--rename", "modelx.y=z"],
    ["--strip-prefix", "model", "--rename", "encoder_extra.w=decoder.w"],
], ids=["rename_onto_existing", "two_renames_same_target", "strip_then_collide"])
def test_convert_name_collision_is_error(opts, sel_file, tmp_path, run_mft):
    src, _ = sel_file
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    res = convert(run_mft, src, out_dir / "out.safetensors", *opts, check=None)
    assert_error(res)
    assert "duplicate" in res.err.lower() or "collide" in res.err.lower() or "exists" in res.err.lower()
    assert listdir(out_dir) == []


def test_convert_select_nothing_is_error(sel_file, tmp_path, run_mft):
    src, _ = sel_file
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert_error(convert(run_mft, src, out_dir / "o.safetensors", "--select", "no.such.module", check=None))
    assert listdir(out_dir) == []


def test_convert_strip_prefix_collision(tmp_path, run_mft):
    tensors = {"module.a": su.make_tensor("F32", (1,), 1), "a": su.make_tensor("F32", (1,), 2)}
    src = su.write_ref(tmp_path / "in.safetensors", tensors)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert_error(convert(run_mft, src, out_dir / "o.safetensors", "--strip-prefix", "module", check=None))
    assert listdir(out_dir) == []


def test_convert_metadata_kept(meta_file, tmp_path, run_mft):
    src, tensors, metadata = meta_file
    dst = tmp_path / "out.safetensors"
    convert(run_mft, src, dst, "--select", "w")
    ref, got_meta = su.load_reference(dst.read_bytes())
    assert got_meta == metadata
    assert list(ref) == ["w"]


def test_convert_refuses_existing_output(tmp_path, run_mft):
    tensors = {"w": su.make_tensor("F32", (2,), 1)}
    src = su.write_ref(tmp_path / "in.safetensors", tensors)
    dst = tmp_path / "out.safetensors"
    dst.write_bytes(b"precious")
    res = convert(run_mft, src, dst, check=None)
    assert_error(res)
    assert str(dst) in res.err
    assert dst.read_bytes() == b"precious"
    assert listdir(tmp_path) == ["in.safetensors", "out.safetensors"]
    res = convert(run_mft, src, dst, "--force")
    assert res.out == ""
    assert dst.read_bytes() == src.read_bytes()
    assert listdir(tmp_path) == ["in.safetensors", "out.safetensors"]


def test_convert_bad_size_is_usage_error(tmp_path, run_mft):
    src = su.write_ref(tmp_path / "in.safetensors", {"w": su.make_tensor("F32", (2,), 1)})
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    res = convert(run_mft, src, out_dir / "model.safetensors", "--shard-size", "5XB", check=None)
    assert res.rc == 2 and res.out == "" and res.err.startswith("mft: "), res.describe()
    assert listdir(out_dir) == []


# ------------------------------------------------------------------------------------------------
# sharded sets (Hugging Face *.safetensors.index.json)
# ------------------------------------------------------------------------------------------------

def shard_state_dict():
    """numpy state dict, in state-dict order (as a model's state_dict() would list it)."""
    rng = np.random.default_rng(42)
    sd = {"embed.weight": rng.standard_normal((16, 8)).astype(np.float32)}
    for i in range(4):
        sd[f"layers.{i}.attn.weight"] = rng.standard_normal((8, 8)).astype(np.float32)
        sd[f"layers.{i}.attn.bias"] = rng.standard_normal((8,)).astype(ml_dtypes.bfloat16)
        sd[f"layers.{i}.mlp.weight"] = rng.standard_normal((16, 8)).astype(np.float16)
        sd[f"layers.{i}.steps"] = np.array(i * 1000, dtype=np.int64)
    sd["norm.weight"] = np.ones(8, dtype=np.float32)
    sd["lm_head.weight"] = rng.standard_normal((16, 8)).astype(np.float32)
    return sd


def write_hf_set(directory, sd, max_shard_size="1KB", metadata=None):
    """Shards + index as transformers' save_pretrained writes them (huggingface_hub's splitter,
    safetensors.numpy.save_file per shard, index JSON with indent=2 and sorted keys)."""
    metadata = {"format": "pt"} if metadata is None else metadata
    directory.mkdir(parents=True, exist_ok=True)
    split = su.hf_split(sd, su.parse_size(max_shard_size))
    assert split.is_sharded
    for filename, names in split.filename_to_tensors.items():
        safetensors.numpy.save_file({n: sd[n] for n in names}, str(directory / filename), metadata=metadata)
    index_path = directory / "model.safetensors.index.json"
    su.write_index(index_path, split)
    return index_path, split


def index_expected_order(directory, weight_map):
    names = []
    for shard in sorted(set(weight_map.values())):
        names += su.file_order(su.read_header((directory / shard).read_bytes()))
    return names


@pytest.fixture(scope="module")
def hf_set(tmp_path_factory):
    sd = shard_state_dict()
    index_path, split = write_hf_set(tmp_path_factory.mktemp("hf") / "ckpt", sd)
    assert len(split.filename_to_tensors) >= 3
    tensors = {n: su.from_array(a) for n, a in sd.items()}
    return index_path, split, tensors


def test_index_ls(hf_set, run_mft):
    index_path, split, tensors = hf_set
    data = run_mft("ls", index_path, "--json", "--hash", check=0).json()
    assert data["format"] == "safetensors-index"
    assert data["file"] == str(index_path)
    order = index_expected_order(index_path.parent, split.tensor_to_filename)
    assert sorted(order) == sorted(tensors)
    assert data["tensors"] == [tensors[n].entry(n) for n in order]


def test_index_info(hf_set, run_mft):
    index_path, split, tensors = hf_set
    data = run_mft("info", index_path, "--json", check=0).json()
    want = expected_info(index_path, tensors, None, fmt="safetensors-index")
    for key in ("file", "format", "tensors", "parameters", "nbytes", "dtypes"):
        assert data.get(key) == want[key], key
    assert data["nbytes"] == split.metadata["total_size"]


def test_index_get_raw_and_filter(hf_set, run_mft):
    index_path, split, tensors = hf_set
    shards = sorted(split.filename_to_tensors)
    for name in split.filename_to_tensors[shards[-1]][:2] + split.filename_to_tensors[shards[0]][:1]:
        assert run_mft("get", index_path, name, "--raw", check=0).stdout == tensors[name].data
    data = run_mft("ls", index_path, "--json", "--filter", "layers.*.attn.*", check=0).json()
    order = index_expected_order(index_path.parent, split.tensor_to_filename)
    assert [e["name"] for e in data["tensors"]] == [n for n in order if fnmatch.fnmatchcase(n, "layers.*.attn.*")]


def _break_index(kind, directory, index_path, split, sd):
    index = json.loads(index_path.read_text())
    wm = index["weight_map"]
    shards = sorted(split.filename_to_tensors)
    first, second = shards[0], shards[1]
    if kind == "tensor_missing_in_shard":
        wm["ghost.weight"] = first
    elif kind == "tensor_not_in_map":
        del wm[split.filename_to_tensors[second][0]]
    elif kind == "tensor_in_wrong_shard":
        wm[split.filename_to_tensors[first][0]] = second
    elif kind == "missing_shard_file":
        (directory / second).unlink()
    elif kind == "dotdot_shard_path":  # resolves to the real shard; only the path rule can reject it
        for n in split.filename_to_tensors[first]:
            wm[n] = f"../{directory.name}/{first}"
    elif kind == "absolute_shard_path":
        for n in split.filename_to_tensors[first]:
            wm[n] = str(directory / first)
    elif kind == "tensor_in_two_shards":
        n0 = split.filename_to_tensors[first][0]
        extra = {n: sd[n] for n in split.filename_to_tensors[second]}
        extra[n0] = sd[n0]
        safetensors.numpy.save_file(extra, str(directory / second), metadata={"format": "pt"})
    elif kind == "malformed_shard":
        p = directory / second
        p.write_bytes(p.read_bytes()[:-3])
    elif kind == "index_not_json":
        index_path.write_text('{"metadata": {"total_size": 1}, "weight_map": {')
        return
    elif kind == "no_weight_map":
        index = {"metadata": index["metadata"]}
    elif kind == "weight_map_value_not_string":
        wm[split.filename_to_tensors[first][0]] = 1
    else:
        raise AssertionError(kind)
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


BAD_INDEX = ["tensor_missing_in_shard", "tensor_not_in_map", "tensor_in_wrong_shard", "missing_shard_file",
             "dotdot_shard_path", "absolute_shard_path", "tensor_in_two_shards", "malformed_shard",
             "index_not_json", "no_weight_map", "weight_map_value_not_string"]


@pytest.mark.parametrize("kind", BAD_INDEX)
def test_index_inconsistent_is_error(kind, tmp_path, run_mft):
    sd = shard_state_dict()
    directory = tmp_path / "ckpt"
    index_path, split = write_hf_set(directory, sd)
    _break_index(kind, directory, index_path, split, sd)
    assert_error(run_mft("ls", index_path, "--json", "--hash"))


def test_index_convert_to_single_file(hf_set, tmp_path, run_mft):
    index_path, _, tensors = hf_set
    dst = tmp_path / "merged.safetensors"
    convert(run_mft, index_path, dst)
    ref, _ = su.load_reference(dst.read_bytes())
    assert sorted(ref) == sorted(tensors)
    for name, t in tensors.items():
        assert (ref[name].dtype, ref[name].shape, ref[name].data) == (t.dtype, t.shape, t.data), name


@pytest.fixture(scope="module")
def shard_src(tmp_path_factory):
    """Input for --shard-size: ten 1000-byte F32 tensors, one 6000-byte tensor, some small ones."""
    tensors = {f"blk.{i}.w": su.make_tensor("F32", (250,), i) for i in range(10)}
    tensors["big.w"] = su.make_tensor("F32", (1500,), 50)
    tensors["emb.bf16"] = su.make_tensor("BF16", (100,), 51)
    tensors["step"] = su.make_tensor("I64", (), 52)
    tensors["mask"] = su.make_tensor("BOOL", (7,), 53)
    tensors["zero"] = su.make_tensor("F16", (0, 5), 54)
    metadata = {"format": "pt"}
    path = su.write_ref(tmp_path_factory.mktemp("shardsrc") / "in.safetensors", tensors, metadata)
    return path, tensors, metadata, su.read_header(path.read_bytes())


@pytest.mark.parametrize("size", ["5KB", "4KiB", "3000", "2.5KB", "1000", "7000"])
def test_convert_shard_size(size, shard_src, tmp_path, run_mft):
    src, tensors, metadata, header = shard_src
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    convert(run_mft, src, out_dir / "model.safetensors", "--shard-size", size)

    # what huggingface_hub's splitter makes of the same tensors, in the input's file order
    ordered = {n: tensors[n] for n in su.file_order(header)}
    split = su.hf_split(ordered, su.parse_size(size))
    assert split.is_sharded
    index_path = out_dir / "model.safetensors.index.json"
    assert listdir(out_dir) == sorted([*split.filename_to_tensors, index_path.name])

    index = json.loads(index_path.read_text())
    assert index["weight_map"] == split.tensor_to_filename
    assert index["metadata"]["total_size"] == split.metadata["total_size"] == sum(t.nbytes for t in tensors.values())
    for filename, names in split.filename_to_tensors.items():
        blob = (out_dir / filename).read_bytes()
        ref, shard_meta = su.load_reference(blob)
        assert sorted(ref) == sorted(names), filename
        assert shard_meta == metadata, filename
        for n in names:
            assert (ref[n].dtype, ref[n].shape, ref[n].data) == (tensors[n].dtype, tensors[n].shape, tensors[n].data)
        # each shard exactly as the reference writer writes those tensors
        assert blob == su.serialize_ref({n: tensors[n] for n in names}, metadata), filename

    # and mft reads its own output back as an index with the same digests
    data = run_mft("ls", index_path, "--json", "--hash", check=0).json()
    assert data["format"] == "safetensors-index"
    assert sorted(data["tensors"], key=lambda e: e["name"]) == sorted(
        (t.entry(n) for n, t in tensors.items()), key=lambda e: e["name"])


@pytest.mark.parametrize("size", ["10GB", "1MiB", str(10 ** 9)])
def test_convert_shard_size_single_shard(size, shard_src, tmp_path, run_mft):
    """Everything fits in one shard: just model.safetensors, no index (and the same bytes)."""
    src, _, _, _ = shard_src
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    convert(run_mft, src, out_dir / "model.safetensors", "--shard-size", size)
    assert listdir(out_dir) == ["model.safetensors"]
    assert (out_dir / "model.safetensors").read_bytes() == src.read_bytes()


def test_convert_shard_naming_follows_output_stem(shard_src, tmp_path, run_mft):
    src, tensors, _, header = shard_src
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    convert(run_mft, src, out_dir / "diffusion_pytorch_model.safetensors", "--shard-size", "5KB")
    ordered = {n: tensors[n] for n in su.file_order(header)}
    split = su.hf_split(ordered, 5000, "diffusion_pytorch_model{suffix}.safetensors")
    assert listdir(out_dir) == sorted([*split.filename_to_tensors, "diffusion_pytorch_model.safetensors.index.json"])
