"""Benchmark: a fleet update, `evtgen update --jobs 2` against a shell loop of
`copier update` over identical copies, side by side in one run.

The fleet: N services (default 50) made from an older version of the bundled template
(a modified copy published as v0.0.9 into a scratch template store), each with an
edit of its own in domain.py and committed. Each repo is copied; the copy records the
store's path as its `_src_path` (Copier cannot resolve `evtgen:bundled`). Then both
update to the installed version: evtgen over the originals, Copier over the copies.
Caches start cold for both (a scratch EVTGEN_CACHE_DIR / COPIER_CACHE_DIR).

    python bench/update_fleet.py [--repos N] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "generator"))


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def build_fleet(work: Path, count: int) -> tuple[list[Path], list[Path]]:
    from evtgen.commands.new import NewServiceRequest, new_service
    from evtgen.store import ensure_bundled_published, publish, store_path
    from evtgen.templates import bundled_template

    old = work / "old-template"
    shutil.copytree(bundled_template(), old)
    dockerfile = old / "project" / "Dockerfile.jinja"
    dockerfile.write_text("".join(dockerfile.read_text().splitlines(keepends=True)[:-1]))
    publish(old, "0.0.9")
    ensure_bundled_published()
    ours, theirs = [], []
    for i in range(count):
        name = f"svc-{i:02d}"
        repo = work / "evtgen" / name
        repo.parent.mkdir(exist_ok=True)
        new_service(
            NewServiceRequest(
                name=name, dest=repo, template=str(store_path()), vcs_ref="v0.0.9", defaults=True
            )
        )
        answers = repo / ".copier-answers.yml"
        text = answers.read_text()
        answers.write_text(text.replace(f"_src_path: {store_path()}", "_src_path: evtgen:bundled"))
        package = name.replace("-", "_")
        domain = repo / "src" / package / "domain.py"
        domain.write_text(domain.read_text() + "\n\ndef house_rule() -> int:\n    return 42\n")
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "generated and edited")
        copy = work / "copier" / name
        copy.parent.mkdir(exist_ok=True)
        shutil.copytree(repo, copy, symlinks=True)
        (copy / ".copier-answers.yml").write_text(text)  # the store's path, for Copier
        git(copy, "commit", "-qam", "copier can find the template")
        ours.append(repo)
        theirs.append(copy)
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evtgen-bench-") as scratch:
        work = Path(scratch)
        os.environ["EVTGEN_DATA_DIR"] = str(work / "data")
        os.environ["EVTGEN_CACHE_DIR"] = str(work / "evtgen-cache")
        os.environ["COPIER_CACHE_DIR"] = str(work / "copier-cache")
        for role in ("AUTHOR", "COMMITTER"):
            os.environ.setdefault(f"GIT_{role}_NAME", "bench")
            os.environ.setdefault(f"GIT_{role}_EMAIL", "bench@evtgen.invalid")
        print(f"building a fleet of {args.repos} repos (twice) ...", file=sys.stderr)
        ours, theirs = build_fleet(work, args.repos)
        from evtgen import __version__

        start = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "evtgen"), "update", "--jobs", str(args.jobs), *map(str, ours)],
            capture_output=True,
            text=True,
        )
        evtgen_time = time.perf_counter() - start
        updated = done.stdout.count(": updated")
        loop = "\n".join(
            f"(cd {p} && {BIN / 'copier'} update --defaults --quiet --vcs-ref v{__version__}) "
            ">/dev/null 2>&1"
            for p in theirs
        )
        start = time.perf_counter()
        subprocess.run(["bash", "-c", loop], check=False)
        copier_time = time.perf_counter() - start
        copier_ok = sum(
            f"_commit: v{__version__}" in (p / ".copier-answers.yml").read_text() for p in theirs
        )
        print(
            f"{args.repos} repos: evtgen update --jobs {args.jobs} {evtgen_time:.1f} s "
            f"({updated} updated, exit {done.returncode}); copier update loop "
            f"{copier_time:.1f} s ({copier_ok} updated); "
            f"speed-up copier/evtgen = {copier_time / evtgen_time:.1f}x (target: 5x)"
        )


if __name__ == "__main__":
    main()
