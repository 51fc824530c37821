#!/usr/bin/env bash
# One command that runs the product on https://127.0.0.1:8443 (sandbox mode, demo data included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=${VENV:-.venv}/bin/python
"$PY" manage.py migrate --noinput
"$PY" manage.py bootstrap_demo
ADDRPORT=${ADDRPORT:-127.0.0.1:8443}
echo "==> open https://$ADDRPORT and sign in as Edward / 1234 (sissi / 5678; supervisor: see above)"
exec "$PY" manage.py runsslserver "$ADDRPORT"
