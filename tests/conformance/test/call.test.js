// WebRTC calls through the client API (client-api-v2.md §2.2 `calls`, §2.3 call group,
// §4 call flow, §4.4 stills): every reply checked with the package validators
// (participant `CallsWebrtcParticipant*`, call `Ack*`/`NewCandidate*`/`Update*`/
// `DisconnectCall*`/`Dtmf*`/`Statistics*`), every body built as the SDK sends it and
// passed through its `…Body` validator. No media flows here (no ICE peer answers); the
// browser suite covers that.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { useNode } from '../lib/harness.js';
import { REPO } from '../lib/node.js';
import { V, E, check, ParticipantObject } from '../lib/validate.js';
import { conf } from '../lib/client.js';

const ctx = useNode({ name: 'call' });
const ALIAS = 'meet.open';

// === SDP helpers ===

/** The Chrome offer fixture as the SDK sends it (H.264 first, idle slides line), CRLF. */
const CHROME_OFFER = fs
    .readFileSync(path.join(REPO, 'tests/e2e/fixtures/chrome-offer.sdp'), 'utf8')
    .replace(/\r\n/g, '\n')
    .replace(/\n/g, '\r\n');

/** Splits an SDP into its session part and its media sections (each from `m=`). */
function sections(sdp) {
    const lines = sdp.split(/\r\n|\n/).filter((l) => l !== '');
    const session = [];
    const media = [];
    for (const l of lines) {
        if (l.startsWith('m=')) media.push([l]);
        else if (media.length) media[media.length - 1].push(l);
        else session.push(l);
    }
    return { session, media };
}

const join = (s) => `${[...s.session, ...s.media.flat()].join('\r\n')}\r\n`;
const attr = (sec, name) => sec.filter((l) => l.startsWith(`a=${name}:`)).map((l) => l.slice(name.length + 3));
const has = (sec, line) => sec.includes(line);
const DIRECTIONS = ['a=sendrecv', 'a=sendonly', 'a=recvonly', 'a=inactive'];
const direction = (sec) => sec.find((l) => DIRECTIONS.includes(l)) ?? 'a=sendrecv';
const kind = (sec) => sec[0].slice(2).split(' ')[0];
const payloads = (sec) => sec[0].split(' ').slice(3);
/** `{pt: "opus/48000/2"}` from the rtpmap lines of a section. */
function rtpmaps(sec) {
    const out = {};
    for (const v of attr(sec, 'rtpmap')) {
        const [pt, enc] = v.split(' ');
        out[pt] = enc;
    }
    return out;
}

/** The offer with the slides section's direction replaced. */
function withSlidesDirection(sdp, dir) {
    const s = sections(sdp);
    const slides = s.media.find((m) => has(m, 'a=content:slides'));
    const i = slides.findIndex((l) => DIRECTIONS.includes(l));
    slides[i] = dir;
    return join(s);
}

/** The offer with fresh ICE credentials in every section (an ICE restart, §4.3). */
function withFreshIce(sdp) {
    const ufrag = crypto.randomBytes(3).toString('base64url');
    const pwd = crypto.randomBytes(18).toString('base64url');
    return sdp.replace(/^a=ice-ufrag:.*$/gm, `a=ice-ufrag:${ufrag}`).replace(/^a=ice-pwd:.*$/gm, `a=ice-pwd:${pwd}`);
}

/** Only the audio m-line of the offer, BUNDLE trimmed to its mid. */
function audioOnlyOffer(sdp) {
    const s = sections(sdp);
    const audio = s.media.filter((m) => kind(m) === 'audio');
    const mids = audio.map((m) => attr(m, 'mid')[0]);
    s.session = s.session.map((l) => (l.startsWith('a=group:BUNDLE') ? `a=group:BUNDLE ${mids.join(' ')}` : l));
    s.media = audio;
    return join(s);
}

/** `{pt: "fmtp params"}` from the fmtp lines of a section. */
function fmtps(sec) {
    const out = {};
    for (const v of attr(sec, 'fmtp')) {
        const i = v.indexOf(' ');
        out[v.slice(0, i)] = v.slice(i + 1);
    }
    return out;
}

/** The video codec the node must answer for an offered section (§4: H.264 CB pm=1 or
 * VP8): the first of the offer's own order that is VP8, or H.264 in packetization mode 1
 * with a Baseline profile (42xxxx). */
