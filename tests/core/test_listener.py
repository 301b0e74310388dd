"""The listener against the real Dovecot: a message appended to an idle Inbox is seen,
IDLE is issued again, a refused password is said with its diagnosis, and a dropped
connection comes back by itself."""

import dataclasses
import queue
import secrets
import time

import pytest
from imapclient import IMAPClient
from test_connection_check import _google_token

from devstack.tcp_proxy import Proxy
from mailbox_engine.connection_test import Server
from mailbox_engine.diagnosis import AUTH_LOST
from mailbox_engine.listener import Listener

CAROL = "carol@mail.test"
DEADLINE = 30  # seconds a test waits for what it expects (never asserted as a duration)


def server(stack, port=None, password=None):
    return Server(
        host="127.0.0.1",
        port=port or stack["imap_port"],
        security="none",
        login=CAROL,
        password=stack["accounts"][CAROL] if password is None else password,
        timeout=10,
    )


def append(stack, subject="Hello"):
    with IMAPClient(stack["host"], port=stack["imap_port"], ssl=False, timeout=10) as client:
        client.login(CAROL, stack["accounts"][CAROL])
        message_id = f"<{secrets.token_hex(6)}@customer.test>"
        client.append(
            "INBOX", f"From: lead@customer.test\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n\r\nhi\r\n"
        )


def inbox_mark(stack):
    with IMAPClient(stack["host"], port=stack["imap_port"], ssl=False, timeout=10) as client:
        client.login(CAROL, stack["accounts"][CAROL])
        status = client.folder_status("INBOX", ["UIDVALIDITY", "UIDNEXT"])
        return status[b"UIDVALIDITY"], status[b"UIDNEXT"]


def wait_for(condition, deadline=DEADLINE):
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def next_event(events, deadline=DEADLINE):
    try:
        return events.get(timeout=deadline)
    except queue.Empty:
        return None


@pytest.fixture
def events():
    return queue.Queue()


def test_append_on_an_idle_inbox_is_seen_once_and_idle_is_issued_again(stack, events):
    with Listener(lambda key: events.put(("change", key)), idle_seconds=1.5, debounce=0.3) as listener:
        listener.add("carol", server(stack), CAROL)
        assert wait_for(lambda: listener.idling("carol"))
        assert events.empty()  # holding a mailbox is no change
        append(stack, "First")
        append(stack, "Second")
        assert next_event(events) == ("change", "carol")
        time.sleep(0.6)
        assert events.empty()  # two messages in a row: one sync asked, not two
        # IDLE ended and issued again (well before a server would drop it), then a change again
        assert wait_for(lambda: listener.counters["idles"] >= 3)
        assert listener.counters["connects"] == 1  # the same connection all along
        append(stack, "Third")
        mark = inbox_mark(stack)
        assert next_event(events) == ("change", "carol")
        listener.remove("carol")
        assert wait_for(lambda: not listener.idling("carol"))
        # held again, told what was synced last: mail that came in meanwhile is a change at once
        listener.add("carol", server(stack), CAROL, inbox_mark=(mark[0], mark[1] - 1))
        assert next_event(events) == ("change", "carol")
        assert wait_for(lambda: listener.idling("carol"))
        listener.remove("carol")
        listener.add("carol", server(stack), CAROL, inbox_mark=inbox_mark(stack))  # nothing new: no change
        assert wait_for(lambda: listener.idling("carol"))
        time.sleep(0.6)
        assert events.empty()
        listener.remove("carol")
        assert wait_for(lambda: not listener.idling("carol"))
        append(stack, "Fourth")
        time.sleep(1.5)
        assert events.empty() and listener.keys() == set()  # removed: no longer told


def test_a_refused_password_is_said_with_its_diagnosis_and_not_tried_again(stack, events):
    with Listener(lambda key: events.put(("change", key)), lambda key, diag: events.put(("refused", key, diag))) as lis:
        lis.add("carol", server(stack, password="not-the-password"), CAROL)
        kind, key, diagnosis = next_event(events)
        assert (kind, key, diagnosis.kind, diagnosis.state) == ("refused", "carol", "password", AUTH_LOST)
        cause, fix = diagnosis.render()
        assert CAROL in cause + fix
        time.sleep(1)
        assert lis.counters["refused"] == 1 and not lis.idling("carol")  # no storm of refused sign-ins
        lis.add("carol", server(stack, password="not-the-password"), CAROL)  # the same: not tried again
        time.sleep(1)
        assert lis.counters["refused"] == 1 and events.empty()
        lis.add("carol", server(stack), CAROL)  # the password given again: held again
        assert wait_for(lambda: lis.idling("carol"))


def test_a_dropped_connection_comes_back_and_says_what_came_meanwhile(stack, events):
    with Proxy(stack["imap_port"]) as proxy, Listener(lambda key: events.put(("change", key)), backoff=0.5) as lis:
        lis.add("carol", server(stack, port=proxy.port), CAROL)
        assert wait_for(lambda: lis.idling("carol"))
        proxy.drop_all()
        append(stack, "While away")
        assert next_event(events) == ("change", "carol")  # back, and the mail meanwhile asks a sync
        assert wait_for(lambda: lis.idling("carol") and lis.counters["connects"] == 2)
        assert lis.counters["drops"] == 1 and proxy.connections == 2
        append(stack, "After")
        assert next_event(events) == ("change", "carol")


def test_a_token_signs_in_and_once_revoked_a_dropped_connection_says_the_access_is_lost(stack, switch, events):
    address = "listen-oauth@gmail.test"
    token = _google_token(stack, address)
    with (
        Proxy(stack["imap_port"]) as proxy,
        Listener(
            lambda key: events.put(("change", key)), lambda key, d: events.put(("refused", key, d)), backoff=0.5
        ) as lis,
    ):
        google = Server("127.0.0.1", proxy.port, "none", address, oauth_token=token, label="Google", timeout=10)
        lis.add("oz", google, address)
        assert wait_for(lambda: lis.idling("oz"))  # AUTHENTICATE XOAUTH2 took the token
        # a token refreshed before it expires: the connection is made again with it
        refreshed = dataclasses.replace(google, oauth_token=_google_token(stack, address))
        lis.add("oz", refreshed, address)
        assert wait_for(lambda: lis.idling("oz") and lis.counters["connects"] == 2)
        lis.add("oz", dataclasses.replace(refreshed), address)  # the same again: nothing done
        time.sleep(0.5)
        assert lis.counters["connects"] == 2 and proxy.connections == 2
        switch("revoke", email=address)
        proxy.drop_all()
        event = next_event(events)
        while event and event[0] == "change":  # back after the drop: a change may be said first
            event = next_event(events)
        kind, key, diagnosis = event
        assert (kind, key, diagnosis.kind, diagnosis.state) == ("refused", "oz", "revoked", AUTH_LOST)
        assert "Google" in diagnosis.render()[0]


@pytest.mark.parametrize("password", ['with "quotes" and \\ backslash', "pässwörd, 8-bit: sent as a literal"])
def test_any_password_is_sent_as_the_server_reads_it(stack, events, password):
    with Listener(lambda key: None, lambda key, diag: events.put(diag)) as listener:
        listener.add("carol", server(stack, password=password), CAROL)
        diagnosis = next_event(events)
        assert (diagnosis.kind, diagnosis.state) == ("password", AUTH_LOST)  # refused, not misread (BAD)
