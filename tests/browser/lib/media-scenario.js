// End-to-end media through the node: the real @pexip/infinity 20.0.0 SDK making media
// calls in headless Debian chromium (one browser, one context per participant) against a
// fresh plenum node, room meet.open (everyone Host). Synthetic camera = solid-colour
// canvas, synthetic microphone = sine tone (page/media-measure.js, self-checked by
// test/media-harness.test.js):
//
//   A  red     440 Hz   AudioVideoPresentation (the SDK's default call type)
//   B  blue    880 Hz   AudioVideoPresentation
//   C  yellow 1250 Hz   AudioVideoPresentation
//   D  —       silence  Audio (audio-only: a name tile in the others' composite)
//
// Every participant receives one mixed audio stream (everyone but themself) and one
// composited video. Checks: A sees blue and no red, hears 880 and no 440; B the reverse;
// C in layout 1:7 sees a big and a small tile (red and blue), hears 440+880 and not
// 1250; D shows up as a name tile and as audio-only in the roster and hears all three;
// A presents green → B (and C) receive green frames on the slides track; A stops → the
// presentation ends for B; everyone disconnects cleanly.
//
// Run by test/media.test.js (all Chromium) and test/media-firefox.test.js (Firefox and
// Chromium in one meeting).
//
// Artifacts: <repo>/target/browser-artifacts/<name>/ — screenshots per step and page,
// measurements.json (every verdict: one line per sample and the final sample; getStats
// of every call before leaving), api-traffic.json (with the SDP of calls/update/ack),
// console.log, state-*.json (page state and SDK log), peer-*.json (final SDP), node.log.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startNode } from '../../conformance/lib/node.js';
import { createHarness, videoLive, audioVerdict } from './media.js';
import { stepper } from './steps.js';

const ALIAS = 'meet.open';
const T = 60000; // generous: 2 loaded cores run the node, 4 encoders and 4 decoders
const TONE = { A: 440, B: 880, C: 1250 };
// C's tone shares no common fundamental in the voice pitch range with 440/880 Hz
// (gcd 10 Hz): with C at 1100 Hz (gcd 220 Hz) the node's Opus re-encode of B's mix
// (440 + 1100) put codec artefacts on every 220 Hz harmonic — 220, 660, 880, 1320 Hz
// all ≈ 21 dB under the tones. At 1250 Hz they remain on 440's harmonics (880, 1320 Hz
// ≈ 22–24 dB under), so "not hearing yourself" means ≥ 15 dB under the others (see
// audioVerdict). No low-order intermodulation product of two of these tones lands within
// ±15 Hz of the third. Measured besides the tones: 220/660/1320 Hz, which tell codec
// artefacts (spread over several bins) from a leak of one's own tone (its own bin only).
const FREQS = [220, 440, 660, 880, 1250, 1320];
const PEOPLE = {
    A: { displayName: 'Alice Red', color: '#ff0000', tone: TONE.A },
    B: { displayName: 'Bob Blue', color: '#0000ff', tone: TONE.B },
    C: { displayName: 'Carol Yellow', color: '#ffff00', tone: TONE.C },
    D: { displayName: 'Dora AudioOnly', tone: 0, callType: 'Audio' },
};

/**
 * Registers the scenario's steps. `browser(p)` says which browser participant `p` uses;
 * `name` is the artifacts folder and the node's name; `joinWith[p]` adds join options
 * (e.g. `videoCodecs`); `codecs[p]` is the video codec (mime type) `p`'s main video must
 * use both ways, checked from the browser's own stats before leaving.
 */
