"""`mft stats`, `mft diff`, `mft check`, `mft get` (torch-style printing), `mft tree` and `mft info`
checked against the reference libraries.

Oracles
  numpy (reference venv)      stats in float64: min/max/mean/std(ddof=1) over the finite elements,
                              NaN/Inf/zero counts, for every integer and float dtype (F16, BF16, F8 via
                              ml_dtypes), in files large enough to be split across threads.
  Debian torch 1.13           (/usr/bin/python3, at test time) stats of .pt files it writes (t.double()
                              over t[isfinite(t)], torch.std unbiased; and its own float32 results to a
                              stated tolerance); torch.isclose / torch.allclose for diff; the text of
                              load_state_dict(strict=True)'s RuntimeError for check; print(tensor) for get.

Tolerances (stats)
  against numpy/torch float64: mean within 1e-12 x (|mean| + mean|x|), std within 1e-10 relative,
  min/max and counts exact.  Against torch's float32 results (what torch users see): mean within
  1e-6 x mean|x|, std within 2e-6 relative (torch accumulates float32 means in float32).
"""

import json
import math
import subprocess
import textwrap

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

import torch_util as tu

NAN, INF = float("nan"), float("inf")


def run_torch(script, *args, timeout=600):
    """Run `script` under Debian's torch 1.13; returns its stdout parsed as JSON."""
    res = subprocess.run([tu.DEBIAN_PYTHON, "-c", textwrap.dedent(script), *map(str, args)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    assert res.returncode == 0, res.stderr.decode("utf-8", "replace")[-4000:]
    return json.loads(res.stdout, parse_constant=lambda c: float(c))


def jnum(v):
    """mft's JSON number (or "NaN"/"Infinity" strings, or null) as a float."""
    if v is None:
        return None
    if isinstance(v, str):
        return {"NaN": NAN, "Infinity": INF, "-Infinity": -INF}[v]
    return float(v)


# ---- stats against numpy ----------------------------------------------------------------------------

def numpy_stats(arr):
    x = np.asarray(arr)
    numel = x.size
    if x.dtype == np.bool_ or np.issubdtype(x.dtype, np.integer):
        ints = x.astype(object).ravel().tolist() if x.dtype.itemsize == 8 else x.astype(np.int64).ravel().tolist()
        f = x.astype(np.float64).ravel()
        return {"count": numel, "nan": 0, "inf": 0, "zeros": int((x == 0).sum()),
                "min": int(min(ints)) if ints else None, "max": int(max(ints)) if ints else None,
                "mean": float(f.mean()) if numel else None,
                "std": float(f.std(ddof=1)) if numel >= 2 else None, "exact_ints": True}
    with np.errstate(invalid="ignore"):  # float8 NaN patterns
        f = x.astype(np.float64).ravel()
    fin = f[np.isfinite(f)]
    return {"count": int(fin.size), "nan": int(np.isnan(f).sum()), "inf": int(np.isinf(f).sum()),
            "zeros": int((f == 0).sum()),
            "min": float(fin.min()) if fin.size else None, "max": float(fin.max()) if fin.size else None,
            "mean": float(fin.mean()) if fin.size else None,
            "std": float(fin.std(ddof=1)) if fin.size >= 2 else None, "exact_ints": False,
            "scale": float(np.abs(fin).mean()) if fin.size else 0.0}


def check_stats(got, want, name):
    assert got["count"] == want["count"], name
    for k in ("nan", "inf", "zeros"):
        assert got[k] == want[k], (name, k, got[k], want[k])
    if want["min"] is None:
        assert got["min"] is None and got["max"] is None and got["mean"] is None, (name, got)
    elif want["exact_ints"]:
        assert type(got["min"]) is int and got["min"] == want["min"], (name, got["min"], want["min"])
        assert type(got["max"]) is int and got["max"] == want["max"], (name, got["max"], want["max"])
    else:
        assert jnum(got["min"]) == want["min"] and jnum(got["max"]) == want["max"], (name, got, want)
    if want["mean"] is not None:
        scale = abs(want["mean"]) + want.get("scale", abs(want["mean"]))
        assert abs(jnum(got["mean"]) - want["mean"]) <= 1e-12 * scale + 1e-300, (name, got["mean"], want["mean"])
    if want["std"] is None:
        assert got["std"] is None, (name, got["std"])
    elif math.isinf(want["std"]):
        assert jnum(got["std"]) == want["std"], name
    else:
        assert abs(jnum(got["std"]) - want["std"]) <= 1e-10 * want["std"] + 1e-300, (name, got["std"], want["std"])


def stats_arrays():
    rng = np.random.default_rng(11)
    big = (rng.standard_normal(5_000_003) * 3 + 7).astype(np.float32)   # 20 MB: two 16 MiB units + a tail
    big[12345] = np.nan
    big[4_999_999] = np.inf
    big[200] = 0.0
    bf = (rng.standard_normal(9_000_001) * 1e-3 + 1.0).astype(ml_dtypes.bfloat16)  # 18 MB, offset mean
    bf[17] = np.float32(np.nan)
    return {
        "big_f32": big,
        "big_bf16": bf,
        "f16": np.array([0.1, 65504.0, -0.0, np.nan, np.inf, 6e-08, -1.5] * 300, np.float16),
        "f16_all_patterns": np.arange(65536, dtype=np.uint16).view(np.float16),
        "bf16_all_patterns": np.arange(65536, dtype=np.uint16).view(ml_dtypes.bfloat16),
        "f8_e4m3_all": np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn),
        "f8_e5m2_all": np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e5m2),
        "f8_e4m3fnuz_all": np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e4m3fnuz),
        "f64": np.concatenate([rng.standard_normal(3000) * 1e-200, [np.nan, -np.inf, 5e-324]]),
        "f64_offset": 1e9 + rng.standard_normal(100_000),  # catastrophic cancellation for naive sums
        "f32_subnormal": np.array([1e-45, -1e-45, 0.0, 1e-40], np.float32),
        "i8": rng.integers(-128, 128, 10_000, dtype=np.int8),
        "u8": rng.integers(0, 256, 10_000, dtype=np.uint8),
        "i16": rng.integers(-2 ** 15, 2 ** 15, 5_000, dtype=np.int16),
        "u16": rng.integers(0, 2 ** 16, 5_000, dtype=np.uint16),
        "i32": rng.integers(-2 ** 31, 2 ** 31, 5_000, dtype=np.int32),
        "u32": rng.integers(0, 2 ** 32, 5_000, dtype=np.uint32),
        "i64": np.array([2 ** 63 - 1, -2 ** 63, 2 ** 53 + 1, -(2 ** 53 + 1), 0], np.int64),
        "u64": np.array([0, 2 ** 64 - 1, 2 ** 63, 12345], np.uint64),
        "bool": rng.random(3001) > 0.3,
        "scalar": np.array(-2.5, np.float32),
        "single": np.array([4.0], np.float64),
        "empty": np.zeros((3, 0), np.float16),
        "all_nan": np.full(7, np.nan, np.float32),
        "constant": np.full(2049, 0.1, np.float32),
    }


