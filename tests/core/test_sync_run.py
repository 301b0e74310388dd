"""Whole sync runs against each real IMAP server of the stack (Dovecot, Cyrus IMAP and
a plainer Dovecot), stored in a small in-memory store that
keeps what the addon keeps (messages by Message-ID, places by folder and UID) and, like
a database, only what was committed: backfill in the window, budgets and resuming,
a run killed mid-batch, flags, moves and deletions, a renumbered folder, a folder gone,
and two mailboxes on the network at once."""

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from imapclient import IMAPClient

from devstack.testkit import IMAP_SERVERS, imap_server, imap_server_missing, server_message_ids
from mailbox_engine.connection_test import Server
from mailbox_engine.imap import list_folders
from mailbox_engine.providers import SECURITY_NONE
from mailbox_engine.sync.driver import drive
from mailbox_engine.sync.parse import parse
from mailbox_engine.sync.planner import FolderState
from mailbox_engine.sync.run import (
    Batch,
    Flags,
    Folder,
    FolderDone,
    FolderGone,
    Lookup,
    Present,
    Remapped,
    SyncFailedError,
    _header_key,
    sync_mailbox,
)

BOB = "bob@mail.test"
CAROL = "carol@mail.test"


class KilledError(Exception):
    """The worker died: nothing since the last commit is kept."""


class Store:
    """What Odoo keeps, committed or not: messages by key, places by (folder, uid)."""

    def __init__(self):
        self.messages, self.places, self.states = {}, {}, {}
        self.requests = []
        self.kill_after_batches = None
        self.commit()

    def commit(self):
        self.saved = (dict(self.messages), dict(self.places), dict(self.states))

    def rollback(self):
        self.messages, self.places, self.states = (dict(part) for part in self.saved)

    def handle(self, _key, request):
        self.requests.append(request)
        if isinstance(request, Lookup):
            return {key for key in request.keys if key in self.messages}
        if isinstance(request, Batch):
            for item in request.items:
                self.messages.setdefault(item.key, item)
                self.places[(request.folder_id, item.uid)] = [item.key, item.flags]
            for uid, flags, key in request.known:
                self.places[(request.folder_id, uid)] = [key, flags]
            self.states[request.folder_id] = request.state
            batches = sum(isinstance(r, Batch) for r in self.requests)
            if self.kill_after_batches and batches >= self.kill_after_batches:
                self.kill_after_batches = None
                raise KilledError
        elif isinstance(request, Flags):
            for uid, flags in request.flags.items():
                if (request.folder_id, uid) in self.places:
                    self.places[(request.folder_id, uid)][1] = flags
            self.states[request.folder_id] = request.state
        elif isinstance(request, Present):
            for folder_id, uid in list(self.places):
                if folder_id == request.folder_id and uid < request.below and uid not in request.uids:
                    del self.places[(folder_id, uid)]
            self.states[request.folder_id] = request.state
        elif isinstance(request, Remapped):
            for place in [p for p in self.places if p[0] == request.folder_id]:
                del self.places[place]
            self.states[request.folder_id] = request.state
        elif isinstance(request, FolderDone):
            self.states[request.folder_id] = request.state
        return None

    def run(self, stack, address, paths, now=None, **options):
        """One run of ``address`` over ``paths`` (folder ids are their positions), committed
        at the end unless it was killed (then rolled back, as a transaction is)."""
        self.requests = []
        folders = [Folder(n, path, self.states.get(n, FolderState())) for n, path in enumerate(paths)]
        runs = {address: sync_mailbox(server(stack, address), address, folders, now or 0.0, **options)}
        try:
            drive(runs, self.handle, workers=1)
        except KilledError:
            self.rollback()
            return False
        self.commit()
        return True

    def keys_in(self, folder_id):
        return sorted(key for (fid, _uid), (key, _flags) in self.places.items() if fid == folder_id)


def server(stack, address, password=None):
    return Server(
        host=stack["host"],
        port=stack["imap_port"],
        security=SECURITY_NONE,
        login=address,
        password=password or stack["accounts"][address],
    )


