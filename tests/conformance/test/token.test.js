// request_token / refresh_token / release_token and token handling
// (client-api-v2.md §1, behavior.md §2).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useNode } from '../lib/harness.js';
import { V, E as invalidToken } from '../lib/validate.js';
import { conf, sdkBody } from '../lib/client.js';

const ctx = useNode({ name: 'token' });

// Each refusing case uses its own source address (127.0.0.x) so that the per-caller PIN
// failure counter (3 tries, behavior.md §2) never carries over between cases.
let nextAddr = 10;
const freshClient = () => ctx.newClient({ localAddress: `127.0.0.${nextAddr++}` });

function prompt(pin, guestPin) {
    return (r) => {
        const b = r.expect(403, V.validateRequestToken403);
        assert.equal(typeof b.result, 'object', `PIN prompt expected (§1.2): ${r.describe()}`);
        assert.equal(b.result.pin, pin, `pin (§1.2 table): ${r.describe()}`);
        assert.equal(b.result.guest_pin, guestPin, `guest_pin (§1.2 table): ${r.describe()}`);
        assert.equal(b.status, 'success', `§1.2: use "success" for the prompts: ${r.describe()}`);
    };
}
function granted(role) {
    return (r) => {
        const b = r.expect(200, V.validateRequestToken200);
        assert.equal(b.status, 'success');
        assert.equal(b.result.role, role, `role (§1.2 table): ${r.describe()}`);
    };
}
function refused(reason) {
    return (r) => {
        const b = r.expect(403, V.validateRequestToken403);
        assert.equal(b.result, reason, `§1.2: ${r.describe()}`);
        assert.equal(b.status, 'failed', `§1.2: "failed" for error strings: ${r.describe()}`);
    };
}

// The PIN table of client-api-v2.md §1.2 against the shipped rooms.
const TABLE = [
    // room config: no PINs
    ['meet.open', undefined, granted('HOST')],
    ['meet.open', '1234', granted('HOST')],
    ['meet.open', 'none', granted('HOST')],
    // host PIN, guests allowed, no guest PIN
    ['meet.pin', undefined, prompt('required', 'none')],
    ['meet.pin', '1234', granted('HOST')],
    ['meet.pin', 'none', granted('GUEST')],
    ['meet.pin', '9999', refused('Invalid PIN')],
    ['meet.pin', '1234#', granted('HOST')],
    // host + guest PIN
    ['meet.twopins', undefined, prompt('required', 'required')],
    ['meet.twopins', '1234', granted('HOST')],
    ['meet.twopins', '5678', granted('GUEST')],
    ['meet.twopins', 'none', refused('Invalid PIN')],
    ['meet.twopins', '9999', refused('Invalid PIN')],
    ['meet.twopins', '1234#', granted('HOST')],
    ['meet.twopins', '5678#', granted('GUEST')],
    // host PIN, no guests
    ['meet.hostonly', undefined, prompt('required', 'none')],
    ['meet.hostonly', '1234', granted('HOST')],
    ['meet.hostonly', 'none', refused('Invalid PIN')],
    ['meet.hostonly', '9999', refused('Invalid PIN')],
    ['meet.hostonly', '1234#', granted('HOST')],
    // numeric aliases reach the same rooms; alias matching ignores case (behavior.md §1)
    ['1003', '5678', granted('GUEST')],
    ['MEET.PIN', '1234', granted('HOST')],
];

describe('request_token PIN table (§1.2)', () => {
    for (const [alias, pin, verdict] of TABLE) {
        test(`${alias} pin=${pin ?? '(absent)'}`, async () => {
            const c = freshClient();
            const r = await c.requestToken(alias, sdkBody(`pin-table ${pin}`, ctx.node.host), { pin });
            verdict(r);
            if (r.status === 200) {
                const res = r.json.result;
                c.participants = [{ alias, token: res.token }];
            }
        });
    }
});

