// End-to-end, the web app's everyday paths in a meeting, in headless Debian chromium (three
// fake cameras, three fake microphones and speakers) against a fresh node:
//
//   1. Alice and Bob join meet.open with video; Alice mutes her microphone.
//   2. Alice switches camera, microphone and speaker in the settings: her peer
//      connection's senders carry new tracks from the chosen devices (the old ones are
//      stopped), the connection is the same one and stays connected, no new call is
//      placed, the microphone stays muted, the self view and the stage's speaker follow,
//      the choice is remembered; Alice keeps sending frames and Bob keeps receiving them.
//      Unmuting afterwards enables the new microphone.
//   3. "Copy meeting link": the clipboard gets https://<host>/webapp/conference/meet.open
//      ("Link copied"); with the clipboard refused, a dialog shows the link selected.
//
// Artifacts: <repo>/target/browser-artifacts/webapp-devices/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness, compositeState } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000;

let node;
let h;

before(async () => {
    node = await startNode({ name: 'browser-webapp-devices' });
    h = await createWebappHarness({ name: 'webapp-devices', node, cameras: 3 });
});

after(() => closeRun(h, node));

async function joinFromHome(p, { name, alias }) {
    const page = h.pages[p];
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel('Meeting address').fill(alias);
    await page.getByRole('button', { name: 'Join with video', exact: true }).click();
    await page.locator('.screen.meeting').waitFor({ timeout: T });
}

/** Alice's peer connections and what their senders send (window.__peers, see lib/webapp.js). */
const peers = (page) => page.evaluate(() => (window.__peers || []).map((pc) => ({
    state: pc.connectionState,
    senders: pc.getSenders().filter((s) => s.track).map((s) => ({
        kind: s.track.kind, id: s.track.id, label: s.track.label, enabled: s.track.enabled,
        readyState: s.track.readyState, device: s.track.getSettings().deviceId,
    })),
})));

/** Frames and packets sent on the page's first peer connection (outbound-rtp). */
const sent = (page) => page.evaluate(async () => {
    const out = { video: 0, audio: 0 };
    (await window.__peers[0].getStats()).forEach((r) => {
        if (r.type !== 'outbound-rtp') return;
        if (r.kind === 'video') out.video += r.framesSent || 0;
        else out.audio += r.packetsSent || 0;
    });
    return out;
});

const callsPlaced = (p) => h.traffic.filter((x) => x.page === p && x.method === 'POST' && /\/participants\/[^/]+\/calls$/.test(x.path)).length;

