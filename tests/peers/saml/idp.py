"""A small SAML 2.0 IdP on pysaml2 for Lanyard's interop tests.

Started by the Rust test harness (tests/it/saml_interop.rs) on 127.0.0.1 and a free port.
It prints "READY <port>" once it listens. Endpoints:

  GET /metadata                         the IdP's metadata (lists --extra-cert too)
  GET /sso/redirect?SAMLRequest=...&user=NAME
                                        HTTP-Redirect SSO: answers the AuthnRequest for
                                        user NAME (no login form: the test picks the user)
                                        with JSON {acs, SAMLResponse, RelayState}
  GET /sso/redirect?SAMLRequest=...    without `user`: a login page for a real browser (pick
                                        the user); it sends the browser to
  GET /sso/redirect?...&user=NAME&binding=post
                                        a page with the HTTP-POST binding form to the ACS
                                        (a "Continue" button; no script)
  GET /idp-initiated?user=NAME&relay_state=...
                                        an unsolicited response (no InResponseTo)
  GET /__test/last-request              JSON: ForceAuthn and the RequestedAuthnContext class
                                        refs of the last AuthnRequest
  GET /__test/ignore-force-authn        from now on, answer from the session even when
                                        ForceAuthn="true" (a lax IdP, for negative tests)

Sessions and step-up: the login page has a "Stay signed in" box (`remember=1`); with it the
IdP sets a session cookie, and later AuthnRequests from that browser are answered at once
(single sign-on, the AuthnInstant of that login) unless they carry ForceAuthn="true", which
brings the login page back. The login page asks for a one-time code too when the request's
RequestedAuthnContext names the MFA class; a login with a code (`otp`, any 6 digits: the
test plays the person) is answered with the MFA class, a login without one with
PasswordProtectedTransport (unless the user has MFA of their own). The AuthnInstant is the
time of the login.

Users (groups): alice (engineering, admins; MFA), bob (engineering), carol (finance).
"""

import argparse
import base64
import html
import http.cookies
import http.server
import json
import re
import sys
import time
import urllib.parse

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.authn_context import AuthnBroker, PASSWORD, authn_context_class_ref
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

MFA = "http://schemas.microsoft.com/claims/multipleauthn"

USERS = {
    "alice": {
        "uid": ["alice"],
        "mail": ["alice@example.com"],
        "displayName": ["Alice Admin"],
        "isMemberOf": ["engineering", "admins"],
        "_mfa": True,
    },
    "bob": {
        "uid": ["bob"],
        "mail": ["bob@example.com"],
        "displayName": ["Bob Builder"],
        "isMemberOf": ["engineering"],
        "_mfa": False,
    },
    "carol": {
        "uid": ["carol"],
        "mail": ["carol@example.com"],
        "displayName": ["Carol Counter"],
        "isMemberOf": ["finance"],
        "_mfa": False,
    },
}


