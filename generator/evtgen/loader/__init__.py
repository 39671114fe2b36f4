"""Read an event-storming model from YAML and check it, all problems at once.

Every problem is reported as `FILE:LINE: what is wrong`; `yamllines` keeps the line
of every key and item, so the line points at the offending entry. One concern a
module: `sections` (the document and its entries), `fields` (fields and their
types), `saga`, `checks` (across entries), `names` (what a name may be) and `pieces`
(the small readers they share); the AsyncAPI importer reuses them, so both inputs
obey the same rules.
"""

from __future__ import annotations

from pathlib import Path

from evtgen.loader.names import check_service_name
from evtgen.loader.sections import read_model
from evtgen.model import Model
from evtgen.problems import ModelError, Problem, Problems
from evtgen.yamllines import YamlSyntaxError, load

__all__ = ["ModelError", "Problem", "check_service_name", "load_model", "parse_model"]


def load_model(path: Path, *, service: str | None = None) -> Model:
    """Parse and check the model file; raise ModelError listing every problem."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelError([Problem(str(path), 1, f"cannot read the model: {err}")]) from err
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ModelError(
            [
                Problem(
                    str(path),
                    line,
                    f"the model is not UTF-8 text (byte 0x{data[err.start]:02x}); save it as UTF-8",
                )
            ]
        ) from err
    return parse_model(text, str(path), service=service)


def parse_model(text: str, filename: str, *, service: str | None = None) -> Model:
    """Parse model text; `service`, when given, is the name the caller wants."""
    try:
        data = load(text, round_trip=True)  # the parser the model file is written back with
    except YamlSyntaxError as err:
        raise ModelError(
            [Problem(filename, err.line, f"YAML syntax error: {err.message}")]
        ) from err
    problems = Problems()
    model = read_model(problems.in_file(filename), data, service)
    if problems.errors:
        raise problems.error()  # one file: in line order
    assert model is not None
    return model
