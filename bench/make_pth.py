"""Write bench/data/big.pth (torch.save of the state_dict in
bench/data/big.safetensors, ~1.3 GB) with Debian's torch:
/usr/bin/python3 bench/make_pth.py. The safetensors file is read with a few
lines of header parsing and numpy.memmap (no safetensors package needed)."""
import json
import os
import struct
import sys

import numpy as np
import torch

src = sys.argv[1] if len(sys.argv) > 1 else "bench/data/big.safetensors"
dst = sys.argv[2] if len(sys.argv) > 2 else "bench/data/big.pth"
if os.path.exists(dst):
    sys.exit(0)
DT = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
      "U8": np.uint8, "I8": np.int8, "F64": np.float64, "BOOL": np.bool_}
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
header.pop("__metadata__", None)
mm = np.memmap(src, dtype=np.uint8, mode="r", offset=8 + n)
sd = {}
for name, info in header.items():
    b, e = info["data_offsets"]
    arr = np.frombuffer(mm[b:e], dtype=DT[info["dtype"]]).reshape(info["shape"])
    sd[name] = torch.from_numpy(arr.copy())
torch.save(sd, dst + ".tmp")
os.rename(dst + ".tmp", dst)
