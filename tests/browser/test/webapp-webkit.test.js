// The web app in WebKitGTK — the engine Safari is built on — with a Chromium participant
// in the same meeting, against a fresh node. WebKitGTK is Debian's MiniBrowser driven by
// WebKitWebDriver (W3C WebDriver classic, lib/webkit.js) on its own Xvfb display, with
// WebKit's mock camera and microphone.
//
//   Walter (WebKitGTK) and Carl (Chromium) join meet.open by link (straight in, camera
//   and microphone): both rosters show 2 people, both composites play (a picture, and
//   frames keep coming).
//
// Before anything starts, `webkitAvailable()` probes WebKitGTK once on a local page
// (getUserMedia with the mock devices, RTCPeerConnection.createOffer with the tracks).
// When it cannot take part in a call the test is SKIPPED with the probe's exact error —
// on Debian 12 (WebKitGTK 2.50.6): no RTCPeerConnection at all (see README.md).
//
// Artifacts: <repo>/target/browser-artifacts/webapp-webkit/ — screenshots of both pages,
// webkit-probe.json, webkit-output.log (WebKitWebDriver's and MiniBrowser's stdout/stderr),
// console.log / api-traffic.json (Chromium), node.log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness, compositeState } from '../lib/webapp.js';
import { launchWebKit, sdpCodecs, webkitAvailable } from '../lib/webkit.js';
import { REPO, sleep } from '../lib/media.js';

const T = 90000; // generous: two loaded cores run the node, two browsers and Xvfb

/** Polls `probe()` until `check(v)` is true (a string says what is still missing). */
async function until(what, probe, check, { timeout = T, interval = 500, onTimeout } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
        let last;
        let why;
        try {
            last = await probe();
            const v = check(last);
            why = v === true ? null : v || 'condition not met';
        } catch (e) {
            why = `probe failed: ${e.message}`;
        }
        if (!why) return last;
        if (Date.now() > deadline) {
            await onTimeout?.();
            assert.fail(`timed out after ${timeout} ms waiting for: ${what}\nstill: ${why}\nlast: ${JSON.stringify(last)?.slice(0, 2000)}`);
        }
        await sleep(interval);
    }
}

/** The composite (or `selector`) in a WebKit session: size and decoded frames. */
function webkitVideoState(session, selector = 'video.composite') {
    return session.execute((sel) => {
        const v = document.querySelector(sel);
        if (!v) return null;
        const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
        const frames = Math.max(q ? q.totalVideoFrames : 0, v.webkitDecodedFrameCount || 0);
        return { width: v.videoWidth, height: v.videoHeight, frames, time: v.currentTime, paused: v.paused, visible: !!v.offsetParent };
    }, selector);
}

