#!/usr/bin/env python3
"""Write PyTorch fixture files with the real torch, plus OUTDIR/manifest.json: the oracle for mft's
PyTorch readers (tests/test_torch_read.py).

    gen_torch_fixtures.py [--clean] [--only FILE]... OUTDIR

Runs under Debian's python3-torch 1.13 (`/usr/bin/python3`, what `make test` uses, into a temporary
directory) and under torch 2.x (scripts/venv-torch.sh; `make fixtures-torch2` writes the committed
tests/fixtures/torch2/).  What a torch version cannot write (uint16/32/64, float8, complex32 and the
byteorder trick need 2.x) is left out and listed under "omitted" in the manifest.  --clean first
removes the files an existing OUTDIR/manifest.json names (and the manifest), nothing else.

Every file is reloaded with torch (pickle for the raw pickles) and the manifest entry is computed from
the reloaded object; it is also computed from the object before saving and the two must agree (a
fixture may declare where a torch version is known to lose something), so the manifest is what torch
itself reads back.

manifest.json
-------------
{"generator": "tools/gen_torch_fixtures.py", "torch": "<torch.__version__>", "python": "3.11.2",
 "omitted": {"<what>": "<why>"},
 "files": [ENTRY, ...]}

ENTRY = {
  "file": "checkpoint.pth",              name inside OUTDIR
  "format": "pytorch-zip",               DESIGN §4: pytorch-zip | pytorch-legacy | torchscript | pickle
  "torch": "1.13.0a0",                   version that wrote it (raw pickles too: same generator run)
  "description": "...",
  "tensors": [TENSOR, ...],              traversal order (see below)
  "values": {"path": JSON, ...},         every non-tensor leaf, traversal order
  "show": "...\\n"                       expected `mft show FILE` stdout (contract in tests/test_torch_read.py)
}
TENSOR = {"name", "dtype", "shape", "nbytes", "sha256"[, "quant"][, "tolist"]}   dense tensors
       | {"name", "dtype", "shape", "kind": "sparse_coo" | "sparse_csr"}         sparse tensors
  name    DESIGN §3 path.  dtype: mft name (F32 … C128, F8_*, F4, QI8 QU8 QI32).  shape: row-major,
          logical (an F4 tensor — torch float4_e2m1fn_x2, two values per byte — has its last dimension
          doubled, as safetensors' F4).  nbytes: elements × element size (F4: packed bytes).
  sha256  of the logical elements in row-major order, little-endian (the conj/neg math bits of a
          torch tensor applied; BOOL 1 byte; quantized tensors: the stored integers, int_repr()).
  quant   quantized only: {"scale": [float64...], "zero_point": [int...]} (+ "axis": k per channel).
  tolist  only when numel <= 64 (and not F4): the values, nested like t.tolist(); floats of every
          float dtype as exact JSON doubles or "NaN"/"Infinity"/"-Infinity"; complex elements as
          [re, im]; quantized: the stored integers.
JSON for values: int (exact, any size), float (or "NaN"/"Infinity"/"-Infinity"), str, bool, null,
bytes as {"bytes_hex": "..."}, an empty list/tuple/set as [], an empty dict as {}.

Traversal (DESIGN §3): depth first from the root; dict items in stored order (an OrderedDict like a
dict; the `_metadata` attribute of a state_dict is not part of the tree); list/tuple items by index;
set/frozenset items by index in pickle order (their iteration order when saved); path components
joined with '.': str keys as written, int keys and indices in decimal.  A pickled nn.Module (whole
model) and a TorchScript module are replaced by their state_dict() (torch.jit.load(f).state_dict()
for TorchScript), so they contribute tensors only.  Any other object (argparse.Namespace, a
dataclass) contributes its attributes (its pickled __dict__ state, in order) by attribute name.  A
root that is a single tensor is named after the file without its extension.  A path that repeats
gets '#k' on its k-th repeat; the generator refuses fixtures where a tensor path and a value path
collide, so counting repeats over tensors only or over all leaves gives the same names.
"""

import argparse
import collections
import dataclasses
import hashlib
import io
import json
import math
import pickle
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mft_fixture_blocks as blocks  # noqa: E402

TORCH_VERSION = torch.__version__
TORCH2 = int(TORCH_VERSION.split(".")[0]) >= 2

# ---------------------------------------------------------------------------------------------------
# dtypes

_DTYPE_NAMES = {
    "float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16",
    "int8": "I8", "uint8": "U8", "int16": "I16", "int32": "I32", "int64": "I64",
    "uint16": "U16", "uint32": "U32", "uint64": "U64", "bool": "BOOL",
    "complex32": "C32", "complex64": "C64", "complex128": "C128",
    "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
    "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0",
    "float4_e2m1fn_x2": "F4",
    "qint8": "QI8", "quint8": "QU8", "qint32": "QI32",
}
MFT_DTYPES = {}
for _n, _m in _DTYPE_NAMES.items():
    _dt = getattr(torch, _n, None)
    if isinstance(_dt, torch.dtype):
        MFT_DTYPES[_dt] = _m


