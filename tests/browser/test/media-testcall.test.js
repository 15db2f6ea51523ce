// The Test Call service (alias `test`) loops each caller's own media back, about a second
// late, so they can check camera and microphone: a Chromium caller (red, 440 Hz) and a
// Firefox ESR caller (blue, 880 Hz) each join `test` with the real SDK, each in their own
// private call, and each sees only their own colour and hears only their own tone.
//
// Artifacts: <repo>/target/browser-artifacts/media-testcall/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startNode } from '../../conformance/lib/node.js';
import { createHarness, videoLive, audioVerdict } from '../lib/media.js';
import { stepper } from '../lib/steps.js';

const T = 25000; // the test call itself ends after 30 s
const FREQS = [220, 440, 660, 880, 1320];
const PEOPLE = {
    A: { displayName: 'Alice Chromium', color: '#ff0000', tone: 440, browser: 'chromium' },
    F: { displayName: 'Fiona Firefox', color: '#0000ff', tone: 880, browser: 'firefox' },
};

let node;
let h;

before(async () => {
    node = await startNode({ name: 'browser-media-testcall' });
    h = await createHarness({ name: 'media-testcall', nodeUrl: node.url, browser: (p) => PEOPLE[p].browser });
});

after(async () => {
    await h?.close();
    await node?.stop();
    if (h && node) fs.copyFileSync(node.logPath, path.join(h.artifacts, 'node.log'));
});

describe('Test Call: each caller sees and hears themself (Chromium and Firefox ESR)', () => {
    const step = stepper(() => h.shot('failed'));

    step('A (Chromium) and F (Firefox) each call `test` with audio and video', async () => {
        for (const p of ['A', 'F']) {
            await h.open(p);
            const r = await h.call(p, 'join', { host: node.url, alias: 'test', label: `${p} — test call`, ...PEOPLE[p] });
            assert.equal(r.status, 200, `request_token via the SDK: ${JSON.stringify(r)}`);
            assert.equal(r.serviceType, 'test_call');
        }
        for (const p of ['A', 'F']) {
            await h.until(`${p} call connected`, () => h.state(p), (s) => {
                if (s.errors.length) return `onError ${JSON.stringify(s.errors)}`;
                return s.callConnected || 'no onCallConnected yet';
            }, { timeout: T, interval: 500 });
        }
    });

    step('each sees their own picture and hears their own tone, and nothing of the other', async () => {
        const sees = (own, other) => (m) => {
            const live = videoLive(m);
            if (live !== true) return live;
            if (!(m.fractions[own] >= 0.5)) return `${own} covers ${m.fractions[own]} < 50%`;
            return m.fractions[other] <= 0.005 || `${other} (the other caller) covers ${m.fractions[other]}`;
        };
        await h.until('A sees red (itself), no blue', () => h.call('A', 'measureVideo', 'main'), sees('red', 'blue'), { timeout: T, stable: 2 });
        await h.until('F sees blue (itself), no red', () => h.call('F', 'measureVideo', 'main'), sees('blue', 'red'), { timeout: T, stable: 2 });
        const audio = (p) => () => h.call(p, 'measureAudio', { freqs: FREQS, ms: 1000 });
        await h.until('A hears 440 (itself), not 880', audio('A'), (m) => audioVerdict(m, { want: [440], not: [880], peak: 440 }), { timeout: T, stable: 2 });
        await h.until('F hears 880 (itself), not 440', audio('F'), (m) => audioVerdict(m, { want: [880], not: [440], peak: 880 }), { timeout: T, stable: 2 });
        await h.shot('looped-back');
    });
});
