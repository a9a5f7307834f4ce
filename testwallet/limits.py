"""Outgoing-payment grant limits: ISO 8601 repeating intervals and amounts spent under a grant.

Rafiki (``docs/protocol-notes.md`` §10): amounts are maxima per interval ``R[n]/<start>/<duration>``; a
payment outside any interval (a start in the future, repetitions used up) is refused; spent figures
cover the current interval only; a malformed interval is accepted by the AS and fails at the RS (500).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .formats import parse_iso

_DURATION = re.compile(
    r"P(?!\Z)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?\Z"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class IntervalError(ValueError):
    """The grant's ``interval`` is not a repeating interval we (or Rafiki) can use."""


@dataclass(frozen=True, slots=True)
class Duration:
    months: int
    seconds: int

    def add_to(self, moment: datetime) -> datetime:
        if self.months:
            month_index = moment.month - 1 + self.months
            year = moment.year + month_index // 12
            month = month_index % 12 + 1
            day = min(moment.day, calendar.monthrange(year, month)[1])
            moment = moment.replace(year=year, month=month, day=day)
        return moment + timedelta(seconds=self.seconds)


def parse_duration(text: str) -> Duration:
    match = _DURATION.match(text)
    if not match:
        raise IntervalError(f"invalid duration {text!r}")
    years, months, weeks, days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    duration = Duration(
        months=years * 12 + months,
        seconds=((weeks * 7 + days) * 24 + hours) * 3600 + minutes * 60 + seconds,
    )
    if duration.months == 0 and duration.seconds == 0:
        raise IntervalError("empty duration")
    return duration


def current_window(interval: str, now_ms: int) -> tuple[int, int] | None:
    """The ``[start, end)`` window (epoch ms) of ``interval`` that contains ``now_ms``, or None."""
    parts = interval.split("/")
    if len(parts) != 3 or not parts[0].startswith("R"):
        raise IntervalError(f"invalid repeating interval {interval!r}")
    repetitions: int | None = None
    if parts[0] not in ("R", "R-1"):
        if not parts[0][1:].isdigit():
            raise IntervalError(f"invalid repetitions in {interval!r}")
        repetitions = int(parts[0][1:])
    try:
        start = _EPOCH + timedelta(milliseconds=parse_iso(parts[1]))
    except ValueError:
        raise IntervalError(f"invalid interval start in {interval!r}") from None
    duration = parse_duration(parts[2])
    now = _EPOCH + timedelta(milliseconds=now_ms)
    if now < start:
        return None
    index = 0
    if duration.months == 0:  # fixed length: jump straight to the window
        index = int((now - start).total_seconds() // duration.seconds)
        start = start + timedelta(seconds=duration.seconds * index)
    while True:
        if repetitions is not None and index > repetitions:
            return None
        end = duration.add_to(start)
        if start <= now < end:
            return _ms(start), _ms(end)
        start, index = end, index + 1


def _ms(moment: datetime) -> int:
    delta = moment - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
