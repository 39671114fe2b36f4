"""The saga extension of the model (docs/saga.md) and `--pattern orchestration`:
what the loader accepts and refuses, what the view hands the template, and how
`evtgen new` and plain Copier choose the pattern."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Run

from evtgen.loader import ModelError, load_model, parse_model
from evtgen.templates import sample_saga_path
from evtgen.view import model_document, model_view

SAGA = """\
service: trips
events:
  - name: TripRequested
    external: true
    fields: {trip_id: uuid, city: string}
  - name: TripBooked
    fields: {trip_id: uuid, hotel_ref: string}
  - name: TripFailed
    fields: {trip_id: uuid, reason: string}
saga:
  name: BookTrip
  start: TripRequested
  completed: TripBooked
  failed: TripFailed
  steps:
    - participant: flights
      command: {name: BookFlight, fields: {trip_id: uuid}}
      success: {name: FlightBooked, fields: {flight_ref: string}}
      failure: FlightFull
      compensation: {name: CancelFlight, fields: {flight_ref: string}}
      timeout: 500ms
    - participant: hotels
      command: {name: BookHotel, fields: {trip_id: uuid, city: string}}
      success: {name: HotelBooked, fields: {hotel_ref: string}, channel: hotels.booked.v2}
      timeout: 2m
