"""The Python reference for `mft ls --hash`: open with safetensors, hash each
tensor's bytes with hashlib, print name and digest."""
import hashlib
import sys

from safetensors import safe_open

with safe_open(sys.argv[1], framework="numpy") as f:
    for name in f.keys():
        arr = f.get_tensor(name)
        print(name, hashlib.sha256(memoryview(arr).cast("B")).hexdigest())
