"""NCRONTAB schedules: six fields, seconds first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from providers.azure.ncrontab import ScheduleError, parse

T0 = datetime(2024, 5, 14, 15, 14, 15, 500000, tzinfo=timezone.utc)  # a Tuesday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("*/1 * * * * *", datetime(2024, 5, 14, 15, 14, 16, tzinfo=timezone.utc)),
        ("0 */5 * * * *", datetime(2024, 5, 14, 15, 15, 0, tzinfo=timezone.utc)),
        ("30 14 15 * * *", datetime(2024, 5, 14, 15, 14, 30, tzinfo=timezone.utc)),
        ("0 0 9 * * Mon-Fri", datetime(2024, 5, 15, 9, 0, 0, tzinfo=timezone.utc)),
        ("0 0 0 1 Jan *", datetime(2025, 1, 1, tzinfo=timezone.utc)),
        ("0 0 12 * * 0", datetime(2024, 5, 19, 12, tzinfo=timezone.utc)),
        ("0 0 12 * * 7", datetime(2024, 5, 19, 12, tzinfo=timezone.utc)),
        ("0 0 12 29 2 *", datetime(2028, 2, 29, 12, tzinfo=timezone.utc)),
        ("5,10 * * * * *", datetime(2024, 5, 14, 15, 15, 5, tzinfo=timezone.utc)),
        ("0 0 * 1 * 6", datetime(2024, 5, 18, 0, tzinfo=timezone.utc)),  # day 1 OR Saturday, as in cron
        ("00:00:10", T0 + timedelta(seconds=10)),
    ],
)
def test_next_occurrence(expression: str, expected: datetime) -> None:
    assert parse(expression).next_after(T0) == expected


@pytest.mark.parametrize(
    "expression", ["* * * * *", "60 * * * * *", "a * * * * *", "*/0 * * * * *", "5-1 * * * * *"]
)
def test_refused(expression: str) -> None:
    with pytest.raises(ScheduleError):
        parse(expression)
