#!/usr/bin/env bash
# One command that runs the tests: the whole suite on SQLite, then the tests that depend on
# PostgreSQL behaviour (row locks, concurrency) on the PostgreSQL at $TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/crmdemo; pytest-django creates test_crmdemo_gw<N>), among
# them the two-instance test (scripts/serve.sh twice, sharing that server and the Redis at
# $TEST_REDIS_URL, default redis://127.0.0.1:6379/4, under a key prefix of its own).
# Both runs use $TEST_WORKERS pytest-xdist workers (default 2), each with its own live server
# and test databases. Extra arguments go to the first pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
PYTEST=${VENV:-.venv}/bin/pytest
WORKERS=${TEST_WORKERS:-2}

echo "==> pytest (SQLite)"
env -u DATABASE_URL "$PYTEST" -n "$WORKERS" "$@"

echo "==> pytest -m postgres (PostgreSQL)"
DATABASE_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/crmdemo} \
  "$PYTEST" -n "$WORKERS" -m postgres