describe('web app: switching devices in a call, copying the meeting link (chromium)', () => {
    const step = stepper(() => h.shot('failed'));

    step('Alice and Bob join meet.open; Alice mutes her microphone', async () => {
        const a = await h.open('A', '/webapp/home', { watchPeers: true, permissions: ['clipboard-read', 'clipboard-write'] });
        await joinFromHome('A', { name: 'Alice', alias: 'meet.open' });
        await h.open('B');
        await joinFromHome('B', { name: 'Bob', alias: 'meet.open' });
        await h.until('A: connected, sending audio and video', () => peers(a), (list) => (list.length === 1 && list[0].state === 'connected' && list[0].senders.length === 2) || JSON.stringify(list), { timeout: T });
        await h.until('B: composite plays', () => compositeState(h.pages.B), (s) => (s && s.width > 0 && s.frames > 3) || JSON.stringify(s), { timeout: T });
        await a.getByRole('button', { name: 'Mute microphone' }).click();
        await h.until('A: microphone muted', () => a.locator('.tb-mic').getAttribute('aria-pressed'), (v) => v === 'true' || `aria-pressed ${v}`, { timeout: T });
    });

    step('Alice switches camera, microphone and speaker: same connection, new tracks, still muted', async () => {
        const a = h.pages.A;
        const b = h.pages.B;
        const [before] = await peers(a);
        const oldVideo = before.senders.find((s) => s.kind === 'video');
        const oldAudio = before.senders.find((s) => s.kind === 'audio');
        assert.equal(oldAudio.enabled, false, 'the muted microphone sends nothing');
        const devices = await a.evaluate(async () => (await navigator.mediaDevices.enumerateDevices()).map((d) => ({ kind: d.kind, id: d.deviceId, label: d.label })));
        const other = (kind, current) => devices.find((d) => d.kind === kind && d.id !== current && d.id !== 'default');
        // fake_device_1 is chromium's depth camera, whose frames WebRTC cannot send (lib/webapp.js)
        const cam = devices.find((d) => d.kind === 'videoinput' && d.label === 'fake_device_2' && d.id !== oldVideo.device);
        const mic = other('audioinput', oldAudio.device);
        const spk = other('audiooutput', '');
        assert.ok(cam && mic && spk, `a second camera, microphone and speaker: ${JSON.stringify(devices)}`);
        const calls = callsPlaced('A');
        assert.equal(calls, 1);
        await a.evaluate(() => { window.__oldTracks = window.__peers[0].getSenders().map((s) => s.track).filter(Boolean); });

        await a.getByRole('button', { name: 'Settings' }).click();
        const dlg = a.getByRole('dialog', { name: 'Settings' });
        const camSel = dlg.getByLabel('Camera', { exact: true });
        // the lists are filled from enumerateDevices; the devices in use are selected
        await h.until('A: settings list the cameras', () => camSel.locator('option').count(), (n) => n >= 2 || `${n} options`, { timeout: T });
        assert.equal(await camSel.inputValue(), oldVideo.device, 'the camera in use is selected');
        assert.equal(await dlg.getByLabel('Microphone', { exact: true }).inputValue(), oldAudio.device, 'the microphone in use is selected');
        await camSel.selectOption(cam.id);
        await dlg.getByLabel('Microphone', { exact: true }).selectOption(mic.id);
        await dlg.getByLabel('Speaker', { exact: true }).selectOption(spk.id);
        await h.shot('settings-devices', 'A');
        await dlg.getByRole('button', { name: 'Save' }).click();

        const [after] = await h.until('A: the senders carry the new devices', () => peers(a),
            (list) => (list[0]?.senders.some((s) => s.kind === 'video' && s.device === cam.id) && list[0]?.senders.some((s) => s.kind === 'audio' && s.device === mic.id)) || JSON.stringify(list), { timeout: T });
        const newVideo = after.senders.find((s) => s.kind === 'video');
        const newAudio = after.senders.find((s) => s.kind === 'audio');
        assert.notEqual(newVideo.id, oldVideo.id, 'a new camera track');
        assert.notEqual(newAudio.id, oldAudio.id, 'a new microphone track');
        assert.equal(newVideo.label, cam.label);
        assert.equal(newAudio.label, mic.label);
        assert.equal(newAudio.enabled, false, 'the new microphone is muted like the old one');
        assert.equal(newVideo.enabled, true);
        assert.equal(await a.locator('.tb-mic').getAttribute('aria-pressed'), 'true', 'the toolbar still says muted');
        assert.deepEqual(await a.evaluate(() => window.__oldTracks.map((tr) => tr.readyState)), ['ended', 'ended'], 'the old tracks are stopped');
        const list = await peers(a);
        assert.equal(list.length, 1, 'no new peer connection');
        assert.equal(list[0].state, 'connected');
        assert.equal(callsPlaced('A'), calls, 'no new call placed');
        assert.equal(await a.evaluate(() => document.querySelector('.self-box video')?.srcObject?.getVideoTracks()[0]?.label), cam.label, 'the self view shows the new camera');
        await h.until('A: the stage plays to the chosen speaker', () => a.evaluate(() => document.querySelector('.stage audio')?.sinkId), (v) => v === spk.id || `sinkId ${v}`, { timeout: T });
        assert.deepEqual(await a.evaluate(() => ['camera', 'microphone', 'speaker'].map((k) => localStorage.getItem(`plenum.${k}`))), [cam.id, mic.id, spk.id], 'the choice is remembered');
        await h.until('A: toast names the new camera', () => a.locator('.toast').allTextContents(), (v) => v.some((x) => x === `Camera: ${cam.label}`) || JSON.stringify(v), { timeout: T });

        // media keeps flowing: Alice sends new frames and audio packets, Bob's picture moves
        const sentBefore = await sent(a);
        const bBefore = await compositeState(b);
        await h.until('A: frames and packets keep going out', () => sent(a), (s) => (s.video > sentBefore.video + 10 && s.audio > sentBefore.audio + 10) || JSON.stringify({ sentBefore, s }), { timeout: T });
        await h.until('B: still receives frames', () => compositeState(b), (s) => (s && s.frames > bBefore.frames + 10) || JSON.stringify({ bBefore, s }), { timeout: T });
        assert.equal((await peers(a))[0].state, 'connected');
        await h.shot('switched-devices');

        await a.getByRole('button', { name: 'Unmute microphone' }).click();
        await h.until('A: the new microphone sends', () => peers(a), (l) => l[0]?.senders.find((s) => s.kind === 'audio')?.enabled === true || JSON.stringify(l), { timeout: T });
        assert.equal((await peers(a))[0].senders.find((s) => s.kind === 'audio').device, mic.id);
    });

    step('copy meeting link: to the clipboard, else a dialog with the link selected', async () => {
        const a = h.pages.A;
        const link = `${new URL(node.url).origin}/webapp/conference/meet.open`;
        await a.getByRole('button', { name: 'Copy meeting link' }).click();
        await h.until('A: "Link copied"', () => a.locator('.toast').allTextContents(), (v) => v.includes('Link copied') || JSON.stringify(v), { timeout: T });
        assert.equal(await a.evaluate(() => navigator.clipboard.readText()), link);
        await h.shot('link-copied', 'A');

        // the clipboard refused: the link in a dialog, selected, for Ctrl+C
        await a.evaluate(() => { navigator.clipboard.writeText = () => Promise.reject(new DOMException('refused', 'NotAllowedError')); });
        await a.getByRole('button', { name: 'Copy meeting link' }).click();
        const dlg = a.getByRole('dialog', { name: 'Meeting link' });
        await dlg.waitFor({ timeout: T });
        const box = dlg.getByLabel('Link to this meeting');
        assert.equal(await box.inputValue(), link);
        assert.deepEqual(await box.evaluate((el) => [document.activeElement === el, el.selectionStart, el.selectionEnd, el.readOnly]), [true, 0, link.length, true], 'focused, all selected, read-only');
        await h.shot('link-dialog', 'A');
        await dlg.getByRole('button', { name: 'Close' }).click();
        await dlg.waitFor({ state: 'detached', timeout: T });
    });

    step('no page errors and no CSP violations', async () => {
        const bad = h.consoleLog.filter((l) => /pageerror|Content Security Policy|Refused to/.test(l));
        assert.deepEqual(bad, []);
    });
});
