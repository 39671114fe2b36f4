"""Failure handling and idempotence end to end, on each real broker: a generated
service runs as its own process and meets messages from the broker's plain client
(tests/e2e/reliability_driver.py).

Needs the brokers of `scripts/brokers.sh up` (BROKER_URL_KAFKA, ...); the runs on
PostgreSQL need DATABASE_URL_POSTGRES (`scripts/postgres.sh up` prints the URL).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, postgres_database
from test_e2e_brokers import Deployed

pytestmark = [pytest.mark.brokers, pytest.mark.slow]
DRIVER = ROOT / "tests" / "e2e" / "reliability_driver.py"
BROKERS = ["kafka", "rabbitmq", "nats", "redis"]


def drive(deployed: Deployed, scenario: str, env: dict[str, str], *extra: str) -> dict:
    return deployed.drive(scenario, *extra, script=DRIVER, env=env)


@pytest.fixture(scope="module", params=BROKERS)
def deployed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    return Deployed(tmp_path_factory.mktemp(request.param), request.param, "avro")


def test_a_message_that_cannot_be_decoded_is_dead_lettered_at_once_and_the_rest_go_on(
    deployed: Deployed,
) -> None:
    # four attempts allowed, one made: the same bytes would fail the same way
    env = {"PAYMENT_AUTHORIZED_RETRY_MAX_ATTEMPTS": "4", "RETRY_BACKOFF_MS": "50"}
    result = drive(deployed, "dead-letter", env, "--count", "20")
    print(f"\n{deployed.broker}: {json.dumps(result)}")
    [dead] = result["dead_lettered"]
    assert dead["body_is_the_original"]
    headers = dead["headers"]
    assert headers["dead_letter_attempts"] == "1"
    assert headers["dead_letter_source"] == deployed.input_channel
    assert headers["dead_letter_reason"].startswith(
        "Undecodable: could not be decoded as PaymentAuthorized"
        " (schemas/PaymentAuthorized.avsc, application/avro): "
    )
    assert headers["ce_id"].startswith("poison-")  # its own headers travel with it
    assert headers["correlation_id"].startswith("poison-")
    assert result["good_processed"] == result["good_published"] == 20
    assert result["metrics"] == {"events_failed_total": 1, "events_dead_lettered_total": 1}
    assert result["exit_code"] == 0


def test_a_poison_message_is_dead_lettered_after_its_attempts_and_the_rest_go_on(
    deployed: Deployed,
) -> None:
    # the undecodable message again, with every failure retried as the setting asks
    env = {
        "PAYMENT_AUTHORIZED_RETRY_MAX_ATTEMPTS": "4",
        "PAYMENT_AUTHORIZED_RETRY_NON_RETRYABLE": "true",
        "RETRY_BACKOFF_MS": "50",
    }
    result = drive(deployed, "dead-letter", env, "--count", "20")
    print(f"\n{deployed.broker}: {json.dumps(result)}")
    [dead] = result["dead_lettered"]
    assert dead["body_is_the_original"]
    assert dead["headers"]["dead_letter_attempts"] == "4"
    assert dead["headers"]["dead_letter_reason"].startswith("Undecodable: ")
    assert result["good_processed"] == result["good_published"] == 20
    assert result["metrics"] == {"events_failed_total": 4, "events_dead_lettered_total": 1}
    assert result["exit_code"] == 0


def test_an_event_delivered_twice_changes_state_once(deployed: Deployed) -> None:
    result = drive(deployed, "redelivery", {})
    assert result == {"outputs_of_the_event": 1, "outputs_of_the_other_event": 1, "exit_code": 0}


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_an_event_redelivered_after_a_crash_changes_state_once(
    deployed: Deployed, database: str
) -> None:
    env = {"DATABASE_URL": postgres_database()} if database == "postgres" else {}
    result = drive(deployed, "redelivery", env, "--kill")
    assert result == {"outputs_of_the_event": 1, "outputs_of_the_other_event": 1, "exit_code": 0}


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
@pytest.mark.parametrize("deployed", ["kafka", "rabbitmq"], indirect=True)
def test_killed_at_random_while_it_works_nothing_is_lost_or_done_twice(
    deployed: Deployed, database: str
) -> None:
    """Thousands of events, three SIGKILLs at random moments, each followed by a
    restart: every input has its output, none ran twice (a re-sent output carries the
    same event id), and the stored state is what a run without kills leaves."""
    env = {"DATABASE_URL": postgres_database()} if database == "postgres" else {}
    result = drive(deployed, "crash", env, "--count", "3000", "--kills", "3", "--timeout", "300")
    print(f"\n{deployed.broker}: {json.dumps(result)}")
    assert result["kills"] >= 1
    assert result["missing"] == 0
    assert result["executed_twice"] == 0
    assert result["stored_orders"] == 3000
    assert result["stored_versions"] == [1]
    assert result["exit_code"] == 0


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, str, str]]:
    """A PostgreSQL of this test's own (scripts/postgres.sh on a free port and a
    temporary directory), to stop and start without disturbing anyone else's: its
    URL, and the commands that stop and start it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # not under pytest's tmp_path: run as root, the script hands the directory to the
    # `postgres` user, who must be able to reach it
    base = Path(tempfile.mkdtemp(prefix="evtgen-pg-"))
    base.chmod(0o755)
    env = f"EVTGEN_POSTGRES_DIR={base / 'pg'} EVTGEN_POSTGRES_PORT={port}"
    script = ROOT / "scripts" / "postgres.sh"
    up, down = f"{env} bash {script} up", f"{env} bash {script} down"
    subprocess.run(up, shell=True, check=True, capture_output=True)
    try:
        yield f"postgresql://evtgen@127.0.0.1:{port}/evtgen", down, up
    finally:
        subprocess.run(down, shell=True, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("deployed", ["kafka"], indirect=True)
def test_while_the_database_is_away_messages_wait_and_none_is_lost(
    deployed: Deployed, own_postgres: tuple[str, str, str]
) -> None:
    url, down, up = own_postgres
    result = drive(
        deployed,
        "outage",
        {"DATABASE_URL": url},
        *("--count", "1500", "--timeout", "120", "--db-stop", down, "--db-start", up),
    )
    print(f"\n{deployed.broker}: {json.dumps(result)}")
    assert result["ready_while_away"] == 503
    assert result["arrived_while_away"] < result["inputs"]  # it did wait
    assert result["missing"] == 0
    assert result["executed_twice"] == 0
    assert result["exit_code"] == 0


@pytest.mark.parametrize("deployed", ["kafka"], indirect=True)
@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://db/orders", "DATABASE_URL='mysql://db/orders': 'mysql' is not supported"),
        ("postgresql://evtgen@127.0.0.1:1/evtgen", "cannot use the database postgresql"),
    ],
)
def test_a_database_url_that_cannot_be_used_stops_the_service_with_one_line(
    deployed: Deployed, url: str, said: str
) -> None:
    done = subprocess.run(
        [str(deployed.python), "-m", deployed.package],
        cwd=deployed.repo,
        env={**os.environ, "DATABASE_URL": url, "BROKER_URL": "127.0.0.1:9", "HEALTH_PORT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(said), done.stderr
    assert "Traceback" not in done.stderr
