"""scripts/check_translations.sh, the CI check of the zh-hans catalogue: it passes on the tree as
committed and fails on a new string nobody translated, an untranslated or fuzzy entry, and a
stale .mo. Each case runs it in a copy of the tree (it never writes the working tree itself)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = Path("locale/zh_Hans/LC_MESSAGES/django.po")


@pytest.fixture
def tree(tmp_path):
    """A git work tree (nothing committed) holding the repository's files as they are now."""
    if not shutil.which("msgfmt"):
        pytest.fail("gettext is missing: apt-get install gettext (scripts/setup.sh --dev)")
    copy = tmp_path / "repo"
    local_state = shutil.ignore_patterns(
        ".git", ".venv", "venv", "staticfiles", "test-artifacts", "node_modules", "__pycache__",
        ".pytest_cache", ".ruff_cache", ".hypothesis", ".devcert", ".devsecret", ".env",
        "*.sqlite3*",
    )  # fmt: skip
    shutil.copytree(ROOT, copy, ignore=local_state)
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    return copy


def check(tree: Path) -> subprocess.CompletedProcess:
    venv = Path(sys.executable).parent.parent
    return subprocess.run(
        ["bash", "scripts/check_translations.sh"],
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "VENV": str(venv), "HOME": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_committed_catalogue_is_complete(tree):
    result = check(tree)
    assert result.returncode == 0, result.stderr
    assert "catalogue is complete" in result.stdout


def test_a_new_untranslated_string_fails(tree):
    page = tree / "templates" / "customers" / "list.html"
    page.write_text(page.read_text() + '{% translate "Callback scheduled" %}\n')
    result = check(tree)
    assert result.returncode == 1
    assert 'msgid "Callback scheduled"' in result.stderr


def test_an_untranslated_or_fuzzy_entry_fails(tree):
    po = tree / PO
    text = po.read_text()
    text = text.replace(
        'msgid "Search customers"\nmsgstr "搜索客户"', 'msgid "Search customers"\nmsgstr ""'
    )
    text = text.replace('msgid "Save notes"', '#, fuzzy\nmsgid "Save notes"')
    po.write_text(text)
    result = check(tree)
    assert result.returncode == 1
    assert "untranslated entries" in result.stderr and 'msgid "Search customers"' in result.stderr
    assert "fuzzy entries" in result.stderr and 'msgid "Save notes"' in result.stderr


def test_a_stale_mo_fails(tree):
    po = tree / PO
    po.write_text(po.read_text().replace('msgstr "保存备注"', 'msgstr "保存通话备注"'))
    result = check(tree)
    assert result.returncode == 1
    assert "django.mo is stale" in result.stderr