@pytest.fixture(scope="module")
def stats_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("stats") / "s.safetensors"
    arrays = stats_arrays()
    save_file(arrays, str(path))
    return path, arrays


def test_stats_match_numpy(stats_file, run_mft):
    path, arrays = stats_file
    doc = run_mft("stats", path, "--json", check=0).json()
    assert doc["file"] == str(path) and doc["format"] == "safetensors"
    got = {t["name"]: t for t in doc["tensors"]}
    assert sorted(got) == sorted(arrays)
    for name, arr in arrays.items():
        t = got[name]
        assert t["shape"] == list(arr.shape) and t["numel"] == arr.size, name
        check_stats(t, numpy_stats(arr), name)
        if arr.size:
            assert t["sparsity"] == pytest.approx(t["zeros"] / arr.size), name


def test_stats_json_shape(stats_file, run_mft):
    """DESIGN §4: {"file", "tensors": [{"name", "dtype", "shape", "min", "max", "mean", "std", "nan",
    "inf", "zeros"}]}, strict JSON."""
    path, _ = stats_file
    doc = run_mft("stats", path, "--json", "--filter", "f16*", check=0).json()
    assert {t["name"] for t in doc["tensors"]} == {"f16", "f16_all_patterns"}
    for t in doc["tensors"]:
        for key in ("name", "dtype", "shape", "min", "max", "mean", "std", "nan", "inf", "zeros"):
            assert key in t, key
        assert t["dtype"] == "F16"


def test_stats_independent_of_threads(stats_file, run_mft):
    path, _ = stats_file
    one = run_mft("stats", path, "--json", "--threads", "1", check=0).out
    many = run_mft("stats", path, "--json", "--threads", "5", check=0).out
    assert one == many