test('web app in WebKitGTK (Safari engine) with a Chromium participant: both join with camera and microphone and see each other', async (t) => {
    const artifacts = path.join(REPO, 'target/browser-artifacts/webapp-webkit');
    const available = await webkitAvailable();
    fs.mkdirSync(artifacts, { recursive: true });
    fs.writeFileSync(path.join(artifacts, 'webkit-probe.json'), JSON.stringify(available, null, 1));
    if (!available.ok) {
        t.diagnostic(`WebKitGTK: ${available.reason}`);
        t.skip(available.reason);
        return;
    }
    t.diagnostic(`WebKitGTK ${available.details.browser}: offer codecs ${JSON.stringify(available.details.offerCodecs)}`);

    let node;
    let h;
    let wk;
    let walter;
    let shotNo = 0;
    const shotWebKit = async (label) => {
        shotNo++;
        await walter?.screenshot(path.join(h.artifacts, `${String(shotNo).padStart(2, '0')}-${label}-W.png`)).catch(() => {});
    };
    const shotAll = async (label) => {
        await shotWebKit(label);
        await h.shot(label);
    };
    try {
        node = await startNode({ name: 'browser-webapp-webkit' });
        h = await createWebappHarness({ name: 'webapp-webkit', node, browser: 'chromium' });
        fs.writeFileSync(path.join(h.artifacts, 'webkit-probe.json'), JSON.stringify(available, null, 1));
        // the web app is served by the node itself here (WebDriver classic has no request interception)
        assert.ok(h.servedByNode, 'the node serves /webapp/ (needed: WebKit pages cannot be routed)');

        wk = await launchWebKit();
        walter = await wk.newSession();
        await walter.setWindowRect({ width: 1280, height: 860 }).catch(() => {});
        const roster = {
            W: () => walter.execute(() => [...document.querySelectorAll('.roster .person:not(.waiting)')].map((e) => e.textContent)),
            C: () => h.pages.C.evaluate(() => [...document.querySelectorAll('.roster .person:not(.waiting)')].map((e) => e.textContent)),
        };
        const timeoutShots = () => shotAll('timeout');

        await walter.navigate(`${node.url}/webapp/#/?conference=meet.open&name=Walter%20WebKit`);
        const joined = await until('W: in the meeting (or an error screen)', () => walter.execute(() => {
            const card = document.querySelector('.error-card');
            return { meeting: !!document.querySelector('.screen.meeting'), error: card ? card.innerText.replace(/\s+/g, ' ').trim() : null };
        }), (v) => v.meeting || !!v.error || 'neither the meeting nor an error screen', { onTimeout: timeoutShots });
        if (joined.error) {
            await shotWebKit('join-error');
            assert.fail(`WebKit could not join: ${joined.error} (offer SDP of the probe: ${JSON.stringify(available.details.offerSdp)}; see node.log)`);
        }
        await h.open('C', '/webapp/#/?conference=meet.open&name=Carl%20Chromium');
        await h.pages.C.locator('.screen.meeting').waitFor({ timeout: T });
        for (const p of ['W', 'C']) {
            await until(`${p}: 2 participants in the roster`, roster[p], (l) => l.length === 2 || JSON.stringify(l), { onTimeout: timeoutShots });
        }

        // Walter's composite plays
        const w0 = await until('W: composite has a picture', () => webkitVideoState(walter), (s) => {
            if (!s) return 'no video.composite element';
            return (s.width > 0 && s.frames > 0) || `videoWidth ${s.width}, frames ${s.frames}, paused ${s.paused}`;
        }, { onTimeout: timeoutShots });
        await until('W: composite frames advance', () => webkitVideoState(walter), (s) => s.frames > w0.frames + 5 || `frames ${s.frames} (was ${w0.frames})`, { onTimeout: timeoutShots });

        // Carl's composite plays
        const c0 = await until('C: composite has a picture', () => compositeState(h.pages.C), (s) => {
            if (!s) return 'no video.composite element';
            return (s.width > 0 && s.frames > 0) || `videoWidth ${s.width}, frames ${s.frames}`;
        }, { onTimeout: timeoutShots });
        await until('C: composite frames advance', () => compositeState(h.pages.C), (s) => s.frames > c0.frames + 5 || `frames ${s.frames} (was ${c0.frames})`, { onTimeout: timeoutShots });

        // Walter sends video: Carl's roster does not show him as an audio-only call
        const walterRow = (await roster.C()).find((text) => /Walter/.test(text)) || '';
        assert.doesNotMatch(walterRow, /Audio only/, `Walter is not shown as an audio-only call: ${walterRow}`);
        t.diagnostic(`composites: WebKit ${w0.width}x${w0.height}, Chromium ${c0.width}x${c0.height}; offer codecs ${JSON.stringify(sdpCodecs(available.details.offerSdp))}`);
        await shotAll('joined');
    } catch (e) {
        await shotAll('failed').catch(() => {});
        throw e;
    } finally {
        await walter?.delete().catch(() => {});
        if (h) fs.writeFileSync(path.join(h.artifacts, 'webkit-output.log'), wk?.output() ?? '');
        await wk?.close();
        await closeRun(h, node);
    }
});