"""


def saga_model(text: str = SAGA) -> Any:
    return parse_model(textwrap.dedent(text), "trip.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(ModelError) as caught:
        saga_model(text)
    return [str(p) for p in caught.value.problems]


# -- the loader ------------------------------------------------------------------


def test_a_saga_is_read_into_typed_steps_with_channels_by_the_convention() -> None:
    saga = saga_model().saga
    assert saga.name == "BookTrip" and saga.start == "TripRequested"
    flights, hotels = saga.steps
    assert flights.participant == "flights" and flights.timeout == 0.5
    assert flights.command.channel == "flights.book-flight.v1"
    assert flights.failure.name == "FlightFull" and flights.failure.fields == ()
    assert flights.success.external and not flights.command.external
    assert hotels.success.channel == "hotels.booked.v2"
    assert hotels.failure is None and hotels.compensation is None and hotels.timeout == 120


def test_the_sample_saga_loads() -> None:
    model = load_model(sample_saga_path(), service="fulfilment")
    assert model.saga is not None and len(model.saga.steps) == 3


def test_the_model_document_round_trips_the_saga() -> None:
    model = saga_model()
    again = parse_model(yaml.safe_dump(model_document(model), sort_keys=False), "again.yaml")
    assert again == model


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("start: TripRequested", "start: Nope"), "trip.yaml:12: the saga starts on 'Nope'"),
        (("timeout: 500ms", "timeout: soon"), "trip.yaml:21: timeout 'soon' must be a positive"),
        (("timeout: 500ms", "timeout: 0"), "trip.yaml:21: timeout 0 must be a positive"),
        (("participant: flights", "participant: Flights"), "trip.yaml:16: each step needs"),
        (
            ("      failure: FlightFull\n", "      rollback: X\n"),
            "trip.yaml:19: unknown key 'rollback'",
        ),
        (
            ("failure: FlightFull", "failure: TripBooked"),
            "trip.yaml:19: saga message name 'TripBooked' is already used",
        ),
        (
            ("channel: hotels.booked.v2", "channel: flights.book-flight.v1"),
            "already used by BookFlight",
        ),
        (("completed: TripBooked", "completed: TripFailed"), "trip.yaml:14: the saga's completed"),
        (("failed: TripFailed", "failed: TripRequested"), "the event that starts it"),
        (
            ("  - name: TripBooked\n", "  - name: TripBooked\n    external: true\n"),
            "is marked external, but the orchestrator publishes it",
        ),
        # the refund needs what only the flight's reply says: a hotel field is not there
        (
            (
                "{name: CancelFlight, fields: {flight_ref: string}}",
                "{name: CancelFlight, fields: {hotel_ref: string}}",
            ),
            "trip.yaml:20: field hotel_ref of CancelFlight is not carried by the start "
            "event and the replies up to its step",
        ),
        (
            ("{trip_id: uuid, hotel_ref: string}", "{trip_id: uuid, hotel_ref: string, seat: int}"),
            "field seat of TripBooked is not carried by the start event and the steps' replies",
        ),
        (
            (
                "{trip_id: uuid, reason: string}",
                "{trip_id: uuid, reason: string, flight_ref: string}",
            ),
            "field flight_ref of TripFailed is not carried by the start event",
        ),
        (("  name: BookTrip\n", "  name: BookTrip\n  steps: []\n"), "trip.yaml"),
    ],
)
def test_a_bad_saga_is_refused_with_file_and_line(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in SAGA
    assert any(message in p for p in problems(SAGA.replace(old, new))), problems(
        SAGA.replace(old, new)
    )


def test_a_saga_without_steps_is_refused() -> None:
    text = SAGA.split("  steps:")[0]
    assert problems(text) == [
        "trip.yaml:11: the saga needs 'steps:', a list of steps each with participant, "
        "command and success"
    ]


def test_a_policy_on_the_start_event_is_refused() -> None:
    text = SAGA.replace(
        "saga:",
        "aggregates:\n  - name: Trip\n    fields: {trip_id: uuid}\ncommands:\n"
        "  - name: Note\n    aggregate: Trip\n    fields: {trip_id: uuid}\n"
        "policies:\n  - name: NoteIt\n    when: TripRequested\n    then: Note\nsaga:",
    )
    assert any(
        "policy NoteIt reacts to TripRequested, which starts the saga" in p for p in problems(text)
    )


# -- the view --------------------------------------------------------------------


def test_the_view_fills_messages_from_the_start_event_and_earlier_replies() -> None:
    saga = model_view(saga_model())["saga"]
    cancel = saga["steps"][0]["compensation"]
    assert cancel["fields"] == [
        {
            "name": "flight_ref",
            "value": "got(state, messages.FlightBooked).flight_ref",
            "copied": True,
            "expected": "samples.flight_booked().flight_ref",
        }
    ]
    hotel = saga["steps"][1]["command"]["fields"]
    assert [f["value"] for f in hotel] == ["state.start.trip_id", "state.start.city"]
    assert [f["value"] for f in saga["failed"]["fields"]] == ["state.start.trip_id", "state.reason"]
    assert saga["steps"][0]["timeout_env"] == "SAGA_TIMEOUT_BOOK_FLIGHT"


def test_the_scenarios_undo_earlier_steps_in_reverse_order() -> None:
    scenarios = {
        s["id"]: (s["outcomes"], s["sent"]) for s in model_view(saga_model())["saga"]["scenarios"]
    }
    assert scenarios == {
        "happy-path": (["success", "success"], ["BookFlight", "BookHotel", "TripBooked"]),
        "failure-at-book-flight": (["failure"], ["BookFlight", "TripFailed"]),
        "timeout-at-book-flight": (["silent"], ["BookFlight", "TripFailed"]),
        "timeout-at-book-hotel": (
            ["success", "silent"],
            ["BookFlight", "BookHotel", "CancelFlight", "TripFailed"],
        ),
    }


def test_saga_messages_get_schemas_publishers_and_subscribers() -> None:
    view = model_view(saga_model())
    assert {e["name"] for e in view["events"]} >= {
        "BookFlight",
        "FlightBooked",
        "FlightFull",
        "CancelFlight",
    }
    assert [e["event"] for e in view["emitted"]] == [
        "BookFlight",
        "CancelFlight",
        "BookHotel",
        "TripBooked",
        "TripFailed",
    ]
    assert [(c["event"], c["saga"]) for c in view["consumed"]] == [
        ("TripRequested", "start"),
        ("FlightBooked", "reply"),
        ("FlightFull", "reply"),
        ("HotelBooked", "reply"),
    ]


# -- choosing the pattern ----------------------------------------------------------


def test_orchestration_without_a_model_uses_the_sample_saga(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    done = evtgen(
        "new", "service", "fulfilment", "--pattern", "orchestration", "--defaults", cwd=tmp_path
    )
    assert done.code == 0, done.stderr
    repo = tmp_path / "fulfilment"
    assert (repo / "src" / "fulfilment" / "saga.py").is_file()
    assert (repo / "src" / "fulfilment" / "orchestrator.py").is_file()
    assert (repo / "tests" / "integration" / "test_saga_real_broker.py").is_file()
    assert yaml.safe_load((repo / ".copier-answers.yml").read_text())["pattern"] == "orchestration"
    assert yaml.safe_load((repo / "model.yaml").read_text())["saga"]["name"] == "FulfilOrder"


def test_a_saga_model_is_orchestrated_without_asking(
    evtgen: Callable[..., Run], write_model: Callable[[str], Path], tmp_path: Path
) -> None:
    model = write_model(SAGA)
    done = evtgen(
        "new", "service", "trips", "--model", model, "--defaults", "--dest", tmp_path / "t"
    )
    assert done.code == 0, done.stderr
    assert (
        yaml.safe_load((tmp_path / "t" / ".copier-answers.yml").read_text())["pattern"]
        == "orchestration"
    )


def test_choreography_makes_no_orchestrator(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    done = evtgen("new", "service", "orders", "--defaults", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert not (tmp_path / "orders" / "src" / "orders" / "orchestrator.py").exists()
    assert (
        yaml.safe_load((tmp_path / "orders" / ".copier-answers.yml").read_text())["pattern"]
        == "choreography"
    )


@pytest.mark.parametrize(
    ("pattern", "text", "message"),
    [
        (
            "orchestration",
            "service: orders\nevents:\n  - name: E\n",
            "needs a saga to orchestrate, and the model",
        ),
        (
            "choreography",
            SAGA,
            "describes a saga, which needs an orchestrator; use --pattern orchestration",
        ),
    ],
)
def test_a_pattern_the_model_cannot_have_is_refused(
    evtgen: Callable[..., Run], tmp_path: Path, pattern: str, text: str, message: str
) -> None:
    model = tmp_path / "m.yaml"
    model.write_text(text)
    dest = tmp_path / "out"
    done = evtgen(
        "new",
        "service",
        yaml.safe_load(text)["service"],
        "--model",
        model,
        "--pattern",
        pattern,
        "--defaults",
        "--dest",
        dest,
    )
    assert done.code == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not dest.exists()


def test_plain_copier_refuses_orchestration_of_a_model_without_saga(copie: Any) -> None:
    result = copie.copy(extra_answers={"pattern": "orchestration"})
    assert result.exit_code != 0
    assert "the model has no saga to orchestrate" in str(result.exception)


def test_plain_copier_orchestrates_a_saga_model(copie: Any) -> None:
    view = model_view(load_model(sample_saga_path(), service="fulfilment"))
    result = copie.copy(extra_answers={"model": view})
    assert result.exit_code == 0, result.exception
    assert result.answers["pattern"] == "orchestration"
    assert (result.project_dir / "src" / "fulfilment" / "orchestrator.py").is_file()
