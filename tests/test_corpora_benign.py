"""The benign files of the third-party pickle corpora (../shared/corpora): mft reads them.

Only files that gopickle/EXPECTED.md and picklescan/EXPECTED.md describe as benign are opened here —
never the malicious ones (and nothing here loads any file with pickle, numpy or torch).  Every
benign file those notes list is in one of the tables below, with the EXPECTED.md line it comes from;
what the notes state (format, tensor names, dtypes, shapes, values) is asserted, nothing more.
test_every_benign_file_is_covered fails when a listed file is missing from the corpus or a table.

Benign files that are not model files (a PNG named .pt, a 7-byte non-pickle, an encrypted ZIP):
reading them is an error, cleanly (exit 2, `mft: <path>` first on stderr, nothing on stdout).
numpy object arrays (a pickle inside .npy): no tensor dtype holds Python objects, so mft may list
them or refuse them (exit 0 or a clean exit 2), never crash; the notes state nothing more.
"""

import math

import numpy as np
import pytest

import torch_util as tu

CORPORA = tu.REPO_ROOT.parent / "shared" / "corpora"
GOPICKLE = CORPORA / "gopickle" / "pytorch" / "testdata"
PICKLESCAN = CORPORA / "picklescan" / "tests" / "data"
PICKLESCAN2 = CORPORA / "picklescan" / "tests" / "data2"

# ---- gopickle (all 100 files benign: gopickle/EXPECTED.md line 6 "All files are benign") ---------
# Naming, lines 10-16: tensor_<dtype>_proto<P>[_zip].pt, P in 1..5, `_zip` = zip format, else legacy.
# Lines 20-23: each file is torch.save of one 1-D tensor (not a dict), shape [4], stride [1], offset 0
# -> a root that is one tensor, which DESIGN §3 names after the file without its extension.
# Values and tolerances: the table at lines 26-37.
GOPICKLE_DTYPES = {
    # dtype: (mft dtype, values, absolute tolerance; 0 = exact)    EXPECTED.md line
    "float16": ("F16", [1.2, -3.4, 5.6, -7.8], 0.002),             # 28
    "float32": ("F32", [1.2, -3.4, 5.6, -7.8], 0),                 # 29 exact float32
    "float64": ("F64", [1.2, -3.4, 5.6, -7.8], 0),                 # 30 exact float64
    "bfloat16": ("BF16", [1.2, -3.4, 5.6, -7.8], 0.013),           # 31
    "int8": ("I8", [1, -2, 3, -4], 0),                             # 32
    "int16": ("I16", [1, -2, 3, -4], 0),                           # 33
    "int32": ("I32", [1, -2, 3, -4], 0),                           # 34
    "int64": ("I64", [1, -2, 3, -4], 0),                           # 35
    "uint8": ("U8", [1, 10, 100, 255], 0),                         # 36
    "bool": ("BOOL", [True, False, True, False], 0),               # 37
}
GOPICKLE_FILES = [(dt, proto, z) for dt in GOPICKLE_DTYPES for proto in range(1, 6) for z in (False, True)]
EXACT_NP = {"F32": np.float32, "F64": np.float64, "BOOL": np.bool_, "I8": np.int8, "I16": np.int16,
            "I32": np.int32, "I64": np.int64, "U8": np.uint8}


def gopickle_name(dt, proto, z):
    return f"tensor_{dt}_proto{proto}{'_zip' if z else ''}.pt"


def values_match(got, want, code, tol):
    if code == "BOOL":
        return all(isinstance(g, bool) for g in got) and got == want
    if code in tu.INT_DTYPES:
        return all(type(g) is int for g in got) and got == want
    if any(isinstance(g, bool) or not isinstance(g, (int, float)) for g in got):
        return False
    if tol:
        return all(abs(g - w) <= tol for g, w in zip(got, want))
    npt = EXACT_NP[code]  # exact in the dtype: mft's number rounds to the stored float32/float64
    return [npt(g) for g in got] == [npt(w) for w in want]


