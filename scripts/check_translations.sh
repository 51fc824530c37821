#!/usr/bin/env bash
# The zh-hans catalogues are complete: fails (exit 1) when
#   - makemessages (domains django and djangojs) finds a msgid a committed .po lacks, or a .po
#     keeps one the code no longer has (makemessages runs in a temporary copy of the tree: the
#     working tree is never written);
#   - an entry is untranslated or fuzzy, or a translation breaks a %(name)s placeholder;
#   - a committed .mo is missing or stale (it does not hold what msgfmt makes of its .po).
# Two catalogues: the product's (locale/) and the sandbox add-on's (aliyun_sandbox/locale/, which
# leaves with its folder: the product stands without it).
#
#   scripts/check_translations.sh           the check (CI, .ci/run)
#   scripts/check_translations.sh --update  run makemessages into the catalogues themselves;
#                                           then translate the new entries and run
#                                           manage.py compilemessages --ignore=.venv
# Needs GNU gettext (msgfmt, msgcmp, msgattrib, msgunfmt): scripts/setup.sh --dev installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$(cd "$(dirname "$VENV/bin/python")" && pwd)/python"
LOCALE=zh_Hans
DOMAINS=(django djangojs)
ADDON=aliyun_sandbox
# Not product code: the virtualenvs, tests, generated static files, benchmarks, docs.
OPTIONS=(-l "$LOCALE" --add-location=file --no-obsolete -v0
  --ignore=.venv --ignore=venv --ignore=.git --ignore=tests --ignore=staticfiles
  --ignore=node_modules --ignore=test-artifacts --ignore=docs --ignore=benchmarks
  --ignore=.devcert)

for tool in msgfmt msgcmp msgattrib msgunfmt; do
  command -v "$tool" >/dev/null || {
    echo "!! $tool is missing: apt-get install gettext (scripts/setup.sh --dev)" >&2
    exit 1
  }
done

# makemessages for both domains in tree $1: the product's catalogue, then the add-on's (run
# from its folder, so that it writes its own locale/).
makemessages() {
  local domain
  for domain in "${DOMAINS[@]}"; do
    (cd "$1" && "$PY" manage.py makemessages -d "$domain" "${OPTIONS[@]}" --ignore="$ADDON")
    if [ -d "$1/$ADDON/locale" ]; then
      (cd "$1/$ADDON" && DJANGO_SETTINGS_MODULE=crmdemo.settings PYTHONPATH=.. \
        "$PY" -m django makemessages -d "$domain" "${OPTIONS[@]}")
    fi
  done
}

CATALOGUES=(.)
[ -d "$ADDON/locale" ] && CATALOGUES+=("$ADDON")

if [ "${1:-}" = "--update" ]; then
  makemessages .
  echo "==> updated the .po files: translate, then manage.py compilemessages --ignore=.venv"
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
# From scratch: makemessages leaves a .po alone when it finds no string at all.
for catalogue in "${CATALOGUES[@]}"; do
  mkdir -p "$tmp/$catalogue/locale/$LOCALE/LC_MESSAGES"
  rm -f "$tmp/$catalogue/locale/$LOCALE/LC_MESSAGES/"*.po
done
makemessages "$tmp"

failed=0
fail() { echo "!! $*" >&2; failed=1; }
# The msgid lines msgcmp's complaints ("file:LINE: this message is used but not defined") point at.
msgids_at() {
  grep -o ':[0-9]*: this message' "$2" | tr -dc '0-9\n' | while read -r line; do
    awk -v n="$line" '
      NR <= n && /^msgid / { id = $0; open = 1; next }
      NR <= n && open && /^"/ { id = id $0; next }
      NR <= n && /^msgstr/ { open = 0 }
      NR == n { print "   " id }' "$1"
  done
}
for catalogue in "${CATALOGUES[@]}"; do
  for domain in "${DOMAINS[@]}"; do
    po="$catalogue/locale/$LOCALE/LC_MESSAGES/$domain.po"
    po=${po#./}
    mo="${po%.po}.mo"
    fresh="$tmp/$po"
    if [ ! -f "$fresh" ]; then
      [ -f "$po" ] && fail "$po has strings, the code none (delete it, and its .mo)"
      continue
    fi
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
    msgfmt --check-format -o "$tmp/compiled.mo" "$po" || fail "msgfmt refuses $po"
    if [ ! -f "$mo" ]; then
      fail "$mo is missing: run manage.py compilemessages --ignore=.venv"
    elif ! cmp -s <(msgunfmt "$mo") <(msgunfmt "$tmp/compiled.mo"); then
      fail "$mo is stale: run manage.py compilemessages --ignore=.venv"
    fi
  done
done
if [ "$failed" != 0 ]; then
  echo "!! the zh-hans catalogue is not complete" >&2
  exit 1
fi
echo "==> the zh-hans catalogue is complete (${CATALOGUES[*]}: ${DOMAINS[*]})"
