#!/usr/bin/env python3
"""Run mft scan, picklescan, fickling and modelscan on the same files and write
docs/scan-comparison.md (detected / missed / false alarm per tool).

    python tools/scan_comparison.py [--mft build/mft] [--out docs/scan-comparison.md] [--jobs 2]
                                    [--big bench/data/big.pth ...] [--runs 7]

Run it with the reference venv's python (bash scripts/venv.sh --print-python): it imports
tests/test_scan.py (expectations for the corpora) and tests/scan_cases.py (the generated attack
cases).  The three scanners come from PyPI, pinned below, in their own venv at
~/.cache/mft/venv-scanners, which this script creates when it is missing.  They are static
scanners: none of them unpickles the files (neither does mft).

Files and ground truth:
  * shared/corpora/picklescan and shared/corpora/modelaudit: malicious or benign as their
    EXPECTED.md says (upstream's own verdicts, even where mft deliberately differs);
  * tests/scan_cases.py: DANGEROUS cases are malicious, SAFE ones benign; the SUSPICIOUS/ERROR
    ones (odd but harmless structure) are listed but not scored;
  * tests/fixtures/torch2: benign torch files written by torch (state dicts, whole models,
    TorchScript).
A tool "detects" a file when its default verdict fails it (picklescan/modelscan exit 1, fickling
severity above LIKELY_SAFE, mft DANGEROUS); a tool error (exit 2, crash, timeout) is not a
detection.  mft's --strict (SUSPICIOUS fails too) is reported on its own line.
"""

import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
SHARED = REPO.parent / "shared"
VENV = Path.home() / ".cache" / "mft" / "venv-scanners"
PINS = ["picklescan==1.0.5", "fickling==0.1.12", "modelscan==0.8.8",
        "typing_extensions==4.15.0"]  # fickling 0.1.12 imports it without declaring it
TIMEOUT = 120

FICKLING_DRIVER = r"""
import json, sys, zipfile
import fickling
from fickling.analysis import Severity
path = sys.argv[1]
try:
    if zipfile.is_zipfile(path):
        results = list(fickling.scan_zip_archive(path, graceful=True).values())
    else:
        results = [fickling.scan_file(path, graceful=True)]
    worst = max((r.severity for r in results), default=Severity.LIKELY_SAFE)
    errors = sum(len(r.errors) for r in results)
    print(json.dumps({"severity": worst.name, "unsafe": worst > Severity.LIKELY_SAFE,
                      "errors": errors}))
except Exception as e:  # a crash of the scanner is an error, not a verdict
    print(json.dumps({"crash": f"{type(e).__name__}: {e}"[:200]}))
"""


def ensure_venv():
    py = VENV / "bin" / "python"
    if py.exists():
        probe = subprocess.run([str(py), "-m", "pip", "freeze"], capture_output=True, text=True)
        have = {l.strip().lower().replace("_", "-") for l in probe.stdout.splitlines()}
        if all(p.lower().replace("_", "-") in have for p in PINS):
            return py
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *PINS], check=True)
    return py


def version(py, pkg):
    out = subprocess.run([str(py), "-m", "pip", "show", pkg], capture_output=True, text=True).stdout
    return next((l.split()[1] for l in out.splitlines() if l.startswith("Version:")), "?")


# ---- the tools: each returns "flagged", "clean" or "error" (+ a short note) -------------------------

def run_mft(mft, path):
    p = subprocess.run([mft, "scan", "--json", str(path)], capture_output=True, text=True,
                       timeout=TIMEOUT)
    doc = json.loads(p.stdout)["files"][0]
    v = doc["verdict"]
    return {"DANGEROUS": "flagged", "SUSPICIOUS": "suspicious", "SAFE": "clean",
            "ERROR": "error"}[v], v


def run_picklescan(py, path):
    exe = VENV / "bin" / "picklescan"
    p = subprocess.run([str(exe), "--path", str(path)], capture_output=True, text=True,
                       timeout=TIMEOUT, cwd=tempfile.gettempdir())
    return {0: "clean", 1: "flagged"}.get(p.returncode, "error"), f"exit {p.returncode}"


