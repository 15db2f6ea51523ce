// Device registration (/api/client/v2/registrations/…) as Pexip's native SDKs speak it:
// request_token with `x-pexip-basic` credentials, refresh_token, release_token, the event
// stream and the directory. @pexip/infinity-api has no registration validators; replies are
// checked against the SDK models transcribed in lib/registration-models.js.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useNode } from '../lib/harness.js';
import { EventStream } from '../lib/client.js';
import { F, V } from '../lib/validate.js';
import {
    RegistrationToken200, RegistrationRefresh200, RegistrationRelease200, Registrations200, pexipBasic,
} from '../lib/registration-models.js';

// The hash of "alice-password", as for alice@example.com in config/services.toml.
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$7UPOb6YAjNP1+NG/hHkY0g$f/AWiT5rHdWTdavd1TS89/3vvZKiQ+reJzCgVCIpwoM';
const ctx = useNode({
    name: 'registration',
    extraServices: `
[[device]]
alias = "bob@example.com"
username = "bob"
password_hash = "${HASH}"
description = "Bob Builder"

[[device]]
alias = "carol@example.com"
username = "carol"
password_hash = "${HASH}"
`,
});

const REG = '/api/client/v2/registrations';
let rotate = 0;
const from = () => `127.0.0.${10 + (rotate++ % 80)}`;

function register(alias, authorization, { localAddress = from() } = {}) {
    const headers = authorization ? { authorization } : {};
    return ctx.client.request('POST', `${REG}/${encodeURIComponent(alias)}/request_token`, { headers, localAddress });
}

function post(alias, what, token) {
    return ctx.client.request('POST', `${REG}/${encodeURIComponent(alias)}/${what}`, { headers: { token }, localAddress: from() });
}

async function registered(alias = 'alice@example.com', user = 'alice') {
    const r = await register(alias, pexipBasic(user, 'alice-password'));
    return r.expect(200, RegistrationToken200).result;
}

test('request_token with the Android SDK\'s base64url credentials → RequestRegistrationTokenResponse', async () => {
    const result = await registered();
    assert.equal(result.expires, '120');
    assert.equal(result.directory_enabled, true);
    assert.equal(result.route_via_registrar, false);
    (await post('alice@example.com', 'release_token', result.token)).expect(200, RegistrationRelease200);
});

test('request_token with the iOS SDK\'s standard base64 credentials works too', async () => {
    const r = await register('alice@example.com', pexipBasic('alice', 'alice-password', { alphabet: 'base64' }));
    const { token } = r.expect(200, RegistrationToken200).result;
    (await post('alice@example.com', 'release_token', token)).expect(200, RegistrationRelease200);
});

test('unknown alias, wrong user, wrong password and no credentials all get the same 401', async () => {
    const answers = [];
    for (const [alias, auth] of [
        ['alice@example.com', pexipBasic('alice', 'wrong')],
        ['alice@example.com', pexipBasic('bob', 'alice-password')],
        ['nobody@example.com', pexipBasic('alice', 'alice-password')],
        ['alice@example.com', undefined],
        ['alice@example.com', 'x-pexip-basic !!!'],
    ]) {
        answers.push((await register(alias, auth)).expect(401, F));
    }
    for (const a of answers) assert.deepEqual(a, answers[0]);
});

test('refresh_token rotates the token; release_token ends it', async () => {
    const { token } = await registered();
    const refreshed = (await post('alice@example.com', 'refresh_token', token)).expect(200, RegistrationRefresh200).result;
    assert.notEqual(refreshed.token, token);
    assert.equal(refreshed.expires, '120');
    (await post('alice@example.com', 'release_token', refreshed.token)).expect(200, RegistrationRelease200);
    const gone = (await post('alice@example.com', 'refresh_token', refreshed.token)).expect(403, F);
    assert.equal(gone.result, 'Invalid token');
});

test('registration and conference tokens are never interchangeable', async () => {
    const { token } = await registered();
    const p = await ctx.client.join('meet.open', 'Dave');
    assert.equal((await post('alice@example.com', 'refresh_token', p.token)).expect(403, F).result, 'Invalid token');
    const asConference = await ctx.client.request('POST', `/api/client/v2/conferences/meet.open/refresh_token`, { headers: { token } });
    asConference.expect(403, V.validateRefreshToken403);
    const dir = await ctx.client.request('GET', `${REG}?q=`, { headers: { token: p.token } });
    assert.equal(dir.expect(403, F).result, 'Invalid token');
    (await post('alice@example.com', 'release_token', token)).expect(200, RegistrationRelease200);
});

test('the directory lists rooms and devices and filters by q', async () => {
    const { token } = await registered();
    const all = (await ctx.client.request('GET', REG, { headers: { token } })).expect(200, Registrations200).result;
    const aliases = all.map((e) => e.alias);
    assert.ok(aliases.includes('alice@example.com'), aliases.join(','));
    assert.ok(aliases.includes('meet.open'), aliases.join(','));
    assert.ok(all.every((e) => e.username === ''), 'sign-in names are not shown to other users');
    const bob = (await ctx.client.request('GET', `${REG}?q=builder`, { headers: { token } })).expect(200, Registrations200).result;
    assert.deepEqual(bob, [{ alias: 'bob@example.com', description: 'Bob Builder', username: '' }]);
    const none = (await ctx.client.request('GET', `${REG}?q=zzz-nothing`, { headers: { token } })).expect(200, Registrations200).result;
    assert.deepEqual(none, []);
    assert.equal((await ctx.client.request('GET', REG)).expect(403, F).result, 'Invalid token');
    (await post('alice@example.com', 'release_token', token)).expect(200, RegistrationRelease200);
});

test('the event stream opens with the token and ends when the registration is released', async () => {
    const { token } = await registered();
    const refused = await EventStream.open(ctx.client, `${REG}/alice@example.com/events?token=made-up`);
    refused.expectRefused(403, F);
    const other = await EventStream.open(ctx.client, `${REG}/bob@example.com/events?token=${token}`);
    other.expectRefused(403, F);
    const stream = await EventStream.open(ctx.client, `${REG}/alice@example.com/events?token=${token}`);
    assert.equal(stream.status, 200);
    assert.match(stream.headers['content-type'], /^text\/event-stream/);
    (await post('alice@example.com', 'release_token', token)).expect(200, RegistrationRelease200);
    assert.equal(await stream.end(5000), true, 'the stream ends with the registration');
    stream.assertNoProblems();
    assert.deepEqual(stream.names(), []);
});

test('repeated failures back off with 429 and Retry-After, per alias', async () => {
    // carol@example.com is used by this test only: its failures hold the alias back.
    for (let i = 0; i < 6; i++) (await register('carol@example.com', pexipBasic('carol', 'wrong'))).expect(401, F);
    const r = await register('carol@example.com', pexipBasic('carol', 'alice-password'));
    const b = r.expect(429, F);
    assert.match(b.result, /try again in \d+ seconds/);
    assert.ok(Number(r.headers['retry-after']) >= 1, `Retry-After: ${r.headers['retry-after']}`);
    // Other aliases are not affected.
    const ok = await registered('bob@example.com', 'bob');
    (await post('bob@example.com', 'release_token', ok.token)).expect(200, RegistrationRelease200);
});
