"""Write bench/data/big.safetensors (>= 1 GiB) with the real safetensors package,
shaped like a transformer checkpoint: 2 embeddings + 24 layers of F32/BF16."""
import os
import sys

import numpy as np
from safetensors.numpy import save_file

out = sys.argv[1] if len(sys.argv) > 1 else "bench/data/big.safetensors"
if os.path.exists(out):
    sys.exit(0)
os.makedirs(os.path.dirname(out), exist_ok=True)
rng = np.random.default_rng(0)
d = 1024
t = {"wte.weight": rng.standard_normal((32768, d), dtype=np.float32)}
for i in range(24):
    p = f"h.{i}."
    t[p + "attn.qkv.weight"] = rng.standard_normal((3 * d, d), dtype=np.float32)
    t[p + "attn.out.weight"] = rng.standard_normal((d, d), dtype=np.float32)
    t[p + "mlp.up.weight"] = rng.standard_normal((4 * d, d), dtype=np.float32)
    t[p + "mlp.down.weight"] = rng.standard_normal((d, 4 * d), dtype=np.float32)
    t[p + "ln.weight"] = np.ones(d, np.float32)
save_file(t, out + ".tmp", metadata={"format": "pt"})
os.rename(out + ".tmp", out)