def test_stats_text(stats_file, run_mft):
    path, _ = stats_file
    out = run_mft("stats", path, "--filter", "all_nan", check=0).out.splitlines()
    assert out[0].split() == ["NAME", "DTYPE", "SHAPE", "MIN", "MAX", "MEAN", "STD", "NAN", "INF", "ZEROS",
                              "FLAGS"]
    assert out[1].split() == ["all_nan", "F32", "[7]", "-", "-", "-", "-", "7", "0", "0", "nan"]


def test_stats_every_torch_fixture(torch113_fixtures, run_mft):
    """Every dtype torch writes (quantized, complex, sparse, views, big-endian …): exit 0, strict JSON,
    counts consistent."""
    directory, manifest = torch113_fixtures
    for entry in manifest["files"]:
        doc = run_mft("stats", directory / entry["file"], "--json", check=0).json()
        for t in doc["tensors"]:
            if t.get("skipped"):
                continue
            assert t["nan"] + t["inf"] + t["count"] == t["numel"] or t["dtype"].startswith("C"), t


# ---- stats against torch 1.13 -------------------------------------------------------------------------

TORCH_STATS = r"""
import json, sys, torch
torch.manual_seed(3)
nan, inf = float("nan"), float("inf")
big = torch.randn(3_000_000) * 2 + 5
big[10] = nan; big[20] = inf; big[30] = -inf; big[40] = 0.0
T = {
    "f32": big,
    "f32_2d": torch.randn(300, 70),
    "f16": (torch.randn(100_000) * 10).half(),
    "f16_special": torch.tensor([0.1, 65504.0, -0.0, nan, inf, 6e-08, -1.5], dtype=torch.float16),
    "bf16": (torch.randn(200_000) + 3).bfloat16(),
    "bf16_special": torch.tensor([1.0, 3.140625, -3.0e38, nan, -inf, 1e-40, 0.0], dtype=torch.bfloat16),
    "f64": torch.randn(10_000, dtype=torch.float64) * 1e5,
    "i64": torch.randint(-10**12, 10**12, (5000,)),
    "i32": torch.randint(-2**31, 2**31 - 1, (5000,), dtype=torch.int32),
    "i16": torch.randint(-2**15, 2**15 - 1, (5000,), dtype=torch.int16),
    "i8": torch.randint(-128, 127, (5000,), dtype=torch.int8),
    "u8": torch.randint(0, 255, (5000,), dtype=torch.uint8),
    "bool": torch.rand(777) > 0.5,
    "view": torch.randn(40, 50).t()[3:30],    # a strided view: mft gathers it
}
torch.save(T, sys.argv[1])
out = {}
for name, t in T.items():
    t = t.contiguous()
    d = t.double()
    fin = d[torch.isfinite(d)]
    e = {"nan": int(torch.isnan(d).sum()), "inf": int(torch.isinf(d).sum()), "zeros": int((d == 0).sum()),
         "count": int(fin.numel()), "min": fin.min().item(), "max": fin.max().item(),
         "mean": fin.mean().item(), "std": torch.std(fin).item()}
    if t.dtype.is_floating_point:
        f = t.float()[torch.isfinite(t.float())]
        e["mean32"] = f.mean().item()
        e["std32"] = torch.std(f).item()
        e["absmean"] = fin.abs().mean().item()
    else:
        e["min"], e["max"] = int(t.min()), int(t.max())
    out[name] = e
print(json.dumps(out))
"""


def test_stats_match_torch(tmp_path, run_mft):
    path = tmp_path / "t.pt"
    want = run_torch(TORCH_STATS, path)
    doc = run_mft("stats", path, "--json", check=0).json()
    got = {t["name"]: t for t in doc["tensors"]}
    assert sorted(got) == sorted(want)
    for name, w in want.items():
        g = got[name]
        for k in ("nan", "inf", "zeros", "count"):
            assert g[k] == w[k], (name, k)
        assert jnum(g["min"]) == w["min"] and jnum(g["max"]) == w["max"], (name, g, w)
        if "mean32" in w:
            assert type(g["min"]) is not int
            scale = w["absmean"]
            assert abs(jnum(g["mean"]) - w["mean"]) <= 1e-12 * (abs(w["mean"]) + scale), (name, g, w)
            # torch's own float32 results, to the tolerance stated in the module docstring
            assert abs(jnum(g["mean"]) - w["mean32"]) <= 1e-6 * scale, (name, g["mean"], w["mean32"])
            assert abs(jnum(g["std"]) - w["std32"]) <= 2e-6 * w["std32"], (name, g["std"], w["std32"])
        else:
            assert type(g["min"]) is int and type(g["max"]) is int, name
            assert abs(jnum(g["mean"]) - w["mean"]) <= 1e-12 * abs(w["mean"]) + 1e-9, (name, g, w)
        assert abs(jnum(g["std"]) - w["std"]) <= 1e-10 * w["std"], (name, g["std"], w["std"])