function expectedVideoCodec(sec) {
    const maps = rtpmaps(sec);
    const params = fmtps(sec);
    for (const pt of payloads(sec)) {
        const enc = (maps[pt] || '').toLowerCase();
        if (enc === 'vp8/90000') return 'VP8/90000';
        if (enc === 'h264/90000' && /packetization-mode=1/.test(params[pt] || '') && /profile-level-id=42/i.test(params[pt] || '')) return 'H264/90000';
    }
    return null;
}

/** Checks the answer against the offer (§4.1, §4): same m-lines, mids and `a=content`,
 * Opus and, per video line, exactly one codec — the offer's first of VP8 / H.264
 * Constrained Baseline (Chrome's SDK offer lists H.264 first, so H.264) — with the
 * offer's payload types. Returns the sections. */
function assertAnswers(answer, offer, what) {
    assert.equal(typeof answer, 'string', what);
    assert.ok(answer.startsWith('v=0'), `answer is an SDP: ${what}: ${answer.slice(0, 200)}`);
    assert.ok(answer.endsWith('\r\n') && !/[^\r]\n/.test(answer), `SDP lines end in CRLF (RFC 4566): ${what}`);
    const a = sections(answer);
    const o = sections(offer);
    assert.deepEqual(a.media.map(kind), o.media.map(kind), `answer keeps the offer's m-lines in order: ${what}`);
    assert.deepEqual(a.media.map((m) => attr(m, 'mid')), o.media.map((m) => attr(m, 'mid')), `mids echoed: ${what}`);
    assert.deepEqual(a.media.map((m) => attr(m, 'content')), o.media.map((m) => attr(m, 'content')), `§4.1: a=content echoed per m-line: ${what}`);
    for (const [i, m] of a.media.entries()) {
        const maps = rtpmaps(m);
        const offered = rtpmaps(o.media[i]);
        const codecs = payloads(m).map((pt) => maps[pt]).filter(Boolean);
        if (kind(m) === 'audio') {
            assert.match(codecs[0] ?? '', /^opus\/48000/i, `audio answers Opus first: ${m.join(' | ')}`);
        } else {
            const want = expectedVideoCodec(o.media[i]);
            assert.deepEqual(codecs.map((c) => c.toUpperCase()), [want], `video answers exactly the offer's first usable codec (${want}): ${m.join(' | ')}`);
        }
        // the answer uses the offer's payload type numbers for its codecs (RFC 3264 §6.1)
        for (const pt of payloads(m)) {
            if (maps[pt]) assert.equal(maps[pt].toLowerCase(), offered[pt]?.toLowerCase(), `payload type ${pt} means what the offer said: ${m[0]}`);
        }
    }
    return a;
}

// === request helpers ===

const callsBody = (sdp, media_type = 'video') => ({ call_type: 'WEBRTC', sdp, media_type, fecc_supported: false });

/** POST participants/{uuid}/calls as the SDK does (§4.2 step 1). */
function postCalls(p, sdp, { media_type = 'video', target = p } = {}) {
    return p.act(target, 'calls', { body: callsBody(sdp, media_type), bodyValidator: V.validateCallsWebrtcParticipantBody });
}

/** Opens a call and asserts the 200; returns `{call_uuid, sdp}`. */
async function openCall(p, sdp = CHROME_OFFER, media_type = 'video') {
    const t0 = Date.now();
    const r = await postCalls(p, sdp, { media_type });
    const took = Date.now() - t0;
    const { result } = r.expect(200, V.validateCallsWebrtcParticipant200);
    assert.ok(took < 5000, `§4.2: answer within the SDK's 5 s queue limit (took ${took} ms)`);
    assert.equal(typeof result.call_uuid, 'string');
    assert.ok(result.call_uuid.length > 0, 'a call_uuid to control the call');
    return result;
}

/** POST participants/{p}/calls/{call}/{action}. */
function callAct(p, call, action, opts) {
    return p.post(`participants/${encodeURIComponent(p.uuid)}/calls/${encodeURIComponent(call)}/${action}`, opts);
}

const N = (r, validator) => {
    const b = r.expect(200, validator);
    assert.equal(b.result, null, `N envelope: result null (§0): ${r.describe()}`);
    return b;
};
const B = (r, validator) => {
    const b = r.expect(200, validator);
    assert.equal(b.result, true, `B envelope result true: ${r.describe()}`);
    return b;
};

