"""The Python reference for `mft ls [--hash]` on a .pth: torch.load
(weights_only=True), then name, dtype, shape (and sha256 of the bytes)."""
import hashlib
import sys

import torch

sd = torch.load(sys.argv[1], weights_only=True)
for name, t in sd.items():
    line = f"{name} {t.dtype} {list(t.shape)}"
    if "--hash" in sys.argv:
        line += " " + hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()
    print(line)