# ---- diff against torch.isclose / allclose ----------------------------------------------------------

TORCH_DIFF = r"""
import json, sys, torch
torch.manual_seed(5)
nan, inf = float("nan"), float("inf")
a = {}
b = {}
x = torch.randn(1000)
a["same"] = x.clone(); b["same"] = x.clone()
a["tiny"] = x.clone(); b["tiny"] = x * (1 + 3e-6)                  # close at the defaults
a["off"] = x.clone(); y = x.clone(); y[::50] += 1e-3; b["off"] = y   # 20 elements beyond
a["zeros"] = torch.zeros(10); b["zeros"] = torch.full((10,), 1e-9)   # within atol
a["nan_both"] = torch.tensor([1.0, nan, 3.0]); b["nan_both"] = torch.tensor([1.0, nan, 3.0 + 1e-7])
a["nan_one"] = torch.tensor([1.0, nan, 3.0]); b["nan_one"] = torch.tensor([1.0, 2.0, nan])
a["inf"] = torch.tensor([inf, -inf, inf, 1.0]); b["inf"] = torch.tensor([inf, -inf, -inf, inf])
a["f16"] = (torch.randn(300) * 4).half(); b["f16"] = a["f16"].clone(); b["f16"][7] += 0.5
a["bf16"] = torch.randn(300).bfloat16(); b["bf16"] = (a["bf16"].float() * 1.004).bfloat16()
a["i64"] = torch.arange(100); b["i64"] = torch.arange(100); b["i64"][5] = 6
a["f64"] = torch.randn(200, dtype=torch.float64); b["f64"] = a["f64"] + 1e-7
a["2d"] = torch.randn(7, 9); b["2d"] = a["2d"].clone(); b["2d"][4, 6] = 100.0
torch.save(a, sys.argv[1]); torch.save(b, sys.argv[2])
out = {}
for rtol, atol, en in ((1e-5, 1e-8, False), (1e-2, 1e-3, False), (1e-5, 1e-8, True), (0.0, 0.0, False)):
    res = {}
    for k in a:
        A, B = a[k].double(), b[k].double()
        close = torch.isclose(a[k], b[k], rtol=rtol, atol=atol, equal_nan=en)
        notnan = ~(torch.isnan(A) | torch.isnan(B))
        diff = torch.where(A == B, torch.zeros_like(A), (A - B).abs())[notnan]
        rel = torch.where(diff == 0, torch.zeros_like(diff),
                          torch.where(torch.isinf(diff) | (B[notnan] == 0), torch.full_like(diff, inf),
                                      diff / B[notnan].abs()))
        res[k] = {"mismatched": int((~close).sum()),
                  "allclose": bool(torch.allclose(a[k], b[k], rtol=rtol, atol=atol, equal_nan=en)),
                  "identical": bool(torch.equal(a[k], b[k])) and not bool(torch.isnan(A).any()),
                  "max_abs": diff.max().item() if diff.numel() else None,
                  "max_rel": rel.max().item() if rel.numel() else None,
                  "max_abs_index": list(map(int, (diff.argmax() if diff.numel() else 0,)))}
    out[f"{rtol} {atol} {en}"] = res
print(json.dumps(out))
"""


