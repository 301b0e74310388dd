"""What an SMTP server refuses in one message, explained: against a real SMTP server
(aiosmtpd on loopback) that refuses a recipient, a sender, or an oversized message."""

import smtplib
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from devstack.util import free_port
from mailbox_engine.smtp import explain_send_error


class Refusing:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address.startswith("intruder@"):
            return "553 5.7.1 Sender address rejected: not owned by user"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 Message accepted"


@pytest.fixture(scope="module")
def server():
    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port(), data_size_limit=2000)
    controller.start()
    yield controller
    controller.stop()


def send(server, sender, recipient, body="hello"):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, recipient, "offer"
    message.set_content(body)
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as connection:
        connection.send_message(message)


def refusal(server, *args, **kwargs):
    with pytest.raises(smtplib.SMTPException) as info:
        send(server, *args, **kwargs)
    return info.value


def test_a_refused_recipient_is_named(server):
    text = explain_send_error(refusal(server, "ann@mail.test", "nobody@customer.test"))
    assert "refused every recipient" in text and "nobody@customer.test (550 5.1.1 User unknown)" in text


def test_a_refused_sender_says_the_from_must_be_the_mailbox(server):
    text = explain_send_error(refusal(server, "intruder@mail.test", "lead@customer.test"))
    assert "refused the sender intruder@mail.test (553 5.7.1" in text and "mailbox's own address" in text


def test_a_message_too_large_names_the_limit(server):
    text = explain_send_error(refusal(server, "ann@mail.test", "lead@customer.test", "x" * 5000), size_limit=2000)
    assert "larger than the server accepts (552" in text and "at most 2,000 bytes" in text


def test_a_temporary_refusal_says_it_can_be_sent_again():
    text = explain_send_error(smtplib.SMTPDataError(451, b"4.7.0 Try again later"))
    assert "try again later (451 4.7.0 Try again later)" in text


def test_other_errors_keep_their_own_words():
    assert explain_send_error(ConnectionResetError()) == ""
