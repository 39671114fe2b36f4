"""The real AsyncAPI parser for the tests: @asyncapi/parser under Node.js, with the
small scripts in tests/tools/asyncapi (installed by `npm ci --prefix tests/tools/asyncapi`,
which scripts/test.sh runs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

ASYNCAPI_CHECK = ROOT / "tests" / "tools" / "asyncapi"


def run_asyncapi_tool(
    script: str, *documents: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run tests/tools/asyncapi/<script> on the documents; the test fails (never skips)
    when the parser is not installed."""
    if shutil.which("node") is None or not (ASYNCAPI_CHECK / "node_modules").is_dir():
        pytest.fail(
            "the AsyncAPI checker is not installed: it needs Node.js and "
            "`npm ci --prefix tests/tools/asyncapi` (.ci/run does both)"
        )
    return subprocess.run(
        ["node", str(ASYNCAPI_CHECK / script), *map(str, documents)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_valid_asyncapi(*documents: Path) -> None:
    """Each document is valid AsyncAPI 3.0.0 by the real parser."""
    done = run_asyncapi_tool("validate.mjs", *documents)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("valid AsyncAPI 3.0.0") == len(documents), done.stdout
