"""Install a generated repository in a fresh virtual environment and run its checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Check:
    command: str
    code: int
    output: str


def uv() -> str:
    """uv from the test environment (a test dependency), else from PATH."""
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else (shutil.which("uv") or "uv")


def fresh_venv(repo: Path, requirements: str | None = None) -> Path:
    """A new virtual environment in REPO/.venv with the repo and its test extra
    (or, for a repo that is not a package, its REQUIREMENTS file)."""
    env = {**os.environ, "VIRTUAL_ENV": str(repo / ".venv")}
    shutil.rmtree(repo / ".venv", ignore_errors=True)
    subprocess.run(
        [uv(), "venv", "-q", "--python", sys.executable, str(repo / ".venv")],
        check=True,
        env=env,
        capture_output=True,
    )
    done = subprocess.run(
        [
            uv(),
            "pip",
            "install",
            "-q",
            *(["-r", str(repo / requirements)] if requirements else ["-e", f"{repo}[test]"]),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise AssertionError(f"installing {repo} failed:\n{done.stdout}{done.stderr}")
    return repo / ".venv" / "bin"


def run_in(
    repo: Path, bin_dir: Path, *command: str, extra_env: dict[str, str] | None = None
) -> Check:
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "VIRTUAL_ENV")}
    # dozens of generated repos run their crash test here: a few hundred events and
    # three kills each (tests/test_e2e_reliability.py kills one with thousands)
    env.setdefault("CRASH_EVENTS", "400")
    # their waits are safety nets: with the suite on three workers a Kafka consumer
    # group's rebalance after a kill, or a Redis claim of a dead consumer's messages,
    # takes longer than on an idle machine (a stall still fails, later)
    env.setdefault("INTEGRATION_TIMEOUT", "150")
    env.update(extra_env or {})
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [str(bin_dir / command[0]), *command[1:]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return Check(" ".join(command), done.returncode, done.stdout + done.stderr)
