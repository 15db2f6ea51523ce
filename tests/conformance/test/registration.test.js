// Device registration (/api/client/v2/registrations/…) as Pexip's native SDKs speak it:
// request_token with `x-pexip-basic` credentials, refresh_token, release_token, the event
// stream and the directory. @pexip/infinity-api has no registration validators; replies are
// checked against the SDK models transcribed in lib/registration-models.js.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useNode } from '../lib/harness.js';
import { EventStream, Participant, conf, sdkBody } from '../lib/client.js';
import { E, F, V, check, ParticipantObject } from '../lib/validate.js';
import {
    RegistrationToken200, RegistrationRefresh200, RegistrationRelease200, Registrations200, pexipBasic,
    IncomingEvent, IncomingCancelledEvent, DialableDevices200,
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

[[device]]
alias = "dora@example.com"
username = "dora"
password_hash = "${HASH}"
description = "Dora Explorer"
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

// === calls to registered devices: Add participant (dial), calls to a person ===

/** Registers dora@example.com and opens its event stream. */
async function doraRinging() {
    const { token } = await registered('dora@example.com', 'dora');
    const stream = await EventStream.open(ctx.client, `${REG}/dora@example.com/events?token=${token}`);
    assert.equal(stream.status, 200);
    return { token, stream };
}

async function incoming(stream, from = 0) {
    const e = await stream.next('incoming', () => true, { from });
    check(IncomingEvent, e.data, { what: `SSE incoming ${e.raw}` });
    return e.data;
}

/** Answers an `incoming` as the SDKs do: request_token at its conference_alias with `token`. */
async function answer(data, name = 'Dora') {
    const r = await ctx.client.requestToken(data.conference_alias, sdkBody(name, ctx.node.host, { token: data.token }));
    const p = new Participant(ctx.client, data.conference_alias, r.expect(200, V.validateRequestToken200).result);
    ctx.client.participants.push(p);
    return p;
}

test('dial (Add participant) rings a registered device: validateDial200, connecting in the roster, incoming, answer', async () => {
    const { token, stream } = await doraRinging();
    const host = await ctx.client.join('meet.open', 'Hosta');
    const body = { role: 'GUEST', destination: 'dora@example.com', protocol: 'auto', remote_display_name: 'Dora (desk)' };
    const r = await host.post('dial', { body, bodyValidator: V.validateDialBody });
    const [uuid] = r.expect(200, V.validateDial200).result;
    const ringing = await host.find(uuid);
    check(ParticipantObject, ringing, { what: 'ringing participant' });
    assert.equal(ringing.service_type, 'connecting');
    assert.equal(ringing.call_direction, 'out');
    assert.equal(ringing.display_name, 'Dora (desk)');
    const data = await incoming(stream);
    assert.equal(data.conference_alias, 'meet.open');
    assert.equal(data.remote_display_name, 'Hosta');
    const dora = await answer(data);
    assert.equal(dora.uuid, uuid);
    assert.equal(dora.role, 'GUEST');
    const joined = await host.find(uuid);
    assert.equal(joined.service_type, 'conference');
    assert.equal(joined.role, 'guest');
    // one-time: the same token answers nothing more
    const again = await ctx.client.requestToken(data.conference_alias, sdkBody('Dora', ctx.node.host, { token: data.token }));
    assert.equal(again.expect(403, F).result, 'Invalid token');
    await dora.release();
    (await post('dora@example.com', 'release_token', token)).expect(200, RegistrationRelease200);
    stream.close();
});

test('participants/{uuid}/dial rings too; a Host cancels a ringing dial (disconnect): incoming_cancelled; unregistered and gateway destinations are refused', async () => {
    const { token, stream } = await doraRinging();
    const host = await ctx.client.join('meet.open', 'Hosta');
    const bob = await host.post('dial', { body: { role: 'HOST', destination: 'bob@example.com', protocol: 'auto' }, bodyValidator: V.validateDialBody });
    assert.equal(bob.expect(403, E).result, 'Device not registered');
    const sip = await host.post('dial', { body: { role: 'HOST', destination: 'sip:x@example.invalid', protocol: 'sip' }, bodyValidator: V.validateDialBody });
    assert.equal(sip.expect(403, E).result, 'Gateway dial out failed');
    // participants/{uuid}/dial, from the Host's own participant, rings the same way
    const other = await ctx.client.join('meet.open', 'Otto');
    assert.equal((await host.act(other, 'dial', { body: { role: 'HOST', destination: 'dora@example.com', protocol: 'auto' } })).expect(403, E).result, 'a participant can only do this for themself');
    const r = await host.act(host, 'dial', { body: { role: 'HOST', destination: 'dora@example.com', protocol: 'auto' } });
    const [uuid] = r.expect(200, V.validateDial200).result;
    const data = await incoming(stream);
    (await host.act(uuid, 'disconnect')).expect(200, V.validateDisconnectParticipant200);
    const cancel = await stream.next('incoming_cancelled', (d) => d.token === data.token);
    check(IncomingCancelledEvent, cancel.data, { what: 'SSE incoming_cancelled' });
    assert.equal(await host.find(uuid), undefined, 'gone from the roster');
    (await post('dora@example.com', 'release_token', token)).expect(200, RegistrationRelease200);
    stream.close();
});

test('the Hosts\' device directory (plenum extension) lists devices with their registration', async () => {
    const { token } = await registered('dora@example.com', 'dora');
    const host = await ctx.client.join('meet.open', 'Hosta');
    const r = await host.get('directory?q=explorer');
    assert.deepEqual(r.expect(200, DialableDevices200).result, [{ alias: 'dora@example.com', description: 'Dora Explorer', registered: true }]);
    const pinHost = await ctx.client.join('meet.pin', 'Hazel', { pin: '1234' });
    (await pinHost.post('start_conference')).expect(200, V.validateStartConference200);
    const guest = await ctx.client.join('meet.pin', 'Gus', { pin: 'none' });
    assert.equal(guest.role, 'GUEST');
    assert.equal((await guest.get('directory')).expect(403, E).result, 'only a Host can do this');
    (await post('dora@example.com', 'release_token', token)).expect(200, RegistrationRelease200);
});

test('a call to a person: the caller is Host of a private call; declining ends it with "Call rejected"', async () => {
    const { token, stream } = await doraRinging();
    const caller = await ctx.client.join('dora@example.com', 'Erin');
    assert.equal(caller.role, 'HOST');
    const events = await caller.events();
    await events.synced();
    const data = await incoming(stream);
    assert.equal(data.remote_display_name, 'Erin');
    assert.match(data.conference_alias, /^call\./);
    const list = await caller.participants();
    const ringing = list.find((p) => p.uuid !== caller.uuid);
    assert.equal(ringing.service_type, 'connecting');
    assert.equal(ringing.display_name, 'Dora Explorer');
    // Declining = release_token with the incoming token at the call's alias.
    const declined = await ctx.client.request('POST', conf(data.conference_alias, 'release_token'), { headers: { token: data.token }, body: {}, bodyValidator: V.validateReleaseTokenBody });
    declined.expect(200, V.validateReleaseToken200);
    const gone = await events.next('disconnect');
    assert.equal(gone.data.reason, 'Call rejected');
    caller.released = true;
    (await post('dora@example.com', 'release_token', token)).expect(200, RegistrationRelease200);
    stream.close();
    events.close();
});

test('calling a device nobody is registered at: 404 "Device not registered"', async () => {
    const r = await ctx.client.requestToken('bob@example.com', sdkBody('Erin', ctx.node.host));
    assert.equal(r.expect(404, F).result, 'Device not registered');
});
