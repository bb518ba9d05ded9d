"""The PyTorch writer (issue 4): every .pth mft writes is loaded by real torch with weights_only=True.

Oracles:
* Debian's torch 1.13 (/usr/bin/python3), always: `torch.load(path, weights_only=True)` through
  tests/torch_load_check.py.  1.13's weights_only unpickler cannot read a Python float at all (no BINFLOAT:
  pytorch#94670, fixed in 2.0), so a file holding floats is loaded there by the genuine 1.13 unpickler with
  exactly that opcode added; everything else — every other opcode, every global — still passes 1.13's
  allow-list.  What 1.13 has no global for (`_rebuild_tensor_v3` dtypes, quantized tensors, bytes, sets,
  devices) must be refused by 1.13 naming exactly such a global, and is checked under torch 2.x.
* torch 2.x, when its venv exists (scripts/venv-torch.sh; never built by these tests): weights_only=True
  and mmap=True, with torch's own layout cross-check (calculate_storage_offsets +
  TORCH_SERIALIZATION_DEBUG=1, which compares miniz's computed data offsets with the real ones).  Only
  that part is skipped, with the reason, when the venv is absent; `make test-torch2` builds the venv
  and runs this file with MFT_REQUIRE_TORCH2=1, which turns those skips into failures.
* Tensors are compared bit for bit: sha256 of the row-major bytes computed by torch (floats viewed as
  bytes, so NaN payloads count) against mft's listing of the source and the fixture manifests that torch
  itself wrote.  Values are compared as torch loads them, floats by their bit patterns.
* The container: `python -m zipfile -t`, `unzip -t`, and the layout torch writes (record order, 64-byte
  aligned data, FB padding, descriptors, zip64 end records).
"""

import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import st_util as su
import torch_util as tu

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
CHECK = TESTS_DIR / "torch_load_check.py"
DEBIAN = tu.DEBIAN_PYTHON

# torch dtype names -> mft dtype codes
CODES = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
         "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL",
         "complex64": "C64", "complex128": "C128", "complex32": "C32", "uint16": "U16", "uint32": "U32",
         "uint64": "U64", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
         "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0",
         "qint8": "QI8", "quint8": "QU8", "qint32": "QI32", "float4_e2m1fn_x2": "F4"}

# Globals torch 1.13's weights_only loader lacks (torch 2.x has them): a 1.13 refusal must name one.
TORCH2_ONLY_GLOBALS = {"torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_qtensor",
                       "_codecs.encode", "builtins.set", "__builtin__.set", "torch.device",
                       "builtins.complex", "__builtin__.complex"}

CLASSIC = ["BOOL", "U8", "I8", "I16", "I32", "I64", "F16", "BF16", "F32", "F64", "C64"]
NEW = ["U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F8_E8M0", "F4"]


# ---- torch runners ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def torch2_python():
    """The torch 2.x venv's python, or None when the venv does not exist (these tests never build it:
    `bash scripts/venv-torch.sh` does, a 4 GB download)."""
    env = os.environ.get("MFT_TORCH2_PYTHON")
    cache = Path(os.environ.get("MFT_CACHE", Path.home() / ".cache" / "mft"))
    py = Path(env) if env else cache / "venv-torch" / "bin" / "python"
    if not py.is_file():
        return None
    probe = subprocess.run([str(py), "-c", "import torch; print(torch.__version__)"],
                           capture_output=True, text=True, timeout=300)
    if probe.returncode != 0 or int(probe.stdout.strip().split(".")[0]) < 2:
        return None
    return str(py)


def need_torch2(py):
    if py is None and os.environ.get("MFT_REQUIRE_TORCH2"):
        pytest.fail("MFT_REQUIRE_TORCH2 is set but the torch 2.x venv is absent "
                    "(`bash scripts/venv-torch.sh` builds it)", pytrace=False)
    if py is None:
        pytest.skip("torch 2.x venv absent (~/.cache/mft/venv-torch; build it with "
                    "`bash scripts/venv-torch.sh`): the weights_only + mmap=True load under torch 2.x "
                    "is skipped; the torch 1.13 checks ran")