def test_diff_matches_torch_isclose(tmp_path, run_mft):
    pa, pb = tmp_path / "a.pt", tmp_path / "b.pt"
    want = run_torch(TORCH_DIFF, pa, pb)
    for key, expected in want.items():
        rtol, atol, en = key.split()
        args = ["diff", pa, pb, "--json", "--rtol", rtol, "--atol", atol] + (["--equal-nan"] if en == "True" else [])
        res = run_mft(*args)
        doc = res.json()
        assert res.rc in (0, 1)
        got = {t["name"]: t for t in doc["tensors"]}
        same_overall = True
        for name, w in expected.items():
            g = got[name]
            if g["identical"]:
                # byte-for-byte the same: never a difference (DESIGN: diff's NaN rule)
                assert w["mismatched"] == 0 or name == "nan_both" and en == "False", (key, name)
                continue
            assert g["mismatched"] == w["mismatched"], (key, name, g, w)
            assert g["allclose"] == w["allclose"], (key, name)
            same_overall &= w["allclose"]
            if w["max_abs"] is not None:
                assert jnum(g["max_abs"]) == pytest.approx(w["max_abs"], rel=1e-12, abs=0), (key, name)
                assert jnum(g["max_rel"]) == pytest.approx(w["max_rel"], rel=1e-12, abs=0), (key, name)
        assert doc["same"] == same_overall and res.rc == (0 if same_overall else 1), key


def test_diff_across_formats_and_dtypes(tmp_path, run_mft):
    """The same tensors in safetensors and npz are identical; F32 against its BF16 rounding differs by
    at most half a BF16 ulp (relative 2^-9), and is close at rtol 2^-8."""
    rng = np.random.default_rng(2)
    t = {"w": rng.standard_normal((64, 33)).astype(np.float32), "i": np.arange(10, dtype=np.int64)}
    save_file(t, str(tmp_path / "a.safetensors"))
    np.savez(tmp_path / "a.npz", **t)
    res = run_mft("diff", tmp_path / "a.safetensors", tmp_path / "a.npz", "--json", check=0)
    assert res.json()["same"] and all(x["identical"] for x in res.json()["tensors"])
    b = dict(t, w=t["w"].astype(ml_dtypes.bfloat16))
    save_file(b, str(tmp_path / "b.safetensors"))
    doc = run_mft("diff", tmp_path / "a.safetensors", tmp_path / "b.safetensors", "--json", check=1).json()
    w = {x["name"]: x for x in doc["tensors"]}["w"]
    assert (w["dtype_a"], w["dtype_b"], w["status"]) == ("F32", "BF16", "different")
    want_rel = np.max(np.abs(t["w"].astype(np.float64) - b["w"].astype(np.float64)) /
                      np.abs(b["w"].astype(np.float64)))
    assert jnum(w["max_rel"]) == pytest.approx(want_rel, rel=1e-12) and jnum(w["max_rel"]) <= 2 ** -8
    doc = run_mft("diff", tmp_path / "a.safetensors", tmp_path / "b.safetensors", "--json",
                  "--rtol", str(2 ** -8), check=1).json()
    assert {x["name"]: x for x in doc["tensors"]}["w"]["allclose"] is True
    assert doc["summary"]["dtype_changes"] == 1   # still a difference: exit 1


def test_diff_names_and_shapes(tmp_path, run_mft):
    save_file({"a": np.zeros(3, np.float32), "s": np.zeros((2, 3), np.float32)}, str(tmp_path / "x.safetensors"))
    save_file({"b": np.zeros(3, np.float32), "s": np.zeros((3, 2), np.float32)}, str(tmp_path / "y.safetensors"))
    doc = run_mft("diff", tmp_path / "x.safetensors", tmp_path / "y.safetensors", "--json", check=1).json()
    assert doc["only_a"] == ["a"] and doc["only_b"] == ["b"]
    assert doc["tensors"][0]["status"] == "shape" and doc["summary"]["shape_changes"] == 1
    res = run_mft("diff", "-q", tmp_path / "x.safetensors", tmp_path / "y.safetensors", check=1)
    assert res.out == ""


# ---- check against load_state_dict(strict=True) -----------------------------------------------------

