"""What a reply carries: its threading headers over a long conversation, its recipients
for Reply and Reply all, its subject. The headers are read back by Python's own email
parser, as a receiving mail client would."""

import email
import email.policy
import itertools
from email.message import EmailMessage

import pytest

from mailbox_engine import compose


def reply_to(parent):
    """The next message of the conversation, built from ``parent`` as our composer does,
    then parsed from its bytes."""
    msg = EmailMessage()
    number = int(parent["X-Number"]) + 1
    msg["Message-ID"] = f"<m{number}.{'x' * 40}@example.test>"
    msg["X-Number"] = str(number)
    msg["In-Reply-To"] = compose.in_reply_to(parent["Message-ID"])
    msg["References"] = " ".join(
        compose.references(parent["Message-ID"], parent.get("References", ""), parent.get("In-Reply-To", ""))
    )
    msg["Subject"] = compose.reply_subject(parent["Subject"])
    msg.set_content("reply")
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def test_a_chain_of_30_replies_stays_threaded_and_bounded():
    root = EmailMessage()
    root["Message-ID"] = "<m0.root@example.test>"
    root["X-Number"] = "0"
    root["Subject"] = "Offer"
    root.set_content("first")
    chain = [email.message_from_bytes(root.as_bytes(), policy=email.policy.default)]
    for _number in range(30):
        chain.append(reply_to(chain[-1]))
    for parent, child in itertools.pairwise(chain):
        refs = child["References"].split()
        assert child["In-Reply-To"] == parent["Message-ID"]
        assert refs[0] == "<m0.root@example.test>"  # the conversation's start is kept
        assert refs[-1] == parent["Message-ID"]  # and the message answered
        assert len(refs) <= compose.REFERENCES_MAX
        assert len(refs) == len(set(refs))
        assert child["Subject"] == "Re: Offer"  # never "Re: Re:"
    last = chain[-1]["References"].split()
    assert len(last) == compose.REFERENCES_MAX
    # the newest are kept in order: the 19 messages before the last one
    assert last[1:] == [m["Message-ID"] for m in chain[-20:-1]]
    # each header line stays within what RFC 5322 allows (folded by the generator)
    raw = chain[-1].as_bytes(policy=email.policy.SMTP)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_only_real_message_ids_reach_the_headers():
    hostile = "<a@b>\r\nBcc: victim@example.test <c@d> junk <e f@g>"
    assert compose.message_ids(hostile) == ["<a@b>", "<c@d>"]
    assert compose.in_reply_to("no angle brackets@example.test") == ""
    assert compose.references("<p@x>", "", "") == ["<p@x>"]
    assert compose.references("<p@x>", "<p@x> <q@x>", "") == ["<q@x>", "<p@x>"]
    # no References: the In-Reply-To of the parent starts the chain
    assert compose.references("<p@x>", "", "<q@x>") == ["<q@x>", "<p@x>"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("Offer", "Re: Offer"), ("RE: Offer", "RE: Offer"), ("AW: Angebot", "AW: Angebot"), ("", "Re:")],
)
def test_reply_subject(subject, expected):
    assert compose.reply_subject(subject) == expected


def test_forward_subject():
    assert compose.forward_subject("Offer") == "Fwd: Offer"
    assert compose.forward_subject("Fwd: Offer") == "Fwd: Offer"


OWN = ["bob@mail.test", "bob.seller@example.com"]


def test_reply_goes_to_reply_to_else_the_sender():
    to, cc = compose.reply_recipients(
        "reply", "Lead <lead@customer.test>", "", "bob@mail.test", "boss@customer.test", own=OWN
    )
    assert (to, cc) == (["Lead <lead@customer.test>"], [])
    to, _cc = compose.reply_recipients(
        "reply", "Lead <lead@customer.test>", "Sales <sales@customer.test>", "bob@mail.test", "", own=OWN
    )
    assert to == ["Sales <sales@customer.test>"]


def test_reply_all_keeps_cc_as_cc_drops_own_addresses_and_doubles():
    to, cc = compose.reply_recipients(
        "reply_all",
        "Lead <lead@customer.test>",
        "",
        "BOB@mail.test, Anna <anna@customer.test>, lead@customer.test",
        '"Boss, Big" <boss@customer.test>, bob.seller@example.com, anna@customer.test',
        own=OWN,
    )
    assert to == ["Lead <lead@customer.test>", "Anna <anna@customer.test>"]
    assert cc == ['"Boss, Big" <boss@customer.test>']


def test_reply_to_own_sent_message_goes_to_its_recipients():
    to, cc = compose.reply_recipients(
        "reply", "Bob <bob@mail.test>", "", "lead@customer.test", "boss@customer.test", own=OWN, sent_by_us=True
    )
    assert (to, cc) == (["lead@customer.test"], [])
