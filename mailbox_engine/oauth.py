"""OAuth 2 for Google (``google-auth-oauthlib``) and Microsoft (``msal``).

Both clients do the same four things with plain values in and out, so that the
addon stores what they return (encrypted) and never talks HTTP itself:

* ``start(state, login_hint)`` -> ``(authorization URL, secret to keep for this attempt)``
* ``finish(...)`` -> :class:`Grant` (tokens, the signed-in address, granted scopes)
* ``refresh(...)`` -> :class:`Grant` with a fresh access token
* every failure raises :class:`OAuthError` carrying a :class:`~.diagnosis.Diagnosis`.

Endpoints are configuration: the real providers by default, the local emulators in
tests and demos. Every request has a timeout.
"""

import contextlib
import json
import logging
import os
import threading
import time
import urllib.parse
import warnings
from dataclasses import dataclass, field

import requests

from . import diagnosis
from .providers import GOOGLE, MICROSOFT

# requests-oauthlib logs whole token responses (access and refresh tokens) at DEBUG, and
# oauthlib the request bodies: keep both at INFO whatever the global log level is.
for _name in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_name).setLevel(logging.INFO)

GOOGLE_ENDPOINTS = {
    "auth_uri": "https://accounts.google.com/o/oauth2/v2/auth",
    "token_uri": "https://oauth2.googleapis.com/token",
    "userinfo_uri": "https://openidconnect.googleapis.com/v1/userinfo",
}
MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"
MICROSOFT_SCOPES = [s for s in MICROSOFT.scopes]
GOOGLE_SCOPES = list(GOOGLE.scopes)
GOOGLE_MAIL_SCOPE = "https://mail.google.com/"


def missing_scopes(granted, wanted):
    """The ``wanted`` scopes absent from ``granted`` (a list or a space-separated string).

    Scope URIs are compared without regard to case: Microsoft does not keep the case
    the application asked for.
    """
    if isinstance(granted, str):
        granted = granted.split()
    have = {s.lower() for s in granted}
    return [s for s in wanted if s.lower() not in have]


class OAuthError(Exception):
    """The provider refused or failed; ``diagnosis`` says what it means and what to do."""

    def __init__(self, diag):
        super().__init__(diag.kind)
        self.diagnosis = diag


@dataclass
class Grant:
    access_token: str
    expires_at: float
    email: str = ""
    refresh_token: str = ""  # Google: kept across refreshes
    token_cache: str = ""  # Microsoft: msal's serialized cache (holds the refresh token)
    scopes: list = field(default_factory=list)


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    redirect_uri: str
    endpoints: dict = field(default_factory=dict)  # Google: auth_uri, token_uri, userinfo_uri
    tenant: str = "common"  # Microsoft
    authority_host: str = MICROSOFT_AUTHORITY_HOST  # Microsoft; an emulator's URL in tests
    ca_bundle: str = ""  # trust this CA file instead of the system's (emulators only)
    timeout: float = 15.0


def _session(app):
    session = requests.Session()
    if app.ca_bundle:
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override the configured CA
        session.verify = app.ca_bundle
    return session


DISCOVERY_SECONDS = 3600  # a provider's endpoints, once discovered, serve this long in a process
_discovered = {}  # (trusted CA, URL, query) -> (monotonic expiry, the answer)
_discovered_lock = threading.Lock()


class _DiscoveryCache:
    """msal's HTTP client: its metadata requests (``GET``: the OpenID configuration,
    the instance discovery) are answered from a cache of the process once they worked,
    so a client made per mailbox does not ask the provider for its endpoints each time.
    Only a 200 is kept: an error is asked again next time; token requests (``POST``)
    always go to the provider."""

    def __init__(self, session, trust):
        self.session, self.trust = session, trust

    def get(self, url, params=None, **kwargs):
        key = (self.trust, url, repr(sorted(params.items()) if isinstance(params, dict) else params))
        now = time.monotonic()
        with _discovered_lock:
            kept = _discovered.get(key)
        if kept and kept[0] > now:
            return kept[1]
        answer = self.session.get(url, params=params, **kwargs)
        if answer.status_code == 200:
            _body = answer.content  # read now: the kept answer is read again by other threads
            with _discovered_lock:
                _discovered[key] = (now + DISCOVERY_SECONDS, answer)
        return answer

    def post(self, *args, **kwargs):
        return self.session.post(*args, **kwargs)

    def close(self):
        self.session.close()


@contextlib.contextmanager
def _oauthlib_relaxed(url):
    """Let oauthlib report narrowed scopes to us instead of raising, and accept plain HTTP
    only for an endpoint on this machine (the local emulator)."""
    names = ["OAUTHLIB_RELAX_TOKEN_SCOPE"]
    host = urllib.parse.urlsplit(url).hostname or ""
    if url.startswith("http://") and host in ("127.0.0.1", "localhost", "::1"):
        names.append("OAUTHLIB_INSECURE_TRANSPORT")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _retry_after(response):
    value = response.headers.get("Retry-After", "") if response is not None else ""
    return int(value) if value.isdigit() else None


