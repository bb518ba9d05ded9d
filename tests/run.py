#!/usr/bin/env python3
"""mft's one test runner (what `make test` calls), run with the reference venv's python.

    python tests/run.py [--mft PATH] [--unit BIN]... [--replay 'CMD']... [--no-pytest] [-- PYTEST_ARGS...]

In order:
  (a) C unit test binaries (--unit, repeatable).  Each prints `ok NAME` or `FAIL NAME: reason` per test
      and ends with `unit: N passed, M failed`.  A binary that crashes, exits non-zero without
      reporting a failure, or prints no summary line counts as one more failure.
  (b) fuzz corpus replay commands (--replay, repeatable shell strings): one test each, passing when
      the command exits 0.
  (c) pytest over tests/ (`python -m pytest -q -p no:cacheprovider --junitxml=TMP tests/`), counted from
      the junit XML (errors count as failures).  The environment variable MFT (or --mft) names the
      binary under test and is passed through.

The very last line printed is exactly `N passed, M failed` (`, K skipped` appended when K > 0).
Exit status 1 if anything failed or no test ran at all, else 0.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

OK_RE = re.compile(r"^ok (.+?)\s*$")
FAIL_RE = re.compile(r"^FAIL (.+?)(?::\s*(.*))?$")
UNIT_SUMMARY_RE = re.compile(r"^unit: (\d+) passed, (\d+) failed\s*$")


def say(*args):
    print(*args, flush=True)


class Section:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []  # (test, reason)
        self.seconds = 0.0

    def fail(self, test, reason):
        self.failed += 1
        self.failures.append((test, reason))


def tail(text, lines=15):
    rows = text.rstrip("\n").splitlines()
    return "\n".join(rows[-lines:])


def run_units(binaries, timeout):
    sec = Section("unit")
    for binary in binaries:
        label = os.path.basename(binary)
        start = time.monotonic()
        try:
            proc = subprocess.run([binary], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=timeout, cwd=REPO_ROOT)
        except FileNotFoundError:
            sec.fail(label, f"not found: {binary}")
            say(f"FAIL {label}: binary not found: {binary}")
            continue
        except PermissionError:
            sec.fail(label, f"not executable: {binary}")
            say(f"FAIL {label}: binary not executable: {binary}")
            continue
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace")
            p, f = count_unit_lines(out, label, sec)
            sec.fail(label, f"timed out after {timeout}s")
            say(f"FAIL {label}: timed out after {timeout}s ({p} passed, {f} failed before that)")
            continue
        finally:
            sec.seconds += time.monotonic() - start
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        p, f = count_unit_lines(out, label, sec)
        summary = [UNIT_SUMMARY_RE.match(l) for l in out.splitlines()]
        summary = [m for m in summary if m]
        problem = None
        if proc.returncode < 0:
            problem = f"killed by signal {-proc.returncode}"
        elif not summary:
            problem = f"no 'unit: N passed, M failed' line (exit status {proc.returncode})"
        elif (int(summary[-1].group(1)), int(summary[-1].group(2))) != (p, f):
            problem = (f"summary says {summary[-1].group(1)} passed, {summary[-1].group(2)} failed, "
                       f"but printed {p} ok and {f} FAIL lines")
        elif proc.returncode != 0 and f == 0:
            problem = f"exit status {proc.returncode} with no failing test"
        elif proc.returncode == 0 and f > 0:
            problem = f"exit status 0 despite {f} failing tests"
        if problem:
            sec.fail(label, problem)
            say(f"FAIL {label}: {problem}")
            if err.strip():
                say(tail(err))
        elif f:
            if err.strip():
                say(f"--- {label} stderr (last lines)\n{tail(err)}")
        say(f"{label}: {p} passed, {f} failed")
    return sec


def count_unit_lines(out, label, sec):
    p = f = 0
    for line in out.splitlines():
        m = OK_RE.match(line)
        if m:
            p += 1
            continue
        m = FAIL_RE.match(line)
        if m:
            f += 1
            sec.fail(f"{label}: {m.group(1)}", m.group(2) or "")
            say(f"FAIL {label}: {m.group(1)}: {m.group(2) or ''}")
    sec.passed += p
    return p, f


def run_replays(commands, timeout):
    sec = Section("replay")
    for cmd in commands:
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=timeout, cwd=REPO_ROOT)
            rc = proc.returncode
            out = proc.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as e:
            rc = None
            out = (e.stdout or b"").decode("utf-8", "replace")
        sec.seconds += time.monotonic() - start
        if rc == 0:
            sec.passed += 1
            say(f"ok replay: {cmd}")
        else:
            why = f"timed out after {timeout}s" if rc is None else f"exit status {rc}"
            sec.fail(cmd, why)
            say(f"FAIL replay: {cmd}: {why}")
            if out.strip():
                say(tail(out, 25))
    return sec


def junit_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failures = errors = skipped = 0
    failed_names = []
    for s in suites:
        tests += int(s.get("tests", 0))
        failures += int(s.get("failures", 0))
        errors += int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
        for case in s.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed_names.append(f"{case.get('classname', '')}::{case.get('name', '')}")
    return tests, failures, errors, skipped, failed_names


def run_pytest(extra_args, timeout):
    sec = Section("pytest")
    fd, xml_path = tempfile.mkstemp(prefix="mft-pytest-", suffix=".xml")
    os.close(fd)
    os.unlink(xml_path)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml_path}",
           "--rootdir", str(TESTS_DIR), str(TESTS_DIR), *extra_args]
    say(f"$ {' '.join(shlex.quote(c) for c in cmd)}")
    start = time.monotonic()
    try:
        rc = subprocess.run(cmd, cwd=REPO_ROOT, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        rc = None
    sec.seconds = time.monotonic() - start
    try:
        if os.path.exists(xml_path) and os.path.getsize(xml_path) > 0:
            tests, failures, errors, skipped, names = junit_counts(xml_path)
            sec.passed = tests - failures - errors - skipped
            sec.skipped = skipped
            for n in names:
                sec.fail(n, "")
            if rc is None:
                sec.fail("pytest", f"timed out after {timeout}s")
            elif rc not in (0, 1, 5) or (rc == 1 and failures + errors == 0):
                sec.fail("pytest", f"pytest exit status {rc}")
        elif rc == 5:
            pass  # no tests collected
        else:
            why = f"timed out after {timeout}s" if rc is None else f"exit status {rc}, no junit report"
            sec.fail("pytest", why)
    finally:
        if os.path.exists(xml_path):
            os.unlink(xml_path)
    return sec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unit", action="append", default=[], metavar="BIN", help="C unit test binary")
    ap.add_argument("--replay", action="append", default=[], metavar="CMD", help="fuzz replay shell command")
    ap.add_argument("--mft", metavar="PATH", help="mft binary under test (default: $MFT, else build/asan/mft)")
    ap.add_argument("--no-pytest", action="store_true", help="skip the pytest section")
    ap.add_argument("--unit-timeout", type=int, default=600)
    ap.add_argument("--replay-timeout", type=int, default=600)
    ap.add_argument("--pytest-timeout", type=int, default=1800)
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args(argv)

    if args.mft:
        os.environ["MFT"] = os.path.abspath(args.mft)

    sections = []
    if args.unit:
        say("== unit tests")
        sections.append(run_units(args.unit, args.unit_timeout))
    if args.replay:
        say("== fuzz corpus replay")
        sections.append(run_replays(args.replay, args.replay_timeout))
    if not args.no_pytest:
        say(f"== pytest (MFT={os.environ.get('MFT', '(default build/asan/mft)')})")
        try:
            import pytest  # noqa: F401
        except ImportError:
            sec = Section("pytest")
            sec.fail("pytest", f"pytest is not importable by {sys.executable}; run with the venv python "
                               "(scripts/venv.sh --print-python)")
            say(f"FAIL pytest: {sec.failures[0][1]}")
            sections.append(sec)
        else:
            sections.append(run_pytest(args.pytest_args, args.pytest_timeout))

    passed = sum(s.passed for s in sections)
    failed = sum(s.failed for s in sections)
    skipped = sum(s.skipped for s in sections)

    say("== summary")
    for s in sections:
        line = f"{s.name:>7}: {s.passed} passed, {s.failed} failed"
        if s.skipped:
            line += f", {s.skipped} skipped"
        say(f"{line}  ({s.seconds:.1f}s)")
        for test, reason in s.failures[:50]:
            say(f"         FAIL {test}" + (f": {reason}" if reason else ""))
        if len(s.failures) > 50:
            say(f"         … and {len(s.failures) - 50} more")
    if passed + failed == 0:
        say("no test ran")
    final = f"{passed} passed, {failed} failed"
    if skipped:
        final += f", {skipped} skipped"
    say(final)
    return 1 if failed or passed + failed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
