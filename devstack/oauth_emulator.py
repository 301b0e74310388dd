"""Google-like and Microsoft-like OAuth 2 providers on loopback, for tests and demos.

They speak the documented requests and answers of the real endpoints closely
enough for the real client libraries (``google-auth-oauthlib``, ``msal``) and for
Dovecot's ``oauth2`` passdb (token introspection):

* Google: ``/o/oauth2/v2/auth`` (consent page), ``/token`` (``authorization_code``
  with PKCE, ``refresh_token``), ``/oauth2/v3/userinfo``, ``/revoke``;
  errors as ``{"error": "invalid_grant", "error_description": "Token has been
  expired or revoked."}``.
* Microsoft (HTTPS, as ``msal`` requires): ``/{tenant}/v2.0/.well-known/openid-configuration``,
  ``/{tenant}/oauth2/v2.0/authorize``, ``/{tenant}/oauth2/v2.0/token``, errors carrying
  ``AADSTS`` codes, ``error_codes`` and ``suberror``. The discovery document sends the
  browser to the same handler on a plain-HTTP loopback port, so that the sign-in page
  shows no certificate warning.
* Both consent pages grant only the permissions left ticked.
* For Dovecot: ``POST /introspect`` (``token=…``) answers ``{"active": …, "email": …}``.
* Test-only switches under ``/_test/``: revoke an account (with the provider's
  error code), expired client secrets (``expire_secret``: Google ``invalid_client``,
  Microsoft AADSTS7000222), an outage (HTTP 503), throttling (HTTP 429 with ``Retry-After``),
  access tokens of a shorter life (``lifetime``, ``seconds``), reset, and a read-out of the state.
"""

import base64
import datetime
import hashlib
import html
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOGLE_REVOKED = "Token has been expired or revoked."

# Microsoft Entra errors the emulator can produce (code -> error, suberror, text)
MICROSOFT_ERRORS = {
    50173: (
        "invalid_grant",
        "",
        "The provided grant has expired due to it being revoked, "
        "a fresh auth token is needed. The user might have changed or reset their password.",
    ),
    700082: ("invalid_grant", "", "The refresh token has expired due to inactivity."),
    65001: ("invalid_grant", "consent_required", "The user or administrator has not consented to use the application."),
    650056: (
        "invalid_client",
        "",
        "Misconfigured application. The client has not listed any "
        "permissions in the requested permissions, or the admin has not consented.",
    ),
    50076: (
        "interaction_required",
        "basic_action",
        "Due to a configuration change made by your "
        "administrator, or because you moved to a new location, you must use multi-factor "
        "authentication.",
    ),
    50079: (
        "interaction_required",
        "basic_action",
        "Due to a configuration change made by your administrator, you must enroll in multi-factor authentication.",
    ),
    7000222: ("invalid_client", "", "The provided client secret keys for app are expired."),
}
ACCESS_TOKEN_LIFETIME = 3599


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_jwt(claims):
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}."


def _pkce_ok(challenge, method, verifier):
    if not challenge:
        return True
    if not verifier:
        return False
    if method == "S256":
        return _b64url(hashlib.sha256(verifier.encode()).digest()) == challenge
    return verifier == challenge


class ProviderState:
    """Everything both emulated providers know; shared with Dovecot's introspection."""

    def __init__(self, clients=None):
        self.lock = threading.Lock()
        self.clients = dict(clients or {})  # client_id -> secret
        self.reset()

    def reset(self):
        with self.lock:
            self.codes = {}
            self.refresh_tokens = {}  # token -> {email, provider, client_id, scope, alive}
            self.access_tokens = {}  # token -> {email, expires, refresh}
            self.revoked = {}  # email -> error code (Microsoft) or True (Google)
            self.outage = False
            self.secret_expired = False  # the apps' client secrets expired (an app incident)
            self.throttle = None  # {"seconds": n, "count": k}
            self.lifetime = ACCESS_TOKEN_LIFETIME  # seconds an access token lives (``lifetime`` switch)
            self.requests = []

    # --- test switches -------------------------------------------------
    def revoke(self, email, code=None):
        email = email.lower()
        with self.lock:
            self.revoked[email] = code or True
            for info in self.access_tokens.values():
                if info["email"] == email:
                    info["expires"] = 0

    def take_throttle(self):
        with self.lock:
            if not self.throttle or self.throttle["count"] <= 0:
                return None
            self.throttle["count"] -= 1
            return self.throttle["seconds"]

    # --- grants ----------------------------------------------------------
    def new_code(self, **info):
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = dict(info, created=time.time())
        return code

    def issue_tokens(self, email, provider, client_id, scope, refresh=None):
        access = "at-" + secrets.token_urlsafe(32)
        with self.lock:
            if refresh is None:
                refresh = "rt-" + secrets.token_urlsafe(32)
                self.refresh_tokens[refresh] = {
                    "email": email,
                    "provider": provider,
                    "client_id": client_id,
                    "scope": scope,
                    "alive": True,
                }
            self.access_tokens[access] = {
                "email": email,
                "expires": time.time() + self.lifetime,
                "refresh": refresh,
                "scope": scope,
            }
        return access, refresh

    def introspect(self, token):
        with self.lock:
            info = self.access_tokens.get(token)
            if not info or info["expires"] < time.time() or info["email"] in self.revoked:
                return None
            return dict(info)


