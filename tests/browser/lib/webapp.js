// Node-side helpers for the web app tests (test/webapp*.test.js): one headless Debian
// chromium (fake camera/microphone), one browser context (own window, own storage) per
// participant, the app loaded from the node's own origin at /webapp/…, condition polling
// and artifacts (screenshots, console, API traffic) under
// <repo>/target/browser-artifacts/<name>/.
//
// Serving: if the node already serves the web app (GET /webapp/home answers our
// index.html) the pages use it as is; otherwise webapp-static/ is served at /webapp/…
// through Playwright request interception, with the node's Content-Security-Policy, so
// CSP violations show up either way.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { launchFirefox } from './firefox.js';
import { CHROMIUM, CHROMIUM_ARGS, REPO, sleep } from './media.js';

export const WEBAPP_DIR = path.join(REPO, 'webapp-static');
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'";

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.pdf': 'application/pdf', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.ico': 'image/x-icon' };

/** `/webapp/<path>` → a file in webapp-static (index.html for the app's own routes). */
function staticFile(pathname) {
    let rel = pathname.replace(/^\/webapp\/?/, '');
    if (rel === '' || rel === 'home' || rel === 'home/') rel = 'index.html';
    const file = path.join(WEBAPP_DIR, rel);
    if (!file.startsWith(WEBAPP_DIR + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) return null;
    return { body: fs.readFileSync(file), type: TYPES[path.extname(file)] || 'application/octet-stream' };
}

/** Whether the node serves this checkout's web app itself. */
async function nodeServesWebapp(nodeUrl, ca) {
    const body = await new Promise((resolve) => {
        const req = https.get(`${nodeUrl}/webapp/home`, { ca, rejectUnauthorized: false }, (res) => {
            let data = '';
            res.on('data', (c) => { data += c; });
            res.on('end', () => resolve(res.statusCode === 200 ? data : null));
        });
        req.on('error', () => resolve(null));
        req.setTimeout(5000, () => { req.destroy(); resolve(null); });
    });
    return !!body && body.includes('id="app"') && body.includes('/webapp/assets/app.js');
}

/**
 * `browser`: 'chromium' (default) or 'firefox' for every participant, or a function of
 * the participant's name. Firefox pages (lib/firefox.js) have no Playwright locators.
 * `cameras`: how many fake cameras chromium offers (its default is one; its fake
 * microphones and speakers are always three each: "default" and two more). Of its fake
 * cameras, `fake_device_1` delivers 16-bit depth frames that WebRTC does not encode
 * (a call sending it sends no frames); `fake_device_0` (I420) and `fake_device_2`
 * (MJPEG) are ordinary cameras.
 */
export async function createWebappHarness({ name, node, browser: pick = 'chromium', cameras = 1 }) {
    const artifacts = path.join(REPO, 'target/browser-artifacts', name);
    fs.rmSync(artifacts, { recursive: true, force: true });
    fs.mkdirSync(artifacts, { recursive: true });
    const served = await nodeServesWebapp(node.url, node.ca);
    const browserOf = typeof pick === 'function' ? pick : () => pick;
    const browsers = {};
    /** One browser of each kind, launched when a participant first needs it. */
    const browserFor = (kind) => {
        if (!browsers[kind]) {
            if (kind === 'firefox') browsers[kind] = launchFirefox();
            else {
                assert.ok(fs.existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}`);
                // a repeated switch counts once, the last one: this one names the camera count
                const args = cameras > 1 ? [...CHROMIUM_ARGS, `--use-fake-device-for-media-stream=device-count=${cameras}`] : CHROMIUM_ARGS;
                browsers[kind] = chromium.launch({ executablePath: CHROMIUM, headless: true, args });
            }
        }
        return browsers[kind];
    };
    const pages = {};
    const contexts = [];
    const consoleLog = [`web app served by ${served ? 'the node' : 'request interception (node does not serve /webapp/ yet)'}`];
    const traffic = [];
    const t0 = Date.now();
    const stamp = () => ((Date.now() - t0) / 1000).toFixed(1);
    let shotNo = 0;

    const h = {
        artifacts,
        pages,
        traffic,
        consoleLog,
        servedByNode: served,

        /**
         * A new window for participant `pname`, opened at `urlPath` on the node
         * (`denyMedia`: no camera permission; `permissions`: granted to the page, e.g.
         * `clipboard-read`; `watchPeers`: every RTCPeerConnection the page makes is kept
         * in `window.__peers`, for tests to look at its senders and states).
         */
        async open(pname, urlPath = '/webapp/home', { viewport = { width: 1280, height: 800 }, denyMedia = false, permissions = [], watchPeers = false, fakeMedia = null } = {}) {
            const browser = await browserFor(browserOf(pname));
            const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport, locale: 'en-US', permissions });
            contexts.push(context);
            if (!served) {
                await context.route(`${node.url}/webapp/**`, (route) => {
                    const f = staticFile(new URL(route.request().url()).pathname);
                    if (!f) return route.fulfill({ status: 404, contentType: 'application/json', body: '{"status":"failed","result":"404 Not Found"}' });
                    return route.fulfill({ status: 200, contentType: f.type, body: f.body, headers: { 'content-security-policy': CSP, 'cache-control': 'no-cache' } });
                });
            }
            // a fake screen for getDisplayMedia: a magenta canvas with a moving white bar
            await context.addInitScript(() => {
                if (!navigator.mediaDevices) return;
                navigator.mediaDevices.getDisplayMedia = async (constraints) => {
                    window.lastDisplayMediaConstraints = constraints;
                    const c = document.createElement('canvas');
                    c.width = 1280;
                    c.height = 720;
                    const g = c.getContext('2d');
                    let x = 0;
                    const paint = () => {
                        g.fillStyle = '#d02090';
                        g.fillRect(0, 0, c.width, c.height);
                        g.fillStyle = '#ffffff';
                        g.fillRect(x, 300, 160, 120);
                        x = (x + 16) % c.width;
                    };
                    paint();
                    setInterval(paint, 100);
                    return c.captureStream(10);
                };
            });
            if (watchPeers) {
                await context.addInitScript(() => {
                    const Native = window.RTCPeerConnection;
                    if (!Native) return;
                    window.__peers = [];
                    window.RTCPeerConnection = class extends Native {
                        constructor(...args) {
                            super(...args);
                            window.__peers.push(this);
                        }
                    };
                });
            }
            // camera/microphone permission denied: getUserMedia rejects with NotAllowedError
            if (denyMedia) {
                await context.addInitScript(() => {
                    if (!navigator.mediaDevices) return;
                    navigator.mediaDevices.getUserMedia = async () => { throw new DOMException('Permission denied', 'NotAllowedError'); };
                });
            }
            // a camera of one colour and a microphone of one tone (`fakeMedia: {color, tone}`),
            // so the other side can check it sees and hears this participant
            if (fakeMedia) await context.addInitScript(fakeMediaScript(fakeMedia));
            const page = await context.newPage();
            page.on('console', (m) => consoleLog.push(`${stamp()} [${pname}] ${m.type()}: ${m.text()}`));
            page.on('pageerror', (e) => consoleLog.push(`${stamp()} [${pname}] pageerror: ${e.message}`));
            page.on('response', (res) => {
                const u = new URL(res.url());
                if (!u.pathname.startsWith('/api/')) return;
                traffic.push({ t: stamp(), page: pname, method: res.request().method(), path: u.pathname + u.search.replace(/token=[^&]*/, 'token=…'), status: res.status() });
            });
            page.on('requestfailed', (r) => {
                const u = new URL(r.url());
                if (u.pathname.startsWith('/api/') || u.pathname.startsWith('/webapp/')) traffic.push({ t: stamp(), page: pname, method: r.method(), path: u.pathname, failed: r.failure()?.errorText });
            });
            await page.goto(`${node.url}${urlPath}`);
            pages[pname] = page;
            return page;
        },

        /** Screenshot of one page (or all): NN-label[-PAGE].png. */
        async shot(label, pname) {
            shotNo++;
            const list = pname ? [[pname, pages[pname]]] : Object.entries(pages);
            for (const [p, page] of list) {
                const file = path.join(artifacts, `${String(shotNo).padStart(2, '0')}-${label}${pname ? '' : `-${p}`}.png`);
                await page.screenshot({ path: file }).catch(() => {});
            }
        },

        /** Polls `probe()` until `check(v)` is true; fails with what is still missing. */
        async until(what, probe, check, { timeout = 60000, interval = 500 } = {}) {
            const deadline = Date.now() + timeout;
            let last;
            let why;
            for (;;) {
                last = await probe();
                const v = check(last);
                why = v === true ? null : v || 'condition not met';
                if (!why) return last;
                if (Date.now() > deadline) {
                    await h.shot(`timeout-${what.replace(/[^a-z0-9]+/gi, '_').slice(0, 40)}`);
                    assert.fail(`timed out after ${timeout} ms waiting for: ${what}\nstill: ${why}\nlast: ${JSON.stringify(last).slice(0, 2000)}`);
                }
                await sleep(interval);
            }
        },

        async close() {
            fs.writeFileSync(path.join(artifacts, 'api-traffic.json'), JSON.stringify(traffic, null, 1));
            fs.writeFileSync(path.join(artifacts, 'console.log'), consoleLog.join('\n'));
            for (const c of contexts) await c.close().catch(() => {});
            for (const b of Object.values(browsers)) await (await b).close().catch(() => {});
        },
    };
    return h;
}