def _root_cause(exc):
    """The innermost error behind a requests failure (socket.gaierror, ConnectionRefusedError, SSL…)."""
    for _ in range(10):
        reason = getattr(exc, "reason", None)
        inner = reason if isinstance(reason, BaseException) else None
        inner = inner or exc.__cause__ or exc.__context__
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        if inner is None:
            return exc
        exc = inner
    return exc


def _network(exc, provider, address, url, timeout):
    split = urllib.parse.urlsplit(url)
    root = TimeoutError() if isinstance(exc, requests.Timeout) else _root_cause(exc)
    if not isinstance(root, OSError):
        root = ConnectionError(str(root))
    return OAuthError(
        diagnosis.from_network_error(
            root,
            host=split.hostname,
            port=split.port or (443 if split.scheme == "https" else 80),
            provider=provider,
            address=address,
            timeout=timeout,
        )
    )


class GoogleClient:
    label = "Google"

    def __init__(self, app):
        self.app = app
        self.endpoints = {**GOOGLE_ENDPOINTS, **{k: v for k, v in app.endpoints.items() if v}}

    def _flow(self, state=None, code_verifier=None):
        from google_auth_oauthlib.flow import Flow

        config = {
            "web": {
                "client_id": self.app.client_id,
                "client_secret": self.app.client_secret,
                "auth_uri": self.endpoints["auth_uri"],
                "token_uri": self.endpoints["token_uri"],
            }
        }
        flow = Flow.from_client_config(
            config,
            scopes=GOOGLE_SCOPES,
            redirect_uri=self.app.redirect_uri,
            state=state,
            code_verifier=code_verifier,
            autogenerate_code_verifier=code_verifier is None,
        )
        if self.app.ca_bundle:
            flow.oauth2session.verify = self.app.ca_bundle
            flow.oauth2session.trust_env = False
        return flow

    def start(self, state, login_hint=""):
        """The consent URL (offline access, consent prompt, PKCE S256) and the PKCE verifier."""
        flow = self._flow(state=state)
        with _oauthlib_relaxed(self.endpoints["auth_uri"]):
            url, _state = flow.authorization_url(
                access_type="offline", prompt="consent", include_granted_scopes="false", login_hint=login_hint or None
            )
        return url, flow.code_verifier

    def finish(self, code, code_verifier, address=""):
        """Exchange the authorization code; check the granted scopes; learn the address."""
        from oauthlib.oauth2.rfc6749.errors import OAuth2Error

        flow = self._flow(code_verifier=code_verifier)
        seen = {}
        flow.oauth2session.register_compliance_hook("access_token_response", lambda r: seen.setdefault("r", r) or r)
        try:
            with _oauthlib_relaxed(self.endpoints["token_uri"]):
                token = flow.fetch_token(code=code, timeout=self.app.timeout)
        except OAuth2Error as exc:
            payload = {"error": exc.error, "error_description": exc.description or ""}
            raise OAuthError(
                diagnosis.from_oauth_error(
                    self.label, exc.status_code, payload, _retry_after(seen.get("r")), address=address
                )
            ) from None
        except requests.RequestException as exc:
            raise _network(exc, self.label, address, self.endpoints["token_uri"], self.app.timeout) from None
        granted = token.get("scope") or []
        granted = granted.split() if isinstance(granted, str) else list(granted)
        if GOOGLE_MAIL_SCOPE not in granted:
            raise OAuthError(
                diagnosis.diagnose(
                    "permissions", "scope", provider=self.label, address=address, missing=GOOGLE_MAIL_SCOPE
                )
            )
        if not token.get("refresh_token"):
            raise OAuthError(diagnosis.diagnose("denied", "no refresh token", provider=self.label, address=address))
        email = self._userinfo(token["access_token"], address)
        return Grant(
            token["access_token"],
            float(token.get("expires_at") or time.time() + 3000),
            email=email,
            refresh_token=token["refresh_token"],
            scopes=granted,
        )

    def _userinfo(self, access_token, address):
        url = self.endpoints["userinfo_uri"]
        try:
            answer = _session(self.app).get(
                url, headers={"Authorization": f"Bearer {access_token}"}, timeout=self.app.timeout
            )
        except requests.RequestException as exc:
            raise _network(exc, self.label, address, url, self.app.timeout) from None
        if answer.status_code != 200:
            raise OAuthError(
                diagnosis.from_oauth_error(
                    self.label, answer.status_code, _json(answer), _retry_after(answer), address=address
                )
            )
        return (_json(answer).get("email") or "").lower()

    def refresh(self, refresh_token, address=""):
        url = self.endpoints["token_uri"]
        data = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.app.client_id,
            "client_secret": self.app.client_secret,
        }
        try:
            answer = _session(self.app).post(url, data=data, timeout=self.app.timeout)
        except requests.RequestException as exc:
            raise _network(exc, self.label, address, url, self.app.timeout) from None
        payload = _json(answer)
        if answer.status_code != 200 or "access_token" not in payload:
            raise OAuthError(
                diagnosis.from_oauth_error(
                    self.label, answer.status_code, payload, _retry_after(answer), address=address
                )
            )
        return Grant(
            payload["access_token"],
            time.time() + int(payload.get("expires_in", 3600)),
            email=address,
            refresh_token=payload.get("refresh_token") or refresh_token,
            scopes=payload.get("scope", "").split(),
        )