class _Server(ThreadingHTTPServer):
    # a provider takes many sign-ins at once: with the default backlog of 5, the
    # connections beyond it wait a second for the client to try again
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    server_version = "OAuthEmulator/1.0"
    state: ProviderState = None  # set on the subclass
    base_url = ""
    _granted = None  # the ticked scopes of the consent form being handled

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    # --- plumbing ------------------------------------------------------------
    def _body_params(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(raw or "{}")
        multi = urllib.parse.parse_qs(raw, keep_blank_values=True)
        # a consent form sends one "granted" per ticked box, and none when all are unticked
        if "granted" in multi:
            self._granted = multi["granted"]
        elif "decision" in multi:
            self._granted = []
        return {k: v[-1] for k, v in multi.items()}

    def _granted_from_form(self, params):
        """The scopes left ticked on the consent page (all asked ones without a form)."""
        if self._granted is not None:
            return list(self._granted)
        return params.get("scope", "").split()

    def _basic_client(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            return urllib.parse.unquote(cid), urllib.parse.unquote(secret)
        return None, None

    def _json(self, status, payload, headers=None):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _html(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, url):
        self.send_response(302)
        self.send_header("Location", url)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _route(self, method):
        self._granted = None
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        params = dict(query)
        if method == "POST":
            params.update(self._body_params())
        self.state.requests.append((method, parsed.path))
        if parsed.path.startswith("/_test/"):
            return self._test_switch(parsed.path[len("/_test/") :], params)
        if parsed.path == "/introspect" and method == "POST":
            return self._introspect(params)
        return self.route(method, parsed.path, params)

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    # --- shared endpoints ------------------------------------------------------
    def _introspect(self, params):
        if self.state.outage:
            return self._json(503, {"error": "temporarily_unavailable"})
        info = self.state.introspect(params.get("token", ""))
        if not info:
            return self._json(200, {"active": False})
        return self._json(
            200, {"active": True, "email": info["email"], "scope": info["scope"], "exp": int(info["expires"])}
        )

    def _test_switch(self, name, params):
        state = self.state
        if name == "revoke":
            code = params.get("code")
            state.revoke(params["email"], int(code) if code else None)
        elif name == "unrevoke":
            with state.lock:
                state.revoked.pop(params["email"].lower(), None)
        elif name == "outage":
            state.outage = str(params.get("on", "1")).lower() in ("1", "true", "yes", "on")
        elif name == "expire_secret":
            state.secret_expired = str(params.get("on", "1")).lower() in ("1", "true", "yes", "on")
        elif name == "throttle":
            with state.lock:
                state.throttle = {"seconds": int(params.get("seconds", 30)), "count": int(params.get("count", 1))}
        elif name == "expire":
            with state.lock:
                for info in state.access_tokens.values():
                    if info["email"] == params["email"].lower():
                        info["expires"] = 0
        elif name == "lifetime":
            state.lifetime = int(params.get("seconds", ACCESS_TOKEN_LIFETIME))
        elif name == "reset":
            state.reset()
        elif name != "state":
            return self._json(404, {"error": "unknown switch"})
        with state.lock:
            return self._json(
                200,
                {
                    "revoked": {k: v for k, v in state.revoked.items()},
                    "outage": state.outage,
                    "refresh_tokens": len(state.refresh_tokens),
                    "access_tokens": len(state.access_tokens),
                    "requests": len(state.requests),
                },
            )

    PAGE_STYLE = (
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f3f4f6;color:#1f2937;"
        "margin:0;padding:3rem 1rem}"
        ".card{max-width:28rem;margin:0 auto;background:#fff;border-radius:.75rem;padding:2rem;"
        "box-shadow:0 1px 3px rgba(0,0,0,.12)}"
        "h1{font-size:1.35rem;margin:0 0 .5rem}.muted{color:#6b7280;font-size:.9rem;margin:0 0 1.5rem}"
        "label{display:block;margin:.5rem 0}input[name=email]{display:block;width:100%;box-sizing:border-box;"
        "padding:.55rem .7rem;margin-top:.25rem;border:1px solid #d1d5db;border-radius:.4rem;font-size:1rem}"
        ".scope{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}"
        ".actions{display:flex;flex-direction:row-reverse;gap:.5rem;margin-top:1.5rem}"
        "button{padding:.55rem 1.2rem;border-radius:.4rem;border:1px solid #d1d5db;background:#fff;font-size:1rem;"
        "cursor:pointer}button[value=allow]{background:#2563eb;border-color:#2563eb;color:#fff}"
    )

    def _page(self, title, content):
        """A page of the emulator: small, clean, the same look for each."""
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"/><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"/><title>{html.escape(title)}</title>'
            f'<style>{self.PAGE_STYLE}</style></head><body><main class="card">{content}</main></body></html>'
        )

    def _consent_page(self, params, title, scopes):
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
            for k, v in params.items()
            if k not in ("email", "decision", "granted")
        )
        boxes = "".join(
            f'<label><input type="checkbox" name="granted" value="{html.escape(s)}" checked/> '
            f'<span class="scope">{html.escape(s)}</span></label>'
            for s in scopes
        )
        hint = html.escape(params.get("login_hint", ""))
        return self._html(
            200,
            self._page(
                title,
                f"""<h1>{title}</h1><p class="muted">Local emulator: no real account is involved.</p>
<form method="post">{hidden}
<label>Account <input name="email" value="{hint}" placeholder="someone@example.com"/></label>
<p class="muted">Odoo asks for:</p>
{boxes}
<div class="actions"><button name="decision" value="allow">Allow</button>
<button name="decision" value="deny">Cancel</button></div>
</form>""",
            ),
        )

    def _check_client(self, params):
        cid, secret = self._basic_client()
        cid = params.get("client_id") or cid
        secret = params.get("client_secret") or secret
        known = self.state.clients.get(cid)
        return cid if known is not None and secrets.compare_digest(known, secret or "") else None

    def route(self, method, path, params):
        raise NotImplementedError


