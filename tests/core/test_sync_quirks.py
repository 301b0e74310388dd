"""Whole sync runs against servers that behave otherwise than Dovecot (the stack's Dovecot
behind its proxy, made to behave as other real servers did): header field names quoted
in FETCH answers, ``* SEARCH (MODSEQ 1)`` for an empty result, an answer no client
expects in one folder, a UIDVALIDITY that holds only once the folder was opened
read-write. Each test asserts what the user gets: no body fetched twice, every message
once, the other folders synced, nothing stopped for good."""

import os
import sys
from datetime import UTC, datetime, timedelta

import pytest

from devstack.imap_quirks import (
    Commands,
    EmptyModseqSearch,
    QuotedFields,
    Trouble,
    VolatileUidvalidity,
    quirky,
)
from devstack.tcp_proxy import Proxy
from devstack.testkit import server_message_ids
from mailbox_engine.answers import item, parse_search
from mailbox_engine.sync.run import VOLATILE, Batch, FolderGone, FolderTrouble, Remapped

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sync runs' store and helpers
from test_sync_run import BOB, Store, account, message

BODIES = b"BODY.PEEK[]"


@pytest.fixture
def imap(stack):
    session = account(stack, BOB)
    client = next(session)
    yield client
    client.select_folder("INBOX", readonly=True)  # deleting the selected folder would end the session
    next(session, None)


@pytest.fixture
def proxy(stack):
    """The stack's Dovecot behind a proxy, and the stack as the sync sees it through it."""
    with Proxy(stack["imap_port"]) as running:
        running.stack = {**stack, "imap_port": running.port}
        yield running


def fetched_bodies(store):
    return sum(len(r.items) for r in store.requests if isinstance(r, Batch))


def of_type(store, kind):
    return [r for r in store.requests if isinstance(r, kind)]


def test_answers_are_read_by_meaning_and_every_search_form_is_understood():
    quoted = {b'BODY[HEADER.FIELDS ("Message-ID")]': b"Message-ID: <a@b>\r\n\r\n", b"rfc822.size": 12}
    assert item(quoted, "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]") == b"Message-ID: <a@b>\r\n\r\n"
    assert item(quoted, "RFC822.SIZE") == 12 and item(quoted, "FLAGS", ()) == ()
    assert parse_search([b"(MODSEQ 1)"]) == ([], 1)
    assert parse_search([b"1 2 (MODSEQ 5)", b"7"]) == ([1, 2, 7], 5)
    assert parse_search([None]) == ([], None)
    assert parse_search([], [b'(TAG "A1") UID ALL 1:3,7 MODSEQ 9']) == ([1, 2, 3, 7], 9)
    with pytest.raises(ValueError, match="unexpected SEARCH answer"):
        parse_search([b"1 NIL"])


def test_quoted_field_names_a_move_an_enable_and_a_renumbering_fetch_no_body_again(stack, imap, proxy):
    commands = Commands()
    quirky(proxy, QuotedFields(), commands)
    raws = [message(f"m{n}", n) for n in range(5)]
    inbox = imap.folder(*[(raw, n) for n, raw in enumerate(raws)])
    archive = imap.folder()
    store = Store()
    assert store.run(proxy.stack, BOB, [inbox, archive])
    assert fetched_bodies(store) == 5 and commands.count(b"FETCH", BODIES) == 1
    imap.select_folder(inbox)
    imap.move(sorted(imap.search(["ALL"]))[:2], archive)  # a move: gone from one, new in the other
    before = commands.count(b"FETCH", BODIES)
    assert store.run(proxy.stack, BOB, [inbox, archive], now=3600.0)
    assert commands.count(b"FETCH", BODIES) == before and fetched_bodies(store) == 0
    assert store.keys_in(0) == server_message_ids(imap, inbox) and len(store.keys_in(0)) == 3
    assert store.keys_in(1) == server_message_ids(imap, archive) and len(store.keys_in(1)) == 2
    # the Archive's sync turned off then on again: its places forgotten, found again by Message-ID
    store.states.pop(1)
    for place in [p for p in store.places if p[0] == 1]:
        del store.places[place]
    store.commit()
    assert store.run(proxy.stack, BOB, [inbox, archive], now=7200.0)
    assert fetched_bodies(store) == 0 and len(store.keys_in(1)) == 2
    # the Inbox renumbered (re-created with the same messages)
    imap.select_folder(archive, readonly=True)
    imap.delete_folder(inbox)
    imap.create_folder(inbox)
    for n, raw in enumerate(raws[:3]):
        imap.append(inbox, raw, msg_time=datetime.now(UTC) - timedelta(days=n))
    assert store.run(proxy.stack, BOB, [inbox, archive], now=10800.0)
    assert of_type(store, Remapped) and fetched_bodies(store) == 0
    assert commands.count(b"FETCH", BODIES) == before
    assert store.keys_in(0) == server_message_ids(imap, inbox) and len(store.messages) == 5


def test_an_empty_modseq_search_is_understood_and_every_folder_syncs(stack, imap, proxy):
    empty = EmptyModseqSearch()
    quirky(proxy, empty)
    first = imap.folder(*[(message(f"a{n}"), 0) for n in range(3)])
    second = imap.folder((message("b0"), 0))
    store = Store()
    assert store.run(proxy.stack, BOB, [first, second])
    imap.select_folder(first)
    imap.delete_messages(sorted(imap.search(["ALL"]))[0])  # the folder's only change: a deletion
    imap.expunge()
    imap.append(second, message("b1"))
    assert store.run(proxy.stack, BOB, [first, second], now=3600.0)
    assert empty.times >= 1  # the server did answer "* SEARCH (MODSEQ 1)"
    assert not of_type(store, FolderTrouble) and not of_type(store, FolderGone)
    assert store.keys_in(0) == server_message_ids(imap, first) and len(store.keys_in(0)) == 2
    assert store.keys_in(1) == server_message_ids(imap, second) and len(store.keys_in(1)) == 2


