"""Cyrus IMAP, the stack's second IMAP server: the same accounts as Dovecot, each with
its Inbox and the folders with their roles, the extensions the sync uses, and what Cyrus
answers differently from Dovecot."""

import pytest
from imapclient import IMAPClient

from devstack.testkit import imap_server, imap_server_missing
from mailbox_engine.imap import list_folders


@pytest.fixture
def cyrus(stack):
    missing = imap_server_missing(stack, "cyrus")
    if missing:
        pytest.skip(missing)
    return imap_server(stack, "cyrus")


def session(stack, cyrus, address):
    client = IMAPClient(cyrus["host"], port=cyrus["imap_port"], ssl=False, timeout=10)
    client.login(address, stack["accounts"][address])
    return client


def test_each_account_has_its_inbox_and_the_folders_with_their_roles(stack, cyrus):
    for address in stack["accounts"]:
        client = session(stack, cyrus, address)
        try:
            assert b"Cyrus" in client.welcome
            assert {b"CONDSTORE", b"SPECIAL-USE", b"MOVE", b"UIDPLUS"} <= set(client.capabilities())
            folders = {f["path"]: f for f in list_folders(client)}
            junk = folders["Junk"]["special_use"]
            assert junk in ("\\Junk", "")  # see the last test
            assert {path: f["special_use"] for path, f in folders.items()} == {
                "INBOX": "\\Inbox",
                "Sent": "\\Sent",
                "Archive": "\\Archive",
                "Trash": "\\Trash",
                "Drafts": "\\Drafts",
                "Junk": junk,
            }
            assert {p for p, f in folders.items() if f["selected_by_default"]} == {"INBOX", "Sent", "Archive"}
            assert client.list_folders("", "INBOX")[0][1] == b"/"  # the separator Dovecot has too
        finally:
            client.logout()


def test_a_wrong_password_is_refused(stack, cyrus):
    client = IMAPClient(cyrus["host"], port=cyrus["imap_port"], ssl=False, timeout=10)
    with pytest.raises(Exception, match="authentication failure"):
        client.login("alice@mail.test", "not-her-password")


def test_a_role_in_lower_case_as_cyrus_options_give_it_is_a_role(stack, cyrus):
    # Cyrus's own way to give autocreated folders their roles (`xlist-junk: Junk` in
    # imapd.conf, as the stack does for Junk) says "\junk"; flags are case-insensitive
    client = session(stack, cyrus, "alice@mail.test")
    try:
        assert b"\\junk" in client.list_folders("", "Junk")[0][0]  # as Cyrus says it
        (junk,) = [f for f in list_folders(client) if f["path"] == "Junk"]
        assert junk["special_use"] == "\\Junk"
    finally:
        client.logout()
