// Single sign-on for Hosts (issue #11 point 4; client-api-v2 §1.1–1.2, behavior.md §9)
// against a REAL OpenID Connect provider on loopback (npm `oidc-provider`, see
// lib/oidc.js) and a fresh plenum node whose room `sso-room` has `host_sso`.
//
//   HTTP level (the provider's login screens driven in headless chromium, the node's
//   answers read with plain HTTPS requests):
//     - request_token: the idp list (and the redirect answer) as Pexip's published
//       request_token 403 validator accepts them, an unknown chosen_idp, a redirect target on a
//       foreign origin, the redirect answer (PKCE S256, state, nonce, our redirect_uri);
//       `pin: none` is a Guest;
//     - oauth2_redirect: a wrong state; the good return (303 to the target with a fresh
//       sso_token); the same code and state again (refused); the sso_token joins as Host
//       with the name from the claim, once (replay refused); a login without the `name`
//       claim (page names the claim); the provider down at the token exchange (page
//       names the step); a provider whose issuer is down (#pex200, the log names the
//       discovery document); `?error=` and `?message=` pages, escaped.
//   Web app (headless chromium): open the room by link, "Sign in with …", log in at the
//   provider, come back, and be in the meeting as Host under the claimed name.
//   Devices (`[[device]]` with sso = true, issue #12): a registration without
//   credentials is offered the devices' provider, the same answer for any alias; the
//   sign-in of someone else is refused like a wrong password; the device's own account
//   registers it, once per token; a Host's sign-in token does not register a device and a
//   device's does not make a Host. In the web app: "Receive calls" → "Sign in with …",
//   back registered, still registered after a reload, and a call to the device rings.
//
// Artifacts: <repo>/target/browser-artifacts/sso/ — screenshots; node log in
// target/conformance-logs/sso.log.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startNode, REPO } from '../../conformance/lib/node.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../lib/media.js';
import { CLIENT_ID, CLIENT_SECRET, claimsOf, freePort, loginOverHttp, startOidc } from '../lib/oidc.js';
import { createWebappHarness } from '../lib/webapp.js';
import { validateRequestToken403 } from '@pexip/infinity-api/dist/token/validation.js';

/** Passes Pexip's published request_token 403 validator with nothing stripped. */
function assertSdkAccepts403(body) {
    const copy = JSON.parse(JSON.stringify(body));
    assert.ok(validateRequestToken403(copy), JSON.stringify(validateRequestToken403.errors));
    assert.deepEqual(copy, body, 'the validator stripped nothing');
}

const T = 90000;
const ROOM = 'sso-room';
const IDP = 'Loopback IdP';
const ARTIFACTS = path.join(REPO, 'target/browser-artifacts/sso');
const PLACEHOLDER = '__pexip-sso-token__';
/** A device that registers by signing in at the provider as "dana" (dana@example.test). */
const DEVICE = 'dana.desk';

/** One HTTPS request to the node (self-signed certificate). */
function call(node, method, p, { body, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = https.request(`${node.url}${p}`, {
            method,
            rejectUnauthorized: false,
            headers: { ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}), ...headers },
        }, (res) => {
            let text = '';
            res.on('data', (c) => { text += c; });
            res.on('end', () => {
                let json;
                try { json = JSON.parse(text); } catch { /* a page */ }
                resolve({ status: res.statusCode, headers: res.headers, text, json });
            });
        });
        req.on('error', reject);
        req.setTimeout(20000, () => req.destroy(new Error(`${method} ${p} timed out`)));
        if (data) req.write(data);
        req.end();
    });
}

const tokenPath = (alias) => `/api/client/v2/conferences/${encodeURIComponent(alias)}/request_token`;
function requestToken(node, alias, extra = {}, headers = {}) {
    return call(node, 'POST', tokenPath(alias), {
        body: { display_name: 'Typed Name', node: node.host, direct_media: false, supports_direct_chat: false, chosen_idp: 'none', sso_token: 'none', ...extra },
        headers,
    });
}

