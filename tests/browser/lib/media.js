// Node-side helpers for the media tests (test/media*.test.js): bundles page/media-app.js,
// launches one headless Debian chromium (or Firefox ESR, lib/firefox.js), opens one browser context (own window) per
// participant, serves the page either from the node's own origin (Playwright request
// interception, as lib/scenario.js does) or from a throw-away local HTTP server, polls
// page measurements, and writes artifacts (screenshots, measurements, console, API
// traffic) under <repo>/target/browser-artifacts/<name>/.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { launchFirefox } from './firefox.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
    '--no-sandbox',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--disable-background-networking',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-component-update',
    '--disable-sync',
    // several participants share one browser: no page may be throttled as "background"
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
];

async function bundle() {
    const out = await esbuild.build({
        entryPoints: [path.join(here, '../page/media-app.js')],
        bundle: true,
        format: 'iife',
        platform: 'browser',
        target: ['chrome120', 'firefox128'],
        write: false,
        logLevel: 'warning',
        define: { 'process.env.NODE_ENV': '"production"' },
    });
    return Buffer.from(out.outputFiles[0].contents);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {object} opts
 * @param {string} opts.name        artifacts sub-directory
 * @param {string} [opts.nodeUrl]   serve the page from this origin (request interception);
 *                                  otherwise from a local HTTP server
 * @param {'chromium'|'firefox'|((p: string) => 'chromium'|'firefox')} [opts.browser]
 *                                  which browser each participant uses (default chromium)
 */
export async function createHarness({ name, nodeUrl, browser: pick = 'chromium' }) {
    const artifacts = path.join(REPO, 'target/browser-artifacts', name);
    fs.rmSync(artifacts, { recursive: true, force: true });
    fs.mkdirSync(artifacts, { recursive: true });
    const browserOf = typeof pick === 'function' ? pick : () => pick;

    const files = {
        '/__harness__/media.html': ['text/html', fs.readFileSync(path.join(here, '../page/media.html'))],
        '/__harness__/media.bundle.js': ['text/javascript', await bundle()],
    };
    let server = null;
    let origin = nodeUrl;
    if (!nodeUrl) {
        server = http.createServer((req, res) => {
            const f = files[new URL(req.url, 'http://x').pathname];
            if (!f) { res.writeHead(404).end(); return; }
            res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
        });
        await new Promise((r) => server.listen(0, '127.0.0.1', r));
        origin = `http://127.0.0.1:${server.address().port}`;
    }

    const browsers = {};
    /** One browser of each kind, launched when a participant first needs it. */
    const browserFor = async (kind) => {
        if (!browsers[kind]) {
            if (kind === 'firefox') browsers[kind] = launchFirefox();
            else {
                assert.ok(fs.existsSync(CHROMIUM), `chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
                browsers[kind] = chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
            }
        }
        return browsers[kind];
    };
    const pages = {};
    const contexts = [];
    const consoleLog = [];
    const traffic = [];
    const measurements = [];
    const t0 = Date.now();
    let shotNo = 0;
    const stamp = () => ((Date.now() - t0) / 1000).toFixed(1);

    const h = {
        artifacts,
        origin,
        pages,
        measurements,
        traffic,
        consoleLog,

        /** A new context (own window, own storage) and page for participant `pname`. */
        async open(pname) {
            const browser = await browserFor(browserOf(pname));
            const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 640 } });
            contexts.push(context);
            if (nodeUrl) {
                await context.route(`${nodeUrl}/__harness__/**`, (route) => {
                    const f = files[new URL(route.request().url()).pathname];
                    if (!f) return route.fulfill({ status: 404, body: 'not found' });
                    return route.fulfill({ status: 200, contentType: f[0], body: f[1] });
                });
            }
            const page = await context.newPage();
            page.on('console', (m) => consoleLog.push(`${stamp()} [${pname}] ${m.type()}: ${m.text()}`));
            page.on('pageerror', (e) => consoleLog.push(`${stamp()} [${pname}] pageerror: ${e.message}`));
            page.on('response', async (res) => {
                const u = new URL(res.url());
                if (!u.pathname.startsWith('/api/')) return;
                const req = res.request();
                const entry = { t: stamp(), page: pname, method: req.method(), path: u.pathname + u.search.replace(/token=[^&]*/, 'token=…'), status: res.status() };
                // calls / update / ack carry SDP: keep both sides as evidence
                if (/\/(calls|update|ack|take_floor|release_floor|transform_layout)$/.test(u.pathname) || res.status() >= 400) {
                    entry.request = safeJson(postData(req));
                    entry.response = await res.text().then(safeJson).catch(() => null);
                }
                traffic.push(entry);
            });
            page.on('requestfailed', (r) => {
                const u = new URL(r.url());
                if (u.pathname.startsWith('/api/')) traffic.push({ t: stamp(), page: pname, method: r.method(), path: u.pathname, failed: r.failure()?.errorText });
            });
            await page.goto(`${origin}/__harness__/media.html`);
            await page.waitForFunction(() => !!window.media, null, { timeout: 20000 });
            pages[pname] = page;
            return page;
        },

        /** Runs `window.media[fn](arg)` in page `pname`. */
        call(pname, fn, arg) {
            return pages[pname].evaluate(([f, a]) => window.media[f](a), [fn, arg]);
        },

        state(pname) {
            return pages[pname].evaluate(() => window.media.state());
        },

        /** Screenshots of every page: NN-label-PAGE.png. */
        async shot(label) {
            shotNo++;
            for (const [pname, page] of Object.entries(pages)) {
                await page.screenshot({ path: path.join(artifacts, `${String(shotNo).padStart(2, '0')}-${label}-${pname}.png`) }).catch(() => {});
            }
        },

        /**
         * Polls `probe()` until `check(value)` returns true for `stable` samples in a
         * row; records the final sample; fails with the last sample after `timeout`.
         * `check` returns true or a string saying what is still missing.
         */
        async until(what, probe, check, { timeout = 60000, interval = 1000, record = true, stable = 1 } = {}) {
            const deadline = Date.now() + timeout;
            let last;
            let why;
            let samples = 0;
            let passes = 0;
            const history = []; // one line per sample: when, and what was still wrong
            for (;;) {
                last = await probe();
                samples++;
                const verdict = check(last);
                why = verdict === true ? null : verdict || 'condition not met';
                history.push(`${stamp()} ${why || 'ok'}${brief(last)}`);
                passes = why ? 0 : passes + 1;
                if (passes >= stable) {
                    if (record) measurements.push({ t: stamp(), what, ok: true, samples, history, value: last });
                    return last;
                }
                if (!why) { await sleep(interval); continue; }
                if (Date.now() > deadline) {
                    measurements.push({ t: stamp(), what, ok: false, samples, why, history, value: last });
                    await h.shot(`timeout-${what.replace(/[^a-z0-9]+/gi, '_').slice(0, 40)}`);
                    assert.fail(`timed out after ${timeout} ms (${samples} samples) waiting for: ${what}\nstill: ${why}\nlast sample: ${JSON.stringify(last, null, 1).slice(0, 4000)}`);
                }
                await sleep(interval);
            }
        },

        note(what, value) {
            measurements.push({ t: stamp(), what, value });
        },

        /** Writes the artifacts and closes everything. */
        async close(extra = {}) {
            fs.writeFileSync(path.join(artifacts, 'measurements.json'), JSON.stringify(measurements, null, 1));
            fs.writeFileSync(path.join(artifacts, 'api-traffic.json'), JSON.stringify(traffic, null, 1));
            fs.writeFileSync(path.join(artifacts, 'console.log'), consoleLog.join('\n'));
            for (const [pname, page] of Object.entries(pages)) {
                const s = await page.evaluate(() => window.media.state()).catch(() => null);
                if (s) fs.writeFileSync(path.join(artifacts, `state-${pname}.json`), JSON.stringify(s, null, 1));
                const ps = await page.evaluate(() => window.media.peerStats({ sdp: true })).catch(() => null);
                if (ps) fs.writeFileSync(path.join(artifacts, `peer-${pname}.json`), JSON.stringify(ps, null, 1));
            }
            for (const [k, v] of Object.entries(extra)) fs.writeFileSync(path.join(artifacts, k), typeof v === 'string' ? v : JSON.stringify(v, null, 1));
            for (const c of contexts) await c.close().catch(() => {});
            for (const b of Object.values(browsers)) await (await b).close().catch(() => {});
            server?.close();
        },
    };
    return h;
}

