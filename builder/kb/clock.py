"""The one clock: which day "today" is, for every stage that asks.

KB602 (a loop gone stale), the coverage heatmap's last quarter and emit's fingerprint all
count days up to the same date, so a build never disagrees with itself. It is the UTC
calendar day (a handbook's readers and CI runners sit in many time zones; UTC is the one
they share), or the day of `SOURCE_DATE_EPOCH` when it is set, so a build of the same commit
is the same site tomorrow (https://reproducible-builds.org/specs/source-date-epoch/).

The pipeline reads it once per run (`kb.pipeline.Options.today`) and passes the date on;
tests freeze time by setting `SOURCE_DATE_EPOCH`, or by passing the date.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

ENV = "SOURCE_DATE_EPOCH"


def today(environ: Mapping[str, str] | None = None) -> dt.date:
    """`SOURCE_DATE_EPOCH`'s UTC day when it holds a Unix time, else today's UTC day.

    A value that is not a whole number of seconds is ignored, as the specification asks
    (a build must not fail over it)."""
    epoch = (os.environ if environ is None else environ).get(ENV, "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.datetime.now(dt.UTC).date()
