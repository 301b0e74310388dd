"""The listener's Sent folder, connection budget and token renewal, against the real
Dovecot (which offers NOTIFY) and the plainer one (which does not):

* a message appended to Sent is a change: through NOTIFY on the Inbox's one connection
  where the server offers it, else through a second connection in IDLE on Sent;
* mailboxes signing in as one account share its budget of connections: an Inbox comes
  before a Sent folder, an Inbox past the budget is not held;
* a token about to expire is asked for again before it does, and the connection is made
  again with the new one: the new connection signs in while the old one still watches
  (a message appended meanwhile is seen), the old one is closed after.
"""

import dataclasses
import queue
import secrets
import threading
import time

import pytest
from imapclient import IMAPClient
from test_connection_check import _google_token

from devstack.tcp_proxy import Proxy
from mailbox_engine.connection_test import Server
from mailbox_engine.listener import Listener, account_budget

CAROL = "carol@mail.test"
DEADLINE = 30  # seconds a test waits for what it expects (never asserted as a duration)


def server(stack, port, login=CAROL):
    return Server("127.0.0.1", port, "none", login, stack["accounts"][login.lower()], timeout=10)


def append(port, folder, subject, *, login=CAROL, password=None, stack=None):
    with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10) as client:
        if password is None:
            client.login(login, stack["accounts"][login])
        else:
            client.oauth2_login(login, password)
        message_id = f"<{secrets.token_hex(6)}@customer.test>"
        client.append(folder, f"From: {login}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n\r\nhi\r\n")


def mark(stack, port, folder):
    with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10) as client:
        client.login(CAROL, stack["accounts"][CAROL])
        status = client.folder_status(folder, ["UIDVALIDITY", "UIDNEXT"])
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


def test_sent_is_watched_through_notify_on_the_inbox_connection(stack, events):
    port = stack["imap_port"]
    with Proxy(port) as proxy, Listener(events.put, debounce=0.2) as listener:
        listener.add("carol", server(stack, proxy.port), CAROL, sent="Sent", sent_mark=mark(stack, port, "Sent"))
        assert wait_for(lambda: listener.watching("carol") == {"INBOX": "IDLE", "Sent": "NOTIFY"})
        assert proxy.open_connections() == 1 and events.empty()  # one connection, nothing new
        append(port, "Sent", "Sent from the phone", stack=stack)
        assert next_event(events) == "carol"
        append(port, "INBOX", "A reply", stack=stack)
        assert next_event(events) == "carol"  # the Inbox still said on the same connection
        assert proxy.connections == 1
        # Sent changed while nobody listened: said once held again
        before = mark(stack, port, "Sent")
        listener.remove("carol")
        append(port, "Sent", "While away", stack=stack)
        listener.add("carol", server(stack, proxy.port), CAROL, sent="Sent", sent_mark=before)
        assert next_event(events) == "carol"
        assert wait_for(lambda: listener.watching("carol").get("Sent") == "NOTIFY")


@pytest.mark.parametrize("where", ["plain", "notify_off"])
def test_without_notify_a_second_connection_waits_in_idle_on_sent(stack, events, where):
    port = stack["plain"]["imap_port"] if where == "plain" else stack["imap_port"]
    with (
        Proxy(port) as proxy,
        Listener(events.put, debounce=0.2, notify=where != "notify_off") as listener,
    ):
        listener.add("carol", server(stack, proxy.port), CAROL, sent="Sent")
        assert wait_for(lambda: listener.watching("carol") == {"INBOX": "IDLE", "Sent": "IDLE"})
        assert proxy.open_connections() == 2 and events.empty()
        append(port, "Sent", "Sent from the phone", stack=stack)
        assert next_event(events) == "carol"
        append(port, "INBOX", "A reply", stack=stack)
        assert next_event(events) == "carol"
        listener.remove("carol")  # both connections closed
        assert wait_for(lambda: proxy.open_connections() == 0)


