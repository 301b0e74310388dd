"""The IMAP side of sync against the real Dovecot (messages appended to a folder of the
test account), and the parser on messages as they come in the wild: no Message-ID, a
lying charset, an 8-bit header, an attachment."""

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from imapclient import IMAPClient

from mailbox_engine.sync.parse import parse, stable_message_id
from mailbox_engine.sync.planner import FolderStatus
from mailbox_engine.sync.session import fetch, folder_status, uids_since

BOB = "bob@mail.test"


@pytest.fixture
def client(stack):
    connection = IMAPClient(stack["host"], port=stack["imap_port"], ssl=False, timeout=10)
    connection.login(BOB, stack["accounts"][BOB])
    folder = "Sync-" + secrets.token_hex(3)
    connection.create_folder(folder)
    connection.folder = folder
    yield connection
    connection.delete_folder(folder)
    connection.logout()


def message(subject, days_ago=0, body="Hello", size=0):
    when = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    text = body + ("x" * size)
    return (
        f"From: Lead <lead@customer.test>\r\nTo: {BOB}\r\nSubject: {subject}\r\nDate: {when}\r\n"
        f"Message-ID: <{secrets.token_hex(6)}@customer.test>\r\n\r\n{text}\r\n"
    ).encode()


def test_status_then_new_uids_then_bodies_under_a_size_cap(client):
    path = client.folder
    empty = folder_status(client, path)
    assert isinstance(empty, FolderStatus)
    for n, days in enumerate((1, 10, 90)):
        client.append(path, message(f"Offer {n}", days), msg_time=datetime.now(UTC) - timedelta(days=days))
    client.append(path, message("Big one", 0, size=50_000))
    status = folder_status(client, path)
    assert (status.uidvalidity, status.uidnext) == (empty.uidvalidity, empty.uidnext + 4)
    # the last 60 days, newest first (by arrival in the folder)
    recent = uids_since(client, path, 60)
    assert len(recent) == 3 and recent == sorted(recent, reverse=True)
    fetched = fetch(client, recent, size_cap=20_000)
    big = [f for f in fetched if f.raw is None]
    assert len(big) == 1 and big[0].size > 50_000  # left on the server, its size says why
    subjects = sorted(parse(f.raw).subject for f in fetched if f.raw)
    assert subjects == ["Offer 0", "Offer 1"]
    assert all(b"\\Seen" not in f.flags for f in fetched)  # BODY.PEEK: nothing marked read


def test_messages_from_the_wild_are_read_never_raise():
    no_id = b"From: a@b.test\r\nSubject: no id\r\n\r\nbody\r\n"
    assert parse(no_id).message_id == stable_message_id(no_id) == parse(no_id).message_id
    lying = (
        b"From: a@b.test\r\nMessage-ID: <x@y>\r\nSubject: lying\r\nContent-Type: text/plain; charset=klingon\r\n\r\n"
        b"caf\xc3\xa9\r\n"
    )
    parsed = parse(lying)
    assert parsed.text.strip() == "café"
    assert "klingon" in parsed.problems[0]
    eight_bit = "From: Zoë <z@b.test>\r\nSubject: Réunion\r\nMessage-ID: <z@y>\r\n\r\nok\r\n".encode()
    parsed = parse(eight_bit)
    assert (parsed.subject, parsed.sender) == ("Réunion", "Zoë <z@b.test>")
    with_file = (
        b"From: a@b.test\r\nMessage-ID: <f@y>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hi</p>\r\n"
        b'--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="offer.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--B--\r\n"
    )
    parsed = parse(with_file)
    assert parsed.html.strip() == "<p>Hi</p>"
    assert [(a.name, a.mimetype, a.data) for a in parsed.attachments] == [("offer.pdf", "application/pdf", b"%PDF-")]
    assert parse(b"\x00\xff garbage without headers").message_id.startswith("<mcm-")


def test_a_conversation_is_keyed_by_the_message_it_started_with():
    def raw(message_id, *headers):
        return "\r\n".join(["From: a@b.test", f"Message-ID: {message_id}", *headers, "", "hi", ""]).encode()

    first = parse(raw("<1@b.test>"))
    reply = parse(raw("<2@b.test>", "In-Reply-To: <1@b.test>", "References: <1@b.test>"))
    second = parse(raw("<3@b.test>", "In-Reply-To: <2@b.test>", "References: <1@b.test>\r\n <2@b.test>"))
    bare = parse(raw("<4@b.test>", "In-Reply-To: <1@b.test>"))  # a client that sends no References
    assert {first.thread_key, reply.thread_key, second.thread_key, bare.thread_key} == {"<1@b.test>"}
    assert parse(raw("<5@b.test>")).thread_key == "<5@b.test>"
    assert parse(b"no headers at all").thread_key == parse(b"no headers at all").message_id