describe('request_token', () => {
    test('200 result: required fields, types, echoes (§1.3, §8.1, §9)', async () => {
        const r = await ctx.client.requestToken('meet.open', sdkBody('Alice Ämmä', ctx.node.host, { call_tag: 'tag-42' }));
        const { result } = r.expect(200, V.validateRequestToken200);
        ctx.client.participants = [{ alias: 'meet.open', token: result.token }];
        assert.equal(result.display_name, 'Alice Ämmä');
        assert.match(result.expires, /^\d+$/, '§1.3 expires: seconds as a string');
        assert.ok(Number(result.expires) >= 30, 'expires is a sensible lifetime');
        assert.match(result.token, /^[A-Za-z0-9._~-]+$/, '§3.1: tokens from a URL-safe alphabet');
        assert.ok(result.token.length >= 16);
        assert.ok(result.participant_uuid.length > 0);
        assert.equal(result.current_service_type, 'conference');
        assert.equal(result.call_tag, 'tag-42', '§1.1 call_tag is echoed');
        assert.ok(result.direct_media === false || result.direct_media === undefined, '§1.3 MCU: direct_media false/omit');
        for (const k of ['stun', 'turn']) {
            if (k in result) assert.ok(result[k].length > 0, `§9: never an empty ${k} list`);
        }
    });

    test('SSO fields "none" are treated as absent; a minimal body works too (§1.1)', async () => {
        const r = await ctx.client.requestToken('meet.open', { display_name: 'Minimal' });
        const { result } = r.expect(200, V.validateRequestToken200);
        ctx.client.participants = [{ alias: 'meet.open', token: result.token }];
        assert.equal(result.display_name, 'Minimal');
    });

    test('unknown alias → 404 "Neither conference nor gateway found" (§1.2)', async () => {
        const r = await ctx.client.requestToken('no.such.room', sdkBody('X', ctx.node.host));
        const b = r.expect(404, V.validateRequestToken404);
        assert.equal(b.result, 'Neither conference nor gateway found');
        assert.equal(b.status, 'failed');
    });

    test('non-JSON body → 415 (§1.2)', async () => {
        for (const [ct, raw] of [['text/plain', 'display_name=Bob'], ['application/x-www-form-urlencoded', 'display_name=Bob']]) {
            const r = await ctx.client.request('POST', conf('meet.open', 'request_token'), { headers: { 'content-type': ct }, raw });
            const b = r.expect(415, V.validateRequestToken415);
            assert.equal(b.status, 'failed');
        }
    });

    test('Virtual Reception: extension prompt, then conference_extension → 200 (§1.2)', async () => {
        const r1 = await ctx.client.requestToken('reception', sdkBody('Rita', ctx.node.host));
        const b1 = r1.expect(403, V.validateRequestToken403);
        assert.deepEqual(b1.result, { conference_extension: 'required', conference_extension_type: 'standard' });

        const r2 = await ctx.client.requestToken('reception', sdkBody('Rita', ctx.node.host, { conference_extension: '1001' }));
        const b2 = r2.expect(200, V.validateRequestToken200);
        ctx.client.participants = [{ alias: 'reception', token: b2.result.token }];
        assert.equal(b2.result.role, 'HOST', 'meet.open (1001) makes everyone Host');
        // The SDK keeps using the alias it dialled (infinityClient.js: currentConferenceAlias =
        // conferenceAlias) for every later request, so the token must work through `reception`.
        const s = await ctx.client.request('GET', conf('reception', 'conference_status'), { headers: { token: b2.result.token } });
        s.expect(200, V.validateConferenceStatus200);
    });

    test('Virtual Reception into a PIN room: PIN prompt, then PIN + extension → 200 (§1.2)', async () => {
        const c = freshClient();
        const r1 = await c.requestToken('reception', sdkBody('Rita', ctx.node.host, { conference_extension: '1002' }));
        const b1 = r1.expect(403, V.validateRequestToken403);
        assert.equal(b1.result.pin, 'required', `meet.pin (1002) asks for its PIN: ${r1.describe()}`);
        assert.equal(b1.result.guest_pin, 'none');
        const r2 = await c.requestToken('reception', sdkBody('Rita', ctx.node.host, { conference_extension: '1002' }), { pin: '1234' });
        const b2 = r2.expect(200, V.validateRequestToken200);
        c.participants.push({ alias: 'reception', token: b2.result.token });
        assert.equal(b2.result.role, 'HOST');
    });

    test('Virtual Reception: unknown extension → "Conference extension not found" (§5.3)', async () => {
        const r = await ctx.client.requestToken('reception', sdkBody('Rita', ctx.node.host, { conference_extension: '999999' }));
        const b = r.expectOneOf({ 403: V.validateRequestToken403, 404: V.validateRequestToken404 });
        assert.equal(b.result, 'Conference extension not found');
    });

    test('participant limit: the third caller of meet.limit2 gets "Participant limit reached" (#pex194)', async () => {
        const a = await ctx.client.join('meet.limit2', 'L1');
        const b = await ctx.client.join('meet.limit2', 'L2');
        assert.ok(a && b);
        const r = await ctx.client.requestToken('meet.limit2', sdkBody('L3', ctx.node.host));
        const body = r.expectOneOf({ 403: V.validateRequestToken403, 503: V.validateRequestToken503 });
        assert.equal(body.result, 'Participant limit reached');
        // a place frees up when one leaves
        await b.release();
        const again = await ctx.client.join('meet.limit2', 'L3');
        assert.ok(again.token);
    });

    test('three wrong PINs → "Participant exceeded PIN entry retries" (#pex192), per caller', async () => {
        const bad = freshClient();
        const answers = [];
        for (let i = 0; i < 3; i++) {
            const r = await bad.requestToken('meet.hostonly', sdkBody('Guesser', ctx.node.host), { pin: `000${i}` });
            answers.push(r.expect(403, V.validateRequestToken403).result);
        }
        assert.deepEqual(answers.slice(0, 2), ['Invalid PIN', 'Invalid PIN']);
        // after the third failure the caller is out of tries: the right PIN is refused too
        const r = await bad.requestToken('meet.hostonly', sdkBody('Guesser', ctx.node.host), { pin: '1234' });
        const b = r.expect(403, V.validateRequestToken403);
        assert.ok(
            answers[2] === 'Participant exceeded PIN entry retries' || b.result === 'Participant exceeded PIN entry retries',
            `§1.2: 3 failures → "Participant exceeded PIN entry retries"; got ${JSON.stringify(answers)} then ${JSON.stringify(b.result)}`,
        );
        assert.equal(b.result, 'Participant exceeded PIN entry retries', 'a locked-out caller is refused even with the right PIN');
        assert.equal(b.status, 'failed');
        // another caller is not affected (failures are counted per caller, behavior.md §2)
        const other = freshClient();
        const ok = await other.join('meet.hostonly', 'Host', { pin: '1234' });
        assert.equal(ok.role, 'HOST');
    });
});