/** The candidate bodies the SDK sends (§4.2 step 3). */
const HOST_CANDIDATE = { candidate: 'candidate:842163049 1 udp 2122260223 127.0.0.1 50000 typ host generation 0 ufrag Wm3x network-id 1', mid: '0', ufrag: 'Wm3x' };
const END_OF_CANDIDATES = { candidate: '', mid: '0' };
/** Chrome hides host addresses behind mDNS names by default. */
const MDNS_CANDIDATE = { candidate: 'candidate:3013953624 1 udp 2122262783 6d2c4b7a-1c1e-4b8e-9a43-0d9f0f3b5e21.local 54321 typ host generation 0 ufrag Wm3x network-id 1', mid: '0', ufrag: 'Wm3x' };
const SRFLX_CANDIDATE = { candidate: 'candidate:1467250027 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 10.0.0.5 rport 61000 generation 0 ufrag Wm3x network-id 1', mid: '0', ufrag: 'Wm3x' };

/** A statistics report shaped like the SDK's (§2.3). */
const STATISTICS = {
    audio: {
        rx_bitrate: 31.6,
        rx_codec: 'opus',
        rx_historic_packet_loss: 0,
        rx_jitter: 2.5,
        rx_packets_lost: 0,
        rx_packets_received: 1502,
        rx_windowed_packet_loss: 0,
        tx_bitrate: 33.2,
        tx_codec: 'opus',
        tx_historic_packet_loss: 0,
        tx_packets_sent: 1510,
        tx_rb_jitter: 1.2,
        tx_rb_packetslost: 0,
        tx_windowed_packet_loss: 0,
    },
    video: {
        rx_bitrate: 812.4,
        rx_codec: 'VP8',
        rx_fps: 30,
        rx_historic_packet_loss: 0.1,
        rx_jitter: 8.4,
        rx_packets_lost: 3,
        rx_packets_received: 4120,
        rx_resolution: '1280x720',
        rx_windowed_packet_loss: 0,
        tx_bitrate: 1210.7,
        tx_codec: 'VP8',
        tx_fps: 29.5,
        tx_historic_packet_loss: 0,
        tx_packets_sent: 5311,
        tx_rb_jitter: 3.1,
        tx_rb_packetslost: 0,
        tx_resolution: '1280x720',
        tx_windowed_packet_loss: 0,
    },
};

/** Every call endpoint with a valid SDK body and its package 403 validator. */
const CALL_ENDPOINTS = [
    ['ack', { body: {}, bodyValidator: V.validateAckBody }, V.validateAck403],
    ['new_candidate', { body: HOST_CANDIDATE, bodyValidator: V.validateNewCandidateBody }, V.validateNewCandidate403],
    ['update', { body: { sdp: CHROME_OFFER, fecc_supported: false }, bodyValidator: V.validateUpdateBody }, V.validateUpdate403],
    ['disconnect', {}, V.validateDisconnectCall403],
    ['dtmf', { body: { digits: '1' }, bodyValidator: V.validateDtmfBody }, V.validateDtmf403],
    ['statistics', { body: STATISTICS, bodyValidator: V.validateStatisticsBody }, V.validateStatistics403],
];

/** Waits for a participant_update/create of `uuid` matching `pred`; validates it. */
async function roster(stream, uuid, pred, what, from = 0) {
    const e = await stream.next('participant_update', (d) => d?.uuid === uuid && pred(d), { from, timeout: 5000 }).catch((err) => {
        const seen = stream.events.filter((x) => x.data?.uuid === uuid).map((x) => `${x.event} ${JSON.stringify({ is_video_call: x.data.is_video_call, is_audio_only_call: x.data.is_audio_only_call, protocol: x.data.protocol, has_media: x.data.has_media })}`);
        assert.fail(`${what}: ${err.message}\n  seen for ${uuid}: ${seen.join('\n    ')}`);
    });
    check(ParticipantObject, e.data, { what: `SSE ${e.event} ${e.raw.slice(0, 300)}` });
    return e.data;
}

function checkParticipantEvents(stream) {
    stream.assertNoProblems();
    for (const e of stream.events) {
        if (e.event === 'participant_create' || e.event === 'participant_update') check(ParticipantObject, e.data, { what: `SSE ${e.event} ${e.raw.slice(0, 300)}` });
    }
}