@pytest.mark.parametrize("how", ["no", "garbage"])
def test_one_folders_unexpected_answer_ends_that_folder_only_and_keeps_its_batches(stack, imap, proxy, how):
    odd = imap.folder((message("o0"), 0))
    others = [imap.folder((message("x0"), 0)), imap.folder((message("y0"), 0))]
    store = Store()
    assert store.run(proxy.stack, BOB, [odd, *others])
    trouble = Trouble(odd, command=b"SEARCH", when=rb"^ALL", how=how)  # the deep scan's UID list
    quirky(proxy, trouble)
    for path in (odd, *others):
        imap.append(path, message("new"))
    assert store.run(proxy.stack, BOB, [odd, *others], now=3600.0)  # the run itself does not fail
    assert trouble.times == 1
    (said,) = of_type(store, FolderTrouble)
    assert said.folder_id == 0 and "did not expect" in said.reason
    assert len(store.keys_in(0)) == 2  # the new message fetched before the odd answer stays, checkpoint too
    assert store.states[0].uidnext > 2
    for folder_id, path in enumerate(others, start=1):
        assert store.keys_in(folder_id) == server_message_ids(imap, path) and len(store.keys_in(folder_id)) == 2
    proxy.clear()
    assert store.run(proxy.stack, BOB, [odd, *others], now=7200.0)  # the next run: all well again
    assert not of_type(store, FolderTrouble) and store.keys_in(0) == server_message_ids(imap, odd)


def test_a_uidvalidity_that_holds_once_opened_read_write_is_no_renumbering(stack, imap, proxy):
    path = imap.folder(*[(message(f"m{n}"), 0) for n in range(3)])
    volatile, commands = VolatileUidvalidity({path}), Commands()
    quirky(proxy, volatile, commands)
    real = imap.folder_status(path, ["UIDVALIDITY"])[b"UIDVALIDITY"]  # what the server keeps
    store = Store()
    assert store.run(proxy.stack, BOB, [path])
    assert volatile.looks >= 2 and store.states[0].uidvalidity == real  # a value that holds is stored
    bodies = commands.count(b"FETCH", BODIES)
    for turn in range(1, 7):  # more runs than the renumberings that would stop the folder
        volatile.forget(path)  # the server lost its UID list again
        looks = volatile.looks
        if turn == 3:
            imap.append(path, message("late"))
        assert store.run(proxy.stack, BOB, [path], now=3600.0 * turn)
        assert volatile.looks > looks  # the server did answer with a made-up UIDVALIDITY
        assert not of_type(store, Remapped) and not of_type(store, FolderGone) and not of_type(store, FolderTrouble)
        assert store.states[0].resets_in_row == 0 and store.states[0].uidvalidity == real
    assert commands.count(b"FETCH", BODIES) == bodies + 1  # the late message only
    assert store.keys_in(0) == server_message_ids(imap, path) and len(store.messages) == 4
    assert not [line for line in commands.lines if line[0] in (b"CLOSE", b"EXPUNGE", b"STORE")]


def test_a_real_renumbering_is_still_seen_behind_a_volatile_uidvalidity(stack, imap, proxy):
    raws = [message(f"m{n}") for n in range(3)]
    path = imap.folder(*[(raw, 0) for raw in raws])
    volatile = VolatileUidvalidity({path})
    quirky(proxy, volatile)
    store = Store()
    assert store.run(proxy.stack, BOB, [path])
    imap.delete_folder(path)  # re-created: a new UIDVALIDITY, the same messages, a new UID list to write
    imap.create_folder(path)
    for raw in raws:
        imap.append(path, raw)
    volatile.forget(path)
    assert store.run(proxy.stack, BOB, [path], now=3600.0)
    assert len(of_type(store, Remapped)) == 1 and fetched_bodies(store) == 0
    assert store.states[0].uidvalidity == imap.folder_status(path, ["UIDVALIDITY"])[b"UIDVALIDITY"]
    volatile.forget(path)
    assert store.run(proxy.stack, BOB, [path], now=7200.0)
    assert not of_type(store, Remapped) and store.states[0].resets_in_row == 0
    assert store.keys_in(0) == server_message_ids(imap, path) and len(store.messages) == 3


def test_a_uidvalidity_that_never_holds_is_said_on_the_folder_and_stops_nothing(stack, imap, proxy):
    odd = imap.folder((message("o"), 0))
    fine = imap.folder((message("f"), 0))
    quirky(proxy, VolatileUidvalidity({odd}, steady=False))
    store = Store()
    for turn in range(6):
        assert store.run(proxy.stack, BOB, [odd, fine], now=3600.0 * turn)
        (said,) = of_type(store, FolderTrouble)
        assert said.folder_id == 0 and said.reason == VOLATILE
        assert not of_type(store, FolderGone) and not of_type(store, Remapped)
        assert store.keys_in(1) == server_message_ids(imap, fine)
    assert not store.keys_in(0) and store.states.get(0) is None  # nothing kept that the next look would undo
