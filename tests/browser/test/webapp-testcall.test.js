// End-to-end: the web app's "Test call" (home screen) in headless Debian chromium with
// fake camera and microphone, against a fresh plenum node whose Test Call service (type
// `test_call`, alias `test`) loops each caller's own picture and voice back a second late.
//
//   1. Home screen: "Test call" is there; with a name typed it joins `test` (the default
//      alias) with video: the meeting screen says it is a test call, the meeting-only
//      controls (people and chat, hand, meeting link) are gone, Share screen stays.
//   2. The composite (not the self view) plays and shows the fake camera's picture (mostly
//      green), and the stage's audio carries the fake microphone's beeps: the caller sees
//      and hears themself. Screenshots at desktop and phone width.
//   3. Leave: back home, the name kept and the meeting address as it was (empty).
//   4. A branding package with `testCallAlias: "test.short"` (a test_call service lasting
//      5 s): the name left empty, "Test call" joins test.short as "Test call"; the node
//      ends it ("Test call finished", #pex143) and the app says so in friendly words, not
//      as an error; "Back to home" goes home.
//   5. `testCallAlias: ""` hides the button.
// axe-core (WCAG 2.1 A/AA, serious or critical) checks the home screen, the test-call
// meeting screen and the "Test call finished" card.
//
// Artifacts: <repo>/target/browser-artifacts/webapp-testcall/ — screenshots,
// api-traffic.json, console.log, node.log.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness, incomingAudioPeak, videoPlays } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000;
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHORT = 'test.short';

let node;
let h;
let brandingDir;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plenum-testcall-'));
/** display_name of every request_token the page sent, by alias. */
const tokenRequests = [];

before(async () => {
    // an empty branding folder: no package (the default look) until step 4 writes one
    const src = path.join(tmp, 'branding');
    fs.mkdirSync(src);
    node = await startNode({
        name: 'browser-webapp-testcall',
        branding: src,
        extraServices: `[[service]]\nname = "${SHORT}"\ntype = "test_call"\naliases = ["${SHORT}"]\ntest_call_duration = 5\n`,
    });
    brandingDir = path.join(node.configDir, 'branding');
    h = await createWebappHarness({ name: 'webapp-testcall', node });
});

after(async () => {
    await closeRun(h, node);
    fs.rmSync(tmp, { recursive: true, force: true });
});

function writePackage(settings) {
    fs.writeFileSync(path.join(brandingDir, 'manifest.json'), JSON.stringify({ brandingID: `testcall-${Date.now()}` }));
    fs.writeFileSync(path.join(brandingDir, 'settings.json'), JSON.stringify(settings));
}

/** axe-core in the page (over the DevTools protocol: the node's CSP stays): no serious or critical violation. */
async function noViolations(page, label) {
    await page.evaluate(`${AXE_SOURCE}\n;true`);
    const result = await page.evaluate(() => window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        resultTypes: ['violations'],
    }));
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const summary = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
    assert.deepEqual(summary, [], `${label}: axe violations`);
}

/**
 * How much of the composite <video>'s current frame is green-ish (Chromium's fake camera
 * paints a green picture), sampled through a canvas; null while it has no frame.
 */
function compositeGreenShare(page) {
    return page.evaluate(() => {
        const v = document.querySelector('.stage video.composite');
        if (!v || !v.videoWidth) return null;
        const c = document.createElement('canvas');
        c.width = 160;
        c.height = 90;
        const g = c.getContext('2d', { willReadFrequently: true });
        g.drawImage(v, 0, 0, c.width, c.height);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        let green = 0;
        for (let i = 0; i < px.length; i += 4) {
            const [r, gr, b] = [px[i], px[i + 1], px[i + 2]];
            if (gr > 60 && gr > r + 30 && gr > b + 30) green++;
        }
        return green / (px.length / 4);
    });
}

