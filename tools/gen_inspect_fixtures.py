"""Write tests/fixtures/inspect/: small safetensors files for the golden tests of
`mft stats`, `mft diff` and `mft check` (tests/golden/cases.txt), with the real
safetensors package (+ ml_dtypes for BF16/F8). Deterministic; a few KiB.

  a.safetensors   every integer and float dtype with NaN, ±Inf, -0, zeros, an
                  empty tensor, a scalar, a constant and an all-zero tensor
  b.safetensors   a.safetensors changed: values (inside and outside torch's
                  default tolerance), NaN positions, a dtype (F32 -> BF16), a
                  shape, one tensor removed and one added
  dp.safetensors  the state_dict of tests/fixtures/torch2/sd_mlp.pt's model
                  (Linear(10, 20), ReLU, Linear(20, 5)) as DataParallel saves
                  it ("module." prefix), in F16, plus one extra key

Run with the reference venv:  $(bash scripts/venv.sh --print-python) tools/gen_inspect_fixtures.py
"""
import os
import sys

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/inspect"
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(6)
nan, inf = np.nan, np.inf

a = {
    "f32": (rng.standard_normal((4, 6)) * 0.5).astype(np.float32),
    "f32_special": np.array([1.5, nan, inf, -inf, -0.0, 0.0, 2.5, nan], np.float32),
    "f64": np.array([1 / 3, -2.0, 1e300, 5e-324], np.float64),
    "f16": np.array([0.1, 65504.0, -0.0, nan, inf, 6e-08, -1.5], np.float16),
    "bf16": np.array([1.0, 3.140625, -3.0e38, nan, -inf, 1e-40, 0.0], np.float32).astype(ml_dtypes.bfloat16),
    "f8_e4m3": np.array([0.5, -1.25, 448.0, 0.0, nan], np.float32).astype(ml_dtypes.float8_e4m3fn),
    "f8_e5m2": np.array([0.5, -1.25, 57344.0, inf], np.float32).astype(ml_dtypes.float8_e5m2),
    "i8": np.array([-128, 127, 0, -1], np.int8),
    "u8": np.array([0, 255, 17], np.uint8),
    "i16": np.array([-32768, 32767, 0, -2], np.int16),
    "u16": np.array([0, 65535, 256], np.uint16),
    "i32": np.array([[-2 ** 31, 2 ** 31 - 1], [7, -7]], np.int32),
    "u32": np.array([0, 2 ** 32 - 1, 65536], np.uint32),
    "i64": np.array([2 ** 63 - 1, -2 ** 63, 2 ** 53 + 1, 0], np.int64),
    "u64": np.array([0, 2 ** 64 - 1, 2 ** 63], np.uint64),
    "bool": np.array([[True, False], [False, True]]),
    "scalar": np.array(-2.5, np.float32),
    "one": np.array([4.0], np.float32),
    "empty": np.zeros((2, 0), np.float32),
    "all_nan": np.array([nan, nan], np.float32),
    "constant": np.full(5, 0.25, np.float32),
    "zeros": np.zeros(8, np.float32),
    "removed": np.arange(3, dtype=np.int32),
    "reshaped": np.arange(6, dtype=np.float32).reshape(2, 3),
    "to_bf16": (rng.standard_normal(16)).astype(np.float32),
}
save_file(a, os.path.join(out, "a.safetensors"), metadata={"note": "mft inspect fixture A"})

b = {k: v.copy() for k, v in a.items() if k != "removed"}
b["f32"][1, 2] += 1e-3          # outside torch's default tolerance
b["f32"][3, 0] *= 1 + 2e-6      # inside it
b["f32_special"] = np.array([1.5, nan, inf, inf, 0.0, 0.0, 2.5, 3.0], np.float32)
b["f64"][0] = 0.3333333333333
b["i64"][3] = 5
b["reshaped"] = b["reshaped"].reshape(3, 2)
b["to_bf16"] = a["to_bf16"].astype(ml_dtypes.bfloat16)
b["added"] = np.ones(2, np.float16)
save_file(b, os.path.join(out, "b.safetensors"), metadata={"note": "mft inspect fixture B"})

dp = {
    "module.0.weight": np.zeros((20, 10), np.float16),
    "module.0.bias": np.zeros(20, np.float16),
    "module.2.weight": np.zeros((5, 20), np.float16),
    "module.2.bias": np.zeros(5, np.float16),
}
save_file(dp, os.path.join(out, "dp.safetensors"))