class GoogleHandler(_Handler):
    """Google's authorization server, token endpoint and userinfo."""

    def route(self, method, path, params):
        if path == "/o/oauth2/v2/auth":
            return self._authorize(method, params)
        if path == "/token" and method == "POST":
            return self._token(params)
        if path == "/oauth2/v3/userinfo":
            return self._userinfo()
        if path == "/revoke" and method == "POST":
            token = params.get("token", "")
            with self.state.lock:
                info = self.state.refresh_tokens.get(token) or self.state.access_tokens.get(token)
            if not info:
                return self._json(400, {"error": "invalid_token", "error_description": "Bad Request"})
            self.state.revoke(info["email"])
            return self._json(200, {})
        return self._json(404, {"error": "not_found"})

    def _authorize(self, method, params):
        if params.get("client_id") not in self.state.clients:
            return self._html(
                401, self._page("Error 401", "<h1>Error 401: invalid_client</h1><p>The OAuth client was not found.</p>")
            )
        if method == "GET" or "decision" not in params:
            return self._consent_page(params, "Sign in with Google (emulator)", params.get("scope", "").split())
        redirect = params["redirect_uri"]
        sep = "&" if "?" in redirect else "?"
        if params["decision"] != "allow":
            return self._redirect(
                redirect + sep + urllib.parse.urlencode({"error": "access_denied", "state": params.get("state", "")})
            )
        granted = self._granted_from_form(params)
        code = self.state.new_code(
            provider="google",
            client_id=params["client_id"],
            redirect_uri=redirect,
            challenge=params.get("code_challenge"),
            method=params.get("code_challenge_method", "plain"),
            email=params.get("email", "").strip().lower(),
            scope=" ".join(granted),
            nonce=None,
        )
        return self._redirect(
            redirect
            + sep
            + urllib.parse.urlencode({"state": params.get("state", ""), "code": code, "scope": " ".join(granted)})
        )

    def _token_error(self, status, error, description, headers=None):
        return self._json(status, {"error": error, "error_description": description}, headers)

    def _token(self, params):
        state = self.state
        retry = state.take_throttle()
        if retry:
            return self._token_error(429, "rate_limit_exceeded", "Rate Limit Exceeded", {"Retry-After": str(retry)})
        if state.outage:
            return self._token_error(503, "temporarily_unavailable", "The service is unavailable.")
        client_id = self._check_client(params)
        if not client_id or state.secret_expired:
            return self._token_error(401, "invalid_client", "The OAuth client was not found.")
        grant = params.get("grant_type")
        if grant == "authorization_code":
            with state.lock:
                info = state.codes.pop(params.get("code", ""), None)
            if (
                not info
                or info["client_id"] != client_id
                or info["redirect_uri"] != params.get("redirect_uri")
                or time.time() - info["created"] > 600
            ):
                return self._token_error(400, "invalid_grant", "Malformed auth code.")
            if not _pkce_ok(info["challenge"], info["method"], params.get("code_verifier")):
                return self._token_error(400, "invalid_grant", "Invalid code verifier.")
            with state.lock:
                state.revoked.pop(info["email"], None)
            access, refresh = state.issue_tokens(info["email"], "google", client_id, info["scope"])
            return self._json(
                200,
                {
                    "access_token": access,
                    "expires_in": self.state.lifetime,
                    "refresh_token": refresh,
                    "scope": info["scope"],
                    "token_type": "Bearer",
                    "id_token": _unsigned_jwt(
                        {
                            "iss": self.base_url,
                            "aud": client_id,
                            "email": info["email"],
                            "email_verified": True,
                            "sub": hashlib.sha1(info["email"].encode()).hexdigest(),
                            "iat": int(time.time()),
                            "exp": int(time.time()) + 3600,
                        }
                    ),
                },
            )
        if grant == "refresh_token":
            with state.lock:
                info = state.refresh_tokens.get(params.get("refresh_token", ""))
            if not info or info["client_id"] != client_id or info["email"] in state.revoked:
                return self._token_error(400, "invalid_grant", GOOGLE_REVOKED)
            access, _refresh = state.issue_tokens(
                info["email"], "google", client_id, info["scope"], refresh=params["refresh_token"]
            )
            return self._json(
                200,
                {
                    "access_token": access,
                    "expires_in": self.state.lifetime,
                    "scope": info["scope"],
                    "token_type": "Bearer",
                },
            )
        return self._token_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _userinfo(self):
        auth = self.headers.get("Authorization", "")
        info = self.state.introspect(auth[7:]) if auth.startswith("Bearer ") else None
        if not info:
            return self._json(401, {"error": "invalid_request", "error_description": "Invalid Credentials"})
        email = info["email"]
        return self._json(
            200, {"sub": hashlib.sha1(email.encode()).hexdigest(), "email": email, "email_verified": True}
        )


