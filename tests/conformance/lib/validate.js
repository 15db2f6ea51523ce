// The published validators of @pexip/infinity-api 20.0.0 (deep imports, spec §7.1),
// plus a few strict envelope checks for statuses the package has no validator for.

import assert from 'node:assert/strict';
import * as token from '@pexip/infinity-api/dist/token/validation.js';
import * as conference from '@pexip/infinity-api/dist/conference/validation.js';
import * as participant from '@pexip/infinity-api/dist/participant/validation.js';
import * as call from '@pexip/infinity-api/dist/call/validation.js';

/** Every package validator by name: V.validateLock200 … */
export const V = { ...token, ...conference, ...participant, ...call };

const names = new Map();
for (const [name, fn] of Object.entries(V)) names.set(fn, `@pexip/infinity-api:${name}`);

export function local(name, check) {
    const fn = (data) => {
        const problem = check(data);
        fn.errors = problem ? [{ instancePath: '', message: problem }] : null;
        return !problem;
    };
    names.set(fn, `local:${name}`);
    return fn;
}

const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const onlyKeys = (o, keys) => Object.keys(o).filter((k) => !keys.includes(k));

/** `{"status":"failed","result":<string>}` exactly (spec §0 shorthand F). */
export const F = local('F', (d) => {
    if (!isObj(d)) return 'not an object';
    if (d.status !== 'failed') return `status must be "failed", is ${JSON.stringify(d.status)}`;
    if (typeof d.result !== 'string') return 'result must be a string';
    const extra = onlyKeys(d, ['status', 'result']);
    return extra.length ? `extra keys ${extra}` : null;
});

/** `{"status":"success"|"failed","result":<string>}` exactly (shorthand E, the generic 403). */
export const E = local('E', (d) => {
    if (!isObj(d)) return 'not an object';
    if (d.status !== 'failed' && d.status !== 'success') return `bad status ${JSON.stringify(d.status)}`;
    if (typeof d.result !== 'string') return 'result must be a string';
    const extra = onlyKeys(d, ['status', 'result']);
    return extra.length ? `extra keys ${extra}` : null;
});

/** A Participant object (§3.3) as carried by SSE participant_create/update, checked with
 * the package's `participants` validator. */
export const ParticipantObject = local('Participant (via validateParticipants200)', (d) => {
    const env = { status: 'success', result: [d] };
    if (!V.validateParticipants200(env)) return JSON.stringify(V.validateParticipants200.errors);
    return null;
});

/** ConferenceStatus (§3.4) as carried by SSE conference_update. */
export const ConferenceStatusObject = local('ConferenceStatus (via validateConferenceStatus200)', (d) => {
    const env = { status: 'success', result: d };
    if (!V.validateConferenceStatus200(env)) return JSON.stringify(V.validateConferenceStatus200.errors);
    return null;
});

export function validatorName(fn) {
    return names.get(fn) || fn.name || 'anonymous validator';
}

/** Paths present in `before` but missing from `after` (keys the validator stripped). */
export function strippedPaths(before, after, at = '') {
    const out = [];
    if (isObj(before) && isObj(after)) {
        for (const k of Object.keys(before)) {
            if (!(k in after)) out.push(`${at}/${k}`);
            else out.push(...strippedPaths(before[k], after[k], `${at}/${k}`));
        }
    } else if (Array.isArray(before) && Array.isArray(after)) {
        before.forEach((v, i) => out.push(...strippedPaths(v, after[i], `${at}/${i}`)));
    }
    return out;
}

/**
 * Validates a structuredClone of `data` and fails on schema errors and, unless `open`,
 * on keys the schema does not know (the validator strips them in place).
 */
export function check(validator, data, { open = false, what = '' } = {}) {
    const copy = structuredClone(data);
    const ok = validator(copy);
    const name = validatorName(validator);
    assert.ok(ok, `${what} fails ${name}: ${JSON.stringify(validator.errors)}\n  data: ${JSON.stringify(data)?.slice(0, 2000)}`);
    if (!open && JSON.stringify(copy) !== JSON.stringify(data)) {
        assert.fail(`${what} has keys unknown to ${name} (stripped): ${strippedPaths(data, copy).join(', ')}\n  data: ${JSON.stringify(data).slice(0, 2000)}`);
    }
    return data;
}
