#!/usr/bin/env bash
# One command that runs the product on https://127.0.0.1:8443 (sandbox mode, demo data included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=${VENV:-.venv}/bin/python
export ADDRPORT=${ADDRPORT:-127.0.0.1:8443}  # the settings build the sandbox's URLs from it
# Every configured database: the CRM's, and the sandbox's when the sandbox is on.
for db in $("$PY" manage.py shell --no-imports -c "from django.conf import settings; print(*settings.DATABASES)"); do
  "$PY" manage.py migrate --noinput --database "$db"
done
"$PY" manage.py bootstrap_demo
echo "==> open https://$ADDRPORT and sign in as Edward / 1234 (sissi / 5678; supervisor: see above)"
exec "$PY" manage.py runsslserver "$ADDRPORT"
