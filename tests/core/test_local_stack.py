"""The local services behave like the real ones the addon will meet."""

import base64
import os
import smtplib

import imapclient
import msal
import pytest
from google_auth_oauthlib.flow import Flow
from imapclient.exceptions import LoginError

from devstack.oauth_emulator import answer_consent
from devstack.testkit import company_server_values

REDIRECT = "http://localhost:8069/mail_connected_mailbox/oauth/google/callback"


def imap(stack):
    return imapclient.IMAPClient(stack["host"], port=stack["imap_port"], ssl=False, timeout=10)


def google_flow(stack, **kwargs):
    g = stack["google"]
    config = {
        "web": {
            "client_id": g["client_id"],
            "client_secret": g["client_secret"],
            "auth_uri": f"{g['url']}/o/oauth2/v2/auth",
            "token_uri": f"{g['url']}/token",
        }
    }
    return Flow.from_client_config(config, scopes=["https://mail.google.com/"], redirect_uri=REDIRECT, **kwargs)


def google_tokens(stack, email, monkeypatch):
    # The emulator speaks plain HTTP on loopback; oauthlib insists on HTTPS otherwise.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    flow = google_flow(stack)
    auth_uri, state = flow.authorization_url(prompt="consent")
    callback = answer_consent(auth_uri, email)
    assert f"state={state}" in callback
    flow.fetch_token(authorization_response=callback)
    return flow


def test_password_login_and_folders(stack):
    client = imap(stack)
    client.login("alice@mail.test", stack["accounts"]["alice@mail.test"])
    flags = {name: flags for flags, _sep, name in client.list_folders()}
    assert b"\\Sent" in flags["Sent"] and b"\\Trash" in flags["Trash"]
    assert b"CONDSTORE" in client.capabilities()
    client.logout()


def test_wrong_password_is_authenticationfailed(stack):
    with pytest.raises(LoginError, match="AUTHENTICATIONFAILED"):
        imap(stack).login("alice@mail.test", "not-the-password")


def test_google_code_flow_with_pkce_then_imap_and_smtp_xoauth2(stack, monkeypatch):
    flow = google_tokens(stack, "zoe@gmail.test", monkeypatch)
    creds = flow.credentials
    assert creds.refresh_token and creds.token
    client = imap(stack)
    assert client.oauth2_login("zoe@gmail.test", creds.token) == [b"Logged in"]
    client.logout()
    smtp = smtplib.SMTP(stack["host"], stack["submission_port"], timeout=10)
    smtp.ehlo()
    sasl = base64.b64encode(f"user=zoe@gmail.test\x01auth=Bearer {creds.token}\x01\x01".encode()).decode()
    assert smtp.docmd("AUTH", "XOAUTH2 " + sasl)[0] == 235
    smtp.sendmail("zoe@gmail.test", ["lead@example.com"], b"Subject: hello\r\n\r\nfrom the test")
    smtp.quit()


