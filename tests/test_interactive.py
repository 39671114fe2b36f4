"""Without --defaults, `evtgen new service` asks the template's questions in a real
terminal (a pseudo-terminal driven by pexpect, as a person would answer)."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect

DOWN, ENTER, CTRL_C = "\x1b[B", "\r", "\x03"


def spawn(dest: Path) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "evtgen", "new", "service", "orders", "--dest", str(dest)],
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )


def test_the_questions_are_asked_and_the_answers_used(tmp_path: Path) -> None:
    dest = tmp_path / "orders"
    child = spawn(dest)
    child.expect("Which message broker")
    child.send(DOWN + ENTER)  # the second choice: RabbitMQ
    child.expect("Which schema format")
    child.send(DOWN + ENTER)  # JSON Schema
    child.expect("Which Python version")
    child.send(ENTER)  # the default
    child.expect("Which CI/CD pipelines")
    child.send(DOWN + ENTER)  # Tekton
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    answers = (dest / ".copier-answers.yml").read_text()
    assert "broker: rabbitmq" in answers and "schema_format: jsonschema" in answers
    assert "ci: tekton" in answers and (dest / "tekton" / "pipeline.yaml").is_file()
    assert (dest / "schemas" / "OrderPlaced.schema.json").is_file()


def test_options_given_are_not_asked(tmp_path: Path) -> None:
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "evtgen",
            "new",
            "service",
            "orders",
            "--dest",
            str(tmp_path / "o"),
            "--broker",
            "nats",
            "--schema-format",
            "avro",
        ],
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.expect("Which Python version")
    assert "message broker" not in (child.before or "")
    child.send(ENTER)
    child.expect("Which CI/CD pipelines")
    child.send(ENTER)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_interrupting_the_questions_writes_nothing(tmp_path: Path) -> None:
    child = spawn(tmp_path / "orders")
    child.expect("Which message broker")
    child.send(CTRL_C)
    child.expect("interrupted while answering; nothing was written")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert list(tmp_path.iterdir()) == []