@pytest.fixture(scope="session")
def debian_torch():
    probe = subprocess.run([DEBIAN, "-c", "import torch; print(torch.__version__)"],
                           capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        pytest.fail(f"Debian's torch is not importable by {DEBIAN} (scripts/install-deps.sh installs "
                    f"python3-torch):\n{probe.stderr[-2000:]}", pytrace=False)
    assert probe.stdout.startswith("1.13"), probe.stdout
    return DEBIAN


def torch_load(python, jobs, tmp_path, torch2=False):
    """Run torch_load_check over many files in one process; one result per job."""
    spec = tmp_path / f"jobs-{random.getrandbits(48):x}.json"
    spec.write_text(json.dumps([{k: str(v) if isinstance(v, Path) else v for k, v in j.items()}
                                for j in jobs]))
    env = dict(os.environ)
    if torch2:
        env["TORCH_SERIALIZATION_DEBUG"] = "1"  # torch cross-checks its computed offsets
    res = subprocess.run([python, str(CHECK), "--jobs", str(spec)], capture_output=True, text=True,
                         timeout=900, env=env)
    assert res.returncode == 0, f"torch_load_check failed under {python}:\n{res.stderr[-4000:]}"
    return json.loads(res.stdout)


def load113(paths, tmp_path, expect=None, unordered=False):
    jobs = [{"out": p, "binfloat_patch": True, "unordered": unordered,
             **({"expect": expect[i]} if expect else {})} for i, p in enumerate(paths)]
    return torch_load(DEBIAN, jobs, tmp_path)


def load2(py, paths, tmp_path, expect=None, unordered=False):
    jobs = [{"out": p, "mmap": True, "calc_offsets": True, "unordered": unordered,
             **({"expect": expect[i]} if expect else {})} for i, p in enumerate(paths)]
    return torch_load(py, jobs, tmp_path, torch2=True)


def refused_for_torch2_global(result):
    """A 1.13 refusal naming a global 1.13 lacks (and only then)."""
    m = re.search(r"Unsupported class (\S+)", result.get("error", ""))
    return bool(m) and m.group(1) in TORCH2_ONLY_GLOBALS


def torch_listing(result, stem=None):
    """{path: (code, shape, sha256)} of what torch loaded (F4 as mft lists it)."""
    out = {}
    for path, t in result["tensors"].items():
        code, shape = CODES.get(t["dtype"], t["dtype"]), list(t["shape"])
        if code == "F4" and shape:
            shape[-1] *= 2
        out[path if path else stem] = (code, shape, t["sha256"])
    return out


def mft_listing(run_mft, path):
    doc = run_mft("ls", path, "--json", "--hash", check=0).json()
    return {t["name"]: (t["dtype"], t["shape"], t.get("sha256")) for t in doc["tensors"]}


# ---- the container ------------------------------------------------------------------------------

def check_zip(path, stem, nstorages=None):
    """The archive passes zipfile/unzip and is laid out as torch.save lays it out."""
    res = subprocess.run([sys.executable, "-m", "zipfile", "-t", str(path)], capture_output=True, text=True)
    assert res.returncode == 0 and "Done testing" in res.stdout, res.stdout + res.stderr
    res = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert res.returncode == 0 and "No errors detected" in res.stdout, res.stdout + res.stderr
    raw = Path(path).read_bytes()
    z = zipfile.ZipFile(path)
    names = z.namelist()
    n = len([x for x in names if x.startswith(f"{stem}/data/")])
    if nstorages is not None:
        assert n == nstorages
    want = ([f"{stem}/data.pkl", f"{stem}/.format_version", f"{stem}/.storage_alignment", f"{stem}/byteorder"]
            + [f"{stem}/data/{k}" for k in range(n)] + [f"{stem}/version", f"{stem}/.data/serialization_id"])
    assert names == want
    assert z.read(f"{stem}/version") == b"3\n"
    assert z.read(f"{stem}/byteorder") == b"little"
    assert z.read(f"{stem}/.format_version") == b"1"
    assert z.read(f"{stem}/.storage_alignment") == b"64"
    assert re.fullmatch(rb"\d{40}", z.read(f"{stem}/.data/serialization_id"))
    pkl = z.read(f"{stem}/data.pkl")
    assert pkl[:2] == b"\x80\x02" and pkl[-1:] == b"."
    prev_end = None
    for info in z.infolist():
        o = info.header_offset
        sig, ver, flags, method, tm, dt, crc, csize, usize, nlen, xlen = struct.unpack("<IHHHHHIIIHH", raw[o:o + 30])
        # bit 3 (data descriptor) on every non-empty member, as miniz sets it; bit 11 (UTF-8) always
        assert sig == 0x04034B50 and ver == 0 and method == 0 and (tm, dt) == (0, 0)
        assert flags == (0x0808 if info.file_size else 0x0800), (info.filename, hex(flags))
        assert (crc, csize, usize) == (0, 0, 0) or info.file_size >= 0xFFFFFFFF
        extra = raw[o + 30 + nlen:o + 30 + nlen + xlen]
        fb = extra.find(b"FB")
        assert fb >= 0 and set(extra[fb + 4:]) <= {ord("Z")}, extra
        data = o + 30 + nlen + xlen
        assert data % 64 == 0, (info.filename, data)
        if prev_end is not None:
            assert o == prev_end, "records are contiguous (torch's offset calculation relies on it)"
        end = data + info.file_size
        if info.file_size:
            assert raw[end:end + 4] == b"PK\x07\x08"
            assert struct.unpack("<I", raw[end + 4:end + 8])[0] == info.CRC
            end += 24 if info.file_size >= 0xFFFFFFFF or o >= 0xFFFFFFFF else 16
        prev_end = end
        assert info.compress_type == zipfile.ZIP_STORED and info.extra == b""
    assert raw.rfind(b"PK\x06\x06") > 0 and raw.rfind(b"PK\x06\x07") > 0, "zip64 end records"


# ---- safetensors / npz / GGUF -> .pth -------------------------------------------------------------------

def tensors_file(tmp_path, codes, name):
    tensors = {}
    for i, code in enumerate(codes):
        shape = (3, 4) if code != "F4" else (2, 8)
        tensors[f"layer.{i}.{code.lower()}"] = su.make_tensor(code, shape, seed=i)
    if "F32" in codes:
        tensors["scalar"] = su.from_array(np.array(2.5, np.float32))
        tensors["empty"] = su.from_array(np.zeros((0, 3), np.float32))
    return su.write_ref(tmp_path / name, tensors, metadata={"format": "pt", "note": "x"})


def test_safetensors_to_pth_classic_dtypes(tmp_path, run_mft, debian_torch, torch2_python):
    src = tensors_file(tmp_path, CLASSIC, "classic.safetensors")
    out = tmp_path / "classic.pth"
    res = run_mft("convert", src, out, check=0)
    assert 'metadata "format" not carried over' in res.err and 'metadata "note"' in res.err
    want = mft_listing(run_mft, src)
    assert mft_listing(run_mft, out) == want
    check_zip(out, "classic", nstorages=len(want))
    (r,) = load113([out], tmp_path)
    assert "error" not in r, r.get("error")
    assert not r["binfloat_patch"]
    assert torch_listing(r) == want
    assert list(r["tree"]) == ["OrderedDict"], "a state_dict is an OrderedDict"
    assert [k for k, _ in r["tree"]["OrderedDict"]] == list(want)
    assert r["shared"] == []
    need_torch2(torch2_python)
    (r2,) = load2(torch2_python, [out], tmp_path)
    assert "error" not in r2, r2.get("error")
    assert torch_listing(r2) == want


def test_safetensors_to_pth_new_dtypes(tmp_path, run_mft, debian_torch, torch2_python):
    src = tensors_file(tmp_path, NEW, "new.safetensors")
    out = tmp_path / "new.pth"
    run_mft("convert", src, out, check=0)
    want = mft_listing(run_mft, src)
    assert mft_listing(run_mft, out) == want
    check_zip(out, "new", nstorages=len(want))
    (r,) = load113([out], tmp_path)
    assert refused_for_torch2_global(r), r
    need_torch2(torch2_python)
    (r2,) = load2(torch2_python, [out], tmp_path)
    assert "error" not in r2, r2.get("error")
    assert torch_listing(r2) == want


def test_npz_and_gguf_to_pth(tmp_path, run_mft, debian_torch):
    import gguf

    npz = tmp_path / "w.npz"
    np.savez(npz, a=np.arange(12, dtype=np.float32).reshape(3, 4), b=np.array([1, -2], np.int64),
             c=np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)))
    gpath = tmp_path / "m.gguf"
    w = gguf.GGUFWriter(str(gpath), "llama")
    w.add_tensor("tok.weight", np.arange(8, dtype=np.float32).reshape(2, 4))
    w.add_tensor("h", np.array([1.5, -2.0], np.float16))
    w.add_tensor("i", np.arange(-3, 3, dtype=np.int8))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    outs = []
    for src in (npz, gpath):
        out = tmp_path / (src.stem + ".pth")
        res = run_mft("convert", src, out, check=0)
        if src is gpath:
            assert "general.architecture" in res.err, "GGUF key/values are named on stderr"
        assert mft_listing(run_mft, out) == mft_listing(run_mft, src)
        check_zip(out, src.stem)
        outs.append(out)
    for r, src in zip(load113(outs, tmp_path), (npz, gpath)):
        assert "error" not in r, r.get("error")
        assert torch_listing(r) == mft_listing(run_mft, src)


