// End-to-end: presenting files from the web app (assets/present-files.js, pdf.js from
// webapp-static/vendor/pdfjs/) in headless Debian chromium against a fresh plenum node.
//
//   1. Alice and Bob join meet.open.
//   2. Alice picks a .txt, a broken PNG and a broken PDF: each is named in a message,
//      then "Nothing to present"; no take_floor.
//   3. Alice picks a blue PNG (made here), a one-page PDF (fixtures/slide-green.pdf: a
//      green rectangle) and notes.txt: the .txt is named in a message, the other two are
//      presented ("Slide 1 of 2"); Bob sees the presentation and its pixels are blue.
//   4. Alice presses → : "Slide 2 of 2", Bob's presentation turns green (the PDF page);
//      ← and the thumbnail strip go back to the PNG.
//   5. Alice stops from the slide bar: the presentation ends on Bob's page.
//   6. Alice presents again; Bob shares his screen (takes the floor): Alice's slide bar
//      goes away and her button says "Present files" again; Bob stops.
//   No CSP violations in either page's console.
//
// Artifacts: <repo>/target/browser-artifacts/webapp-present/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness, compositeState } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PDF = fs.readFileSync(path.join(HERE, '../fixtures/slide-green.pdf'));
const BLUE = [20, 90, 230];
const GREEN = [0, 191, 77]; // 0 0.75 0.3 rg

/** A solid-colour RGB PNG (w×h) with a white square in one corner. */
function png(w, h, [r, g, b]) {
    const raw = Buffer.alloc((w * 3 + 1) * h);
    for (let y = 0; y < h; y++) {
        const row = y * (w * 3 + 1);
        raw[row] = 0; // filter: none
        for (let x = 0; x < w; x++) {
            const white = x < w / 6 && y < h / 6;
            raw.set(white ? [255, 255, 255] : [r, g, b], row + 1 + x * 3);
        }
    }
    const chunk = (type, data) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(data.length);
        const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(zlib.crc32(td));
        return Buffer.concat([len, td, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0);
    ihdr.writeUInt32BE(h, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk('IHDR', ihdr),
        chunk('IDAT', zlib.deflateSync(raw)),
        chunk('IEND', Buffer.alloc(0)),
    ]);
}

const FILES = [
    { name: 'blue.png', mimeType: 'image/png', buffer: png(640, 360, BLUE) },
    { name: 'slide-green.pdf', mimeType: 'application/pdf', buffer: PDF },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a slide\n') },
];

let node;
let h;

before(async () => {
    node = await startNode({ name: 'browser-webapp-present' });
    h = await createWebappHarness({ name: 'webapp-present', node });
});

after(() => closeRun(h, node));

async function joinFromHome(p, { name, alias }) {
    const page = h.pages[p];
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel('Meeting address').fill(alias);
    await page.getByRole('button', { name: 'Join with video' }).click();
    await page.locator('.screen.meeting').waitFor({ timeout: T });
}

/**
 * A pixel (centre, 60 % down) of the presentation as shown: the still image (the
 * default) or the full-motion video ("HD"); [r, g, b], null while there is no picture.
 */
const presPixel = (page) => page.evaluate(() => {
    const img = document.querySelector('img.presentation-still');
    const v = document.querySelector('video.presentation');
    let src = null;
    let w = 0;
    let hh = 0;
    if (img && img.offsetParent && img.naturalWidth) [src, w, hh] = [img, img.naturalWidth, img.naturalHeight];
    else if (v && v.offsetParent && v.videoWidth) [src, w, hh] = [v, v.videoWidth, v.videoHeight];
    if (!src) return null;
    const c = document.createElement('canvas');
    c.width = w;
    c.height = hh;
    const g = c.getContext('2d');
    g.drawImage(src, 0, 0);
    const [r, gg, b] = g.getImageData(Math.floor(c.width / 2), Math.floor(c.height * 0.6), 1, 1).data;
    return [r, gg, b];
});

const near = (px, want, tol = 60) => !!px && px.every((v, i) => Math.abs(v - want[i]) <= tol);

const toastsText = (page) => page.locator('#toasts').textContent();