def test_mailboxes_of_one_account_share_its_budget(stack, events):
    assert account_budget("google") < 15 and account_budget("microsoft") < 20 and account_budget("imap") < 10
    port = stack["imap_port"]
    with Proxy(port) as proxy, Listener(events.put, debounce=0.2, notify=False) as listener:
        assert listener.add("a", server(stack, proxy.port), CAROL, sent="Sent", budget=3)
        assert wait_for(lambda: listener.watching("a") == {"INBOX": "IDLE", "Sent": "IDLE"})
        # the same login in another case, on the same server: the same account
        assert listener.add("b", server(stack, proxy.port, login="Carol@Mail.test"), CAROL, sent="Sent", budget=3)
        assert wait_for(lambda: listener.watching("b") == {"INBOX": "IDLE"})
        time.sleep(0.5)
        assert proxy.open_connections() == 3  # b's Sent did not fit: polled, not an error
        assert listener.watching("b") == {"INBOX": "IDLE"}
        # a third Inbox takes the place of a Sent folder; a fourth is not held at all
        assert listener.add("c", server(stack, proxy.port), CAROL, budget=3)
        assert wait_for(lambda: listener.idling("c") and listener.watching("a") == {"INBOX": "IDLE"})
        assert not listener.add("d", server(stack, proxy.port), CAROL, budget=3)
        time.sleep(0.5)
        assert proxy.open_connections() == 3 and listener.keys() == {"a", "b", "c"}
        # another account is not counted with it
        alice = Server("127.0.0.1", proxy.port, "none", "alice@mail.test", stack["accounts"]["alice@mail.test"])
        assert listener.add("e", alice, "alice@mail.test", budget=3)
        assert wait_for(lambda: listener.idling("e") and proxy.open_connections() == 4)
        append(port, "INBOX", "For everyone", stack=stack)
        seen = {next_event(events) for _n in range(3)}
        assert seen == {"a", "b", "c"}
        # one leaves: the next one asking gets its place
        listener.remove("c")
        assert listener.add("d", server(stack, proxy.port), CAROL, budget=3)
        assert wait_for(lambda: listener.idling("d"))
        assert proxy.open_connections() == 4


def test_a_token_about_to_expire_is_renewed_and_the_connection_handed_over(stack, switch, events):
    address = "listen-renew@gmail.test"
    port = stack["imap_port"]
    switch("lifetime", seconds=8)
    token = _google_token(stack, address)
    expires = time.time() + 8
    due = queue.Queue()
    handover = {}

    def watch(line, conn):  # the new connection signs in: mail comes while the old one watches
        if b"AUTHENTICATE" in line.upper() and conn["number"] == 2:
            handover["open"] = proxy.open_connections()
            append(port, "INBOX", "During the handover", login=address, password=handover["token"])

    with (
        Proxy(port) as proxy,
        Listener(
            lambda key: events.put(("change", key)),
            lambda key, diagnosis: events.put(("refused", key)),
            lambda key: due.put((key, time.time())),
            debounce=0.2,
            backoff=0.5,
            token_margin=5,
        ) as listener,
    ):
        google = Server("127.0.0.1", proxy.port, "none", address, oauth_token=token, label="Google", timeout=10)
        listener.add("oz", google, address, token_expires=expires)
        assert wait_for(lambda: listener.idling("oz"))
        key, when = next_event(due)
        assert key == "oz" and when < expires  # asked before the token expired
        assert events.empty()
        proxy.watch(watch)
        switch("lifetime", seconds=3599)
        fresh = handover["token"] = _google_token(stack, address)
        listener.add("oz", dataclasses.replace(google, oauth_token=fresh), address, token_expires=time.time() + 3599)
        assert next_event(events) == ("change", "oz")  # the message of the handover, seen by the old connection
        assert handover["open"] == 2  # the old connection still open while the new one signed in
        assert wait_for(lambda: listener.idling("oz") and proxy.open_connections() == 1)
        assert listener.counters["handovers"] == 1 and proxy.connections == 2
        proxy.clear()
        # the first token expired: a connection made again signs in with the new one
        wait_for(lambda: time.time() > expires + 1)
        proxy.drop_all()
        assert next_event(events) == ("change", "oz")  # back after the drop
        assert wait_for(lambda: listener.idling("oz") and proxy.connections == 3)
        append(port, "INBOX", "After", login=address, password=fresh)
        assert next_event(events) == ("change", "oz")
        assert listener.counters["refused"] == 0 and events.empty() and due.empty()


def test_a_token_that_lives_less_than_the_margin_is_asked_for_before_it_expires(stack):
    port = stack["imap_port"]
    asked = threading.Event()
    with Listener(lambda key: None, None, lambda key: asked.set(), token_margin=600) as listener:
        expires = time.time() + 4
        listener.add("carol", server(stack, port), CAROL, token_expires=expires)
        assert asked.wait(DEADLINE) and time.time() < expires  # at half the time left
        assert wait_for(lambda: listener.idling("carol"))  # no answer yet: the connection goes on