def test_gguf_block_types_and_sparse_are_refused(tmp_path, run_mft):
    import gguf

    gpath = tmp_path / "q.gguf"
    w = gguf.GGUFWriter(str(gpath), "llama")
    x = np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32)
    w.add_tensor("ok", x)
    w.add_tensor("blk.q8", gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q8_0),
                 raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    out = tmp_path / "q.pth"
    res = run_mft("convert", gpath, out, check=2)
    assert "blk.q8" in res.err and "Q8_0" in res.err
    assert not out.exists()
    sparse = tu.TORCH2_DIR / "sparse.pt"
    res = run_mft("convert", sparse, tmp_path / "s.pth", check=2)
    assert "sparse" in res.err and not (tmp_path / "s.pth").exists()
    assert os.listdir(tmp_path) == ["q.gguf"]


# ---- every PyTorch fixture -> .pth -------------------------------------------------------------------------

MANIFEST2 = tu.torch2_manifest()
FILES = [e["file"] for e in MANIFEST2["files"]] if MANIFEST2 else []
CASES = ([pytest.param("torch113", f, id=f"torch113-{f}") for f in FILES if f not in tu.TORCH2_ONLY]
         + [pytest.param("torch2", f, id=f"torch2-{f}") for f in FILES])
REFUSED = {"sparse.pt"}  # no writer for sparse layouts yet: a clear error


