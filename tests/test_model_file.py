"""The team's model file survives: the generated repo's model.yaml is the file the
team wrote in the workshop, comments, order and layout kept; evtgen only writes in
what it resolved and the file left implicit (the service's name, default channels),
at `new` and when `update` regenerates from an edited model."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, TEMPLATE, Run
from hypothesis import given, settings
from hypothesis import strategies as st
from updatekit import edit, git

from evtgen.loader import ModelError, load_model, parse_model
from evtgen.modelfile import indentation, pinned_text
from evtgen.templates import sample_model_path, sample_saga_path

WORKSHOP = """\
# Orders: what the event-storming workshop of 30 November found.
# Open question: do we confirm before the payment clears? (ask finance)
service: orders
description: Takes orders and confirms them once paid.

aggregates:
  - name: Order   # hot spot: who owns cancellations?
    fields:
      order_id: uuid
      amount: double      # EUR, two decimals (units!)
      status: string

commands:
  # the storefront sends this one
  - name: PlaceOrder
    aggregate: Order
    fields: {amount: double}
    emits: [OrderPlaced]

events:
  - name: OrderPlaced     # the orange sticky everyone agreed on
    fields: {order_id: uuid, amount: double}
  - name: PaymentAuthorized   # published by payments
    external: true
    channel: payments.payment-authorized.v1
    fields: {order_id: uuid}

