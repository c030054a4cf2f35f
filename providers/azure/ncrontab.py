"""NCRONTAB schedules of timer triggers: six fields, `{second} {minute} {hour} {day} {month} {day-of-week}`.

Each field takes `*`, numbers, ranges `a-b`, lists `a,b`, steps `*/n` or `a-b/n`, and month and
day names (`Jan`, `Mon`). As in cron, when both day fields are restricted a time matches either.
Times are UTC, as the host uses without WEBSITE_TIME_ZONE. A TimeSpan (`00:00:10`) also works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (low, high, names) of each field, in order
FIELDS = [(0, 59, None), (0, 59, None), (0, 23, None), (1, 31, None), (1, 12, MONTHS), (0, 6, DAYS)]
TIMESPAN = re.compile(r"\A(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})\Z")
SEARCH_LIMIT = timedelta(days=366 * 5)


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool
    interval: timedelta | None = None  # a TimeSpan schedule: every `interval`

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (timezone-aware, UTC)."""
        if self.interval is not None:
            return moment + self.interval
        current = moment.astimezone(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
        limit = current + SEARCH_LIMIT
        while current < limit:
            if current.month not in self.months:
                current = (current.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(
                    day=1
                )
                continue
            if not self._day_matches(current):
                current = current.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if current.hour not in self.hours:
                current = current.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if current.minute not in self.minutes:
                current = current.replace(second=0) + timedelta(minutes=1)
                continue
            if current.second not in self.seconds:
                current += timedelta(seconds=1)
                continue
            return current
        raise ScheduleError("the schedule never occurs")

    def _day_matches(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7  # cron counts from Sunday = 0
        in_month = moment.day in self.days
        in_week = weekday in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


def parse(expression: str) -> Schedule:
    text = expression.strip()
    span = TIMESPAN.match(text)
    if span is not None:
        days, hours, minutes, seconds = (int(group or 0) for group in span.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval.total_seconds() <= 0:
            raise ScheduleError(f"'{expression}': the interval must be positive")
        empty: frozenset[int] = frozenset()
        return Schedule(empty, empty, empty, empty, empty, empty, True, True, interval)
    fields = text.split()
    if len(fields) != 6:
        raise ScheduleError(
            f"'{expression}' is not a valid CRON expression: it needs 6 fields, found {len(fields)}"
        )
    values = [parse_field(field, *FIELDS[index], expression) for index, field in enumerate(fields)]
    return Schedule(*values, any_day=fields[3] in ("*", "?"), any_weekday=fields[5] in ("*", "?"))  # type: ignore[misc]


def parse_field(field: str, low: int, high: int, names: list[str] | None, expression: str) -> frozenset[int]:
    found: set[int] = set()
    for item in field.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"'{expression}': invalid step in '{item}'")
            step = int(step_text)
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = (
                value_of(first, names, low, high, expression),
                value_of(last, names, low, high, expression),
            )
        else:
            start = value_of(base, names, low, high, expression)
            end = high if step_text else start
        if start > end:
            raise ScheduleError(f"'{expression}': the range '{item}' is backwards")
        found.update(range(start, end + 1, step))
    return frozenset(found)


def value_of(text: str, names: list[str] | None, low: int, high: int, expression: str) -> int:
    if names is not None and text[:3].lower() in names and not text.isdigit():
        number = names.index(text[:3].lower()) + (1 if names is MONTHS else 0)
    elif text.isdigit():
        number = int(text)
        if names is DAYS and number == 7:  # Sunday may be written 7
            number = 0
    else:
        raise ScheduleError(f"'{expression}': '{text}' is not a number")
    if not low <= number <= high:
        raise ScheduleError(f"'{expression}': {number} is out of range {low}-{high}")
    return number
