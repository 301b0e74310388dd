"""A custom server is an incident for the administrators only when mailboxes of several
owners use it; one user's own server failing is that user's problem."""

from mailbox_engine import diagnosis
from mailbox_engine.health import Outcome, incidents


def _failed(mailbox_id, owner, host="mail.own.test", provider="imap"):
    diag = diagnosis.diagnose("unavailable", "x", provider="p", address="a@b.test", host=host, port=993, detail="d")
    return Outcome(mailbox_id, provider, False, "TCP", diag, host=host, owner=owner)


def test_three_mailboxes_of_one_owner_on_their_server_are_no_incident():
    assert incidents([_failed(n, owner=7) for n in range(3)]) == []


def test_a_server_shared_by_several_owners_is_an_incident_of_that_server():
    (found,) = incidents([_failed(1, 7), _failed(2, 7), _failed(3, 8), _failed(4, 9, host="other.test")])
    assert (found.provider, found.kind, found.host, found.mailbox_ids) == ("imap", "outage", "mail.own.test", [1, 2, 3])


def test_custom_servers_are_not_one_provider():
    # three owners, each on their own server: three users' problems, no incident
    assert incidents([_failed(n, owner=n, host=f"mail{n}.test") for n in range(3)]) == []


def test_google_fails_for_one_owner_too():
    found = incidents([_failed(n, owner=7, host="imap.gmail.com", provider="google") for n in range(3)])
    assert [(i.provider, i.kind, i.host) for i in found] == [("google", "outage", "")]
