"""What an error while sending means (throttle the mailbox, try the message again
later, or fail it alone), against the local SMTP server (the stack's sink, signed in
as a test account) answering as providers do: ``421 4.7.0``, ``451 4.3.0``, a cut
before the answer, ``550 5.1.1``; and the providers' quota answers by their text."""

import smtplib

import pytest

from mailbox_engine import diagnosis
from mailbox_engine.smtp import REFUSED, RETRY, THROTTLED, classify_send_error

ACCOUNT = "alice@mail.test"


def send_error(stack, *recipients):
    """Sign in on the sink and send one message to ``recipients``; the error raised."""
    connection = smtplib.SMTP(stack["host"], stack["sink_submission_port"], timeout=10)
    connection.login(ACCOUNT, stack["accounts"][ACCOUNT])
    try:
        connection.sendmail(ACCOUNT, list(recipients), b"Subject: offer\r\n\r\nOur offer\r\n")
    except smtplib.SMTPException as exc:
        return exc
    finally:
        connection.close()
    pytest.fail("the server accepted the message")


@pytest.mark.parametrize(
    ("recipient", "kind"),
    [("busy@customer.test", THROTTLED), ("later@customer.test", RETRY), ("nobody@customer.test", REFUSED)],
)
def test_server_answers_are_classified(stack, recipient, kind):
    error = send_error(stack, recipient)
    assert classify_send_error(error) == kind


def test_a_cut_before_the_answer_is_tried_again(stack):
    error = send_error(stack, "drop@customer.test")
    assert isinstance(error, smtplib.SMTPServerDisconnected)
    assert classify_send_error(error) == RETRY


def test_one_throttled_recipient_throttles_the_message(stack):
    error = send_error(stack, "later@customer.test", "busy@customer.test")
    assert classify_send_error(error) == THROTTLED


@pytest.mark.parametrize(
    ("code", "text", "kind"),
    [
        (550, b"5.4.5 Daily user sending limit exceeded.", THROTTLED),  # Gmail
        (554, b"5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException", THROTTLED),  # Microsoft
        (432, b"4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded", THROTTLED),  # Microsoft
        (452, b"4.3.1 Insufficient system storage", RETRY),
        (421, b"4.3.2 mail.test Shutting down", RETRY),  # the server restarts: not a limit of the sender
        (554, b"5.6.0 Message rejected: corrupt", REFUSED),
    ],
)
def test_provider_quota_answers(code, text, kind):
    assert classify_send_error(smtplib.SMTPDataError(code, text)) == kind


def test_a_daily_quota_waits_an_hour_a_rate_five_minutes():
    params = {"provider": "Gmail", "address": ACCOUNT}
    daily = diagnosis.from_send_throttled(550, b"5.4.5 Daily user sending limit exceeded.", **params)
    rate = diagnosis.from_send_throttled(421, b"4.7.0 Try again later", **params)
    assert (daily.state, daily.retry_after, rate.retry_after) == (diagnosis.THROTTLED, 3600, 300)
    cause, fix = rate.render()
    assert cause == "Gmail refuses more mail from alice@mail.test for now (“421 4.7.0 Try again later”)."
    assert "in 300 seconds" in fix


def test_not_an_smtp_answer_is_left_to_the_caller():
    assert classify_send_error(ValueError("bad header")) is None
