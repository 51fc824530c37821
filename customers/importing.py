"""Admin CSV import plumbing for django-import-export: one-shot temp files and file encodings.

https://django-import-export.readthedocs.io/en/stable/admin_integration.html: the preview step
writes the upload to a temporary file, the "Confirm import" step reads it back and deletes it.
"""

import os

from import_export.tmp_storages import TempFolderStorage

# Tried in order: UTF-8 (with or without BOM), then GB18030 (a superset of GBK and GB2312, what
# Excel on a Chinese Windows writes for "CSV").
IMPORT_ENCODINGS = ("utf-8-sig", "gb18030")

ALREADY_IMPORTED = (
    "This import was already done or has expired. Choose the file again to import it."
)
NOT_TEXT = (
    "The file could not be read as text: save it as UTF-8 CSV (GB18030/GBK is also accepted)."
)


class AlreadyImported(Exception):
    """The confirmed import's temporary file is gone: imported before, or cleaned up."""


class OneShotTempFolderStorage(TempFolderStorage):
    """``TempFolderStorage`` whose file can be confirmed (imported) only once.

    The preview step reads the file it has just saved. The confirm step (a new storage object
    with the file's name) first claims the file by an atomic rename, so two "Confirm import"
    clicks, or Back and resubmit, never import twice: the second raises :class:`AlreadyImported`.
    """

    def save(self, data):
        super().save(data)
        self._saved_here = True

    def read(self):
        if getattr(self, "_saved_here", False):
            return super().read()
        claimed = f"{self.name}.claimed"
        try:
            os.rename(
                self.get_full_path(), os.path.join(os.path.dirname(self.get_full_path()), claimed)
            )
        except FileNotFoundError as exc:
            raise AlreadyImported(ALREADY_IMPORTED) from exc
        self.name = claimed
        return super().read()


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
    problems = [
        f"row {number}: {err.error}" for number, errors in result.row_errors() for err in errors
    ]
    problems += [str(err.error) for err in result.base_errors]
    for row in result.invalid_rows:
        for field, messages in row.error_dict.items():
            problems.append(f"row {row.number}: {field}: {' '.join(messages)}")
    shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
    return f"Nothing was imported: {shown or 'the import failed'}."