def run_fickling(py, path):
    p = subprocess.run([str(py), "-c", FICKLING_DRIVER, str(path)], capture_output=True, text=True,
                       timeout=TIMEOUT, cwd=tempfile.gettempdir())
    try:
        doc = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "error", f"exit {p.returncode}"
    if "crash" in doc:
        return "error", doc["crash"]
    if doc["unsafe"]:
        return "flagged", doc["severity"]
    return ("error" if doc["errors"] else "clean"), doc["severity"]


def run_modelscan(py, path):
    exe = VENV / "bin" / "modelscan"
    p = subprocess.run([str(exe), "-p", str(path)], capture_output=True, text=True,
                       timeout=TIMEOUT, cwd=tempfile.gettempdir())
    # 0 clean, 1 issues, 2 scan errors, 3 no supported files (skipped)
    return {0: "clean", 1: "flagged", 3: "clean"}.get(p.returncode, "error"), f"exit {p.returncode}"


TOOLS = [("mft", run_mft), ("picklescan", run_picklescan), ("fickling", run_fickling),
         ("modelscan", run_modelscan)]


# ---- the files -------------------------------------------------------------------------------------

def corpus_truth(rel, entry):
    verdict, row, *why = entry
    if rel.startswith("picklescan/"):
        if rel.endswith("malicious1.7z"):
            return "malicious"          # upstream: builtins.eval inside the 7z
        return "malicious" if verdict == "DANGEROUS" or "infected" in row and "not infected" not in row \
            else "benign"
    # modelaudit: the section tables say MAL / SAFE / n/a
    if "/exploits/" in rel or "/assets/pickles/" in rel or "| MAL" in row or "treated as MAL" in row:
        return "malicious"
    if "| SAFE" in row or "benign" in row.lower():
        return "benign"
    return "gray"


def collect(workdir):
    sys.path.insert(0, str(TESTS))
    import scan_cases
    import test_scan
    files = []
    root = SHARED / "corpora"
    for rel, entry in sorted(test_scan.CORPUS.items()):
        files.append({"path": root / rel, "name": rel, "group": rel.split("/")[0],
                      "truth": corpus_truth(rel, entry), "what": entry[1]})
    for c in scan_cases.cases():
        p = workdir / f"{c.name}__{c.filename}"
        p.write_bytes(c.data)
        truth = {"DANGEROUS": "malicious", "SAFE": "benign"}.get(c.verdict, "gray")
        files.append({"path": p, "name": f"cases/{c.name}", "group": "generated",
                      "truth": truth, "what": f"{c.section}: {c.what}", "section": c.section})
    for p in sorted((TESTS / "fixtures" / "torch2").iterdir()):
        if p.suffix in (".pt", ".pth", ".bin", ".pkl"):
            files.append({"path": p, "name": f"torch2/{p.name}", "group": "torch fixtures",
                          "truth": "benign", "what": "written by torch"})
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mft", default=str(REPO / "build" / "mft"))
    ap.add_argument("--out", default=str(REPO / "docs" / "scan-comparison.md"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", help="also write the raw per-file results here")
    ap.add_argument("--big", nargs="*", default=[],
                    help="large checkpoints to time mft and picklescan on (median of --runs)")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    py = ensure_venv()
    versions = {"mft": subprocess.run([args.mft, "--version"], capture_output=True,
                                      text=True).stdout.split()[-1],
                "picklescan": version(py, "picklescan"), "fickling": version(py, "fickling"),
                "modelscan": version(py, "modelscan")}
    with tempfile.TemporaryDirectory(prefix="mft-cmp-") as tmp:
        files = collect(Path(tmp))
        seconds = {name: 0.0 for name, _ in TOOLS}

        def one(f):
            row = {}
            for name, fn in TOOLS:
                start = time.monotonic()
                try:
                    row[name] = fn(args.mft if name == "mft" else py, f["path"])
                except subprocess.TimeoutExpired:
                    row[name] = ("error", "timeout")
                except Exception as e:  # noqa: BLE001 - a tool failure is a result
                    row[name] = ("error", f"{type(e).__name__}")
                seconds[name] += time.monotonic() - start
            return row

        with cf.ThreadPoolExecutor(args.jobs) as ex:
            rows = list(ex.map(one, files))
    for f, r in zip(files, rows):
        f["results"] = r
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{k: (str(v) if isinstance(v, Path) else v) for k, v in f.items()} for f in files],
            indent=1))
    timings = [time_big(args.mft, Path(b), args.runs) for b in args.big]
    Path(args.out).write_text(render(files, versions, seconds, timings))
    print(f"wrote {args.out} ({len(files)} files)")


