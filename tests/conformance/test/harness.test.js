// Self-check of the conformance machinery: the published validators and our strictness
// wrapper must actually reject what the spec says they reject (client-api-v2.md §7.1), so
// that a green run means something.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { V, check, F, E, ParticipantObject } from '../lib/validate.js';

const good = {
    status: 'success',
    result: { token: 't', expires: '120', participant_uuid: 'u', version: {}, role: 'HOST', display_name: 'd', current_service_type: 'conference' },
};

test('validators load: every group the suite uses', () => {
    const n = Object.keys(V).filter((k) => k.startsWith('validate')).length;
    assert.ok(n >= 140, `expected the token+conference+participant+call validators, got ${n}`);
});

test('a correct token result passes; an extra key fails the strict check', () => {
    check(V.validateRequestToken200, good);
    const extra = structuredClone(good);
    extra.result.surprise = 1;
    assert.throws(() => check(V.validateRequestToken200, extra), /unknown to .*validateRequestToken200.*\/result\/surprise/s);
    check(V.validateRequestToken200, extra, { open: true });
});

test('numeric expires, PIN-403 without version, missing participant key all fail', () => {
    const num = structuredClone(good);
    num.result.expires = 120;
    assert.throws(() => check(V.validateRequestToken200, num), /must be string/);
    assert.throws(() => check(V.validateRequestToken403, { status: 'success', result: { pin: 'required', guest_pin: 'none' } }));
    assert.throws(() => check(ParticipantObject, { uuid: 'x' }));
});

test('check() leaves the input untouched', () => {
    const extra = structuredClone(good);
    extra.result.surprise = 1;
    assert.throws(() => check(V.validateRequestToken200, extra));
    assert.equal(extra.result.surprise, 1);
});

test('local envelopes F and E are exact', () => {
    check(F, { status: 'failed', result: 'x' });
    assert.throws(() => check(F, { status: 'success', result: 'x' }));
    assert.throws(() => check(F, { status: 'failed', result: 'x', code: 1 }));
    check(E, { status: 'success', result: 'x' });
    assert.throws(() => check(E, { status: 'failed', result: null }));
});

test('B envelopes: a boolean result where null is required fails (N)', () => {
    assert.throws(() => check(V.validateTakeFloor200, { status: 'success', result: true }));
    check(V.validateTakeFloor200, { status: 'success', result: null });
});