@pytest.fixture(scope="session")
def converted(torch113_fixtures, tmp_path_factory, mft_bin, torch2_python):
    """Every fixture of both sets converted to .pth (same stem), then loaded by each torch in one
    process: {(which, file): {"out", "rc", "err", "t113", "t2"}}."""
    d113, _ = torch113_fixtures
    dirs = {"torch113": Path(d113), "torch2": tu.TORCH2_DIR}
    base = tmp_path_factory.mktemp("torch_write_fixtures")
    res = {}
    for p in CASES:
        which, name = p.values
        src = dirs[which] / name
        if not src.exists():
            continue
        out = base / which / (Path(name).stem + ".pth")
        out.parent.mkdir(exist_ok=True)
        r = subprocess.run([mft_bin, "convert", str(src), str(out)], capture_output=True, text=True,
                           timeout=300)
        res[(which, name)] = {"src": src, "out": out, "rc": r.returncode, "err": r.stderr}
    ok = [k for k, v in res.items() if v["rc"] == 0]
    outs = [res[k]["out"] for k in ok]
    for k, r in zip(ok, load113(outs, base)):
        res[k]["t113"] = r
    if torch2_python:
        for k, r in zip(ok, load2(torch2_python, outs, base)):
            res[k]["t2"] = r
    return res


@pytest.mark.parametrize("which,name", CASES)
def test_fixture_to_pth(which, name, converted, torch113_fixtures, run_mft):
    d113, m113 = torch113_fixtures
    entries = {"torch113": {e["file"]: e for e in m113["files"]},
               "torch2": {e["file"]: e for e in MANIFEST2["files"]}}[which]
    if (which, name) not in converted:
        pytest.fail(f"{which}/{name} was not written by the fixture generator", pytrace=False)
    c = converted[(which, name)]
    if name in REFUSED:
        assert c["rc"] == 2 and "cannot be written" in c["err"], c["err"]
        assert not c["out"].exists()
        return
    assert c["rc"] == 0, c["err"]
    assert "Sanitizer" not in c["err"] and "runtime error" not in c["err"]
    out, stem = c["out"], c["out"].stem
    check_zip(out, stem)
    # the manifest (written by torch) is the oracle for every dense tensor, by path
    want = {t["name"]: (t["dtype"], t["shape"], t["sha256"]) for t in entries[name]["tensors"]
            if "kind" not in t}
    got = mft_listing(run_mft, out)
    assert got == want or {k: v for k, v in got.items() if k in want} == want, \
        f"listing differs: {sorted(set(got) ^ set(want))[:10]}"
    # values: what mft shows of the copy is what it shows of the source, unless a note says why not
    notes = [line for line in c["err"].splitlines() if "weights_only=True) refuses" in line]
    if not notes:
        assert run_mft("show", out, "--json", check=0).json() == \
               run_mft("show", c["src"], "--json", check=0).json()
    # torch's side has no "#k": leave out the paths that repeat
    plain = {k: v for k, v in want.items() if "#" not in k and f"{k}#1" not in want}
    r = c["t113"]
    if "error" in r:
        assert refused_for_torch2_global(r), r["error"]
    else:
        assert {k: v for k, v in torch_listing(r, stem).items() if k in plain} == plain
        assert set(plain) <= set(torch_listing(r, stem))


