"""Bad input no one here wrote: hypothesis breaks valid model files and AsyncAPI
documents (a value of the wrong type, a key gone, a NUL byte, bytes that are not
UTF-8, a name of hundreds of characters, a cut, a stray indent, ...). The reader either
takes the result or refuses it with its problems (ModelError), never another
exception; `evtgen new service` on a refused one exits 2 with one line per problem
(`FILE:LINE: what is wrong` or `evtgen: error: ...`), never a traceback, and writes
nothing. Runs in process, so hundreds of inputs take seconds."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import traceback
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from evtgen.asyncapi import load_asyncapi
from evtgen.cli import main
from evtgen.loader import ModelError, load_model

EXAMPLES = int(os.environ.get("EVTGEN_BAD_INPUT_EXAMPLES", "50"))
MODELS = sorted(
    [ROOT / "generator/evtgen/data/sample-model.yaml", *(ROOT / "tests/models").glob("*.yaml")]
)
DOCUMENTS = sorted((ROOT / "tests/asyncapi").glob("*.yaml"))
#: Values a broken file may hold where something else belongs.
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.sampled_from(["", "yes", "no", "~", "5", "1e3", "null", "*", "&a", "!!binary x"]),
    st.just("N" * 365),
    st.text(min_size=1, max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["name", "type", "$ref", "fields"]), st.text(max_size=5)),
)
#: Bytes a broken file may hold anywhere.
NOISE = st.sampled_from(
    [b"\x00", b"\xff\xfe", b"\t", b"\r", b"\n  ", b": ", b"- ", b"{", b"]", b"'", b'"', b"&x *x"]
)


def paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a YAML tree."""
    found = [at] if at else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*at, index))
    return found


def set_at(node: Any, at: tuple[Any, ...], value: Any, delete: bool) -> None:
    for step in at[:-1]:
        node = node[step]
    if delete:
        del node[at[-1]]
    else:
        node[at[-1]] = value


@st.composite
def broken(draw: st.DrawFn, seeds: list[Path]) -> tuple[Path, bytes]:
    """A seed file and its broken bytes: one to three edits of its tree or its text."""
    seed = draw(st.sampled_from(seeds))
    yaml = YAML()
    tree = yaml.load(seed.read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(0, 3))):
        where = paths(tree)
        if not where:
            break
        at = draw(st.sampled_from(where))
        set_at(tree, at, draw(JUNK), delete=draw(st.booleans()))
    out = io.BytesIO()
    yaml.dump(tree, out)
    data = out.getvalue()
    for _ in range(draw(st.integers(0, 2))):
        position = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["insert", "cut", "truncate"]))
        if edit == "insert":
            data = data[:position] + draw(NOISE) + data[position:]
        elif edit == "cut":
            data = data[:position] + data[position + draw(st.integers(1, 40)) :]
        else:
            data = data[:position]
    return seed, data


def refused_in_one_line_each(arguments: list[str], file: Path, dest: Path) -> None:
    """`evtgen ARGUMENTS` exits 2, each stderr line one problem, nothing written."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(arguments)
        except BaseException:  # the traceback a user would see
            pytest.fail(f"{file.read_bytes()!r}\nraised:\n{traceback.format_exc()}")
    said = err.getvalue()
    assert code == 2, f"{file.read_bytes()!r}\nexit {code}:\n{said}{out.getvalue()}"
    lines = said.splitlines()
    assert lines, file.read_bytes()
    for line in lines:
        assert line.startswith((str(file), "evtgen: error: ")), f"{file.read_bytes()!r}\n{said}"
        assert line.strip() != str(file) and "Traceback" not in line, said
    assert not dest.exists()


def read_or_refuse(read: Any, file: Path) -> bool:
    """Whether the reader refused the file (ModelError); any other exception fails."""
    try:
        read()
    except ModelError:
        return True
    except Exception:
        pytest.fail(f"{file.read_bytes()!r}\nraised:\n{traceback.format_exc()}")
    return False


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(case=broken(MODELS))
def test_a_broken_model_is_read_or_refused_in_one_line_per_problem(
    case: tuple[Path, bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, data = case
    work = tmp_path_factory.mktemp("model")
    model = work / "model.yaml"
    model.write_bytes(data)
    if read_or_refuse(lambda: load_model(model, service="fuzzed"), model):
        dest = work / "fuzzed"
        arguments = ["new", "service", "fuzzed", "--model", str(model), "--defaults"]
        refused_in_one_line_each([*arguments, "--dest", str(dest)], model, dest)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The AsyncAPI examples with the files their `$ref`s read, to break one beside them."""
    folder = tmp_path_factory.mktemp("asyncapi") / "asyncapi"
    shutil.copytree(ROOT / "tests/asyncapi", folder)
    return folder