def test_wrong_pkce_verifier_is_refused(stack, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    flow = google_flow(stack)
    auth_uri, _state = flow.authorization_url(prompt="consent")
    callback = answer_consent(auth_uri, "zoe@gmail.test")
    flow.code_verifier = "x" * 64
    with pytest.raises(Exception, match="invalid_grant"):
        flow.fetch_token(authorization_response=callback)


def test_revoked_google_token_fails_everywhere(stack, switch, monkeypatch):
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request

    creds = google_tokens(stack, "yan@gmail.test", monkeypatch).credentials
    switch("revoke", email="yan@gmail.test")
    with pytest.raises(LoginError, match="AUTHENTICATIONFAILED"):
        imap(stack).oauth2_login("yan@gmail.test", creds.token)
    smtp = smtplib.SMTP(stack["host"], stack["submission_port"], timeout=10)
    smtp.ehlo()
    sasl = base64.b64encode(f"user=yan@gmail.test\x01auth=Bearer {creds.token}\x01\x01".encode()).decode()
    code, challenge = smtp.docmd("AUTH", "XOAUTH2 " + sasl)
    assert code == 334  # XOAUTH2: the error comes as a challenge, answered with an empty line
    assert b'"status"' in base64.b64decode(challenge)
    code, text = smtp.docmd("")
    assert (code, text[:5]) == (535, b"5.7.8")
    with pytest.raises(RefreshError, match=r"invalid_grant: Token has been expired or revoked\."):
        creds.refresh(Request())


def test_provider_outage_is_a_temporary_failure(stack, switch, monkeypatch):
    creds = google_tokens(stack, "xia@gmail.test", monkeypatch).credentials
    switch("outage", on=1)
    with pytest.raises(LoginError, match="UNAVAILABLE"):
        imap(stack).oauth2_login("xia@gmail.test", creds.token)


def test_throttling_answers_429_with_retry_after(stack, switch, monkeypatch):
    import requests

    creds = google_tokens(stack, "wu@gmail.test", monkeypatch).credentials
    switch("throttle", seconds=42, count=1)
    answer = requests.post(
        creds.token_uri,
        data={
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
        timeout=5,
    )
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "42"


def microsoft_app(stack, cache=None):
    import requests

    m = stack["microsoft"]
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override the emulator's CA
    session.verify = m["ca_bundle"]
    return msal.ConfidentialClientApplication(
        m["client_id"],
        client_credential=m["client_secret"],
        oidc_authority=f"{m['url']}/common/v2.0",
        token_cache=cache,
        http_client=session,
        timeout=10,
    )


SCOPES = ["https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send"]


def microsoft_login(stack, email):
    cache = msal.SerializableTokenCache()
    app = microsoft_app(stack, cache)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://localhost:8069/cb", prompt="consent")
    callback = answer_consent(flow["auth_uri"], email, ca_file=stack["microsoft"]["ca_bundle"])
    import urllib.parse

    response = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert "access_token" in result, result
    return cache, result


def test_msal_code_flow_silent_refresh_and_imap(stack):
    cache, result = microsoft_login(stack, "max@contoso.test")
    assert imap(stack).oauth2_login("max@contoso.test", result["access_token"]) == [b"Logged in"]
    app = microsoft_app(stack, cache)
    account = app.get_accounts()[0]
    assert account["username"] == "max@contoso.test"
    refreshed = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
    assert refreshed["access_token"] != result["access_token"]


@pytest.mark.parametrize("code", [50173, 700082, 65001, 50076])
def test_msal_revocation_reports_the_aadsts_code(stack, switch, code):
    email = f"rev{code}@contoso.test"
    cache, _result = microsoft_login(stack, email)
    switch("revoke", email=email, code=code)
    app = microsoft_app(stack, cache)
    error = app.acquire_token_silent_with_error(SCOPES, app.get_accounts()[0], force_refresh=True)
    assert error and "access_token" not in error
    assert code in error["error_codes"]
    assert error["error_description"].startswith(f"AADSTS{code}:")


def test_make_run_sends_the_companys_mail_to_the_sink(stack):
    """The company's server of `make run`: the sink, on loopback, without TLS or sign-in,
    and the sink takes what is sent to it (the file the README points at)."""
    values = company_server_values(stack)
    assert (values["smtp_host"], values["smtp_port"]) == ("127.0.0.1", stack["sink_port"])
    assert (values["smtp_encryption"], values["smtp_user"]) == ("none", False)
    subject = "Company server check"
    with smtplib.SMTP(values["smtp_host"], values["smtp_port"], timeout=10) as client:
        client.sendmail("notifications@company.test", ["ada@example.com"], f"Subject: {subject}\r\n\r\nAlert\r\n")
    found = []
    for name in sorted(os.listdir(stack["sink_folder"])):
        with open(os.path.join(stack["sink_folder"], name), encoding="utf-8") as fh:
            found.append(subject in fh.read())
    assert any(found)


def test_the_plain_server_names_no_roles_and_announces_no_condstore_nor_move(stack):
    client = imapclient.IMAPClient(stack["host"], port=stack["plain"]["imap_port"], ssl=False, timeout=10)
    client.login("bob@mail.test", stack["accounts"]["bob@mail.test"])
    try:
        assert not {b"CONDSTORE", b"MOVE", b"SPECIAL-USE"} & set(client.capabilities())
        folders = client.list_folders()
        assert {"Sent", "Archive", "Trash"} <= {path for _flags, _sep, path in folders}
        assert not any(flag in (b"\\Sent", b"\\Archive", b"\\Trash") for flags, _s, _p in folders for flag in flags)
    finally:
        client.logout()


def test_the_proxy_rewrites_the_server_s_lines_and_cuts_in_the_middle_of_a_literal(stack):
    from devstack.tcp_proxy import Proxy

    with Proxy(stack["imap_port"]) as proxy:
        client = imapclient.IMAPClient(stack["host"], port=proxy.port, ssl=False, timeout=10)
        client.login("carol@mail.test", stack["accounts"]["carol@mail.test"])
        path = "Proxy-" + os.urandom(3).hex()
        client.create_folder(path)
        try:
            client.append(path, b"Subject: long\r\nMessage-ID: <p1@customer.test>\r\n\r\n" + b"y" * 5000 + b"\r\n")
            client.select_folder(path)
            proxy.rewrite(lambda line, _conn: line.replace(b"FIELDS (MESSAGE-ID)", b'FIELDS ("MESSAGE-ID")'))
            answer = client.fetch([1], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])[1]
            assert answer[b'BODY[HEADER.FIELDS ("MESSAGE-ID")]'].startswith(b"Message-ID: <p1@customer.test>")
            proxy.clear()
            proxy.cut("down", after=100, pattern=b"BODY[] {")
            other = imapclient.IMAPClient(stack["host"], port=proxy.port, ssl=False, timeout=10)
            other.login("carol@mail.test", stack["accounts"]["carol@mail.test"])
            other.select_folder(path)
            with pytest.raises((OSError, imapclient.exceptions.IMAPClientAbortError)):
                other.fetch([1], ["BODY.PEEK[]"])
            assert proxy.cuts == 1
            assert len(client.fetch([1], ["BODY.PEEK[]"])[1][b"BODY[]"]) > 5000  # the first connection goes on
        finally:
            client.delete_folder(path)
            client.logout()
