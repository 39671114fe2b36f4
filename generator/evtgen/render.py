"""What evtgen adds to Copier's rendering for speed, and evtgen's cache directory.

Copier compiles every template file, file name and answer default with Jinja on
every render. evtgen keeps the compiled code on disk, keyed by the source and
everything that shapes its compilation, so an unchanged template is compiled once
per machine, not once per render (`new`, and every repo of a fleet update). The
Copier side of it (which Jinja environment) is in evtgen.copier_adapter.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment


def cache_dir() -> Path:
    """evtgen's per-user cache: $EVTGEN_CACHE_DIR, else $XDG_CACHE_HOME/evtgen."""
    if explicit := os.environ.get("EVTGEN_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "evtgen"


def cache_compiled_code(env: Environment, directory: Path) -> None:
    """Make `env.compile` keep what it compiles in `directory`, for any process."""
    import jinja2

    original = env.compile
    shape = repr(
        (
            sys.version,
            jinja2.__version__,
            type(env).__qualname__,
            sorted(env.extensions),
            env.block_start_string,
            env.block_end_string,
            env.variable_start_string,
            env.variable_end_string,
            env.comment_start_string,
            env.comment_end_string,
            env.line_statement_prefix,
            env.line_comment_prefix,
            env.trim_blocks,
            env.lstrip_blocks,
            env.newline_sequence,
            env.keep_trailing_newline,
            env.optimized,
            env.is_async,
            env.autoescape,
        )
    )

    def compile(
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if raw:
            return original(source, name, filename, True, defer_init)
        if not isinstance(source, str):
            return original(source, name, filename, False, defer_init)
        key = hashlib.sha256(repr((shape, source, name, filename, defer_init)).encode())
        path = directory / key.hexdigest()
        try:
            code = marshal.loads(path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            pass
        else:
            # extensions keep state in their preprocess hook (Copier's `yield` does)
            env.preprocess(source, name, filename)
            return code
        code = original(source, name, filename, False, defer_init)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            temporary.write_bytes(marshal.dumps(code))
            os.replace(temporary, path)
        except OSError:
            temporary.unlink(missing_ok=True)
        return code

    env.compile = compile  # type: ignore[method-assign]
