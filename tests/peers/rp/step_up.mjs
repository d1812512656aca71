// A relying party built on openid-client asking Lanyard for a second factor (issue 17):
// `acr_values` and `max_age` in the authorization request, as an application does after a
// resource server's RFC 9470 challenge (`insufficient_user_authentication`). The browser
// part is the test's (Chromium or a cookie-keeping client); this script only builds the
// request and checks the answer, so it runs twice:
//
//   node step_up.mjs begin ISSUER CLIENT_ID REDIRECT_URI ACR_VALUES MAX_AGE
//     prints {url, verifier, state, nonce, acr_values_supported}
//   node step_up.mjs finish ISSUER CLIENT_ID CLIENT_SECRET CALLBACK_URL VERIFIER STATE NONCE MAX_AGE
//     prints the ID token's claims (validated by openid-client: signature, issuer,
//     audience, nonce, and auth_time against max_age), or {error, error_description}
//     when Lanyard answered the client with an error.
//
// An empty ACR_VALUES or MAX_AGE is left out of the request.
import * as client from 'openid-client';

const [mode, issuer, clientId, ...rest] = process.argv.slice(2);
const insecure = { execute: [client.allowInsecureRequests] };

if (mode === 'begin') {
  const [redirectUri, acrValues, maxAge] = rest;
  const config = await client.discovery(new URL(issuer), clientId, undefined, undefined, insecure);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = {
    redirect_uri: redirectUri,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  };
  if (acrValues) params.acr_values = acrValues;
  if (maxAge) params.max_age = maxAge;
  const url = client.buildAuthorizationUrl(config, params);
  console.log(JSON.stringify({
    url: url.href,
    verifier,
    state,
    nonce,
    acr_values_supported: config.serverMetadata().acr_values_supported,
  }));
} else if (mode === 'finish') {
  const [secret, callback, verifier, state, nonce, maxAge] = rest;
  const config = await client.discovery(new URL(issuer), clientId, secret, undefined, insecure);
  const checks = {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  };
  if (maxAge) checks.maxAge = Number(maxAge);
  try {
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), checks);
    console.log(JSON.stringify(tokens.claims()));
  } catch (e) {
    if (e instanceof client.AuthorizationResponseError) {
      console.log(JSON.stringify({ error: e.error, error_description: e.error_description }));
    } else {
      throw e;
    }
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
