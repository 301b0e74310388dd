"""What the engine reads in a delivery failure report: only mail a server sent about a
delivery is looked at; each failed recipient is hard (5.x.x) or soft (4.x.x) with the
reason the server gave; the message that came back is named by its Message-IDs; a bounce
of a bounce is flagged; an auto-reply is told apart; nothing a detector trips on escapes."""

import base64
import email
import email.policy
import logging

import flufl.bounce
import pytest

from mailbox_engine import feedback
from mailbox_engine.feedback import REASON_MAX, Bounce, Failure, classify, is_auto_submitted
from mailbox_engine.sync.parse import parse

GONE = "gone@customer.example.com"
ORIGINAL = """\
Return-Path: <bob@mailbox.example.com>
Message-ID: <campaign-1@mailbox.example.com>
From: Bob <bob@mailbox.example.com>
To: gone@customer.example.com
Subject: Our spring offer

Hello
"""

QMAIL = """\
From: MAILER-DAEMON@mx.customer.example.com
To: bob@mailbox.example.com
Subject: failure notice
Message-ID: <qmail-1@mx.customer.example.com>

Hi. This is the qmail-send program at mx.customer.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<gone@customer.example.com>:
192.0.2.1 does not like recipient.
Remote host said: 550 5.1.1 No such user
Giving up on 192.0.2.1.

--- Below this line is a copy of the message.

{original}"""

PERSON = """\
From: Alice <alice@customer.example.com>
To: bob@mailbox.example.com
Subject: {subject}
Message-ID: <alice-1@customer.example.com>
{extra}
Hi. This is the qmail-send program at mx.customer.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<gone@customer.example.com>:
192.0.2.1 does not like recipient.
"""


DSN_BASE64 = "Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n"


def raw(text):
    """The bytes of a message as a server gives them (CRLF line ends)."""
    return text.replace("\n", "\r\n").encode()


def message(text):
    """A message as the sync parses it."""
    return email.message_from_bytes(raw(text), policy=email.policy.default)


def dsn(*blocks, returned=ORIGINAL, returned_type="message/rfc822", headers=""):
    """A Postfix-like DSN naming one recipient block per item of ``blocks``."""
    report = "\n".join(f"\n{block.strip()}" for block in blocks)
    return f"""\
From: MAILER-DAEMON@mx.mailbox.example.com (Mail Delivery System)
To: bob@mailbox.example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.mailbox.example.com>
Auto-Submitted: auto-replied
{headers}MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="R"

--R
Content-Type: text/plain

This is the mail system at host mx.mailbox.example.com.

--R
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.mailbox.example.com
{report}

--R
Content-Type: {returned_type}

{returned}
--R--
"""


def block(address, action="failed", status="5.1.1", diagnostic=""):
    lines = [f"Final-Recipient: rfc822; {address}", f"Action: {action}"]
    lines += [f"Status: {status}"] if status else []
    lines += [f"Diagnostic-Code: {diagnostic}"] if diagnostic else []
    return "\n".join(lines)


def failures(bounce):
    return {failure.email: (failure.hard, failure.status) for failure in bounce.failures}


# The gate: a person's mail never reaches the detectors


def test_a_persons_mail_quoting_a_failure_is_no_bounce_though_a_server_sending_it_is():
    person = message(PERSON.format(subject="Re: the list you sent", extra=""))
    assert classify(person) is None
    server = message(PERSON.format(subject="failure notice", extra="").replace("Alice <alice@", "MAILER-DAEMON <m@"))
    assert failures(classify(server)) == {"gone@customer.example.com": (True, "")}


def test_a_bounce_a_person_forwards_or_answers_is_their_mail():
    forwarded = message(PERSON.format(subject="Fwd: Undeliverable: our offer", extra=""))
    subject = "Undeliverable: our offer"
    answered = message(PERSON.format(subject=subject, extra="In-Reply-To: <x@mailbox.example.com>\n"))
    machine = message(PERSON.format(subject=subject, extra="Auto-Submitted: auto-replied\n"))
    assert classify(forwarded) is None and classify(answered) is None
    assert failures(classify(machine)) == {"gone@customer.example.com": (True, "")}


