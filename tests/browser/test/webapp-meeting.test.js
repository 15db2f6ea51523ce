// End-to-end, meeting extras of the web app in headless Debian chromium against a fresh
// node:
//
//   1. Home screen: the speaker test plays its tone (Web Audio, to the chosen speaker).
//   2. Start media later: Bob joins meet.open audio only and presses "Start video"; Carol
//      joins for presentation and control only and presses "Start audio". Alice's roster
//      follows (audio-only / control-only labels go), Bob's composite plays.
//   3. Presentation view: Alice shares her screen at the 5 fps set in her settings; Bob switches to full motion (HD) and
//      opens the presentation in a separate window (Shift+P): the window plays it and the
//      stage says where it is; closing the window brings it back to the stage.
//   4. Settings and stats: the full-motion default is saved; the media stats overlay
//      shows codecs.
//   5. Host PIN later: Gus joins meet.pin as Guest (Hana is Host); a wrong Host PIN is
//      "not accepted"; 1234 on the keypad makes him Host (badge, host controls, and
//      Hana's roster); Hana makes him a Guest again from the roster.
//   6. The node shuts down: Gus's meeting ends with "Signaling node disconnected"
//      (#pex129) and a way home; joining again says the node is unreachable (#pex118).
//
// Artifacts: <repo>/target/browser-artifacts/webapp-meeting/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness, compositeState } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000;

let node;
let h;

before(async () => {
    node = await startNode({ name: 'browser-webapp-meeting' });
    h = await createWebappHarness({ name: 'webapp-meeting', node });
});

after(() => closeRun(h, node));

async function joinFromHome(p, { name, alias, how = 'Join with video' }) {
    const page = h.pages[p];
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel('Meeting address').fill(alias);
    await page.getByRole('button', { name: how, exact: true }).click();
    await page.locator('.screen.meeting').waitFor({ timeout: T });
}

/** The roster entry of `name` on page `p`: its sub-line text (role, call kind). */
const rosterSub = (p, name) => h.pages[p].locator('.roster .person', { hasText: name }).locator('.person-sub').textContent().catch(() => null);

