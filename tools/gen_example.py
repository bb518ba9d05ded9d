"""Write examples/tiny-gpt.safetensors with the real safetensors package.

A miniature GPT-2-shaped state dict (2 layers, width 64, vocab 256): the
names, dtypes and shapes people meet in real checkpoints, small enough to ship.
Run with the project's reference venv:  $(bash scripts/venv.sh --print-python)
tools/gen_example.py
"""
import numpy as np
from safetensors.numpy import save_file

rng = np.random.default_rng(2026)
d, vocab, ctx, layers = 64, 256, 128, 2


def w(*shape, scale=0.02):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


tensors = {"wte.weight": w(vocab, d), "wpe.weight": w(ctx, d)}
for i in range(layers):
    p = f"h.{i}."
    tensors.update({
        p + "ln_1.weight": np.ones(d, np.float32),
        p + "ln_1.bias": np.zeros(d, np.float32),
        p + "attn.c_attn.weight": w(d, 3 * d),
        p + "attn.c_attn.bias": np.zeros(3 * d, np.float32),
        p + "attn.c_proj.weight": w(d, d),
        p + "attn.c_proj.bias": np.zeros(d, np.float32),
        p + "ln_2.weight": np.ones(d, np.float32),
        p + "ln_2.bias": np.zeros(d, np.float32),
        p + "mlp.c_fc.weight": w(d, 4 * d),
        p + "mlp.c_fc.bias": np.zeros(4 * d, np.float32),
        p + "mlp.c_proj.weight": w(4 * d, d),
        p + "mlp.c_proj.bias": np.zeros(d, np.float32),
    })
tensors["ln_f.weight"] = np.ones(d, np.float32)
tensors["ln_f.bias"] = np.zeros(d, np.float32)
tensors["attn_mask"] = np.tril(np.ones((8, 8), np.bool_))
tensors["position_ids"] = np.arange(ctx, dtype=np.int64)
save_file(tensors, "examples/tiny-gpt.safetensors",
          metadata={"format": "pt", "model": "tiny-gpt (example)"})