/**
 * The init script of `fakeMedia`: getUserMedia answers a canvas of `color` ('#rrggbb',
 * a moving dot keeps frames coming) and an oscillator at `tone` Hz, whatever device is
 * asked for. A string, so both Playwright and Firefox's BiDi wrapper can inject it.
 */
export function fakeMediaScript({ color, tone }) {
    return `(() => {
        if (!navigator.mediaDevices) return;
        const COLOR = ${JSON.stringify(color)};
        const TONE = ${Number(tone)};
        let ctx = null;
        navigator.mediaDevices.getUserMedia = async (c = {}) => {
            const out = new MediaStream();
            if (c.video) {
                const cv = document.createElement('canvas');
                cv.width = 640;
                cv.height = 360;
                const g = cv.getContext('2d');
                let x = 0;
                const paint = () => { g.fillStyle = COLOR; g.fillRect(0, 0, 640, 360); g.fillStyle = '#ffffff'; g.fillRect(x, 0, 2, 2); x = (x + 2) % 640; };
                paint();
                setInterval(paint, 66);
                for (const t of cv.captureStream(15).getVideoTracks()) out.addTrack(t);
            }
            if (c.audio) {
                ctx = ctx || new AudioContext();
                await ctx.resume().catch(() => {});
                const o = ctx.createOscillator();
                o.frequency.value = TONE;
                const gain = ctx.createGain();
                gain.gain.value = 0.3;
                const dest = ctx.createMediaStreamDestination();
                o.connect(gain).connect(dest);
                o.start();
                for (const t of dest.stream.getAudioTracks()) out.addTrack(t);
            }
            return out;
        };
    })();`;
}