class MicrosoftClient:
    label = "Microsoft"

    def __init__(self, app, token_cache=""):
        import msal

        self.app = app
        self.cache = msal.SerializableTokenCache()
        if token_cache:
            self.cache.deserialize(token_cache)
        base = app.authority_host.rstrip("/")
        kwargs = {
            "client_credential": app.client_secret,
            "token_cache": self.cache,
            "timeout": app.timeout,
            "http_client": _DiscoveryCache(_session(app), app.ca_bundle),
        }
        if base == MICROSOFT_AUTHORITY_HOST:
            kwargs["authority"] = f"{base}/{app.tenant or 'common'}"
        else:  # an emulator, or a sovereign cloud given as an OIDC issuer
            kwargs["oidc_authority"] = f"{base}/{app.tenant or 'common'}/v2.0"
        try:
            self.msal = msal.ConfidentialClientApplication(app.client_id, **kwargs)
        except (requests.RequestException, ValueError) as exc:
            raise _network(
                exc if isinstance(exc, requests.RequestException) else ConnectionError(),
                self.label,
                "",
                base,
                app.timeout,
            ) from None

    def admin_consent_url(self):
        base = self.app.authority_host.rstrip("/")
        query = urllib.parse.urlencode({"client_id": self.app.client_id, "redirect_uri": self.app.redirect_uri})
        return f"{base}/{self.app.tenant or 'common'}/adminconsent?{query}"

    def start(self, state, login_hint=""):
        """The sign-in URL and msal's flow (with its PKCE verifier and nonce) as JSON."""
        # The answer comes back as a query string, not form_post: the callback needs the
        # user's Odoo session, whose SameSite=Lax cookie a cross-site POST would not carry.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
            flow = self.msal.initiate_auth_code_flow(
                MICROSOFT_SCOPES,
                redirect_uri=self.app.redirect_uri,
                state=state,
                prompt="select_account",
                login_hint=login_hint or None,
            )
        return flow["auth_uri"], json.dumps(flow)

    def _error(self, result, address):
        return OAuthError(
            diagnosis.from_oauth_error(
                self.label,
                429 if "throttled" in str(result.get("error_description", "")).lower() else 400,
                result,
                result.get("retry_after"),
                address=address,
                consent_url=self.admin_consent_url(),
            )
        )

    def finish(self, flow_json, response_params, address=""):
        """Redeem the code (msal checks state, PKCE and nonce); return the grant and its cache."""
        flow = json.loads(flow_json)
        try:
            result = self.msal.acquire_token_by_auth_code_flow(flow, dict(response_params))
        except ValueError:
            raise OAuthError(diagnosis.diagnose("denied", "state", provider=self.label, address=address)) from None
        except requests.RequestException as exc:
            raise _network(exc, self.label, address, self.app.authority_host, self.app.timeout) from None
        if "access_token" not in result:
            raise self._error(result, address)
        granted = self._granted_scopes(result)
        missing = missing_scopes(granted, MICROSOFT_SCOPES)
        if missing:
            raise OAuthError(
                diagnosis.diagnose(
                    "permissions", "scope", provider=self.label, address=address, missing=", ".join(missing)
                )
            )
        claims = result.get("id_token_claims") or {}
        # preferred_username is usually the address, but not always (aliases, guest
        # accounts): accept the mailbox's address when either claim names it.
        names = [(claims.get(k) or "").lower() for k in ("preferred_username", "email")]
        email = address.lower() if address and address.lower() in names else next((n for n in names if n), "")
        return Grant(
            result["access_token"],
            time.time() + int(result.get("expires_in", 3600)),
            email=email,
            token_cache=self.cache.serialize(),
            scopes=granted,
        )

    @staticmethod
    def _granted_scopes(result):
        # OAuth 2 (RFC 6749, 5.1) leaves "scope" out when it equals what was asked
        if "scope" not in result:
            return list(MICROSOFT_SCOPES)
        scope = result["scope"]
        return scope.split() if isinstance(scope, str) else list(scope)

    def refresh(self, address, force=False):
        """A valid access token from the cache, refreshed when needed (msal decides)."""
        accounts = [a for a in self.msal.get_accounts() if (a.get("username") or "").lower() == address.lower()]
        if not accounts:
            raise OAuthError(diagnosis.diagnose("revoked", "no account in cache", provider=self.label, address=address))
        try:
            result = self.msal.acquire_token_silent_with_error(MICROSOFT_SCOPES, accounts[0], force_refresh=force)
        except requests.RequestException as exc:
            raise _network(exc, self.label, address, self.app.authority_host, self.app.timeout) from None
        if not result or "access_token" not in result:
            raise self._error(result or {"error": "invalid_grant"}, address)
        return Grant(
            result["access_token"],
            time.time() + int(result.get("expires_in", 3600)),
            email=address,
            token_cache=self.cache.serialize() if self.cache.has_state_changed else "",
        )


def _json(answer):
    try:
        payload = answer.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