// A node with ICE servers configured: the validators accept `stun`/`turn`, and the shapes
// are the ones browsers take (§1.3, §9). STUN goes in [node]; the [[turn]] table may live
// in either file, so it is appended to services.toml.
describe('request_token with ICE servers configured (§1.3)', () => {
    const ice = useNode({
        name: 'token-ice',
        ownNode: true,
        nodeToml: 'stun = ["stun:stun.example.com:3478", "stuns:stun.example.com"]',
        extraServices: [
            '[[turn]]',
            'urls = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"]',
            'username = "plenum"',
            'credential = "tUrN-s3cret"',
        ].join('\n'),
    });

    test('200 result carries stun [{url}] and turn [{urls, username, credential}]', async () => {
        const r = await ice.client.requestToken('meet.open', sdkBody('Ice', ice.node.host));
        const { result } = r.expect(200, V.validateRequestToken200);
        ice.client.participants = [{ alias: 'meet.open', token: result.token }];
        assert.deepEqual(result.stun, [{ url: 'stun:stun.example.com:3478' }, { url: 'stuns:stun.example.com' }]);
        assert.deepEqual(result.turn, [{
            urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:443?transport=tcp'],
            username: 'plenum',
            credential: 'tUrN-s3cret',
        }]);
    });
});