/** One-line summary of a sample for the history: audio levels or colour fractions. */
function brief(m) {
    if (m?.levels) return ` ${JSON.stringify(m.levels)} floor ${m.floorDb}`;
    const v = m?.fractions ? m : m?.video;
    if (v?.fractions) {
        const pct = Object.entries(v.fractions).filter(([, x]) => x >= 0.001).map(([k, x]) => `${k} ${(x * 100).toFixed(1)}`).join(', ');
        return ` [${v.width}x${v.height} frames ${v.frames}${v.trackMuted ? ' muted' : ''}: ${pct}]`;
    }
    return '';
}

/** A request's body; null where the driver cannot read it (puppeteer's BiDi Firefox). */
function postData(req) {
    try { return req.postData() ?? null; } catch { return null; }
}

function safeJson(text) {
    if (text == null) return null;
    try { return JSON.parse(text); } catch { return String(text).slice(0, 20000); }
}

// --- verdicts on page measurements (return true, or what is still wrong) -----------

/** The video is live: frames arrive and a picture is there. */
export function videoLive(m) {
    if (!m?.hasStream) return 'no remote stream yet';
    if (!m.fractions) return `no decoded frame yet (frames=${m?.frames}, paused=${m?.paused})`;
    return true;
}

/**
 * Audio verdict: every `want` frequency ≥ floor + 15 dB; every `not` frequency at least
 * `margin` dB below the weakest wanted one (or within 6 dB of the floor). A mixer that
 * fails to leave the listener out returns their tone at full level (0 dB); the node's
 * Opus re-encode of a two-tone mix puts artefacts ≈ 20–24 dB under the tones on the
 * harmonics of 440 Hz (measured: 880 and 1320 Hz in B's 440 + 1250 Hz mix), hence 15.
 * `peak`: the strongest bin (100 Hz – 4 kHz) must also be within ±15 Hz of it.
 */
export function audioVerdict(m, { want, not, margin = 15, peak }) {
    if (!m) return 'no audio probe yet (no remote audio track)';
    const problems = [];
    if (peak && !(Math.abs(m.peakHz - peak) <= 15)) problems.push(`spectrum peaks at ${m.peakHz} Hz, not near ${peak} Hz`);
    const minWanted = Math.min(...want.map((f) => m.levels[f]));
    for (const f of want) {
        if (!(m.levels[f] >= m.floorDb + 15)) problems.push(`${f} Hz at ${m.levels[f]} dB is not ≥ 15 dB above the floor ${m.floorDb} dB`);
    }
    for (const f of not) {
        const lvl = m.levels[f];
        if (!(lvl <= minWanted - margin || lvl <= m.floorDb + 6)) problems.push(`${f} Hz at ${lvl} dB is not ≥ ${margin} dB below ${minWanted} dB (floor ${m.floorDb} dB)`);
    }
    return problems.length ? problems.join('; ') : true;
}