export function runMediaScenario({ name, title, browser = () => 'chromium', joinWith = {}, codecs = {} }) {
    let node;
    let h;

    before(async () => {
        node = await startNode({ name: `browser-${name}` });
        h = await createHarness({ name, nodeUrl: node.url, browser });
    });

    after(async () => {
        await h?.close();
        await node?.stop();
        if (h && node) fs.copyFileSync(node.logPath, path.join(h.artifacts, 'node.log'));
    });

    const video = (p, which = 'main') => () => h.call(p, 'measureVideo', which);
    const audio = (p) => () => h.call(p, 'measureAudio', { freqs: FREQS, ms: 1000 });
    const f = (x) => (x * 100).toFixed(1) + '%';

    /** Video verdict: the colours in `see` each cover ≥ `min`, those in `not` ≤ 0.5 %. */
    function sees(m, { see = [], not = [], min = 0.004 }) {
        const live = videoLive(m);
        if (live !== true) return live;
        const problems = [];
        for (const c of see) if (!(m.fractions[c] >= min)) problems.push(`${c} ${f(m.fractions[c])} < ${f(min)}`);
        for (const c of not) if (!(m.fractions[c] <= 0.005)) problems.push(`${c} ${f(m.fractions[c])} > 0.5% (own picture or a wrong tile)`);
        return problems.length ? problems.join('; ') : true;
    }

    async function join(p) {
        await h.open(p);
        const who = PEOPLE[p];
        const r = await h.call(p, 'join', { host: node.url, alias: ALIAS, label: `${p} — ${who.displayName}`, ...who, ...joinWith[p] });
        assert.equal(r.status, 200, `request_token via the SDK: ${JSON.stringify(r)}`);
        await h.until(`${p} call connected`, () => h.state(p), (s) => {
            if (s.errors.length) return `onError ${JSON.stringify(s.errors)}`;
            if (s.failedRequests.length) return `onFailedRequest ${JSON.stringify(s.failedRequests)} (see api-traffic.json)`;
            return s.callConnected || 'no onCallConnected yet (PeerConnection not connected)';
        }, { timeout: T, interval: 500 });
        return r;
    }

    describe(title, () => {
        // the steps build on each other: after a failure the rest are skipped, not piled on
        const step = stepper(async () => {
            await h.shot('failed');
            for (const p of Object.keys(h.pages)) h.note(`peer stats of ${p} after failure`, await h.call(p, 'peerStats', { sdp: true }).catch((x) => String(x)));
        });
        const baseline = {};

        step('A (red, 440 Hz) and B (blue, 880 Hz) join meet.open with audio and video', async () => {
            await join('A');
            await join('B');
            await h.shot('a-b-joined');
        });

        step('A receives a large blue picture and no red; B receives a large red picture and no blue', async () => {
            const a = await h.until('A sees blue, not red', video('A'), (m) => {
                const v = sees(m, { see: ['blue'], not: ['red'], min: 0.3 });
                return v !== true ? v : m.blobs.blue >= 0.2 || `largest blue region ${f(m.blobs.blue)} < 20%`;
            }, { timeout: T, stable: 3 });
            const b = await h.until('B sees red, not blue', video('B'), (m) => {
                const v = sees(m, { see: ['red'], not: ['blue'], min: 0.3 });
                return v !== true ? v : m.blobs.red >= 0.2 || `largest red region ${f(m.blobs.red)} < 20%`;
            }, { timeout: T, stable: 3 });
            h.note('composite sizes', { A: [a.width, a.height], B: [b.width, b.height] });
            await h.shot('a-b-video');
        });

        step('A hears 880 Hz and no 440 Hz; B hears 440 Hz and no 880 Hz (everyone but me)', async () => {
            await h.until('A hears 880, not 440', audio('A'), (m) => audioVerdict(m, { want: [880], not: [440], peak: 880 }), { timeout: T, stable: 2 });
            await h.until('B hears 440, not 880', audio('B'), (m) => audioVerdict(m, { want: [440], not: [880], peak: 440 }), { timeout: T, stable: 2 });
            await h.shot('a-b-audio');
        });

        step('C (yellow, 1250 Hz) joins; the Host sets layout 1:7; C sees a big and a small tile, red and blue', async () => {
            await join('C');
            const res = await h.call('A', 'setLayout', '1:7');
            assert.equal(res?.status, 200, `transform_layout via the SDK: ${JSON.stringify(res)}`);
            assert.notEqual(res.result, false, 'transform_layout refused 1:7');
            const c = await h.until('C sees red and blue in 1:7 (one main, one thumbnail), not yellow', video('C'), (m) => {
                const v = sees(m, { see: ['red', 'blue'], not: ['yellow'] });
                if (v !== true) return v;
                const big = Math.max(m.fractions.red, m.fractions.blue);
                const small = Math.min(m.fractions.red, m.fractions.blue);
                if (big < 0.3) return `no main tile: largest of red/blue is ${f(big)} < 30%`;
                if (small > 0.08) return `no thumbnail: smaller of red/blue is ${f(small)} > 8% (still a grid, not 1:7?)`;
                return true;
            }, { timeout: T, stable: 2 });
            await h.until('A sees blue and yellow, not red', video('A'), (m) => sees(m, { see: ['blue', 'yellow'], not: ['red'] }), { timeout: T, stable: 2 });
            await h.until('B sees red and yellow, not blue', video('B'), (m) => sees(m, { see: ['red', 'yellow'], not: ['blue'] }), { timeout: T, stable: 2 });
            h.note('layout events', { A: (await h.state('A')).layout, C: (await h.state('C')).layout });
            baseline.palette = { A: (await video('A')()).fractions.palette, C: c.fractions.palette };
            await h.shot('c-joined-1-7');
        });

        step('three-way mix: C hears 440+880 and no 1250; A hears 880+1250 and no 440; B hears 440+1250 and no 880', async () => {
            await h.until('C hears 440+880, not 1250', audio('C'), (m) => audioVerdict(m, { want: [440, 880], not: [1250] }), { timeout: T, stable: 2 });
            await h.until('A hears 880+1250, not 440', audio('A'), (m) => audioVerdict(m, { want: [880, 1250], not: [440] }), { timeout: T, stable: 2 });
            await h.until('B hears 440+1250, not 880', audio('B'), (m) => audioVerdict(m, { want: [440, 1250], not: [880] }), { timeout: T, stable: 2 });
        });

        step('D joins audio-only: a name tile appears for A and C, the roster shows D as audio-only, D hears everyone', async () => {
            const r = await join('D');
            const dUuid = r.uuid;
            await h.until('A roster shows D as an audio call', () => h.state('A'), (s) => {
                const d = s.participants.find((p) => p.uuid === dUuid);
                if (!d) return `D not in A's roster (${s.participants.map((p) => p.displayName).join(', ')})`;
                return d.callType === 'audio' || `D's callType is ${d.callType} (is_audio_only_call not YES?)`;
            }, { timeout: T, interval: 500 });
            // a name tile = a block of one of the compositor's name-tile colours, on screen
            // together with both video participants' colours: three tiles, the third can
            // only be D's (a video participant whose video stalls also falls back to a name
            // tile — seen under load — but then its own colour is missing)
            const nameTile = (m, others, own) => {
                const v = sees(m, { see: [...others, 'palette'], not: [own] });
                if (v !== true) return v;
                return m.blobs.palette >= 0.003 || `name-tile colours scattered, no block (largest ${f(m.blobs.palette)})`;
            };
            h.note('name-tile colours before D joined (A, C)', baseline.palette);
            await h.until('A sees a name tile for D next to blue and yellow, no red', video('A'), (m) => nameTile(m, ['blue', 'yellow'], 'red'), { timeout: T, stable: 2 });
            await h.until('C sees a name tile for D next to red and blue, no yellow', video('C'), (m) => nameTile(m, ['red', 'blue'], 'yellow'), { timeout: T, stable: 2 });
            await h.until('D hears 440+880+1250', audio('D'), (m) => audioVerdict(m, { want: [440, 880, 1250], not: [] }), { timeout: T, stable: 2 });
            await h.shot('d-joined-name-tile');
        });

        step('A presents a green canvas: B and C receive green frames on the slides track', async () => {
            await h.call('A', 'present', { color: '#00ff00' });
            await h.until('A presenting (take_floor + slides sendonly)', () => h.state('A'), (s) => {
                if (s.presoState?.send === 'failed') return 'present failed (take_floor refused?)';
                return s.presoState?.send === 'connected' || `presoState ${JSON.stringify(s.presoState)}`;
            }, { timeout: T, interval: 500 });
            for (const p of ['B', 'C']) {
                await h.until(`${p} receives the presentation (recv connected, stream)`, () => h.state(p), (s) => {
                    if (s.presoState?.recv !== 'connected') return `presoState ${JSON.stringify(s.presoState)} (no presentation_start, or slides not recvonly)`;
                    return s.presentationStreamEvents > 0 || 'no onRemotePresentationStream yet';
                }, { timeout: T, interval: 500 });
                await h.until(`${p} presentation frames are green`, video(p, 'presentation'), (m) => {
                    const v = sees(m, { see: ['green'], not: ['red', 'blue', 'yellow'], min: 0.5 });
                    if (v !== true) return v;
                    return m.frames >= 5 || `only ${m.frames} presentation frames`;
                }, { timeout: T, stable: 2 });
            }
            await h.shot('presenting');
        });

        step('A stops presenting: the presentation ends for B and C', async () => {
            await h.call('A', 'stopPresenting');
            await h.until('A not presenting', () => h.state('A'), (s) => s.presoState?.send === 'disconnected' || `presoState ${JSON.stringify(s.presoState)}`, { timeout: T, interval: 500 });
            for (const p of ['B', 'C']) {
                await h.until(`${p}: presentation stopped (presentation_stop, slides inactive, track muted)`, async () => ({ state: await h.state(p), video: await video(p, 'presentation')() }), ({ state, video: m }) => {
                    if (state.presoState?.recv !== 'disconnected') return `presoState ${JSON.stringify(state.presoState)} (no presentation_stop?)`;
                    if (!(m.trackMuted || m.trackState === 'ended' || m.msSinceFrame > 3000)) return `presentation track still live: muted=${m.trackMuted} state=${m.trackState} last frame ${m.msSinceFrame} ms ago`;
                    return true;
                }, { timeout: T, interval: 1000 });
            }
            // main video keeps flowing after the renegotiation
            await h.until('B still sees red after the presentation', video('B'), (m) => sees(m, { see: ['red', 'yellow'], not: ['blue'] }), { timeout: T });
            await h.shot('presentation-stopped');
            // evidence while every call is still up: codecs, resolutions, frame rates, ICE pair
            for (const p of ['A', 'B', 'C', 'D']) {
                const stats = await h.call(p, 'peerStats', {});
                h.note(`${p} peer connection stats before leaving`, stats);
                if (!codecs[p]) continue;
                const main = (list) => [...new Set(list.filter((x) => x.kind === 'video' && x.mid === '1').map((x) => x.codec))];
                assert.deepEqual(main(stats.inbound), [codecs[p]], `${p} receives its main video in ${codecs[p]}: ${JSON.stringify(stats.inbound)}`);
                assert.deepEqual(main(stats.outbound), [codecs[p]], `${p} sends its main video in ${codecs[p]}: ${JSON.stringify(stats.outbound)}`);
            }
        });

        step('everyone disconnects cleanly', async () => {
            const gone = [];
            for (const p of ['D', 'C', 'B', 'A']) {
                await h.call(p, 'disconnect');
                gone.push(p);
                const rest = ['A', 'B', 'C', 'D'].filter((x) => !gone.includes(x));
                for (const q of rest) {
                    await h.until(`${q} sees ${p} leave`, () => h.state(q), (s) => !s.participants.some((x) => x.displayName === PEOPLE[p].displayName) || `${PEOPLE[p].displayName} still in the roster`, { timeout: 30000, interval: 500, record: false });
                }
            }
            await h.shot('disconnected');
            for (const p of ['A', 'B', 'C', 'D']) {
                const s = await h.state(p);
                assert.deepEqual(s.errors, [], `${p}: onError`);
                assert.deepEqual(s.failedRequests, [], `${p}: onFailedRequest`);
                h.note(`${p} ICE restarts (onReconnecting)`, s.reconnecting);
            }
            // the SDK aborts its own event stream when it leaves: not a failure
            const bad = h.traffic.filter((x) => (x.failed && !(x.path.endsWith('/events') && x.failed === 'net::ERR_ABORTED')) || x.status >= 400);
            assert.deepEqual(bad.map((x) => `${x.page} ${x.method} ${x.path} → ${x.status ?? x.failed}`), [], 'API requests that failed');
            for (const p of ['A', 'B', 'C', 'D']) {
                assert.ok(h.traffic.some((x) => x.page === p && /\/calls\/[^/]+\/disconnect$/.test(x.path) && x.status === 200), `${p}: call disconnect answered 200`);
                assert.ok(h.traffic.some((x) => x.page === p && x.path.endsWith('/release_token') && x.status === 200), `${p}: release_token answered 200`);
            }
        });
    });
}