describe('services and aliases', () => {
    test('percent-encoded alias is decoded before lookup (§0)', async () => {
        const r = await ctx.client.request('POST', '/api/client/v2/conferences/meet%2Eopen/request_token', { body: { display_name: 'Enc' }, bodyValidator: V.validateRequestTokenBody });
        const { result } = r.expect(200, V.validateRequestToken200);
        ctx.client.participants.push({ alias: 'meet.open', token: result.token });
    });

    test('service_type per service kind (§1.3): VMR conference, auditorium lecture, test call', async () => {
        const vmr = await ctx.client.join('meet.open', 'V');
        assert.equal(vmr.result.service_type ?? 'conference', 'conference');
        const va = await ctx.client.join('auditorium', 'VA Host', { pin: '1234' });
        assert.equal(va.result.service_type, 'lecture', '§1.3: lecture = Virtual Auditorium');
        const vaGuest = await ctx.client.join('auditorium', 'VA Guest', { pin: 'none' });
        assert.equal(vaGuest.role, 'GUEST');
        const tc = await ctx.client.join('test', 'Tester');
        assert.equal(tc.result.current_service_type, 'test_call');
    });
});

describe('tokens', () => {
    test('token is accepted in the header and in the query (§1.4)', async () => {
        const p = await ctx.client.join('meet.open', 'Q');
        (await p.get('conference_status')).expect(200, V.validateConferenceStatus200);
        const r = await ctx.client.request('GET', conf('meet.open', `conference_status?token=${encodeURIComponent(p.token)}`));
        r.expect(200, V.validateConferenceStatus200);
        const r2 = await ctx.client.request('GET', conf('meet.open', `participants?token=${p.token}`));
        r2.expect(200, V.validateParticipants200);
        // "on every endpoint": POST actions too
        const r3 = await ctx.client.request('POST', conf('meet.open', `lock?token=${p.token}`));
        assert.equal(r3.expect(200, V.validateLock200).result, true);
        const r4 = await ctx.client.request('POST', conf('meet.open', `participants/${p.uuid}/buzz?token=${p.token}`));
        assert.equal(r4.expect(200, V.validateBuzzParticipant200).result, true);
    });

    test('refresh_token: new token works, old keeps working briefly (§1.5)', async () => {
        const p = await ctx.client.join('meet.pin', 'Refresher', { pin: '1234' });
        const r = await p.post('refresh_token');
        const { result } = r.expect(200, V.validateRefreshToken200);
        assert.notEqual(result.token, p.token, 'a new token is issued');
        assert.match(result.expires, /^\d+$/);
        if (result.role) assert.equal(result.role, 'HOST');
        const old = p.token;
        // old token still usable right after (overlap)
        (await p.get('conference_status')).expect(200, V.validateConferenceStatus200);
        p.token = result.token;
        (await p.get('conference_status')).expect(200, V.validateConferenceStatus200);
        (await p.get('participants')).expect(200, V.validateParticipants200);
        // refreshing again with the new token works as well (SDK refreshes every expires/3)
        const r2 = await p.post('refresh_token');
        const r2b = r2.expect(200, V.validateRefreshToken200);
        assert.notEqual(r2b.result.token, result.token);
        p.token = r2b.result.token;
        // the old-old token may expire but must never be a *different* failure than 403 Invalid token
        const o = await ctx.client.request('GET', conf('meet.pin', 'conference_status'), { headers: { token: old } });
        o.expectOneOf({ 200: V.validateConferenceStatus200, 403: invalidToken });
    });

    test('a live token is never 403 on refresh: repeated and concurrent refreshes (§1.5)', async () => {
        const p = await ctx.client.join('meet.open', 'Busy refresher');
        const first = (await p.post('refresh_token')).expect(200, V.validateRefreshToken200).result.token;
        // the SDK may refresh again with the token it had (timer + SSE refresh_token race)
        (await p.post('refresh_token')).expect(200, V.validateRefreshToken200);
        p.token = first;
        const all = await Promise.all([1, 2, 3].map(() => p.post('refresh_token')));
        const tokens = all.map((r) => r.expect(200, V.validateRefreshToken200).result.token);
        p.token = tokens[2];
        (await p.get('conference_status')).expect(200, V.validateConferenceStatus200);
    });

    test('release_token (JSON): B, participant removed, token dead (§1.5)', async () => {
        const host = await ctx.client.join('meet.open', 'Stayer');
        const leaver = await ctx.client.join('meet.open', 'Leaver');
        const b = await leaver.release('User initiated disconnect');
        assert.equal(typeof b.result, 'boolean');
        const list = await host.participants();
        assert.ok(!list.some((x) => x.uuid === leaver.uuid), 'released participant is gone from the roster');
        const r = await leaver.get('conference_status');
        assert.equal(r.expect(403, invalidToken).result, 'Invalid token');
        const r2 = await leaver.post('release_token', { body: {}, bodyValidator: V.validateReleaseTokenBody });
        assert.equal(r2.expect(403, V.validateReleaseToken403).result, 'Invalid token');
    });

    test('release_token beacon style: ?token=, Blob application/json body (§1.4)', async () => {
        const host = await ctx.client.join('meet.open', 'Stayer');
        const leaver = await ctx.client.join('meet.open', 'Tab closer');
        const body = { reason: 'Browser closed' };
        const r = await ctx.client.request('POST', conf('meet.open', `release_token?token=${leaver.token}`), { body, bodyValidator: V.validateReleaseTokenBody });
        r.expect(200, V.validateReleaseToken200);
        leaver.released = true;
        const list = await host.participants();
        assert.ok(!list.some((x) => x.uuid === leaver.uuid), 'beacon release removes the participant');
        // a second beacon with an empty object body (the SDK may send `{}`)
        const leaver2 = await ctx.client.join('meet.open', 'Tab closer 2');
        const r2 = await ctx.client.request('POST', conf('meet.open', `release_token?token=${leaver2.token}`), { body: {}, bodyValidator: V.validateReleaseTokenBody });
        r2.expect(200, V.validateReleaseToken200);
        leaver2.released = true;
    });

    test('bad or released token → 403 "Invalid token" everywhere (§5.1, #pex113)', async () => {
        const host = await ctx.client.join('meet.open', 'Host');
        const other = await ctx.client.join('meet.open', 'Other');
        const released = await ctx.client.join('meet.open', 'Gone');
        await released.release();
        for (const token of ['not-a-token', released.token, '']) {
            const h = { token };
            const cases = [
                ['GET', 'conference_status', invalidToken],
                ['GET', 'participants', invalidToken],
                ['POST', 'lock', invalidToken],
                ['POST', 'refresh_token', V.validateRefreshToken403],
                ['POST', `participants/${other.uuid}/mute`, V.validateMuteParticipant403],
                ['POST', `participants/${other.uuid}/buzz`, V.validateBuzzParticipant403],
                ['POST', `participants/${host.uuid}/disconnect`, V.validateDisconnectParticipant403],
            ];
            for (const [method, path, validator] of cases) {
                const r = await ctx.client.request(method, conf('meet.open', path), { headers: h });
                const b = r.expect(403, validator);
                assert.equal(b.result, 'Invalid token', r.describe());
            }
            const rel = await ctx.client.request('POST', conf('meet.open', 'release_token'), { headers: h, body: {}, bodyValidator: V.validateReleaseTokenBody });
            assert.equal(rel.expect(403, V.validateReleaseToken403).result, 'Invalid token');
            const msg = { type: 'text/plain', payload: 'hi' };
            const m = await ctx.client.request('POST', conf('meet.open', 'message'), { headers: h, body: msg, bodyValidator: V.validateMessageConferenceBody });
            assert.equal(m.expect(403, invalidToken).result, 'Invalid token');
        }
        // the SSE stream refuses a bad token too
        const s = await ctx.client.events('meet.open', 'not-a-token');
        assert.equal(s.expectRefused(403, invalidToken).result, 'Invalid token', '§5.1: bad token on events → 403');
        s.close();
        // still alive afterwards
        (await host.get('conference_status')).expect(200, V.validateConferenceStatus200);
    });

    test('a token is bound to its conference (another room → 403 Invalid token)', async () => {
        const p = await ctx.client.join('meet.open', 'Roamer');
        await ctx.client.join('meet.pin', 'Anchor', { pin: '1234' });
        const r = await ctx.client.request('GET', conf('meet.pin', 'conference_status'), { headers: { token: p.token } });
        assert.equal(r.expect(403, invalidToken).result, 'Invalid token');
        // …but any alias of the same room is fine (backend contract: "any of its aliases")
        const r2 = await ctx.client.request('GET', conf('1001', 'conference_status'), { headers: { token: p.token } });
        r2.expect(200, V.validateConferenceStatus200);
    });
});

