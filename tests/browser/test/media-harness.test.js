// Self-check of the media measurement code (page/media-measure.js), no node involved:
// one page, two RTCPeerConnections connected in-page (loopback, VP8 + Opus as the node
// negotiates). What is sent must be measured as sent, or test/media.test.js's verdicts
// on the node's mix and composite would mean nothing.
//
// Artifacts: <repo>/target/browser-artifacts/media-harness/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, videoLive, audioVerdict, sleep } from '../lib/media.js';
import { PALETTE } from '../page/media-measure.js';

let h;
const hex = (rgb) => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;

before(async () => {
    h = await createHarness({ name: 'media-harness' });
    await h.open('L');
});

after(async () => {
    await h?.close();
});

test('loopback: a red canvas + 440 Hz is measured as red and 440 Hz, not blue and not 880 Hz', async () => {
    await h.call('L', 'loopback', { color: '#ff0000', tone: 440, label: 'loopback: red + 440 Hz' });
    const v = await h.until('loopback red video', () => h.call('L', 'measureVideo', 'main'), (m) => {
        const live = videoLive(m);
        if (live !== true) return live;
        if (m.fractions.red < 0.9) return `red ${m.fractions.red} < 0.9`;
        return true;
    }, { timeout: 30000 });
    assert.ok(v.fractions.blue < 0.005 && v.fractions.green < 0.005, JSON.stringify(v.fractions));
    assert.equal(v.width, 640);
    assert.ok(v.blobs.red > 0.9, `one red region: ${v.blobs.red}`);
    await h.until('loopback 440 Hz audio', () => h.call('L', 'measureAudio', { freqs: [440, 880] }), (m) => audioVerdict(m, { want: [440], not: [880] }), { timeout: 30000 });
    await h.shot('red-440');
    await h.call('L', 'loopbackClose');
});

test('loopback: colour bands (red, blue, green, yellow, the 8 name-tile colours, background) + 880 Hz are each recognised', async () => {
    const bands = [
        { color: '#ff0000', cls: 'red' },
        { color: '#0000ff', cls: 'blue' },
        { color: '#00ff00', cls: 'green' },
        { color: '#ffff00', cls: 'yellow' },
        ...PALETTE.map((rgb) => ({ color: hex(rgb), cls: 'palette' })),
        { color: '#181818', cls: 'background' },
    ];
    await h.call('L', 'loopback', { bands, tone: 880, label: 'loopback: colour bands + 880 Hz' });
    const share = 1 / bands.length;
    const expected = {};
    for (const b of bands) expected[b.cls] = (expected[b.cls] || 0) + share;
    const v = await h.until('loopback bands video', () => h.call('L', 'measureVideo', 'main'), (m) => {
        const live = videoLive(m);
        if (live !== true) return live;
        // each class within 30 % of its share (edges between bands blur through 4:2:0)
        const off = Object.entries(expected).filter(([cls, f]) => Math.abs(m.fractions[cls] - f) > 0.3 * f);
        if (off.length) return `off: ${off.map(([c, f]) => `${c} ${m.fractions[c]} vs ${f.toFixed(3)}`).join(', ')}`;
        // every palette colour recognised in ≥ half its band
        const weak = m.palette.map((f, i) => [i, f]).filter(([, f]) => f < 0.5 * share);
        if (weak.length) return `palette colours not recognised: ${JSON.stringify(weak)}`;
        return true;
    }, { timeout: 30000 });
    assert.ok(v.fractions.other < 0.08, `unclassified ${v.fractions.other}`);
    await h.until('loopback 880 Hz audio', () => h.call('L', 'measureAudio', { freqs: [440, 880] }), (m) => audioVerdict(m, { want: [880], not: [440] }), { timeout: 30000 });
    await h.shot('bands-880');
    await h.call('L', 'loopbackClose');
});

test('loopback: remote audio reaches WebAudio only while a media element plays it (why the page plays it at volume 0)', async () => {
    await h.call('L', 'loopback', { color: '#0000ff', tone: 440, sink: 'none', label: 'loopback: no <audio> element' });
    await sleep(3000);
    const silent = await h.call('L', 'measureAudio', { freqs: [440] });
    h.note('WebAudio without a playing element', silent);
    await h.call('L', 'loopbackClose');
    // informational: Chrome versions differ; the harness only relies on the element path
    if (silent.levels[440] > silent.floorDb + 15) h.note('this chromium feeds WebAudio without an element', true);
    assert.ok(silent);
});
