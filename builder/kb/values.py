"""How frontmatter values are read and quoted: dates, and values inside messages.

Validate, link and views import these, and the YAML converters make `InvalidDate`; they
sit apart so that reading a date or quoting a value needs none of the parsing machinery.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any


class InvalidDate(str):
    """A value written like a date that is no calendar date (2025-13-45); validate reports it."""


def is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def as_date(value: Any) -> dt.date | None:
    """A date field's value as a date: bare (`2026-11-23`) or quoted (`"2026-11-23"`) alike."""
    if is_date(value):
        return value
    if isinstance(value, str) and not isinstance(value, InvalidDate) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown(value: Any, limit: int = 80) -> str:
    """A value from a file as a message quotes it: escapes for control characters (an ANSI
    escape must not reach the terminal or a CI log raw) and long text cut short."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)