def sp_metadata(entity_id, acs, cert_pem):
    body = "".join(l for l in cert_pem.splitlines() if "-----" not in l)
    return f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
 xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">
 <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
  <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  <md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{acs}" index="0"/>
 </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    # The host name in the IdP's own URLs (entity ID, SSO endpoint); it listens on
    # 127.0.0.1 either way. `localhost` puts it on another site than Lanyard.
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--extra-cert", action="append", default=[])
    ap.add_argument("--sp-entity-id", required=True)
    ap.add_argument("--acs", required=True)
    ap.add_argument("--sp-cert", required=True)
    ap.add_argument("--sign-response", action="store_true")
    ap.add_argument("--sign-assertion", action="store_true")
    ap.add_argument("--encrypt-assertion", action="store_true")
    args = ap.parse_args()

    base = f"http://{args.host}:{args.port}"
    sp_cert = open(args.sp_cert).read()
    conf = IdPConfig()
    conf.load(
        {
            "entityid": f"{base}/metadata",
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            (f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)
                        ]
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                        }
                    },
                    "want_authn_requests_signed": False,
                }
            },
            "metadata": {
                "inline": [sp_metadata(args.sp_entity_id, args.acs, sp_cert)]
            },
            "key_file": args.key,
            "cert_file": args.cert,
            "encryption_keypairs": [{"key_file": args.key, "cert_file": args.cert}],
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
        }
    )
    idp = Server(config=conf)

    metadata = create_metadata_string(None, config=conf, valid=24).decode()
    # Rollover: publish further certificates next to the one the IdP signs with.
    for extra in args.extra_cert:
        body = "".join(l for l in open(extra).read().splitlines() if "-----" not in l)
        kd = (
            '<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
            f"<ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data>"
            "</ds:KeyInfo></md:KeyDescriptor>"
        )
        metadata = metadata.replace("<md:KeyDescriptor", kd + "<md:KeyDescriptor", 1)

    last_request = {"ForceAuthn": None, "RequestedAuthnContext": []}
    lax = {"ignore_force_authn": False}

    def respond(user, in_response_to, relay_state, name_id_policy=None, login=None):
        info = USERS[user]
        identity = {k: v for k, v in info.items() if not k.startswith("_")}
        mfa = info["_mfa"] or bool(login and login["mfa"])
        broker = AuthnBroker()
        broker.add(authn_context_class_ref(MFA if mfa else PASSWORD), "")
        authn = dict(broker.get_authn_by_accr(MFA if mfa else PASSWORD))
        if login:
            authn["authn_instant"] = login["instant"]
        resp = idp.create_authn_response(
            identity,
            in_response_to,
            args.acs,
            args.sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=f"{user}-persistent-id"),
            authn=authn,
            sign_response=args.sign_response,
            sign_assertion=args.sign_assertion,
            encrypt_assertion=args.encrypt_assertion,
            encrypt_cert_assertion=sp_cert if args.encrypt_assertion else None,
            encrypt_assertion_self_contained=True,
            sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
        )
        return {
            "acs": args.acs,
            "SAMLResponse": base64.b64encode(str(resp).encode()).decode(),
            "RelayState": relay_state or "",
        }

    def hidden(name, value):
        return f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'

    def login_page(q, ask_code=False):
        fields = "".join(hidden(k, v) for k, v in q.items())
        code = (
            '<label>One-time code <input name="otp" autocomplete="one-time-code"></label>'
            if ask_code
            else ""
        )
        return (
            "<!doctype html><title>Test IdP sign-in</title><h1>Test IdP</h1>"
            '<form method="get" action="/sso/redirect">'
            f"{fields}{hidden('binding', 'post')}"
            '<label>User <input name="user" autocomplete="username"></label>'
            f"{code}"
            '<label><input type="checkbox" name="remember" value="1" id="remember"> Stay signed in</label>'
            '<button type="submit" id="login">Sign in</button></form>'
        )

    def request_facts(req):
        msg = req.message
        force = str(msg.force_authn).lower() == "true" if msg.force_authn is not None else False
        ctx = msg.requested_authn_context
        refs = [c.text.strip() for c in ctx.authn_context_class_ref] if ctx is not None else []
        last_request["ForceAuthn"] = force
        last_request["RequestedAuthnContext"] = refs
        return force, refs

    def session_of(headers):
        jar = http.cookies.SimpleCookie(headers.get("Cookie", ""))
        morsel = jar.get("idp_session")
        if morsel is None:
            return None
        try:
            s = json.loads(base64.urlsafe_b64decode(morsel.value.encode()).decode())
        except Exception:
            return None
        return s if s.get("user") in USERS else None

    def post_page(body):
        return (
            "<!doctype html><title>Test IdP: continue</title><h1>Signed in at the test IdP</h1>"
            f'<form method="post" action="{html.escape(body["acs"])}">'
            f'{hidden("SAMLResponse", body["SAMLResponse"])}{hidden("RelayState", body["RelayState"])}'
            '<button type="submit" id="continue">Continue</button></form>'
        )

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            sys.stderr.write("idp: " + (fmt % a) + "\n")

        def send(self, status, body, ctype, cookie=None):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            if cookie is not None:
                self.send_header("Set-Cookie", f"idp_session={cookie}; Path=/; HttpOnly")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            try:
                if url.path == "/metadata":
                    return self.send(200, metadata, "application/samlmetadata+xml")
                if url.path == "/__test/last-request":
                    return self.send(200, json.dumps(last_request), "application/json")
                if url.path == "/__test/ignore-force-authn":
                    lax["ignore_force_authn"] = True
                    return self.send(200, "{}", "application/json")
                if url.path == "/sso/redirect" and "user" not in q and "SAMLRequest" not in q:
                    return self.send(200, login_page(q), "text/html; charset=utf-8")
                if url.path == "/sso/redirect" and "user" not in q:
                    req = idp.parse_authn_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT)
                    force, refs = request_facts(req)
                    session = session_of(self.headers)
                    if session is not None and (not force or lax["ignore_force_authn"]):
                        # Single sign-on: the earlier login answers, with its instant.
                        body = respond(session["user"], req.message.id, q.get("RelayState"), login=session)
                        return self.send(200, post_page(body), "text/html; charset=utf-8")
                    page = login_page(q, ask_code=MFA in refs)
                    return self.send(200, page, "text/html; charset=utf-8")
                if url.path == "/sso/redirect":
                    req = idp.parse_authn_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT)
                    request_facts(req)
                    user = q["user"]
                    login = {
                        "user": user,
                        "instant": int(time.time()),
                        "mfa": bool(re.fullmatch(r"[0-9]{6}", q.get("otp", ""))),
                    }
                    body = respond(user, req.message.id, q.get("RelayState"), login=login)
                    cookie = None
                    if q.get("remember") == "1" and user in USERS:
                        cookie = base64.urlsafe_b64encode(json.dumps(login).encode()).decode()
                    if q.get("binding") == "post":
                        return self.send(200, post_page(body), "text/html; charset=utf-8", cookie)
                    return self.send(200, json.dumps(body), "application/json", cookie)
                if url.path == "/idp-initiated":
                    body = respond(q["user"], None, q.get("relay_state"))
                    return self.send(200, json.dumps(body), "application/json")
                return self.send(404, "not found", "text/plain")
            except Exception as e:  # a test peer: report, do not die
                import traceback

                traceback.print_exc()
                return self.send(500, f"idp error: {e!r}", "text/plain")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"READY {args.port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
