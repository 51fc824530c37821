#!/usr/bin/env bash
# The production serve command (README, "Deploy"): gunicorn behind a TLS-terminating proxy.
#   scripts/serve.sh          release steps, then serve (one instance)
#   scripts/serve.sh release  release steps only: check --deploy, migrate, collectstatic
#   scripts/serve.sh web      serve only (further instances, after one release)
# Configuration comes from the environment (or .env); see the README's Deploy section.
set -euo pipefail
cd "$(dirname "$0")/.."
step=${1:-all}
case "$step" in all | release | web) ;; *) echo "usage: $0 [all|release|web]" >&2; exit 2 ;; esac

VENV=${VENV:-.venv}
[ -x "$VENV/bin/gunicorn" ] || bash scripts/setup.sh
PY="$VENV/bin/python"
export DEBUG=${DEBUG:-False}

# Refuse to start on a missing or wrong production variable (the message names it).
"$PY" manage.py check --deploy --fail-level WARNING

if [ "$step" != web ]; then
  "$PY" manage.py migrate --noinput
  "$PY" manage.py collectstatic --noinput --verbosity 0
fi
if [ "$step" != release ]; then
  exec "$VENV/bin/gunicorn" --config gunicorn.conf.py
fi
