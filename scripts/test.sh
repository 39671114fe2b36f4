#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what the tests need (Python
# packages; the npm AsyncAPI and Mermaid parsers; Debian's Chromium; kustomize and
# Strimzi's CRD; the pipeline checkers), starts the real brokers, the schema registry
# and PostgreSQL, and runs pytest. The brokers are left running for the next run; `.ci/run` stops them.
# Arguments go to pytest, e.g. `scripts/test.sh -k model -x`.
# The suite runs on EVTGEN_TEST_WORKERS pytest-xdist workers (default 3; 1 runs it in
# one process): the tests that meet a real broker run one after another on that
# broker's worker, the rest wherever a worker is free (tests/conftest.py).
# EVTGEN_NO_BROKERS=1 runs without brokers: the end-to-end broker tests are
# deselected (-m "not brokers") and generated repos skip their real-broker tests,
# saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# a venv made by uv has no pip: give it one
.venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip --upgrade >/dev/null
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
npm ci --prefix tests/tools/asyncapi --no-audit --no-fund --loglevel=error
npm ci --prefix tests/tools/mermaid --no-audit --no-fund --loglevel=error
npm ci --prefix tests/tools/backstage --no-audit --no-fund --loglevel=error
# Headless Chromium (Debian's package) shows the fleet page to its tests.
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null
fi
# kustomize and Strimzi's KafkaTopic CRD for tests/test_deploy.py (cached per user)
PATH="$PWD/.venv/bin:$PATH" bash scripts/deploy-tools.sh
# the pipeline checkers of `evtgen pipeline lint` (Python, Go and npm ones; cached)
bash scripts/install-checkers.sh

select=()
if [ "${EVTGEN_NO_BROKERS:-0}" = 1 ]; then
  select=(-m "not brokers")
else
  # the four brokers and the schema registry (Apicurio: `evtgen schema register` and
  # `schema check --registry` in tests/test_schema_registry.py); they boot in parallel
  bash scripts/brokers.sh up kafka rabbitmq nats redis registry
  export REGISTRY_URL=http://localhost:8081/apis/ccompat/v7
  export BROKER_URL_KAFKA=127.0.0.1:9092
  export BROKER_URL_RABBITMQ=amqp://guest:guest@127.0.0.1:5672/
  export BROKER_URL_NATS=nats://127.0.0.1:4222
  export BROKER_URL_REDIS=redis://127.0.0.1:6379
  # PostgreSQL for the generated services' state on PostgreSQL (tests/test_e2e_reliability.py)
  export "$(bash scripts/postgres.sh up)"
fi

workers=${EVTGEN_TEST_WORKERS:-3}
parallel=()
[ "$workers" = 1 ] || parallel=(-n "$workers" --dist loadgroup)
exec .venv/bin/pytest "${parallel[@]}" "${select[@]}" "$@"
