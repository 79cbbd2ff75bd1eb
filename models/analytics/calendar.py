"""The business day: a calendar day in Asia/Shanghai (the stores' day), whatever the
server's zone. Rows are keyed by that date; queries use its [start, end) in UTC."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.base import utcnow

CHINA = ZoneInfo("Asia/Shanghai")


def today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(CHINA).date()


def bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of `day` in Asia/Shanghai, as aware datetimes (compared as UTC)."""
    start = datetime.combine(day, time(0), tzinfo=CHINA)
    return start, start + timedelta(days=1)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
