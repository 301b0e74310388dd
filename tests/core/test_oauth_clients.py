"""The OAuth clients against the provider emulators, through the real libraries."""

import json
import logging
import urllib.parse
import urllib.request

import pytest

from devstack.oauth_emulator import answer_consent
from mailbox_engine.diagnosis import AUTH_LOST, THROTTLED
from mailbox_engine.oauth import GoogleClient, MicrosoftClient, OAuthApp, OAuthError, missing_scopes

REDIRECT = "http://localhost:8069/mail_connected_mailbox/oauth/google/callback"


def google(stack):
    g = stack["google"]
    return GoogleClient(
        OAuthApp(
            g["client_id"],
            g["client_secret"],
            REDIRECT,
            endpoints={
                "auth_uri": f"{g['url']}/o/oauth2/v2/auth",
                "token_uri": f"{g['url']}/token",
                "userinfo_uri": f"{g['url']}/oauth2/v3/userinfo",
            },
        )
    )


def microsoft(stack, cache=""):
    m = stack["microsoft"]
    app = OAuthApp(
        m["client_id"],
        m["client_secret"],
        REDIRECT.replace("google", "microsoft"),
        authority_host=m["url"],
        ca_bundle=m["ca_bundle"],
    )
    return MicrosoftClient(app, cache)


