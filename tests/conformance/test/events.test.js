// The SSE event stream (client-api-v2.md §3): sync order, payload shapes validated with
// the package's participant / conference-status validators, and live events.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useNode } from '../lib/harness.js';
import { V, check, ParticipantObject, ConferenceStatusObject } from '../lib/validate.js';
import { sleep } from '../lib/client.js';

const ctx = useNode({ name: 'events' });

async function meeting(n = 1) {
    const c = ctx.client;
    const host = await c.join('meet.pin', 'Hazel Host', { pin: '1234' });
    (await host.post('start_conference')).expect(200, V.validateStartConference200);
    const guests = [];
    for (let i = 0; i < n; i++) guests.push(await c.join('meet.pin', `Guest ${i + 1}`, { pin: 'none' }));
    return { host, guests, guest: guests[0] };
}

/** Checks the shapes of every event we know (§3.2–3.4, §6.2). */
function checkEvent(e) {
    const what = `SSE ${e.event} ${e.raw.slice(0, 300)}`;
    switch (e.event) {
        case 'participant_create':
        case 'participant_update':
            check(ParticipantObject, e.data, { what }); // closed schema: no unknown keys either
            break;
        case 'conference_update':
            check(ConferenceStatusObject, e.data, { what });
            break;
        case 'participant_delete':
            assert.deepEqual(Object.keys(e.data), ['uuid'], what);
            assert.equal(typeof e.data.uuid, 'string');
            break;
        case 'participant_sync_begin':
        case 'participant_sync_end':
        case 'presentation_stop':
            assert.deepEqual(e.data, {}, what);
            break;
        case 'message_received':
            assert.equal(typeof e.data.origin, 'string', what);
            assert.equal(typeof e.data.uuid, 'string', what);
            assert.match(e.data.type, /^(text\/plain|application\/json)(;.*)?$/, what);
            assert.equal(typeof e.data.payload, 'string', what);
            assert.equal(typeof e.data.direct, 'boolean', what);
            break;
        case 'layout':
            assert.equal(typeof e.data.view, 'string', what);
            assert.ok(Array.isArray(e.data.participants), what);
            if ('requested_layout' in e.data) {
                const ps = e.data.requested_layout.primary_screen;
                assert.ok(ps && 'chair_layout' in ps && 'guest_layout' in ps, `§6.2 requested_layout.primary_screen with both keys: ${what}`);
            }
            break;
        case 'stage':
            assert.ok(Array.isArray(e.data), what);
            for (const s of e.data) {
                assert.equal(typeof s.participant_uuid, 'string', what);
                assert.equal(typeof s.stage_index, 'number', what);
                assert.equal(typeof s.vad, 'number', what);
            }
            break;
        case 'presentation_start':
            for (const k of ['presenter_name', 'presenter_uri', 'presenter_uuid']) assert.equal(typeof e.data[k], 'string', what);
            assert.ok(e.data.presenter_uuid.length > 0, `§3.2: main-room presentation_start needs a presenter_uuid: ${what}`);
            break;
        case 'disconnect':
            assert.equal(typeof e.data.reason, 'string', what);
            assert.ok(e.data.reason.length > 0, what);
            break;
        case 'refer':
            assert.equal(typeof e.data.alias, 'string', what);
            assert.equal(typeof e.data.token, 'string', what);
            break;
        case 'splash_screen':
            // §3.2: `null` clears; else the SDK looks `screen_key` up in theme/ and
            // multiplies `display_duration` by 1000.
            if (e.data !== null) {
                assert.deepEqual(Object.keys(e.data).sort(), ['display_duration', 'screen_key'], what);
                assert.equal(typeof e.data.screen_key, 'string', what);
                assert.equal(typeof e.data.display_duration, 'number', what);
            }
            break;
        default:
            break;
    }
}

function checkAll(stream) {
    stream.assertNoProblems();
    for (const e of stream.events) checkEvent(e);
}

