#!/usr/bin/env bash
# The zh-hans catalogue is complete: fails (exit 1) when
#   - makemessages (domains django and djangojs) finds a msgid the committed .po lacks, or the
#     .po keeps one the code no longer has (makemessages runs in a temporary copy of the tree:
#     the working tree is never written);
#   - an entry of the .po is untranslated or fuzzy, or a translation breaks a %(name)s format;
#   - a committed .mo is missing or stale (it does not hold what msgfmt makes of its .po).
#
#   scripts/check_translations.sh           the check (CI, .ci/run)
#   scripts/check_translations.sh --update  run makemessages into locale/ itself; then translate
#                                           the new entries and run manage.py compilemessages
# Needs GNU gettext (msgfmt, msgcmp, msgattrib, msgunfmt): scripts/setup.sh --dev installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$(cd "$(dirname "$VENV/bin/python")" && pwd)/python"
LOCALE=zh_Hans
DOMAINS=(django djangojs)
# Not product code: the virtualenvs, tests, generated static files, benchmarks, docs.
MAKEMESSAGES=(-l "$LOCALE" --add-location=file --no-obsolete -v0
  --ignore=.venv --ignore=venv --ignore=.git --ignore=tests --ignore=staticfiles
  --ignore=node_modules --ignore=test-artifacts --ignore=docs --ignore=benchmarks
  --ignore=.devcert)

for tool in msgfmt msgcmp msgattrib msgunfmt; do
  command -v "$tool" >/dev/null || {
    echo "!! $tool is missing: apt-get install gettext (scripts/setup.sh --dev)" >&2
    exit 1
  }
done

if [ "${1:-}" = "--update" ]; then
  for domain in "${DOMAINS[@]}"; do
    "$PY" manage.py makemessages -d "$domain" "${MAKEMESSAGES[@]}"
  done
  echo "==> updated locale/$LOCALE/LC_MESSAGES/*.po: translate, then manage.py compilemessages"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The tree as git sees it (committed, changed and new files, not ignored ones); outside a git
# work tree (an unpacked archive), everything but the local state.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # A tracked file deleted in the work tree cannot be copied: skip it.
  git ls-files -z --cached --others --exclude-standard \
    | xargs -0 cp --parents -t "$tmp" 2>/dev/null || true
else
  tar -cf - --exclude=./.git --exclude=./.venv --exclude=./venv --exclude=./staticfiles \
    --exclude=./test-artifacts --exclude=./node_modules --exclude='*.sqlite3*' . \
    | tar -xf - -C "$tmp"
fi
for domain in "${DOMAINS[@]}"; do
  (cd "$tmp" && "$PY" manage.py makemessages -d "$domain" "${MAKEMESSAGES[@]}")
done

failed=0
fail() { echo "!! $*" >&2; failed=1; }
# The msgid lines msgcmp's complaints ("file:LINE: this message is used but not defined") point at.
msgids_at() {
  grep -o ':[0-9]*: this message' "$2" | tr -dc '0-9\n' | while read -r line; do
    awk -v n="$line" 'NR <= n && /^msgid / { last = $0 } NR == n { print "   " last }' "$1"
  done
}
for domain in "${DOMAINS[@]}"; do
  po="locale/$LOCALE/LC_MESSAGES/$domain.po"
  mo="${po%.po}.mo"
  fresh="$tmp/$po"
  echo "==> $po"
  if [ ! -f "$po" ]; then
    fail "$po is missing: run scripts/check_translations.sh --update"
    continue
  fi
  # Every msgid makemessages finds is in the .po, and the .po has none it no longer finds.
  msgcmp --use-untranslated --use-fuzzy "$po" "$fresh" 2>"$tmp/new.txt" \
    || fail "strings not in $po yet (scripts/check_translations.sh --update):
$(msgids_at "$fresh" "$tmp/new.txt")"
  msgcmp --use-untranslated --use-fuzzy "$fresh" "$po" 2>"$tmp/gone.txt" \
    || fail "$po has strings the code no longer has (scripts/check_translations.sh --update):
$(msgids_at "$po" "$tmp/gone.txt")"
  untranslated=$(msgattrib --untranslated --no-obsolete "$po")
  [ -z "$untranslated" ] || fail "untranslated entries in $po:
$untranslated"
  fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$po")
  [ -z "$fuzzy" ] || fail "fuzzy entries in $po (check the translation, remove the flag):
$fuzzy"
  msgfmt --check-format -o "$tmp/$domain.mo" "$po" || fail "msgfmt refuses $po"
  if [ ! -f "$mo" ]; then
    fail "$mo is missing: run manage.py compilemessages"
  elif ! cmp -s <(msgunfmt "$mo") <(msgunfmt "$tmp/$domain.mo"); then
    fail "$mo is stale: run manage.py compilemessages"
  fi
done
if [ "$failed" != 0 ]; then
  echo "!! the zh-hans catalogue is not complete" >&2
  exit 1
fi
echo "==> the zh-hans catalogue is complete (${DOMAINS[*]})"
