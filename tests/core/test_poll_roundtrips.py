"""The round trips of a poll with nothing new, counted through the stack's proxy (25 ms
each way, as a server across the network): the greeting, LOGIN, the STATUS of every
folder sent together, and LOGOUT, on each IMAP server of the stack. A server without
CONDSTORE also needs its flags read again, and nothing else. And the deep scans of
folders synced together do not fall due together."""

import os
import sys
import time

import pytest

from devstack.tcp_proxy import Proxy
from mailbox_engine.connection_test import Server
from mailbox_engine.providers import SECURITY_NONE
from mailbox_engine.sync.driver import drive
from mailbox_engine.sync.planner import DEEP_SCAN_EVERY, DeepScan, FolderState, FolderStatus, deep_scan_every, plan
from mailbox_engine.sync.run import Batch, Flags, Folder, FolderDone, sync_mailbox

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sync runs' helpers and fixtures
from test_sync_run import BOB, account, message

from devstack.testkit import IMAP_SERVERS, imap_server, imap_server_missing

FLAG_REFRESH = {"EXAMINE", "SELECT", "SEARCH", "FETCH"}  # what a server without CONDSTORE needs each poll


def poll(stack, port, folders, now, **options):
    """One run of BOB's ``folders`` through ``port``; the requests it made and the states."""
    requests = []
    server = Server(host=stack["host"], port=port, security=SECURITY_NONE, login=BOB, password=stack["accounts"][BOB])

    def handle(_key, request):
        requests.append(request)
        if isinstance(request, Batch | Flags | FolderDone):
            states[request.folder_id] = request.state
        return set()

    states = {}
    drive({BOB: sync_mailbox(server, BOB, folders, now, **options)}, handle, workers=1)
    return requests, states


@pytest.fixture(params=IMAP_SERVERS)
def served(stack, request):
    missing = imap_server_missing(stack, request.param)
    if missing:
        pytest.skip(missing)
    return dict(stack, kind=request.param, **imap_server(stack, request.param))


@pytest.fixture
def imap(served):
    yield from account(served, BOB)


@pytest.fixture
def synced(served, imap):
    """Three folders of BOB's, synced once (so that a poll finds nothing new)."""
    paths = [imap.folder((message(f"in {n}"), 1)) for n in range(3)]
    now = time.time()
    folders = [Folder(n, path, FolderState()) for n, path in enumerate(paths)]
    _requests, states = poll(served, served["imap_port"], folders, now)
    return [Folder(n, path, states[n]) for n, path in enumerate(paths)], now


def test_a_poll_with_nothing_new_is_four_round_trips(served, synced):
    folders, now = synced
    with Proxy(served["imap_port"], delay=0.025) as proxy:
        trips = proxy.round_trips()
        requests, states = poll(served, proxy.port, folders, now + 60)
        assert proxy.wait_closed()
    assert not [r for r in requests if isinstance(r, Batch)], "a poll with nothing new stored something"
    assert states == {f.folder_id: f.state for f in folders}, "a poll with nothing new changed a folder's state"
    commands = trips.commands
    assert trips.connections == 1
    assert commands[:3] == [["(connect)"], ["LOGIN"], ["STATUS"] * 3], commands
    assert commands[-1] == ["LOGOUT"], commands
    middle = [name for trip in commands[3:-1] for name in trip]
    if served["kind"] == "plain":  # no CONDSTORE: the flags are read again, nothing more
        assert set(middle) <= FLAG_REFRESH, commands
    else:
        assert trips.total <= 4, commands
        assert not middle, commands


def test_one_command_at_a_time_costs_a_round_trip_each(served, synced):
    """The count is a count: asked one command at a time (the baseline), each STATUS and
    CAPABILITY is a round trip of its own, and LOGOUT is waited for."""
    folders, now = synced
    with Proxy(served["imap_port"], delay=0.025) as proxy:
        trips = proxy.round_trips()
        poll(served, proxy.port, folders, now + 60, pipelined=False)
        assert proxy.wait_closed()
    commands = trips.commands
    assert commands[:3] == [["(connect)"], ["CAPABILITY"], ["LOGIN"]], commands
    assert commands[-1] == ["LOGOUT"], commands
    assert sum(trip == ["STATUS"] for trip in commands) == 3, commands
    if served["kind"] != "plain":
        assert trips.total == 7, commands  # (connect), CAPABILITY, LOGIN, STATUS x3, LOGOUT


def test_deep_scans_of_folders_synced_together_fall_due_at_different_polls():
    """200 folders deep-scanned at the same moment: at each 2-minute poll after, only some
    of them are due again, and every one is due within 10 minutes and a quarter."""
    state = FolderState(uidvalidity=1, uidnext=10, highestmodseq=5, last_deep_scan=0.0)
    status = FolderStatus(1, 10, 5)
    due_at = {}
    for folder_id in range(1, 201):
        assert 0.75 * DEEP_SCAN_EVERY <= deep_scan_every(folder_id) <= 1.25 * DEEP_SCAN_EVERY
        for poll_at in range(120, 1200, 120):
            actions = plan(state, status, poll_at, True, deep_scan_every=deep_scan_every(folder_id))
            if any(isinstance(action, DeepScan) for action in actions):
                due_at[folder_id] = poll_at
                break
    assert len(due_at) == 200, "a folder's deep scan never fell due"
    polls = {poll_at: sum(1 for at in due_at.values() if at == poll_at) for poll_at in set(due_at.values())}
    assert len(polls) >= 3, polls
    assert max(polls.values()) <= 120, polls