def message(subject, days_ago=0, size=0, message_id=True):
    when = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    header = f"Message-ID: <{secrets.token_hex(6)}@customer.test>\r\n" if message_id else ""
    return (
        f"From: Lead <lead@customer.test>\r\nTo: {BOB}\r\nSubject: {subject}\r\nDate: {when}\r\n{header}\r\n"
        f"Hello{'x' * size}\r\n"
    ).encode()


@pytest.fixture(params=IMAP_SERVERS)
def served(stack, request):
    """The stack as seen through one of its IMAP servers (``host`` and ``imap_port`` are
    that server's): the tests that take it, or ``imap``, run against each."""
    missing = imap_server_missing(stack, request.param)
    if missing:
        pytest.skip(missing)
    return dict(stack, kind=request.param, **imap_server(stack, request.param))


def account(stack, address):
    """A session on ``address``'s account whose ``folder(*messages)`` makes a folder of
    its own (removed afterwards)."""
    client = IMAPClient(stack["host"], port=stack["imap_port"], ssl=False, timeout=10)
    client.login(address, stack["accounts"][address])
    made = []

    def folder(*messages):
        path = "Run-" + secrets.token_hex(3)
        client.create_folder(path)
        made.append(path)
        for raw, days in messages:
            client.append(path, raw, msg_time=datetime.now(UTC) - timedelta(days=days))
        return path

    client.folder = folder
    yield client
    for path in made:
        if client.folder_exists(path):
            client.delete_folder(path)
    client.logout()


@pytest.fixture
def imap(served):
    yield from account(served, BOB)


@pytest.fixture
def carol(served):
    yield from account(served, CAROL)


def move(client, uid, path):
    """Move message ``uid`` of the selected folder to ``path``, as a client does on a
    server with or without MOVE."""
    if b"MOVE" in client.capabilities():
        client.move(uid, path)
    else:
        client.copy(uid, path)
        client.delete_messages(uid)
        client.expunge(uid)


def runs_of(stack, paths):
    """One run per address, each over its own folder (``{address: path}``)."""
    return {
        address: sync_mailbox(server(stack, address), address, [Folder(0, path, FolderState())], 0.0)
        for address, path in paths.items()
    }


def test_backfill_keeps_the_window_and_a_second_run_does_nothing(served, imap):
    path = imap.folder(
        (message("new"), 1),
        (message("month", 30), 30),
        (message("old", 90), 90),
        (message("no id", 2, message_id=False), 2),
        (message("big", 0, size=40_000), 0),
    )
    store = Store()
    assert store.run(served, BOB, [path], size_cap=20_000)
    stored = store.messages.values()
    assert sorted(item.parsed.subject for item in stored if not item.headers_only) == ["month", "new", "no id"]
    (big,) = [item for item in stored if item.headers_only]
    assert big.size > 40_000 and "size limit" in big.reason
    assert big.parsed.subject == "big" and big.parsed.date and not big.parsed.text  # its header, not its body
    assert all(item.key for item in stored)  # the message without Message-ID got a stable one
    assert store.states[0].backfill_below == 0 and store.states[0].uidnext
    # nothing changed: the run only asks STATUS and says the folder is done (without
    # CONDSTORE it reads the flags again, and still fetches nothing)
    assert store.run(served, BOB, [path], now=60.0, size_cap=20_000)
    if b"CONDSTORE" in imap.capabilities():
        assert [type(r) for r in store.requests] == [FolderDone]
    else:
        assert [type(r) for r in store.requests] == [Flags, FolderDone]


def test_a_budget_spreads_the_backfill_over_runs_newest_first(served, imap):
    path = imap.folder(*[(message(f"m{n}", n), n) for n in range(7)])
    store = Store()
    runs = 0
    while True:
        runs += 1
        assert store.run(served, BOB, [path], budget=2)
        if not store.requests[-1].more:
            break
    assert runs == 4  # 2 + 2 + 2 + 1
    assert store.keys_in(0) == server_message_ids(imap, path) and len(store.messages) == 7