def query(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def google_grant(stack, email, **consent):
    client = google(stack)
    url, verifier = client.start("state-123", email)
    params = query(url)
    assert (params["access_type"], params["prompt"], params["code_challenge_method"]) == ("offline", "consent", "S256")
    assert params["login_hint"] == email and params["state"] == "state-123"
    back = query(answer_consent(url, email, **consent))
    assert back["state"] == "state-123"
    return client, client.finish(back["code"], verifier, email)


def test_google_connect_refresh_and_revoke(stack, switch):
    client, grant = google_grant(stack, "gina@gmail.test")
    assert grant.email == "gina@gmail.test" and grant.refresh_token and grant.access_token
    fresh = client.refresh(grant.refresh_token, "gina@gmail.test")
    assert fresh.access_token != grant.access_token
    switch("revoke", email="gina@gmail.test")
    with pytest.raises(OAuthError) as info:
        client.refresh(grant.refresh_token, "gina@gmail.test")
    assert (info.value.diagnosis.kind, info.value.diagnosis.state) == ("revoked", AUTH_LOST)
    assert info.value.diagnosis.provider_code == "invalid_grant"


def test_google_unticked_mail_permission_is_named(stack):
    with pytest.raises(OAuthError) as info:
        google_grant(stack, "gus@gmail.test", granted=["openid"])
    assert info.value.diagnosis.kind == "permissions"
    assert "https://mail.google.com/" in info.value.diagnosis.render()[0]


def test_google_wrong_verifier(stack):
    client = google(stack)
    url, _verifier = client.start("s", "gil@gmail.test")
    code = query(answer_consent(url, "gil@gmail.test"))["code"]
    with pytest.raises(OAuthError) as info:
        client.finish(code, "not-the-verifier-" + "x" * 40, "gil@gmail.test")
    assert info.value.diagnosis.provider_code == "invalid_grant"


def test_google_throttled(stack, switch):
    client, grant = google_grant(stack, "gwen@gmail.test")
    switch("throttle", seconds=30, count=1)
    with pytest.raises(OAuthError) as info:
        client.refresh(grant.refresh_token, "gwen@gmail.test")
    assert (info.value.diagnosis.state, info.value.diagnosis.retry_after) == (THROTTLED, 30)


def test_google_outage_is_transient(stack, switch):
    client, grant = google_grant(stack, "gabe@gmail.test")
    switch("outage", on=1)
    with pytest.raises(OAuthError) as info:
        client.refresh(grant.refresh_token, "gabe@gmail.test")
    assert info.value.diagnosis.state is None


def test_google_unreachable_endpoint_is_a_network_diagnosis(stack):
    from devstack.util import free_port

    client = google(stack)
    client.endpoints["token_uri"] = f"http://127.0.0.1:{free_port()}/token"
    with pytest.raises(OAuthError) as info:
        client.refresh("rt", "x@gmail.test")
    assert (info.value.diagnosis.kind, info.value.diagnosis.state) == ("refused", None)


def test_google_unknown_host_is_a_dns_diagnosis(stack):
    client = google(stack)
    client.endpoints["token_uri"] = "http://oauth.no-such-host.invalid/token"
    with pytest.raises(OAuthError) as info:
        client.refresh("rt", "x@gmail.test")
    assert info.value.diagnosis.kind == "dns"
    assert "oauth.no-such-host.invalid cannot be found" in info.value.diagnosis.render()[0]


def test_google_rotated_refresh_token_is_kept(stack, monkeypatch):
    client, grant = google_grant(stack, "rota@gmail.test")
    assert client.refresh(grant.refresh_token, "rota@gmail.test").refresh_token == grant.refresh_token


MS_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
MS_SMTP = "https://outlook.office.com/SMTP.Send"


def microsoft_grant(stack, email, unticked=()):
    client = microsoft(stack)
    url, flow = client.start("ms-state", email)
    assert json.loads(flow)["state"] == "ms-state"
    granted = [s for s in query(url)["scope"].split() if s not in unticked]
    back = query(answer_consent(url, email, granted=granted, ca_file=stack["microsoft"]["ca_bundle"]))
    return client.finish(flow, back, email)


def test_microsoft_connect_and_refresh(stack):
    grant = microsoft_grant(stack, "mia@contoso.test")
    assert grant.email == "mia@contoso.test" and grant.token_cache
    assert "RefreshToken" in grant.token_cache
    assert sorted(grant.scopes) == sorted([MS_IMAP, MS_SMTP])
    fresh = microsoft(stack, grant.token_cache).refresh("mia@contoso.test", force=True)
    assert fresh.access_token != grant.access_token and fresh.token_cache


def test_microsoft_unticked_imap_permission_is_named(stack):
    with pytest.raises(OAuthError) as info:
        microsoft_grant(stack, "una@contoso.test", unticked=[MS_IMAP])
    diag = info.value.diagnosis
    assert (diag.kind, diag.state) == ("permissions", AUTH_LOST)
    assert MS_IMAP in diag.render()[0] and MS_SMTP not in diag.render()[0]


def test_microsoft_emulator_grants_only_the_ticked_scopes(stack):
    client = microsoft(stack)
    url, flow = client.start("s", "uma@contoso.test")
    granted = [s for s in query(url)["scope"].split() if s != MS_IMAP]
    back = query(answer_consent(url, "uma@contoso.test", granted=granted, ca_file=stack["microsoft"]["ca_bundle"]))
    result = client.msal.acquire_token_by_auth_code_flow(json.loads(flow), back)
    assert result["scope"] == MS_SMTP
    data = urllib.parse.urlencode({"token": result["access_token"]}).encode()
    with urllib.request.urlopen(f"{stack['google']['url']}/introspect", data=data, timeout=5) as answer:
        assert json.load(answer)["scope"].split() == granted
    account = client.msal.get_accounts()[0]
    refreshed = client.msal.acquire_token_silent_with_error([MS_IMAP, MS_SMTP], account, force_refresh=True)
    assert refreshed["scope"] == MS_SMTP


def test_microsoft_unticked_smtp_permission_is_named(stack):
    with pytest.raises(OAuthError) as info:
        microsoft_grant(stack, "ursa@contoso.test", unticked=[MS_SMTP])
    assert info.value.diagnosis.kind == "permissions"
    assert MS_SMTP in info.value.diagnosis.render()[0]


def test_microsoft_scopes_are_compared_without_case():
    assert missing_scopes(f"{MS_IMAP.upper()} {MS_SMTP.lower()}", [MS_IMAP, MS_SMTP]) == []
    assert missing_scopes([MS_SMTP, "openid"], [MS_IMAP, MS_SMTP]) == [MS_IMAP]


def test_microsoft_sign_in_page_is_plain_http_on_loopback(stack):
    client = microsoft(stack)
    url, flow = client.start("plain", "pia@contoso.test")
    assert url.startswith("http://127.0.0.1:")
    assert url.startswith(f"{stack['microsoft']['browser_url']}/common/oauth2/v2.0/authorize?")
    with urllib.request.urlopen(url, timeout=5) as page:  # what the browser opens: no CA needed
        assert page.status == 200 and b'name="granted"' in page.read()
    back = query(answer_consent(url, "pia@contoso.test"))
    assert back["state"] == "plain"
    grant = client.finish(flow, back, "pia@contoso.test")
    assert grant.email == "pia@contoso.test" and "RefreshToken" in grant.token_cache


@pytest.mark.parametrize(
    ("code", "kind"), [(50173, "revoked"), (700082, "revoked"), (65001, "consent"), (50076, "mfa")]
)
def test_microsoft_refresh_failures(stack, switch, code, kind):
    email = f"m{code}@contoso.test"
    grant = microsoft_grant(stack, email)
    switch("revoke", email=email, code=code)
    with pytest.raises(OAuthError) as info:
        microsoft(stack, grant.token_cache).refresh(email, force=True)
    diag = info.value.diagnosis
    assert (diag.kind, diag.state, diag.provider_code) == (kind, AUTH_LOST, f"AADSTS{code}")
    if kind == "consent":
        assert "/adminconsent?client_id=" in diag.render()[1]


def test_microsoft_tampered_state_is_refused(stack):
    client = microsoft(stack)
    url, flow = client.start("good-state", "max@contoso.test")
    back = query(answer_consent(url, "max@contoso.test", ca_file=stack["microsoft"]["ca_bundle"]))
    back["state"] = "forged"
    with pytest.raises(OAuthError) as info:
        client.finish(flow, back, "max@contoso.test")
    assert info.value.diagnosis.kind == "denied"


def test_tokens_are_never_logged_even_at_debug(stack, caplog):
    caplog.set_level(logging.DEBUG)
    client, grant = google_grant(stack, "log@gmail.test")
    fresh = client.refresh(grant.refresh_token, "log@gmail.test")
    ms = microsoft_grant(stack, "log@contoso.test")
    assert caplog.records  # the libraries did log, at some level
    for secret in (
        grant.refresh_token,
        grant.access_token,
        fresh.access_token,
        ms.access_token,
        stack["google"]["client_secret"],
        stack["microsoft"]["client_secret"],
    ):
        assert secret not in caplog.text
