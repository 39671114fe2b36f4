"""Benchmark: evtgen against plain Copier, side by side in one run.

(a) `evtgen --help` against `copier --help` (start-up: imports);
(b) `evtgen new service orders --defaults` against `copier copy template/ --defaults`
    for the same answers (the sample model, Kafka, Avro).

Runs are interleaved, so both sides see the same machine load. Prints medians and
the ratio evtgen / copier (below 1.0: evtgen is faster).

    python bench/startup_and_new.py [--runs N]
"""

from __future__ import annotations

import argparse
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


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    runs = parser.parse_args().runs
    evtgen, copier = str(BIN / "evtgen"), str(BIN / "copier")
    work = Path(tempfile.mkdtemp(prefix="evtgen-bench-"))
    try:
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