// === tests ===

describe('WebRTC call (calls, call group, stills)', () => {
    test('calls: a Chrome offer is answered with H.264 (its first codec) + Opus, a=content echoed (§4.1–4.2)', async () => {
        const alice = await ctx.client.join(ALIAS, 'Alice Caller');
        const result = await openCall(alice);
        const a = assertAnswers(result.sdp, CHROME_OFFER, 'calls answer');
        assert.ok(/opus\/48000/i.test(result.sdp), 'Opus in the answer');
        assert.ok(/H264\/90000/i.test(result.sdp) && !/VP8/i.test(result.sdp), 'H.264, the offer\'s preference, in the answer');
        assert.ok(result.sdp.includes('a=content:slides'), '§4.1: the slides line keeps a=content:slides');
        assert.ok(result.sdp.includes('a=content:main'), '§4.1: main lines keep a=content:main');
        // bundle, ICE and DTLS for max-bundle (§4.1)
        assert.match(a.session.find((l) => l.startsWith('a=group:BUNDLE')) ?? '', /^a=group:BUNDLE 0 1 2$/, 'answer bundles every mid');
        const all = [...a.session, ...a.media.flat()];
        assert.ok(all.some((l) => l.startsWith('a=ice-ufrag:')) && all.some((l) => l.startsWith('a=ice-pwd:')), 'ICE credentials');
        assert.ok(all.some((l) => l.startsWith('a=fingerprint:')), 'DTLS fingerprint');
        for (const m of a.media) assert.ok(!has(m, 'a=setup:actpass'), `an answer picks a DTLS role: ${m[0]}`);
        // RFC 3264: the offer's slides line is inactive, so is the answer's
        const slides = a.media.find((m) => has(m, 'a=content:slides'));
        assert.equal(direction(slides), 'a=inactive', 'an inactive slides offer is answered inactive');
        // two calls get two ids
        const bob = await ctx.client.join(ALIAS, 'Bob Caller');
        const other = await openCall(bob);
        assert.notEqual(other.call_uuid, result.call_uuid, 'call_uuid identifies one call');
    });

    test('call group: new_candidate (host + end marker), ack ×2, dtmf, statistics, update, disconnect (§2.3, §4.2–4.5)', async () => {
        const alice = await ctx.client.join(ALIAS, 'Alice Flow');
        const { call_uuid: call, sdp: first } = await openCall(alice);

        N(await callAct(alice, call, 'new_candidate', { body: HOST_CANDIDATE, bodyValidator: V.validateNewCandidateBody }), V.validateNewCandidate200);
        N(await callAct(alice, call, 'new_candidate', { body: MDNS_CANDIDATE, bodyValidator: V.validateNewCandidateBody }), V.validateNewCandidate200);
        N(await callAct(alice, call, 'new_candidate', { body: END_OF_CANDIDATES, bodyValidator: V.validateNewCandidateBody }), V.validateNewCandidate200);

        B(await callAct(alice, call, 'ack', { body: {}, bodyValidator: V.validateAckBody }), V.validateAck200);
        B(await callAct(alice, call, 'ack', { body: {}, bodyValidator: V.validateAckBody }), V.validateAck200);
        // a candidate found after ack (§4.2: "later candidates follow as found")
        N(await callAct(alice, call, 'new_candidate', { body: SRFLX_CANDIDATE, bodyValidator: V.validateNewCandidateBody }), V.validateNewCandidate200);
        // the glare ack of §4.3 is accepted as well
        B(await callAct(alice, call, 'ack', { body: { sdp: 'offer_ignored', offer_ignored: true }, bodyValidator: V.validateAckBody }), V.validateAck200);

        B(await callAct(alice, call, 'dtmf', { body: { digits: '1234#' }, bodyValidator: V.validateDtmfBody }), V.validateDtmf200);

        N(await callAct(alice, call, 'statistics', { body: STATISTICS, bodyValidator: V.validateStatisticsBody }), V.validateStatistics200);

        // another presenter → the SDK turns slides recvonly; we answer sendonly (§4.4)
        const reoffer = withSlidesDirection(CHROME_OFFER, 'a=recvonly');
        const up = await callAct(alice, call, 'update', { body: { sdp: reoffer, fecc_supported: false }, bodyValidator: V.validateUpdateBody });
        const upBody = up.expect(200, V.validateUpdate200);
        assert.equal(upBody.status, 'success', up.describe());
        assert.equal(typeof upBody.result, 'string', `§4.3: result = the answer string: ${up.describe()}`);
        const a = assertAnswers(upBody.result, reoffer, 'update answer');
        const slides = a.media.find((m) => has(m, 'a=content:slides'));
        assert.equal(direction(slides), 'a=sendonly', `§4.4: a recvonly slides offer is answered sendonly: ${slides.join(' | ')}`);
        // the SDK acks again after applying the answer (§4.3)
        B(await callAct(alice, call, 'ack', { body: {}, bodyValidator: V.validateAckBody }), V.validateAck200);
        assert.ok(first.length > 0);

        // update without an offer: nothing applied → ""
        const empty = await callAct(alice, call, 'update', { body: { fecc_supported: false }, bodyValidator: V.validateUpdateBody });
        const emptyBody = empty.expect(200, V.validateUpdate200);
        assert.deepEqual(emptyBody, { status: 'success', result: '' }, empty.describe());

        // hang up (body-less POST, §0): N; the call is gone, the participant stays
        N(await callAct(alice, call, 'disconnect'), V.validateDisconnectCall200);
        const after = await callAct(alice, call, 'ack', { body: {}, bodyValidator: V.validateAckBody });
        assert.equal(after.expect(403, V.validateAck403).result, 'Call not found', after.describe());
        assert.ok(await alice.find(alice.uuid), 'the participant outlives its call');
        // and a new call works (restartCall = call disconnect + new calls, §4.5)
        const again = await openCall(alice);
        assert.notEqual(again.call_uuid, call);
    });

    test('update with fresh ICE credentials (ICE restart) is answered with new ones (§4.3)', async () => {
        const alice = await ctx.client.join(ALIAS, 'Alice Restart');
        const { call_uuid: call, sdp: first } = await openCall(alice);
        B(await callAct(alice, call, 'ack', { body: {}, bodyValidator: V.validateAckBody }), V.validateAck200);
        const restart = withFreshIce(CHROME_OFFER);
        const r = await callAct(alice, call, 'update', { body: { sdp: restart, fecc_supported: false }, bodyValidator: V.validateUpdateBody });
        const body = r.expect(200, V.validateUpdate200);
        assert.equal(body.status, 'success', r.describe());
        const answer = typeof body.result === 'string' ? body.result : body.result.sdp;
        assertAnswers(answer, restart, 'ICE restart answer');
        const creds = (sdp) => [...new Set(sdp.split(/\r\n|\n/).filter((l) => /^a=ice-(ufrag|pwd):/.test(l)))].sort().join(' ');
        assert.notEqual(creds(answer), creds(first), '§4.3: answer an ICE restart with new credentials');
        B(await callAct(alice, call, 'ack', { body: {}, bodyValidator: V.validateAckBody }), V.validateAck200);
    });

    test('calls: garbage SDP → 400 text (validateCallsWebrtcParticipant400)', async () => {
        const alice = await ctx.client.join(ALIAS, 'Alice Garbage');
        for (const sdp of ['hello, I am not SDP', CHROME_OFFER.slice(0, 200)]) {
            const r = await postCalls(alice, sdp);
            const text = r.expect(400, V.validateCallsWebrtcParticipant400, { text: true });
            assert.ok(text.trim().length > 0, `the 400 says what is wrong: ${r.describe()}`);
        }
        const me = await alice.find(alice.uuid);
        assert.equal(me.is_video_call, 'NO', 'a refused offer starts no call');
        assert.equal(me.is_audio_only_call, 'NO');
    });

    test('calls: an offer without Opus, VP8 and H.264 → 400 text naming the codec problem', async () => {
        const alice = await ctx.client.join(ALIAS, 'Alice Codecs');
        const noCodecs = CHROME_OFFER.replace(/^a=rtpmap:(\d+) opus\/48000\/2$/gim, 'a=rtpmap:$1 x-opus/48000/2').replace(/^a=rtpmap:(\d+) VP8\/90000$/gim, 'a=rtpmap:$1 x-vp8/90000').replace(/^a=rtpmap:(\d+) H264\/90000$/gim, 'a=rtpmap:$1 x-h264/90000');
        assert.ok(!/ opus\//i.test(noCodecs) && !/ VP8\//i.test(noCodecs) && !/ H264\//i.test(noCodecs), 'fixture rewritten');
        const r = await postCalls(alice, noCodecs);
        const text = r.expect(400, V.validateCallsWebrtcParticipant400, { text: true });
        assert.match(text, /opus|vp8|codec/i, `the 400 names the codec problem: ${r.describe()}`);
        assert.equal((await alice.find(alice.uuid)).is_video_call, 'NO');
    });

    test('calls on another participant → 403; bad token → 403 Invalid token', async () => {
        const alice = await ctx.client.join(ALIAS, 'Alice Own');
        const bob = await ctx.client.join(ALIAS, 'Bob Other');
        const r = await postCalls(alice, CHROME_OFFER, { target: bob });
        const b = r.expect(403, V.validateCallsWebrtcParticipant403);
        assert.equal(typeof b.result, 'string');
        assert.equal((await alice.find(bob.uuid)).is_video_call, 'NO', 'no call was opened for Bob');
        // no / bad token (§5.1: 403 "Invalid token", never 401)
        const path = conf(ALIAS, `participants/${alice.uuid}/calls`);
        const body = callsBody(CHROME_OFFER);
        const none = await ctx.client.request('POST', path, { body, bodyValidator: V.validateCallsWebrtcParticipantBody });
        assert.equal(none.expect(403, V.validateCallsWebrtcParticipant403).result, 'Invalid token', none.describe());
        const bad = await ctx.client.request('POST', path, { body, bodyValidator: V.validateCallsWebrtcParticipantBody, headers: { token: 'not-a-token' } });
        assert.equal(bad.expect(403, V.validateCallsWebrtcParticipant403).result, 'Invalid token', bad.describe());
    });

    test('unknown call uuid on every call endpoint → 403 "Call not found"', async () => {
        const alice = await ctx.client.join(ALIAS, 'Alice Unknown');
        const bob = await ctx.client.join(ALIAS, 'Bob Unknown');
        const bobs = await openCall(bob);
        // before any call of Alice's, with a random uuid, a non-uuid, and Bob's call id
        for (const call of [crypto.randomUUID(), 'not-a-uuid', bobs.call_uuid]) {
            for (const [action, opts, v403] of CALL_ENDPOINTS) {
                const r = await callAct(alice, call, action, opts);
                assert.equal(r.expect(403, v403).result, 'Call not found', r.describe());
            }
        }
        // Alice's token on Bob's path with Bob's call: not hers either
        for (const [action, opts, v403] of CALL_ENDPOINTS) {
            const r = await alice.post(`participants/${bob.uuid}/calls/${bobs.call_uuid}/${action}`, opts);
            const b = r.expect(403, v403);
            assert.equal(typeof b.result, 'string', r.describe());
        }
        // Bob's call survived all that
        B(await callAct(bob, bobs.call_uuid, 'ack', { body: {}, bodyValidator: V.validateAckBody }), V.validateAck200);
        // a call uuid still unknown once Alice has a call of her own
        await openCall(alice);
        for (const [action, opts, v403] of CALL_ENDPOINTS) {
            const r = await callAct(alice, crypto.randomUUID(), action, opts);
            assert.equal(r.expect(403, v403).result, 'Call not found', r.describe());
        }
    });

    test('new_candidate: a malformed candidate → 403; the call carries on', async () => {
        const alice = await ctx.client.join(ALIAS, 'Alice Candidate');
        const { call_uuid: call } = await openCall(alice);
        const r = await callAct(alice, call, 'new_candidate', { body: { candidate: 'candidate:garbage', mid: '0' }, bodyValidator: V.validateNewCandidateBody });
        const b = r.expect(403, V.validateNewCandidate403);
        assert.ok(b.result.length > 0, r.describe());
        N(await callAct(alice, call, 'new_candidate', { body: HOST_CANDIDATE, bodyValidator: V.validateNewCandidateBody }), V.validateNewCandidate200);
        B(await callAct(alice, call, 'ack', { body: {}, bodyValidator: V.validateAckBody }), V.validateAck200);
    });

    test('roster: is_video_call YES / protocol webrtc during the call, NO after hang-up (§3.3)', async () => {
        const host = await ctx.client.join(ALIAS, 'Watcher');
        const alice = await ctx.client.join(ALIAS, 'Alice Roster');
        const s = await host.events();
        const own = await alice.events();
        await s.synced();
        await own.synced();
        const before = await host.find(alice.uuid);
        assert.equal(before.is_video_call, 'NO', 'control-only before the call');
        assert.equal(before.protocol, 'api', 'control-only before the call');

        let from = s.count();
        let fromOwn = own.count();
        const { call_uuid: call } = await openCall(alice);
        const upd = await roster(s, alice.uuid, (d) => d.is_video_call === 'YES', 'participant_update with is_video_call YES', from);
        assert.equal(upd.protocol, 'webrtc');
        assert.equal(upd.is_audio_only_call, 'NO');
        const self = await roster(own, alice.uuid, (d) => d.is_video_call === 'YES', 'the caller sees its own update', fromOwn);
        assert.equal(self.protocol, 'webrtc');
        const listed = await host.find(alice.uuid); // validated by validateParticipants200
        assert.equal(listed.is_video_call, 'YES');
        assert.equal(listed.is_audio_only_call, 'NO');
        assert.equal(listed.protocol, 'webrtc');

        from = s.count();
        fromOwn = own.count();
        N(await callAct(alice, call, 'disconnect'), V.validateDisconnectCall200);
        const down = await roster(s, alice.uuid, (d) => d.is_video_call === 'NO', 'participant_update with is_video_call NO after hang-up', from);
        assert.equal(down.is_audio_only_call, 'NO');
        assert.equal(down.protocol, 'api', '§3.3: neither call type = control-only ("api")');
        await roster(own, alice.uuid, (d) => d.is_video_call === 'NO', 'the caller sees its own hang-up', fromOwn);
        const gone = await host.find(alice.uuid);
        assert.equal(gone.is_video_call, 'NO');
        assert.equal(gone.protocol, 'api');
        s.close();
        own.close();
        checkParticipantEvents(s);
        checkParticipantEvents(own);
    });

    test('presentation.jpeg / presentation_high.jpeg while nobody presents → 404 "No image available"', async () => {
        const alice = await ctx.client.join(ALIAS, 'Alice Stills');
        await openCall(alice);
        const want = { status: 'failed', result: 'No image available' };
        for (const file of ['presentation.jpeg', 'presentation_high.jpeg']) {
            // token header
            const h = await alice.get(file);
            assert.deepEqual(h.expect(404, V.validateAvatarJpgParticipant404), want, h.describe());
            // token (and the SSE event id) in the query, no header (§4.4)
            for (const q of [`token=${alice.token}`, `id=1&token=${alice.token}`]) {
                const r = await ctx.client.request('GET', `${conf(ALIAS, file)}?${q}`);
                assert.deepEqual(r.expect(404, V.validateAvatarJpgParticipant404), want, r.describe());
            }
            // no token: 403 Invalid token (§5.1), not the image answer
            const none = await ctx.client.request('GET', conf(ALIAS, file));
            assert.equal(none.expect(403, E).result, 'Invalid token', none.describe());
        }
    });

    test('audio-only offer with media_type audio → 200; roster is_audio_only_call YES', async () => {
        const host = await ctx.client.join(ALIAS, 'Ear');
        const alice = await ctx.client.join(ALIAS, 'Alice Audio');
        const s = await host.events();
        await s.synced();
        const from = s.count();
        const offer = audioOnlyOffer(CHROME_OFFER);
        assert.equal(sections(offer).media.length, 1);
        const { sdp } = await openCall(alice, offer, 'audio');
        const a = assertAnswers(sdp, offer, 'audio-only answer');
        assert.equal(a.media.length, 1, 'one m-line answers one m-line');
        assert.ok(!/^m=video/m.test(sdp), 'no video in an audio-only answer');
        assert.match(a.session.find((l) => l.startsWith('a=group:BUNDLE')) ?? '', /^a=group:BUNDLE 0$/, 'BUNDLE names only the audio mid');
        const upd = await roster(s, alice.uuid, (d) => d.is_audio_only_call === 'YES', 'participant_update with is_audio_only_call YES', from);
        assert.equal(upd.is_video_call, 'NO', '§3.3: an audio call is not a video call');
        assert.equal(upd.protocol, 'webrtc');
        const listed = await host.find(alice.uuid);
        assert.equal(listed.is_audio_only_call, 'YES');
        assert.equal(listed.is_video_call, 'NO');
        s.close();
        checkParticipantEvents(s);
    });
});