# policies: none yet, see the open question above
"""


#: What workshops write in the margin.
NOTES = ["hot spot: who owns this?", "open question (ask finance)", "EUR cents", "TODO: v2"]


def comments(text: str) -> list[str]:
    """Every comment of a YAML text, whole-line and end-of-line, as written."""
    return [m.group(0).rstrip() for m in re.finditer(r"#.*", text)]


def added_lines(original: str, result: str) -> list[str]:
    """The lines of `result` beyond `original`, which must be in it in order, unchanged."""
    rest = iter(result.splitlines())
    added = []
    for line in original.splitlines():
        for candidate in rest:
            if candidate == line:
                break
            added.append(candidate)
        else:
            raise AssertionError(f"line {line!r} of the team's file is gone or changed")
    return added + list(rest)


def new_repo(evtgen: Callable[..., Run], tmp_path: Path, text: str) -> Path:
    model = tmp_path / "orders.yaml"
    model.write_text(text, encoding="utf-8")
    repo = tmp_path / "orders"
    done = evtgen("new", "service", "orders", "--model", model, "--dest", repo, "--defaults")
    assert done.code == 0, done.stderr
    git(repo, "init", "-q", "-b", "main")
    edit(repo, {}, "generated")
    return repo


def test_new_keeps_every_workshop_comment_and_writes_in_only_the_default_channel(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    repo = new_repo(evtgen, tmp_path, WORKSHOP)

    written = (repo / "model.yaml").read_text(encoding="utf-8")
    assert comments(written) == comments(WORKSHOP)
    assert added_lines(WORKSHOP, written) == ["    channel: orders.order-placed.v1"]
    assert evtgen("check", repo).code == 0


def test_update_after_a_model_edit_keeps_the_comments_and_writes_in_the_new_channel(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    repo = new_repo(evtgen, tmp_path, WORKSHOP)
    model = repo / "model.yaml"
    edited = (
        model.read_text(encoding="utf-8")
        .replace(
            "    emits: [OrderPlaced]\n",
            "    emits: [OrderPlaced]\n"
            "  - name: CancelOrder   # new: from the follow-up session\n"
            "    aggregate: Order\n"
            "    fields: {order_id: uuid}\n"
            "    emits: [OrderCancelled]\n",
        )
        .replace(
            "\n# policies:",
            "  # added after the workshop: the cancellation flow\n"
            "  - name: OrderCancelled\n"
            "    fields: {order_id: uuid}   # no reason yet (open question)\n"
            "\n# policies:",
        )
    )
    edit(repo, {"model.yaml": edited}, "the team edits its model")

    done = evtgen("update", repo, "--json")

    assert done.code == 0, done.stdout + done.stderr
    [report] = json.loads(done.stdout)["repos"]
    assert "schemas/OrderCancelled.avsc" in report["added"]
    assert "model.yaml" in report["changed"]
    after = model.read_text(encoding="utf-8")
    assert comments(after) == comments(edited)
    assert added_lines(edited, after) == ["    channel: orders.order-cancelled.v1"]
    assert "cancel_order" in (repo / "src" / "orders" / "domain.py").read_text()
    # the code is regenerated from the model as it now is: nothing drifted, nothing behind
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "update")
    assert evtgen("check", repo).code == 0
    again = evtgen("update", repo, "--json")
    assert again.code == 0 and json.loads(again.stdout)["repos"][0]["status"] == "up-to-date"


def test_a_dry_run_shows_the_channel_it_would_write_in_and_changes_nothing(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    repo = new_repo(evtgen, tmp_path, WORKSHOP)
    model = repo / "model.yaml"
    edit(repo, {"model.yaml": model.read_text() + "  - name: OrderAudited\n"})
    before = model.read_bytes()

    done = evtgen("update", repo, "--dry-run", "--json")

    assert done.code == 0, done.stderr
    diff = json.loads(done.stdout)["repos"][0]["diff"]
    assert "+    channel: orders.order-audited.v1\n" in diff
    assert model.read_bytes() == before
    assert git(repo, "status", "--porcelain") == ""


def test_a_model_that_says_everything_is_kept_byte_for_byte(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    # its own layout: unindented sequences, CRLF line endings, a document start, quotes
    text = (
        "%YAML 1.2\r\n---\r\n# the whole model\r\nservice: 'orders'\r\n"
        "aggregates:\r\n- name: Order\r\n  fields:\r\n      order_id:   uuid   # odd indent\r\n"
        "commands:\r\n- {name: PlaceOrder, aggregate: Order, emits: [OrderPlaced]}\r\n"
        'events:\r\n- name: "OrderPlaced"\r\n  channel: shop.orders.v3\r\n'
        "  fields: {order_id: uuid}"
    )
    model = tmp_path / "orders.yaml"
    model.write_bytes(text.encode())
    repo = tmp_path / "orders"
    done = evtgen("new", "service", "orders", "--model", model, "--dest", repo, "--defaults")
    assert done.code == 0, done.stderr
    assert (repo / "model.yaml").read_bytes() == text.encode()


def test_a_model_without_service_gets_its_name_below_the_header_comments() -> None:
    text = sample_model_path().read_text()
    pinned = pinned_text(text, load_model(sample_model_path(), service="billing"))
    added = added_lines(text, pinned)
    assert added == [
        "service: billing",
        "    channel: billing.order-placed.v1",
        "    channel: billing.order-confirmed.v1",
    ]
    lines = pinned.splitlines()
    assert lines[2] == "service: billing" and all(line.startswith("#") for line in lines[:2])


def test_flow_mappings_and_saga_messages_named_alone_get_their_channel_inline() -> None:
    text = (
        "service: trips\n"
        "events: [{name: TripRequested, external: true, channel: web.trips.v1},"
        " {name: TripBooked}]  # both sides\n"
        "saga:\n"
        "  name: BookTrip\n"
        "  start: TripRequested\n"
        "  completed: TripBooked\n"
        "  steps:\n"
        "    - participant: hotels\n"
        "      command: BookHotel    # a name alone\n"
        "      success: {name: HotelBooked, fields: {ref: string}}\n"
    )
    pinned = pinned_text(text, parse_model(text, "m.yaml"))
    assert pinned.splitlines()[1] == (
        "events: [{name: TripRequested, external: true, channel: web.trips.v1},"
        " {name: TripBooked, channel: trips.trip-booked.v1}]  # both sides"
    )
    assert "      command: {name: BookHotel, channel: hotels.book-hotel.v1}    # a name alone" in (
        pinned.splitlines()
    )
    assert "      success: {name: HotelBooked, channel: hotels.hotel-booked.v1, fields: " in (
        pinned
    )
    assert parse_model(pinned, "again.yaml") == parse_model(text, "m.yaml")


def unpinned(line: str) -> str:
    """A line without the channels evtgen writes into flow mappings."""
    line = re.sub(r"\{name: (\w+), channel: [\w.-]+\}", r"\1", line)
    return re.sub(r", channel: [\w.-]+", "", line)


def only_pins_added(text: str, pinned: str) -> bool:
    """Whether `pinned` is `text` with `service:` and channels added, nothing else."""
    # the team's lines, less any channel in a flow mapping (evtgen's or the team's)
    ours, kept = ("\n".join(map(unpinned, t.splitlines())) for t in (text, pinned))
    return all(
        re.fullmatch(r"service: [\w-]+|\s+channel: [\w.-]+(\s+#.*)?", line)
        for line in added_lines(ours, kept)
    )


@pytest.mark.parametrize(
    "path",
    [sample_model_path(), sample_saga_path(), *sorted((ROOT / "tests" / "models").glob("*.yaml"))],
    ids=lambda p: p.name,
)
def test_every_line_the_team_wrote_stays_and_the_file_reads_back_into_the_same_model(
    path: Path,
) -> None:
    text = path.read_text()
    model = load_model(path, service=None if re.search(r"^service:", text, re.M) else "orders")
    pinned = pinned_text(text, model)
    assert only_pins_added(text, pinned)
    assert comments(pinned) == comments(text)
    assert parse_model(pinned, "again.yaml") == model
    assert pinned_text(pinned, model) == pinned  # nothing left to write in


def test_the_files_own_indentation_is_the_one_additions_take() -> None:
    nested = "events:\n    - name: A\n      fields:\n          id: uuid\n"
    assert indentation(nested) == (4, 6, 4)
    flat = "events:\n- name: A\n  fields:\n    id: uuid\n"
    assert indentation(flat) == (2, 2, 0)
    pinned = pinned_text(flat, parse_model(flat, "m.yaml", service="s"))
    assert pinned == "service: s\nevents:\n- name: A\n  channel: s.a.v1\n  fields:\n    id: uuid\n"


def test_a_file_whose_layout_the_dump_cannot_keep_still_keeps_its_comments() -> None:
    # two indentations in one file: ruamel.yaml writes one; every comment stays
    text = (
        "# head\nservice: s\nevents:\n    -   name: A   # a\n        fields:\n"
        "             id: uuid   # units\ncommands:\n  - name: C   # c\n    aggregate: G\n"
        "    emits: [A]\naggregates: [{name: G, fields: {id: uuid}}]\n"
    )
    model = parse_model(text, "m.yaml")
    pinned = pinned_text(text, model)
    assert comments(pinned) == comments(text)
    assert parse_model(pinned, "again.yaml") == model


def test_plain_copier_writes_the_canonical_form(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    from copier import run_copy

    plain = tmp_path / "plain"
    run_copy(str(TEMPLATE), plain, defaults=True, quiet=True)
    text = (plain / "model.yaml").read_text()
    assert text.startswith("# The event-storming model this service was generated from")
    assert yaml.safe_load(text)["service"] == "orders"
    assert load_model(plain / "model.yaml") == load_model(sample_model_path(), service="orders")


def test_the_team_text_is_not_recorded_in_the_answers_file(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    repo = new_repo(evtgen, tmp_path, WORKSHOP)
    recorded = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert "model_file" not in recorded
    assert "hot spot" not in (repo / ".copier-answers.yml").read_text()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "service: s\nevents:\n  - name: E\n    doc: !secret x\n",
            "m.yaml:4: YAML syntax error: unknown tag '!secret'",
        ),
        (
            "service: s\nevents:\n  - name: E\n  - name: F\n    name: G\n",
            'm.yaml:5: YAML syntax error: found duplicate key "name" (first at line 4)',
        ),
        ("service: s\nevents: [\n", "m.yaml:3: YAML syntax error"),
        # YAML 1.2, as the file is written back: `yes` is a word, not a boolean
        (
            "service: s\nevents:\n  - name: E\n    external: yes\n",
            "m.yaml:4: external must be true or false",
        ),
    ],
)
def test_the_round_trip_reader_keeps_the_file_and_line_form(text: str, error: str) -> None:
    with pytest.raises(ModelError) as raised:
        parse_model(text, "m.yaml")
    assert str(raised.value).startswith(error)


def test_the_model_is_yaml_1_2_so_on_and_off_are_names() -> None:
    # YAML 1.1 (PyYAML) read these as booleans and refused them as enum symbols
    model = parse_model(
        "service: s\nevents:\n  - name: E\n"
        "    fields: {switch: {type: enum, symbols: [ON, OFF, YES, NO]}}\n",
        "m.yaml",
    )
    assert model.events[0].fields[0].type.symbols == ("ON", "OFF", "YES", "NO")


MODELS = [sample_model_path(), sample_saga_path(), *sorted((ROOT / "tests/models").glob("*.yaml"))]


@settings(max_examples=60, deadline=None)
@given(
    path=st.sampled_from(MODELS),
    notes=st.lists(st.tuples(st.integers(0, 10_000), st.booleans(), st.sampled_from(NOTES))),
)
def test_comments_anywhere_survive_and_the_model_reads_back_the_same(
    path: Path, notes: list[tuple[int, bool, str]]
) -> None:
    lines = path.read_text().splitlines()
    for position, whole_line, note in notes:
        at = position % len(lines)
        line = lines[at]
        if whole_line:  # a comment line, indented as the line below it
            indent = len(line) - len(line.lstrip())
            lines.insert(at, " " * indent + f"# {note}")
        elif line.strip() and "#" not in line:
            lines[at] = f"{line}   # {note}"
    text = "\n".join(lines) + "\n"
    model = parse_model(
        text, "m.yaml", service=None if re.search(r"^service:", text, re.M) else "x"
    )

    pinned = pinned_text(text, model)

    assert comments(pinned) == comments(text)
    assert only_pins_added(text, pinned)
    assert parse_model(pinned, "again.yaml") == model


def test_the_model_file_is_not_an_answer_to_give(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    done = evtgen("new", "service", "orders", "--defaults", "--data", "model_file=x", cwd=tmp_path)
    assert done.code == 2
    assert done.stderr.strip().endswith(
        "--data model_file=... is not accepted; give the model with --model FILE"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_windows_file_keeps_its_line_endings_where_a_channel_is_written_in() -> None:
    text = "service: s\r\n# the events\r\nevents:\r\n  - name: A   # hot spot\r\n"
    pinned = pinned_text(text, parse_model(text, "m.yaml"))
    assert pinned == (
        "service: s\r\n# the events\r\nevents:\r\n  - name: A   # hot spot\r\n"
        "    channel: s.a.v1\r\n"
    )