@pytest.mark.parametrize("which,name", CASES)
def test_fixture_to_pth_torch2(which, name, converted, torch113_fixtures, torch2_python):
    """The same files under torch 2.x: weights_only=True, mmap=True, offsets cross-checked."""
    need_torch2(torch2_python)
    _, m113 = torch113_fixtures
    entries = {"torch113": {e["file"]: e for e in m113["files"]},
               "torch2": {e["file"]: e for e in MANIFEST2["files"]}}[which]
    c = converted[(which, name)]
    if name in REFUSED:
        return
    want = {t["name"]: (t["dtype"], t["shape"], t["sha256"]) for t in entries[name]["tensors"]
            if "kind" not in t}
    plain = {k: v for k, v in want.items() if "#" not in k and f"{k}#1" not in want}
    r2 = c["t2"]
    assert "error" not in r2, r2["error"]
    got = torch_listing(r2, c["out"].stem)
    assert {k: v for k, v in got.items() if k in plain} == plain
    assert set(plain) <= set(got)


# ---- whole checkpoints, round trips ------------------------------------------------------------------------

CHECKPOINT_SCRIPT = r"""
import collections, sys, torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4), torch.nn.BatchNorm1d(4))
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
for _ in range(3):
    opt.zero_grad(); m(torch.randn(5, 4)).pow(2).mean().backward(); opt.step(); sched.step()
base = torch.arange(24, dtype=torch.float32)
ck = {
    "epoch": 7, "global_step": 2**40, "big": 2**70, "neg": -2**63 - 1, "name": "run \u00fc \U0001F600",
    "model_state_dict": m.state_dict(), "optimizer_state_dict": opt.state_dict(),
    "scheduler": sched.state_dict(),
    "losses": [0.5, 0.25, float("nan"), float("inf"), -0.0, 1e-310],
    "flags": (True, False, None), "nested": {"a": [(), [], {}, ((1,),)], 3: {"x": collections.OrderedDict(k=1)}},
    "view_a": base[2:10], "view_b": base.view(4, 6)[:, 1], "tied": base, "tied2": base,
    "same": [base, base], "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 2), "half": torch.randn(3).half(),
    "bf": torch.randn(5).bfloat16(), "ints": {1: "a", -5: "b", 2**33: "c"}, "bools": torch.tensor([True, False]),
    "t_nonc": torch.arange(6.).view(2, 3).t(),
}
ck["model_state_dict"]["tied_to_first"] = ck["model_state_dict"]["0.weight"]
torch.save(ck, sys.argv[1])
"""


def test_checkpoint_round_trip(tmp_path, run_mft, debian_torch, torch2_python):
    src = tmp_path / "ckpt.pt"
    subprocess.run([DEBIAN, "-c", CHECKPOINT_SCRIPT, str(src)], check=True, timeout=300)
    out = tmp_path / "ckpt.pth"
    res = run_mft("convert", src, out, check=0)
    assert "refuses" not in res.err, "a weights_only-loadable checkpoint needs no note"
    check_zip(out, "ckpt")
    assert mft_listing(run_mft, out) == mft_listing(run_mft, src)
    (r,) = load113([out], tmp_path, expect=[src])
    assert "error" not in r, r.get("error")
    assert r["mismatches"] == [], json.dumps(r["mismatches"])[:3000]
    assert r["binfloat_patch"], "the checkpoint holds floats"
    shared = {frozenset(g) for g in r["shared"]}
    assert frozenset({"tied", "tied2", "view_a", "view_b", "same.0", "same.1"}) in shared
    assert frozenset({"model_state_dict.0.weight", "model_state_dict.tied_to_first"}) in shared
    # again, from mft's own output: byte for byte the same file
    again = tmp_path / "again" / "ckpt.pth"
    again.parent.mkdir()
    run_mft("convert", out, again, check=0)
    assert again.read_bytes() == out.read_bytes()
    need_torch2(torch2_python)
    (r2,) = load2(torch2_python, [out], tmp_path, expect=[src])
    assert "error" not in r2, r2.get("error")
    assert r2["mismatches"] == [], json.dumps(r2["mismatches"])[:3000]