@pytest.mark.parametrize(
    ("header", "candidate"),
    [
        ("From: Postmaster <postmaster@mx.customer.example.com>", True),
        ("From: Mail Delivery System <>", True),
        ("From: Alice <alice@customer.example.com>\nX-Failed-Recipients: gone@customer.example.com", True),
        ("From: Alice <alice@customer.example.com>", False),
    ],
)
def test_the_senders_that_open_the_gate(header, candidate):
    text = f"{header}\nSubject: hello\nTo: bob@mailbox.example.com\n\nSome text\n"
    assert feedback.is_bounce_candidate(message(text)) is candidate


def test_a_report_is_a_candidate_whoever_sends_it():
    text = dsn(block("gone@customer.example.com")).replace("MAILER-DAEMON@mx", "alice@mx")
    assert feedback.is_bounce_candidate(message(text))
    assert failures(classify(message(text))) == {"gone@customer.example.com": (True, "5.1.1")}


# Hard or soft, and every recipient block


def test_the_status_of_each_block_decides_hard_soft_or_delivered():
    bounce = classify(
        message(
            dsn(
                block("gone@customer.example.com", status="5.1.1"),
                block("full@customer.example.com", status="4.2.2"),
                block("slow@customer.example.com", action="delayed", status="4.4.1"),
                block("relayed@customer.example.com", action="failed", status="2.0.0"),
            )
        )
    )
    assert failures(bounce) == {
        "gone@customer.example.com": (True, "5.1.1"),
        "full@customer.example.com": (False, "4.2.2"),  # failed, yet 4.x.x: soft
        "slow@customer.example.com": (False, "4.4.1"),
    }


def test_without_a_status_the_action_decides():
    bounce = classify(
        message(
            dsn(
                block("gone@customer.example.com", status=""),
                block("slow@customer.example.com", action="delayed", status=""),
            )
        )
    )
    assert failures(bounce) == {"gone@customer.example.com": (True, ""), "slow@customer.example.com": (False, "")}


def test_a_failed_recipient_the_detector_cannot_read_is_still_found():
    untyped = "Final-Recipient: other@customer.example.com\nAction: failed\nStatus: 5.2.1"
    text = dsn(block("gone@customer.example.com"), untyped)
    temporary, permanent = flufl.bounce.all_failures(message(text))
    assert not temporary and permanent == {b"gone@customer.example.com"}
    assert failures(classify(message(text))) == {
        "gone@customer.example.com": (True, "5.1.1"),
        "other@customer.example.com": (True, "5.2.1"),
    }


def test_a_report_sent_in_base64_is_read():
    plain = dsn(block(GONE, status="5.2.1"))
    report = plain.split("Content-Type: message/delivery-status\n\n")[1].split("\n--R")[0]
    encoded = base64.encodebytes(report.encode()).decode()
    text = plain.replace(f"Content-Type: message/delivery-status\n\n{report}", f"{DSN_BASE64}\n{encoded}")
    assert flufl.bounce.all_failures(message(text)) == (frozenset(), frozenset())  # the detector cannot read it
    assert failures(classify(message(text))) == {GONE: (True, "5.2.1")}


def test_a_format_without_status_is_hard_when_the_detector_says_permanent():
    bounce = classify(message(QMAIL.format(original=ORIGINAL)))
    assert failures(bounce) == {"gone@customer.example.com": (True, "")}


def test_an_addresses_case_and_brackets_go():
    text = dsn(block("<Gone@Customer.Example.COM>"))
    assert failures(classify(message(text))) == {"gone@customer.example.com": (True, "5.1.1")}


# The reason


def test_the_reason_is_the_diagnostic_code_on_one_line_without_its_type():
    diagnostic = "smtp; 550 5.1.1 <gone@customer.example.com>: Recipient address\n    rejected: User unknown"
    bounce = classify(message(dsn(block("gone@customer.example.com", diagnostic=diagnostic))))
    assert bounce.failures[0].reason == f"550 5.1.1 <{GONE}>: Recipient address rejected: User unknown"


def test_without_a_diagnostic_the_reason_is_the_status_in_words():
    bounce = classify(message(dsn(block("gone@customer.example.com", status="5.2.2"))))
    assert bounce.failures[0].reason == "5.2.2 mailbox full"
    other = classify(message(dsn(block("gone@customer.example.com", status="5.7.99"))))
    assert other.failures[0].reason == "5.7.99 security or policy status"