/** The mean colour [r, g, b] of the middle of page `page`'s composite, or null. */
export function compositeColour(page, selector = 'video.composite') {
    return page.evaluate((sel) => {
        const v = document.querySelector(sel);
        if (!v || !v.videoWidth) return null;
        const c = document.createElement('canvas');
        c.width = v.videoWidth;
        c.height = v.videoHeight;
        const g = c.getContext('2d');
        g.drawImage(v, 0, 0);
        const d = g.getImageData(Math.floor(c.width * 0.3), Math.floor(c.height * 0.3), Math.floor(c.width * 0.4), Math.floor(c.height * 0.3)).data;
        const sum = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) sum[k] += d[i + k];
        const n = d.length / 4;
        return sum.map((x) => Math.round(x / n));
    }, selector);
}

/** The loudest frequency (Hz) page `page` plays from the meeting, or -1 without sound. */
export function incomingTone(page, ms = 1500) {
    return page.evaluate(async (ms) => {
        const stream = document.querySelector('.stage audio')?.srcObject;
        if (!stream?.getAudioTracks().length) return -1;
        window.toneCtx ??= new AudioContext();
        await window.toneCtx.resume();
        const src = window.toneCtx.createMediaStreamSource(stream);
        const an = window.toneCtx.createAnalyser();
        an.fftSize = 8192;
        src.connect(an);
        const bins = new Float32Array(an.frequencyBinCount);
        const total = new Float32Array(an.frequencyBinCount);
        for (const end = performance.now() + ms; performance.now() < end;) {
            an.getFloatFrequencyData(bins);
            for (let i = 0; i < bins.length; i++) total[i] += Math.pow(10, bins[i] / 20);
            await new Promise((r) => setTimeout(r, 50));
        }
        src.disconnect();
        let best = 0;
        for (let i = 1; i < total.length; i++) if (total[i] > total[best]) best = i;
        if (total[best] < 1e-3) return -1;
        return Math.round(best * window.toneCtx.sampleRate / an.fftSize);
    }, ms);
}

