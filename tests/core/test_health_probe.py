"""The health probe against the real Dovecot: what one check finds, many at once in
order, and when a run's failures are an incident of the app or the provider."""

from dataclasses import replace

from mailbox_engine import diagnosis
from mailbox_engine.connection_test import Server
from mailbox_engine.health import Outcome, Probe, incidents, probe, probe_all
from mailbox_engine.oauth import OAuthError

ALICE = "alice@mail.test"


def custom_probe(stack, mailbox_id=1, password=None, imap_port=None):
    password = stack["accounts"][ALICE] if password is None else password
    imap = Server(stack["host"], imap_port or stack["imap_port"], "none", ALICE, password)
    smtp = Server(stack["host"], stack["submission_port"], "none", ALICE, password)
    return Probe(mailbox_id, "imap", ALICE, imap, smtp)


def test_working_credentials_pass_imap_and_smtp(stack):
    outcome = probe(custom_probe(stack))
    assert (outcome.ok, outcome.step, outcome.diagnosis) == (True, "", None)
    assert outcome.seconds > 0
    # every step, for the Last check tab: IMAP's then SMTP's, all passed
    kinds = [kind for kind, _step in outcome.steps]
    assert kinds == sorted(kinds) and {"IMAP", "SMTP"} == set(kinds)
    assert ("IMAP", "Login") in [(kind, step.name) for kind, step in outcome.steps]
    assert all(step.ok for _kind, step in outcome.steps)


def test_a_changed_password_is_a_loss_of_access(stack):
    outcome = probe(custom_probe(stack, password="changed"))
    assert not outcome.ok
    assert (outcome.diagnosis.kind, outcome.diagnosis.state) == ("password", diagnosis.AUTH_LOST)
    kind, last = outcome.steps[-1]  # the report ends with the step that failed; SMTP was not tried
    assert (kind, last.name, last.ok) == ("IMAP", "Login", False)
    assert all(kind == "IMAP" for kind, _step in outcome.steps)


def test_a_server_that_does_not_answer_is_a_passing_failure(stack):
    outcome = probe(custom_probe(stack, imap_port=1))
    assert (outcome.step, outcome.diagnosis.kind, outcome.diagnosis.state) == ("TCP", "refused", None)


def test_a_refused_token_refresh_is_the_sign_in_step(stack):
    def refresh(client):
        raise OAuthError(diagnosis.from_oauth_error("Google", 400, {"error": "invalid_grant"}, address=ALICE))

    item = replace(custom_probe(stack), provider="google", smtp=None, refresh=refresh)
    outcome = probe(item)
    assert (outcome.step, outcome.diagnosis.kind) == ("Sign-in", "revoked")


def test_many_at_once_keep_their_order(stack):
    items = [custom_probe(stack, n, password="changed" if n % 3 == 0 else None) for n in range(12)]
    outcomes = probe_all(items, workers=4)
    assert [o.mailbox_id for o in outcomes] == list(range(12))
    assert [o.ok for o in outcomes] == [n % 3 != 0 for n in range(12)]


def _failed(mailbox_id, provider, kind):
    diag = diagnosis.diagnose(kind, kind, provider=provider, address="x@y", host="h", port=1, detail="d")
    return Outcome(mailbox_id, provider, False, "Sign-in", diag)


def test_a_refused_app_is_an_incident_of_the_app():
    outcomes = [_failed(1, "google", "app_config"), Outcome(2, "google", True), _failed(3, "microsoft", "revoked")]
    (found,) = incidents(outcomes)
    assert (found.provider, found.kind, found.mailbox_ids) == ("google", "app", [1])


def test_many_passing_failures_of_one_provider_are_an_outage():
    outcomes = [_failed(n, "microsoft", "unavailable") for n in range(3)] + [Outcome(9, "microsoft", True)]
    (found,) = incidents(outcomes)
    assert (found.kind, found.mailbox_ids) == ("outage", [0, 1, 2])
    # two failing out of ten is not an outage
    outcomes = [_failed(n, "microsoft", "unavailable") for n in range(2)] + [
        Outcome(n, "microsoft", True) for n in range(10, 18)
    ]
    assert incidents(outcomes) == []