def test_pth_safetensors_pth_round_trip(tmp_path, run_mft, debian_torch, torch2_python):
    src = tmp_path / "sd.pt"
    script = ("import torch, sys; torch.manual_seed(1)\n"
              "m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),"
              " torch.nn.Linear(4, 2)).half()\n"
              "sd = m.state_dict(); sd['extra.i8'] = torch.arange(-4, 4, dtype=torch.int8)\n"
              "torch.save(sd, sys.argv[1])\n")
    subprocess.run([DEBIAN, "-c", script, str(src)], check=True, timeout=300)
    mid = tmp_path / "sd.safetensors"
    out = tmp_path / "sd.pth"
    run_mft("convert", src, mid, check=0)
    run_mft("convert", mid, out, check=0)
    assert mft_listing(run_mft, out) == mft_listing(run_mft, src)
    # safetensors stores tensors in its own order (by dtype, then name): compare dicts unordered
    (r,) = load113([out], tmp_path, expect=[src], unordered=True)
    assert "error" not in r and r["mismatches"] == [], r.get("error") or r["mismatches"]
    need_torch2(torch2_python)
    (r2,) = load2(torch2_python, [out], tmp_path, expect=[src], unordered=True)
    assert "error" not in r2 and r2["mismatches"] == [], r2.get("error") or r2["mismatches"]


OBJECTS_SCRIPT = r"""
import argparse, sys, numpy as np, torch
obj = {"arr": np.arange(6, dtype=np.float32).reshape(2, 3),
       "farr": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
       "be": np.arange(4, dtype=">i4"), "sc": np.float64(1.5), "i": np.int64(-7), "ok": np.bool_(True),
       "ns": argparse.Namespace(lr=0.1, name="x", w=torch.ones(2)),
       "dt": torch.float16, "dev": torch.device("cpu"), "s": {1, 2}, "fs": frozenset([3]), "b": b"ab\xff",
       "eb": b"", "cx": complex(1, 2), "t": torch.arange(3)}
torch.save(obj, sys.argv[1])
"""

OBJECTS_CHECK = r"""
import json, sys, numpy as np, torch
o = torch.load(sys.argv[1], weights_only=True, mmap=True)
assert type(o) is dict
assert o["arr"].dtype == torch.float32 and o["arr"].tolist() == [[0, 1, 2], [3, 4, 5]]
assert o["farr"].dtype == torch.float64 and o["farr"].stride() == (1, 2) and o["farr"].tolist() == [[0, 1, 2], [3, 4, 5]]
assert o["be"].dtype == torch.int32 and o["be"].tolist() == [0, 1, 2, 3]
assert type(o["sc"]) is float and o["sc"] == 1.5
assert type(o["i"]) is int and o["i"] == -7
assert o["ok"] is True
assert o["ns"].keys() == {"lr", "name", "w"} and o["ns"]["lr"] == 0.1 and o["ns"]["w"].tolist() == [1, 1]
assert o["dt"] is torch.float16 and o["dev"] == torch.device("cpu")
assert o["s"] == {1, 2} and o["fs"] == {3} and type(o["fs"]) is set
assert o["b"] == b"ab\xff" and o["eb"] == b"" and o["cx"] == complex(1, 2)
assert o["t"].tolist() == [0, 1, 2]
print("ok")
"""


def test_objects_written_as_what_they_hold(tmp_path, run_mft, debian_torch, torch2_python):
    src = tmp_path / "objs.pt"
    subprocess.run([DEBIAN, "-c", OBJECTS_SCRIPT, str(src)], check=True, timeout=300)
    out = tmp_path / "objs.pth"
    res = run_mft("convert", src, out, check=0)
    for what in ("arr: numpy.ndarray (F32) written as a tensor", "farr: numpy.ndarray",
                 "be: numpy.ndarray (I32)", "sc: numpy scalar (F64) written as a Python float",
                 "i: numpy scalar (I64) written as a Python int", "ok: numpy scalar (BOOL)",
                 "ns: argparse.Namespace written as a dict of its attributes",
                 "fs: frozenset written as a set"):
        assert what in res.err, (what, res.err)
    for quiet in ("dt:", "dev:", " s:", " b:", "cx:", " t:"):
        assert quiet not in res.err.replace("mft:", ""), (quiet, res.err)
    check_zip(out, "objs")
    (r,) = load113([out], tmp_path)
    assert refused_for_torch2_global(r), r
    need_torch2(torch2_python)
    chk = subprocess.run([torch2_python, "-c", OBJECTS_CHECK, str(out)], capture_output=True, text=True,
                         timeout=300)
    assert chk.returncode == 0 and chk.stdout.strip() == "ok", chk.stderr[-3000:]


# ---- the example program ---------------------------------------------------------------------------------

