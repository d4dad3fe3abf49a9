"""The institution list the sandbox serves (``GET /masters/institutions/external``).

Starts as ``masters.INSTITUTIONS``; a test or trainer may rename an institution or stop
listing it, as SP4N-LAPOR! does when agencies merge or change names, to exercise the
masters job's warnings. Only the listing changes: records keep the ids they hold.
"""

from __future__ import annotations

import threading

from lapor_sync.sandbox import masters


class InstitutionDirectory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._renamed: dict[str, str] = {}
        self._unlisted: set[str] = set()

    def rename(self, institution_id: str, name: str) -> None:
        if institution_id not in masters.INSTITUTIONS:
            raise ValueError(f"unknown institution {institution_id}")
        with self._lock:
            self._renamed[institution_id] = name

    def unlist(self, institution_id: str) -> None:
        if institution_id not in masters.INSTITUTIONS:
            raise ValueError(f"unknown institution {institution_id}")
        with self._lock:
            self._unlisted.add(institution_id)

    def reset(self) -> None:
        with self._lock:
            self._renamed.clear()
            self._unlisted.clear()

    def listed_ids(self) -> frozenset[str]:
        """The ids the listing shows (what the strict reading accepts in a write)."""
        with self._lock:
            return frozenset(i for i in masters.INSTITUTIONS if i not in self._unlisted)

    def rows(self) -> list[tuple[str, str]]:
        with self._lock:
            return [
                (i, self._renamed.get(i, name))
                for i, name in masters.INSTITUTIONS.items()
                if i not in self._unlisted
            ]