def mft_dtype(dt):
    try:
        return MFT_DTYPES[dt]
    except KeyError:
        raise ValueError(f"no mft dtype name for {dt}") from None


def has_dtype(name):
    return isinstance(getattr(torch, name, None), torch.dtype)


# ---------------------------------------------------------------------------------------------------
# JSON encodings

def json_float(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def json_leaf(x):
    if isinstance(x, str) and x in ("NaN", "Infinity", "-Infinity"):
        raise ValueError(f"a str value {x!r} would read as a non-finite float in the manifest")
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return json_float(x)
    if isinstance(x, bytes):
        return {"bytes_hex": x.hex()}
    raise TypeError(f"not a leaf: {type(x)}")


def map_nested(data, fn):
    if isinstance(data, list):
        return [map_nested(x, fn) for x in data]
    return fn(data)


# ---------------------------------------------------------------------------------------------------
# tensors

def logical(t):
    """The tensor as torch presents it: detached, math bits (conj/neg) applied."""
    t = t.detach()
    if t.is_complex() and t.is_conj():
        t = t.resolve_conj()
    if hasattr(t, "is_neg") and t.is_neg():
        t = t.resolve_neg()
    return t


def tensor_bytes(t):
    """Row-major little-endian bytes of a dense tensor's elements (int_repr for quantized)."""
    if t.is_quantized:
        t = t.int_repr()
    t = logical(t)
    c = t.contiguous().reshape(-1)
    if c.numel() == 0:
        return b""
    if sys.byteorder != "little":
        raise RuntimeError("this generator assumes a little-endian host")
    return c.view(torch.uint8).numpy().tobytes()


def tensor_tolist(t):
    if t.is_quantized:
        return t.int_repr().tolist()
    t = logical(t)
    if t.is_complex():
        wide = t.to(torch.complex128) if t.dtype != torch.complex128 else t
        return map_nested(torch.view_as_real(wide).tolist(), json_float)
    if t.is_floating_point():
        return map_nested(t.float().double().tolist() if t.dtype != torch.float64 else t.tolist(), json_float)
    return t.tolist()


SPARSE_KINDS = {torch.sparse_coo: "sparse_coo"}
for _lay in ("sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc"):
    if hasattr(torch, _lay):
        SPARSE_KINDS[getattr(torch, _lay)] = _lay


def tensor_entry(t, name):
    t = t.detach()
    if t.layout != torch.strided:
        kind = SPARSE_KINDS[t.layout]
        return {"name": name, "dtype": mft_dtype(t.dtype), "shape": list(t.shape), "kind": kind}
    dtype = mft_dtype(t.dtype)
    shape = list(t.shape)
    raw = tensor_bytes(t)
    if dtype == "F4":
        if not shape:
            raise ValueError("0-d F4 tensors are not representable")
        shape[-1] *= 2
    e = {"name": name, "dtype": dtype, "shape": shape, "nbytes": len(raw),
         "sha256": hashlib.sha256(raw).hexdigest()}
    if t.is_quantized:
        if t.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
            e["quant"] = {"scale": [float(t.q_scale())], "zero_point": [int(t.q_zero_point())]}
        else:
            e["quant"] = {"scale": [float(x) for x in t.q_per_channel_scales().tolist()],
                          "zero_point": [int(x) for x in t.q_per_channel_zero_points().tolist()],
                          "axis": int(t.q_per_channel_axis())}
    if t.numel() <= 64 and dtype != "F4":
        e["tolist"] = tensor_tolist(t)
    return e


def tensor_show(t):
    t = t.detach()
    shape = list(t.shape)
    dtype = mft_dtype(t.dtype)
    if dtype == "F4":
        shape[-1] *= 2
    s = f"tensor(shape=[{', '.join(str(d) for d in shape)}], dtype={dtype}"
    if t.layout != torch.strided:
        s += f", kind={SPARSE_KINDS[t.layout]}"
    return s + ")"


# ---------------------------------------------------------------------------------------------------
# the value-tree walk: tensors, values and `mft show` text in one pass

class Walk:
    """Walk a loaded object the way mft must: collect tensor entries and value leaves (with paths) in
    traversal order and build the `mft show` text.  set_order="pickle" keeps sets in iteration order
    (= the order pickle writes them); "sorted" sorts them (to compare objects across a pickle round
    trip, where Python may iterate a set differently)."""

    def __init__(self, stem, set_order="pickle"):
        self.stem = stem
        self.set_order = set_order
        self.leaves = []  # (kind, base path, payload)

    @staticmethod
    def join(path, key):
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise TypeError(f"dict key {key!r} is neither str nor int: no DESIGN §3 path")
        key = str(key)
        return key if path is None else f"{path}.{key}"

    def run(self, obj):
        show = self.node(obj, None)
        tensors, values, seen = [], {}, {}
        kinds = {}
        for kind, path, payload in self.leaves:
            kinds.setdefault(path, set()).add(kind)
            k = seen.get(path, 0)
            seen[path] = k + 1
            name = path if k == 0 else f"{path}#{k}"
            if kind == "tensor":
                tensors.append(tensor_entry(payload, name))
            else:
                values[name] = payload
        mixed = sorted(p for p, ks in kinds.items() if len(ks) > 1)
        if mixed:
            raise ValueError(f"tensor and value paths collide: {mixed}")
        return tensors, values, show + "\n"

    def leaf(self, x, path):
        if path is None:
            raise ValueError("a root that is a plain value has no path")
        self.leaves.append(("value", path, json_leaf(x)))

    def node(self, x, path):
        if isinstance(x, torch.jit.ScriptModule) or isinstance(x, nn.Module):
            return self.mapping(x.state_dict(), path)
        if isinstance(x, torch.Tensor):
            self.leaves.append(("tensor", self.stem if path is None else path, x))
            return tensor_show(x)
        if isinstance(x, dict):
            if type(x) not in (dict, collections.OrderedDict):
                raise TypeError(f"unexpected mapping type {type(x)}")
            return self.mapping(x, path)
        if type(x) is list:
            if not x:
                self.leaf_empty([], path)
            return "[" + ", ".join(self.node(v, self.join(path, i)) for i, v in enumerate(x)) + "]"
        if type(x) is tuple:
            if not x:
                self.leaf_empty([], path)
            items = [self.node(v, self.join(path, i)) for i, v in enumerate(x)]
            return "(" + items[0] + ",)" if len(items) == 1 else "(" + ", ".join(items) + ")"
        if type(x) in (set, frozenset):
            order = list(x)
            if self.set_order == "sorted":
                order = sorted(order, key=lambda v: (type(v).__name__, repr(v)))
            if not x:
                self.leaf_empty([], path)
                return "set()" if type(x) is set else "frozenset()"
            inner = "{" + ", ".join(self.node(v, self.join(path, i)) for i, v in enumerate(order)) + "}"
            return inner if type(x) is set else f"frozenset({inner})"
        if x is None or type(x) in (bool, int, float, str, bytes):
            self.leaf(x, path)
            return repr(x)
        if hasattr(x, "__dict__") and type(x).__module__ not in ("torch", "builtins"):
            cls = type(x)
            state = x.__dict__
            parts = [f"{k}={self.node(v, self.join(path, k))}" for k, v in state.items()]
            return f"{cls.__module__}.{cls.__qualname__}(" + ", ".join(parts) + ")"
        raise TypeError(f"the generator does not model {type(x)} at {path}")

    def leaf_empty(self, empty, path):
        if path is None:
            raise ValueError("an empty root has no path")
        self.leaves.append(("value", path, empty))

    def mapping(self, d, path):
        if not d:
            self.leaf_empty({}, path)
        parts = []
        for k, v in d.items():
            parts.append(f"{k!r}: {self.node(v, self.join(path, k))}")
        return "{" + ", ".join(parts) + "}"


# ---------------------------------------------------------------------------------------------------
# save / load helpers

def torch_load(path):
    if TORCH2:
        return torch.load(path, weights_only=False)
    return torch.load(path)


class Spec:
    """One fixture: how to save it, how torch loads it back, what torch should give back."""

    def __init__(self, fmt, obj, save, load, expect=None, description="", lossy=None, sets=False):
        self.fmt = fmt
        self.obj = obj
        self.save = save
        self.load = load
        self.expect = obj if expect is None else expect  # what loading should give back
        self.description = description
        self.lossy = lossy    # None, or why the reload may differ from `expect` under this torch
        self.sets = sets      # manifest from the original object (pickle order of sets)


def zip_spec(obj, description, **kw):
    lossy = kw.pop("lossy", None)
    expect = kw.pop("expect", None)
    return Spec("pytorch-zip", obj, lambda p: torch.save(obj, p, **kw), torch_load, expect=expect,
                description=description, lossy=lossy)


def legacy_spec(obj, description, **kw):
    return Spec("pytorch-legacy", obj,
                lambda p: torch.save(obj, p, _use_new_zipfile_serialization=False, **kw),
                torch_load, description=description)


def jit_spec(module, description):
    return Spec("torchscript", module, lambda p: torch.jit.save(module, p), torch.jit.load,
                description=description)


def pickle_spec(obj, protocol, description):
    def save(p):
        with open(p, "wb") as f:
            pickle.dump(obj, f, protocol=protocol)

    def load(p):
        with open(p, "rb") as f:
            return pickle.load(f)  # our own file, just written

    return Spec("pickle", obj, save, load, description=description, sets=True)


# ---------------------------------------------------------------------------------------------------
# models

class MainBlock(nn.Module):
    """A custom block defined in __main__ (pickled as `__main__.MainBlock`)."""

    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.gate = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return x + self.gate * self.ff(self.norm(x))


class MainNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5, 4)
        self.layers = nn.Sequential(MainBlock(4), MainBlock(4))
        self.out = nn.Linear(4, 5, bias=False)

    def forward(self, idx):
        return self.out(self.layers(self.embed(idx)))


