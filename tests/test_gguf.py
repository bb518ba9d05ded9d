"""GGUF: reading files the gguf package writes, writing files it reads back, casts, malformed inputs.

Oracles: gguf-py (GGUFWriter writes the fixtures, GGUFReader reads mft's output; gguf.quants makes the
Q8_0/Q4_0 blocks), numpy and ml_dtypes for the casts. Expectations are computed here, never by mft.
"""

import json
import os
import re
import struct
from pathlib import Path

import gguf
import ml_dtypes
import numpy as np
import pytest
from gguf import GGMLQuantizationType as T
from safetensors.numpy import load_file, save_file

import gguf_util as gu

# ------------------------------------------------------------------------------------------ fixtures


def write(path, writer_fn, arch="llama", *, tensors=True, alignment=None):
    w = gguf.GGUFWriter(str(path), arch)
    if alignment:
        w.add_custom_alignment(alignment)
    writer_fn(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    if tensors:
        w.write_tensors_to_file()
    w.close()
    return path


def all_values(w):
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -128)
    w.add_uint16("t.u16", 65535)
    w.add_int16("t.i16", -300)
    w.add_uint32("t.u32", 4_000_000_000)
    w.add_int32("t.i32", -7)
    w.add_float32("t.f32", 0.1)
    w.add_uint64("t.u64_small", 5)
    w.add_uint64("t.u64_big", 2 ** 64 - 1)
    w.add_int64("t.i64", -2 ** 63)
    w.add_float64("t.f64", 1e-300)
    w.add_bool("t.true", True)
    w.add_bool("t.false", False)
    w.add_string("t.str", "héllo\nwörld \"quoted\" \\ tab\t")
    w.add_array("t.arr_str", ["a", "", "ccc", "✓"])
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_array("t.arr_f32", [0.5, -1.25, 3.0e-8])
    w.add_array("t.arr_bool", [True, False])
    w.add_key_value("t.arr_u8", [1, 2, 255], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.UINT8)
    w.add_key_value("t.arr_u64", [2 ** 64 - 1, 0], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.UINT64)
    w.add_key_value("t.arr_f64", [1.5, -2.0], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.FLOAT64)
    w.add_array("t.nested", [[1, 2], [3], ["x", "y"]])
    w.add_array("t.nested2", [[[1], [2, 3]], [[4]]])
    w.add_array("t.big_str", [f"tok{i}" for i in range(1000)])
    w.add_array("t.big_i32", list(range(65)))
    w.add_array("t.arr_64", list(range(64)))


def rng_array(shape, dtype, seed):
    r = np.random.default_rng(seed)
    return r.standard_normal(shape).astype(dtype)