// A browser without WebRTC — WebKitGTK on Debian 12 is one — is told so plainly instead of
// a generic failure: the meeting link ends on #pex170 with what to do; the home screen says
// it up front with only "join without audio and video" enabled, and that join works (the
// roster shows the person, no call is placed).
test('web app in a browser without WebRTC (WebKitGTK where it has none): says so, and the join without audio and video works', async (t) => {
    const available = await webkitAvailable();
    if (available.details?.typeofRTCPeerConnection !== 'undefined') {
        const why = available.details?.typeofRTCPeerConnection
            ? 'this WebKitGTK has WebRTC (the test above covers it)'
            : `WebKitGTK could not be probed: ${available.reason}`;
        t.skip(why);
        return;
    }
    const artifacts = path.join(REPO, 'target/browser-artifacts/webapp-webkit-no-webrtc');
    fs.mkdirSync(artifacts, { recursive: true });
    let node;
    let wk;
    let walter;
    const shot = (label) => walter?.screenshot(path.join(artifacts, `${label}.png`)).catch(() => {});
    try {
        node = await startNode({ name: 'browser-webapp-webkit-no-webrtc' });
        wk = await launchWebKit();
        walter = await wk.newSession();
        await walter.setWindowRect({ width: 1280, height: 860 }).catch(() => {});

        // 1. a meeting link: the error screen names the browser as the problem, #pex170
        await walter.navigate(`${node.url}/webapp/#/?conference=meet.open&name=Walter%20WebKit`);
        const error = await until('W: the error screen', () => walter.execute(() => {
            const card = document.querySelector('.error-card');
            return card ? { text: card.innerText.replace(/\s+/g, ' ').trim(), pex: card.querySelector('.pex')?.textContent } : null;
        }), (v) => !!v || 'no error screen yet', { onTimeout: () => shot('timeout-link') });
        await shot('01-link-error');
        assert.equal(error.pex, '#pex170', `the code for "no WebRTC": ${error.text}`);
        assert.match(error.text, /no WebRTC/, error.text);
        assert.match(error.text, /join without audio and video/, error.text);

        // 2. the home screen: the notice, only the join without audio and video enabled
        await walter.navigate(`${node.url}/webapp/home`);
        const home = await until('W: the home screen with its notice', () => walter.execute(() => {
            const notice = document.querySelector('.no-webrtc');
            if (!notice) return null;
            const buttons = Object.fromEntries([...document.querySelectorAll('[data-join]')].map((b) => [b.dataset.join, !b.disabled]));
            return { notice: notice.innerText, buttons };
        }), (v) => !!v || 'no .no-webrtc notice', { onTimeout: () => shot('timeout-home') });
        await shot('02-home');
        assert.match(home.notice, /cannot make audio or video calls/);
        assert.deepEqual(home.buttons, { video: false, audio: false, none: true, test: false }, 'enabled join buttons');

        // 3. joining without audio and video: in the meeting, in the roster
        await walter.execute(() => {
            const set = (id, v) => {
                const input = document.getElementById(id);
                input.value = v;
                input.dispatchEvent(new Event('input', { bubbles: true }));
            };
            set('name', 'Walter WebKit');
            set('alias', 'meet.open');
            document.querySelector('[data-join="none"]').click();
        });
        const roster = await until('W: in the meeting with himself in the roster', () => walter.execute(() => ({
            meeting: !!document.querySelector('.screen.meeting'),
            error: document.querySelector('.error-card')?.innerText.replace(/\s+/g, ' ').trim() ?? null,
            people: [...document.querySelectorAll('.roster .person:not(.waiting)')].map((e) => e.textContent),
        })), (v) => {
            if (v.error) return true;
            return (v.meeting && v.people.some((p) => /Walter/.test(p))) || JSON.stringify(v);
        }, { onTimeout: () => shot('timeout-join') });
        await shot('03-joined-none');
        assert.equal(roster.error, null, `joining without audio and video failed: ${roster.error}`);

        // 4. "Start audio" in the meeting says why it cannot, instead of failing silently
        await walter.execute(() => document.querySelector('.tb-start-audio').click());
        await until('W: "Start audio" announces #pex170', () => walter.execute(() => document.getElementById('live')?.textContent ?? ''),
            (text) => /#pex170/.test(text) || `live region: ${JSON.stringify(text)}`, { onTimeout: () => shot('timeout-start-audio') });
    } catch (e) {
        await shot('failed');
        throw e;
    } finally {
        await walter?.delete().catch(() => {});
        if (wk) fs.writeFileSync(path.join(artifacts, 'webkit-output.log'), wk.output() ?? '');
        await wk?.close();
        await node?.stop();
        if (node) fs.copyFileSync(node.logPath, path.join(artifacts, 'node.log'));
    }
});
