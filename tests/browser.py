"""Load a page in headless Chromium (Debian's package) and return the DOM it shows."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise AssertionError(
            "Chromium is not installed: apt-get install chromium (scripts/test.sh does)"
        )
    return found


def rendered_dom(page: Path, fragment: str = "") -> str:
    """The DOM after the page's scripts ran, as Chromium shows it."""
    with tempfile.TemporaryDirectory(prefix="evtgen-chromium-") as profile:
        done = subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--dump-dom",
                page.absolute().as_uri() + (f"#{fragment}" if fragment else ""),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if done.returncode != 0 or "<html" not in done.stdout:
        raise AssertionError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout
