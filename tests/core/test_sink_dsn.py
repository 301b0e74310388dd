"""The SMTP sink reports late failures as a real MTA does: a message to ``gone@`` or
``full@`` is accepted, then a delivery status notification comes back into the
sender's own Dovecot Inbox; ``nobody@`` is still refused at RCPT.

Each test signs in with a fresh OAuth address of its own, so the reports land in an
Inbox no other test reads."""

import email
import email.policy
import secrets
import smtplib
import time
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient
from test_connection_check import _google_token

DEADLINE = 30  # seconds a test waits for the report (never asserted as a duration)


@pytest.fixture
def sender(stack):
    address = f"dsn-{secrets.token_hex(4)}@gmail.test"
    return address, _google_token(stack, address)


def xoauth2(address, token):
    return f"user={address}\x01auth=Bearer {token}\x01\x01"


def send(stack, sender, recipient, subject):
    address, token = sender
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = address, recipient, subject
    message["Message-ID"] = f"<{secrets.token_hex(8)}@gmail.test>"
    message.set_content("Our spring offer")
    with smtplib.SMTP(stack["host"], stack["submission_port"], timeout=10) as client:
        client.ehlo()
        client.auth("XOAUTH2", lambda challenge=None: xoauth2(address, token), initial_response_ok=True)
        client.send_message(message)
    return message["Message-ID"]


def inbox(stack, sender):
    address, token = sender
    with IMAPClient(stack["host"], port=stack["imap_port"], ssl=False, timeout=10) as client:
        client.oauth2_login(address, token)
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        return [email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default) for data in fetched.values()]


def report_for(stack, sender, message_id):
    """The delivery report in the sender's Inbox that names ``message_id`` (waits for it)."""
    ends = time.monotonic() + DEADLINE
    while time.monotonic() < ends:
        for message in inbox(stack, sender):
            if message.get_content_type() == "multipart/report" and message_id in message.as_string():
                return message
        time.sleep(0.1)
    pytest.fail(f"no delivery report for {message_id} reached the sender's Inbox")


def status_blocks(report):
    status = next(part for part in report.walk() if part.get_content_type() == "message/delivery-status")
    return [dict(block.items()) for block in status.get_payload()[1:]]


def test_a_recipient_gone_is_accepted_then_reported_as_unknown(stack, sender):
    message_id = send(stack, sender, "gone@customer.test", "Spring offer")
    report = report_for(stack, sender, message_id)
    assert report["From"].addresses[0].username.upper() == "MAILER-DAEMON"
    assert report["To"] == sender[0]
    assert report["Auto-Submitted"] == "auto-replied"
    assert report.get_param("report-type") == "delivery-status"
    (block,) = status_blocks(report)
    assert block["Final-Recipient"] == "rfc822; gone@customer.test"
    assert (block["Action"], block["Status"]) == ("failed", "5.1.1")
    assert "User unknown" in block["Diagnostic-Code"]
    headers = next(part for part in report.walk() if part.get_content_type() == "text/rfc822-headers")
    assert f"Message-ID: {message_id}" in headers.get_content()


def test_a_mailbox_full_is_reported_as_delayed(stack, sender):
    message_id = send(stack, sender, "full@customer.test", "Spring offer, again")
    (block,) = status_blocks(report_for(stack, sender, message_id))
    assert (block["Final-Recipient"], block["Action"], block["Status"]) == (
        "rfc822; full@customer.test",
        "delayed",
        "4.2.2",
    )


def test_nobody_is_still_refused_at_rcpt_and_nothing_comes_back(stack, sender):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(stack, sender, "nobody@customer.test", "Hello nobody")
    assert refused.value.recipients["nobody@customer.test"][0] == 550
    message_id = send(stack, sender, "lead@customer.test", "Hello lead")  # delivered: nothing to report
    report_for_gone = send(stack, sender, "gone@customer.test", "After the lead")
    report_for(stack, sender, report_for_gone)  # the sink's reports have all been delivered by now
    assert not any(message_id in message.as_string() for message in inbox(stack, sender))
