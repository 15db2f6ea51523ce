// Slow checks, skipped unless PLENUM_SLOW_TESTS=1 (they wait out real timers).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useNode } from '../lib/harness.js';
import { V, E } from '../lib/validate.js';

const slow = process.env.PLENUM_SLOW_TESTS === '1';

describe('token expiry (slow)', { skip: !slow && 'set PLENUM_SLOW_TESTS=1 (waits ~2 minutes)' }, () => {
    const ctx = useNode({ name: 'slow' });
    test('an unrefreshed token expires: participant removed with "Timer expired awaiting token refresh" (§1.5)', { timeout: 200000 }, async () => {
        const keeper = await ctx.client.join('meet.open', 'Keeper');
        const idle = await ctx.client.join('meet.open', 'Idle');
        const expires = Number(idle.result.expires);
        const s = await idle.events();
        await s.synced();
        const sk = await keeper.events();
        await sk.synced();
        // keep the keeper alive by refreshing every expires/3 like the SDK does
        const timer = setInterval(async () => {
            const r = await keeper.post('refresh_token');
            keeper.token = r.expect(200, V.validateRefreshToken200).result.token;
        }, (expires * 1000) / 3);
        try {
            const d = await s.next('disconnect', () => true, { timeout: (expires + 30) * 1000 });
            assert.equal(d.data.reason, 'Timer expired awaiting token refresh');
            await sk.next('participant_delete', (x) => x.uuid === idle.uuid, { timeout: 5000 });
            const r = await idle.get('conference_status');
            assert.equal(r.expect(403, E).result, 'Invalid token');
            idle.released = true;
        } finally {
            clearInterval(timer);
            s.close();
            sk.close();
        }
    });
});
