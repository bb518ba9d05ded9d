"""Load a PyTorch file the way a careful user does — torch.load(path, weights_only=True), plus mmap=True
where the torch has it — and describe or compare what comes back.  Run by the torch writer tests
(tests/test_torch_write.py) under Debian's torch 1.13 (/usr/bin/python3) and, when it exists, the torch 2.x
venv (scripts/venv-torch.sh).  Needs only torch.

    python torch_load_check.py OUT [--expect ORIG] [--mmap] [--binfloat-patch]
    python torch_load_check.py --jobs JOBS.json      (many files in one process: a JSON list out;
                                                     a job: {out, expect, mmap, binfloat_patch, unordered,
                                                     calc_offsets})

Prints one JSON object on stdout:
  {"torch": "1.13.0", "binfloat_patch": false, "mmap": false,
   "tensors": {path: {"dtype", "shape", "stride", "offset", "sha256", "storage"}},
   "shared": [[path, ...], ...],        # paths whose tensors share one storage (same data pointer)
   "tree": <the value as JSON: dict/OrderedDict/list/tuple/set marked, floats as bit patterns>,
   "mismatches": [...]}                 # with --expect: every difference from ORIG (empty = equal)
Exit status 0 when the load worked (and, with --expect, nothing differs), 1 on a difference, 3 when
torch refused the file (the message on stderr).

--binfloat-patch: torch 1.13's weights_only unpickler lacks BINFLOAT (pytorch#94670, fixed in 2.0), so a
file holding any Python float cannot load there.  With this flag, and only on torch < 2, a file that the
plain 1.13 loader refuses with exactly "Unsupported operand 71" is loaded again by the genuine 1.13
unpickler with that one opcode added (the 2.0 fix; "binfloat_patch": true in the result); every other
opcode and every global still goes through 1.13's allow-list.
"""

import argparse
import collections
import hashlib
import inspect
import json
import math
import struct
import sys

import torch

TORCH2 = int(torch.__version__.split(".")[0]) >= 2


_ORIGINAL = None
_PATCHED = None


def binfloat_unpickler():
    """torch 1.13's weights_only Unpickler with BINFLOAT (and nothing else) added."""
    global _ORIGINAL, _PATCHED
    import torch._weights_only_unpickler as wo

    if _PATCHED is None:
        _ORIGINAL = wo.Unpickler
        src = inspect.getsource(wo.Unpickler)
        anchor = "            elif key[0] == BININT[0]:\n"
        assert src.count(anchor) == 1, "unexpected torch._weights_only_unpickler layout"
        src = src.replace(anchor, "            elif key[0] == 71:  # BINFLOAT, as torch 2.0 added it\n"
                                  "                self.append(unpack('>d', read(8))[0])\n" + anchor)
        ns = dict(vars(wo))
        exec(compile(src, wo.__file__, "exec"), ns)
        _PATCHED = ns["Unpickler"]
    return wo, _ORIGINAL, _PATCHED


def load(path, mmap=False, allow_patch=False, calc_offsets=False):
    """(object, patched?) from torch.load(path, weights_only=True[, mmap=True]).  calc_offsets (torch
    2.x with mmap): compute each storage's data offset from miniz's layout rules instead of reading the
    local headers (config.load.calculate_storage_offsets), which checks that the file is laid out byte
    for byte as torch's writer lays it out; with TORCH_SERIALIZATION_DEBUG=1 torch compares both."""
    kw = {"weights_only": True}
    if mmap:
        kw["mmap"] = True
    if calc_offsets and mmap and TORCH2:
        from torch.utils.serialization import config

        saved = config.load.calculate_storage_offsets
        config.load.calculate_storage_offsets = True
        try:
            return load(path, mmap, allow_patch)
        finally:
            config.load.calculate_storage_offsets = saved
    try:
        return torch.load(path, **kw), False
    except Exception as e:
        if not (allow_patch and not TORCH2 and "Unsupported operand 71" in str(e)):
            raise
    wo, orig, patched = binfloat_unpickler()
    wo.Unpickler = patched
    try:
        return torch.load(path, **kw), True
    finally:
        wo.Unpickler = orig


def storage_ptr(t):
    if hasattr(t, "untyped_storage"):
        return t.untyped_storage().data_ptr()
    return t.storage().data_ptr()


def bits(t):
    """The tensor's elements as bytes, row-major little-endian (NaN payloads kept)."""
    t = t.detach()
    if t.is_quantized:
        t = t.int_repr()
    flat = t.contiguous().reshape(-1)
    if flat.dtype == torch.bool:
        flat = flat.to(torch.uint8)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def jfloat(x):
    return {"float": struct.pack(">d", x).hex()}


