"""The Python reference for `mft convert x.safetensors y.pth`: safetensors.torch.load_file, then
torch.save — what a user does to get a .pth for PyTorch code.  Run with the torch 2.x venv
(scripts/venv-torch.sh):

    $(bash scripts/venv-torch.sh --print-python) bench/convert_pth_ref.py IN.safetensors OUT.pth

That venv pins torch and numpy only.  When it lacks the `safetensors` package, the one the reference
venv pins (scripts/venv.sh, tools/requirements.txt: safetensors 0.8.0, a pure-Python package over an
abi3 extension) is imported from there, alone — nothing else from that venv comes along.

--check A B: load both files with torch.load(weights_only=True) and compare every tensor bit for bit
(exit 1 on a difference).
"""
import glob
import os
import sys
import tempfile


def import_safetensors_torch():
    try:
        import safetensors.torch as st
        return st
    except ImportError:
        pass
    cache = os.environ.get("MFT_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "mft"))
    found = sorted(glob.glob(os.path.join(cache, "venv-ref", "lib", "python3*", "site-packages", "safetensors")))
    if not found:
        sys.exit("convert_pth_ref.py: no safetensors package (pip install safetensors, or run scripts/venv.sh)")
    shim = tempfile.mkdtemp(prefix="mft-st-")
    os.symlink(found[-1], os.path.join(shim, "safetensors"))
    sys.path.insert(0, shim)
    print(f"convert_pth_ref.py: safetensors from {found[-1]}", file=sys.stderr)
    import safetensors.torch as st
    return st


def check(a, b):
    import torch

    x = torch.load(a, weights_only=True)
    y = torch.load(b, weights_only=True)
    assert list(x) == list(y), "names differ"
    for k in x:
        p, q = x[k], y[k]
        assert p.dtype == q.dtype and p.shape == q.shape, k
        assert torch.equal(p.contiguous().view(-1).view(torch.uint8), q.contiguous().view(-1).view(torch.uint8)), k
    print(f"{len(x)} tensors identical")


def main():
    if sys.argv[1:2] == ["--check"]:
        check(sys.argv[2], sys.argv[3])
        return
    src, dst = sys.argv[1], sys.argv[2]
    st = import_safetensors_torch()
    import torch

    torch.save(st.load_file(src), dst)


if __name__ == "__main__":
    main()