/** Asserts the §3.1 sync burst at the start of `events`; returns the participant uuids. */
function assertSync(events, { presenting = false } = {}) {
    const names = events.map((e) => e.event);
    let i = 0;
    assert.equal(names[i++], 'participant_sync_begin', `§3.1 sync order: ${names.join(',')}`);
    const uuids = [];
    while (names[i] === 'participant_create') uuids.push(events[i++].data.uuid);
    assert.equal(names[i++], 'participant_sync_end', `§3.1 sync order: ${names.join(',')}`);
    assert.equal(names[i++], 'conference_update', `§3.1 sync order: ${names.join(',')}`);
    assert.equal(names[i++], 'layout', `§3.1 sync order: ${names.join(',')}`);
    if (presenting) assert.equal(names[i++], 'presentation_start', `§3.1: presentation_start in the sync when someone presents: ${names.join(',')}`);
    else assert.notEqual(names[i], 'presentation_start', `§3.1/§9: no presentation_start here: ${names.join(',')}`);
    assert.equal(names[i++], 'stage', `§3.1 sync order: ${names.join(',')}`);
    return uuids;
}

describe('event stream', () => {
    test('200 text/event-stream; sync burst in §3.1 order with self included; data is JSON', async () => {
        const { host, guest } = await meeting();
        const s = await guest.events();
        assert.equal(s.status, 200, s.text);
        assert.match(s.headers['content-type'], /^text\/event-stream/);
        const evs = await s.synced();
        const uuids = assertSync(evs);
        assert.deepEqual(new Set(uuids), new Set([host.uuid, guest.uuid]), 'all current participants, self included');
        const me = evs.find((e) => e.event === 'participant_create' && e.data.uuid === guest.uuid).data;
        assert.equal(me.role, 'guest');
        assert.equal(me.display_name, 'Guest 1');
        // the sync objects equal what GET participants says
        const list = await host.participants();
        for (const p of list) {
            const fromSse = evs.find((e) => e.event === 'participant_create' && e.data.uuid === p.uuid).data;
            assert.deepEqual(Object.keys(fromSse).sort(), Object.keys(p).sort(), '§3.3: send the identical object');
        }
        s.close();
        checkAll(s);
    });

    test('every open re-syncs; two streams for one token both work', async () => {
        const { guest } = await meeting();
        const a = await guest.events();
        const b = await guest.events();
        assertSync(await a.synced());
        assertSync(await b.synced());
        a.close();
        b.close();
        checkAll(a);
        checkAll(b);
    });

    test('live events: participant_create / update / delete, message_received, conference_update', async () => {
        const { host, guest } = await meeting();
        const s = await host.events();
        await s.synced();
        let from = s.count();

        const newcomer = await ctx.client.join('meet.pin', 'Newcomer', { pin: 'none' });
        const created = await s.next('participant_create', (d) => d.uuid === newcomer.uuid, { from });
        assert.equal(created.data.display_name, 'Newcomer');

        from = s.count();
        (await host.act(guest, 'mute')).expect(200, V.validateMuteParticipant200);
        const upd = await s.next('participant_update', (d) => d.uuid === guest.uuid, { from });
        assert.equal(upd.data.is_muted, 'YES', '§3.2: participant_update carries the full, new object');

        from = s.count();
        (await guest.post('message', { body: { type: 'text/plain', payload: 'hi there' }, bodyValidator: V.validateMessageConferenceBody })).expect(200, V.validateMessageConference200);
        const msg = await s.next('message_received', () => true, { from });
        assert.deepEqual(msg.data, { origin: 'Guest 1', uuid: guest.uuid, type: 'text/plain', payload: 'hi there', direct: false });

        from = s.count();
        (await host.post('lock')).expect(200, V.validateLock200);
        const cu = await s.next('conference_update', (d) => d.locked === true, { from });
        assert.equal(cu.data.started, true);

        from = s.count();
        (await host.post('muteguests')).expect(200, V.validateMuteguests200);
        await s.next('conference_update', (d) => d.guests_muted === true, { from });

        from = s.count();
        (await host.post('transform_layout', { body: { transforms: { layout: '1:7' } }, bodyValidator: V.validateTransformLayoutBody })).expect(200, V.validateTransformLayout200);
        const lay = await s.next('layout', (d) => d.view === '1:7' || d.requested_layout?.primary_screen?.chair_layout === '1:7', { from, timeout: 3000 });
        assert.ok(lay, 'a layout event follows transform_layout (§6.2)');

        from = s.count();
        (await guest.act(guest, 'buzz')).expect(200, V.validateBuzzParticipant200);
        const hand = await s.next('participant_update', (d) => d.uuid === guest.uuid && d.buzz_time > 0, { from });
        assert.ok(hand);

        from = s.count();
        await newcomer.release();
        const del = await s.next('participant_delete', (d) => d.uuid === newcomer.uuid, { from });
        assert.deepEqual(del.data, { uuid: newcomer.uuid });

        s.close();
        checkAll(s);
    });

    test('the sender does not need its own broadcast, but a private message reaches only its target (direct:true)', async () => {
        const { host, guests } = await meeting(2);
        const sh = await host.events();
        const s2 = await guests[1].events();
        await sh.synced();
        await s2.synced();
        const from2 = s2.count();
        const body = { type: 'text/plain', payload: 'just for you' };
        (await guests[0].act(host, 'message', { body, bodyValidator: V.validateMessageParticipantBody })).expect(200, V.validateMessageParticipant200);
        const m = await sh.next('message_received', (d) => d.payload === 'just for you');
        assert.deepEqual(m.data, { origin: 'Guest 1', uuid: guests[0].uuid, type: 'text/plain', payload: 'just for you', direct: true });
        await sleep(300);
        assert.ok(!s2.events.slice(from2).some((e) => e.event === 'message_received'), 'a private message is not fanned out to others');
        sh.close();
        s2.close();
        checkAll(sh);
        checkAll(s2);
    });

    test('waiting Guest is admitted: own participant_update service_type waiting_room → conference', async () => {
        const { host } = await meeting(0);
        (await host.post('lock')).expect(200, V.validateLock200);
        const r = await ctx.client.requestToken('meet.pin', { display_name: 'Knocker' }, { pin: 'none' });
        const { result } = r.expect(200, V.validateRequestToken200);
        ctx.client.participants.push({ alias: 'meet.pin', token: result.token });
        const s = await ctx.client.events('meet.pin', result.token);
        const evs = await s.synced();
        assertSync(evs);
        const sh = await host.events();
        await sh.synced();
        (await host.act(result.participant_uuid, 'unlock')).expect(200, V.validateUnlockParticipant200);
        const upd = await s.next('participant_update', (d) => d.uuid === result.participant_uuid && d.service_type === 'conference');
        assert.ok(upd);
        s.close();
        sh.close();
        checkAll(s);
        checkAll(sh);
    });

    test('themed room (meet.pin): a Guest waiting for the Host gets splash_screen after the sync, null once admitted (§3.2, §10)', async () => {
        const guest = await ctx.client.join('meet.pin', 'Early Guest', { pin: 'none' });
        const screens = (await guest.get('theme/')).expect(200, V.validateTheme200).result;
        const s = await guest.events();
        const evs = await s.synced();
        assertSync(evs);
        const shown = await s.next('splash_screen', () => true, { from: evs.length - 1 });
        assert.deepEqual(shown.data, { screen_key: 'direct_media_waiting_for_host', display_duration: 0 });
        assert.ok(screens[shown.data.screen_key], 'the screen is one theme/ answers');
        const host = await ctx.client.join('meet.pin', 'Hazel Host', { pin: '1234' });
        const sh = await host.events();
        await sh.synced();
        const from = s.count();
        (await host.post('start_conference')).expect(200, V.validateStartConference200);
        await s.next('participant_update', (d) => d.uuid === guest.uuid && d.service_type === 'conference', { from });
        const cleared = await s.next('splash_screen', () => true, { from });
        assert.equal(cleared.raw, 'null');
        s.close();
        sh.close();
        checkAll(s);
        checkAll(sh);
        assert.deepEqual(sh.names().filter((n) => n === 'splash_screen'), [], 'nobody else sees it');
    });

    test('presentation_start goes to the others, never to the presenter (§9), also not in its re-sync', async () => {
        const { host, guest } = await meeting();
        const sp = await guest.events();
        const so = await host.events();
        await sp.synced();
        await so.synced();
        const fromP = sp.count();
        (await guest.act(guest, 'take_floor')).expect(200, V.validateTakeFloor200);
        const ps = await so.next('presentation_start');
        assert.equal(ps.data.presenter_uuid, guest.uuid);
        assert.equal(ps.data.presenter_name, 'Guest 1');
        await sp.next('participant_update', (d) => d.uuid === guest.uuid && d.is_presenting === 'YES', { from: fromP });
        await sleep(300);
        assert.ok(!sp.events.slice(fromP).some((e) => e.event === 'presentation_start'), '§9: the presenter must not get its own presentation_start');

        // a re-opened stream: the presenter's sync has no presentation_start, the others' has it
        const sp2 = await guest.events();
        assertSync(await sp2.synced(), { presenting: false });
        const so2 = await host.events();
        assertSync(await so2.synced(), { presenting: true });

        const fromO = so.count();
        (await guest.act(guest, 'release_floor')).expect(200, V.validateReleaseFloor200);
        await so.next('presentation_stop', () => true, { from: fromO });
        for (const s of [sp, so, sp2, so2]) { s.close(); checkAll(s); }
    });

    test('streams survive token rotation (§1.5)', async () => {
        const { host, guest } = await meeting();
        const s = await guest.events();
        await s.synced();
        const r = await guest.post('refresh_token');
        guest.token = r.expect(200, V.validateRefreshToken200).result.token;
        const from = s.count();
        (await host.post('message', { body: { type: 'text/plain', payload: 'after refresh' }, bodyValidator: V.validateMessageConferenceBody })).expect(200, V.validateMessageConference200);
        await s.next('message_received', (d) => d.payload === 'after refresh', { from });
        assert.equal(s.ended, false);
        s.close();
        checkAll(s);
    });

    test('Host disconnects a Guest: its stream gets disconnect {reason} (#pex124), others participant_delete', async () => {
        const { host, guest } = await meeting();
        const sg = await guest.events();
        const sh = await host.events();
        await sg.synced();
        await sh.synced();
        (await host.act(guest, 'disconnect')).expect(200, V.validateDisconnectParticipant200);
        guest.released = true;
        const d = await sg.next('disconnect');
        assert.equal(d.data.reason, 'Disconnected by another participant', '#pex124 (§5.3)');
        await sh.next('participant_delete', (x) => x.uuid === guest.uuid);
        assert.ok(await sg.end(5000), 'the stream of a disconnected participant is closed');
        sh.close();
        checkAll(sg);
        checkAll(sh);
    });

    test('disconnect all: every stream gets disconnect {reason} and ends', async () => {
        const { host, guests } = await meeting(2);
        const streams = [];
        for (const p of [host, ...guests]) {
            const s = await p.events();
            await s.synced();
            streams.push(s);
        }
        (await host.post('disconnect')).expect(200, V.validateDisconnect200);
        const reasons = [];
        for (const s of streams) reasons.push((await s.next('disconnect')).data.reason);
        for (const r of reasons) {
            assert.ok(
                ['Conference terminated by another participant', 'API initiated conference termination'].includes(r),
                `#pex121/#pex125 (behavior.md §3): ${r}`,
            );
        }
        assert.equal(reasons[1], 'Conference terminated by another participant', 'Guests see #pex125');
        for (const s of streams) { assert.ok(await s.end(5000), 'stream closed after disconnect'); checkAll(s); }
        for (const p of [host, ...guests]) p.released = true;
    });

    test('release_token removes the participant: others get participant_delete', async () => {
        const { host, guest } = await meeting();
        const sh = await host.events();
        await sh.synced();
        await guest.release('User initiated disconnect');
        await sh.next('participant_delete', (d) => d.uuid === guest.uuid);
        sh.close();
        checkAll(sh);
    });
});
