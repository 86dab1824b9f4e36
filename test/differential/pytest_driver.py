"""Ask real pytest how it treats -k / -m expressions, many cases in ONE Python process.

Usage: python3 pytest_driver.py REQUEST.json   (prints one JSON object on stdout)

Request modes:
  {"mode": "collect", "rootdir": DIR, "cases": [{"args": [...]}, ...], "recheck": [case indices]}
      Runs `pytest --collect-only -q -p no:cacheprovider <args>` in DIR for each case via pytest.main(),
      capturing stdout/stderr. Records exit code, listed node ids, stderr. Then re-runs the `recheck` cases
      in-process again AND in fresh `python -m pytest` subprocesses, and reports any case whose outcome
      differs, so that reusing one process is shown to behave like fresh runs.
  {"mode": "compile", "cases": [{"input": STR, "truthy": [NAMES]}, ...]}
      Compiles each expression with pytest's own Expression class and evaluates it with a matcher that
      answers `name in truthy` (a call counts as true when `name()` is in truthy). Records the SyntaxError
      (text, offset, msg) or the crash type, the result, and which distinct calls the matcher received.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import subprocess
import sys

FIXED_ARGS = ["--collect-only", "-q", "-p", "no:cacheprovider"]


def outcome(exit_code: int, stdout: str, stderr: str) -> dict:
    # Node ids come first, one per line, up to the first blank line (then the summary).
    ids = []
    for line in stdout.splitlines():
        if not line.strip():
            break
        if "::" in line:
            ids.append(line)
    return {"exit": exit_code, "ids": ids, "stdout": stdout, "stderr": stderr}


def run_in_process(args: list[str]) -> dict:
    import pytest

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        exit_code = int(pytest.main(FIXED_ARGS + args))
    # Each session ends with five full gc.collect() calls (unraisableexception cleanup) whose cost grows with
    # the heap; freezing what survived keeps a run at ~30 ms instead of ~90 ms and changes no selection.
    gc.freeze()
    return outcome(exit_code, out.getvalue(), err.getvalue())


def run_fresh(args: list[str]) -> dict:
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *FIXED_ARGS, *args],
        capture_output=True, env=env, encoding="utf-8", errors="surrogateescape",
    )
    return outcome(proc.returncode, proc.stdout, proc.stderr)


def comparable(result: dict) -> tuple:
    # Timings in the summary line differ between runs; compare what selection decides.
    return (result["exit"], result["ids"], result["stderr"] if result["exit"] != 3 else "crash")


def collect(request: dict) -> dict:
    os.chdir(request["rootdir"])
    results = [run_in_process(case["args"]) for case in request["cases"]]
    inconsistent = []
    for index in request.get("recheck", []):
        args = request["cases"][index]["args"]
        again, fresh = run_in_process(args), run_fresh(args)
        if not (comparable(results[index]) == comparable(again) == comparable(fresh)):
            inconsistent.append({"index": index, "first": results[index], "again": again, "fresh": fresh})
    return {"pytest": __import__("pytest").__version__, "results": results, "inconsistent": inconsistent}


def compile_and_evaluate(case: dict) -> dict:
    from _pytest.mark.expression import Expression

    truthy = set(case["truthy"])
    calls = []

    def matcher(name: str, /, **kwargs) -> bool:
        if kwargs:
            calls.append([name, kwargs])
            return name + "()" in truthy
        calls.append([name, None])
        return name in truthy

    try:
        expression = Expression.compile(case["input"])
    except SyntaxError as e:
        return {"error": {"text": e.text, "offset": e.offset, "msg": e.msg}}
    except (ValueError, RecursionError) as e:
        return {"crash": type(e).__name__}
    result = expression.evaluate(matcher)
    distinct = []
    for call in calls:  # bool() of a bare name runs twice in pytest; keep each call once, in first order
        if call not in distinct:
            distinct.append(call)
    return {"result": result, "calls": distinct}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    if request["mode"] == "collect":
        response = collect(request)
    else:
        response = {"results": [compile_and_evaluate(case) for case in request["cases"]]}
    # ASCII-only JSON: safe whatever the pipe's encoding is.
    sys.stdout.write(json.dumps(response, ensure_ascii=True))


if __name__ == "__main__":
    main()
