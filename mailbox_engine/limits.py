"""Sending limits of a mailbox: how many messages may leave now, and when the rest may.

Plain values in and out: the caller keeps a :class:`Usage` per mailbox (under a row
lock) and passes the messages waiting, oldest first, with their recipient counts.
Windows are fixed: a minute from its first message, a day (24 h) from its first.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
CONSUMER_GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


@dataclass(frozen=True)
class Limits:
    per_minute: int = 0  # messages; 0: no limit
    per_day: int = 0  # messages
    recipients_per_day: int = 0


@dataclass
class Usage:
    minute_start: datetime | None = None
    minute_count: int = 0
    day_start: datetime | None = None
    day_count: int = 0
    day_recipients: int = 0


def default_limits(provider, address=""):
    """The provider's published caps: Google Workspace 2,000 messages a day (consumer
    Gmail 500); Microsoft 365 30 messages a minute and 10,000 recipients a day."""
    domain = (address or "").rpartition("@")[2].lower()
    if provider == "google":
        return Limits(per_day=500 if domain in CONSUMER_GMAIL_DOMAINS else 2000)
    if provider == "microsoft":
        return Limits(per_minute=30, recipients_per_day=10000)
    return Limits()


def allow(limits, usage, now, recipients):
    """Split waiting messages into those that may leave now and the rest.

    ``recipients``: the recipient count of each waiting message, oldest first.
    Updates ``usage`` for the messages allowed; returns ``(allowed, next_time)`` where
    ``allowed`` is how many of the first messages may leave and ``next_time`` is when
    the next one may (None when all may leave now).
    """
    if usage.minute_start is None or now - usage.minute_start >= MINUTE:
        usage.minute_start, usage.minute_count = now, 0
    if usage.day_start is None or now - usage.day_start >= DAY:
        usage.day_start, usage.day_count, usage.day_recipients = now, 0, 0
    allowed = 0
    for count in recipients:
        if limits.per_day and usage.day_count >= limits.per_day:
            return allowed, usage.day_start + DAY
        if limits.recipients_per_day and usage.day_recipients + count > limits.recipients_per_day:
            return allowed, usage.day_start + DAY
        if limits.per_minute and usage.minute_count >= limits.per_minute:
            return allowed, usage.minute_start + MINUTE
        usage.minute_count += 1
        usage.day_count += 1
        usage.day_recipients += count
        allowed += 1
    return allowed, None