class MicrosoftHandler(_Handler):
    """Microsoft identity platform v2.0 endpoints for one or more tenants.

    Served twice: over HTTPS at ``base_url`` for what msal calls (discovery, token),
    and over plain HTTP on loopback at ``browser_url`` for the pages a person's
    browser opens, so that it never meets the emulator's self-signed certificate.
    """

    browser_url = ""

    def route(self, method, path, params):
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._discovery(parts[0])
        if len(parts) == 4 and parts[1:3] == ["oauth2", "v2.0"]:
            if parts[3] == "authorize":
                return self._authorize(method, parts[0], params)
            if parts[3] == "token" and method == "POST":
                return self._token(parts[0], params)
        return self._json(404, {"error": "not_found"})

    def _issuer(self, tenant):
        return f"{self.base_url}/{tenant}/v2.0"

    def _discovery(self, tenant):
        base = f"{self.base_url}/{tenant}/oauth2/v2.0"
        browser = f"{self.browser_url or self.base_url}/{tenant}/oauth2/v2.0"
        return self._json(
            200,
            {
                "issuer": self._issuer(tenant),
                "authorization_endpoint": f"{browser}/authorize",
                "token_endpoint": f"{base}/token",
                "device_authorization_endpoint": f"{base}/devicecode",
                "end_session_endpoint": f"{base}/logout",
                "jwks_uri": f"{self.base_url}/{tenant}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "tenant_region_scope": "EU",
            },
        )

    def _error(self, code, headers=None, status=400):
        error, suberror, text = MICROSOFT_ERRORS[code]
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        payload = {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {secrets.token_hex(8)} Timestamp: {now}",
            "error_codes": [code],
            "timestamp": now,
            "trace_id": secrets.token_hex(16),
            "correlation_id": secrets.token_hex(16),
        }
        if suberror:
            payload["suberror"] = suberror
        return self._json(status, payload, headers)

    def _authorize(self, method, tenant, params):
        if params.get("client_id") not in self.state.clients:
            return self._html(
                400, self._page("AADSTS700016", "<h1>AADSTS700016</h1><p>Application not found in the directory.</p>")
            )
        if method == "GET" or "decision" not in params:
            return self._consent_page(
                params, "Sign in to your Microsoft account (emulator)", params.get("scope", "").split()
            )
        redirect = params["redirect_uri"]
        sep = "&" if "?" in redirect else "?"
        if params["decision"] != "allow":
            return self._redirect(
                redirect
                + sep
                + urllib.parse.urlencode(
                    {
                        "error": "access_denied",
                        "state": params.get("state", ""),
                        "error_description": "AADSTS65004: User declined to consent to access the app.",
                    }
                )
            )
        code = self.state.new_code(
            provider="microsoft",
            client_id=params["client_id"],
            redirect_uri=redirect,
            challenge=params.get("code_challenge"),
            method=params.get("code_challenge_method", "plain"),
            email=params.get("email", "").strip().lower(),
            scope=" ".join(self._granted_from_form(params)),
            nonce=params.get("nonce"),
            tenant=tenant,
        )
        query = {"code": code, "state": params.get("state", ""), "session_state": secrets.token_hex(8)}
        return self._redirect(redirect + sep + urllib.parse.urlencode(query))

    def _token_payload(self, tenant, client_id, email, scope, access, refresh, nonce=None):
        oid = hashlib.sha1(email.encode()).hexdigest()[:32]
        tid = hashlib.sha1(tenant.encode()).hexdigest()[:32]
        claims = {
            "iss": self._issuer(tenant),
            "aud": client_id,
            "iat": int(time.time()),
            "nbf": int(time.time()),
            "exp": int(time.time()) + 3600,
            "sub": oid,
            "oid": oid,
            "tid": tid,
            "preferred_username": email,
            "email": email,
            "name": email,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        api_scopes = " ".join(s for s in scope.split() if s not in ("openid", "profile", "offline_access"))
        return {
            "token_type": "Bearer",
            "scope": api_scopes,
            "expires_in": self.state.lifetime,
            "ext_expires_in": self.state.lifetime,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": _unsigned_jwt(claims),
            "client_info": _b64url(json.dumps({"uid": oid, "utid": tid}).encode()),
        }

    def _token(self, tenant, params):
        state = self.state
        retry = state.take_throttle()
        if retry:
            return self._json(
                429,
                {
                    "error": "temporarily_unavailable",
                    "error_description": "AADSTS50196: The server terminated an operation "
                    "because it encountered a client request loop.",
                },
                {"Retry-After": str(retry)},
            )
        if state.outage:
            return self._json(
                503,
                {
                    "error": "temporarily_unavailable",
                    "error_description": "AADSTS90033: A transient error has occurred.",
                },
            )
        client_id = self._check_client(params)
        if client_id and state.secret_expired:
            return self._error(7000222, status=401)
        if not client_id:
            return self._json(
                401,
                {
                    "error": "invalid_client",
                    "error_codes": [7000215],
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
            )
        grant = params.get("grant_type")
        if grant == "authorization_code":
            with state.lock:
                info = state.codes.pop(params.get("code", ""), None)
            if (
                not info
                or info["client_id"] != client_id
                or info["redirect_uri"] != params.get("redirect_uri")
                or not _pkce_ok(info["challenge"], info["method"], params.get("code_verifier"))
            ):
                return self._json(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_codes": [70000],
                        "error_description": "AADSTS70000: The provided authorization code "
                        "or code verifier is invalid.",
                    },
                )
            code = state.revoked.get(info["email"])
            if isinstance(code, int) and code in (65001, 650056, 50076, 50079):
                return self._error(code)
            with state.lock:
                state.revoked.pop(info["email"], None)
            access, refresh = state.issue_tokens(info["email"], "microsoft", client_id, info["scope"])
            return self._json(
                200,
                self._token_payload(
                    tenant, client_id, info["email"], info["scope"], access, refresh, info.get("nonce")
                ),
            )
        if grant == "refresh_token":
            with state.lock:
                info = state.refresh_tokens.get(params.get("refresh_token", ""))
                revoked = state.revoked.get(info["email"]) if info else None
            if not info or not info["alive"]:
                return self._error(50173)
            if revoked:
                return self._error(50173 if revoked is True else revoked)  # True: revoked, no code given
            with state.lock:  # Microsoft rotates refresh tokens
                info["alive"] = False
            access, refresh = state.issue_tokens(info["email"], "microsoft", client_id, info["scope"])
            return self._json(
                200, self._token_payload(tenant, client_id, info["email"], info["scope"], access, refresh)
            )
        return self._json(
            400,
            {
                "error": "unsupported_grant_type",
                "error_codes": [70003],
                "error_description": "AADSTS70003: The app requested an unsupported grant type.",
            },
        )


def make_tls_context(folder):
    """A self-signed CA and server certificate for 127.0.0.1/localhost; returns (context, ca_path)."""
    import ipaddress
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Connected Mailboxes test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    ca_path = os.path.join(folder, "ca.pem")
    key_path = os.path.join(folder, "ca.key")
    with open(ca_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ca_path, key_path)
    return context, ca_path


class OAuthEmulator:
    """Both providers on loopback ports, sharing one :class:`ProviderState`.

    Microsoft has two listeners: ``microsoft_url`` (HTTPS, for msal) and
    ``microsoft_browser_url`` (plain HTTP, the sign-in page the browser opens).
    """

    def __init__(self, folder, clients, google_port=0, microsoft_port=0, microsoft_browser_port=0):
        self.state = ProviderState(clients)
        self.folder = folder
        self.google_port = google_port
        self.microsoft_port = microsoft_port
        self.microsoft_browser_port = microsoft_browser_port
        self._servers = []

    def _listen(self, handler, port, tls=None):
        """Bind a loopback listener for ``handler``; return its port and URL."""
        server = _Server(("127.0.0.1", port), handler)
        server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._servers.append(server)
        return server.server_address[1], f"{scheme}://127.0.0.1:{server.server_address[1]}"

    def _handler(self, handler_base):
        return type(handler_base.__name__, (handler_base,), {"state": self.state})

    def start(self):
        tls, self.ca_path = make_tls_context(self.folder)
        google = self._handler(GoogleHandler)
        self.google_port, self.google_url = self._listen(google, self.google_port)
        microsoft = self._handler(MicrosoftHandler)
        self.microsoft_port, self.microsoft_url = self._listen(microsoft, self.microsoft_port, tls)
        self.microsoft_browser_port, self.microsoft_browser_url = self._listen(microsoft, self.microsoft_browser_port)
        google.base_url = self.google_url
        # no request can come before start() returns: nobody knows the ports yet
        microsoft.base_url, microsoft.browser_url = self.microsoft_url, self.microsoft_browser_url
        return self

    def stop(self):
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []


def answer_consent(auth_uri, email, allow=True, granted=None, ca_file=None):
    """Do what a person does on the consent page; return the redirect URL it sends back.

    ``granted`` lists the scopes left ticked (default: all that were asked).
    """
    import urllib.request

    split = urllib.parse.urlsplit(auth_uri)
    params = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
    scopes = params.get("scope", "").split() if granted is None else list(granted)
    form = [(k, v) for k, v in params.items()] + [("email", email), ("decision", "allow" if allow else "deny")]
    form += [("granted", s) for s in scopes]
    context = ssl.create_default_context(cafile=ca_file) if split.scheme == "https" else None

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))
    target = urllib.parse.urlunsplit((split.scheme, split.netloc, split.path, "", ""))
    request = urllib.request.Request(target, data=urllib.parse.urlencode(form).encode(), method="POST")
    try:
        opener.open(request, timeout=10)
    except urllib.error.HTTPError as answer:
        if answer.code == 302:
            return answer.headers["Location"]
        raise
    raise RuntimeError("the consent page did not redirect")