describe('web app: Test call from the home screen (chromium)', () => {
    const step = stepper(() => h.shot('failed'));

    step('home: "Test call" joins `test` with video and the name typed; a test-call meeting screen', async () => {
        const a = await h.open('A');
        a.on('request', (r) => {
            const m = new URL(r.url()).pathname.match(/\/conferences\/([^/]+)\/request_token$/);
            if (m && r.method() === 'POST') tokenRequests.push({ alias: decodeURIComponent(m[1]), name: JSON.parse(r.postData() || '{}').display_name });
        });
        const btn = a.getByRole('button', { name: 'Test call' });
        await btn.waitFor({ timeout: T });
        assert.match(await a.locator('#test-call-hint').textContent(), /camera and microphone/);
        await a.getByLabel('Your name').fill('Tess Tester');
        await noViolations(a, 'home');
        await h.shot('home');
        await a.setViewportSize({ width: 390, height: 844 });
        await a.locator('.test-call-box').scrollIntoViewIfNeeded();
        await h.shot('home-phone');
        await a.setViewportSize({ width: 1280, height: 800 });
        await btn.click();
        await a.locator('.screen.meeting').waitFor({ timeout: T });
        assert.deepEqual(tokenRequests.at(-1), { alias: 'test', name: 'Tess Tester' });
        const note = a.locator('.stage .testcall-note');
        await note.waitFor({ state: 'visible', timeout: T });
        assert.match(await note.textContent(), /Test call: you should see and hear yourself, about a second late/);
        assert.equal(await a.locator('.meeting-title').textContent(), 'Test call');
        // meeting-only controls are gone; the camera, microphone, share screen and leave stay
        for (const sel of ['.tb-hand', '.tb-panel']) assert.equal(await a.locator(sel).isVisible(), false, `${sel} hidden in a test call`);
        assert.equal(await a.locator('.panel').isVisible(), false, 'no side panel in a test call');
        assert.equal(await a.locator('.topbar .copy-link').count(), 0, 'no meeting link in a test call');
        for (const sel of ['.tb-mic', '.tb-cam', '.tb-share', '.tb-leave']) assert.ok(await a.locator(sel).isVisible(), `${sel} visible`);
    });

    step('the composite shows the caller\'s own camera (green) and the stage plays their own microphone', async () => {
        const a = h.pages.A;
        await videoPlays(h, 'A', 'video.composite', T);
        await h.until('composite shows the fake camera (mostly green)', () => compositeGreenShare(a), (g) => (g != null && g > 0.5) || `green share ${g}`, { timeout: T });
        await h.until('the stage plays the fake microphone\'s beeps', () => incomingAudioPeak(a), (p) => p > 0.02 || `peak ${p}`, { timeout: T });
        await h.shot('testcall');
        await noViolations(a, 'test call');
        await a.setViewportSize({ width: 390, height: 844 });
        await h.shot('testcall-phone');
        await a.setViewportSize({ width: 1280, height: 800 });
    });

    step('Leave: back home with the name kept and the address field as it was', async () => {
        const a = h.pages.A;
        await a.locator('.tb-leave').click();
        await a.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        assert.equal(await a.getByLabel('Your name').inputValue(), 'Tess Tester');
        assert.equal(await a.getByLabel('Meeting address').inputValue(), '');
    });

    step('branding testCallAlias → a 5 s test call as "Test call"; it ends with a friendly "Test call finished"', async () => {
        const a = h.pages.A;
        writePackage({ testCallAlias: SHORT });
        await a.goto(`${node.url}/webapp/home`);
        await a.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        await a.getByLabel('Your name').fill('');
        await a.getByLabel('Meeting address').fill('meet.open');
        await a.getByRole('button', { name: 'Test call' }).click();
        const ended = a.locator('.testcall-ended');
        await ended.waitFor({ timeout: T });
        assert.deepEqual(tokenRequests.at(-1), { alias: SHORT, name: 'Test call' });
        assert.equal(await ended.getByRole('heading').textContent(), 'Test call finished');
        assert.match(await ended.textContent(), /your camera and microphone are ready/);
        assert.equal(await a.locator('.error-card').count(), 0, 'not the error screen');
        assert.doesNotMatch(await a.locator('#app').textContent(), /#pex|Could not|failed/i);
        await h.shot('testcall-ended');
        await noViolations(a, 'test call finished');
        await a.setViewportSize({ width: 390, height: 844 });
        await h.shot('testcall-ended-phone');
        await a.setViewportSize({ width: 1280, height: 800 });
        await ended.getByRole('button', { name: 'Back to home' }).click();
        await a.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        assert.equal(await a.getByLabel('Meeting address').inputValue(), 'meet.open', 'the address typed before the test call');
    });

    step('branding testCallAlias "" hides "Test call"', async () => {
        const a = h.pages.A;
        writePackage({ testCallAlias: '' });
        await a.goto(`${node.url}/webapp/home`);
        await a.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        await h.until('branding applied', () => a.evaluate(() => document.documentElement.classList.contains('branded')), (v) => v === true || 'no branding yet', { timeout: T });
        await h.until('"Test call" hidden', () => a.locator('.test-call-box').isVisible(), (v) => v === false || 'still visible', { timeout: T });
        assert.equal(await a.getByRole('button', { name: 'Test call' }).count(), 0);
    });
});
