"""mft's PyTorch readers against the real torch (pytorch-zip, pytorch-legacy, torchscript, raw pickle).

Two fixture sets, both written by tools/gen_torch_fixtures.py with the real torch and described by its
manifest.json (schema in the generator's docstring):
  torch113  written at test time by Debian's python3-torch 1.13 (conftest.py `torch113_fixtures`);
  torch2    written by torch 2.x (scripts/venv-torch.sh) and committed in tests/fixtures/torch2/
            (regenerate with `make fixtures-torch2`).
Every test is parametrized by (set, file) over the committed manifest's file list; the 1.13 run must
produce the same list minus TORCH2_ONLY (checked below), so a fixture added to the generator without
regenerating torch2/ shows up as a failure, not as a silently untested file.

What each file must give (all exact):
  mft ls FILE --json --hash   "file" as given, "format" (DESIGN §4 name), tensors in manifest order with
                              name, dtype, shape, nbytes, sha256 (+ "quant" for QI8/QU8/QI32); a sparse
                              tensor: name, dtype (of its values), dense shape, "kind", no digest needed.
  mft get FILE --json -- PATH every non-tensor leaf path: its JSON value (ints digit for digit, floats
                              bit for bit, NaN/±Infinity as strings, bytes as {"bytes_hex": …}, an empty
                              list/tuple/set as [], an empty dict as {}); every tensor with <= 64
                              elements: {"dtype", "shape", "data"} with data nested like t.tolist()
                              (floats of F16/BF16/F8 as numbers that round to the stored value; complex
                              elements as [re, im]; quantized tensors: the stored integers).  A path that
                              does not exist: exit 2.  (`--` because a path may start with '-':
                              the int key -1 is the path "-1".)
  mft show FILE               exactly the manifest's text (contract below).
  mft info FILE               exit 0.
  mft convert FILE X.safetensors  when every tensor is dense with a dtype safetensors holds: exit 0; the
                              output lists the same names with the same dtype/shape/digest (mft ls) and
                              loads with the safetensors library (and numpy for numpy dtypes); non-tensor
                              leaves are named on stderr (when there are more than 20: the first 20 in
                              traversal order and the count of the rest, or of all) and not written.
                              With --keep-metadata they go to __metadata__ instead, one key per leaf path
                              (exactly those keys): a str as it is, any other value as JSON text (the same
                              JSON as `mft get --json` gives).  Otherwise (QI8/QU8/QI32, C32, C128, sparse):
                              exit 2 naming an offending tensor (stderr starts with `mft: IN` or
                              `mft: OUT`), and no output file.
                              --select model_state_dict keeps that subtree and removes the prefix.

`mft show` contract (one line: the repr below, then "\\n"; no pretty printing, no truncation)
-----------------------------------------------------------------------------------------------
The value tree printed the way Python's repr() prints the loaded object, with these substitutions:
  * dict and collections.OrderedDict: `{k: v, k: v}` in stored order (`{}` when empty); keys by the
    same rules (str keys quoted, int keys bare: `{'a': 1, 3: 'x'}`).
  * list `[1, 2]` / `[]`; tuple `(1,)`, `(1, 2)`, `()`; set `{33, 100, 7}` in pickle order, `set()`
    when empty; frozenset `frozenset({5, 13})`, `frozenset()`.
  * None, True, False; int in decimal, any size (`-1180591620717411303424`).
  * float: Python's repr — the shortest digits that read back as the same double; `1e+16` and `1e-05`
    (scientific when the decimal exponent is < -4 or >= 16, exponent with a sign and at least two
    digits), `0.1`, `1.0`, `-0.0`, `5e-324`, `1.7976931348623157e+308`, `nan`, `inf`, `-inf`.
  * str: Python's repr — single quotes, or double quotes when the text has a ' and no "; backslash,
    the chosen quote, \\t \\n \\r escaped as such; other characters below U+0020 and U+007F as \\xNN;
    printable non-ASCII as itself in UTF-8 (the fixtures only use é, ü and CJK).
  * bytes: Python's repr — b'…' with the same quote rule, \\t \\n \\r \\\\ escaped, bytes 0x20-0x7E as
    themselves, every other byte as \\xNN (lowercase hex).
  * tensors and nn.Parameters: `tensor(shape=[20, 10], dtype=F32)` (mft dtype name; shape `[]` for
    0-d; F4 with its logical shape); a sparse tensor adds `, kind=sparse_coo` (or sparse_csr).
  * a pickled nn.Module (anywhere in the tree) and a TorchScript root module: the dict its
    state_dict() would give (names and tensors only; no class name, no other attributes).
  * any other object (argparse.Namespace, a dataclass, an inert unknown class):
    `module.Class(key=value, ...)` from its pickled __dict__ state in order (`argparse.Namespace(lr=0.01,
    name='run')`, `__main__.TrainConfig(dim=8, act='gelu')`).
Paths and values follow the same tree: sets are indexed 0, 1, … in pickle order (the order in which
pickle wrote them); a Namespace/dataclass attribute is a path component (`args.lr`).
"""

import json
import os
import re
from pathlib import Path

import pytest
import safetensors

import st_util as su
import torch_util as tu

MANIFEST2 = tu.torch2_manifest()
FILES = [e["file"] for e in MANIFEST2["files"]] if MANIFEST2 else []
CASES = ([pytest.param("torch113", f, id=f"torch113-{f}") for f in FILES if f not in tu.TORCH2_ONLY]
         + [pytest.param("torch2", f, id=f"torch2-{f}") for f in FILES])

NUMPY_LOADABLE = {"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F16", "F32", "F64", "C64"}
DROPPED_LISTED = 20  # convert without --keep-metadata names at least this many dropped paths


@pytest.fixture(scope="session")
def fixture_sets(torch113_fixtures):
    """{set: (directory, {file: manifest entry})}"""
    d113, m113 = torch113_fixtures
    return {
        "torch113": (Path(d113), {e["file"]: e for e in m113["files"]}),
        "torch2": (tu.TORCH2_DIR, {e["file"]: e for e in MANIFEST2["files"]} if MANIFEST2 else {}),
    }


def lookup(fixture_sets, which, name):
    directory, entries = fixture_sets[which]
    if name not in entries:
        pytest.fail(f"{name} is in the torch2 manifest but the {which} run did not write it "
                    f"(regenerate tests/fixtures/torch2 with `make fixtures-torch2`?)", pytrace=False)
    return directory / name, entries[name]


def dense(entry):
    return [t for t in entry["tensors"] if "kind" not in t]


# ---- the fixture sets themselves ------------------------------------------------------------------

def test_torch2_manifest_present():
    assert MANIFEST2 is not None, f"missing {tu.TORCH2_DIR}/manifest.json: run `make fixtures-torch2`"
    assert int(MANIFEST2["torch"].split(".")[0]) >= 2, MANIFEST2["torch"]
    assert FILES, "the torch2 manifest lists no files"
    for name in FILES:
        assert (tu.TORCH2_DIR / name).is_file(), f"{name} is in the manifest but not committed"
    assert (tu.TORCH2_DIR / "README.md").is_file()


def test_torch2_fixtures_stay_small():
    total = sum(p.stat().st_size for p in tu.TORCH2_DIR.iterdir() if p.is_file())
    assert total < tu.TORCH2_MAX_BYTES, f"tests/fixtures/torch2 holds {total} bytes"


def test_torch2_has_what_113_cannot_write():
    assert tu.TORCH2_ONLY <= set(FILES)
    entries = {e["file"]: e for e in MANIFEST2["files"]}
    dtypes = {t["dtype"] for t in entries["dtypes.pt"]["tensors"]}
    for code in ["U16", "U32", "U64", "C32", "F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F8_E8M0"]:
        assert code in dtypes, f"torch2 dtypes.pt lacks {code}"
    assert "note" not in entries["mathbits.pt"], "torch 2.x keeps the conj/neg bits"


def test_torch113_run_matches_torch2_list(torch113_fixtures):
    _, m113 = torch113_fixtures
    got = [e["file"] for e in m113["files"]]
    assert m113["torch"].startswith("1.13"), m113["torch"]
    assert got == [f for f in FILES if f not in tu.TORCH2_ONLY], \
        "the 1.13 run writes other files than the committed torch2 set: regenerate it (make fixtures-torch2)"
    assert tu.TORCH2_ONLY <= set(m113["omitted"]), m113["omitted"]


# ---- ls ----------------------------------------------------------------------------------------------

def expected_ls_entry(t):
    e = {"name": t["name"], "dtype": t["dtype"], "shape": t["shape"]}
    if "kind" in t:
        e["kind"] = t["kind"]
        return e
    e["nbytes"] = t["nbytes"]
    e["sha256"] = t["sha256"]
    if "quant" in t:
        e["quant"] = t["quant"]
    return e


@pytest.mark.parametrize("which,name", CASES)
def test_ls_json_hash(which, name, fixture_sets, run_mft):
    path, entry = lookup(fixture_sets, which, name)
    doc = run_mft("ls", path, "--json", "--hash", check=0).json()
    assert doc["file"] == str(path)
    assert doc["format"] == entry["format"]
    got = doc["tensors"]
    assert [t["name"] for t in got] == [t["name"] for t in entry["tensors"]], "names or their order differ"
    for g, t in zip(got, entry["tensors"]):
        want = expected_ls_entry(t)
        have = {k: g.get(k) for k in want}
        assert have == want, f"{t['name']}: mft {have} != torch {want}"
        if "quant" not in t:
            assert "quant" not in g, f"{t['name']}: unexpected quant {g.get('quant')}"