def test_a_run_killed_mid_batch_then_run_again_leaves_each_message_once(served, imap):
    path = imap.folder(*[(message(f"m{n}", n % 50), n % 50) for n in range(450)])  # three batches of 200
    store = Store()
    store.kill_after_batches = 2
    assert not store.run(served, BOB, [path], budget=10_000)  # killed: the whole run rolled back
    assert store.messages == {}
    store.kill_after_batches = None
    assert store.run(served, BOB, [path], budget=250)  # stopped by its budget (200, then 50)
    assert len(store.messages) == 250 and store.requests[-1].more
    assert store.run(served, BOB, [path])
    assert store.keys_in(0) == server_message_ids(imap, path) and len(store.messages) == 450


def test_flags_moves_and_deletions_reach_the_store(served, imap):
    inbox = imap.folder(*[(message(f"m{n}"), 0) for n in range(4)])
    archive = imap.folder()
    store = Store()
    assert store.run(served, BOB, [inbox, archive])
    imap.select_folder(inbox)
    uids = sorted(imap.search(["ALL"]))
    imap.add_flags(uids[0], [b"\\Seen"])
    move(imap, uids[1], archive)  # a move: gone from one, new in the other
    imap.delete_messages(uids[2])
    imap.expunge()
    assert store.run(served, BOB, [inbox, archive], now=3600.0)  # the deep scan is due
    assert store.keys_in(0) == server_message_ids(imap, inbox) and len(store.keys_in(0)) == 2
    assert store.keys_in(1) == server_message_ids(imap, archive) and len(store.keys_in(1)) == 1
    assert store.places[(0, uids[0])][1] == ("\\Seen",)
    assert not any(isinstance(r, Batch) and r.items for r in store.requests)  # the moved one: not fetched again


def test_a_deletion_alone_reaches_the_store(served, imap):
    # On Cyrus (a CONDSTORE server) the only change is the deletion: the search of the
    # flags changed since the last run matches nothing and Cyrus answers it with
    # "* SEARCH (MODSEQ n)", an answer imapclient 4.1 alone cannot read.
    path = imap.folder(*[(message(f"m{n}"), 0) for n in range(3)])
    store = Store()
    assert store.run(served, BOB, [path])
    imap.select_folder(path)
    uids = sorted(imap.search(["ALL"]))
    imap.delete_messages(uids[0])
    imap.expunge()
    assert store.run(served, BOB, [path], now=3600.0)  # the deep scan is due
    assert store.keys_in(0) == server_message_ids(imap, path) and len(store.keys_in(0)) == 2


def test_a_renumbered_folder_is_matched_again_without_duplicates(served, imap):
    raws = [message(f"m{n}", n) for n in range(5)]
    path = imap.folder(*[(raw, n) for n, raw in enumerate(raws)])
    store = Store()
    assert store.run(served, BOB, [path])
    before = store.keys_in(0)
    imap.delete_folder(path)  # recreated: a new UIDVALIDITY, the same messages
    imap.create_folder(path)
    for n, raw in enumerate(raws):
        imap.append(path, raw, msg_time=datetime.now(UTC) - timedelta(days=n))
    assert store.run(served, BOB, [path])
    assert any(isinstance(r, Remapped) for r in store.requests)
    assert store.keys_in(0) == before and len(store.messages) == 5
    fetched_again = sum(len(r.items) for r in store.requests if isinstance(r, Batch))
    assert fetched_again == 0  # matched by Message-ID, no body fetched twice


def test_five_renumberings_in_a_row_stop_the_folder_with_the_reason(served, imap):
    path = imap.folder((message("m"), 0))
    store = Store()
    assert store.run(served, BOB, [path])
    store.states[0] = replace(store.states[0], uidvalidity=1, resets_in_row=4)
    store.commit()
    assert store.run(served, BOB, [path])
    (gone,) = [r for r in store.requests if isinstance(r, FolderGone)]
    assert "renumbered this folder 5 times" in gone.reason


def test_a_folder_deleted_on_the_server_is_said_and_the_others_go_on(served, imap):
    gone = imap.folder((message("a"), 0))
    kept = imap.folder((message("b"), 0))
    imap.delete_folder(gone)
    store = Store()
    assert store.run(served, BOB, [gone, kept])
    (request,) = [r for r in store.requests if isinstance(r, FolderGone)]
    assert request.folder_id == 0 and "refused to open it" in request.reason
    assert len(store.keys_in(1)) == 1


