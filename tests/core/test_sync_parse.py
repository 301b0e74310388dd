"""What the parser makes of messages nobody should send: every header that could not be
read is said, the key of a Message-ID has one size whatever its length, and a message
without a Message-ID is keyed the same whether its whole or its header alone was read."""

import hashlib

from mailbox_engine.sync.parse import message_digest, parse

LATIN1_FROM = b"From: Jos\xe9 <jose@customer.test>\r\nSubject: plain\r\nMessage-ID: <a@customer.test>\r\n\r\nbody\r\n"
BOGUS_CHARSET = b"From: a@customer.test\r\nSubject: =?x-bogus?q?caf=E9?=\r\nMessage-ID: <b@x.test>\r\n\r\nbody\r\n"


def test_an_8bit_from_is_stored_with_replacements_and_said():
    parsed = parse(LATIN1_FROM)
    assert parsed.sender == "Jos\ufffd <jose@customer.test>"
    assert parsed.problems == ["the From header could not be read in full (shown with replacement characters)"]


def test_an_encoded_word_of_an_unknown_charset_is_said():
    parsed = parse(BOGUS_CHARSET)
    assert "\ufffd" in parsed.subject
    assert parsed.problems == ["the Subject header could not be read in full (shown with replacement characters)"]


def test_a_readable_8bit_header_is_no_problem():
    parsed = parse("From: Zoë <zoe@customer.test>\r\nSubject: Réunion\r\n\r\nbody\r\n".encode())
    assert (parsed.sender, parsed.subject, parsed.problems) == ("Zoë <zoe@customer.test>", "Réunion", [])


def test_a_lone_surrogate_never_reaches_the_values():
    parsed = parse(b"From: a@customer.test\r\nSubject: caf\xe9\r\nX-Other: \xff\r\n\r\nbody\r\n")
    for text in (parsed.subject, parsed.sender, parsed.message_id, parsed.thread_key):
        text.encode("utf-8")  # raises on a lone surrogate


def test_the_key_of_a_message_id_has_one_size_and_ignores_folding():
    huge = "<" + "x" * 8192 + "@customer.test>"
    assert len(message_digest(huge)) == len(message_digest("<a@b>")) == 64
    assert message_digest("<a@b>") == hashlib.sha256(b"<a@b>").hexdigest()
    assert message_digest(" <a@b>\r\n ") == message_digest("<a@b>")
    raw = f"From: a@customer.test\r\nMessage-ID: {huge}\r\nSubject: long id\r\n\r\nbody\r\n".encode()
    parsed = parse(raw)
    assert (parsed.message_id, parsed.subject, parsed.problems) == (huge, "long id", [])


def test_a_message_without_message_id_has_the_same_key_from_its_header_alone():
    whole = b"From: a@customer.test\r\nSubject: no id\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nbody\r\n"
    header = whole.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert parse(whole).message_id == parse(header).message_id
    assert parse(whole).message_id != parse(whole.replace(b"no id", b"other")).message_id
    assert parse(header).subject == "no id" and not parse(header).text