def test_outside_a_dsn_the_reason_is_the_text_about_the_address():
    bounce = classify(message(QMAIL.format(original=ORIGINAL)))
    assert bounce.failures[0].reason == (
        "<gone@customer.example.com>: 192.0.2.1 does not like recipient. "
        "Remote host said: 550 5.1.1 No such user Giving up on 192.0.2.1."
    )


def test_a_long_reason_is_cut_and_html_is_never_read():
    diagnostic = "smtp; 550 " + "x" * (REASON_MAX * 2)
    bounce = classify(message(dsn(block("gone@customer.example.com", diagnostic=diagnostic))))
    assert len(bounce.failures[0].reason) == REASON_MAX
    html = """\
From: MAILER-DAEMON@mx.mailbox.example.com
X-Failed-Recipients: gone@customer.example.com
Subject: Mail delivery failed
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="A"

--A
Content-Type: text/plain

Delivery has failed.
--A
Content-Type: text/html

<p><b>gone@customer.example.com</b> does not exist</p>
--A--
"""
    bounce = classify(message(html))
    assert [(f.email, f.reason) for f in bounce.failures] == [("gone@customer.example.com", "Delivery has failed.")]


# The message that came back


def test_the_returned_messages_ids_come_first_with_exchanges_original():
    exchange = "X-Microsoft-Original-Message-ID: <outlook-1@mailbox.example.com>"
    bounce = classify(message(dsn(block(GONE), returned=ORIGINAL.replace("Subject:", f"{exchange}\nSubject:"))))
    assert bounce.original_ids == ("<campaign-1@mailbox.example.com>", "<outlook-1@mailbox.example.com>")


def test_the_returned_headers_alone_name_the_original():
    headers = ORIGINAL.split("\n\n", maxsplit=1)[0] + "\n"
    bounce = classify(message(dsn(block(GONE), returned=headers, returned_type="text/rfc822-headers")))
    assert bounce.original_ids == ("<campaign-1@mailbox.example.com>",)


def test_headers_quoted_as_text_name_the_original():
    bounce = classify(message(QMAIL.format(original=ORIGINAL)))
    assert bounce.original_ids == ("<campaign-1@mailbox.example.com>",)


def test_without_a_returned_message_the_reports_own_references_name_it():
    headers = "In-Reply-To: <campaign-2@x.test>\nReferences: <thread-1@x.test> <campaign-2@x.test>\n"
    bounce = classify(message(dsn(block(GONE), returned="", returned_type="text/plain", headers=headers)))
    assert bounce.original_ids == ("<campaign-2@x.test>", "<thread-1@x.test>")
    alone = classify(message(QMAIL.format(original="(the copy was removed)\n")))
    assert alone.original_ids == ()


def test_ids_never_carry_a_line_break_and_are_few():
    returned = ORIGINAL.replace(
        "Message-ID: <campaign-1@mailbox.example.com>",
        "Message-ID: <campaign-1@mailbox.example.com>\nX-Microsoft-Original-Message-ID: <a\n b@x.test> <c@x.test>",
    )
    bounce = classify(message(dsn(block("gone@customer.example.com"), returned=returned)))
    assert bounce.original_ids == ("<campaign-1@mailbox.example.com>", "<c@x.test>")
    many = " ".join(f"<r{n}@x.test>" for n in range(30))
    headers = f"References: {many}\n"
    bounce = classify(message(dsn(block(GONE), returned="", returned_type="text/plain", headers=headers)))
    assert len(bounce.original_ids) == feedback.MAX_IDS
    assert not any(set(i) & {"\r", "\n", " "} for i in bounce.original_ids)


# A bounce of a bounce


@pytest.mark.parametrize(
    "marker",
    [
        "Content-Type: multipart/report; report-type=delivery-status; boundary=Q",
        "From: MAILER-DAEMON@mx.customer.example.com",
        "Return-Path: <>",
        "Auto-Submitted: auto-generated",
    ],
)
def test_a_returned_message_sent_by_a_machine_flags_a_loop(marker):
    name = marker.split(":")[0]
    returned = "\n".join(line for line in ORIGINAL.splitlines() if not line.startswith(name + ":"))
    bounce = classify(message(dsn(block("gone@customer.example.com"), returned=f"{marker}\n{returned}\n")))
    assert bounce.loop is True
    assert classify(message(dsn(block("gone@customer.example.com")))).loop is False