def all_tensors(w):
    w.add_tensor("f32", rng_array((2, 3), np.float32, 1))
    w.add_tensor("f16", rng_array((4,), np.float16, 2))
    w.add_tensor("bf16", rng_array((3, 2), np.float32, 3).astype(ml_dtypes.bfloat16).view(np.uint16),
                 raw_dtype=T.BF16)
    w.add_tensor("f64", rng_array((2, 2, 2), np.float64, 4))
    w.add_tensor("i8", np.arange(-3, 5, dtype=np.int8))
    w.add_tensor("i16", np.arange(6, dtype=np.int16).reshape(3, 2))
    w.add_tensor("i32", np.arange(5, dtype=np.int32))
    w.add_tensor("i64", np.arange(4, dtype=np.int64).reshape(1, 2, 1, 2))
    x = rng_array((4, 64), np.float32, 5)
    w.add_tensor("q8_0", gguf.quants.quantize(x, T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("q4_0", gguf.quants.quantize(x, T.Q4_0), raw_dtype=T.Q4_0)
    qk = np.random.default_rng(6).integers(0, 256, (2, 144), dtype=np.uint8)  # 2 rows of one Q4_K block
    w.add_tensor("q4_k", qk, raw_dtype=T.Q4_K)
    w.add_tensor("scalar", np.array(2.5, dtype=np.float32))
    w.add_tensor("blk.0.attn_q.weight", rng_array((8, 4), np.float32, 7))


@pytest.fixture(scope="session")
def gfiles(tmp_path_factory):
    d = tmp_path_factory.mktemp("gguf")
    files = {
        "all": write(d / "all.gguf", lambda w: (all_values(w), all_tensors(w))),
        "align64": write(d / "align64.gguf", all_tensors, alignment=64),
        "align8": write(d / "align8.gguf", lambda w: w.add_tensor("t", np.ones(3, np.float32)), alignment=8),
        "kv_only": write(d / "kv_only.gguf", all_values, tensors=False),
        "no_tensors_padded": write(d / "no_tensors_padded.gguf", lambda w: w.add_uint32("x", 1)),
        "noarch": write(d / "noarch.gguf", lambda w: w.add_tensor("a", np.zeros((2, 2), np.float32)), arch=""),
    }
    return files


def ls(run_mft, path):
    return run_mft("ls", path, "--json", "--hash", check=0).json()


def info(run_mft, path):
    return run_mft("info", path, "--json", check=0).json()


def expected_metadata(path):
    r = gguf.GGUFReader(str(path))
    out = {}
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        v = gu.reader_value(field)
        if field.types[0] == gguf.GGUFValueType.ARRAY:
            v = gu.summarised(v, gu.TYPE_NAMES[field.types[1]])
        out[name] = v
    return out


def expected_tensors(path):
    r = gguf.GGUFReader(str(path))
    out = []
    for t in r.tensors:
        raw = np.ascontiguousarray(t.data).tobytes()
        out.append({"name": t.name, "dtype": t.tensor_type.name, "shape": [int(d) for d in reversed(t.shape)],
                    "nbytes": int(t.n_bytes), "sha256": gu.sha256(raw)})
    return out


# ------------------------------------------------------------------------------------------ reading


@pytest.mark.parametrize("name", ["all", "align64", "align8", "kv_only", "no_tensors_padded", "noarch"])
def test_ls_matches_reader(name, gfiles, run_mft):
    got = ls(run_mft, gfiles[name])
    assert got["format"] == "gguf"
    want = expected_tensors(gfiles[name])
    assert [{k: t[k] for k in ("name", "dtype", "shape", "nbytes", "sha256")} for t in got["tensors"]] == want


@pytest.mark.parametrize("name", ["all", "align64", "kv_only", "no_tensors_padded", "noarch"])
def test_info_metadata_matches_reader(name, gfiles, run_mft):
    got = info(run_mft, gfiles[name])
    assert got["format"] == "gguf"
    assert got["metadata"] == expected_metadata(gfiles[name])
    assert list(got["metadata"]) == list(expected_metadata(gfiles[name]))  # order kept


def test_info_counts_elements_for_block_types(gfiles, run_mft):
    got = info(run_mft, gfiles["all"])
    assert got["dtypes"]["Q8_0"] == {"tensors": 1, "parameters": 256, "nbytes": 4 * 34 * 2}
    assert got["dtypes"]["Q4_K"] == {"tensors": 1, "parameters": 512, "nbytes": 288}


def test_info_text_summarises_arrays(gfiles, run_mft):
    out = run_mft("info", gfiles["all"], check=0).out
    assert "t.big_str: [1000 strings]" in out
    assert "t.big_i32: [65 × INT32]" in out
    assert "t.arr_str: [\"a\", \"\", \"ccc\", \"✓\"]" in out
    assert "t.u64_big: 18446744073709551615" in out


def test_get_metadata_scalar(gfiles, run_mft):
    assert run_mft("get", gfiles["all"], "general.architecture", check=0).out == "llama\n"
    assert run_mft("get", gfiles["all"], "t.i32", check=0).out == "-7\n"


def test_get_quantized_tensor_refuses_values(gfiles, run_mft):
    res = run_mft("get", gfiles["all"], "q8_0", check=2)
    assert "Q8_0" in res.err
    raw = run_mft("get", gfiles["all"], "q8_0", "--raw", check=0).stdout
    r = gguf.GGUFReader(str(gfiles["all"]))
    assert raw == next(t for t in r.tensors if t.name == "q8_0").data.tobytes()


def test_version2_file_reads(gfiles, tmp_path, run_mft):
    blob = bytearray(gfiles["all"].read_bytes())
    struct.pack_into("<I", blob, 4, 2)
    p = tmp_path / "v2.gguf"
    p.write_bytes(bytes(blob))
    assert ls(run_mft, p)["tensors"] == ls(run_mft, gfiles["all"])["tensors"]


# The llama.cpp vocab-only files (shared/corpora/llama.cpp/EXPECTED.md): no tensors, the file ends right
# after the key/values.
VOCAB = {
    "ggml-vocab-bert-bge.gguf": ("bert", 20, {"tokenizer.ggml.tokens": 30522, "tokenizer.ggml.token_type": 30522}),
    "ggml-vocab-phi-3.gguf": ("phi3", 26, {"tokenizer.ggml.tokens": 32064, "tokenizer.ggml.scores": 32064,
                                           "tokenizer.ggml.token_type": 32064}),
    "ggml-vocab-gpt-2.gguf": ("gpt2", 16, {"tokenizer.ggml.tokens": 50257, "tokenizer.ggml.token_type": 50257,
                                           "tokenizer.ggml.merges": 50000}),
}


@pytest.mark.parametrize("fname", list(VOCAB))
def test_llama_cpp_vocab_files(fname, shared_dir, run_mft):
    path = shared_dir / "corpora" / "llama.cpp" / "models" / fname
    arch, nkv, counts = VOCAB[fname]
    got = info(run_mft, path)
    assert got["format"] == "gguf" and got["tensors"] == 0
    meta = got["metadata"]
    assert len(meta) == nkv
    assert meta["general.architecture"] == arch
    assert meta["general.file_type"] == 1
    for key, n in counts.items():
        assert meta[key]["items"] == n
    assert meta == expected_metadata(path)
    assert run_mft("get", path, "general.architecture", check=0).out == arch + "\n"
    text = run_mft("info", path, check=0).out
    assert f"tokenizer.ggml.tokens: [{counts['tokenizer.ggml.tokens']} strings]" in text


# ------------------------------------------------------------------------------------------ writing


def st_tensors():
    r = np.random.default_rng(11)
    return {
        "model.w": r.standard_normal((3, 5)).astype(np.float32),
        "b": r.standard_normal(7).astype(np.float16),
        "c": np.arange(10, dtype=np.int32).reshape(2, 5),
        "d": r.standard_normal((2, 2, 2)).astype(np.float64),
        "e": np.arange(-4, 4, dtype=np.int8),
        "bf": r.standard_normal((2, 4)).astype(ml_dtypes.bfloat16),
        "s": np.array(1.5, dtype=np.float32),
        "z": np.zeros((0, 3), dtype=np.float32),
    }


def data_order(path):
    """safetensors tensor names in data order (what mft lists, so what it writes)."""
    blob = Path(path).read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    h = json.loads(blob[8:8 + n])
    return sorted((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"])


def reference_gguf(path, tensors, order, arch="", kvs=(), alignment=None):
    w = gguf.GGUFWriter(str(path), arch)
    if alignment:
        w.add_custom_alignment(alignment)
    for k, t, v in kvs:
        w.add_key_value(k, v, t)
    for name in order:
        a = tensors[name]
        if a.dtype == ml_dtypes.bfloat16:
            w.add_tensor(name, a.view(np.uint16), raw_dtype=T.BF16)
        else:
            w.add_tensor(name, a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return Path(path).read_bytes()


def test_convert_safetensors_to_gguf_is_gguf_writer_bytes(tmp_path, run_mft):
    t = st_tensors()
    src = tmp_path / "x.safetensors"
    save_file(t, str(src), metadata={"format": "pt"})
    out = tmp_path / "y.gguf"
    run_mft("convert", src, out, check=0)
    ref = reference_gguf(tmp_path / "ref.gguf", t, data_order(src),
                         kvs=[("format", gguf.GGUFValueType.STRING, "pt")])
    assert out.read_bytes() == ref
    # and GGUFReader reads every tensor back bit for bit, with numpy shapes
    r = gguf.GGUFReader(str(out))
    for rt in r.tensors:
        a = t[rt.name]
        assert [int(d) for d in reversed(rt.shape)] == list(a.shape) or (a.ndim == 0 and len(rt.shape) == 0)
        assert rt.data.tobytes() == a.tobytes()


def test_convert_with_architecture_and_typed_meta(tmp_path, run_mft):
    t = st_tensors()
    src = tmp_path / "x.safetensors"
    save_file(t, str(src))
    out = tmp_path / "y.gguf"
    run_mft("convert", src, out, "--meta", "custom.n:UINT16=7", "--meta", "general.architecture=llama",
            "--meta", "custom.f:FLOAT32=0.1", "--meta", "custom.s=text:with=signs", "--meta",
            "custom.b:BOOL=true", "--meta", "custom.big:UINT64=18446744073709551615", check=0)
    V = gguf.GGUFValueType
    ref = reference_gguf(tmp_path / "ref.gguf", t, data_order(src), arch="llama",
                         kvs=[("custom.n", V.UINT16, 7), ("custom.f", V.FLOAT32, 0.1),
                              ("custom.s", V.STRING, "text:with=signs"), ("custom.b", V.BOOL, True),
                              ("custom.big", V.UINT64, 2 ** 64 - 1)])
    assert out.read_bytes() == ref


def test_gguf_source_keeps_its_key_values_exactly(gfiles, tmp_path, run_mft):
    # GGUF → safetensors cannot hold Q8_0; GGUF → GGUF keeps the key/values exactly as they are
    out = tmp_path / "q.gguf"
    run_mft("convert", gfiles["all"], out, "--select", "q8_0", check=0)
    r = gguf.GGUFReader(str(out))
    assert "general.quantization_version" not in r.fields
    res = run_mft("convert", gfiles["all"], tmp_path / "q.safetensors", check=2)
    assert re.search(r"safetensors cannot hold dtype Q\d_0", res.err)


@pytest.mark.parametrize("name", ["all", "align64", "align8", "no_tensors_padded", "noarch"])
def test_gguf_to_gguf_is_byte_identical(name, gfiles, tmp_path, run_mft):
    out = tmp_path / "copy.gguf"
    run_mft("convert", gfiles[name], out, check=0)
    assert out.read_bytes() == gfiles[name].read_bytes()


def test_gguf_to_gguf_keeps_every_key_of_vocab_files(shared_dir, tmp_path, run_mft):
    for fname in VOCAB:
        src = shared_dir / "corpora" / "llama.cpp" / "models" / fname
        out = tmp_path / fname
        run_mft("convert", src, out, check=0)
        a, b = gguf.GGUFReader(str(src)), gguf.GGUFReader(str(out))
        assert list(a.fields) == list(b.fields)
        for k in a.fields:
            assert a.fields[k].types == b.fields[k].types, k
            if not k.startswith("GGUF."):
                assert gu.reader_value(a.fields[k]) == gu.reader_value(b.fields[k]), k
        # gguf-py's layout: the source ends after its key/values, ours is padded to the alignment
        src_bytes = src.read_bytes()
        assert out.read_bytes() == src_bytes + b"\0" * gu.pad(len(src_bytes))


def test_gguf_to_gguf_with_dtype_f16(gfiles, tmp_path, run_mft):
    out = tmp_path / "f16.gguf"
    run_mft("convert", gfiles["all"], out, "--dtype", "F16", check=0)
    a, b = gguf.GGUFReader(str(gfiles["all"])), gguf.GGUFReader(str(out))
    assert [gu.reader_value(f) for k, f in a.fields.items() if not k.startswith("GGUF.")] == \
           [gu.reader_value(f) for k, f in b.fields.items() if not k.startswith("GGUF.")]
    assert [t.name for t in a.tensors] == [t.name for t in b.tensors]
    for ta, tb in zip(a.tensors, b.tensors):
        assert list(ta.shape) == list(tb.shape)
        if ta.tensor_type in (T.F32, T.F64):
            assert tb.tensor_type == T.F16
            assert np.array_equal(tb.data.view(np.uint16), ta.data.astype(np.float16).view(np.uint16))
        elif ta.tensor_type == T.BF16:
            assert tb.tensor_type == T.F16
            src = np.frombuffer(ta.data.tobytes(), np.uint16).view(ml_dtypes.bfloat16)
            assert tb.data.tobytes() == src.astype(np.float32).astype(np.float16).tobytes()
        else:  # F16, integers and quantized blocks: untouched
            assert tb.tensor_type == ta.tensor_type
            assert tb.data.tobytes() == ta.data.tobytes()


def test_safetensors_to_gguf_with_dtype_bf16(tmp_path, run_mft):
    t = st_tensors()
    del t["s"]  # GGUFReader cannot shape a 0-d BF16 tensor (quant_shape_to_byte_shape)
    src = tmp_path / "x.safetensors"
    save_file(t, str(src))
    out = tmp_path / "y.gguf"
    run_mft("convert", src, out, "--dtype", "BF16", check=0)
    r = gguf.GGUFReader(str(out))
    for rt in r.tensors:
        a = t[rt.name]
        if a.dtype.kind == "f" or a.dtype == ml_dtypes.bfloat16:
            assert rt.tensor_type == T.BF16
            assert bytes(rt.data) == a.astype(ml_dtypes.bfloat16).tobytes()
        else:
            assert rt.data.tobytes() == a.tobytes()


@pytest.mark.parametrize("case,pattern", [
    ("long_name", r'"a{64}".*63 bytes'),
    ("five_dims", r'"v5".*at most 4 dimensions'),
    ("u8", r'"u".*cannot hold dtype U8'),
    ("bool", r'"m".*cannot hold dtype BOOL'),
])
def test_gguf_writer_refuses_what_gguf_cannot_hold(case, pattern, tmp_path, run_mft):
    t = {"long_name": {"a" * 64: np.ones(2, np.float32)},
         "five_dims": {"v5": np.ones((1, 1, 1, 1, 2), np.float32)},
         "u8": {"u": np.ones(2, np.uint8)},
         "bool": {"m": np.ones(2, np.bool_)}}[case]
    src = tmp_path / "x.safetensors"
    save_file(t, str(src))
    res = run_mft("convert", src, tmp_path / "y.gguf", check=2)
    assert re.search(pattern, res.err), res.describe()
    assert not (tmp_path / "y.gguf").exists()
    assert sorted(os.listdir(tmp_path)) == ["x.safetensors"]


def test_gguf_writer_rename_makes_long_name_fit(tmp_path, run_mft):
    src = tmp_path / "x.safetensors"
    save_file({"a" * 64 + ".w": np.ones(2, np.float32)}, str(src))
    run_mft("convert", src, tmp_path / "y.gguf", "--rename", "a" * 64 + "=a", check=0)
    assert [t.name for t in gguf.GGUFReader(str(tmp_path / "y.gguf")).tensors] == ["a.w"]


@pytest.mark.parametrize("arg", ["k:UINT8=256", "k:INT8=-129", "k:UINT32=-1", "k:BOOL=yes", "k:FLOAT32=x",
                                 "=v", "novalue"])
def test_bad_meta_argument(arg, tmp_path, run_mft):
    src = tmp_path / "x.safetensors"
    save_file({"w": np.ones(2, np.float32)}, str(src))
    res = run_mft("convert", src, tmp_path / "y.gguf", "--meta", arg, check=2)
    assert res.out == "" and res.err.startswith("mft: ")
    assert not (tmp_path / "y.gguf").exists()


def test_gguf_alignment_must_be_uint32_power_of_two(tmp_path, run_mft):
    src = tmp_path / "x.safetensors"
    save_file({"w": np.ones(2, np.float32)}, str(src))
    res = run_mft("convert", src, tmp_path / "y.gguf", "--meta", "general.alignment:UINT32=48", check=2)
    assert "power of two" in res.err
    res = run_mft("convert", src, tmp_path / "y.gguf", "--meta", "general.alignment=64", check=2)
    assert "UINT32" in res.err
    run_mft("convert", src, tmp_path / "y.gguf", "--meta", "general.alignment:UINT32=64", check=0)
    ref = reference_gguf(tmp_path / "ref.gguf", {"w": np.ones(2, np.float32)}, ["w"], alignment=64)
    assert (tmp_path / "y.gguf").read_bytes() == ref


# ------------------------------------------------------------------------------------------ casts


def f32_specials():
    bits = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF,
            0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x33800000, 0x33800001, 0x337FFFFF,
            0x38800000, 0x387FE000, 0x387FF000, 0x477FE000, 0x477FF000, 0x477FEFFF, 0x47800000, 0x3F808000,
            0x3F818000, 0x3F80C000, 0x3F817FFF, 0x3F800001, 0x3F7FFFFF, 0x7F7F8000, 0x7F7FFFFF, 0x3FC00000]
    a = np.array(bits, np.uint32).view(np.float32)
    r = np.random.default_rng(3)
    rand = np.concatenate([r.standard_normal(3000).astype(np.float32),
                           (r.standard_normal(3000) * 1e-5).astype(np.float32),
                           (r.standard_normal(3000) * 7e4).astype(np.float32),
                           r.integers(0, 2 ** 32, 3000, dtype=np.uint64).astype(np.uint32).view(np.float32)])
    return np.concatenate([a, rand])


def cast_through(run_mft, tmp_path, arr, dtype, fmt):
    src = tmp_path / "src.safetensors"
    save_file({"x": arr}, str(src))
    out = tmp_path / f"out.{fmt}"
    run_mft("convert", src, out, "--dtype", dtype, "--force", check=0)
    if fmt == "safetensors":
        return load_file(str(out))["x"]
    rt = gguf.GGUFReader(str(out)).tensors[0]
    return rt.data.tobytes()


@pytest.fixture(autouse=True)
def _quiet_numpy_casts():
    """Overflow to Inf and NaN casts are what these tests check: no warnings for them."""
    with np.errstate(over="ignore", invalid="ignore"):
        yield


def same_bits(got, want):
    got = np.frombuffer(got, want.dtype) if isinstance(got, bytes) else got
    assert got.dtype == want.dtype
    g = got.view(np.uint16 if want.itemsize == 2 else np.uint32)
    w = want.view(np.uint16 if want.itemsize == 2 else np.uint32)
    bad = np.nonzero(g != w)[0]
    assert bad.size == 0, f"{bad.size} differ, e.g. index {bad[0]}: got {g[bad[0]]:#x}, want {w[bad[0]]:#x}"


def quieted(a):
    """Signalling NaNs made quiet: mft quiets them (as torch and the F16C instructions do) where numpy's
    software path keeps them signalling; quiet NaNs keep their sign and top payload bits as in numpy."""
    b = a.view(np.uint32).copy()
    b[((b & 0x7F800000) == 0x7F800000) & ((b & 0x007FFFFF) != 0)] |= 0x00400000
    return b.view(np.float32)


@pytest.mark.parametrize("fmt", ["safetensors", "gguf"])
def test_cast_f32_to_f16_like_numpy(fmt, tmp_path, run_mft):
    a = f32_specials()
    same_bits(cast_through(run_mft, tmp_path, a, "F16", fmt), quieted(a).astype(np.float16))


@pytest.mark.parametrize("fmt", ["safetensors", "gguf"])
def test_cast_f32_to_bf16_like_ml_dtypes(fmt, tmp_path, run_mft):
    a = f32_specials()
    same_bits(cast_through(run_mft, tmp_path, a, "BF16", fmt), a.astype(ml_dtypes.bfloat16))


def test_cast_every_f16_to_f32(tmp_path, run_mft):
    a = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    same_bits(cast_through(run_mft, tmp_path, a, "F32", "safetensors"), a.astype(np.float32))


def test_cast_every_bf16_to_f32(tmp_path, run_mft):
    a = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(ml_dtypes.bfloat16)
    same_bits(cast_through(run_mft, tmp_path, a, "F32", "gguf"), a.astype(np.float32))


def test_cast_f64_to_f16_rounds_once(tmp_path, run_mft):
    # doubles just off an F16 tie: rounding through F32 first would land on the tie
    ties = np.array([1.0 + 2 ** -11 + 2 ** -40, 1.0 + 2 ** -11 - 2 ** -40, 2049.0, 2051.0, 65519.99, 65520.0,
                     5.960464477539063e-08, 2.98023223876953125e-08, 2.98023224e-08, -0.0, np.inf, np.nan])
    same_bits(cast_through(run_mft, tmp_path, ties, "F16", "safetensors"), ties.astype(np.float16))


def test_cast_large_tensor_streams_in_chunks(tmp_path, run_mft):
    # more than one conversion step (2^18 elements) and an odd tail
    a = np.random.default_rng(9).standard_normal(3 * 2 ** 18 + 5).astype(np.float32)
    same_bits(cast_through(run_mft, tmp_path, a, "BF16", "safetensors"), a.astype(ml_dtypes.bfloat16))


def test_cast_leaves_integers_and_same_dtype(tmp_path, run_mft):
    src = tmp_path / "x.safetensors"
    t = {"i": np.arange(5, dtype=np.int64), "h": np.ones(3, np.float16), "b": np.array([True, False])}
    save_file(t, str(src))
    out = tmp_path / "y.safetensors"
    run_mft("convert", src, out, "--dtype", "F16", check=0)
    back = load_file(str(out))
    for k, v in t.items():
        assert back[k].dtype == v.dtype and np.array_equal(back[k], v)


@pytest.mark.parametrize("dt", ["I32", "Q8_0", "C64", "F6_E2M3", "nope"])
def test_cast_refuses_non_float_targets(dt, tmp_path, run_mft):
    src = tmp_path / "x.safetensors"
    save_file({"w": np.ones(2, np.float32)}, str(src))
    res = run_mft("convert", src, tmp_path / "y.safetensors", "--dtype", dt, check=2)
    assert "--dtype" in res.err


# ------------------------------------------------------------------------------------------ malformed

S, U32, ARR, BOOL_ = gu.STRING, gu.UINT32, gu.ARRAY, gu.BOOL
ARCH = ("general.architecture", S, "x")
T4 = ("t", [4], 0, 0)
D16 = bytes(16)


def nested_arrays(depth):
    v = (gu.UINT8, [1])
    for _ in range(depth):
        v = (ARR, [v])
    return v


def raw_kv(key, type_id, payload):
    return gu.s(key) + struct.pack("<I", type_id) + payload


MALFORMED = {
    "bad_magic": (gu.build([ARCH], [T4], D16, magic=b"GGUX"), r"bad magic"),
    "too_short": (b"GGU", r"too short"),
    "truncated_header": (b"GGUF\x03\x00\x00\x00\x00\x00", r"truncated"),
    "version_0": (gu.build([ARCH], [T4], D16, version=0), r"bad GGUF version 0"),
    "version_1": (gu.build([ARCH], [T4], D16, version=1), r"version 1 is no longer supported"),
    "version_4": (gu.build([ARCH], [T4], D16, version=4), r"version 4 is newer"),
    "version_big_endian": (gu.build([ARCH], [T4], D16, version=0x03000000), r"big-endian"),
    "n_tensors_over_limit": (gu.build([ARCH], [T4], D16, n_tensors=2 ** 40), r"tensor count \d+ exceeds the limit"),
    "n_tensors_cannot_fit": (gu.build([ARCH], [T4], D16, n_tensors=1000), r"tensor count 1000 cannot fit"),
    "kv_count_huge": (gu.build([ARCH], [T4], D16, n_kv=2 ** 62), r"key/value count \d+ cannot fit"),
    "key_length_past_eof": (gu.build(raw_kvs=struct.pack("<Q", 1000) + b"abc" + bytes(20), n_kv=1),
                            r"key length 1000 runs past end of file"),
    "key_length_over_limit": (gu.build(raw_kvs=struct.pack("<Q", 2 ** 40) + bytes(20), n_kv=1),
                              r"key of \d+ bytes exceeds the limit"),
    "string_length_past_eof": (gu.build(raw_kvs=raw_kv("k", S, struct.pack("<Q", 500) + b"xy"), n_kv=1),
                               r"string value length 500 runs past end of file"),
    "string_length_over_limit": (gu.build(raw_kvs=raw_kv("k", S, struct.pack("<Q", 2 ** 31) + b"xy"), n_kv=1),
                                 r"string value of \d+ bytes exceeds the limit"),
    "empty_key": (gu.build([("", U32, 1)]), r"key number 0 is empty"),
    "key_with_nul": (gu.build([("a\0b", U32, 1)]), r"NUL"),
    "duplicate_key": (gu.build([ARCH, ("k", U32, 1), ("k", U32, 2)]), r'duplicate key "k"'),
    "unknown_value_type": (gu.build(raw_kvs=raw_kv("k", 13, bytes(8)), n_kv=1), r"unknown value type 13"),
    "unknown_array_type": (gu.build(raw_kvs=raw_kv("k", ARR, struct.pack("<IQ", 99, 1) + bytes(8)), n_kv=1),
                           r"unknown array element type 99"),
    "array_past_eof": (gu.build(raw_kvs=raw_kv("k", ARR, struct.pack("<IQ", U32, 10 ** 6) + bytes(8)), n_kv=1),
                       r"array of 1000000 UINT32 items runs past end of file"),
    "array_over_item_limit": (gu.build(raw_kvs=raw_kv("k", ARR, struct.pack("<IQ", gu.UINT8, 2 ** 40)), n_kv=1),
                              r"exceeds the limit of \d+ array items"),
    "array_of_arrays_bomb": (gu.build([("k", ARR, nested_arrays(100))]), r"nested deeper than 64"),
    "array_of_empty_arrays_past_eof": (
        gu.build(raw_kvs=raw_kv("k", ARR, struct.pack("<IQ", ARR, 2 ** 23) + struct.pack("<IQ", U32, 0) * 3),
                 n_kv=1), r"array of 8388608 ARRAY items runs past end of file"),
    "bool_not_0_or_1": (gu.build([("k", BOOL_, 2)]), r"BOOL value 2 is not 0 or 1"),
    "alignment_not_uint32": (gu.build([("general.alignment", gu.INT32, 32)], [T4], D16),
                             r"general.alignment must be a UINT32, not INT32"),
    "alignment_not_power_of_two": (gu.build([("general.alignment", U32, 48)], [T4], D16, align=48),
                                   r"general.alignment 48 is not a non-zero power of two"),
    "alignment_zero": (gu.build([("general.alignment", U32, 0)], [T4], D16), r"alignment 0 is not a non-zero"),
    "tensor_name_too_long": (gu.build([ARCH], [("n" * 64, [4], 0, 0)], D16), r"tensor name .* too long: 64 bytes"),
    "tensor_name_with_nul": (gu.build([ARCH], [("a\0b", [4], 0, 0)], D16), r"NUL"),
    "n_dims_over_4": (gu.build([ARCH], [("t", [1, 1, 1, 1, 4], 0, 0)], D16), r'"t" has 5 dimensions'),
    "ne_negative": (gu.build([ARCH], [("t", [2 ** 63], 0, 0)], D16), r"invalid number of elements"),
    "ne_product_overflows": (gu.build([ARCH], [("t", [2 ** 32, 2 ** 32], 0, 0)], D16), r"overflows"),
    "ne_product_over_int64": (gu.build([ARCH], [("t", [2 ** 31, 2 ** 31, 2], 2, 0)], D16),
                              r"more than INT64_MAX elements"),
    "byte_size_overflows": (gu.build([ARCH], [("t", [2 ** 31, 2 ** 31, 2], 24, 0)], D16),
                            r"byte size that overflows"),
    "unknown_ggml_type": (gu.build([ARCH], [("t", [4], 99, 0)], D16), r'"t" has unknown ggml type 99'),
    "removed_ggml_type": (gu.build([ARCH], [("t", [4], 4, 0)], D16), r"unknown ggml type 4"),
    "ne0_not_block_multiple": (gu.build([ARCH], [("t", [16, 2], 8, 0)], bytes(64)),
                               r"Q8_0 has 16 elements per row, not a multiple of the block size 32"),
    "offset_not_aligned": (gu.build([ARCH], [("t", [4], 0, 8)], bytes(64)), r"offset 8 is not a multiple"),
    "offset_past_eof": (gu.build([ARCH], [("t", [4], 0, 3200)], D16), r"runs past end of file"),
    "data_truncated": (gu.build([ARCH], [("t", [64], 0, 0)], D16), r"runs past end of file"),
    "data_section_past_eof": (gu.build([ARCH], [("t", [0], 0, 0)], pad_header=False), r"data section"),
    "overlapping_tensors": (gu.build([ARCH], [("a", [8], 0, 0), ("b", [8], 0, 0)], bytes(32)),
                            r'"b" .*overlaps tensor "a"'),
    "overlapping_tensors_partial": (gu.build([ARCH], [("a", [16], 0, 0), ("b", [8], 0, 32)], bytes(96)),
                                    r'"b" .*overlaps tensor "a"'),
    "duplicate_tensor_name": (gu.build([ARCH], [("t", [4], 0, 0), ("t", [4], 0, 32)], bytes(48)),
                              r'duplicate tensor name "t"'),
    "tensor_info_truncated": (gu.build([ARCH], raw_tensors=gu.s("t") + struct.pack("<I", 1), n_tensors=1,
                                       pad_header=False), r"cannot fit|truncated"),
}


@pytest.fixture
def bad_gguf(request, tmp_path):
    blob, pattern = MALFORMED[request.param]
    path = tmp_path / f"{request.param}.gguf"
    path.write_bytes(blob)
    return path, pattern


def check_error(res, path, pattern):
    assert res.rc == 2, res.describe()
    assert res.out == "", res.describe()
    lines = res.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mft: {path}"), res.describe()
    assert re.search(pattern, lines[0], re.I), f"/{pattern}/ not in: {lines[0]}"
    assert re.search(r"\(at byte \d+\)$", lines[0]), lines[0]


@pytest.mark.parametrize("bad_gguf", list(MALFORMED), indirect=True)
def test_malformed(bad_gguf, run_mft):
    path, pattern = bad_gguf
    check_error(run_mft("ls", path, "--json"), path, pattern)


def test_reference_reader_rejects_the_same(tmp_path):
    """The cases gguf-py's reader also checks (it reads lazily, so only what it validates at open)."""
    for name in ["bad_magic", "version_1", "version_4", "duplicate_key", "alignment_not_uint32",
                 "alignment_not_power_of_two", "duplicate_tensor_name", "unknown_ggml_type"]:
        p = tmp_path / f"{name}.gguf"
        p.write_bytes(MALFORMED[name][0])
        with pytest.raises(Exception):
            gguf.GGUFReader(str(p))


@pytest.mark.parametrize("bad_gguf", ["data_truncated", "overlapping_tensors", "unknown_value_type"],
                         indirect=True)
def test_malformed_convert_leaves_nothing(bad_gguf, tmp_path, run_mft):
    path, pattern = bad_gguf
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    check_error(run_mft("convert", path, out_dir / "y.gguf"), path, pattern)
    assert os.listdir(out_dir) == []


ACCEPTED = {
    # n_dims 0 (ggml: ne all 1) is a scalar; ne 0 is an empty tensor (ggml allows both)
    "scalar": (gu.build([ARCH], [("s", [], 0, 0)], bytes(4)), [("s", "F32", [], 4)]),
    "zero_elements": (gu.build([ARCH], [("z", [0, 3], 0, 0)], b""), [("z", "F32", [3, 0], 0)]),
    # data not in info order, with a gap: not ggml's canonical layout, but aligned and disjoint
    "out_of_order": (gu.build([ARCH], [("a", [4], 0, 64), ("b", [4], 0, 0)], bytes(96)),
                     [("a", "F32", [4], 16), ("b", "F32", [4], 16)]),
    "ends_after_kvs": (gu.build([ARCH, ("e", ARR, (U32, []))], pad_header=False), []),
    "nested_array": (gu.build([("k", ARR, nested_arrays(3))]), []),
    "block_type_rows": (gu.build([ARCH], [("q", [64, 3], 2, 0)], bytes(6 * 18)), [("q", "Q4_0", [3, 64], 108)]),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_accepted_edge_cases(case, tmp_path, run_mft):
    blob, want = ACCEPTED[case]
    p = tmp_path / f"{case}.gguf"
    p.write_bytes(blob)
    got = run_mft("ls", p, "--json", "--hash", check=0).json()["tensors"]
    assert [(t["name"], t["dtype"], t["shape"], t["nbytes"]) for t in got] == want


def test_empty_and_nested_arrays_round_trip(tmp_path, run_mft):
    p = tmp_path / "n.gguf"
    p.write_bytes(gu.build([("e", ARR, (gu.FLOAT32, [])), ("n", ARR, nested_arrays(3)),
                            ("ee", ARR, (ARR, []))]))
    out = tmp_path / "o.gguf"
    run_mft("convert", p, out, check=0)
    assert out.read_bytes() == p.read_bytes()
    meta = run_mft("info", p, "--json", check=0).json()["metadata"]
    assert meta == {"e": [], "n": [[[[1]]]], "ee": []}


def test_pickle_values_become_typed_key_values(tmp_path, run_mft):
    """DESIGN §4: non-tensor values into GGUF: bool BOOL, int INT64 (UINT64 above), float FLOAT64, str
    STRING, homogeneous lists ARRAY; the rest named on stderr, never dropped silently."""
    import pickle
    d = {"epoch": 3, "lr": 0.1, "name": "x", "flags": [1, 2, 3], "big": 2 ** 64 - 1, "ok": True,
         "nested": {"a": [1.5, 2.5]}, "tup": (1, 2), "deep": [[1], [2, 3]],
         "huge": 2 ** 70, "none": None, "mixed": [1, "a"], "empty": []}
    src = tmp_path / "m.pkl"
    src.write_bytes(pickle.dumps(d, protocol=2))
    out = tmp_path / "m.gguf"
    res = run_mft("convert", src, out, "--keep-metadata", check=0)
    for name in ("huge", "none", "mixed", "empty"):
        assert re.search(rf'"{name}"', res.err), res.describe()
    r = gguf.GGUFReader(str(out))
    V = gguf.GGUFValueType
    got = {k: (f.types, gu.reader_value(f)) for k, f in r.fields.items() if not k.startswith("GGUF.")}
    assert got == {
        "epoch": ([V.INT64], 3), "lr": ([V.FLOAT64], 0.1), "name": ([V.STRING], "x"),
        "flags": ([V.ARRAY, V.INT64], [1, 2, 3]), "big": ([V.UINT64], 2 ** 64 - 1), "ok": ([V.BOOL], True),
        "nested.a": ([V.ARRAY, V.FLOAT64], [1.5, 2.5]), "tup": ([V.ARRAY, V.INT64], [1, 2]),
        "deep": ([V.ARRAY, V.ARRAY, V.INT64], [[1], [2, 3]]),
    }


def test_cast_into_npz(tmp_path, run_mft):
    """--dtype works for every output format: the cast streams through the common writer path."""
    a = f32_specials()[:4096]
    src = tmp_path / "x.safetensors"
    save_file({"x": a, "i": np.arange(3, dtype=np.int16)}, str(src))
    out = tmp_path / "y.npz"
    run_mft("convert", src, out, "--dtype", "F16", check=0)
    z = np.load(out)
    same_bits(z["x"], quieted(a).astype(np.float16))
    assert z["i"].dtype == np.int16 and list(z["i"]) == [0, 1, 2]