# ---- get ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which,name", CASES)
def test_get_values(which, name, fixture_sets, run_mft):
    path, entry = lookup(fixture_sets, which, name)
    bad = []
    for p in tu.sample(entry["values"]):
        want = entry["values"][p]
        res = run_mft("get", path, "--json", "--", p)
        if res.rc != 0:
            bad.append(f"{p}: exit {res.rc}: {res.err.strip()[:200]}")
            continue
        got = tu.parse_json(res.out)
        if not tu.same_value(got, want):
            bad.append(f"{p}: mft {res.out.strip()[:200]} != torch {json.dumps(want)[:200]}")
    assert not bad, f"{len(bad)} values differ:\n" + "\n".join(bad[:30])
    # and a path that is not there is an error
    res = run_mft("get", path, "no_such_key.x", "--json")
    assert res.rc == 2 and res.out == "" and res.err.startswith("mft: "), res.describe()


@pytest.mark.parametrize("which,name", CASES)
def test_get_tensors(which, name, fixture_sets, run_mft):
    path, entry = lookup(fixture_sets, which, name)
    bad = []
    for t in tu.sample([t for t in entry["tensors"] if "tolist" in t]):
        res = run_mft("get", path, "--json", "--", t["name"])
        if res.rc != 0:
            bad.append(f"{t['name']}: exit {res.rc}: {res.err.strip()[:200]}")
            continue
        problem = tu.tensor_data_problem(tu.parse_json(res.out), t)
        if problem:
            bad.append(f"{t['name']}: {problem}")
    assert not bad, f"{len(bad)} tensors differ:\n" + "\n".join(bad[:30])


# ---- show / info -------------------------------------------------------------------------------------

@pytest.mark.parametrize("which,name", CASES)
def test_show(which, name, fixture_sets, run_mft):
    path, entry = lookup(fixture_sets, which, name)
    res = run_mft("show", path, check=0)
    if res.out != entry["show"]:
        got, want = res.out, entry["show"]
        i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
        pytest.fail(f"`mft show` differs at character {i}:\n  mft:   …{got[max(0, i - 80):i + 80]!r}\n"
                    f"  torch: …{want[max(0, i - 80):i + 80]!r}", pytrace=False)


@pytest.mark.parametrize("which,name", CASES)
def test_info(which, name, fixture_sets, run_mft):
    path, entry = lookup(fixture_sets, which, name)
    res = run_mft("info", path, check=0)
    assert res.out.strip(), res.describe()


# ---- convert -----------------------------------------------------------------------------------------

def unconvertible(entry):
    """Tensors safetensors cannot hold: sparse ones and dtypes the reference binding refuses."""
    return [t["name"] for t in entry["tensors"] if "kind" in t or t["dtype"] not in su.SUPPORTED_CODES]


def check_metadata(meta, values):
    """__metadata__ holds exactly one key per value path: a str as it is, any other value as JSON text.
    (A manifest string "NaN"/"Infinity"/"-Infinity" is always a non-finite float — the generator never
    writes such str values — so its JSON text is the quoted string.)"""
    meta = meta or {}
    missing, extra = sorted(set(values) - set(meta)), sorted(set(meta) - set(values))
    assert not missing and not extra, \
        f"__metadata__ lacks value paths {missing[:20]} and has other keys {extra[:20]}"
    for p, want in values.items():
        text = meta[p]
        if isinstance(want, str) and want not in tu.NONFINITE:
            assert text == want, f"{p}: __metadata__ {text!r} != the string {want!r}"
            continue
        try:
            got = tu.parse_json(text)
        except ValueError as e:
            raise AssertionError(f"{p}: __metadata__ {text!r} is not JSON text ({e})") from None
        assert tu.same_value(got, want), f"{p}: __metadata__ {text!r} != {json.dumps(want)}"


def check_dropped_named(err, values):
    paths = list(values)
    if not paths:
        return
    listed = paths[:DROPPED_LISTED]
    missing = [p for p in listed if not tu.path_named_in(p, err)]
    assert not missing, f"dropped values not named on stderr: {missing[:10]}\n{err[:2000]}"
    if len(paths) > DROPPED_LISTED:
        rest = len(paths) - DROPPED_LISTED
        everything = all(tu.path_named_in(p, err) for p in paths)
        counted = re.search(rf"\b({rest}|{len(paths)})\b", err) is not None
        assert everything or counted, \
            f"{len(paths)} dropped values: stderr names neither all of them nor the count:\n{err[:2000]}"