def test_a_refused_password_is_a_diagnosis_not_a_crash(served):
    runs = {BOB: sync_mailbox(server(served, BOB, password="wrong"), BOB, [], 0.0)}
    failures = {}
    drive(runs, lambda *_: None, workers=1, failed=failures.__setitem__)
    assert isinstance(failures[BOB], SyncFailedError)
    assert failures[BOB].diagnosis.kind == "password"


def test_two_mailboxes_sync_at_once_each_into_its_own_store(served, imap, carol):
    paths = {
        BOB: imap.folder(*[(message(f"b{n}"), 0) for n in range(30)]),
        CAROL: carol.folder(*[(message(f"c{n}"), 0) for n in range(20)]),
    }
    stores = {BOB: Store(), CAROL: Store()}
    drive(runs_of(served, paths), lambda address, request: stores[address].handle(address, request), workers=2)
    assert len(stores[BOB].messages) == 30 and len(stores[CAROL].messages) == 20


def test_gmail_syncs_all_mail_too_and_roles_come_from_flags_not_names():
    class Listed:  # what Gmail answers to LIST, localized names included
        def list_folders(self):
            return [
                ((b"\\HasNoChildren",), b"/", "INBOX"),
                ((b"\\HasChildren", b"\\Noselect"), b"/", "[Gmail]"),
                ((b"\\All", b"\\HasNoChildren"), b"/", "[Gmail]/Alle Nachrichten"),
                ((b"\\Sent", b"\\HasNoChildren"), b"/", "[Gmail]/Gesendet"),
                ((b"\\Trash", b"\\HasNoChildren"), b"/", "[Gmail]/Papierkorb"),
                ((b"\\HasNoChildren",), b"/", "Kunden"),
            ]

    gmail = {f["path"]: f for f in list_folders(Listed(), gmail=True)}
    assert {p for p, f in gmail.items() if f["selected_by_default"]} == {
        "INBOX",
        "[Gmail]/Alle Nachrichten",
        "[Gmail]/Gesendet",
    }
    assert gmail["[Gmail]/Gesendet"]["special_use"] == "\\Sent" and "[Gmail]" not in gmail
    other = {f["path"]: f for f in list_folders(Listed())}
    assert {p for p, f in other.items() if f["selected_by_default"]} == {"INBOX", "[Gmail]/Gesendet"}


def test_what_no_parser_expected_is_read_never_raises_and_carries_no_nul():
    nul = b"From: a@b.test\r\nSubject: =?utf-8?q?zero=00byte?=\r\nMessage-ID: <n@b.test>\r\n\r\nbody\x00end\r\n"
    far_date = b"From: a@b.test\r\nDate: Fri, 31 Dec 9999 23:59:59 -1200\r\nMessage-ID: <d@b.test>\r\n\r\nx\r\n"
    bad_charset = b'Content-Type: text/plain; charset="ut\x00f-8"\r\nMessage-ID: <c@b.test>\r\n\r\nx\r\n'
    for raw in (nul, far_date, bad_charset):
        parsed = parse(raw)
        values = [parsed.message_id, parsed.subject, parsed.sender, parsed.text, parsed.html, *parsed.to]
        assert parsed.message_id and not any("\x00" in value for value in values if value)
    assert parse(nul).subject == "zerobyte" and parse(nul).text.startswith("bodyend")
    assert "Date header" in " ".join(parse(far_date).problems)
    assert _header_key(b"Message-ID: <caf\xe9@b.test>\r\n\r\n").startswith("<caf")  # 8-bit, as received


def test_a_store_that_fails_on_one_mailbox_stops_that_run_only(served, imap, carol):
    paths = {BOB: imap.folder(*[(message(f"b{n}"), 0) for n in range(3)]), CAROL: carol.folder((message("c"), 0))}
    stores = {BOB: Store(), CAROL: Store()}

    def handle(address, request):
        if address == BOB and isinstance(request, Batch):
            raise ValueError("the database refused it")
        return stores[address].handle(address, request)

    failures = {}
    drive(runs_of(served, paths), handle, workers=2, failed=failures.__setitem__)
    assert list(failures) == [BOB] and isinstance(failures[BOB], ValueError)
    assert len(stores[CAROL].messages) == 1 and not stores[BOB].messages
