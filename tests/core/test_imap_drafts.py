"""``imap.replace_draft`` against the real Dovecot: one copy of a draft per Message-ID,
whatever the number of times it is kept, flagged as a draft; removed on demand, and
nothing else in the folder is touched."""

import email
import secrets

import pytest
from imapclient import IMAPClient

from mailbox_engine.imap import replace_draft

BOB = "bob@mail.test"


@pytest.fixture
def client(stack):
    connection = IMAPClient(stack["host"], port=stack["imap_port"], ssl=False, timeout=10)
    connection.login(BOB, stack["accounts"][BOB])
    folder = "Drafts-" + secrets.token_hex(3)
    connection.create_folder(folder)
    connection.folder = folder
    yield connection
    connection.select_folder("INBOX", readonly=True)
    connection.delete_folder(folder)
    connection.logout()


def draft(message_id, text):
    return (
        f"From: {BOB}\r\nTo: lead@customer.test\r\nBcc: hidden@customer.test\r\nSubject: Offer\r\n"
        f"Message-ID: {message_id}\r\n\r\n{text}\r\n"
    ).encode()


def contents(client):
    client.select_folder(client.folder, readonly=True)
    fetched = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]", "FLAGS"])
    found = []
    for item in fetched.values():
        message = email.message_from_bytes(item[b"BODY[]"])
        found.append((message["Message-ID"], message.get_payload().strip(), set(item[b"FLAGS"])))
    return sorted(found)


def test_a_draft_kept_again_replaces_its_copy_and_is_removed_alone(client):
    mine, other = f"<{secrets.token_hex(6)}@mail.test>", f"<{secrets.token_hex(6)}@mail.test>"
    assert replace_draft(client, client.folder, draft(other, "someone else's"), other) == 0
    assert replace_draft(client, client.folder, draft(mine, "first words"), mine) == 0
    assert replace_draft(client, client.folder, draft(mine, "second words"), mine) == 1
    found = contents(client)
    assert [(mid, text) for mid, text, _flags in found] == sorted([(mine, "second words"), (other, "someone else's")])
    assert all({b"\\Draft", b"\\Seen"} <= flags for _mid, _text, flags in found)

    assert replace_draft(client, client.folder, None, mine) == 1
    assert [(mid, text) for mid, text, _flags in contents(client)] == [(other, "someone else's")]
    assert replace_draft(client, client.folder, None, mine) == 0  # removing again: nothing to do
