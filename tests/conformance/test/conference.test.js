// Conference group endpoints (client-api-v2.md §2.1, behavior.md §3–5).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useNode } from '../lib/harness.js';
import { V, E, F } from '../lib/validate.js';
import { conf } from '../lib/client.js';

const ctx = useNode({ name: 'conference' });

/** Host (PIN 1234) + started meeting + `n` Guests (`pin: none`) in meet.pin. */
async function meeting(n = 1) {
    const c = ctx.client;
    const host = await c.join('meet.pin', 'Hazel Host', { pin: '1234' });
    (await host.post('start_conference')).expect(200, V.validateStartConference200);
    const guests = [];
    for (let i = 0; i < n; i++) guests.push(await c.join('meet.pin', `Guest ${i + 1}`, { pin: 'none' }));
    return { host, guests, guest: guests[0] };
}

const B = (r, validator, expected = true) => {
    const b = r.expect(200, validator);
    assert.equal(b.status, 'success');
    assert.equal(b.result, expected, `B envelope result ${expected}: ${r.describe()}`);
    return b;
};

describe('conference group', () => {
    test('conference_status (§3.4) and participants (§3.3)', async () => {
        const { host, guest } = await meeting();
        const st = await host.status();
        assert.equal(st.locked, false);
        assert.equal(st.guests_muted, false);
        assert.equal(st.started, true);
        const list = await guest.participants();
        assert.equal(list.length, 2);
        const h = list.find((p) => p.uuid === host.uuid);
        const g = list.find((p) => p.uuid === guest.uuid);
        assert.equal(h.role, 'chair');
        assert.equal(g.role, 'guest');
        assert.equal(h.display_name, 'Hazel Host');
        // control-only REST participants: neither audio-only nor video (§3.3), protocol api
        assert.equal(g.is_audio_only_call, 'NO');
        assert.equal(g.is_video_call, 'NO');
        assert.equal(g.protocol, 'api');
        assert.equal(g.call_direction, 'in');
        assert.equal(g.is_presenting, 'NO');
        assert.equal(g.buzz_time, 0);
        assert.equal(g.spotlight, 0);
        assert.ok(g.start_time > 1.6e9 && g.start_time < Date.now() / 1000 + 5, 'start_time in epoch seconds');
        assert.deepEqual(g.receive_from_video_mix.mix_name, 'main');
    });

    test('start_conference: control-only Host does not start it; Guest waits until started (behavior.md §3)', async () => {
        const c = ctx.client;
        const host = await c.join('meet.pin', 'Host', { pin: '1234' });
        const st0 = await host.status();
        assert.equal(st0.started, false, 'a control-only Host does not start the meeting by joining');
        const r = await c.requestToken('meet.pin', { display_name: 'Early Guest' }, { pin: 'none' });
        const { result } = r.expect(200, V.validateRequestToken200);
        c.participants.push({ alias: 'meet.pin', token: result.token });
        assert.equal(result.current_service_type, 'waiting_room', '§1.3: waiting_room = waiting for a host');
        B(await host.post('start_conference'), V.validateStartConference200);
        assert.equal((await host.status()).started, true);
        const g = await host.find(result.participant_uuid);
        assert.equal(g.service_type, 'conference', 'the waiting Guest is let in');
    });

    test('lock / unlock (B) change conference_status.locked', async () => {
        const { host } = await meeting(0);
        B(await host.post('lock'), V.validateLock200);
        assert.equal((await host.status()).locked, true);
        B(await host.post('unlock'), V.validateUnlock200);
        assert.equal((await host.status()).locked, false);
    });

    test('muteguests / unmuteguests (B)', async () => {
        const { host, guest } = await meeting();
        B(await host.post('muteguests'), V.validateMuteguests200);
        assert.equal((await host.status()).guests_muted, true);
        assert.equal((await host.find(guest.uuid)).is_muted, 'YES');
        assert.equal((await host.find(host.uuid)).is_muted, 'NO', 'Hosts are not muted by muteguests');
        // later arrivals are muted too (core: "including later arrivals")
        const late = await ctx.client.join('meet.pin', 'Late', { pin: 'none' });
        assert.equal((await host.find(late.uuid)).is_muted, 'YES');
        B(await host.post('unmuteguests'), V.validateUnmuteguests200);
        assert.equal((await host.status()).guests_muted, false);
        assert.equal((await host.find(guest.uuid)).is_muted, 'NO');
    });

    test('set_guests_can_unmute (Body, B)', async () => {
        const { host } = await meeting(0);
        for (const setting of [false, true]) {
            const r = await host.post('set_guests_can_unmute', { body: { setting }, bodyValidator: V.validateSetGuestsCanUnmuteBody });
            B(r, V.validateSetGuestsCanUnmute200);
            assert.equal((await host.status()).guests_can_unmute ?? false, setting);
        }
    });

    test('message to everyone (Body, B) — Guests too', async () => {
        const { host, guest } = await meeting();
        for (const [who, body] of [[host, { type: 'text/plain', payload: 'hello all' }], [guest, { type: 'application/json', payload: '{"x":1}' }]]) {
            B(await who.post('message', { body, bodyValidator: V.validateMessageConferenceBody }), V.validateMessageConference200);
        }
    });

    test('transform_layout: valid layouts (B true), empty = reset, unknown layout rejected (§6.1)', async () => {
        const { host } = await meeting(0);
        for (const transforms of [{ layout: '1:7' }, { layout: '4:0', enable_overlay_text: true }, { layout: 'ac' }, {}]) {
            const r = await host.post('transform_layout', { body: { transforms }, bodyValidator: V.validateTransformLayoutBody });
            B(r, V.validateTransformLayout200);
        }
        const bad = await host.post('transform_layout', { body: { transforms: { layout: 'bogus:99' } }, bodyValidator: V.validateTransformLayoutBody });
        if (bad.status === 200) {
            assert.equal(bad.expect(200, V.validateTransformLayout200).result, false, '§6.1: unknown layout → 200 result:false or non-200');
        } else {
            assert.ok(bad.status >= 400 && bad.status < 500, `§6.1 unknown layout: ${bad.describe()}`);
            bad.expect(bad.status, bad.status === 403 ? E : F);
        }
    });

    test('transform_layout in an auditorium: host_layout / guest_layout (§6.1)', async () => {
        const host = await ctx.client.join('auditorium', 'VA Host', { pin: '1234' });
        const r = await host.post('transform_layout', { body: { transforms: { host_layout: '1:7', guest_layout: '1:0' } }, bodyValidator: V.validateTransformLayoutBody });
        B(r, V.validateTransformLayout200);
    });

    test('available_layouts annotate=true → {name,tags}; annotate=false → names (§6.1)', async () => {
        const { guest } = await meeting();
        const a = (await guest.get('available_layouts?annotate=true')).expect(200, V.validateAvailableLayouts200).result;
        assert.ok(a.length > 0);
        for (const x of a) assert.equal(typeof x, 'object', 'annotate=true gives objects');
        const names = a.map((x) => x.name);
        for (const want of ['1:0', '1:7', '1:21', '2:21', '4:0', 'ac']) assert.ok(names.includes(want), `layout ${want} advertised (behavior.md §5)`);
        const b = (await guest.get('available_layouts?annotate=false')).expect(200, V.validateAvailableLayouts200).result;
        for (const x of b) assert.equal(typeof x, 'string', 'annotate=false gives names');
        assert.deepEqual([...b].sort(), [...names].sort());
    });

    test('layout_svgs: {name: svg}', async () => {
        const { guest } = await meeting();
        const svgs = (await guest.get('layout_svgs')).expect(200, V.validateLayoutSvgs200).result;
        const names = (await guest.get('available_layouts?annotate=false')).expect(200, V.validateAvailableLayouts200).result;
        assert.ok(Object.keys(svgs).length > 0);
        for (const [k, v] of Object.entries(svgs)) {
            assert.ok(names.includes(k), `svg for an advertised layout: ${k}`);
            assert.match(v, /<svg[\s>]/);
        }
    });

    test('theme/ → 204 empty (or a full theme) (§1.6, §2.1)', async () => {
        const { guest } = await meeting();
        const r = await guest.get('theme/');
        if (r.status === 204) {
            r.expect(204, V.validateTheme204, { text: true });
            assert.equal(r.text, '');
        } else {
            r.expect(200, V.validateTheme200);
        }
    });

    test('clearallbuzz (B) lowers every hand', async () => {
        const { host, guests } = await meeting(2);
        for (const g of guests) B(await g.act(g, 'buzz'), V.validateBuzzParticipant200);
        for (const g of guests) assert.ok((await host.find(g.uuid)).buzz_time > 0);
        B(await host.post('clearallbuzz'), V.validateClearAllBuzz200);
        for (const g of guests) assert.equal((await host.find(g.uuid)).buzz_time, 0);
    });

    test('dial: an honest failure (no dial-out yet) — never a fake success', async () => {
        const { host } = await meeting(0);
        const body = { role: 'GUEST', destination: 'sip:nobody@example.invalid', protocol: 'sip' };
        const r = await host.post('dial', { body, bodyValidator: V.validateDialBody });
        if (r.status === 200) {
            const { result } = r.expect(200, V.validateDial200);
            const list = await host.participants();
            for (const uuid of result) assert.ok(list.some((p) => p.uuid === uuid), 'a dialled participant shows in the roster while ringing (behavior.md §5)');
        } else {
            assert.ok(r.status >= 400, r.describe());
            const b = r.expect(r.status, r.status === 403 ? E : F);
            assert.ok(b.result.length > 0, 'failure carries a reason');
        }
    });

    test('disconnect (B) ends the meeting for everyone; tokens die', async () => {
        const { host, guests } = await meeting(2);
        B(await host.post('disconnect'), V.validateDisconnect200);
        for (const p of [host, ...guests]) {
            const r = await p.get('conference_status');
            assert.equal(r.expect(403, E).result, 'Invalid token', 'after disconnect all, tokens are dead');
            p.released = true;
        }
        // the room can be joined again: a new conference instance
        const again = await ctx.client.join('meet.pin', 'Again', { pin: '1234' });
        assert.equal((await again.participants()).length, 1);
    });

    test('a Guest calling Host actions gets 403 and nothing changes (§2.1 "who")', async () => {
        const { host, guest } = await meeting();
        const actions = [
            ['lock'], ['unlock'], ['start_conference'], ['muteguests'], ['unmuteguests'], ['disconnect'], ['clearallbuzz'],
            ['set_guests_can_unmute', { setting: false }, V.validateSetGuestsCanUnmuteBody],
            ['transform_layout', { transforms: { layout: '1:0' } }, V.validateTransformLayoutBody],
            ['dial', { role: 'GUEST', destination: 'sip:x@example.invalid', protocol: 'auto' }, V.validateDialBody],
        ];
        for (const [path, body, bodyValidator] of actions) {
            const r = await guest.post(path, body ? { body, bodyValidator } : {});
            const b = r.expect(403, E);
            assert.ok(b.result.length > 0, r.describe());
        }
        const st = await host.status();
        assert.equal(st.locked, false);
        assert.equal(st.guests_muted, false);
        assert.equal((await host.participants()).length, 2, 'nobody was disconnected');
    });

    test('unknown endpoint → 404 {"status":"failed","result":"404 Not Found"} (§8)', async () => {
        const { host } = await meeting(0);
        const paths = [
            ['POST', 'no_such_action'],
            ['GET', 'no_such_thing'],
            ['POST', `participants/${host.uuid}/no_such_action`],
        ];
        for (const [method, path] of paths) {
            const r = await host.call(method, path);
            assert.deepEqual(r.expect(404, F), { status: 'failed', result: '404 Not Found' });
        }
        const r = await ctx.client.request('GET', '/api/client/v2/no_such_api');
        assert.deepEqual(r.expect(404, F), { status: 'failed', result: '404 Not Found' });
        const r2 = await ctx.client.request('POST', conf('meet.pin', 'no_such_action'));
        assert.equal(r2.expect(404, F).result, '404 Not Found', 'unknown endpoint without token');
    });
});
