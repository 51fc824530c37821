#!/usr/bin/env bash
# The README's console screenshots (docs/screenshots/console-*.png), in zh-hans and English:
# during a call (1024, 1280, 1440 and 390 px), in after-call work and the profile page (1280 px).
# They are taken by the console's browser journey test (tests/workbench/test_console.py) against
# the sandbox, so they always show the product as it is tested.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=${VENV:-.venv}/bin/pytest
mkdir -p docs/screenshots
env -u DATABASE_URL CONSOLE_SCREENSHOTS=docs/screenshots "$PYTEST" -p no:randomly -q \
  tests/workbench/test_console.py "$@"
