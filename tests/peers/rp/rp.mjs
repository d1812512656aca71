// A relying party built on openid-client (a certified OpenID Connect implementation),
// signing a user in through Lanyard: discovery, authorization code flow with PKCE, ID
// token validation, userinfo, refresh, RP-initiated logout. The browser part (sign-in
// form, role picker) is done with fetch and a cookie jar, as a person would click.
//
// usage: node rp.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI USER PASSWORD ROLE
// prints one JSON object with what it saw; exits non-zero on any failure.
import * as client from 'openid-client';

const [issuer, clientId, clientSecret, redirectUri, user, password, role] = process.argv.slice(2);
const jar = new Map();

function remember(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const i = pair.indexOf('=');
    const name = pair.slice(0, i);
    const value = pair.slice(i + 1);
    if (value === '') jar.delete(name); else jar.set(name, value);
  }
}

async function browse(url, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const response = await fetch(new URL(url, issuer), { ...init, headers, redirect: 'manual' });
  remember(response);
  return response;
}

function field(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no ${name} field on the page`);
  return m[1];
}

const form = (fields) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined, {
  execute: [client.allowInsecureRequests],
});

// The target of the meta refresh on Lanyard's "Continue to the application" page.
function continueTarget(html) {
  const m = html.match(/<meta http-equiv="refresh" content="0;url=([^"]*)">/);
  if (!m) return null;
  return m[1].replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

async function signIn() {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile groups offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  let r = await browse(url);
  let next = r.headers.get('location');
  if (next.startsWith('/signin')) {
    const returnTo = new URL(next, issuer).searchParams.get('return_to');
    r = await browse(`/auth/corp?return_to=${encodeURIComponent(returnTo)}`);
    const html = await r.text();
    r = await browse('/auth/corp', form({ username: user, password, csrf: field(html, 'csrf') }));
    next = r.headers.get('location');
  }
  r = await browse(next);
  let html = await r.text();
  if (!continueTarget(html)) {
    r = await browse('/roles', form({ role, duration: '3600', csrf: field(html, 'csrf'), authz: field(html, 'authz') }));
    html = await r.text();
  }
  // Lanyard hands the browser back through a page (meta refresh), not a 303.
  const back = continueTarget(html);
  if (!back || !back.startsWith(redirectUri)) throw new Error(`not sent back to the client: ${r.status} ${back}`);
  const tokens = await client.authorizationCodeGrant(config, new URL(back), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return tokens;
}

const tokens = await signIn();
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
const logoutUrl = client.buildEndSessionUrl(config, {
  id_token_hint: refreshed.id_token,
  post_logout_redirect_uri: redirectUri.replace('/callback', '/logged-out'),
  state: 'bye',
});
const logout = await browse(logoutUrl);
const afterLogout = await browse('/roles');

console.log(JSON.stringify({
  sub: claims.sub,
  role: claims.role,
  email: claims.email,
  groups: claims.groups,
  nonce_checked: true,
  userinfo_sub: userinfo.sub,
  userinfo_email: userinfo.email,
  refreshed_role: refreshed.claims().role,
  refresh_rotated: refreshed.refresh_token !== tokens.refresh_token,
  logout_status: logout.status,
  logout_location: logout.headers.get('location'),
  after_logout_status: afterLogout.status,
}));
