"""Benchmark: evtgen against plain Copier, side by side in one run.

(a) `evtgen --help` against `copier --help` (start-up: imports), and what `--help`
    imports (`python -X importtime`): ruamel.yaml must not be among them;
(b) `evtgen new service orders --defaults` against `copier copy template/ --defaults`
    for the same answers (the sample model, Kafka, Avro). evtgen's side reads the
    sample model with ruamel.yaml's round-trip parser and writes it back with the
    service name and channels it resolved.

With `--before CHECKOUT` (another checkout of evtgen, e.g. `git worktree add
/tmp/before main`), also (a) and (b) for this checkout against that one, run from the
same virtualenv: before/after figures of a change under the same load.

Runs are interleaved, so both sides see the same machine load. Prints medians and
the ratio evtgen / copier (below 1.0: evtgen is faster).

    python bench/startup_and_new.py [--runs N] [--before CHECKOUT]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def side_by_side(
    runs: int, ours: Callable[[int], float], theirs: Callable[[int], float]
) -> tuple[float, float]:
    ours_times, theirs_times = [], []
    for i in range(runs):
        # alternate which goes first, so neither always gets the warm cache
        pair = [(ours, ours_times), (theirs, theirs_times)]
        for run, times in pair if i % 2 == 0 else reversed(pair):
            times.append(run(i))
    return statistics.median(ours_times), statistics.median(theirs_times)


def report(name: str, ours: float, theirs: float, peer: str, target: str) -> None:
    print(
        f"{name}: evtgen {ours * 1000:.0f} ms, {peer} {theirs * 1000:.0f} ms "
        f"(medians); ratio evtgen/{peer} = {ours / theirs:.2f}; {target}"
    )


def help_imports(evtgen_python: str) -> tuple[int, float, bool]:
    """Modules `evtgen --help` imports, their cumulative import time (s), and whether
    ruamel.yaml is among them (it is imported only where a model is read)."""
    done = subprocess.run(
        [evtgen_python, "-X", "importtime", "-m", "evtgen", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:")]
    # "import time: self | cumulative | name", the name indented by its nesting
    modules = [(int(row[1]), row[2].rstrip()) for row in rows[1:] if row[1].strip().isdigit()]
    top_level = sum(cumulative for cumulative, name in modules if not name.startswith("  "))
    ruamel = any(name.strip().startswith("ruamel") for _, name in modules)
    return len(modules), top_level / 1e6, ruamel


def against_before(checkout: Path, runs: int, evtgen: str, work: Path) -> None:
    """This checkout's evtgen against another's, from the same virtualenv (the other
    one's package first on the path; its `template/` is found beside it)."""
    before = {**os.environ, "PYTHONPATH": str(checkout / "generator")}
    probe = subprocess.run(
        [sys.executable, "-c", "import evtgen; print(evtgen.__file__)"],
        env=before,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.startswith(str(checkout)), f"not the --before checkout: {probe.stdout}"
    after, was = side_by_side(
        runs,
        lambda i: timed([evtgen, "--help"], work),
        lambda i: timed([evtgen, "--help"], work, before),
    )
    report("--help start-up, this checkout", after, was, "before", "(same venv, same load)")
    new = [evtgen, "new", "service", "orders", "--defaults", "--dest"]
    after, was = side_by_side(
        runs,
        lambda i: timed([*new, str(work / f"after-{i}")], work),
        lambda i: timed([*new, str(work / f"before-{i}")], work, before),
    )
    report("new service --defaults, this checkout", after, was, "before", "(same venv, same load)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--before", type=Path, help="another evtgen checkout to compare with")
    args = parser.parse_args()
    runs = args.runs
    evtgen, copier = str(BIN / "evtgen"), str(BIN / "copier")
    work = Path(tempfile.mkdtemp(prefix="evtgen-bench-"))
    try:
        if args.before is not None:
            against_before(args.before.resolve(), runs, evtgen, work)
        ours, theirs = side_by_side(
            runs,
            lambda i: timed([evtgen, "--help"], work),
            lambda i: timed([copier, "--help"], work),
        )
        report(
            "--help start-up",
            ours,
            theirs,
            "copier",
            f"target: evtgen <= 150 ms ({'met' if ours <= 0.15 else 'MISSED'})",
        )
        count, seconds, ruamel = help_imports(sys.executable)
        print(
            f"--help imports: {count} modules, {seconds * 1000:.0f} ms cumulative "
            f"(-X importtime, one run); ruamel.yaml {'IMPORTED' if ruamel else 'not imported'}"
        )
        answers = ["--data", "broker=kafka", "--data", "schema_format=avro"]
        ours, theirs = side_by_side(
            runs,
            lambda i: timed(
                [
                    evtgen,
                    "new",
                    "service",
                    "orders",
                    "--defaults",
                    "--dest",
                    str(work / f"evtgen-{i}"),
                    *answers,
                ],
                work,
            ),
            lambda i: timed(
                [
                    copier,
                    "copy",
                    "--defaults",
                    "--quiet",
                    str(ROOT / "template"),
                    str(work / f"copier-{i}"),
                    *answers,
                ],
                work,
            ),
        )
        report(
            "new service --defaults",
            ours,
            theirs,
            "copier copy",
            f"target: ratio <= 1.0 ({'met' if ours <= theirs else 'MISSED'})",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
