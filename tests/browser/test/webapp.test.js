// End-to-end: the web app (webapp-static/, served at /webapp/… on the node's origin) in
// headless Debian chromium with fake camera and microphone, against a fresh plenum node.
// No SDK here: the app's own client (webapp-static/assets/client.js) does the REST
// calls, the event stream and the WebRTC call.
//
//   1. Alice and Bob join meet.open from /webapp/home by typing their names: both see
//      two participants and a playing composite (size > 0, frames advancing).
//   1b. Bob hears Alice (the stage's audio carries sound), silence while she is muted.
//   2. Chat both ways; "<b>x</b>" arrives as literal text.
//   3. Alice (Host) locks through the UI: Bob's page shows the meeting locked; unlocks.
//   3b. Alice shares her screen: Bob sees it as stills first (the default), then in full
//       motion after pressing HD; swap; Alice stops.
//   4. Dora tries meet.pin with a wrong PIN: "Invalid PIN" and #pex101; tries again and
//      joins as Guest: "Waiting for the Host", with the room theme's splash screen; leaves.
//   4b. Dora calls the Virtual Reception: a wrong extension → its message and #pex117;
//      extension 1001 → she is in meet.open; leaves.
//   5. Carol follows /webapp/#/?conference=meet.open&name=Carol: straight into the
//      meeting, and the address bar loses the parameters.
//   6. Carol leaves (confirm dialog): back on the home screen; the others see 2 again.
//   7. Sound and view: Carol's home screen has the microphone meter (and a speaker choice
//      where setSinkId exists); Alice's stage has incoming volume, mute, full screen
//      (entered and left) and picture-in-picture where supported.
//
// Artifacts: <repo>/target/browser-artifacts/webapp/ — a screenshot of each screen,
// api-traffic.json, console.log, node.log.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness, compositeState, incomingAudioPeak, videoPlays } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000; // generous: two loaded cores run the node and three browsers' codecs

let node;
let h;

before(async () => {
    node = await startNode({ name: 'browser-webapp' });
    h = await createWebappHarness({ name: 'webapp', node });
});

after(() => closeRun(h, node));

const rosterCount = (p) => h.pages[p].locator('.roster .person:not(.waiting)').count();

/** Fills the home form and presses "Join with video". */
async function joinFromHome(p, { name, alias }) {
    const page = h.pages[p];
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel('Meeting address').fill(alias);
    await page.getByRole('button', { name: 'Join with video' }).click();
}

async function waitMeeting(p) {
    await h.pages[p].locator('.screen.meeting').waitFor({ timeout: T });
}

/** The composite plays: a picture, and frames keep coming. */
const compositePlays = (p) => videoPlays(h, p, 'video.composite', T);

async function openChat(p) {
    const page = h.pages[p];
    const tab = page.getByRole('tab', { name: /Chat/ });
    if ((await tab.getAttribute('aria-selected')) !== 'true') await tab.click();
}

async function sendChat(p, text) {
    await openChat(p);
    const page = h.pages[p];
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
}

