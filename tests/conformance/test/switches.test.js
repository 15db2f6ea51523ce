// Node-wide switches (config/plenum.toml [switches]) as seen by request_token (§1.2, §5.3).
// Each describe block starts its own node with a patched copy of config/.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useNode } from '../lib/harness.js';
import { V } from '../lib/validate.js';
import { sdkBody } from '../lib/client.js';

describe('maintenance_mode = true', () => {
    const ctx = useNode({ name: 'maintenance', switches: { maintenance_mode: true } });
    test('request_token → 503 "System in maintenance mode" (#pex110)', async () => {
        const r = await ctx.client.requestToken('meet.open', sdkBody('M', ctx.node.host));
        const b = r.expect(503, V.validateRequestToken503);
        assert.deepEqual(b, { status: 'failed', result: 'System in maintenance mode' });
    });
});

describe('client_access_enabled = false', () => {
    const ctx = useNode({ name: 'noclients', switches: { client_access_enabled: false } });
    test('request_token is refused with "Disabled" (#pex127)', async () => {
        const r = await ctx.client.requestToken('meet.open', sdkBody('M', ctx.node.host));
        const b = r.expectOneOf({ 403: V.validateRequestToken403, 503: V.validateRequestToken503 });
        assert.equal(b.result, 'Disabled');
    });
});

describe('chat_enabled = false', () => {
    const ctx = useNode({ name: 'nochat', switches: { chat_enabled: false } });
    test('token result says chat_enabled:false and message is refused', async () => {
        const p = await ctx.client.join('meet.open', 'Quiet');
        assert.equal(p.result.chat_enabled, false);
        const r = await p.post('message', { body: { type: 'text/plain', payload: 'x' }, bodyValidator: V.validateMessageConferenceBody });
        if (r.status === 200) assert.equal(r.expect(200, V.validateMessageConference200).result, false, 'chat off: message not delivered');
        else r.expect(403, (await import('../lib/validate.js')).E);
    });
});

describe('guests_can_present = false', () => {
    const ctx = useNode({ name: 'nopresent', switches: { guests_can_present: false } });
    test('a Guest\'s take_floor is refused (403), a Host\'s is not', async () => {
        const host = await ctx.client.join('meet.pin', 'Host', { pin: '1234' });
        (await host.post('start_conference')).expect(200, V.validateStartConference200);
        const guest = await ctx.client.join('meet.pin', 'Guest', { pin: 'none' });
        assert.equal(guest.result.guests_can_present ?? false, false, '§1.3 guests_can_present flag');
        (await guest.act(guest, 'take_floor')).expect(403, V.validateTakeFloor403);
        assert.equal((await host.find(guest.uuid)).is_presenting, 'NO');
        const r = (await host.act(host, 'take_floor')).expect(200, V.validateTakeFloor200);
        assert.equal(r.result, null);
    });
});