def test_a_gateway_wrapping_the_report_is_no_loop():
    inner = dsn(block("gone@customer.example.com"))
    wrapper = f"""\
From: postmaster@gw.customer.example.com
Subject: Delivery Status Notification (Failure)
Message-ID: <dsn-1@mx.mailbox.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="W"

--W
Content-Type: message/rfc822

{inner}
--W--
"""
    bounce = classify(message(wrapper))
    assert (bounce.loop, bounce.original_ids) == (False, ("<campaign-1@mailbox.example.com>",))
    assert failures(bounce) == {"gone@customer.example.com": (True, "5.1.1")}


# Auto-replies


@pytest.mark.parametrize(
    ("header", "automatic"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: auto-generated", True),
        ("Auto-Submitted: no", False),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: Out of office", True),
        ("Precedence: auto_reply", True),
        ("Precedence: bulk", False),
        ("X-Other: 1", False),
    ],
)
def test_an_auto_reply_is_told_apart(header, automatic):
    text = f"From: Alice <alice@customer.example.com>\n{header}\nSubject: Re: offer\n\nAway until Monday\n"
    assert is_auto_submitted(message(text)) is automatic
    assert parse(raw(text)).auto_submitted is automatic


# Robustness, and the way a bounce travels


def test_a_detector_that_raises_leaves_the_message_ordinary(caplog):
    text = "To: bob@mailbox.example.com\nSubject: Delivery failure\n\nYour message could not be delivered.\n"
    with pytest.raises(IndexError):  # flufl.bounce's Yale detector, on a message without From
        flufl.bounce.all_failures(message(text))
    with caplog.at_level(logging.DEBUG, logger="mailbox_engine.feedback"):
        assert classify(message(text)) is None
    assert "Not read as a bounce (IndexError" in caplog.text
    assert parse(raw(text)).bounce is None


def test_a_bounce_survives_its_json():
    bounce = classify(message(dsn(block("gone@customer.example.com", diagnostic="smtp; 550 5.1.1 unknown"))))
    assert Bounce.from_json(bounce.to_json()) == bounce
    assert bounce == Bounce(
        (Failure("gone@customer.example.com", True, "5.1.1", "550 5.1.1 unknown"),),
        ("<campaign-1@mailbox.example.com>",),
        False,
    )


def test_the_sync_parse_carries_the_bounce_but_not_from_a_header_alone():
    whole = raw(dsn(block("gone@customer.example.com")))
    parsed = parse(whole)
    assert failures(parsed.bounce) == {"gone@customer.example.com": (True, "5.1.1")}
    assert parsed.auto_submitted is True  # a report says Auto-Submitted: it is no person's reply
    exim = raw(f"From: Mailer-Daemon@mx.x.test\nX-Failed-Recipients: {GONE}\nSubject: Delivery failed\n\n{GONE}: 550\n")
    header = exim.split(b"\r\n\r\n")[0] + b"\r\n\r\n"  # what the sync fetches of a message over the size cap
    assert failures(parse(exim).bounce) == {GONE: (True, "")}
    assert parse(header).bounce is None and parse(header).subject == "Delivery failed"
    person = parse(raw(PERSON.format(subject="Hello", extra="")))
    assert (person.bounce, person.auto_submitted) == (None, False)


def test_a_big_bounce_is_read_from_its_beginning():
    attachment = "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" + "QUJD" * 19 + "\n"
    big = f"Subject: Big\nContent-Type: multipart/mixed; boundary=B\n\n--B\n{attachment * 40000}--B--\n"
    whole = raw(dsn(block(GONE), returned=ORIGINAL.replace("Subject: Our spring offer\n\nHello\n", big)))
    assert len(whole) > 10 * feedback.REPORT_MAX
    bounce = parse(whole).bounce
    assert (failures(bounce), bounce.original_ids) == ({GONE: (True, "5.1.1")}, ("<campaign-1@mailbox.example.com>",))