def describe(obj, path, tensors, ptrs, depth=0):
    """JSON description of obj; tensors collected into `tensors` by path."""
    if isinstance(obj, torch.Tensor):
        tensors[path] = {
            "dtype": str(obj.dtype).replace("torch.", ""),
            "shape": list(obj.shape),
            "stride": list(obj.stride()),
            "offset": obj.storage_offset(),
            "sha256": hashlib.sha256(bits(obj)).hexdigest(),
        }
        if obj.is_quantized:
            tensors[path]["qscheme"] = str(obj.qscheme())
        ptrs.setdefault(storage_ptr(obj) if obj.numel() else ("empty", path), []).append(path)
        return {"tensor": path}
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return {"int": str(obj)}
    if isinstance(obj, float):
        return jfloat(obj)
    if isinstance(obj, complex):
        return {"complex": [jfloat(obj.real), jfloat(obj.imag)]}
    if isinstance(obj, (bytes, bytearray)):
        return {"bytes": bytes(obj).hex()}
    if isinstance(obj, torch.dtype):
        return {"dtype": str(obj)}
    if isinstance(obj, torch.device):
        return {"device": str(obj)}
    join = (lambda k: f"{path}.{k}" if path else str(k))
    if isinstance(obj, dict):
        kind = "OrderedDict" if isinstance(obj, collections.OrderedDict) else "dict"
        items = []
        for k, v in obj.items():
            items.append([describe(k, join(f"<key {k}>"), {}, {}, depth + 1), describe(v, join(k), tensors, ptrs, depth + 1)])
        return {kind: items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [describe(v, join(i), tensors, ptrs, depth + 1) for i, v in enumerate(obj)]}
    if isinstance(obj, (set, frozenset)):
        return {"set": sorted(json.dumps(describe(v, "", {}, {}, depth + 1), sort_keys=True) for v in obj)}
    return {"object": type(obj).__module__ + "." + type(obj).__qualname__}


def summary(obj):
    tensors, ptrs = {}, {}
    tree = describe(obj, "", tensors, ptrs)
    shared = sorted(sorted(p) for p in ptrs.values() if len(p) > 1)
    return tree, tensors, shared


def unordered_tree(t):
    """The tree with every dict's items sorted (for files whose writer reorders keys)."""
    if isinstance(t, list):
        return [unordered_tree(x) for x in t]
    if isinstance(t, dict):
        out = {k: unordered_tree(v) for k, v in t.items()}
        for kind in ("dict", "OrderedDict"):
            if kind in out:
                out[kind] = sorted(out[kind], key=lambda kv: json.dumps(kv, sort_keys=True))
        return out
    return t


def check(out, expect=None, mmap=False, binfloat_patch=False, unordered=False, calc_offsets=False):
    res = {"file": out, "torch": torch.__version__, "mmap": mmap}
    try:
        obj, patched = load(out, mmap, binfloat_patch, calc_offsets)
    except Exception as e:  # torch refused the file: say why
        res["error"] = f"{type(e).__name__}: {e}"
        return res
    tree, tensors, shared = summary(obj)
    res.update({"binfloat_patch": patched, "tensors": tensors, "shared": shared, "tree": tree,
                "mismatches": []})
    if expect:
        orig = torch.load(expect, weights_only=False)
        etree, etensors, eshared = summary(orig)
        if unordered:
            etree, tree = unordered_tree(etree), unordered_tree(tree)
        if etree != tree:
            res["mismatches"].append({"tree": "differs", "want": etree, "got": tree})
        for p in sorted(set(etensors) | set(tensors)):
            w, g = etensors.get(p), tensors.get(p)
            if w is None or g is None:
                res["mismatches"].append({"tensor": p, "want": w, "got": g})
                continue
            for k in ("dtype", "shape", "sha256", "qscheme"):
                if w.get(k) != g.get(k):
                    res["mismatches"].append({"tensor": p, "field": k, "want": w.get(k), "got": g.get(k)})
        if eshared != shared:
            res["mismatches"].append({"shared": "differs", "want": eshared, "got": shared})
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--expect")
    ap.add_argument("--mmap", action="store_true")
    ap.add_argument("--binfloat-patch", action="store_true")
    ap.add_argument("--jobs", help="a JSON file: a list of {out, expect, mmap, binfloat_patch}; prints a list")
    a = ap.parse_args()
    if a.jobs:
        with open(a.jobs, encoding="utf-8") as f:
            jobs = json.load(f)
        json.dump([check(j["out"], j.get("expect"), j.get("mmap", False), j.get("binfloat_patch", False),
                         j.get("unordered", False), j.get("calc_offsets", False)) for j in jobs],
                  sys.stdout)
        return 0
    res = check(a.out, a.expect, a.mmap, a.binfloat_patch)
    if "error" in res:
        print(res["error"], file=sys.stderr)
        return 3
    json.dump(res, sys.stdout)
    return 1 if res["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
