"""Former home of the working-day calendar, now ``lapor_sync/working_days.py``.

The calendar moved below ``config/`` (the settings build it) and ``sla/`` (the deadlines
count with it), so neither imports the other for it. This name stays importable for the
modules not yet moved over (``sandbox/world.py``, ``sync/dryrun.py``); new code imports
``working_days``.
"""

from __future__ import annotations

from lapor_sync.working_days import WorkingCalendar

__all__ = ["WorkingCalendar"]
