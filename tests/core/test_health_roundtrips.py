"""The round trips of a scheduled access check, counted through the stack's proxy (25 ms
each way, as a server across the network): IMAP, the greeting and LOGIN; SMTP, the
greeting, EHLO and AUTH; LOGOUT and QUIT sent and not waited for. No CAPABILITY: the
greeting's are used. Asked to wait for them (the old way), the count says so."""

from devstack.tcp_proxy import Proxy
from mailbox_engine.connection_test import Server
from mailbox_engine.health import Probe, probe, probe_all

ALICE = "alice@mail.test"


def checked(stack, pipelined=True, count=1, workers=1):
    """``count`` checks of Alice's password mailbox, IMAP and SMTP each through a proxy;
    the outcomes, and the IMAP and SMTP round trips."""
    password = stack["accounts"][ALICE]
    with (
        Proxy(stack["imap_port"], delay=0.025) as imap_proxy,
        Proxy(stack["submission_port"], delay=0.025) as smtp_proxy,
    ):
        imap_trips, smtp_trips = imap_proxy.round_trips(), smtp_proxy.round_trips(smtp=True)
        items = [
            Probe(
                n,
                "imap",
                ALICE,
                Server(stack["host"], imap_proxy.port, "none", ALICE, password),
                Server(stack["host"], smtp_proxy.port, "none", ALICE, password),
                pipelined=pipelined,
            )
            for n in range(count)
        ]
        outcomes = [probe(items[0])] if count == 1 else probe_all(items, workers=workers)
        assert imap_proxy.wait_closed() and smtp_proxy.wait_closed()
    return outcomes, imap_trips, smtp_trips


def test_a_check_waits_for_imap_twice_and_smtp_three_times(stack):
    (outcome,), imap_trips, smtp_trips = checked(stack)
    assert outcome.ok, outcome.diagnosis
    assert imap_trips.commands == [["(connect)"], ["LOGIN"], ["LOGOUT"]]
    assert imap_trips.unanswered == [["LOGOUT"]], "LOGOUT was waited for"
    assert smtp_trips.commands == [["(connect)"], ["EHLO"], ["AUTH"], ["QUIT"]]
    assert smtp_trips.unanswered == [["QUIT"]], "QUIT was waited for"


def test_the_old_way_waits_for_logout_and_quit(stack):
    """The count is a count: LOGOUT and QUIT waited for (``pipelined=False``, the
    ``health_pipelining`` system parameter at 0) are seen answered before the end."""
    (outcome,), imap_trips, smtp_trips = checked(stack, pipelined=False)
    assert outcome.ok, outcome.diagnosis
    assert imap_trips.commands[-1] == ["LOGOUT"] and imap_trips.unanswered == [[]]
    assert smtp_trips.commands[-1] == ["QUIT"] and smtp_trips.unanswered == [[]]


def test_checks_at_once_are_each_as_few_round_trips(stack):
    """Sixteen checks on the network at once: every connection waited as few times."""
    outcomes, imap_trips, smtp_trips = checked(stack, count=16, workers=16)
    assert [o.ok for o in outcomes] == [True] * 16
    assert (imap_trips.connections, imap_trips.total) == (16, 3 * 16), imap_trips.commands
    assert (smtp_trips.connections, smtp_trips.total) == (16, 4 * 16), smtp_trips.commands
    assert imap_trips.unanswered == [["LOGOUT"]] * 16
    assert smtp_trips.unanswered == [["QUIT"]] * 16
