"""Provider and server errors become a state, a cause and a fix."""

import socket
import ssl

import pytest

from mailbox_engine.diagnosis import (
    AUTH_LOST,
    CATALOG,
    ERROR,
    THROTTLED,
    diagnose,
    from_imap_error,
    from_network_error,
    from_oauth_error,
    from_smtp_error,
)

ADDR = {"address": "ann@example.com"}


def test_google_revoked():
    diag = from_oauth_error(
        "Google", 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, **ADDR
    )
    assert (diag.kind, diag.state, diag.provider_code) == ("revoked", AUTH_LOST, "invalid_grant")
    cause, fix = diag.render()
    assert "Google no longer accepts" in cause and "ann@example.com" in cause and "Reconnect" in fix


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (50173, "revoked"),
        (700082, "revoked"),
        (65001, "consent"),
        (650056, "consent"),
        (50076, "mfa"),
        (50079, "mfa"),
        (7000215, "app_config"),
    ],
)
def test_microsoft_codes(code, kind):
    payload = {"error": "invalid_grant", "error_codes": [code], "error_description": f"AADSTS{code}: text"}
    diag = from_oauth_error("Microsoft", 400, payload, consent_url="https://consent.example/x", **ADDR)
    assert (diag.kind, diag.provider_code) == (kind, f"AADSTS{code}")
    assert diag.state in (AUTH_LOST, ERROR)


def test_microsoft_code_only_in_the_description():
    diag = from_oauth_error(
        "Microsoft", 400, {"error": "invalid_grant", "error_description": "AADSTS50076: Due to a configuration"}, **ADDR
    )
    assert diag.kind == "mfa"


def test_consent_names_the_admin_consent_link():
    diag = from_oauth_error(
        "Microsoft",
        400,
        {"error": "invalid_grant", "error_codes": [65001]},
        consent_url="https://login.example/common/adminconsent?client_id=abc",
        **ADDR,
    )
    assert "https://login.example/common/adminconsent?client_id=abc" in diag.render()[1]


def test_interaction_required_without_code():
    assert from_oauth_error("Microsoft", 400, {"error": "interaction_required"}, **ADDR).kind == "mfa"


def test_throttling_is_not_an_auth_loss():
    diag = from_oauth_error("Google", 429, {"error": "rate_limit_exceeded"}, retry_after=42, **ADDR)
    assert (diag.state, diag.retry_after) == (THROTTLED, 42)
    assert "42 seconds" in diag.render()[1]


def test_outage_is_transient():
    diag = from_oauth_error("Google", 503, {"error": "temporarily_unavailable"}, **ADDR)
    assert diag.state is None


def test_smtp_auth_disabled_at_microsoft():
    diag = from_smtp_error(
        535, b"5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled", provider="Microsoft", **ADDR
    )
    assert (diag.kind, diag.state) == ("smtp_auth_disabled", ERROR)


def test_smtp_throttled():
    assert from_smtp_error(421, b"4.7.0 Try again later", provider="x", **ADDR).state == THROTTLED


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (socket.gaierror(-2, "Name or service not known"), "dns"),
        (ConnectionRefusedError(111, "Connection refused"), "refused"),
        (TimeoutError("timed out"), "timeout"),
    ],
)
def test_network_errors(exc, kind):
    diag = from_network_error(exc, timeout=5, **SERVER)
    assert (diag.kind, diag.state) == (kind, None)
    assert "imap.example.com" in diag.render()[0]


def test_tls_on_a_plain_port():
    exc = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    exc.reason = "WRONG_VERSION_NUMBER"
    diag = from_network_error(exc, **{**SERVER, "port": 143})
    assert (diag.kind, diag.state) == ("no_tls", ERROR)


SERVER = {
    "address": "ann@example.com",
    "provider": "imap.example.com",
    "host": "imap.example.com",
    "port": 993,
    "protocol": "IMAP",
    "ssl_port": 993,
    "starttls_port": 143,
}


def test_every_kind_renders_with_the_parameters_callers_give():
    extra = {
        "timeout": 15,
        "detail": "x",
        "missing": "y",
        "signed_in": "z@example.com",
        "consent_url": "https://consent",
        "retry_after": 30,
        "error": "w",
    }
    for kind in CATALOG:
        cause, fix = diagnose(kind, **SERVER, **extra).render()
        assert "{" not in cause + fix, kind


def test_unexpected_imap_refusal_is_a_protocol_error_not_a_crash():
    diag = from_imap_error("[ALERT] Application-specific password required", with_password=True, **SERVER)
    assert (diag.kind, diag.state) == ("protocol", ERROR)
    assert "Application-specific password required" in diag.render()[0]


def test_unexpected_smtp_refusal_is_a_protocol_error_not_a_crash():
    diag = from_smtp_error(530, b"5.7.0 Must issue a STARTTLS command first", **{**SERVER, "protocol": "SMTP"})
    assert diag.kind == "protocol"
    assert "530 5.7.0 Must issue a STARTTLS" in diag.render()[0]


def test_unknown_request_error_is_not_called_temporary():
    diag = from_oauth_error("Google", 400, {"error": "redirect_uri_mismatch"}, **ADDR)
    assert (diag.kind, diag.state) == ("request", ERROR)
    assert "redirect URI" in diag.render()[1]


@pytest.mark.parametrize(
    "answer",
    [
        "b'[AUTHENTICATIONFAILED] Authentication failed.'",  # Dovecot
        "b'Login failed: authentication failure'",  # Cyrus
        "b'Login failed.'",  # Courier
        "b'LOGON failure: unknown user name or bad password.'",  # Exchange on premises
        "b'AUTHENTICATE failed.'",  # Exchange Online
    ],
)
def test_a_refused_sign_in_is_the_password_whatever_the_server_s_words(answer):
    # imapclient's LoginError of a NO answer to LOGIN/AUTHENTICATE: the server's words
    assert from_imap_error(answer, with_password=True, **SERVER).kind == "password"
    assert from_imap_error(answer, with_password=False, **SERVER).kind == "revoked"


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("LOGIN command error: BAD [b'Error in IMAP command LOGIN: Missing arguments']", "protocol"),
        ("b'[UNAVAILABLE] Temporary authentication failure'", "throttled"),
        ("b'[PRIVACYREQUIRED] Plaintext authentication disallowed'", "protocol"),
    ],
)
def test_a_sign_in_answer_that_is_not_about_the_credentials_is_not_taken_for_them(answer, kind):
    assert from_imap_error(answer, with_password=True, **SERVER).kind == kind