@pytest.mark.parametrize("dt,proto,z", GOPICKLE_FILES, ids=[gopickle_name(*f) for f in GOPICKLE_FILES])
def test_gopickle(dt, proto, z, run_mft):
    path = GOPICKLE / gopickle_name(dt, proto, z)
    code, values, tol = GOPICKLE_DTYPES[dt]
    stem = path.name[:-len(".pt")]
    doc = run_mft("ls", path, "--json", "--hash", check=0).json()
    assert doc["format"] == ("pytorch-zip" if z else "pytorch-legacy")                        # line 14
    assert [(t["name"], t["dtype"], t["shape"]) for t in doc["tensors"]] == [(stem, code, [4])]  # 20-22
    if tol == 0:  # the exact dtypes pin the stored bytes down, so the digest too
        want = np.array(values, dtype=EXACT_NP[code]).tobytes()
        assert doc["tensors"][0]["sha256"] == tu.sha256(want)
    got = tu.parse_json(run_mft("get", path, stem, "--json", check=0).out)
    assert got["dtype"] == code and got["shape"] == [4], got
    assert values_match(got["data"], values, code, tol), f"{got['data']} != {values} (tolerance {tol})"
    assert run_mft("show", path, check=0).out == f"tensor(shape=[4], dtype={code})\n"
    run_mft("info", path, check=0)


# ---- picklescan benign files ----------------------------------------------------------------------
# tests/data/, picklescan/EXPECTED.md lines 32-34: the list ["a","b","c"] pickled with protocols 0, 3, 4.
BENIGN_LISTS = {"benign0_v0.pkl": 32, "benign0_v3.pkl": 33, "benign0_v4.pkl": 34}

# Lines 75-76: a legacy (non-ZIP) PyTorch file and a ZIP-format one; their only storage global is
# torch.FloatStorage, so every tensor is F32.  The notes state no names or shapes: none asserted.
BENIGN_TORCH = {"pytorch_model.bin": ("pytorch-legacy", 75), "new_pytorch_model.bin": ("pytorch-zip", 76)}

# Lines 35-37: benign but not model files.
BENIGN_NOT_MODELS = {"benign_password_protected.zip": 35, "bad_pytorch.pt": 36, "not_a_pickle.bin": 37}

# tests/data2/, lines 149, 153, 154: int arrays, no pickle.  int_array.npy: dtype <i4, shape (2, 2);
# the .npz files: "two int arrays" (names and dtypes not stated).
BENIGN_INT_NUMPY = {"int_array.npy": ("npy", 149), "int_arrays.npz": ("npz", 153),
                    "int_arrays_compressed.npz": ("npz", 154)}

# Lines 148, 151, 152: object arrays (numpy reconstruct globals only, 0 issues).
BENIGN_OBJECT_NUMPY = {"object_array.npy": 148, "object_arrays.npz": 151, "object_arrays_compressed.npz": 152}


@pytest.mark.parametrize("name", list(BENIGN_LISTS))
def test_picklescan_benign_list(name, run_mft):
    path = PICKLESCAN / name
    doc = run_mft("ls", path, "--json", check=0).json()
    assert doc["format"] == "pickle" and doc["tensors"] == []
    assert run_mft("show", path, check=0).out == "['a', 'b', 'c']\n"
    for i, v in enumerate("abc"):
        assert tu.parse_json(run_mft("get", path, str(i), "--json", check=0).out) == v
    run_mft("info", path, check=0)


@pytest.mark.parametrize("name", list(BENIGN_TORCH))
def test_picklescan_benign_torch(name, run_mft):
    path = PICKLESCAN / name
    fmt, _ = BENIGN_TORCH[name]
    doc = run_mft("ls", path, "--json", "--hash", check=0).json()
    assert doc["format"] == fmt
    assert doc["tensors"], "a PyTorch file with a FloatStorage holds at least one tensor"
    for t in doc["tensors"]:
        assert t["dtype"] == "F32" and t["nbytes"] == 4 * math.prod(t["shape"]), t
        assert len(t["sha256"]) == 64, t
    show = run_mft("show", path, check=0).out
    assert show.endswith("\n") and show.count("\n") == 1
    run_mft("info", path, check=0)


