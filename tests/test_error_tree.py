"""The error tree drawn in ``lapor_sync/errors.py``'s docstring is the real one (#12.6).

Every ``LaporSyncError`` subclass is defined in ``errors.py`` and drawn in the tree under
its real parent; every other exception class of the package is one of the few that are
outside the tree on purpose, each named in the docstring with its reason.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import lapor_sync
from lapor_sync import errors
from lapor_sync.errors import LaporSyncError

# Caught where they are raised, never shown as they are (errors.py says why for each).
OUTSIDE_ON_PURPOSE = {
    "SecretProblem",
    "UnreadableBody",
    "AttemptFailed",
    "DownloadError",
    "FieldError",
    "FilterProblem",
    "NotReady",
    "Refused",
    "UploadRefused",
    "BrowserError",
    "UnknownComplaintError",
    "_Lost",
}


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _all_subclasses(sub)
    return found


def _drawn_tree() -> dict[str, str | None]:
    """Name → parent name, read from the docstring's drawing (4 columns per level)."""
    doc = errors.__doc__ or ""
    drawing = doc.split("The tree::", 1)[1].strip("\n").split("\n\n", 1)[0]
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in drawing.splitlines():
        match = re.search(r"[A-Za-z_]\w*", line)
        assert match, f"unreadable line in the drawn tree: {line!r}"
        depth = (match.start() - 4) // 4 if stack else 0
        name = match.group(0)
        del stack[depth:]
        parents[name] = stack[-1] if stack else None
        stack.append(name)
    return parents


def _package_exceptions() -> set[type]:
    for module in pkgutil.walk_packages(lapor_sync.__path__, "lapor_sync."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    return {
        cls
        for cls in _all_subclasses(BaseException)
        if cls.__module__.split(".")[0] == "lapor_sync"
    }


def test_every_lapor_sync_error_is_defined_in_errors_py() -> None:
    elsewhere = sorted(
        f"{cls.__module__}.{cls.__name__}"
        for cls in _all_subclasses(LaporSyncError)
        if cls.__module__ != "lapor_sync.errors"
    )
    assert not elsewhere, f"define these in lapor_sync/errors.py (re-export if needed): {elsewhere}"


def test_the_docstring_draws_every_error_under_its_real_parent() -> None:
    drawn = _drawn_tree()
    real: dict[str, str | None] = {"LaporSyncError": None}
    for cls in _all_subclasses(LaporSyncError):
        parent = next(base for base in cls.__bases__ if issubclass(base, LaporSyncError))
        real[cls.__name__] = parent.__name__
    assert drawn == real


def test_no_exception_of_the_package_is_outside_the_tree_unless_on_purpose() -> None:
    outside = {
        cls.__name__
        for cls in _package_exceptions()
        if not issubclass(cls, LaporSyncError) and cls.__name__ not in OUTSIDE_ON_PURPOSE
    }
    assert not outside, f"put these in the tree of lapor_sync/errors.py: {sorted(outside)}"
    doc = errors.__doc__ or ""
    unexplained = sorted(name for name in OUTSIDE_ON_PURPOSE if f"``{name}``" not in doc)
    assert not unexplained, f"errors.py's docstring must say why these stay outside: {unexplained}"


def test_bad_input_errors_are_still_value_errors() -> None:
    # Callers that catch ValueError around input handling keep catching these.
    for cls in (
        errors.RegisterError,
        errors.AttachmentError,
        errors.UserError,
        errors.ConflictError,
    ):
        assert issubclass(cls, ValueError)
        assert issubclass(cls, LaporSyncError)


def test_old_import_places_still_work() -> None:
    from lapor_sync.daemon.backup import BackupError
    from lapor_sync.daemon.endpoint import EndpointError
    from lapor_sync.local.attachments import AttachmentError
    from lapor_sync.local.csv_import import CsvImportError
    from lapor_sync.local.register import RegisterError
    from lapor_sync.report.html import ReportError
    from lapor_sync.store.db import StoreError
    from lapor_sync.store.users import UserError
    from lapor_sync.sync.reconcile import ConflictError
    from lapor_sync.web import WebError

    moved = [
        AttachmentError, BackupError, EndpointError, CsvImportError, RegisterError, ReportError,
        StoreError, UserError, ConflictError, WebError,
    ]
    assert all(cls.__module__ == "lapor_sync.errors" for cls in moved)
