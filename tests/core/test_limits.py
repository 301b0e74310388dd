"""The sending limiter: plain decisions from limits, usage and the waiting messages."""

from datetime import datetime, timedelta

from mailbox_engine.limits import Limits, Usage, allow, default_limits

T0 = datetime(2026, 11, 26, 9, 0, 0)


def test_a_cap_of_ten_a_minute_lets_35_messages_leave_over_four_minutes():
    limits, usage = Limits(per_minute=10), Usage()
    waiting, sent, runs = 35, 0, 0
    now = T0
    while waiting:
        allowed, next_time = allow(limits, usage, now, [1] * waiting)
        sent, waiting, runs = sent + allowed, waiting - allowed, runs + 1
        if waiting:
            assert next_time == now + timedelta(minutes=1)
            now = next_time
    assert (sent, runs) == (35, 4)


def test_day_limits_count_messages_and_recipients():
    assert allow(Limits(per_day=3), Usage(), T0, [1] * 5) == (3, T0 + timedelta(days=1))
    usage = Usage()
    assert allow(Limits(recipients_per_day=10), usage, T0, [4, 4, 4]) == (2, T0 + timedelta(days=1))
    assert usage.day_recipients == 8


def test_windows_restart_after_they_end():
    usage = Usage()
    allow(Limits(per_minute=2), usage, T0, [1, 1])
    assert allow(Limits(per_minute=2), usage, T0 + timedelta(seconds=30), [1]) == (0, T0 + timedelta(minutes=1))
    assert allow(Limits(per_minute=2), usage, T0 + timedelta(seconds=60), [1]) == (1, None)


def test_no_limit_lets_everything_leave():
    assert allow(Limits(), Usage(), T0, [1] * 1000) == (1000, None)


def test_provider_defaults():
    assert default_limits("google", "ann@gmail.com") == Limits(per_day=500)
    assert default_limits("google", "ann@company.example") == Limits(per_day=2000)
    assert default_limits("microsoft", "ann@contoso.example") == Limits(per_minute=30, recipients_per_day=10000)
    assert default_limits("imap", "ann@example.com") == Limits()
