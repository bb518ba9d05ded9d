"""The torch side of the `mft stats` benchmark: the same statistics, per tensor, of a
.safetensors file, the way a torch user computes them.

    /usr/bin/python3 bench/stats_ref.py FILE [--compare MFT_STATS_JSON]

Runs under Debian's python3-torch (1.13) + numpy: the file is mapped with numpy.memmap
(copy-on-write, so no bytes are copied) after parsing the safetensors header by hand (the
safetensors package is not installed there), each tensor is wrapped zero-copy with
torch.from_numpy, and torch computes, on all cores:
    nan = isnan(t).sum(), inf = isinf(t).sum(), zeros = (t == 0).sum()
    f = t if nan + inf == 0 else t[isfinite(t)]
    min, max = aminmax(f);  std, mean = std_mean(f)      (std unbiased, as mft's)
Prints one line per tensor. With --compare, checks mft's `stats --json` output against these
values (counts and min/max exact; mean within 1e-6 x mean|x| and std within 2e-6 relative:
torch computes float32 statistics in float32) and prints "stats agree".
"""
import json
import struct
import sys

import numpy as np
import torch

NUMPY = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.int16,
         "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
         "BOOL": np.bool_}


def tensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    data = np.memmap(path, dtype=np.uint8, mode="c", offset=8 + n)
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arr = data[begin:end].view(NUMPY[info["dtype"]]).reshape(info["shape"])
        t = torch.from_numpy(arr)
        if info["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        yield name, t


def stats(t):
    if not (t.is_floating_point()):
        t = t.double()
    nan = int(torch.isnan(t).sum())
    inf = int(torch.isinf(t).sum())
    zeros = int((t == 0).sum())
    f = t if nan + inf == 0 else t[torch.isfinite(t)]
    mn, mx = torch.aminmax(f.reshape(-1))
    std, mean = torch.std_mean(f)
    return {"min": mn.item(), "max": mx.item(), "mean": mean.item(), "std": std.item(),
            "nan": nan, "inf": inf, "zeros": zeros, "absmean": None}


def main():
    path = sys.argv[1]
    compare = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--compare" else None
    out = {}
    for name, t in tensors(path):
        out[name] = s = stats(t)
        if compare:
            s["absmean"] = t.double().abs().mean().item()
        print(name, s["min"], s["max"], s["mean"], s["std"], s["nan"], s["inf"], s["zeros"])
    if compare:
        with open(compare) as f:
            doc = json.load(f)
        bad = 0
        for t in doc["tensors"]:
            w = out[t["name"]]
            ok = (t["nan"], t["inf"], t["zeros"]) == (w["nan"], w["inf"], w["zeros"])
            ok &= t["min"] == w["min"] and t["max"] == w["max"]
            ok &= abs(t["mean"] - w["mean"]) <= 1e-6 * w["absmean"]
            ok &= abs(t["std"] - w["std"]) <= 2e-6 * w["std"]
            if not ok:
                bad += 1
                print("MISMATCH", t["name"], t, w, file=sys.stderr)
        print("stats agree" if not bad else f"{bad} tensors differ", file=sys.stderr)
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
