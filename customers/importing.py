"""Admin CSV import plumbing for django-import-export: one-shot temp files and file encodings.

https://django-import-export.readthedocs.io/en/stable/admin_integration.html: the preview step
writes the upload to a temporary file, the "Confirm import" step reads it back and deletes it.
"""

import contextlib
import os
import re
import secrets

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.tmp_storages import TempFolderStorage

# Tried in order: UTF-8 (with or without BOM), then GB18030 (a superset of GBK and GB2312, what
# Excel on a Chinese Windows writes for "CSV").
IMPORT_ENCODINGS = ("utf-8-sig", "gb18030")

ALREADY_IMPORTED = gettext_lazy(
    "This import was already done or has expired. Choose the file again to import it."
)
NOT_TEXT = gettext_lazy(
    "The file could not be read as text: save it as UTF-8 CSV (GB18030/GBK is also accepted)."
)


_IMPORT_ID = re.compile(r"[0-9a-f]{32}")


class AlreadyImported(Exception):
    """The confirmed import's temporary file is gone: imported before, or cleaned up."""


class OneShotTempFolderStorage(TempFolderStorage):
    """``TempFolderStorage`` kept in a private folder, named by an opaque id, confirmed once.

    The preview step saves the upload as ``IMPORT_TMP_DIR/<32 hex digits>`` (the id is random,
    from :mod:`secrets`) and the confirmation names it by that id only. A name that is not such
    an id (a path, a URL, another file's name) is never opened: :class:`AlreadyImported`. The
    admin also checks that the id was issued to the same user (see ``CustomerAdmin``).

    The confirm step (a new storage object with the id) first claims the file by an atomic
    rename, so two "Confirm import" clicks, or Back and resubmit, never import twice: the second
    raises :class:`AlreadyImported`.
    """

    def save(self, data):
        self.name = secrets.token_hex(16)
        folder = import_folder()
        if isinstance(data, str):
            data = data.encode(self.encoding or "utf-8")
        with open(os.path.join(folder, self.name), "xb") as file:
            file.write(data)
        self._saved_here = True

    def get_full_path(self):
        if not is_import_id(self.name):
            raise AlreadyImported(ALREADY_IMPORTED)
        return os.path.join(import_folder(), self.name)

    def read(self):
        if getattr(self, "_saved_here", False):
            return super().read()
        path = self.get_full_path()
        claimed = f"{path}.claimed"
        try:
            os.rename(path, claimed)
        except FileNotFoundError as exc:
            raise AlreadyImported(ALREADY_IMPORTED) from exc
        self._claimed = claimed
        with open(claimed, self.read_mode, encoding=self.encoding) as file:
            return file.read()

    def remove(self):
        with contextlib.suppress(FileNotFoundError):
            os.remove(getattr(self, "_claimed", None) or self.get_full_path())


def is_import_id(name) -> bool:
    """True for an id :class:`OneShotTempFolderStorage` hands out (32 lower-case hex digits)."""
    return isinstance(name, str) and _IMPORT_ID.fullmatch(name) is not None


def import_folder() -> str:
    """The private folder of pending imports (``settings.IMPORT_TMP_DIR``), made 0700 if new."""
    folder = str(settings.IMPORT_TMP_DIR)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return folder


def to_utf8(data: bytes) -> bytes:
    """Return ``data`` (CSV bytes) as UTF-8, decoding with the first of ``IMPORT_ENCODINGS`` that
    fits; unchanged when none does (reading it then fails with :data:`NOT_TEXT`)."""
    for encoding in IMPORT_ENCODINGS:
        try:
            return data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            continue
    return data


def describe_failure(result) -> str:
    """One readable line for a failed (rolled back) import ``Result``: the first few row errors."""
    row_error = _("row %(number)s: %(error)s")
    problems = [
        row_error % {"number": number, "error": err.error}
        for number, errors in result.row_errors()
        for err in errors
    ]
    problems += [str(err.error) for err in result.base_errors]
    for row in result.invalid_rows:
        for field, messages in row.error_dict.items():
            error = f"{field}: {' '.join(messages)}"
            problems.append(row_error % {"number": row.number, "error": error})
    shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
    return _("Nothing was imported: %(problems)s.") % {"problems": shown or _("the import failed")}