describe('web app: join, chat, host lock, PIN errors, links, leave (chromium)', () => {
    const step = stepper(() => h.shot('failed'));

    step('Alice and Bob join meet.open from /webapp/home and see each other in a playing composite', async () => {
        const a = await h.open('A');
        await a.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        // the live self-preview starts (fake camera)
        await h.until('A: self-preview plays', () => a.evaluate(() => document.querySelector('.preview-video')?.videoWidth || 0), (w) => w > 0 || 'no preview picture', { timeout: T });
        await h.shot('home', 'A');
        await joinFromHome('A', { name: 'Alice', alias: 'meet.open' });
        await waitMeeting('A');
        await h.open('B');
        await joinFromHome('B', { name: 'Bob', alias: 'meet.open' });
        await waitMeeting('B');
        for (const p of ['A', 'B']) {
            await h.until(`${p}: 2 participants in the roster`, () => rosterCount(p), (n) => n === 2 || `${n} participants`, { timeout: T });
        }
        const sa = await compositePlays('A');
        const sb = await compositePlays('B');
        assert.ok(sa.width >= 160 && sb.width >= 160, `composite sizes ${sa.width}x${sa.height}, ${sb.width}x${sb.height}`);
        // the name is remembered for next time
        assert.equal(await h.pages.A.evaluate(() => localStorage.getItem('plenum.name')), 'Alice');
        await h.shot('meeting');
    });

    step('Bob hears Alice: sound while she talks, silence while she is muted', async () => {
        const hears = (what, check) => h.until(what, () => incomingAudioPeak(h.pages.B, 1500), check, { timeout: T });
        await hears('B hears Alice', (p) => p > 0.02 || `peak ${p}`);
        await h.pages.A.locator('.tb-mic').click();
        await hears('B hears silence while Alice is muted', (p) => (p >= 0 && p < 0.005) || `peak ${p}`);
        await h.pages.A.locator('.tb-mic').click();
        await hears('B hears Alice again', (p) => p > 0.02 || `peak ${p}`);
    });

    step('chat: A → B and B → A; markup arrives as literal text', async () => {
        await sendChat('A', 'Hello Bob, see https://example.org/agenda');
        await h.until('B receives A\'s message', () => h.pages.B.locator('.chat-list .msg:not(.mine) .msg-text').allTextContents(), (l) => l.includes('Hello Bob, see https://example.org/agenda') || `B has ${JSON.stringify(l)}`, { timeout: T });
        await openChat('B');
        const link = h.pages.B.locator('.chat-list .msg-text a');
        assert.equal(await link.getAttribute('href'), 'https://example.org/agenda');
        assert.match(await link.getAttribute('rel'), /noopener/);
        await sendChat('B', '<b>x</b>');
        await h.until('A receives B\'s message as text', () => h.pages.A.locator('.chat-list .msg:not(.mine) .msg-text').allTextContents(), (l) => l.includes('<b>x</b>') || `A has ${JSON.stringify(l)}`, { timeout: T });
        assert.equal(await h.pages.A.locator('.chat-list .msg-text b').count(), 0, 'chat text must never become markup');
        await h.shot('chat');
    });

    step('Alice locks the meeting from the host controls: Bob sees it locked; Alice unlocks', async () => {
        const a = h.pages.A;
        await a.getByRole('tab', { name: /Participants/ }).click();
        await a.getByRole('button', { name: 'Lock meeting' }).click();
        await h.until('B shows locked', () => h.pages.B.locator('.topbar [data-locked]').getAttribute('data-locked'), (v) => v === 'true' || `data-locked=${v}`, { timeout: T });
        assert.match(await h.pages.B.locator('.topbar [data-locked]').textContent(), /Locked/);
        await h.shot('locked');
        await a.getByRole('button', { name: 'Unlock meeting' }).click();
        await h.until('B shows unlocked', () => h.pages.B.locator('.topbar [data-locked]').getAttribute('data-locked'), (v) => v === 'false' || `data-locked=${v}`, { timeout: T });
    });

    step('Alice shares her screen: Bob sees the presentation large with the composite as a thumbnail; Alice stops', async () => {
        const a = h.pages.A;
        const b = h.pages.B;
        await a.getByRole('button', { name: 'Share screen' }).click();
        await a.getByRole('button', { name: 'Stop sharing' }).waitFor({ timeout: T });
        // stills by default (behavior.md §5): JPEG snapshots announced by presentation_frame
        await h.until('B: a presentation still is shown', () => b.evaluate(() => {
            const img = document.querySelector('.pres-box img.presentation-still');
            return img && { visible: !!img.offsetParent, width: img.naturalWidth, src: img.getAttribute('src') || '' };
        }), (s) => (s && s.visible && s.width > 0 && /presentation(_high)?\.jpeg\?id=/.test(s.src)) || JSON.stringify(s), { timeout: T });
        assert.ok(!(await b.locator('video.presentation').isVisible()), 'no presentation video in stills mode');
        await h.shot('presentation-still', 'B');
        // HD: full-motion video on the slides line
        await b.locator('.pres-controls [data-pres="hd"]').click();
        await h.until('B: presentation frames arrive', () => compositeState(b, 'video.presentation'), (s) => {
            if (!s) return 'no presentation element';
            return (s.visible && s.width > 0 && s.frames > 3) || `visible ${s.visible}, ${s.width}x${s.height}, frames ${s.frames}`;
        }, { timeout: T });
        assert.match(await b.locator('.pres-caption').textContent(), /Alice is presenting/);
        assert.ok(await b.locator('.composite-box.thumb').isVisible(), 'the composite became a thumbnail');
        await h.until('B roster shows Alice presenting', () => b.locator('.person', { hasText: 'Alice' }).locator('[aria-label="Presenting"]').count(), (n) => n === 1 || 'no presenting flag', { timeout: T });
        await h.shot('presentation', 'B');
        await h.shot('presenting', 'A');
        // swap on click: the composite becomes large again
        await b.locator('.composite-box.thumb').click();
        assert.ok(await b.locator('.pres-box.thumb').isVisible(), 'swapped: presentation is the thumbnail');
        await a.getByRole('button', { name: 'Stop sharing' }).click();
        await h.until('B: presentation gone', () => b.locator('.pres-box').isVisible(), (v) => v === false || 'presentation still shown', { timeout: T });
        await compositePlays('B');
        assert.ok(h.traffic.some((x) => x.page === 'A' && x.path.endsWith('/take_floor') && x.status === 200), 'A: take_floor 200');
        // Bob can see the stop before Alice's page has the answer to its release_floor: wait for it.
        await h.until('A: release_floor 200', () => h.traffic.some((x) => x.page === 'A' && x.path.endsWith('/release_floor') && x.status === 200), (v) => v || 'no answer yet', { timeout: T });
        assert.ok(h.traffic.some((x) => x.page === 'A' && x.path.endsWith('/update') && x.status === 200), 'A: update 200');
    });

    step('Alice picks layout 1:7 from the layout picker (previews from layout_svgs)', async () => {
        const a = h.pages.A;
        await a.getByRole('button', { name: 'Layout' }).click();
        const dlg = a.getByRole('dialog');
        await dlg.waitFor({ timeout: T });
        await h.until('layout previews loaded', () => dlg.locator('img').evaluateAll((imgs) => imgs.map((i) => i.naturalWidth)), (w) => (w.length >= 3 && w.every((x) => x > 0)) || `preview widths ${JSON.stringify(w)}`, { timeout: T });
        await h.shot('layout-picker', 'A');
        await dlg.locator('[data-layout="1:7"]').click();
        await h.until('transform_layout answered', async () => h.traffic.filter((x) => x.page === 'A' && x.path.endsWith('/transform_layout')), (l) => (l.length === 1 && l[0].status === 200) || JSON.stringify(l), { timeout: T });
    });

    step('meet.pin: a wrong PIN shows "Invalid PIN" and #pex101; joining as Guest waits for the Host', async () => {
        const d = await h.open('D');
        await joinFromHome('D', { name: 'Dora', alias: 'meet.pin' });
        const pin = d.getByLabel('PIN', { exact: true });
        await pin.waitFor({ timeout: T });
        assert.ok(await d.getByRole('button', { name: 'Join as Guest' }).isVisible(), 'guests allowed without PIN: "Join as Guest" offered');
        await h.shot('pin', 'D');
        await pin.fill('9999#');
        await d.getByRole('button', { name: 'Join', exact: true }).click();
        const alert = d.locator('.error-card');
        await alert.waitFor({ timeout: T });
        const text = await alert.textContent();
        assert.match(text, /Invalid PIN/);
        assert.match(text, /#pex101/);
        assert.ok(await d.getByRole('button', { name: 'Back to home' }).isVisible());
        await h.shot('invalid-pin', 'D');
        await d.getByRole('button', { name: 'Try again' }).click();
        await d.getByLabel('PIN', { exact: true }).waitFor({ timeout: T });
        await d.getByRole('button', { name: 'Join as Guest' }).click();
        await d.getByRole('heading', { name: 'Waiting for the Host' }).waitFor({ timeout: T });
        // meet.pin has a room theme (config/themes/example): its waiting-for-the-host screen
        await h.until('D: the room theme\'s splash screen shows', () => d.evaluate(() => {
            const el = document.querySelector('.theme-screen[data-theme-screen="direct_media_waiting_for_host"]');
            const img = el?.querySelector('img.theme-bg');
            return el && { text: el.textContent, image: img?.naturalWidth || 0, color: getComputedStyle(el.querySelector('.theme-text')).color };
        }), (v) => (v && /Waiting for the host/.test(v.text) && v.image > 0 && v.color === 'rgb(255, 255, 255)') || JSON.stringify(v), { timeout: T });
        await h.shot('waiting-for-host', 'D');
        await d.getByRole('button', { name: 'Leave' }).click();
        await d.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
    });

    step('an unknown alias gets its message and #pex154', async () => {
        const d = h.pages.D;
        await joinFromHome('D', { name: 'Dora', alias: 'no.such.room' });
        const alert = d.locator('.error-card');
        await alert.waitFor({ timeout: T });
        const text = await alert.textContent();
        assert.match(text, /no meeting with that address/);
        assert.match(text, /#pex154/);
        await h.shot('unknown-alias', 'D');
        await d.getByRole('button', { name: 'Back to home' }).click();
        await d.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
    });

    step('Virtual Reception: a wrong extension gets its message and #pex code; 1001 leads into meet.open', async () => {
        const d = h.pages.D;
        await joinFromHome('D', { name: 'Dora', alias: 'reception' });
        const ext = d.getByLabel('Meeting number');
        await ext.waitFor({ timeout: T });
        assert.equal(await ext.getAttribute('inputmode'), 'numeric');
        await h.shot('reception', 'D');
        await ext.fill('4242');
        await d.getByRole('button', { name: 'Continue' }).click();
        const alert = d.locator('.error-card');
        await alert.waitFor({ timeout: T });
        const text = await alert.textContent();
        assert.match(text, /Conference extension not found/);
        assert.match(text, /#pex117/);
        await h.shot('reception-wrong', 'D');
        await d.getByRole('button', { name: 'Back to home' }).click();
        await joinFromHome('D', { name: 'Dora', alias: 'reception' });
        await d.getByLabel('Meeting number').fill('1001');
        await d.getByRole('button', { name: 'Continue' }).click();
        await waitMeeting('D');
        const body = h.traffic.filter((x) => x.page === 'D' && x.path.endsWith('/request_token'));
        assert.ok(body.some((x) => x.status === 200), `a 200 request_token: ${JSON.stringify(body)}`);
        for (const p of ['A', 'B', 'D']) {
            await h.until(`${p}: 3 participants with Dora`, () => rosterCount(p), (n) => n === 3 || `${n} participants`, { timeout: T });
        }
        await h.shot('reception-in', 'D');
        await d.getByRole('button', { name: 'Leave' }).click();
        await d.getByRole('dialog').getByRole('button', { name: 'Leave' }).click();
        await d.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        for (const p of ['A', 'B']) {
            await h.until(`${p}: 2 participants after Dora left`, () => rosterCount(p), (n) => n === 2 || `${n} participants`, { timeout: T });
        }
    });

    step('Carol follows a /webapp/#/?conference=…&name=… link: straight in, parameters gone from the address bar', async () => {
        const c = await h.open('C', '/webapp/#/?conference=meet.open&name=Carol');
        await waitMeeting('C');
        assert.doesNotMatch(c.url(), /conference=|name=/, `address bar still has the parameters: ${c.url()}`);
        for (const p of ['A', 'B', 'C']) {
            await h.until(`${p}: 3 participants`, () => rosterCount(p), (n) => n === 3 || `${n} participants`, { timeout: T });
        }
        await compositePlays('C');
        await h.shot('three', 'C');
    });

    step('Carol disconnects (with confirm) and is back on the home screen; the others see 2', async () => {
        const c = h.pages.C;
        await c.getByRole('button', { name: 'Leave' }).click();
        const dlg = c.getByRole('dialog');
        await dlg.waitFor({ timeout: T });
        await h.shot('leave-confirm', 'C');
        await dlg.getByRole('button', { name: 'Leave' }).click();
        await c.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        for (const p of ['A', 'B']) {
            await h.until(`${p}: 2 participants after Carol left`, () => rosterCount(p), (n) => n === 2 || `${n} participants`, { timeout: T });
        }
        // Carol hung up properly: call disconnect and release_token answered 200
        // (responses are recorded as they arrive, possibly after the home screen shows)
        await h.until('C: call disconnect 200', () => h.traffic.some((x) => x.page === 'C' && /\/calls\/[^/]+\/disconnect$/.test(x.path) && x.status === 200), (ok) => ok || 'not yet', { timeout: T });
        await h.until('C: release_token 200', () => h.traffic.some((x) => x.page === 'C' && x.path.endsWith('/release_token') && x.status === 200), (ok) => ok || 'not yet', { timeout: T });
        await h.shot('home-after-leave', 'C');
    });

    step('sound and view: home has a microphone meter (and speaker choice where setSinkId exists); the stage has volume, mute, full screen, picture-in-picture', async () => {
        const c = h.pages.C;
        await c.locator('meter.mic-level').waitFor({ timeout: T });
        const home = await c.evaluate(() => ({ sink: 'setSinkId' in HTMLMediaElement.prototype, speaker: !!document.querySelector('select#speaker') }));
        assert.equal(home.speaker, home.sink, `speaker choice shown iff setSinkId: ${JSON.stringify(home)}`);
        await c.getByLabel('Your name').click(); // a user gesture lets the audio context run
        await h.shot('home-meter', 'C');
        const a = h.pages.A;
        const bar = a.getByRole('group', { name: 'Sound and view' });
        await bar.waitFor({ timeout: T });
        await bar.getByRole('slider', { name: 'Incoming volume' }).fill('40');
        await h.until('A: audio volume 0.4', () => a.evaluate(() => document.querySelector('.stage audio').volume), (v) => Math.abs(v - 0.4) < 0.01 || `volume ${v}`, { timeout: T });
        await bar.getByRole('button', { name: 'Mute incoming sound' }).click();
        assert.equal(await a.evaluate(() => document.querySelector('.stage audio').muted), true);
        await bar.getByRole('button', { name: 'Unmute incoming sound' }).click();
        assert.equal(await a.evaluate(() => document.querySelector('.stage audio').muted), false);
        const feat = await a.evaluate(() => ({ fs: document.fullscreenEnabled, pip: !!document.pictureInPictureEnabled, fsBtn: !!document.querySelector('[data-media="fullscreen"]'), pipBtn: !!document.querySelector('[data-media="pip"]') }));
        assert.equal(feat.fsBtn, feat.fs, `full screen button iff supported: ${JSON.stringify(feat)}`);
        assert.equal(feat.pipBtn, feat.pip, `picture-in-picture button iff supported: ${JSON.stringify(feat)}`);
        if (feat.fs) {
            await bar.getByRole('button', { name: 'Full screen' }).click();
            await h.until('A: stage full screen', () => a.evaluate(() => document.fullscreenElement?.className || null), (v) => /stage/.test(v || '') || `fullscreenElement ${v}`, { timeout: T });
            await h.shot('fullscreen', 'A');
            await bar.getByRole('button', { name: 'Exit full screen' }).click();
            await h.until('A: full screen left', () => a.evaluate(() => !!document.fullscreenElement), (v) => v === false || 'still full screen', { timeout: T });
        }
        await bar.getByRole('slider', { name: 'Incoming volume' }).fill('100');
        await h.shot('media-bar', 'A');
    });

    step('phone width: the side panel sits below the video', async () => {
        const p = await h.open('P', '/webapp/#/?conference=meet.open&name=Pat&callType=audioonly', { viewport: { width: 390, height: 844 } });
        await waitMeeting('P');
        await h.until('P: 3 participants', () => rosterCount('P'), (n) => n === 3 || `${n} participants`, { timeout: T });
        // narrow screens start with the panel closed; the toolbar opens it below the video
        await p.getByRole('button', { name: 'People and chat' }).click();
        await p.locator('.panel').waitFor({ timeout: T });
        const [stage, panel] = await Promise.all([p.locator('.stage').boundingBox(), p.locator('.panel').boundingBox()]);
        assert.ok(panel.y >= stage.y + stage.height - 1, `panel (y ${panel.y}) below the stage (bottom ${stage.y + stage.height})`);
        await h.shot('phone', 'P');
        await p.getByRole('button', { name: 'Leave' }).click();
        await p.getByRole('dialog').getByRole('button', { name: 'Leave' }).click();
        await p.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
    });

    step('no page errors and no CSP violations', async () => {
        const bad = h.consoleLog.filter((l) => /pageerror|Content Security Policy|Refused to/.test(l));
        assert.deepEqual(bad, []);
    });
});