def output_listing(run_mft, dst):
    doc = run_mft("ls", dst, "--json", "--hash", check=0).json()
    return {t["name"]: (t["dtype"], t["shape"], t["sha256"]) for t in doc["tensors"]}


def check_safetensors_output(dst, tensors):
    ref, _ = su.load_reference(dst.read_bytes())
    assert sorted(ref) == sorted(t["name"] for t in tensors)
    for t in tensors:
        r = ref[t["name"]]
        assert (r.dtype, list(r.shape), tu.sha256(r.data)) == (t["dtype"], t["shape"], t["sha256"]), t["name"]
    with safetensors.safe_open(str(dst), framework="np") as f:
        for t in tensors:
            if t["dtype"] in NUMPY_LOADABLE:
                arr = f.get_tensor(t["name"])
                assert list(arr.shape) == t["shape"] and tu.sha256(arr.tobytes()) == t["sha256"], t["name"]


@pytest.mark.parametrize("which,name", CASES)
def test_convert_safetensors(which, name, fixture_sets, run_mft, tmp_path):
    path, entry = lookup(fixture_sets, which, name)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dst = out_dir / "out.safetensors"
    bad = unconvertible(entry)
    res = run_mft("convert", path, dst)
    if bad:
        assert res.rc == 2 and res.out == "", res.describe()
        assert res.err.startswith((f"mft: {path}", f"mft: {dst}")), res.describe()
        assert any(tu.path_named_in(b, res.err) for b in bad), f"stderr names none of {bad}:\n{res.err}"
        assert os.listdir(out_dir) == [], "a failed convert left files behind"
        return
    assert res.rc == 0, res.describe()
    assert os.listdir(out_dir) == ["out.safetensors"]
    want = {t["name"]: (t["dtype"], t["shape"], t["sha256"]) for t in entry["tensors"]}
    assert output_listing(run_mft, dst) == want
    check_safetensors_output(dst, entry["tensors"])
    _, meta = su.load_reference(dst.read_bytes())
    leaked = sorted(set(meta or {}) & set(entry["values"]))
    assert not leaked, f"without --keep-metadata values must not be written: {leaked[:10]}"
    check_dropped_named(res.err, entry["values"])

    # --keep-metadata: the values go to __metadata__ instead
    dst2 = out_dir / "kept.safetensors"
    res = run_mft("convert", path, dst2, "--keep-metadata", check=0)
    assert output_listing(run_mft, dst2) == want
    _, meta = su.load_reference(dst2.read_bytes())
    check_metadata(meta, entry["values"])


SELECT_CASES = [pytest.param(w, f, id=f"{w}-{f}") for w in ("torch113", "torch2")
                for f in ("checkpoint.pth", "legacy_checkpoint.pt") if f in FILES]


@pytest.mark.parametrize("which,name", SELECT_CASES)
def test_convert_select_model_state_dict(which, name, fixture_sets, run_mft, tmp_path):
    path, entry = lookup(fixture_sets, which, name)
    dst = tmp_path / "model.safetensors"
    run_mft("convert", path, dst, "--select", "model_state_dict", "--keep-metadata", check=0)
    prefix = "model_state_dict."
    want = {t["name"][len(prefix):]: (t["dtype"], t["shape"], t["sha256"])
            for t in entry["tensors"] if t["name"].startswith(prefix)}
    assert want and output_listing(run_mft, dst) == want
    _, meta = su.load_reference(dst.read_bytes())
    assert not meta, f"the model_state_dict subtree holds no values, yet __metadata__ = {meta}"


@pytest.mark.parametrize("which", ["torch113", "torch2"])
def test_convert_select_optimizer_values(which, fixture_sets, run_mft, tmp_path):
    """--select with --keep-metadata keeps the subtree's values, their prefix removed."""
    path, entry = lookup(fixture_sets, which, "checkpoint.pth")
    dst = tmp_path / "opt.safetensors"
    run_mft("convert", path, dst, "--select", "optimizer_state_dict", "--keep-metadata", check=0)
    prefix = "optimizer_state_dict."
    want = {t["name"][len(prefix):]: (t["dtype"], t["shape"], t["sha256"])
            for t in entry["tensors"] if t["name"].startswith(prefix)}
    assert output_listing(run_mft, dst) == want
    _, meta = su.load_reference(dst.read_bytes())
    check_metadata(meta, {p[len(prefix):]: v for p, v in entry["values"].items() if p.startswith(prefix)})