EXAMPLE_CHECK = r"""
import collections, sys, torch
sys.path.insert(0, sys.argv[2])
import torch_load_check as c
ck, patched = c.load(sys.argv[1], mmap=c.TORCH2, allow_patch=True)
assert type(ck) is dict and list(ck) == ["epoch", "model_state_dict", "optimizer_state_dict", "losses"]
assert ck["epoch"] == 5 and ck["losses"] == [2.5, 1.25, 0.625]
sd = ck["model_state_dict"]
assert type(sd) is collections.OrderedDict and list(sd) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
for i, k in enumerate(sd):
    want = (torch.arange(sd[k].numel(), dtype=torch.float32) * (float(i + 1) * 0.01)).view(sd[k].shape)
    assert torch.equal(sd[k], want.float()) or torch.allclose(sd[k], want, rtol=0, atol=1e-6), k
net = torch.nn.Module()
net.fc1, net.fc2 = torch.nn.Linear(4, 8), torch.nn.Linear(8, 2)
net.load_state_dict(sd, strict=True)
opt = torch.optim.Adam(net.parameters(), lr=0.5)
opt.load_state_dict(ck["optimizer_state_dict"])
assert opt.param_groups[0]["lr"] == 0.001 and opt.param_groups[0]["betas"] == (0.9, 0.999)
st = opt.state_dict()["state"]
assert sorted(st) == [0, 1, 2, 3] and float(st[2]["step"]) == 5.0
print("ok", patched)
"""


