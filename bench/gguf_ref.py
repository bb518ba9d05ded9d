"""The Python reference path for `mft convert x.safetensors y.gguf`: load the safetensors file with
safetensors.numpy, write every tensor with gguf-py's GGUFWriter (no architecture, the file's
__metadata__ as STRING key/values, tensors in data order: what mft writes, byte for byte).

    python bench/gguf_ref.py IN.safetensors OUT.gguf
"""
import json
import struct
import sys

import gguf
import ml_dtypes
import numpy as np
from safetensors.numpy import load_file

src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
meta = header.pop("__metadata__", {}) or {}
order = sorted(header, key=lambda k: header[k]["data_offsets"])
tensors = load_file(src)
w = gguf.GGUFWriter(dst, "")
for k, v in meta.items():
    w.add_string(k, v)
for name in order:
    a = tensors[name]
    if a.dtype == ml_dtypes.bfloat16:
        w.add_tensor(name, a.view(np.uint16), raw_dtype=gguf.GGMLQuantizationType.BF16)
    else:
        w.add_tensor(name, a)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