describe('single sign-on for Hosts against a real OIDC provider', { timeout: 300000 }, () => {
    let node;
    let oidc;
    let oidcPort;
    let browser;
    let idpUuid;
    const target = () => `${node.url}/webapp/#/?conference=${ROOM}&name=Typed&sso_token=${PLACEHOLDER}`;

    before(async () => {
        fs.rmSync(ARTIFACTS, { recursive: true, force: true });
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        oidcPort = await freePort();
        const deadPort = await freePort();
        node = await startNode({
            name: 'sso',
            nodeToml: 'public_name = "127.0.0.1"',
            extraServices: `
[[identity_provider]]
name = "${IDP}"
issuer = "http://127.0.0.1:${oidcPort}"
client_id = "${CLIENT_ID}"
client_secret = "${CLIENT_SECRET}"

[[identity_provider]]
name = "Dead IdP"
issuer = "http://127.0.0.1:${deadPort}"
client_id = "nobody"

[[service]]
name = "SSO room"
aliases = ["${ROOM}"]
host_sso = ["${IDP}"]

[[service]]
name = "Dead SSO room"
aliases = ["sso-dead"]
host_sso = ["Dead IdP"]

[[device]]
alias = "${DEVICE}"
username = "dana@example.test"
sso = true
identity_provider = "${IDP}"
description = "Dana Desk"
`,
        });
        oidc = await startOidc({ port: oidcPort, redirectUri: `${node.url}/api/client/v2/oauth2_redirect` });
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--ignore-certificate-errors'] });
    });

    after(async () => {
        await browser?.close();
        await oidc?.close();
        await node?.stop();
    });

    /** Logs `login` in at the provider; answers the node URL it sends the browser to. */
    const loginAtProvider = (redirectUrl, login) => loginOverHttp(redirectUrl, login, `${node.url}/api/client/v2/oauth2_redirect`);

    /**
     * Sends a request again while the node answers 503: every request_token of this file
     * comes from 127.0.0.1 and shares its rate limit (20 at once, refilled over 10 s); a
     * request refused by it used nothing (no token, no sign-in).
     */
    async function patiently(send) {
        for (let i = 0; ; i++) {
            const r = await send();
            if (r.status !== 503 || i === 30) return r;
            await new Promise((ok) => setTimeout(ok, 1000));
        }
    }

    async function redirectAnswer() {
        const r = await patiently(() => requestToken(node, ROOM, { chosen_idp: idpUuid, sso_redirect_target: target() }));
        assert.equal(r.status, 403, r.text);
        assert.ok(r.json.result.redirect_url, r.text);
        return r.json.result;
    }

    it('request_token answers the idp list, refuses bad choices and targets, then redirects', { timeout: T }, async () => {
        const list = await requestToken(node, ROOM);
        assert.equal(list.status, 403, list.text);
        assert.equal(list.json.status, 'success');
        assert.equal(list.json.result.idp.length, 1);
        assert.equal(list.json.result.idp[0].name, IDP);
        assert.match(list.json.result.idp[0].uuid, /^[0-9a-f-]{36}$/);
        assert.deepEqual(Object.keys(list.json.result).sort(), ['idp', 'version']);
        idpUuid = list.json.result.idp[0].uuid;
        assertSdkAccepts403(list.json);

        const unknown = await requestToken(node, ROOM, { chosen_idp: '00000000-0000-5000-8000-000000000000', sso_redirect_target: target() });
        assert.equal(unknown.status, 403);
        assert.deepEqual(unknown.json, { status: 'failed', result: 'SSO Authentication Failed' });

        const foreign = await requestToken(node, ROOM, { chosen_idp: idpUuid, sso_redirect_target: `https://evil.example.net/?t=${PLACEHOLDER}` });
        assert.equal(foreign.status, 403);
        assert.equal(foreign.json.result, 'SSO Authentication Failed. SSO is not available from this domain');

        const noPlaceholder = await requestToken(node, ROOM, { chosen_idp: idpUuid, sso_redirect_target: `${node.url}/webapp/` });
        assert.equal(noPlaceholder.json.result, 'SSO Authentication Failed');

        const answer = await redirectAnswer();
        assertSdkAccepts403({ status: 'success', result: answer });
        assert.deepEqual(answer.redirect_idp, { name: IDP, uuid: idpUuid });
        assert.deepEqual(answer.version && typeof answer.version, 'object');
        const url = new URL(answer.redirect_url);
        assert.equal(url.origin, oidc.issuer);
        assert.equal(url.searchParams.get('client_id'), CLIENT_ID);
        assert.equal(url.searchParams.get('response_type'), 'code');
        assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
        assert.ok(url.searchParams.get('code_challenge'));
        assert.ok(url.searchParams.get('state'));
        assert.ok(url.searchParams.get('nonce'));
        assert.equal(url.searchParams.get('redirect_uri'), `${node.url}/api/client/v2/oauth2_redirect`);
        assert.deepEqual(url.searchParams.get('scope').split(' ').sort(), ['email', 'openid', 'profile']);
        assert.ok(!answer.redirect_url.includes(CLIENT_SECRET), 'no client secret in the URL');

        // Guests still come in with `pin: none`.
        const guest = await requestToken(node, ROOM, {}, { pin: 'none' });
        assert.equal(guest.status, 200, guest.text);
        assert.equal(guest.json.result.role, 'GUEST');
        await call(node, 'POST', `/api/client/v2/conferences/${ROOM}/release_token`, { headers: { token: guest.json.result.token }, body: {} });
    });

    it('oauth2_redirect completes once; the sso_token joins as Host once, with the claimed name', { timeout: T }, async () => {
        const answer = await redirectAnswer();
        const back = await loginAtProvider(answer.redirect_url, 'alice');
        assert.equal(back.origin, node.url);
        assert.ok(back.searchParams.get('code'));
        assert.equal(back.searchParams.get('state'), new URL(answer.redirect_url).searchParams.get('state'));

        const wrongState = await call(node, 'GET', `/api/client/v2/oauth2_redirect?code=${encodeURIComponent(back.searchParams.get('code'))}&state=made-up`);
        assert.equal(wrongState.status, 400);
        assert.match(wrongState.text, /already used or is too old; start again/);

        const done = await call(node, 'GET', back.pathname + back.search);
        assert.equal(done.status, 303, done.text);
        const location = done.headers.location;
        assert.ok(location.startsWith(`${node.url}/webapp/#/?conference=${ROOM}&name=Typed&sso_token=`), location);
        const ssoToken = new URL(location.replace('#/?', '?')).searchParams.get('sso_token');
        assert.match(ssoToken, /^[A-Za-z0-9_-]{40,}$/);
        assert.equal(done.headers['cache-control'], 'no-store');
        assert.equal(done.headers['referrer-policy'], 'no-referrer');

        const replayedCode = await call(node, 'GET', back.pathname + back.search);
        assert.equal(replayedCode.status, 400);
        assert.match(replayedCode.text, /already used or is too old/);

        const joined = await requestToken(node, ROOM, { sso_token: ssoToken });
        assert.equal(joined.status, 200, joined.text);
        assert.equal(joined.json.result.role, 'HOST');
        assert.equal(joined.json.result.display_name, claimsOf('alice').name);

        const replayedToken = await requestToken(node, ROOM, { sso_token: ssoToken });
        assert.equal(replayedToken.status, 403);
        assert.equal(replayedToken.json.result, 'SSO Authentication Failed');
        const madeUp = await requestToken(node, ROOM, { sso_token: 'x'.repeat(43) });
        assert.equal(madeUp.json.result, 'SSO Authentication Failed');
        await call(node, 'POST', `/api/client/v2/conferences/${ROOM}/release_token`, { headers: { token: joined.json.result.token }, body: {} });

        const log = fs.readFileSync(node.logPath, 'utf8');
        for (const secret of [CLIENT_SECRET, back.searchParams.get('code'), ssoToken]) {
            assert.ok(!log.includes(secret), 'the node log holds no secret, code or token');
        }
    });

    it('a missing claim, a provider down at the exchange, a dead issuer: each names its step', { timeout: T }, async () => {
        const noname = await loginAtProvider((await redirectAnswer()).redirect_url, 'noname');
        const claimPage = await call(node, 'GET', noname.pathname + noname.search);
        assert.equal(claimPage.status, 400, claimPage.text);
        assert.match(claimPage.text, /did not send the claim &quot;name&quot;/);
        assert.match(claimPage.headers['content-type'], /^text\/html/);

        const bob = await loginAtProvider((await redirectAnswer()).redirect_url, 'bob');
        await oidc.close();
        try {
            const down = await call(node, 'GET', bob.pathname + bob.search);
            assert.equal(down.status, 502, down.text);
            assert.match(down.text, /token exchange with the identity provider failed/);
            assert.ok(!down.text.includes(bob.searchParams.get('code')), 'the page does not show the code');
        } finally {
            oidc = await startOidc({ port: oidcPort, redirectUri: `${node.url}/api/client/v2/oauth2_redirect` });
        }

        const list = await requestToken(node, 'sso-dead');
        const dead = await requestToken(node, 'sso-dead', { chosen_idp: list.json.result.idp[0].uuid, sso_redirect_target: `${node.url}/webapp/#/?sso_token=${PLACEHOLDER}` });
        assert.equal(dead.status, 403);
        assert.equal(dead.json.result, 'SSO Authentication Failed');
        // the node's log reaches its file through a pipe: give it a moment
        let log = '';
        for (let i = 0; i < 50 && !/discovery document could not be read/.test(log); i++) {
            await new Promise((r) => setTimeout(r, 100));
            log = fs.readFileSync(node.logPath, 'utf8');
        }
        assert.match(log, /single sign-on could not start.*discovery document could not be read.*Dead IdP/);
    });

    it('the provider\'s ?error= and the ?message= pages are escaped', { timeout: T }, async () => {
        const refused = await call(node, 'GET', `/api/client/v2/oauth2_redirect?error=access_denied&error_description=${encodeURIComponent('<script>alert(1)</script>')}&state=x`);
        assert.equal(refused.status, 400);
        assert.match(refused.text, /access_denied: &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
        assert.ok(!refused.text.includes('<script>'));

        const message = Buffer.from('Welcome <b>back</b>').toString('base64');
        const signedIn = await call(node, 'GET', `/api/client/v2/oauth2_redirect?message=${encodeURIComponent(message)}`);
        assert.equal(signedIn.status, 200);
        assert.match(signedIn.text, /Welcome &lt;b&gt;back&lt;\/b&gt;/);
        const plain = await call(node, 'GET', '/api/client/v2/oauth2_redirect');
        assert.equal(plain.status, 200);
        assert.match(plain.text, /You are signed in. You can close this window/);
        assert.equal(plain.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
    });

    const regPath = (alias) => `/api/client/v2/registrations/${encodeURIComponent(alias)}/request_token`;
    /** request_token at a registration (rate limit waited out, see `patiently`). */
    const register = (alias, body) => patiently(() => call(node, 'POST', regPath(alias), body === undefined ? {} : { body }));

    /** Signs `login` in for the device; answers the one-time sso_token the node hands back. */
    async function deviceSignIn(login) {
        const started = await register(DEVICE, { chosen_idp: idpUuid, sso_redirect_target: `${node.url}/webapp/home?register=${DEVICE}&sso_token=${PLACEHOLDER}` });
        assert.equal(started.status, 403, started.text);
        assert.ok(started.json.result.redirect_url.startsWith(oidc.issuer), started.text);
        const back = await loginAtProvider(started.json.result.redirect_url, login);
        const done = await call(node, 'GET', back.pathname + back.search);
        assert.equal(done.status, 303, done.text);
        assert.ok(done.headers.location.startsWith(`${node.url}/webapp/home?register=${DEVICE}&sso_token=`), done.headers.location);
        return new URL(done.headers.location).searchParams.get('sso_token');
    }

    it('devices: the provider list for any alias; someone else is refused; the device\'s account registers once', { timeout: T }, async () => {
        const asked = await register(DEVICE);
        assert.equal(asked.status, 403, asked.text);
        assert.deepEqual(asked.json.result.idp, [{ name: IDP, uuid: idpUuid }], 'only the provider devices sign in with');
        for (const other of ['nobody.desk', ROOM]) {
            const r = await register(other, {});
            assert.equal(r.status, 403);
            assert.deepEqual(r.json.result.idp, asked.json.result.idp, `the same answer for ${other}`);
        }
        const foreign = await register(DEVICE, { chosen_idp: idpUuid, sso_redirect_target: `https://evil.example.net/?t=${PLACEHOLDER}` });
        assert.equal(foreign.json.result, 'SSO Authentication Failed. SSO is not available from this domain');

        const erin = await deviceSignIn('erin');
        const refused = await register(DEVICE, { sso_token: erin });
        assert.equal(refused.status, 401, refused.text);
        assert.deepEqual(refused.json, { status: 'failed', result: 'Invalid registration credentials' }, 'as a wrong password');

        const dana = await deviceSignIn('dana');
        const ok = await register(DEVICE, { sso_token: dana });
        assert.equal(ok.status, 200, ok.text);
        assert.match(ok.json.result.token, /^[A-Za-z0-9_-]{40,}$/);
        assert.match(ok.json.result.registration_uuid, /^[0-9a-f-]{36}$/);
        const replay = await register(DEVICE, { sso_token: dana });
        assert.equal(replay.status, 401, 'the token is one-time');
        // the registration token works like any other: the directory, then release
        const dir = await call(node, 'GET', '/api/client/v2/registrations?q=dana', { headers: { token: ok.json.result.token } });
        assert.equal(dir.status, 200, dir.text);
        assert.deepEqual(dir.json.result.map((e) => e.alias), [DEVICE]);
        const out = await call(node, 'POST', `/api/client/v2/registrations/${DEVICE}/release_token`, { headers: { token: ok.json.result.token }, body: {} });
        assert.equal(out.status, 200, out.text);

        // A Host's sign-in does not register the device, and the device's does not make a Host.
        const answer = await redirectAnswer();
        const host = await loginAtProvider(answer.redirect_url, 'dana');
        const hostDone = await call(node, 'GET', host.pathname + host.search);
        const hostToken = new URL(hostDone.headers.location.replace('#/?', '?')).searchParams.get('sso_token');
        assert.equal((await register(DEVICE, { sso_token: hostToken })).status, 401);
        const deviceToken = await deviceSignIn('dana');
        const asHost = await patiently(() => requestToken(node, ROOM, { sso_token: deviceToken }));
        assert.equal(asHost.status, 403);
        assert.equal(asHost.json.result, 'SSO Authentication Failed');

        const log = fs.readFileSync(node.logPath, 'utf8');
        for (const secret of [erin, dana, ok.json.result.token]) assert.ok(!log.includes(secret), 'no token in the node log');
    });

    it('web app: open the room, sign in with the provider, come back, be in the meeting as Host', { timeout: 180000 }, async () => {
        const h = await createWebappHarness({ name: 'sso-webapp', node });
        try {
            const page = await h.open('A', `/webapp/#/?conference=${ROOM}&name=Typed%20Name`);
            const button = page.getByRole('button', { name: `Sign in with ${IDP}` });
            await button.waitFor({ timeout: 30000 });
            assert.equal(await page.getByRole('button', { name: 'Join as Guest' }).count(), 1, 'Guests may join without signing in');
            await h.shot('idp-choice', 'A');
            await button.click();
            // the provider's own login screen, then its consent screen
            await page.waitForURL((u) => u.href.startsWith(oidc.issuer), { timeout: 30000 });
            await page.fill('input[name="login"]', 'carol');
            await page.fill('input[name="password"]', 'any password');
            await h.shot('provider-login', 'A');
            await page.click('button[type="submit"]');
            await page.waitForURL((u) => u.href.startsWith(node.url) || /interaction/.test(u.pathname), { timeout: 30000 });
            if (page.url().startsWith(oidc.issuer)) await page.click('button[type="submit"]');
            // back in the web app: in the meeting as Host, under the name from the claim
            const name = claimsOf('carol').name;
            await h.until('A: own roster row with the claimed name', () => page.locator('.roster .person', { hasText: name }).count(), (n) => n === 1 || `${n}`, { timeout: 60000 });
            const row = page.locator('.roster .person', { hasText: name });
            assert.equal(await row.locator('.pill-host').count(), 1, 'the signed-in user is a Host');
            assert.equal(await page.locator('.roster .person', { hasText: 'Typed Name' }).count(), 0, 'the typed name is not used');
            assert.ok(!page.url().includes('sso_token'), `the token left the address bar: ${page.url()}`);
            await h.shot('in-meeting', 'A');
            // the app's downloadable log blanks sign-in tokens, codes and states in URLs
            const redacted = await page.evaluate(async () => (await import('/webapp/assets/logs.js')).redact('GET /webapp/#/?conference=r&sso_token=SECRET1 /cb?code=SECRET2&state=SECRET3'));
            assert.ok(!/SECRET/.test(redacted), redacted);
        } finally {
            await h.close();
        }
    });
    it('web app: "Receive calls" with single sign-on — back registered, kept over a reload, and a call rings', { timeout: 180000 }, async () => {
        const h = await createWebappHarness({ name: 'sso-device', node });
        try {
            const page = await h.open('A', '/webapp/home');
            const button = page.locator('.register-card [data-reg-idp]');
            await button.waitFor({ timeout: 30000 });
            assert.equal((await button.textContent()).trim(), `Sign in with ${IDP}`);
            await button.click();
            assert.equal(await page.locator('.register-card .form-error').textContent(), 'Please fill in the device address first.');
            await page.fill('#reg-alias', DEVICE);
            await h.shot('device-sso', 'A');
            await button.click();
            await page.waitForURL((u) => u.href.startsWith(oidc.issuer), { timeout: 30000 });
            await page.fill('input[name="login"]', 'dana');
            await page.fill('input[name="password"]', 'any password');
            await page.click('button[type="submit"]');
            await page.waitForURL((u) => u.href.startsWith(node.url) || /interaction/.test(u.pathname), { timeout: 30000 });
            if (page.url().startsWith(oidc.issuer)) await page.click('button[type="submit"]');
            const status = page.locator('.register-card .reg-status');
            await status.waitFor({ timeout: 30000 });
            assert.match(await status.textContent(), new RegExp(`Signed in as ${DEVICE.replace('.', '\\.')}`));
            assert.ok(!page.url().includes('sso_token'), `the token left the address bar: ${page.url()}`);
            await h.shot('device-registered', 'A');

            await page.reload();
            await page.locator('.register-card .reg-status').waitFor({ timeout: 30000 });
            assert.match(await page.locator('.register-card .reg-status').textContent(), /Signed in as dana\.desk/, 'still registered after a reload');

            // someone calls the device: it rings here
            const caller = await h.open('B', '/webapp/home');
            await caller.fill('#name', 'Bob');
            await caller.fill('#alias', DEVICE);
            await caller.locator('[data-join="none"]').click();
            await h.until('A: the call rings', () => page.evaluate(() => document.querySelector('dialog.incoming-dialog[open] h2')?.textContent ?? null), (v) => v === 'Bob is calling' || `dialog: ${v}`, { timeout: 60000 });
            await h.shot('device-rings', 'A');
            await page.locator('dialog.incoming-dialog [data-call="decline"]').click();
            await h.until('B: call rejected', () => caller.evaluate(() => document.querySelector('.error-card .pex')?.textContent ?? null), (v) => v === '#pex150' || `${v}`, { timeout: 60000 });
            await page.locator('[data-reg="sign-out"]').click();
            await page.locator('.register-card [data-reg-idp]').waitFor({ timeout: 30000 });
        } finally {
            await h.close();
        }
    });
});