def timed(cmd):
    """Wall seconds and peak RSS (MiB, from GNU time: a forked Python child would report the
    parent's size) of one run of cmd."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        gnu_time = ["/usr/bin/time", "-f", "%M", "-o", t.name] if os.path.exists("/usr/bin/time") else []
        start = time.monotonic()
        rc = subprocess.run(gnu_time + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode
        wall = time.monotonic() - start
        text = t.read().strip().splitlines()
    peak = int(text[-1]) / 1024 if text and text[-1].isdigit() else float("nan")
    return wall, peak, rc


def time_big(mft, path, runs):
    """Median wall time and peak memory of mft scan and picklescan on one large file (one warm-up
    run each first; the page cache is warm for both)."""
    cmds = {"mft scan": [mft, "scan", str(path)],
            "picklescan": [str(VENV / "bin" / "picklescan"), "--path", str(path)]}
    out = {"file": path.name, "bytes": path.stat().st_size}
    for name, cmd in cmds.items():
        timed(cmd)
        res = sorted(timed(cmd) for _ in range(runs))
        out[name] = {"median_s": res[len(res) // 2][0], "min_s": res[0][0], "max_s": res[-1][0],
                     "peak_mib": max(r[1] for r in res), "rc": res[0][2]}
    return out


def score(files, tool, strict=False):
    s = {"detected": 0, "missed": 0, "missed_error": 0, "false": 0, "benign": 0, "malicious": 0,
         "errors": 0}
    for f in files:
        outcome = f["results"][tool][0]
        if strict and outcome == "suspicious":
            outcome = "flagged"
        if outcome == "suspicious":
            outcome = "clean"
        if outcome == "error":
            s["errors"] += 1
        if f["truth"] == "malicious":
            s["malicious"] += 1
            if outcome == "flagged":
                s["detected"] += 1
            else:
                s["missed"] += 1
                s["missed_error"] += outcome == "error"
        elif f["truth"] == "benign":
            s["benign"] += 1
            s["false"] += outcome == "flagged"
    return s


def render(files, versions, seconds, timings=()):
    tools = [name for name, _ in TOOLS]
    out = ["# Scanner comparison: mft scan, picklescan, fickling, modelscan", "",
           "Written by `tools/scan_comparison.py` (run it again to refresh). Every tool scanned the "
           "same files in its default mode: the two public corpora in `shared/corpora` "
           "(truth = their EXPECTED.md), one generated file per attack class of "
           "`shared/reference/pickle-security.md` §3 (`tests/scan_cases.py`; truth = the case's "
           "intent) and the benign torch fixtures of `tests/fixtures/torch2`. "
           "A file counts as *detected* when the tool's default verdict fails it "
           "(mft: DANGEROUS; picklescan/modelscan: exit 1; fickling: severity above LIKELY_SAFE); "
           "a scanner error is never a detection (shown in parentheses under *missed*).", "",
           "Versions: " + ", ".join(f"{t} {versions[t]}" for t in tools) + ".", "",
           "## Summary", "",
           "| tool | detected | missed (errors) | false alarms | scan errors | seconds |",
           "| --- | --- | --- | --- | --- | --- |"]
    for t in tools:
        s = score(files, t)
        out.append(f"| {t} | {s['detected']}/{s['malicious']} | {s['missed']} ({s['missed_error']}) "
                   f"| {s['false']}/{s['benign']} | {s['errors']} | {seconds[t]:.0f} |")
    s = score(files, "mft", strict=True)
    out.append(f"| mft --strict | {s['detected']}/{s['malicious']} | {s['missed']} "
               f"({s['missed_error']}) | {s['false']}/{s['benign']} | {s['errors']} | |")
    out += ["", "Seconds: wall time summed over per-file runs (each run starts the tool's "
            "process; the Python tools pay their interpreter start-up every time).", ""]
    if timings:
        out += ["## Speed on large checkpoints", "",
                "Whole-process wall time (median, min–max of the runs after a warm-up) and peak "
                "memory, page cache warm. mft maps the file and reads only the pickles and the "
                "zip directory; storages torch references are never read. big.pth: torch.save "
                "(zip) of a 1.25 GiB state_dict (bench/make_pth.py); big_legacy.pth: the same saved "
                "with `_use_new_zipfile_serialization=False`; bigraw.pkl: a protocol 4 pickle "
                "holding one 1 GiB bytes value.", "",
                "| file | size | mft scan | picklescan | ratio |", "| --- | --- | --- | --- | --- |"]
        for t in timings:
            a, b = t["mft scan"], t["picklescan"]
            out.append(f"| {t['file']} | {t['bytes'] / 2**30:.2f} GiB | {a['median_s']*1000:.1f} ms "
                       f"({a['min_s']*1000:.1f}–{a['max_s']*1000:.1f}), {a['peak_mib']:.0f} MiB | "
                       f"{b['median_s']*1000:.0f} ms ({b['min_s']*1000:.0f}–{b['max_s']*1000:.0f}), "
                       f"{b['peak_mib']:.0f} MiB | {b['median_s'] / a['median_s']:.0f}× |")
        out.append("")
    out += ["## By group", "", "| group | files | " + " | ".join(
        f"{t} det / missed / false" for t in tools) + " |",
        "| --- | --- | " + " | ".join("---" for _ in tools) + " |"]
    groups = []
    for f in files:
        if f["group"] not in groups:
            groups.append(f["group"])
    for g in groups:
        sub = [f for f in files if f["group"] == g]
        cells = []
        for t in tools:
            s = score(sub, t)
            cells.append(f"{s['detected']}/{s['malicious']} · {s['missed']} · {s['false']}/{s['benign']}")
        out.append(f"| {g} | {len(sub)} | " + " | ".join(cells) + " |")
    out += ["", "## Generated attack classes", "",
            "Malicious cases by section of the notes: how many each tool detects.", "",
            "| section | malicious cases | " + " | ".join(tools) + " |",
            "| --- | --- | " + " | ".join("---" for _ in tools) + " |"]
    sections = []
    for f in files:
        if f["group"] == "generated" and f["truth"] == "malicious" and f["section"] not in sections:
            sections.append(f["section"])
    for sec in sections:
        sub = [f for f in files if f.get("section") == sec and f["truth"] == "malicious"]
        out.append(f"| {sec} | {len(sub)} | " + " | ".join(
            str(score(sub, t)["detected"]) for t in tools) + " |")
    out += ["", "## Files some tool gets wrong", "",
            "Malicious files not detected, or benign ones flagged, by at least one tool "
            "(✔ right, ✘ wrong, E scanner error, S mft SUSPICIOUS). Unscored (SUSPICIOUS/ERROR "
            "by design) generated cases are left out.", "",
            "| file | truth | " + " | ".join(tools) + " | what it is |",
            "| --- | --- | " + " | ".join("---" for _ in tools) + " | --- |"]
    for f in files:
        if f["truth"] == "gray":
            continue
        marks, wrong = [], False
        for t in tools:
            outcome, note = f["results"][t]
            ok = (outcome == "flagged") == (f["truth"] == "malicious")
            if outcome == "error":
                mark = "E"
            elif outcome == "suspicious":
                mark = "S"
            else:
                mark = "✔" if ok else "✘"
            wrong |= not ok
            marks.append(mark)
        if wrong:
            what = f["what"].replace("|", "/").replace("\n", " ")
            if len(what) > 90:
                what = what[:87] + "…"
            out.append(f"| {f['name']} | {f['truth']} | " + " | ".join(marks) + f" | {what} |")
    out += ["", "## Notes", "",
            "* mft's SUSPICIOUS (unknown classes such as `__main__.Net`, TorchScript, embedded "
            "pickles, odd structure) exits 0 by default and 1 with `--strict`; the *mft --strict* "
            "line scores it as a detection.",
            "* The modelaudit corpus labels nested/encoded pickles that only call `builtins.print` "
            "and a safetensors file whose metadata *text* mentions `os.system` as malicious; mft "
            "reports the former as SUSPICIOUS (they do not run when the file loads) and the latter "
            "as SAFE (no loader executes metadata), so they count as misses above.",
            "* mft does not unpack 7z archives (SUSPICIOUS, never SAFE) and does not analyse "
            "TensorFlow GraphDefs (ERROR).",
            ""]
    return "\n".join(out)


if __name__ == "__main__":
    main()
