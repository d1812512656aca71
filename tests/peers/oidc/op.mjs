// A real OpenID Provider for Lanyard's integration tests: the `oidc-provider` package on a
// free 127.0.0.1 port, with test accounts and a headless login.
//
//   node op.mjs                      (env REDIRECT_URI, CLIENT_ID, CLIENT_SECRET)
//
// Prints `listening http://127.0.0.1:PORT` once ready. Routes besides the provider's own:
//   GET  /interaction/{uid}?user=NAME  finishes the login prompt as NAME (no password: the
//                                       test plays the person); consent is pre-granted
//   GET  /interaction/{uid}            a login page (a field for NAME) for a real browser
//   ...&otp=CODE                        the second step: when the authorization request asked
//                                       for acr_values with urn:test:mfa, a person without
//                                       MFA of their own gets a page asking for a code first,
//                                       and only with one does the login carry amr otp and
//                                       acr urn:test:mfa (any 6 digits do: the test plays the
//                                       person); without that acr asked, a code changes nothing
//   POST /__test/rotate                 new signing key, published first and used from now on
//   GET  /__test/stats                  how often the JWKS was fetched, and the `prompt`,
//                                       `max_age` and `acr_values` of the last authorization
//                                       request
// With PKJWT_JWKS (a public JWKS) a second client `lanyard-pkjwt` uses private_key_jwt.
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const REDIRECT_URI = process.env.REDIRECT_URI ?? 'http://127.0.0.1:8080/auth/op/callback';
const CLIENT_ID = process.env.CLIENT_ID ?? 'lanyard';
const CLIENT_SECRET = process.env.CLIENT_SECRET ?? 'lanyard-test-secret';
// A second client that authenticates with private_key_jwt (RFC 7523), when its public
// JWKS is given.
const PKJWT_JWKS = process.env.PKJWT_JWKS ? JSON.parse(process.env.PKJWT_JWKS) : null;

// The people of the tests. `amr`/`acr` are what the login "used".
const ACCOUNTS = {
  alice: {
    email: 'alice@example.com', email_verified: true, name: 'Alice Liddell',
    groups: ['engineering', 'admins'], department: 'platform', amr: ['pwd', 'otp'], acr: 'urn:test:mfa',
  },
  bob: {
    email: 'bob@example.com', email_verified: true, name: 'Bob Builder',
    groups: ['engineering'], department: 'payments', amr: ['pwd'], acr: 'urn:test:pwd',
  },
  carol: {
    email: 'carol@example.com', email_verified: true, name: 'Carol Danvers',
    groups: ['finance'], department: 'finance', amr: ['pwd'], acr: 'urn:test:pwd',
  },
  mallory: {
    email: 'mallory@evil.example', email_verified: true, name: 'Mallory',
    groups: ['engineering', 'admins'], department: 'platform', amr: ['pwd', 'otp'], acr: 'urn:test:mfa',
  },
};

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

let keys = [newKey()];
let jwksFetches = 0;
let lastAuthorization = null;
let current;
let handler;

function build(issuer) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }, ...(PKJWT_JWKS ? [{
      client_id: 'lanyard-pkjwt',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: PKJWT_JWKS,
    }] : [])],
    jwks: { keys },
    cookies: { keys: ['lanyard-test-cookie-key'] },
    acrValues: ['urn:test:pwd', 'urn:test:mfa'],
    claims: {
      // acr, amr and auth_time come from the login, not the account.
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups', 'department'],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const a = ACCOUNTS[id];
      if (!a) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id, preferred_username: id, email: a.email, email_verified: a.email_verified,
            name: a.name, groups: a.groups, department: a.department,
          };
        },
      };
    },
    // First-party client: consent is implied, as a company IdP configures it.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path.endsWith('/jwks')) jwksFetches += 1;
    if (ctx.path === '/auth') {
      const q = ctx.query;
      lastAuthorization = {
        prompt: q.prompt ?? null, max_age: q.max_age ?? null, acr_values: q.acr_values ?? null,
      };
    }
    await next();
  });
  return provider;
}

// The login page a real browser sees: pick the user (the test plays the person).
function loginPage(res, uid) {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Test OP sign-in</title><h1>Test OP</h1>
<form method="get" action="/interaction/${encodeURIComponent(uid)}">
<label>User <input name="user" autocomplete="username"></label>
<button type="submit" id="login">Sign in</button></form>`);
}

// The second step a real browser sees when MFA was asked for: a one-time code.
function codePage(res, uid, user) {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Test OP second factor</title><h1>Second factor for ${user}</h1>
<form method="get" action="/interaction/${encodeURIComponent(uid)}">
<input type="hidden" name="user" value="${user}">
<label>One-time code <input name="otp" autocomplete="one-time-code"></label>
<button type="submit" id="verify">Verify</button></form>`);
}

async function interaction(req, res, uid, user, otp) {
  if (!user) {
    loginPage(res, uid);
    return;
  }
  try {
    const details = await current.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    const account = ACCOUNTS[user];
    if (!account) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`unknown test user ${user}`);
      return;
    }
    if (details.prompt.name !== 'login') throw new Error(`unexpected prompt ${details.prompt.name}`);
    const asked = String(details.params.acr_values ?? '').split(' ');
    let { amr, acr } = account;
    if (asked.includes('urn:test:mfa') && acr !== 'urn:test:mfa') {
      if (!/^[0-9]{6}$/.test(otp)) {
        codePage(res, uid, user.replace(/[^a-z]/g, ''));
        return;
      }
      amr = [...amr, 'otp'];
      acr = 'urn:test:mfa';
    }
    await current.interactionFinished(req, res, {
      login: { accountId: user, amr, acr },
    }, { mergeWithLastSubmission: false });
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err));
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const m = url.pathname.match(/^\/interaction\/([^/]+)$/);
  if (m && req.method === 'GET') {
    interaction(req, res, m[1], url.searchParams.get('user') ?? '', url.searchParams.get('otp') ?? '');
    return;
  }
  if (url.pathname === '/__test/rotate' && req.method === 'POST') {
    keys = [newKey(), ...keys];
    current = build(current.issuer);
    handler = current.callback();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kid: keys[0].kid }));
    return;
  }
  if (url.pathname === '/__test/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jwks_fetches: jwksFetches, last_authorization: lastAuthorization }));
    return;
  }
  handler(req, res);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  current = build(issuer);
  handler = current.callback();
  process.stdout.write(`listening ${issuer}\n`);
});

// Never die of a closed pipe or a client that went away.
process.stdout.on('error', () => {});
server.on('clientError', (err, socket) => socket.destroy());

// The test harness closes our stdin when it is done (or dies): exit with it.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
