// The registration API's shapes as Pexip's published native SDKs read them (Apache-2.0):
//   Android  pexip/pexip-android-sdk  sdk-api/…/infinity/RequestRegistrationTokenResponse.kt,
//            RefreshRegistrationTokenResponse.kt, RegistrationResponse.kt, VersionResponse.kt,
//            InfinityEvent.kt (IncomingEvent, IncomingCancelledEvent), RegistrationStepImpl.kt
//   iOS      pexip/pexip-swift-sdk    Sources/PexipInfinityClient/Registration/
//            RegistrationToken.swift, RegistrationEvent.swift
// @pexip/infinity-api has no registration validators, so these are strict local checks of
// the same fields: every field the SDK models require, with the type their decoders demand
// (`expires` is a *string* of seconds: DurationAsSecondsStringSerializer / expiresString),
// and no field the models do not know.

import { local } from './validate.js';

const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function fields(o, spec) {
    if (!isObj(o)) return 'not an object';
    for (const [key, type] of Object.entries(spec)) {
        const optional = type.endsWith('?');
        const t = optional ? type.slice(0, -1) : type;
        if (!(key in o)) {
            if (optional) continue;
            return `missing ${key}`;
        }
        const v = o[key];
        const ok = t === 'seconds' ? typeof v === 'string' && /^\d+$/.test(v)
            : t === 'uuid' ? typeof v === 'string' && UUID.test(v)
            : t === 'nonempty' ? typeof v === 'string' && v.length > 0
            : typeof v === t;
        if (!ok) return `${key} must be ${t}, is ${JSON.stringify(v)}`;
    }
    const extra = Object.keys(o).filter((k) => !(k in spec));
    return extra.length ? `keys unknown to the SDK models: ${extra}` : null;
}

function success(d, inner) {
    if (!isObj(d)) return 'not an object';
    if (d.status !== 'success') return `status must be "success", is ${JSON.stringify(d.status)}`;
    const extra = Object.keys(d).filter((k) => k !== 'status' && k !== 'result');
    if (extra.length) return `extra envelope keys ${extra}`;
    return inner(d.result);
}

/** 200 of registrations/{alias}/request_token: RequestRegistrationTokenResponse. */
export const RegistrationToken200 = local('RequestRegistrationTokenResponse', (d) => success(d, (r) =>
    fields(r, { token: 'nonempty', expires: 'seconds', registration_uuid: 'uuid', directory_enabled: 'boolean', route_via_registrar: 'boolean', version: 'object' })
    ?? fields(r.version, { version_id: 'nonempty', pseudo_version: 'string' })));

/** 200 of registrations/{alias}/refresh_token: RefreshRegistrationTokenResponse. */
export const RegistrationRefresh200 = local('RefreshRegistrationTokenResponse', (d) => success(d, (r) =>
    fields(r, { token: 'nonempty', expires: 'seconds' })));

/** 200 of registrations/{alias}/release_token: a Boolean (BooleanSerializer). */
export const RegistrationRelease200 = local('release_token Boolean', (d) => success(d, (r) =>
    (r === true ? null : `result must be true, is ${JSON.stringify(r)}`)));

/** 200 of GET registrations?q=: List<RegistrationResponse>. */
export const Registrations200 = local('List<RegistrationResponse>', (d) => success(d, (r) => {
    if (!Array.isArray(r)) return 'result must be an array';
    for (const [i, e] of r.entries()) {
        const problem = fields(e, { alias: 'nonempty', description: 'string?', username: 'string?' });
        if (problem) return `[${i}]: ${problem}`;
    }
    return null;
}));

/** plenum's own `GET conferences/{alias}/directory` for Hosts (no SDK model: the SDKs'
 * directory needs a registration token): `[{alias, description, registered}]`. */
export const DialableDevices200 = local('plenum DialableDevice[]', (d) => success(d, (r) => {
    if (!Array.isArray(r)) return 'result must be an array';
    for (const [i, e] of r.entries()) {
        const problem = fields(e, { alias: 'nonempty', description: 'string', registered: 'boolean' });
        if (problem) return `[${i}]: ${problem}`;
    }
    return null;
}));

/** Data of the `incoming` event: IncomingEvent / IncomingCallEvent. */
export const IncomingEvent = local('IncomingEvent', (d) =>
    fields(d, { conference_alias: 'nonempty', remote_display_name: 'string', token: 'nonempty' }));

/** Data of the `incoming_cancelled` event: IncomingCancelledEvent. */
export const IncomingCancelledEvent = local('IncomingCancelledEvent', (d) => fields(d, { token: 'nonempty' }));

/** The SDKs' `x-pexip-basic` authorization: base64url on Android (okio base64Url), standard
 * base64 on iOS. */
export function pexipBasic(username, password, { alphabet = 'base64url' } = {}) {
    return `x-pexip-basic ${Buffer.from(`${username}:${password}`, 'utf8').toString(alphabet)}`;
}