class WithNonPersistent(nn.Module):
    """A persistent and a non-persistent buffer: state_dict() (and so mft) names only the first."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.register_buffer("mask", torch.tensor([1.0, 0.0, 1.0]))
        self.register_buffer("cache", torch.arange(3.0), persistent=False)
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x):
        return self.bn(self.lin(x) * self.mask + self.cache)


@dataclasses.dataclass
class TrainConfig:
    dim: int
    act: str
    dropout: float
    milestones: tuple


def mlp():
    return nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))


def convnet():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))


def embed_ln():
    return nn.Sequential(nn.Embedding(7, 4), nn.LayerNorm(4), nn.Linear(4, 7))


def trained_checkpoint():
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    losses = []
    x, y = torch.randn(4, 10), torch.randn(4, 5)
    for _ in range(2):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return {
        "epoch": 50,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "scheduler_state_dict": sched.state_dict(),
        "losses": losses,
        "best_acc": 95.67,
        "config": {"name": "x", "layers": (1, 2), "flag": True, "none": None, 3: "int key"},
    }


# ---------------------------------------------------------------------------------------------------
# fixture objects

def dtype_dict():
    nan, inf = float("nan"), float("inf")
    d = {
        "f32": torch.tensor([[1.5, -0.0, nan], [inf, -inf, 1e-45], [0.1, 3.4028234663852886e38, -2.75]],
                            dtype=torch.float32),
        "f64": torch.tensor([0.1, 1e308, 5e-324, -nan, 2.0 ** 60, -1.0 / 3], dtype=torch.float64),
        "f16": torch.tensor([0.1, 65504.0, -0.0, nan, inf, 6e-08, -1.5], dtype=torch.float16),
        "bf16": torch.tensor([1.0, 3.140625, -3.0e38, nan, -inf, 1e-40, 0.0], dtype=torch.bfloat16),
        "i8": torch.tensor([-128, 127, 0, -1], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "i16": torch.tensor([-32768, 32767, 0, -2], dtype=torch.int16),
        "i32": torch.tensor([[-2 ** 31, 2 ** 31 - 1], [7, -7]], dtype=torch.int32),
        "i64": torch.tensor([2 ** 63 - 1, -2 ** 63, 2 ** 53 + 1, -(2 ** 53 + 1), 0], dtype=torch.int64),
        "bool": torch.tensor([[True, False], [False, True]]),
        "c64": torch.tensor([1 + 2j, -0.5 - 0j, complex(nan, 1.0), complex(inf, -inf)], dtype=torch.complex64),
        "c128": torch.tensor([1 / 3 + 1e-300j, -2j], dtype=torch.complex128),
        "scalar_f32": torch.tensor(-2.5),
        "scalar_i64": torch.tensor(-(2 ** 62)),
        "scalar_bool": torch.tensor(True),
        "scalar_c64": torch.tensor(3 - 4j, dtype=torch.complex64),
        "empty_f32_2x0": torch.zeros(2, 0),
        "empty_i64": torch.zeros(0, dtype=torch.int64),
        "empty_f16_0x3x4": torch.zeros(0, 3, 4, dtype=torch.float16),
        "big_f32": torch.linspace(-1, 1, 100).reshape(10, 10),  # > 64 elements: no tolist
    }
    omitted = {}
    # dtypes only newer torch has (each from exact bit patterns where that matters)
    if has_dtype("uint16"):
        d["u16"] = torch.tensor([0, 65535, 256], dtype=torch.int32).to(torch.uint16)
        d["u32"] = torch.tensor([0, 2 ** 32 - 1, 65536], dtype=torch.int64).to(torch.uint32)
        d["u64"] = torch.tensor([0, -1, -2 ** 63, 2 ** 53 + 1], dtype=torch.int64).view(torch.uint64)
    else:
        omitted["U16 U32 U64"] = f"torch {TORCH_VERSION} has no uint16/uint32/uint64"
    f8 = {
        "float8_e4m3fn": ("f8_e4m3", [0x00, 0x80, 0x01, 0x7E, 0xFE, 0x7F, 0x38, 0x08]),
        "float8_e5m2": ("f8_e5m2", [0x00, 0x80, 0x01, 0x7B, 0x7C, 0xFC, 0x7E, 0x3C]),
        "float8_e4m3fnuz": ("f8_e4m3fnuz", [0x00, 0x80, 0x01, 0x7F, 0xFF, 0x40]),
        "float8_e5m2fnuz": ("f8_e5m2fnuz", [0x00, 0x80, 0x01, 0x7F, 0xFF, 0x40]),
        "float8_e8m0fnu": ("f8_e8m0", [0x00, 0x7F, 0xFE, 0xFF, 0x80]),
    }
    for tname, (key, bits) in f8.items():
        if has_dtype(tname):
            d[key] = torch.tensor(bits, dtype=torch.uint8).view(getattr(torch, tname))
        else:
            omitted[_DTYPE_NAMES[tname]] = f"torch {TORCH_VERSION} has no {tname}"
    c32_ok = False
    if has_dtype("complex32"):
        try:
            buf = io.BytesIO()
            torch.save(torch.zeros(1, dtype=torch.complex32), buf)
            c32_ok = True
        except Exception as e:  # 1.13: "dtype torch.complex32 is not recognized"
            omitted["C32"] = f"torch {TORCH_VERSION} cannot save complex32 ({e})"
    if c32_ok:
        d["c32"] = torch.tensor([1 + 2j, -0.5 + 0.25j, complex(float("inf"), 0)]).to(torch.complex32)
    return d, omitted


def views_dict():
    base = torch.arange(48, dtype=torch.float32).reshape(6, 8)
    w = torch.randn(3, 4)
    return {
        "slice_offset": base.view(-1)[5:9],          # contiguous, storage offset 5
        "transpose": base.t(),                       # (8, 6), strides (1, 8)
        "mid": base[2:5, 3:6],                       # non-contiguous window in the middle, offset 19
        "row": base[4],                              # offset 32
        "col": base[:, 7],                           # stride 8, offset 7
        "step": base.view(-1)[1::7],                 # stride 7
        "permute": base.reshape(2, 3, 8).permute(2, 0, 1),
        "scalar_view": base[1, 2],                   # 0-d at offset 10
        "empty_view": base[3:3],                     # (0, 8) at offset 24
        "expand": torch.arange(3.0).reshape(3, 1).expand(3, 4),   # stride (1, 0), own storage
        "expand_scalar": torch.tensor(7.0).expand(2, 3),          # stride (0, 0)
        "tied_a": w,                                 # the same tensor under two names
        "tied_b": w,
        "tied_t": w.t(),                             # and a transposed view of it
    }


def raw_value():
    shared = [1, 2]
    return {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, 2 ** 31 - 1, -2 ** 31, 2 ** 31, -2 ** 31 - 1,
                 2 ** 53 + 1, 2 ** 63 - 1, -2 ** 63, 2 ** 64 - 1, 2 ** 100, -2 ** 70],
        "floats": [0.0, -0.0, 1.5, 0.1, 1e-300, 5e-324, 1.7976931348623157e308, 1e16, 1e-05,
                   123456789.125, 95.67, float("nan"), float("inf"), float("-inf")],
        "strs": ["", "plain", "it's", 'say "hi"', "both ' and \"", "tab\tnl\ncr\r", "back\\slash",
                 "é ü 日本", "\x00\x7f\x1b"],
        "bytes": [b"", b"abc", b"\x00\xff\x80", b"it's", b'a"b'],
        "consts": [None, True, False],
        "nested": {
            "tuple0": (), "tuple1": (1,), "tuple3": (1, "two", 3.0),
            "list": [[1, [2, [3, []]]]], "dict": {}, "set": {100, 7, 33}, "emptyset": set(),
            "frozen": frozenset({5, 13, 21}), 3: "int key", -5: "neg key",
            "deep": [[[[[[[[[["bottom"]]]]]]]]]],
        },
        "shared": [shared, shared],
    }


def paths_dict():
    t = lambda i: torch.full((2,), float(i))  # noqa: E731
    return {
        "a.b.c": t(1),
        "a.b": {"c": t(2)},
        "a": {"b": {"c": t(3)}, "b.x": t(4)},
        1: t(5),
        "1": t(6),
        "list": [t(7), {"x": t(8)}],
        "tup": (t(9),),
        -1: t(10),
        "meta": {"note": "path rules", "n": 3},
    }


def byteswapped(t):
    """A tensor whose memory holds t's elements byte-swapped (complex: each component), i.e. what a
    big-endian machine holds in memory for the same values."""
    t = t.contiguous()
    size = t.element_size() // 2 if t.is_complex() else t.element_size()
    if size == 1 or t.numel() == 0:
        return t.clone()
    u8 = t.reshape(-1).view(torch.uint8).reshape(-1, size).flip(1).reshape(-1)
    return u8.view(t.dtype).reshape(t.shape).clone()


def big_endian_spec():
    values = {
        "f32": torch.tensor([1.5, -2.25, float("nan"), 3.4028234663852886e38]),
        "f64": torch.tensor([0.1, -1e300], dtype=torch.float64),
        "f16": torch.tensor([0.5, -65504.0], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.0e38], dtype=torch.bfloat16),
        "i16": torch.tensor([1, -2, 0x1234], dtype=torch.int16),
        "i32": torch.tensor([[1, -2], [0x12345678, -2 ** 31]], dtype=torch.int32),
        "i64": torch.tensor([1, -2, 0x0102030405060708], dtype=torch.int64),
        "c64": torch.tensor([1 + 2j, -3.5 + 0.25j], dtype=torch.complex64),
        "u8": torch.tensor([1, 2, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False]),
        "scalar": torch.tensor(-7.5),
    }
    swapped = {k: byteswapped(v) for k, v in values.items()}
    # a non-contiguous view at an offset into a bigger byte-swapped storage
    base = torch.arange(12, dtype=torch.int32).reshape(3, 4) * 0x01010101
    values["view"] = base[1:, 1:3]
    swapped["view"] = byteswapped(base)[1:, 1:3]

    def save(p):
        old = sys.byteorder
        try:
            sys.byteorder = "big"  # torch.save writes sys.byteorder into the `byteorder` record
            torch.save(swapped, p)
        finally:
            sys.byteorder = old

    return Spec("pytorch-zip", swapped, save, torch_load, expect=values,
                description="what a big-endian machine writes: torch 2.x's own writer with "
                            "sys.byteorder='big' and every storage byte-swapped; torch.load swaps back")


# ---------------------------------------------------------------------------------------------------
# the fixture list: (file name, requirement or None, builder -> Spec)

def fixtures():
    F = []

    def add(name, fn, requires=None):
        F.append((name, fn, requires))

    add("sd_mlp.pt", lambda: zip_spec(mlp().state_dict(), "state_dict of Linear-ReLU-Linear"))
    add("sd_convnet.pt", lambda: zip_spec(convnet().state_dict(),
                                          "state_dict of Conv2d-BatchNorm2d-ReLU-Flatten-Linear"))
    add("sd_embed_ln.pt", lambda: zip_spec(embed_ln().state_dict(), "state_dict of Embedding-LayerNorm-Linear"))
    add("pytorch_model.bin", lambda: zip_spec(
        collections.OrderedDict(
            (f"bert.{k}", v) for k, v in
            nn.ModuleDict({"embeddings": embed_ln(), "pooler": nn.Linear(7, 7)}).state_dict().items()),
        "a state_dict in a .bin (Hugging Face file name)"))
    add("sd_protocol4.pt", lambda: zip_spec(mlp().state_dict(), "state_dict saved with pickle_protocol=4 "
                                            "(FRAME, SHORT_BINUNICODE, MEMOIZE in data.pkl)", pickle_protocol=4))
    add("model_plain.pt", lambda: zip_spec(nn.Linear(4, 3), "torch.save(nn.Linear(4, 3)): whole module"))
    add("model_nested_seq.pt", lambda: zip_spec(
        nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8)),
                      nn.Sequential(nn.BatchNorm1d(8), nn.Sequential(nn.Linear(8, 2)))),
        "whole nested nn.Sequential"))
    add("model_helper_blocks.pt", lambda: zip_spec(blocks.HelperNet(), "whole model of classes from the helper "
                                                   "module mft_fixture_blocks (ModuleList, bias=None, a plain "
                                                   "tensor attribute, a buffer)"))
    add("model_main_blocks.pt", lambda: zip_spec(MainNet(), "whole model of classes defined in __main__"))
    add("model_nonpersistent.pt", lambda: zip_spec(WithNonPersistent(), "whole model with a non-persistent "
                                                   "buffer (not in state_dict)"))
    add("ckpt_with_model.pt", lambda: zip_spec({"epoch": 3, "model": blocks.HelperNet(), "arch": "helper"},
                                               "a whole model inside a checkpoint dict"))
    add("checkpoint.pth", lambda: zip_spec(trained_checkpoint(), "training checkpoint: model, Adam after 2 "
                                           "steps, StepLR, losses, config with an int key"))
    add("checkpoint_objects.pt", lambda: zip_spec({
        "args": argparse.Namespace(lr=0.01, name="run", layers=[64, 32], mask=torch.tensor([True, False])),
        "cfg": TrainConfig(dim=8, act="gelu", dropout=0.1, milestones=(10, 20)),
        "state_dict": embed_ln().state_dict(),
    }, "checkpoint with an argparse.Namespace and a __main__ dataclass"))

    def dtypes():
        d, _ = dtype_dict()
        return zip_spec(d, "every dtype this torch can save, specials, 0-d and empty tensors")
    add("dtypes.pt", dtypes)
    add("dtypes_f4.pt", lambda: zip_spec(
        {"f4": torch.tensor([[0x12, 0xF7], [0x00, 0x88]], dtype=torch.uint8).view(torch.float4_e2m1fn_x2)},
        "float4_e2m1fn_x2 (F4): torch shape [2, 2] bytes, mft shape [2, 4]"), requires="float4_e2m1fn_x2")
    add("views.pt", lambda: zip_spec(views_dict(), "views: storage offsets, transposes, stride 0, tied "
                                     "weights, windows into a bigger storage"))
    add("parameters.pt", lambda: zip_spec(parameters_dict(), "nn.Parameter values in a plain dict (with and "
                                          "without requires_grad, with Python attributes), a tensor with an "
                                          "attribute"))
    add("quantized.pt", lambda: zip_spec(quantized_dict(), "quantize_per_tensor (qint8, quint8, qint32) and "
                                         "quantize_per_channel (axis 0 and 1)"))
    add("sparse.pt", lambda: zip_spec(sparse_dict(), "sparse COO (uncoalesced and coalesced) and CSR tensors "
                                      "next to a dense one"))
    add("mathbits.pt", lambda: zip_spec(
        {"conj": torch.tensor([1 + 2j, 3 - 4j]).conj(), "neg": torch._neg_view(torch.tensor([1.0, -2.0, 0.0]))},
        "tensors with the lazy conj / neg bits set (torch 2.x records them; 1.13 drops them on save, so "
        "its file holds the plain values)",
        lossy=None if TORCH2 else "torch 1.13 saves the storage without the conj/neg bits"))
    add("paths.pt", lambda: zip_spec(paths_dict(), "DESIGN §3 path rules: dotted keys, repeats (#k), int keys, "
                                     "lists and tuples"))
    add("single_tensor.pt", lambda: zip_spec(torch.arange(6.0).reshape(2, 3), "root is one tensor: named "
                                             "after the file"))
    add("many.pt", lambda: zip_spec(many_dict(), "300 tensors (LONG_BINPUT memo indices) and a 1001-item "
                                    "dict (SETITEMS batches of 1000)"))
    add("legacy_state_dict.pt", lambda: legacy_spec(convnet().state_dict(), "legacy (pre-1.6) format "
                                                    "state_dict"))
    add("legacy_checkpoint.pt", lambda: legacy_spec(trained_checkpoint(), "legacy format training checkpoint"))
    add("legacy_model.pt", lambda: legacy_spec(blocks.HelperNet(), "legacy format whole model (class source "
                                               "in 'module' persistent ids)"))
    add("legacy_views.pt", lambda: legacy_spec(views_dict(), "legacy format views and shared storages"))
    add("legacy_tensor.pt", lambda: legacy_spec(torch.tensor([[1, -2], [3, -4]], dtype=torch.int16),
                                                "legacy format, root is one tensor"))
    add("legacy_protocol4.pt", lambda: legacy_spec(mlp().state_dict(), "legacy format with pickle_protocol=4",
                                                   pickle_protocol=4))
    add("ts_traced.pt", traced_spec)
    add("ts_scripted.pt", lambda: jit_spec(torch.jit.script(WithNonPersistent().eval()),
                                           "torch.jit.script with a non-persistent buffer (TorchScript "
                                           "keeps it in state_dict)"))
    for proto in range(6):
        add(f"raw_p{proto}.pkl", (lambda p: lambda: pickle_spec(
            raw_value(), p, f"pickle.dump protocol {p} of a nested value tree (no tensors)"))(proto))
    add("big_endian.pt", big_endian_spec, requires="torch2")
    return F


def parameters_dict():
    d = {
        "weight": nn.Parameter(torch.randn(3, 2)),
        "frozen": nn.Parameter(torch.randn(2), requires_grad=False),
        "plain": torch.randn(2, 2),
    }
    p = nn.Parameter(torch.ones(2))
    p.custom_attr = "kept by torch >= 2 (_rebuild_parameter_with_state)"
    d["with_attr"] = p
    t = torch.arange(3.0)
    t.note = 5  # torch >= 2: _rebuild_from_type_v2
    d["tensor_attr"] = t
    return d


def quantized_dict():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.5, -12.8, 0.35])
    return {
        "qi8": torch.quantize_per_tensor(x, 0.1, -3, torch.qint8),
        "qu8": torch.quantize_per_tensor(x, 0.05, 128, torch.quint8),
        "qi32": torch.quantize_per_tensor(x, 0.001, 7, torch.qint32),
        "qi8_channel": torch.quantize_per_channel(torch.randn(3, 4), torch.tensor([0.1, 0.2, 0.05], dtype=torch.float64),
                                                  torch.tensor([0, -3, 5]), 0, torch.qint8),
        "qu8_channel_axis1": torch.quantize_per_channel(torch.randn(2, 3),
                                                        torch.tensor([0.1, 0.02, 0.3], dtype=torch.float64),
                                                        torch.tensor([0, 128, 255]), 1, torch.quint8),
        "dense": torch.randn(2),
    }


def sparse_dict():
    coo = torch.sparse_coo_tensor(torch.tensor([[0, 1, 1], [2, 0, 2]]), torch.tensor([3.0, 4.0, 5.0]), (2, 3))
    d = {"coo": coo, "coo_coalesced": coo.coalesce(), "dense": torch.randn(2, 3)}
    d["csr"] = torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -3.0]]).to_sparse_csr()
    return d


def many_dict():
    d = collections.OrderedDict()
    for i in range(300):
        d[f"layers.{i}.w"] = torch.full((1,), float(i))
    d["hist"] = {i: i * i for i in range(1001)}
    return d


def traced_spec():
    model = convnet().eval()
    traced = torch.jit.trace(model, torch.randn(1, 1, 6, 6))
    return jit_spec(traced, "torch.jit.trace of Conv2d-BatchNorm2d-ReLU-Flatten-Linear")


# ---------------------------------------------------------------------------------------------------

def manifest_entry(path, spec, loaded):
    stem = path.stem
    if spec.sets:
        tensors, values, show = Walk(stem).run(spec.obj)
    else:
        tensors, values, show = Walk(stem).run(loaded)
    return {"file": path.name, "format": spec.fmt, "torch": TORCH_VERSION, "description": spec.description,
            "tensors": tensors, "values": values, "show": show}


def self_check(path, spec, loaded, entry):
    """The manifest (from the reloaded object) must agree with what was saved."""
    stem = path.stem
    order = "sorted" if spec.sets else "pickle"
    want = Walk(stem, order).run(spec.expect)
    got = Walk(stem, order).run(loaded)
    if json.dumps(want) != json.dumps(got):
        if spec.lossy:
            entry["note"] = spec.lossy
        else:
            raise AssertionError(f"{path.name}: reloaded object differs from the saved one:\n"
                                 f"saved:  {json.dumps(want)[:3000]}\nloaded: {json.dumps(got)[:3000]}")
    names = [t["name"] for t in entry["tensors"]]
    if isinstance(loaded, (nn.Module, torch.jit.ScriptModule)):
        sd_names = list(loaded.state_dict().keys())
        if names != sd_names:
            raise AssertionError(f"{path.name}: names {names} != state_dict keys {sd_names}")
    if spec.fmt == "torchscript":
        again = torch.jit.load(str(path))
        if names != list(again.state_dict().keys()):
            raise AssertionError(f"{path.name}: names differ from torch.jit.load(f).state_dict()")
    if len(set(names)) != len(names):
        raise AssertionError(f"{path.name}: duplicate tensor names {names}")
    # the show text is one line
    if entry["show"].count("\n") != 1:
        raise AssertionError(f"{path.name}: show text is not one line")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--clean", action="store_true",
                    help="first remove the files an existing OUTDIR/manifest.json names, and the manifest")
    ap.add_argument("--only", action="append", default=[], metavar="FILE", help="only this fixture (repeatable)")
    args = ap.parse_args(argv)

    out = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    if args.clean and manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        for e in old.get("files", []):
            p = out / e["file"]
            if p.parent == out and p.exists():
                p.unlink()
        manifest_path.unlink()

    _, omitted = dtype_dict()
    files = []
    known = set()
    for name, build, requires in fixtures():
        known.add(name)
        if args.only and name not in args.only:
            continue
        if requires == "torch2" and not TORCH2:
            omitted[name] = f"needs torch 2.x (torch {TORCH_VERSION} cannot write a byteorder record)"
            continue
        if requires and requires != "torch2" and not has_dtype(requires):
            omitted[name] = f"torch {TORCH_VERSION} has no {requires}"
            continue
        torch.manual_seed(0)
        spec = build()
        path = out / name
        spec.save(str(path))
        loaded = spec.load(str(path))
        entry = manifest_entry(path, spec, loaded)
        self_check(path, spec, loaded, entry)
        files.append(entry)
    unknown = set(args.only) - known
    if unknown:
        ap.error(f"no such fixture: {', '.join(sorted(unknown))}")

    manifest = {"generator": "tools/gen_torch_fixtures.py", "torch": TORCH_VERSION,
                "python": sys.version.split()[0], "omitted": omitted, "files": files}
    text = json.dumps(manifest, indent=1, ensure_ascii=False, allow_nan=False)
    manifest_path.write_text(text + "\n", encoding="utf-8")
    total = sum((out / e["file"]).stat().st_size for e in files)
    print(f"gen_torch_fixtures: torch {TORCH_VERSION}: {len(files)} files, {total} bytes, in {out}",
          file=sys.stderr)
    for what, why in omitted.items():
        print(f"gen_torch_fixtures: omitted {what}: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