def test_example_write_checkpoint(tmp_path, debian_torch, torch2_python):
    exe = Path(os.environ.get("MFT_BUILD", REPO_ROOT / "build" / "asan")) / "write_checkpoint"
    if not exe.is_file():
        pytest.fail(f"{exe} not built (make asan, or set MFT_BUILD)", pytrace=False)
    out = tmp_path / "ckpt.pth"
    r = subprocess.run([str(exe), str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"wrote {out}", r.stderr
    assert "Sanitizer" not in r.stderr
    check_zip(out, "ckpt")
    r = subprocess.run([str(exe), str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "MFT_ERR_EXISTS" in r.stderr and "--force" in r.stderr
    for py in (DEBIAN, torch2_python):
        if py is None:
            continue
        chk = subprocess.run([py, "-c", EXAMPLE_CHECK, str(out), str(TESTS_DIR)], capture_output=True,
                             text=True, timeout=300)
        assert chk.returncode == 0 and chk.stdout.startswith("ok"), chk.stderr[-3000:]
    need_torch2(torch2_python)


# ---- the CLI --------------------------------------------------------------------------------------------

def test_refuses_to_overwrite_without_force(tmp_path, run_mft):
    src = tensors_file(tmp_path, ["F32"], "a.safetensors")
    out = tmp_path / "a.pth"
    out.write_bytes(b"old")
    res = run_mft("convert", src, out, check=2)
    assert "--force" in res.err and out.read_bytes() == b"old"
    run_mft("convert", src, out, "--force", check=0)
    assert mft_listing(run_mft, out) == mft_listing(run_mft, src)
    assert sorted(os.listdir(tmp_path)) == ["a.pth", "a.safetensors"]


def test_output_format_from_option_or_extension(tmp_path, run_mft):
    src = tensors_file(tmp_path, ["F32"], "a.safetensors")
    for name, opts in (("a.pt", []), ("a.bin", []), ("a.ckpt", ["--to", "pytorch"]),
                       ("b.tar", ["--to", "pytorch-zip"])):
        run_mft("convert", src, tmp_path / name, *opts, check=0)
        assert run_mft("ls", tmp_path / name, "--json", check=0).json()["format"] == "pytorch-zip"
    res = run_mft("convert", src, tmp_path / "a.ckpt2", check=2)
    assert "--to" in res.err


def test_select_dtype_and_rename(tmp_path, run_mft, debian_torch):
    src = tu.TORCH2_DIR / "checkpoint.pth"
    sel = tmp_path / "model.pth"
    run_mft("convert", src, sel, "--select", "model_state_dict", check=0)
    full = mft_listing(run_mft, src)
    want = {k[len("model_state_dict."):]: v for k, v in full.items() if k.startswith("model_state_dict.")}
    assert want and mft_listing(run_mft, sel) == want
    half = tmp_path / "half.pth"
    run_mft("convert", src, half, "--dtype", "F16", check=0)
    got = mft_listing(run_mft, half)
    assert set(got) == set(full)
    for k, (code, shape, _) in full.items():
        want_code = "F16" if code in ("F32", "F64", "BF16", "F16") else code
        assert got[k][:2] == (want_code, shape), k
    flat = tmp_path / "flat.pth"
    res = run_mft("convert", src, flat, "--strip-prefix", "model_state_dict", check=0)
    assert "non-tensor value" in res.err  # named, never dropped silently
    names = set(mft_listing(run_mft, flat))
    assert {k[len("model_state_dict."):] for k in full if k.startswith("model_state_dict.")} <= names
    rs = load113([sel, half, flat], tmp_path)
    for r in rs:
        assert "error" not in r, r.get("error")
    assert list(rs[0]["tree"]) == ["OrderedDict"] and list(rs[2]["tree"]) == ["OrderedDict"]


def test_ls_hash_equal_to_source(tmp_path, run_mft):
    for src in (REPO_ROOT / "examples" / "tiny-gpt.safetensors", tu.TORCH2_DIR / "views.pt",
                tu.TORCH2_DIR / "model_main_blocks.pt"):
        out = tmp_path / (src.stem + ".pth")
        run_mft("convert", src, out, check=0)
        a = run_mft("ls", src, "--json", "--hash", check=0).json()["tensors"]
        b = run_mft("ls", out, "--json", "--hash", check=0).json()["tensors"]
        assert a == b, src


# ---- SIGKILL: never a partial target -----------------------------------------------------------------------

def test_sigkill_never_leaves_a_partial_target(tmp_path, mft_release_bin):
    rng = np.random.default_rng(7)
    tensors = {f"w{i}": su.from_array(rng.standard_normal((1024, 1024), dtype=np.float32)) for i in range(12)}
    src = su.write_ref(tmp_path / "big.safetensors", tensors)  # ~50 MB
    work = tmp_path / "out"
    work.mkdir()
    target = work / "model.pth"
    ref = tmp_path / "ref" / "model.pth"
    ref.parent.mkdir()
    runs = []
    for _ in range(3):  # how long a whole run takes, page cache warm
        t0 = time.monotonic()
        subprocess.run([mft_release_bin, "convert", str(src), str(ref), "--force"], check=True,
                       capture_output=True)
        runs.append(time.monotonic() - t0)
    full = min(runs)
    new = ref.read_bytes()
    old = b"the old model file, complete"
    seen = {"absent": 0, "old": 0, "new": 0}
    rnd = random.Random(11)
    for i in range(20):
        with_old = i % 2 == 1
        if with_old:
            target.write_bytes(old)
        elif target.exists():
            target.unlink()
        p = subprocess.Popen([mft_release_bin, "convert", str(src), str(target), "--force"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, full))
        p.send_signal(signal.SIGKILL)
        p.wait()
        entries = os.listdir(work)
        visible = [e for e in entries if not e.startswith(".")]
        hidden = [e for e in entries if e.startswith(".")]
        assert visible in ([], ["model.pth"]), entries
        for h in hidden:  # a named temporary linked in just before the rename (O_TMPFILE leaves none)
            assert re.fullmatch(r"\.model\.pth\.mft-.*", h), h
            (work / h).unlink()
        if not visible:
            assert not with_old, "the old file vanished"
            seen["absent"] += 1
        else:
            data = target.read_bytes()
            assert data in (old, new) if with_old else data == new, f"partial target ({len(data)} bytes)"
            seen["old" if data == old else "new"] += 1
    # the kills did land at different points
    assert seen["absent"] + seen["old"] > 0 and sum(seen.values()) == 20, seen


def test_many_tensors(tmp_path, run_mft, debian_torch):
    """5000 tensors: SETITEMS in batches of 1000, memo indices past 255 (LONG_BINPUT), storage keys
    past 4 digits; pth -> pth stays linear (the reader looks storage keys up in O(1))."""
    tensors = {f"blocks.{i}.w": su.from_array(np.full((2,), i, np.int32)) for i in range(5000)}
    src = su.write_ref(tmp_path / "many.safetensors", tensors)
    out = tmp_path / "many.pth"
    run_mft("convert", src, out, check=0)
    again = tmp_path / "again" / "many.pth"
    again.parent.mkdir()
    t0 = time.monotonic()
    run_mft("convert", out, again, check=0, timeout=60)
    assert time.monotonic() - t0 < 60
    assert again.read_bytes() == out.read_bytes()
    want = mft_listing(run_mft, src)
    assert mft_listing(run_mft, out) == want
    (r,) = load113([out], tmp_path)
    assert "error" not in r, r.get("error")
    assert torch_listing(r) == want