describe('web app: speaker test, start media later, presentation window, settings, Host PIN (chromium)', () => {
    const step = stepper(() => h.shot('failed'));

    step('the speaker test plays a tone on the home screen', async () => {
        const a = await h.open('A');
        const tone = a.locator('.tone-btn');
        await tone.waitFor({ timeout: T });
        await tone.click();
        await h.until('A: the test tone played', () => tone.getAttribute('data-tone'), (v) => v === 'played' || `data-tone=${v}`, { timeout: T });
        await h.shot('home-speaker-test', 'A');
    });

    step('Bob joins audio only and starts video; Carol joins control only and starts audio', async () => {
        await joinFromHome('A', { name: 'Alice', alias: 'meet.open' });
        const b = await h.open('B');
        await joinFromHome('B', { name: 'Bob', alias: 'meet.open', how: 'Audio only' });
        await h.until('A sees Bob audio only', () => rosterSub('A', 'Bob'), (v) => /Audio only/.test(v || '') || `sub=${v}`, { timeout: T });
        assert.ok(!(await b.locator('.tb-cam').isVisible()), 'no camera button before video starts');
        await b.getByRole('button', { name: 'Start video' }).click();
        await b.locator('.tb-cam').waitFor({ state: 'visible', timeout: T });
        await h.until('A sees Bob with video', () => rosterSub('A', 'Bob'), (v) => (v !== null && !/Audio only|control only/i.test(v)) || `sub=${v}`, { timeout: T });
        await h.until('B: composite plays after starting video', () => compositeState(b), (s) => (s && s.width > 0 && s.frames > 3 && s.visible) || JSON.stringify(s), { timeout: T });
        assert.ok(await b.locator('.self-box video').isVisible(), 'Bob sees his self view');
        assert.ok(!(await b.getByRole('button', { name: 'Start video' }).isVisible()), 'Start video is gone');
        assert.ok(h.traffic.some((x) => x.page === 'B' && /\/calls\/[^/]+\/disconnect$/.test(x.path) && x.status === 200), 'B: the audio call was disconnected');
        assert.equal(h.traffic.filter((x) => x.page === 'B' && /\/participants\/[^/]+\/calls$/.test(x.path) && x.status === 200).length, 2, 'B placed two calls');

        const c = await h.open('C');
        await joinFromHome('C', { name: 'Carol', alias: 'meet.open', how: 'Presentation and control only' });
        await h.until('A sees Carol control only', () => rosterSub('A', 'Carol'), (v) => /control only/i.test(v || '') || `sub=${v}`, { timeout: T });
        await c.getByRole('button', { name: 'Start audio' }).click();
        await c.locator('.tb-mic').waitFor({ state: 'visible', timeout: T });
        await h.until('A sees Carol audio only', () => rosterSub('A', 'Carol'), (v) => /Audio only/.test(v || '') || `sub=${v}`, { timeout: T });
        assert.ok(await c.getByRole('button', { name: 'Start video' }).isVisible(), 'Carol can still start video');
        await h.shot('started-media');
        await c.close();
        delete h.pages.C;
    });

    step('Bob watches the presentation in full motion in a separate window (Shift+P) and brings it back', async () => {
        const a = h.pages.A;
        const b = h.pages.B;
        // screen-share frame rate from the settings (default 2 fps): 5
        await a.getByRole('button', { name: 'Settings' }).click();
        await a.getByLabel('Screen sharing frame rate').selectOption('5');
        await a.getByRole('button', { name: 'Save' }).click();
        await a.getByRole('button', { name: 'Share screen' }).click();
        assert.deepEqual(await a.evaluate(() => window.lastDisplayMediaConstraints?.video?.frameRate), { ideal: 5, max: 5 });
        await a.getByRole('button', { name: 'Stop sharing' }).waitFor({ timeout: T });
        await b.locator('.pres-box').waitFor({ state: 'visible', timeout: T });
        await b.locator('.pres-controls [data-pres="hd"]').click();
        assert.equal(await b.locator('.pres-controls [data-pres="hd"]').getAttribute('aria-pressed'), 'true');
        await h.until('B: presentation video plays', () => compositeState(b, 'video.presentation'), (s) => (s && s.visible && s.frames > 3) || JSON.stringify(s), { timeout: T });
        await b.locator('.tb-mic').focus();
        const [popup] = await Promise.all([b.waitForEvent('popup', { timeout: T }), b.keyboard.press('Shift+P')]);
        await h.until('popup: presentation frames advance', () => compositeState(popup, 'video.presentation'), (s) => (s && s.width > 0 && s.frames > 3) || JSON.stringify(s), { timeout: T });
        assert.match(await popup.title(), /Presentation · meet\.open/);
        await h.until('B: stage says the presentation is in its own window', () => b.locator('.stage-note').textContent(), (v) => /separate window/.test(v || '') || `note=${v}`, { timeout: T });
        assert.ok(!(await b.locator('.pres-box').isVisible()), 'the stage no longer shows the presentation');
        await popup.screenshot({ path: path.join(h.artifacts, 'presentation-window.png') });
        await h.shot('presentation-in-window', 'B');
        await popup.close();
        await h.until('B: presentation back on the stage', () => b.locator('.pres-box').isVisible(), (v) => v === true || 'pres-box hidden', { timeout: T });
        // open again with the button; it stays open (saying so) when the presentation ends
        const [again] = await Promise.all([b.waitForEvent('popup', { timeout: T }), b.locator('.pres-controls [data-pres="window"]').click()]);
        await a.getByRole('button', { name: 'Stop sharing' }).click();
        await h.until('popup: says no one presents', () => again.locator('.pres-window-note').textContent(), (v) => /No one is presenting/.test(v || '') || `note=${v}`, { timeout: T });
        b.presentationWindow = again;
    });

    step('settings keep the full-motion default; the media stats overlay shows codecs', async () => {
        const b = h.pages.B;
        await b.getByRole('button', { name: 'Settings' }).click();
        const hd = b.getByLabel('Show presentations in full motion (HD) by default');
        assert.equal(await hd.isChecked(), false, 'stills are the default');
        await hd.check();
        await b.getByRole('button', { name: 'Save' }).click();
        assert.equal(await b.evaluate(() => localStorage.getItem('plenum.presFullMotion')), 'true');
        await b.getByRole('button', { name: 'Media stats' }).click();
        await h.until('B: stats show codecs', () => b.locator('dialog[open]').textContent().catch(() => ''), (v) => (/opus/i.test(v) && /VP8/i.test(v)) || `stats=${(v || '').slice(0, 200)}`, { timeout: T });
        // bitrates need two samples; then they show what arrives
        await h.until('B: stats show a received bitrate', () => b.locator('dialog[open] .stats-table').textContent().catch(() => ''), (v) => /Bitrate[1-9]\d* kbps/.test(v) || `stats=${(v || '').slice(0, 200)}`, { timeout: T });
        await h.shot('media-stats', 'B');
        await b.keyboard.press('Escape');
        await b.locator('dialog[open]').waitFor({ state: 'detached', timeout: T });
    });

    step('Gus joins meet.pin as Guest and becomes Host with the Host PIN', async () => {
        // Bob leaves: his presentation window closes with the session
        const b = h.pages.B;
        await b.getByRole('button', { name: 'Leave' }).click();
        await b.getByRole('dialog').getByRole('button', { name: 'Leave' }).click();
        await b.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        await h.until('B: the presentation window closed on leaving', () => b.presentationWindow.isClosed(), (v) => v === true || 'still open', { timeout: T });
        await b.close();
        delete h.pages.B;
        const hana = await h.open('H', '/webapp/#/?conference=meet.pin&name=Hana&pin=1234');
        await hana.locator('.screen.meeting').waitFor({ timeout: T });
        const g = await h.open('G', '/webapp/#/?conference=meet.pin&name=Gus&role=guest&callType=audio');
        await g.locator('.screen.meeting').waitFor({ timeout: T });
        assert.equal(await g.locator('.badge-role').textContent(), 'Guest');
        assert.equal(await g.locator('[data-host="lock"]').count(), 0, 'a Guest has no host controls');

        await g.getByRole('button', { name: 'Enter Host PIN' }).click();
        await g.getByLabel('PIN', { exact: true }).fill('9999');
        await g.getByRole('button', { name: 'Become Host', exact: true }).click();
        await h.until('G: a wrong PIN is not accepted', () => g.locator('dialog[open] .form-error').textContent(), (v) => /not accepted/.test(v || '') || `error=${v}`, { timeout: T });
        assert.equal(await g.locator('.badge-role').textContent(), 'Guest');

        for (const k of ['1', '2', '3', '4']) await g.locator(`dialog[open] .keypad [data-key="${k}"]`).click();
        await g.getByRole('button', { name: 'Become Host', exact: true }).click();
        await h.until('G: now Host', () => g.locator('.badge-role').textContent(), (v) => v === 'Host' || `badge=${v}`, { timeout: T });
        await g.locator('[data-host="lock"]').waitFor({ timeout: T });
        await h.until('H: Gus is a Host in the roster', () => rosterSub('H', 'Gus'), (v) => /Host/.test(v || '') || `sub=${v}`, { timeout: T });
        const dtmf = h.traffic.filter((x) => x.page === 'G' && /\/participants\/[^/]+\/dtmf$/.test(x.path));
        assert.equal(dtmf.length, 2, 'two DTMF posts');
        await h.shot('guest-became-host', 'G');
        // and back: Hana makes him a Guest again from the roster's actions
        await hana.locator('.roster .person', { hasText: 'Gus' }).locator('[data-actions]').click();
        await hana.locator('[data-act="make-guest"]').click();
        await h.until('G: a Guest again', () => g.locator('.badge-role').textContent(), (v) => v === 'Guest' || `badge=${v}`, { timeout: T });
        await g.locator('[data-guest="hostpin"]').waitFor({ timeout: T });
        assert.equal(await g.locator('[data-host="lock"]').count(), 0, 'host controls gone');
    });

    step('the node shuts down: the meeting ends with "Signaling node disconnected" (#pex129); joining says unreachable (#pex118)', async () => {
        const g = h.pages.G;
        // the page itself stays loaded; the node shuts down (SIGTERM: it tells every
        // participant before it goes), then nothing answers any more
        await node.stop();
        await h.until('G: the meeting ends', () => g.locator('.error-card .error-reason').textContent().catch(() => null),
            (v) => /Signaling node disconnected · #pex129/.test(v || '') || `reason=${v}`, { timeout: T });
        await h.shot('node-gone', 'G');
        await g.getByRole('button', { name: 'Back to home' }).click();
        await g.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        await g.getByLabel('Meeting address').fill('meet.open');
        await g.getByRole('button', { name: 'Audio only', exact: true }).click();
        await h.until('G: the node is unreachable', () => g.locator('.error-card .error-reason').textContent().catch(() => null),
            (v) => /Could not reach the node · #pex118/.test(v || '') || `reason=${v}`, { timeout: T });
        assert.match(await g.locator('.error-message').textContent(), /could not be reached/);
        await h.shot('node-unreachable', 'G');
    });
});