@pytest.mark.parametrize("name", list(BENIGN_NOT_MODELS))
@pytest.mark.parametrize("cmd", ["ls", "show", "info"])
def test_picklescan_benign_not_a_model(cmd, name, run_mft):
    path = PICKLESCAN / name
    res = run_mft(cmd, path)
    assert res.rc == 2 and res.out == "", res.describe()
    assert res.err.startswith(f"mft: {path}"), res.describe()


@pytest.mark.parametrize("name", list(BENIGN_INT_NUMPY))
def test_picklescan_benign_int_numpy(name, run_mft):
    path = PICKLESCAN2 / name
    fmt, _ = BENIGN_INT_NUMPY[name]
    doc = run_mft("ls", path, "--json", "--hash", check=0).json()
    assert doc["format"] == fmt
    if fmt == "npy":
        assert [(t["name"], t["dtype"], t["shape"]) for t in doc["tensors"]] == [("int_array", "I32", [2, 2])]
    else:
        assert len(doc["tensors"]) == 2
        assert all(t["dtype"] in tu.INT_DTYPES for t in doc["tensors"]), doc["tensors"]
    run_mft("show", path, check=0)
    run_mft("info", path, check=0)


@pytest.mark.parametrize("name", list(BENIGN_OBJECT_NUMPY))
@pytest.mark.parametrize("cmd", ["ls", "info"])
def test_picklescan_benign_object_numpy(cmd, name, run_mft):
    path = PICKLESCAN2 / name
    res = run_mft(cmd, path)
    assert res.rc in (0, 2), res.describe()
    if res.rc == 2:
        assert res.out == "" and res.err.startswith(f"mft: {path}"), res.describe()
    elif cmd == "ls":
        res = run_mft("ls", path, "--json", check=0)
        assert res.json()["format"] == path.suffix[1:]


def test_every_benign_file_is_covered():
    """Every file the notes call benign exists and is in exactly one table, at the cited line."""
    assert GOPICKLE.is_dir(), f"missing corpus {GOPICKLE}"
    assert sorted(p.name for p in GOPICKLE.iterdir()) == sorted(gopickle_name(*f) for f in GOPICKLE_FILES)
    notes = (CORPORA / "picklescan" / "EXPECTED.md").read_text(encoding="utf-8").splitlines()
    tables = {}
    for table, folder in ((BENIGN_LISTS, PICKLESCAN), ({k: v[1] for k, v in BENIGN_TORCH.items()}, PICKLESCAN),
                          (BENIGN_NOT_MODELS, PICKLESCAN), ({k: v[1] for k, v in BENIGN_INT_NUMPY.items()},
                                                            PICKLESCAN2), (BENIGN_OBJECT_NUMPY, PICKLESCAN2)):
        for name, line in table.items():
            assert name not in tables, f"{name} in two tables"
            tables[name] = line
            assert (folder / name).is_file(), name
            assert notes[line - 1].startswith(f"| {name} |"), f"EXPECTED.md line {line} is not about {name}"
            expectation = notes[line - 1].rstrip().rstrip("|").split("|")[-1]
            assert "D;" not in expectation and "infected" not in expectation.replace("not infected", ""), \
                f"{name}: EXPECTED.md line {line} does not call it benign"
    # the rows of EXPECTED.md that call a file benign, safe, or "0 issues" with no Dangerous global
    benign = []
    for ln in notes:
        if not ln.startswith("| ") or ln.count("|") < 4:
            continue
        cells = [c.strip() for c in ln.rstrip().strip("|").split("|")]  # a cell may hold a `|`
        name, what, expectation = cells[0], "|".join(cells[1:-1]), cells[-1]
        if " D" in expectation and "0 issues" not in expectation:
            continue
        if ("0 issues" in expectation or "1/0/0" in expectation or "benign" in what
                or expectation.startswith(("no globals", "safe", "must not crash"))):
            benign.append(name)
    assert sorted(benign) == sorted(tables), f"benign rows in EXPECTED.md: {sorted(benign)}"