/** A <video> of a page (composite by default): size, frames decoded, whether it plays. */
export function compositeState(page, selector = 'video.composite') {
    return page.evaluate((sel) => {
        const v = document.querySelector(sel);
        if (!v) return null;
        const q = v.getVideoPlaybackQuality?.();
        // Firefox counts no playback-quality frames for a MediaStream; it has its own counter
        const frames = Math.max(q?.totalVideoFrames ?? 0, v.mozPaintedFrames ?? 0);
        return { width: v.videoWidth, height: v.videoHeight, frames, time: v.currentTime, paused: v.paused, visible: !!v.offsetParent };
    }, selector);
}

/** The end of a web app test file: browsers closed, node stopped, its log kept with the artifacts. */
export async function closeRun(h, node) {
    await h?.close();
    await node?.stop();
    if (h && node) fs.copyFileSync(node.logPath, path.join(h.artifacts, 'node.log'));
}

/**
 * The loudest sample (0…1) page `page` plays from the meeting (the stage's <audio>
 * stream) over `ms`; -1 while there is no stream yet.
 */
export function incomingAudioPeak(page, ms = 2000) {
    return page.evaluate(async (ms) => {
        const stream = document.querySelector('.stage audio')?.srcObject;
        if (!stream?.getAudioTracks().length) return -1;
        window.peakCtx ??= new AudioContext();
        await window.peakCtx.resume();
        const src = window.peakCtx.createMediaStreamSource(stream);
        const an = window.peakCtx.createAnalyser();
        an.fftSize = 2048;
        src.connect(an);
        const buf = new Float32Array(an.fftSize);
        let peak = 0;
        for (const end = performance.now() + ms; performance.now() < end;) {
            an.getFloatTimeDomainData(buf);
            for (const v of buf) peak = Math.max(peak, Math.abs(v));
            await new Promise((r) => setTimeout(r, 40));
        }
        src.disconnect();
        return peak;
    }, ms);
}

/** A <video> of page `p` (the composite by default) plays: a picture, and frames keep coming. */
export async function videoPlays(h, p, selector = 'video.composite', timeout = 60000) {
    const page = h.pages[p];
    const first = await h.until(`${p}: ${selector} has a picture`, () => compositeState(page, selector), (s) => {
        if (!s) return `no ${selector} element`;
        return (s.width > 0 && s.frames > 0) || `videoWidth ${s.width}, frames ${s.frames} (visible ${s.visible})`;
    }, { timeout });
    await h.until(`${p}: ${selector} frames advance`, () => compositeState(page, selector), (s) => s.frames > first.frames + 5 || `frames ${s.frames} (was ${first.frames})`, { timeout });
    return first;
}
