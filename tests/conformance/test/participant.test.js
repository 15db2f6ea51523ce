// Participant group endpoints (client-api-v2.md §2.2, behavior.md §4–5).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { useNode } from '../lib/harness.js';
import { V, E, F } from '../lib/validate.js';
import { sdkBody } from '../lib/client.js';

const ctx = useNode({ name: 'participant' });

async function meeting(n = 1, alias = 'meet.pin') {
    const c = ctx.client;
    const host = await c.join(alias, 'Hazel Host', { pin: '1234' });
    (await host.post('start_conference')).expect(200, V.validateStartConference200);
    const guests = [];
    for (let i = 0; i < n; i++) guests.push(await c.join(alias, `Guest ${i + 1}`, { pin: 'none' }));
    return { host, guests, guest: guests[0] };
}

const B = (r, validator, expected = true) => {
    const b = r.expect(200, validator);
    assert.equal(b.result, expected, `B envelope result ${expected}: ${r.describe()}`);
    return b;
};
const N = (r, validator) => {
    const b = r.expect(200, validator);
    assert.equal(b.result, null, `N envelope: result null (§0): ${r.describe()}`);
    return b;
};

describe('participant group', () => {
    test('mute / unmute by Host (B) → is_muted', async () => {
        const { host, guest } = await meeting();
        B(await host.act(guest, 'mute'), V.validateMuteParticipant200);
        assert.equal((await host.find(guest.uuid)).is_muted, 'YES');
        B(await host.act(guest, 'unmute'), V.validateUnmuteParticipant200);
        assert.equal((await host.find(guest.uuid)).is_muted, 'NO');
        // self mute / unmute
        B(await guest.act(guest, 'mute'), V.validateMuteParticipant200);
        B(await guest.act(guest, 'unmute'), V.validateUnmuteParticipant200);
    });

    test('guest self-unmute refused when guests may not unmute (§2.2 "who")', async () => {
        const { host, guest } = await meeting();
        (await host.post('set_guests_can_unmute', { body: { setting: false }, bodyValidator: V.validateSetGuestsCanUnmuteBody })).expect(200, V.validateSetGuestsCanUnmute200);
        B(await host.post('muteguests'), V.validateMuteguests200);
        const r = await guest.act(guest, 'unmute');
        r.expect(403, V.validateUnmuteParticipant403);
        assert.equal((await host.find(guest.uuid)).is_muted, 'YES');
        // the Host still can
        B(await host.act(guest, 'unmute'), V.validateUnmuteParticipant200);
    });

    test('client_mute / client_unmute (self) → is_client_muted', async () => {
        const { host, guest } = await meeting();
        B(await guest.act(guest, 'client_mute'), V.validateClientMuteParticipant200);
        assert.equal((await host.find(guest.uuid)).is_client_muted, true);
        B(await guest.act(guest, 'client_unmute'), V.validateClientUnmuteParticipant200);
        assert.equal((await host.find(guest.uuid)).is_client_muted ?? false, false);
    });

    test('video_muted / video_unmuted (self, Host) → is_video_muted', async () => {
        const { host, guest } = await meeting();
        B(await guest.act(guest, 'video_muted'), V.validateVideoMuteParticipant200);
        assert.equal((await host.find(guest.uuid)).is_video_muted, true);
        B(await guest.act(guest, 'video_unmuted'), V.validateVideoUnmuteParticipant200);
        assert.equal((await host.find(guest.uuid)).is_video_muted, false);
        B(await host.act(guest, 'video_muted'), V.validateVideoMuteParticipant200);
        assert.equal((await host.find(guest.uuid)).is_video_muted, true);
    });

    test('denyrxpresentation / allowrxpresentation → rx_presentation_policy', async () => {
        const { host, guest } = await meeting();
        B(await host.act(guest, 'denyrxpresentation'), V.validateDenyrxpresentationParticipant200);
        assert.equal((await host.find(guest.uuid)).rx_presentation_policy, 'DENY');
        B(await host.act(guest, 'allowrxpresentation'), V.validateAllowrxpresentationParticipant200);
        assert.equal((await host.find(guest.uuid)).rx_presentation_policy, 'ALLOW');
        B(await guest.act(guest, 'denyrxpresentation'), V.validateDenyrxpresentationParticipant200);
    });

    test('spotlighton / spotlightoff → spotlight', async () => {
        const { host, guests } = await meeting(2);
        B(await host.act(guests[0], 'spotlighton'), V.validateSpotlightonParticipant200);
        B(await host.act(guests[1], 'spotlighton'), V.validateSpotlightonParticipant200);
        const a = await host.find(guests[0].uuid);
        const b = await host.find(guests[1].uuid);
        assert.ok(a.spotlight > 0 && b.spotlight > 0);
        assert.ok(a.spotlight <= b.spotlight, 'spotlight orders by when it was set (§3.3)');
        B(await host.act(guests[0], 'spotlightoff'), V.validateSpotlightoffParticipant200);
        assert.equal((await host.find(guests[0].uuid)).spotlight, 0);
    });

    test('unlock: admit a Guest from the waiting room after lock (behavior.md §4)', async () => {
        const { host, guest } = await meeting();
        B(await host.post('lock'), V.validateLock200);
        const r = await ctx.client.requestToken('meet.pin', { display_name: 'Knocker' }, { pin: 'none' });
        const { result } = r.expect(200, V.validateRequestToken200);
        ctx.client.participants.push({ alias: 'meet.pin', token: result.token });
        assert.equal(result.current_service_type, 'waiting_room');
        const waiting = await host.find(result.participant_uuid);
        assert.ok(waiting, 'the waiting participant shows in the roster (behavior.md §4)');
        assert.equal(waiting.service_type, 'waiting_room');
        // a Guest may not admit
        (await guest.act(result.participant_uuid, 'unlock')).expect(403, V.validateUnlockParticipant403);
        assert.equal((await host.find(result.participant_uuid)).service_type, 'waiting_room');
        B(await host.act(result.participant_uuid, 'unlock'), V.validateUnlockParticipant200);
        assert.equal((await host.find(result.participant_uuid)).service_type, 'conference');
        // the Host PIN bypasses the lock
        const h2 = await ctx.client.join('meet.pin', 'Second Host', { pin: '1234' });
        assert.equal(h2.result.current_service_type, 'conference');
    });

    test('lock in a room without Host PIN: every newcomer waits (behavior.md §4)', async () => {
        const a = await ctx.client.join('meet.open', 'First');
        (await a.post('lock')).expect(200, V.validateLock200);
        const r = await ctx.client.requestToken('meet.open', { display_name: 'Second' });
        const { result } = r.expect(200, V.validateRequestToken200);
        ctx.client.participants.push({ alias: 'meet.open', token: result.token });
        assert.equal(result.current_service_type, 'waiting_room', 'behavior.md §4: no Host PIN + locked → every new participant waits');
    });

    test('unlock admits everyone waiting; disconnect rejects a waiting one (behavior.md §4)', async () => {
        const { host } = await meeting(0);
        (await host.post('lock')).expect(200, V.validateLock200);
        const waiting = [];
        for (const name of ['W1', 'W2', 'W3']) {
            const r = await ctx.client.requestToken('meet.pin', { display_name: name }, { pin: 'none' });
            const { result } = r.expect(200, V.validateRequestToken200);
            ctx.client.participants.push({ alias: 'meet.pin', token: result.token });
            assert.equal(result.current_service_type, 'waiting_room');
            waiting.push(result);
        }
        // reject W3
        const rej = await host.act(waiting[2].participant_uuid, 'disconnect');
        rej.expect(200, V.validateDisconnectParticipant200);
        assert.equal(await host.find(waiting[2].participant_uuid), undefined, 'a rejected waiting participant is gone');
        (await host.post('unlock')).expect(200, V.validateUnlock200);
        for (const w of waiting.slice(0, 2)) assert.equal((await host.find(w.participant_uuid)).service_type, 'conference', 'unlock admits everyone waiting');
    });

    test('dtmf (Body, B)', async () => {
        const { host, guest } = await meeting();
        const body = { digits: '1234#' };
        B(await host.act(guest, 'dtmf', { body, bodyValidator: V.validateDtmfParticipantBody }), V.validateDtmfParticipant200);
        B(await guest.act(guest, 'dtmf', { body: { digits: '*9' }, bodyValidator: V.validateDtmfParticipantBody }), V.validateDtmfParticipant200);
    });

    test('overlaytext (Body, B) → overlay_text', async () => {
        const { host, guest } = await meeting();
        B(await host.act(guest, 'overlaytext', { body: { text: 'Speaker: Ann' }, bodyValidator: V.validateOverlaytextParticipantBody }), V.validateOverlaytextParticipant200);
        assert.equal((await host.find(guest.uuid)).overlay_text, 'Speaker: Ann');
    });

    test('role (Body, B): make Host / make Guest; a Host cannot demote themself', async () => {
        const { host, guest } = await meeting();
        B(await host.act(guest, 'role', { body: { role: 'chair' }, bodyValidator: V.validateRoleParticipantBody }), V.validateRoleParticipant200);
        assert.equal((await host.find(guest.uuid)).role, 'chair');
        // now a Host: may lock
        (await guest.post('lock')).expect(200, V.validateLock200);
        (await guest.post('unlock')).expect(200, V.validateUnlock200);
        B(await host.act(guest, 'role', { body: { role: 'guest' }, bodyValidator: V.validateRoleParticipantBody }), V.validateRoleParticipant200);
        assert.equal((await host.find(guest.uuid)).role, 'guest');
        const self = await host.act(host, 'role', { body: { role: 'guest' }, bodyValidator: V.validateRoleParticipantBody });
        if (self.status === 200) assert.equal(self.expect(200, V.validateRoleParticipant200).result, false, 'behavior.md §5: a Host can\'t demote themself');
        else self.expect(403, V.validateRoleParticipant403);
        assert.equal((await host.find(host.uuid)).role, 'chair');
    });

    test('buzz / clearbuzz: raise own hand, Host lowers it', async () => {
        const { host, guest } = await meeting();
        B(await guest.act(guest, 'buzz'), V.validateBuzzParticipant200);
        const t = (await host.find(guest.uuid)).buzz_time;
        assert.ok(t > 1.6e9, 'buzz_time: epoch seconds');
        B(await host.act(guest, 'clearbuzz'), V.validateClearbuzzParticipant200);
        assert.equal((await host.find(guest.uuid)).buzz_time, 0);
        B(await guest.act(guest, 'buzz'), V.validateBuzzParticipant200);
        B(await guest.act(guest, 'clearbuzz'), V.validateClearbuzzParticipant200);
        assert.equal((await host.find(guest.uuid)).buzz_time, 0);
    });

    test('transfer (Body, B): the target gets SSE refer and can join the destination with it', async () => {
        const { host, guest } = await meeting();
        const es = await guest.events();
        await es.synced();
        const body = { role: 'guest', conference_alias: 'meet.twopins', pin: '5678' };
        B(await host.act(guest, 'transfer', { body, bodyValidator: V.validateTransferParticipantBody }), V.validateTransferParticipant200);
        const refer = await es.next('refer');
        es.close();
        es.assertNoProblems();
        assert.equal(typeof refer.data.alias, 'string');
        assert.equal(typeof refer.data.token, 'string');
        assert.equal(refer.data.alias.toLowerCase(), 'meet.twopins');
        // the SDK re-joins the alias with the one-time token in the body, no PIN header
        const r = await ctx.client.requestToken(refer.data.alias, sdkBody('Guest 1', ctx.node.host, { token: refer.data.token }));
        const { result } = r.expect(200, V.validateRequestToken200);
        ctx.client.participants.push({ alias: refer.data.alias, token: result.token });
        assert.equal(result.role, 'GUEST');
        // the ticket is one-time
        const again = await ctx.client.requestToken(refer.data.alias, sdkBody('Guest 1', ctx.node.host, { token: refer.data.token }));
        assert.notEqual(again.status, 200, 'a transfer ticket is single-use');
        again.expectOneOf({ 403: V.validateRequestToken403, 404: V.validateRequestToken404 });
        // as Host into a PIN room with a wrong PIN → "transfer failed" (behavior.md §2: role
        // never bypasses the Host PIN; §5: failure → #pex115)
        const g3 = await ctx.client.join('meet.pin', 'Guest 3', { pin: 'none' });
        const wrong = await host.act(g3, 'transfer', { body: { role: 'host', conference_alias: 'meet.twopins', pin: '0000' }, bodyValidator: V.validateTransferParticipantBody });
        assert.equal(wrong.expect(403, V.validateTransferParticipant403).result, 'transfer failed');
        // transferring to a room that does not exist → 403 "transfer failed" (#pex115)
        const g2 = await ctx.client.join('meet.pin', 'Guest 2', { pin: 'none' });
        const bad = await host.act(g2, 'transfer', { body: { role: 'guest', conference_alias: 'no.such.room' }, bodyValidator: V.validateTransferParticipantBody });
        assert.equal(bad.expect(403, V.validateTransferParticipant403).result, 'transfer failed');
    });

    test('private message (Body, B)', async () => {
        const { host, guest } = await meeting();
        const body = { type: 'text/plain', payload: 'psst' };
        B(await guest.act(host, 'message', { body, bodyValidator: V.validateMessageParticipantBody }), V.validateMessageParticipant200);
    });

    test('avatar.jpg → 404 {"status":"failed","result":"No image available"} exactly', async () => {
        const { host, guest } = await meeting();
        const r = await guest.get(`participants/${host.uuid}/avatar.jpg`);
        assert.deepEqual(r.expect(404, V.validateAvatarJpgParticipant404), { status: 'failed', result: 'No image available' });
    });

    test('take_floor / release_floor (N) → is_presenting', async () => {
        const { host, guest } = await meeting();
        N(await guest.act(guest, 'take_floor'), V.validateTakeFloor200);
        assert.equal((await host.find(guest.uuid)).is_presenting, 'YES');
        assert.equal((await host.find(host.uuid)).is_presenting, 'NO');
        // the Host takes over
        N(await host.act(host, 'take_floor'), V.validateTakeFloor200);
        assert.equal((await host.find(guest.uuid)).is_presenting, 'NO');
        N(await host.act(host, 'release_floor'), V.validateReleaseFloor200);
        assert.equal((await host.find(host.uuid)).is_presenting, 'NO');
        // releasing without holding the floor is a harmless no-op
        N(await guest.act(guest, 'release_floor'), V.validateReleaseFloor200);
    });

    test('preferred_aspect_ratio (Body, B) and notify_not_afk (B)', async () => {
        const { guest } = await meeting();
        B(await guest.act(guest, 'preferred_aspect_ratio', { body: { aspect_ratio: 16 / 9 }, bodyValidator: V.validatePreferredAspectRatioBody }), V.validatePreferredAspectRatio200);
        B(await guest.act(guest, 'notify_not_afk'), V.validateNotifyNotAFK200);
    });

    test('disconnect a participant (Host: N/B), self disconnect (N/B)', async () => {
        const { host, guests } = await meeting(2);
        const r = await host.act(guests[0], 'disconnect');
        const b = r.expect(200, V.validateDisconnectParticipant200);
        assert.ok(b.result === null || b.result === true, r.describe());
        guests[0].released = true;
        assert.equal((await guests[0].get('conference_status')).expect(403, E).result, 'Invalid token');
        const r2 = await guests[1].act(guests[1], 'disconnect');
        r2.expect(200, V.validateDisconnectParticipant200);
        guests[1].released = true;
        assert.equal((await host.participants()).length, 1);
    });

    test('a Guest calling Host actions on others gets 403 (§2.2 "who")', async () => {
        const { host, guests } = await meeting(2);
        const other = guests[1];
        const g = guests[0];
        const cases = [
            ['mute', V.validateMuteParticipant403],
            ['spotlighton', V.validateSpotlightonParticipant403],
            ['denyrxpresentation', V.validateDenyrxpresentationParticipant403],
            ['clearbuzz', V.validateClearbuzzParticipant403],
            ['disconnect', V.validateDisconnectParticipant403],
            ['video_muted', V.validateVideoMuteParticipant403],
            ['overlaytext', V.validateOverlaytextParticipant403, { text: 'x' }, V.validateOverlaytextParticipantBody],
            ['role', V.validateRoleParticipant403, { role: 'chair' }, V.validateRoleParticipantBody],
            ['transfer', V.validateTransferParticipant403, { role: 'guest', conference_alias: 'meet.open' }, V.validateTransferParticipantBody],
            ['dtmf', V.validateDtmfParticipant403, { digits: '1' }, V.validateDtmfParticipantBody],
        ];
        for (const [action, v403, body, bodyValidator] of cases) {
            const r = await g.act(other, action, body ? { body, bodyValidator } : {});
            const b = r.expect(403, v403);
            assert.equal(typeof b.result, 'string');
        }
        // nor on the Host; a Guest cannot promote themself
        (await g.act(host, 'mute')).expect(403, V.validateMuteParticipant403);
        (await g.act(g, 'role', { body: { role: 'chair' }, bodyValidator: V.validateRoleParticipantBody })).expect(403, V.validateRoleParticipant403);
        const list = await host.participants();
        assert.equal(list.length, 3);
        const o = list.find((p) => p.uuid === other.uuid);
        assert.equal(o.is_muted, 'NO');
        assert.equal(o.spotlight, 0);
        assert.equal(o.role, 'guest');
        assert.equal(o.overlay_text === 'x', false);
    });

    test('unknown participant uuid → 403 (E) or 404 (F), never 200/5xx', async () => {
        const { host } = await meeting(0);
        for (const uuid of [crypto.randomUUID(), 'not-a-uuid']) {
            for (const [action, v403] of [['mute', V.validateMuteParticipant403], ['spotlighton', V.validateSpotlightonParticipant403], ['disconnect', V.validateDisconnectParticipant403]]) {
                const r = await host.act(uuid, action);
                r.expectOneOf({ 403: v403, 404: F });
            }
            const t = await host.act(uuid, 'transfer', { body: { role: 'guest', conference_alias: 'meet.open' }, bodyValidator: V.validateTransferParticipantBody });
            t.expectOneOf({ 403: V.validateTransferParticipant403, 404: F });
        }
    });
});