describe('web app: present files (images and PDF pages as slides)', () => {
    const step = stepper(() => h.shot('failed'));

    step('Alice and Bob join meet.open; Alice has "Present files" next to "Share screen"', async () => {
        await h.open('A');
        await joinFromHome('A', { name: 'Alice', alias: 'meet.open' });
        await h.open('B');
        await joinFromHome('B', { name: 'Bob', alias: 'meet.open' });
        for (const p of ['A', 'B']) {
            await h.until(`${p}: 2 participants`, () => h.pages[p].locator('.roster .person:not(.waiting)').count(), (n) => n === 2 || `${n}`, { timeout: T });
        }
        const a = h.pages.A;
        const btn = a.getByRole('button', { name: 'Present files' });
        assert.ok(await btn.isVisible(), 'Present files button shown');
        const order = await a.locator('.toolbar .tb-btn:not(.hidden)').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
        assert.equal(order[order.indexOf('Share screen') + 1], 'Present files', `toolbar order ${JSON.stringify(order)}`);
    });

    step('only a .txt, a broken PNG and a broken PDF: each named, "Nothing to present", nothing starts', async () => {
        const a = h.pages.A;
        await a.locator('input.pf-input').setInputFiles([
            FILES[2],
            { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not a png') },
            { name: 'broken.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\nnothing here\n') },
        ]);
        await h.until('A: messages name the files', () => toastsText(a), (s) => (/“notes\.txt” is not an image or PDF/.test(s) && /“broken\.png” could not be read/.test(s) && /“broken\.pdf” could not be read/.test(s) && /Nothing to present/.test(s)) || s, { timeout: T });
        await h.shot('nothing-to-present', 'A');
        assert.equal(await a.locator('.pf-bar').count(), 0, 'no slide bar');
        assert.ok(!h.traffic.some((x) => x.page === 'A' && x.path.endsWith('/take_floor')), 'no take_floor');
    });

    step('a PNG, a PDF and a .txt: the .txt is named, Bob sees the PNG (blue)', async () => {
        const a = h.pages.A;
        const b = h.pages.B;
        await a.locator('input.pf-input').setInputFiles(FILES);
        await h.until('A: message about notes.txt', () => toastsText(a), (s) => /“notes\.txt” is not an image or PDF/.test(s) || s, { timeout: T });
        await a.locator('.pf-bar').waitFor({ timeout: T });
        await h.until('A: Slide 1 of 2', () => a.locator('.pf-counter').textContent(), (s) => s === 'Slide 1 of 2' || s, { timeout: T });
        assert.equal(await a.locator('.pf-counter').getAttribute('aria-live'), 'polite');
        assert.equal(await a.locator('.pf-thumb').count(), 2);
        assert.ok(await a.getByRole('button', { name: 'Previous slide' }).isDisabled(), 'previous disabled on the first slide');
        assert.match(await a.locator('.stage-note').textContent(), /You are presenting files/);
        // Bob: a still picture first (the default), then full motion ("HD")
        await h.until('B: presentation (still) is blue', () => presPixel(b), (px) => near(px, BLUE) || `pixel ${JSON.stringify(px)}`, { timeout: T });
        assert.match(await b.locator('.pres-caption').textContent(), /Alice is presenting/);
        await h.shot('png-slide-still', 'B');
        const hd = b.locator('.pres-box [data-pres="hd"]');
        if (await hd.count() && (await hd.getAttribute('aria-pressed')) !== 'true') await hd.click();
        await h.until('B: presentation frames arrive', () => compositeState(b, 'video.presentation'), (s) => (s && s.visible && s.width > 0 && s.frames > 2) || JSON.stringify(s), { timeout: T });
        await h.until('B: presentation (video) is blue', () => presPixel(b), (px) => near(px, BLUE) || `pixel ${JSON.stringify(px)}`, { timeout: T });
        // frames keep coming while the slide stays (a late receiver needs them)
        const f0 = (await compositeState(b, 'video.presentation')).frames;
        await h.until('B: frames keep coming on a still slide', () => compositeState(b, 'video.presentation'), (s) => s.frames >= f0 + 3 || `frames ${s.frames} (was ${f0})`, { timeout: T });
        // thumbnails drawn (the PDF page's too)
        await h.until('A: thumbnails drawn', () => a.locator('.pf-thumb-img').evaluateAll((cs) => cs.map((c) => {
            const d = c.getContext('2d').getImageData(c.width / 2, c.height * 0.6, 1, 1).data;
            return [d[0], d[1], d[2]];
        })), (l) => (l.length === 2 && l[0][2] > 150 && l[1][1] > 150) || JSON.stringify(l), { timeout: T });
        await h.shot('png-slide', 'A');
        await h.shot('png-slide', 'B');
    });

    step('→ shows the PDF page (green) on Bob\'s side; ← and the thumbnail go back', async () => {
        const a = h.pages.A;
        const b = h.pages.B;
        await a.locator('body').click({ position: { x: 5, y: 5 } }).catch(() => {});
        await a.keyboard.press('ArrowRight');
        await h.until('A: Slide 2 of 2', () => a.locator('.pf-counter').textContent(), (s) => s === 'Slide 2 of 2' || s, { timeout: T });
        assert.equal(await a.locator('.pf-name').textContent(), 'slide-green.pdf, page 1');
        await h.until('B: presentation is green (PDF page)', () => presPixel(b), (px) => near(px, GREEN) || `pixel ${JSON.stringify(px)}`, { timeout: T });
        await h.shot('pdf-slide', 'A');
        await h.shot('pdf-slide', 'B');
        await a.keyboard.press('ArrowLeft');
        await h.until('A: Slide 1 of 2', () => a.locator('.pf-counter').textContent(), (s) => s === 'Slide 1 of 2' || s, { timeout: T });
        await h.until('B: blue again', () => presPixel(b), (px) => near(px, BLUE) || `pixel ${JSON.stringify(px)}`, { timeout: T });
        await a.getByRole('button', { name: 'Slide 2: slide-green.pdf, page 1' }).click();
        await h.until('A: Slide 2 of 2 (thumbnail)', () => a.locator('.pf-counter').textContent(), (s) => s === 'Slide 2 of 2' || s, { timeout: T });
        assert.equal(await a.locator('.pf-thumb[aria-current="true"]').getAttribute('aria-label'), 'Slide 2: slide-green.pdf, page 1');
        await h.until('B: green again', () => presPixel(b), (px) => near(px, GREEN) || `pixel ${JSON.stringify(px)}`, { timeout: T });
    });

    step('Stop presenting (slide bar) ends it on Bob\'s page', async () => {
        const a = h.pages.A;
        const b = h.pages.B;
        await a.locator('.pf-bar .pf-stop').click();
        await h.until('B: presentation gone', () => b.locator('.pres-box').isVisible(), (v) => v === false || 'still shown', { timeout: T });
        assert.equal(await a.locator('.pf-bar').count(), 0, 'slide bar removed');
        assert.ok(await a.getByRole('button', { name: 'Present files' }).isVisible());
        // Bob's page can learn of the stop (presentation_stop) before Alice's page has seen
        // the answer to its own release_floor: wait for the answer, do not race it.
        await h.until('A: release_floor 200', () => h.traffic.some((x) => x.page === 'A' && x.path.endsWith('/release_floor') && x.status === 200), (v) => v || 'no answer yet', { timeout: T });
        await h.shot('stopped');
    });

    step('Bob takes the floor with a screen share: Alice\'s slide bar goes away', async () => {
        const a = h.pages.A;
        const b = h.pages.B;
        await a.locator('input.pf-input').setInputFiles(FILES.slice(0, 2));
        await a.locator('.pf-bar').waitFor({ timeout: T });
        await h.until('B: blue', () => presPixel(b), (px) => near(px, BLUE) || `pixel ${JSON.stringify(px)}`, { timeout: T });
        await b.getByRole('button', { name: 'Share screen' }).click();
        await h.until('A: slide bar gone', () => a.locator('.pf-bar').count(), (n) => n === 0 || 'still there', { timeout: T });
        await h.until('A: button back to "Present files"', () => a.getByRole('button', { name: 'Present files' }).isVisible(), (v) => v || 'not yet', { timeout: T });
        await h.until('A: sees Bob presenting', () => a.locator('.pres-caption').textContent(), (s) => /Bob is presenting/.test(s) || s, { timeout: T });
        await h.shot('taken-over');
        await b.getByRole('button', { name: 'Stop sharing' }).click();
        await h.until('A: presentation gone', () => a.locator('.pres-box').isVisible(), (v) => v === false || 'still shown', { timeout: T });
    });

    step('no CSP violations, pdf.js came from the node', async () => {
        assert.ok(h.servedByNode, 'the node serves the web app (and vendor/pdfjs) itself');
        const csp = h.consoleLog.filter((l) => /Content Security Policy|Refused to/i.test(l));
        assert.deepEqual(csp, [], csp.join('\n'));
        const errors = h.consoleLog.filter((l) => /pageerror/.test(l));
        assert.deepEqual(errors, [], errors.join('\n'));
    });
});
