#!/usr/bin/env bash
# Creates the virtualenv (.venv, or $VENV) and installs the pinned requirements.
#   scripts/setup.sh        runtime only
#   scripts/setup.sh --dev  runtime + test tools, Debian's chromium for the browser tests and
#                           gettext for the translation check (scripts/check_translations.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
req=requirements.txt
[ "${1:-}" = "--dev" ] && req=requirements-dev.txt
echo "==> installing $req"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req"

if [ "${1:-}" = "--dev" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "!! /usr/bin/chromium is missing: run 'sudo apt-get install chromium' for the browser tests" >&2
    exit 1
  fi
fi

if [ "${1:-}" = "--dev" ] && ! command -v msgfmt >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's gettext for the translation check"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null
  else
    echo "!! gettext is missing: run 'sudo apt-get install gettext' for the translation check" >&2
    exit 1
  fi
fi
