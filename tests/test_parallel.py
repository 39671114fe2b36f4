"""The suite on several workers (scripts/test.sh): the tests that meet one broker under
fixed names run on one worker, one after another (tests/conftest.py), under the pytest and
pytest-xdist this project installs. A pytest release that breaks xdist's groups runs
them side by side without a word, and generated repos of one model then read each
other's messages."""

import json
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).resolve().parent / "conftest.py"
#: as scripts/test.sh runs the suite
XDIST = ("-n", "3", "--dist", "loadgroup")

SUITE = """
import json, os
from pathlib import Path
import pytest

@pytest.mark.broker_names
@pytest.mark.parametrize("case", [(b, n) for b in ("kafka", "rabbitmq", "nats") for n in range(4)])
def test_meets(case):
    with Path(os.environ["WORKERS_SEEN"]).open("a") as out:
        out.write(json.dumps([case[0], os.environ["PYTEST_XDIST_WORKER"]]) + "\\n")

def test_anywhere():
    pass
"""


def test_each_brokers_tests_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    broker_names: fixed names\n")
    (tmp_path / "conftest.py").write_text(  # the project's grouping hook, and only it
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('project', {str(CONFTEST)!r})\n"
        "project = sys.modules['project'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(project)\n"
        "pytest_itemcollected = project.pytest_itemcollected\n"
    )
    (tmp_path / "test_suite.py").write_text(SUITE)
    seen = tmp_path / "seen.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *XDIST, "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env={"WORKERS_SEEN": str(seen), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers: dict[str, set[str]] = {}
    for line in seen.read_text().splitlines():
        broker, worker = json.loads(line)
        workers.setdefault(broker, set()).add(worker)
    assert {broker: len(w) for broker, w in workers.items()} == {
        "kafka": 1,
        "rabbitmq": 1,
        "nats": 1,
    }, workers