@FUZZ
@given(case=broken(DOCUMENTS))
def test_a_broken_asyncapi_document_is_read_or_refused_in_one_line_per_problem(
    case: tuple[Path, bytes], documents: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, data = case
    document = documents / "fuzzed-document.yaml"
    document.write_bytes(data)
    if read_or_refuse(lambda: load_asyncapi(document, service="fuzzed"), document):
        dest = tmp_path_factory.mktemp("document") / "fuzzed"
        arguments = ["new", "service", "fuzzed", "--asyncapi", str(document), "--defaults"]
        refused_in_one_line_each([*arguments, "--dest", str(dest)], document, dest)


@pytest.mark.parametrize(
    ("ref", "said"),
    [
        ("N" * 300 + ".yaml#/components/x", "File name too long"),
        ("a\\0b.yaml#/components/x", "embedded null byte"),
    ],
)
def test_a_ref_that_is_no_file_name_is_one_problem(ref: str, said: str, tmp_path: Path) -> None:
    """Found by the fuzzing above: the name reached the file system, which raised."""
    document = tmp_path / "api.yaml"
    document.write_text(
        "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\n"
        "channels:\n  c:\n    address: a.b.v1\n"
        f'    messages:\n      M: {{$ref: "{ref}"}}\n',
        encoding="utf-8",
    )
    with pytest.raises(ModelError) as refused:
        load_asyncapi(document, service="fuzzed")
    assert said in str(refused.value)
    refused_in_one_line_each(
        [
            "new",
            "service",
            "fuzzed",
            "--asyncapi",
            str(document),
            "--defaults",
            "--dest",
            str(tmp_path / "out"),
        ],
        document,
        tmp_path / "out",
    )


def test_a_name_holding_a_line_break_of_unicode_stays_one_problem_on_one_line(
    tmp_path: Path,
) -> None:
    """Found by the fuzzing above: a policy named "\\x1e" (a line break to splitlines)
    printed raw split its problems over two lines."""
    model = tmp_path / "model.yaml"
    model.write_text('service: fuzzed\npolicies:\n  - name: "\\x1e\\u2028"\n', encoding="utf-8")
    refused_in_one_line_each(
        [
            "new",
            "service",
            "fuzzed",
            "--model",
            str(model),
            "--defaults",
            "--dest",
            str(tmp_path / "out"),
        ],
        model,
        tmp_path / "out",
    )


@pytest.mark.parametrize(
    ("required", "problem"),
    [
        # `required: true` in an allOf branch raised TypeError
        ("required: true", "required must be a list of property names"),
        # `required: [[]]` raised TypeError (unhashable)
        ("required: [[]]", "bad properties or required"),
    ],
)
def test_an_all_of_branch_with_a_bad_required_is_one_problem(
    tmp_path: Path, required: str, problem: str
) -> None:
    """Found by the fuzzing above."""
    document = tmp_path / "api.yaml"
    document.write_text(
        (ROOT / "tests/asyncapi/all-of-records.yaml")
        .read_text(encoding="utf-8")
        .replace("required: [city]", required),
        encoding="utf-8",
    )
    assert required in document.read_text(encoding="utf-8")
    with pytest.raises(ModelError, match=problem):
        load_asyncapi(document, service="fuzzed")