TORCH_CHECK = r"""
import json, sys, os, collections, torch, torch.nn as nn
torch.manual_seed(1)
d = sys.argv[1]
class WithScalar(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.BatchNorm1d(2))
        self.scale = nn.Parameter(torch.tensor(1.0))
model = WithScalar()
ref = model.state_dict()
torch.save(ref, os.path.join(d, "ref.pt"))
def variant(name, sd):
    torch.save(sd, os.path.join(d, name + ".pt"))
    try:
        WithScalar().load_state_dict(sd, strict=True)
        return None
    except RuntimeError as e:
        return str(e)
sd = collections.OrderedDict(ref)
cases = {}
cases["ok"] = variant("ok", sd)
cases["ok_half"] = variant("ok_half", collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items()))
cases["scalar_1d"] = variant("scalar_1d", collections.OrderedDict((k, v.reshape(1) if k == "scale" else v) for k, v in sd.items()))
m = collections.OrderedDict(sd); del m["body.0.bias"]; del m["body.3.running_var"]
cases["missing"] = variant("missing", m)
u = collections.OrderedDict(sd); u["body.9.weight"] = torch.zeros(2); u["extra"] = torch.zeros(1)
cases["unexpected"] = variant("unexpected", u)
s = collections.OrderedDict(sd); s["body.2.weight"] = torch.zeros(2, 4); s["scale"] = torch.zeros(2, 2)
cases["size"] = variant("size", s)
a = collections.OrderedDict(s); del a["body.0.weight"]; a["zzz"] = torch.zeros(3)
cases["all"] = variant("all", a)
dp = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
cases["dp"] = variant("dp", dp)
torch.save({"epoch": 3, "model_state_dict": sd, "optimizer": {"lr": 0.1}}, os.path.join(d, "ckpt.pt"))
print(json.dumps(cases))
"""


def test_check_matches_load_state_dict(tmp_path, run_mft):
    want = run_torch(TORCH_CHECK, tmp_path)
    ref = tmp_path / "ref.pt"
    for name, msg in want.items():
        res = run_mft("check", tmp_path / f"{name}.pt", "--against", ref)
        if msg is None:
            assert res.rc == 0 and res.out.startswith("ok: "), res.describe()
            continue
        assert res.rc == 1, res.describe()
        # torch: "Error(s) in loading state_dict for WithScalar:\n\t<line>\n\t<line>"
        torch_lines = msg.split("\n")[1:]
        mft_lines = res.out.split("\n\n")[0].split("\n")[1:]
        assert mft_lines == torch_lines, (name, res.out, msg)
        doc = run_mft("check", tmp_path / f"{name}.pt", "--against", ref, "--json", check=1).json()
        assert doc["ok"] is False
    # DataParallel: the prefix goes, and the hint says so
    res = run_mft("check", tmp_path / "dp.pt", "--against", ref, check=1)
    assert 'try --strip-prefix module.' in res.out
    run_mft("check", tmp_path / "dp.pt", "--against", ref, "--strip-prefix", "module.", check=0)
    # a checkpoint: --select picks its state_dict
    res = run_mft("check", tmp_path / "ckpt.pt", "--against", ref, check=1)
    assert "try --select model_state_dict" in res.out
    run_mft("check", tmp_path / "ckpt.pt", "--against", ref, "--select", "model_state_dict", check=0)
    doc = run_mft("check", tmp_path / "ok_half.pt", "--against", ref, "--json", check=0).json()
    assert doc["ok"] is True and len(doc["dtype_cast"]) == 9  # 9 float tensors cast; num_batches_tracked not


# ---- get prints tensors as torch's print() does -------------------------------------------------------

