// A real OpenID Connect provider on loopback for the single sign-on tests: the npm
// `oidc-provider` package (not a fake) at http://127.0.0.1:<port>, one confidential
// client for the node (authorization code + PKCE, client_secret_basic, redirect_uri the
// node's /api/client/v2/oauth2_redirect), and its development login screens: any user
// name signs in; the account's claims are derived from it:
//   sub = the login, name = "<Login> Sso" (first letter upper case), email = <login>@example.test
// except the login "noname", whose ID token has no `name` claim.
//
// Ports: `freePort()` picks one before the node starts, so the node's config can name
// the issuer; the provider is started once the node's port (the redirect URI) is known.

import net from 'node:net';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'plenum-test';
export const CLIENT_SECRET = 'oidc-test-client-secret-4f1c9';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

/** The claims the provider releases for a login. */
export function claimsOf(login) {
    const claims = { sub: login, email: `${login}@example.test` };
    if (login !== 'noname') claims.name = `${login[0].toUpperCase()}${login.slice(1)} Sso`;
    return claims;
}

/**
 * Starts the provider on `port` with the node's `redirectUri` registered. Answers
 * { issuer, close() }.
 */
export async function startOidc({ port, redirectUri }) {
    const issuer = `http://127.0.0.1:${port}`;
    const provider = new Provider(issuer, {
        clients: [{
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET,
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_basic',
        }],
        async findAccount(ctx, sub) {
            return { accountId: sub, async claims() { return claimsOf(sub); } };
        },
        claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
        // the profile claims go into the ID token itself, not only to userinfo
        conformIdTokenClaims: false,
        pkce: { required: () => true },
        features: { devInteractions: { enabled: true } },
        cookies: { keys: ['plenum-sso-test-cookie-key'] },
    });
    // the provider's own warnings (development keys and screens) are expected here
    provider.on('server_error', (ctx, err) => console.error('[oidc] server error', err));
    const server = provider.listen(port, '127.0.0.1');
    await new Promise((resolve, reject) => { server.once('listening', resolve); server.once('error', reject); });
    return {
        issuer,
        close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
    };
}

/**
 * Signs `login` in at the provider without a browser, through the same screens a
 * browser sees (its login form, then its consent form), following redirects by hand
 * with a cookie jar. Stops at the first redirect to `stopAt` (the node's
 * oauth2_redirect) and answers that URL unvisited, so the test decides when (and how
 * often) the node gets it.
 */
export async function loginOverHttp(authorizeUrl, login, stopAt) {
    const jar = new Map();
    const remember = (res) => {
        for (const c of res.headers.getSetCookie?.() || []) {
            const [pair] = c.split(';');
            const i = pair.indexOf('=');
            jar.set(pair.slice(0, i).trim(), pair.slice(i + 1));
        }
    };
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let url = authorizeUrl;
    let form = null;
    for (let hop = 0; hop < 20; hop++) {
        const res = await fetch(url, form
            ? { method: 'POST', redirect: 'manual', body: new URLSearchParams(form).toString(), headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' } }
            : { redirect: 'manual', headers: { cookie: cookie() } });
        remember(res);
        form = null;
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
            const next = new URL(location, url).href;
            if (next.startsWith(stopAt)) return new URL(next);
            url = next;
            continue;
        }
        const html = await res.text();
        if (res.status !== 200) throw new Error(`provider answered ${res.status}: ${html.slice(0, 300)}`);
        const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1];
        if (!action) throw new Error(`provider page without a form: ${html.slice(0, 300)}`);
        form = {};
        for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) form[m[1]] = m[2];
        if (/name="login"/.test(html)) Object.assign(form, { login, password: 'any password' });
        url = new URL(action.replace(/&amp;/g, '&'), url).href;
    }
    throw new Error('the provider did not send the browser back within 20 hops');
}