TORCH_PRINT = r"""
import json, sys, torch
torch.manual_seed(0)
nan, inf = float("nan"), float("inf")
x = torch.tensor([-1.0, 0.0, 1.0, 2.5, -12.8, 0.35])
T = {
    "int_small": torch.tensor([1, -2, 3]), "int_wide": torch.tensor([[1, 200000], [-3, 4]]),
    "i8": torch.tensor([-128, 0, 127], dtype=torch.int8), "u8": torch.tensor([0, 255], dtype=torch.uint8),
    "i16": torch.arange(-5, 5, dtype=torch.int16), "i32_2d": torch.arange(12, dtype=torch.int32).reshape(3, 4),
    "i64_extremes": torch.tensor([2**63 - 1, -2**63, 0]),
    "bool": torch.tensor([True, False, True]), "bool_2d": torch.tensor([[True, False], [False, True]]),
    "bool_big": torch.rand(1001) > 0.5,
    "float": torch.tensor([0.1, 0.25, -3.5]), "float_intvals": torch.tensor([1.0, -2.0, 3.0]),
    "float_intvals_big": torch.tensor([1.0, 1e9]), "float_sci_small": torch.tensor([1e-5, 1.0]),
    "float_sci_ratio": torch.tensor([0.001, 10.0, 3.0]), "float_sci_big": torch.tensor([1e10, 2.5]),
    "zeros": torch.zeros(3), "zeros_nan": torch.tensor([0.0, nan]), "nan_inf": torch.tensor([1.5, nan, inf, -inf]),
    "neg_zero": torch.tensor([-0.0, 1.0]), "int_mode_nan": torch.tensor([1.0, nan, 100.0]),
    "f16": torch.tensor([0.1, 65504.0, -0.0, 1.5], dtype=torch.float16),
    "f16_big": torch.randn(1200).half(), "bf16": torch.tensor([1.0, 3.140625, -2.5], dtype=torch.bfloat16),
    "bf16_2d": torch.randn(4, 20).bfloat16(), "f64": torch.tensor([1 / 3, -2.0], dtype=torch.float64),
    "f64_tiny": torch.tensor([5e-324, 1e308], dtype=torch.float64),
    "scalar_f": torch.tensor(-2.5), "scalar_i": torch.tensor(7), "scalar_b": torch.tensor(True),
    "scalar_f16": torch.tensor(0.5, dtype=torch.float16), "scalar_nan": torch.tensor(nan),
    "scalar_0": torch.tensor(0.0), "c_scalar": torch.tensor(3 - 4j),
    "empty_f": torch.zeros(0), "empty_i": torch.zeros(0, dtype=torch.int64), "empty_2d": torch.zeros(2, 0),
    "empty_f16_3d": torch.zeros(0, 3, 4, dtype=torch.float16),
    "big_1d": torch.arange(2000, dtype=torch.float32) / 7, "big_2d": torch.randn(50, 40),
    "big_int": torch.arange(1500), "three_d": torch.randn(2, 3, 4), "three_d_big": torch.randn(10, 20, 30),
    "four_d": torch.arange(24.0).reshape(1, 2, 3, 4), "wrap": torch.randn(30), "wrap_int": torch.arange(100) * 12345,
    "u8_3d": torch.arange(24, dtype=torch.uint8).reshape(2, 3, 4), "col": torch.randn(5, 1),
    "row_summ": torch.randn(1, 1200), "mixed_sci_2d": torch.tensor([[1e-8, 1.0], [5.0, 1e3]]),
    "long_suffix": torch.arange(70, dtype=torch.int16).reshape(7, 10),
    "long_suffix2": torch.arange(11, dtype=torch.int8) * 10,
    "c64": torch.tensor([1 + 2j, -0.5 - 0.25j]), "c128": torch.tensor([1 / 3 + 1j, 0j], dtype=torch.complex128),
    "c64_big": torch.randn(1100, dtype=torch.complex64),
    "c64_nan": torch.tensor([complex(nan, 1.0), complex(inf, -inf), 1 - 0j]),
    "qi8": torch.quantize_per_tensor(x, 0.1, -3, torch.qint8),
    "qu8": torch.quantize_per_tensor(x, 0.05, 128, torch.quint8),
    "qi32": torch.quantize_per_tensor(x, 0.001, 7, torch.qint32),
    "qi8_channel": torch.quantize_per_channel(torch.randn(3, 4), torch.tensor([0.1, 0.2, 0.05], dtype=torch.float64),
                                              torch.tensor([0, -3, 5]), 0, torch.qint8),
    "qu8_channel_axis1": torch.quantize_per_channel(torch.randn(2, 3), torch.tensor([0.1, 0.02, 0.3], dtype=torch.float64),
                                                    torch.tensor([0, 128, 255]), 1, torch.quint8),
    "qbig": torch.quantize_per_tensor(torch.randn(40, 40), 0.01, 0, torch.qint8),
    "transposed": torch.arange(12.0).reshape(3, 4).t(),
}
torch.save(T, sys.argv[1])
print(json.dumps({k: str(v) for k, v in T.items()}))
"""


def test_get_prints_like_torch(tmp_path, mft_bin):
    path = tmp_path / "p.pt"
    want = run_torch(TORCH_PRINT, path)
    bad = []
    for name, text in want.items():
        res = subprocess.run([mft_bin, "get", str(path), "--", name], capture_output=True, timeout=60)
        got = res.stdout.decode()
        if res.returncode != 0 or got != text + "\n":
            bad.append(f"--- {name}\ntorch:\n{text}\nmft:\n{got}{res.stderr.decode()}")
    assert not bad, "\n".join(bad)


# ---- tree and info --------------------------------------------------------------------------------------

def test_tree_and_info_agree(torch113_fixtures, run_mft):
    directory, manifest = torch113_fixtures
    for entry in manifest["files"]:
        path = directory / entry["file"]
        info = run_mft("info", path, "--json", check=0).json()
        tree = run_mft("tree", path, "--json", check=0).json()
        assert (tree["parameters"], tree["nbytes"], tree["tensors"]) == \
               (info["parameters"], info["nbytes"], info["tensors"]), entry["file"]
        run_mft("tree", path, "--depth", "1", check=0)


def test_tree_kinds(torch113_fixtures, run_mft):
    directory, _ = torch113_fixtures
    doc = run_mft("tree", directory / "sd_convnet.pt", "--json", check=0).json()
    kinds = {c["name"]: c.get("kind") for c in doc["children"]}
    assert kinds == {"0": "Conv2d", "1": "BatchNorm", "4": "Linear"}
    doc = run_mft("tree", directory / "sd_embed_ln.pt", "--json", check=0).json()
    # an unnamed [7, 4] weight without bias reads as a bias-free Linear: names decide Embedding
    assert [c.get("kind") for c in doc["children"]] == ["Linear", "LayerNorm", "Linear"]
    doc = run_mft("tree", directory / "model_main_blocks.pt", "--json", check=0).json()
    kinds = {c["name"]: (c.get("kind"), c.get("detail")) for c in doc["children"]}
    assert kinds["embed"] == ("Embedding", "5 x 4") and kinds["out"] == ("Linear", "4 -> 5, no bias")
    doc = run_mft("tree", directory / "ts_traced.pt", "--json", check=0).json()
    assert [c.get("kind") for c in doc["children"]] == ["Conv2d", "BatchNorm", "Linear"]


def test_info_checkpoint_contents(torch113_fixtures, run_mft):
    directory, _ = torch113_fixtures
    doc = run_mft("info", directory / "checkpoint.pth", "--json", check=0).json()
    c = {e["key"]: e for e in doc["contents"]}
    assert c["epoch"] == {"key": "epoch", "kind": "int", "value": 50}
    assert c["best_acc"]["value"] == 95.67
    assert c["model_state_dict"]["tensors"] == 4 and c["optimizer_state_dict"]["tensors"] == 12
    text = run_mft("info", directory / "checkpoint.pth", check=0).out
    assert "  epoch                 50\n" in text and "  best_acc              95.67\n" in text


def test_ls_stats_is_stats(stats_file, run_mft):
    path, _ = stats_file
    ls = run_mft("ls", path, "--json", "--stats", "--filter", "f*", check=0).json()
    st = run_mft("stats", path, "--json", "--filter", "f*", check=0).json()
    assert [t["name"] for t in ls["tensors"]] == [t["name"] for t in st["tensors"]]
    for a, b in zip(ls["tensors"], st["tensors"]):
        assert a["stats"] == {k: b[k] for k in ("min", "max", "mean", "std", "nan", "inf", "zeros")}


def test_block_types_diff_by_digest_and_skip_stats(tmp_path, run_mft):
    """GGUF block-quantized tensors: diff compares their bytes (by digest), stats skips them with a
    reason, tree and info still count them."""
    import gguf
    from gguf.quants import quantize

    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 64)).astype(np.float32)

    def write(path, q):
        w = gguf.GGUFWriter(str(path), "llama")
        w.add_tensor("token_embd.weight", x)
        w.add_tensor("blk.0.attn_q.weight", q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    q = quantize(x, gguf.GGMLQuantizationType.Q8_0)
    write(tmp_path / "a.gguf", q)
    q2 = q.copy()
    q2.reshape(-1)[5] ^= 1
    write(tmp_path / "b.gguf", q2)
    same = run_mft("diff", tmp_path / "a.gguf", tmp_path / "a.gguf", "--json", check=0).json()
    assert same["same"] and {t["status"] for t in same["tensors"]} == {"identical"}
    doc = run_mft("diff", tmp_path / "a.gguf", tmp_path / "b.gguf", "--json", check=1).json()
    t = {x["name"]: x for x in doc["tensors"]}
    assert t["blk.0.attn_q.weight"]["status"] == "different" and t["blk.0.attn_q.weight"]["compared"] == "bytes"
    assert t["token_embd.weight"]["status"] == "identical"
    st = {x["name"]: x for x in run_mft("stats", tmp_path / "a.gguf", "--json", check=0).json()["tensors"]}
    assert st["blk.0.attn_q.weight"]["skipped"] == "no statistics for Q8_0"
    assert st["blk.0.attn_q.weight"]["mean"] is None
    tree = run_mft("tree", tmp_path / "a.gguf", "--json", check=0).json()
    assert tree["parameters"] == 2 * 8 * 64
