// End-to-end: the real @pexip/infinity 20.0.0 SDK, control-only (ClientCallType.None), in
// Debian's headless chromium, against a fresh plenum node. `runScenario()` registers the
// hooks and steps; test/*.test.js call it once per page origin:
//
// - same-origin: the page and its esbuild bundle are served *from the node's origin*
//   through Playwright request interception (https://127.0.0.1:<port>/__harness__/…), so
//   the SDK talks to the node same-origin and needs no CORS.
// - cross-origin: the page comes from a local plain-HTTP server on another port; the node
//   is started with `[node] cors_origins = ["http://127.0.0.1:<port>"]` and must answer
//   the CORS preflights (headers pin, token, content-type).
//
// Artifacts (screenshots, console + API traffic logs, final page states):
// <repo>/target/browser-artifacts/<mode>/.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { startNode, REPO } from '../../conformance/lib/node.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const STEP_TIMEOUT = 20000;
let ARTIFACTS;
let CROSS_ORIGIN;

let node;
let context;
let userDataDir;
let staticServer;
let pageOrigin;
const pages = {};
const trafficLog = [];
const consoleLog = [];

async function bundle() {
    const out = await esbuild.build({
        entryPoints: [path.join(here, '../page/app.js')],
        bundle: true,
        format: 'iife',
        platform: 'browser',
        target: 'chrome120',
        write: false,
        logLevel: 'warning',
        define: { 'process.env.NODE_ENV': '"production"' },
    });
    return Buffer.from(out.outputFiles[0].contents);
}

async function openPage(name) {
    const page = await context.newPage();
    page.on('console', (m) => consoleLog.push(`[${name}] ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLog.push(`[${name}] pageerror: ${e.message}`));
    page.on('response', async (res) => {
        const u = new URL(res.url());
        if (!u.pathname.startsWith('/api/')) return;
        trafficLog.push({ page: name, method: res.request().method(), path: u.pathname + u.search.replace(/token=[^&]*/, 'token=…'), status: res.status() });
    });
    page.on('requestfailed', (r) => trafficLog.push({ page: name, method: r.method(), path: new URL(r.url()).pathname, failed: r.failure()?.errorText }));
    await page.goto(`${pageOrigin}/__harness__/index.html`);
    await page.waitForFunction(() => !!window.harness, null, { timeout: STEP_TIMEOUT });
    pages[name] = page;
    return page;
}

const st = (name) => pages[name].evaluate(() => window.harness.state());

/** Polls a page's state until `pred(state)` holds. */
async function until(name, pred, what, timeout = STEP_TIMEOUT) {
    const deadline = Date.now() + timeout;
    let s;
    for (;;) {
        s = await st(name);
        if (pred(s)) return s;
        if (Date.now() > deadline) {
            await shot(`timeout-${name}`);
            assert.fail(`page ${name}: timed out waiting for ${what}\nstate: ${JSON.stringify({ ...s, log: s.log.slice(-25) }, null, 1)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

let shotNo = 0;
async function shot(label) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const [name, page] of Object.entries(pages)) {
        await page.screenshot({ path: path.join(ARTIFACTS, `${String(++shotNo).padStart(2, '0')}-${label}-${name}.png`) }).catch(() => {});
    }
}

const roster = (s) => s.participants.filter((p) => !p.isWaiting);

export function runScenario({ crossOrigin }) {
CROSS_ORIGIN = crossOrigin;
ARTIFACTS = path.join(REPO, 'target/browser-artifacts', crossOrigin ? 'cross-origin' : 'same-origin');

before(async () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    assert.ok(fs.existsSync(CHROMIUM), `chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
    const js = await bundle();
    const html = fs.readFileSync(path.join(here, '../page/index.html'));
    const files = { '/__harness__/index.html': ['text/html', html], '/__harness__/app.bundle.js': ['text/javascript', js] };

    if (CROSS_ORIGIN) {
        // page on its own origin; the node allows exactly it via [node] cors_origins
        staticServer = http.createServer((req, res) => {
            const f = files[new URL(req.url, 'http://x').pathname];
            if (!f) { res.writeHead(404).end(); return; }
            res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
        });
        await new Promise((r) => staticServer.listen(0, '127.0.0.1', r));
        pageOrigin = `http://127.0.0.1:${staticServer.address().port}`;
        node = await startNode({ name: 'browser-cross-origin', nodeToml: `cors_origins = ["${pageOrigin}"]` });
    } else {
        node = await startNode({ name: 'browser' });
        pageOrigin = node.url;
    }

    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plenum-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        ignoreHTTPSErrors: true,
        viewport: { width: 900, height: 700 },
        args: [
            '--headless', '--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
            '--disable-background-networking', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-component-update', '--disable-sync',
        ],
    });
    if (!CROSS_ORIGIN) {
        await context.route(`${node.url}/__harness__/**`, (route) => {
            const f = files[new URL(route.request().url()).pathname];
            if (!f) return route.fulfill({ status: 404, body: 'not found' });
            return route.fulfill({ status: 200, contentType: f[0], body: f[1] });
        });
    }
});

after(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'api-traffic.json'), JSON.stringify(trafficLog, null, 1));
    fs.writeFileSync(path.join(ARTIFACTS, 'console.log'), consoleLog.join('\n'));
    for (const [name, page] of Object.entries(pages)) {
        const s = await page.evaluate(() => window.harness.state()).catch(() => null);
        if (s) fs.writeFileSync(path.join(ARTIFACTS, `state-${name}.json`), JSON.stringify(s, null, 1));
    }
    await context?.close().catch(() => {});
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    staticServer?.close();
    await node?.stop();
});

describe(`@pexip/infinity SDK in chromium, control-only, meet.pin (${CROSS_ORIGIN ? 'cross-origin' : 'same-origin'})`, () => {
    const ids = {};
    // the steps build on each other: after a failure the rest are skipped, not piled on
    let broken = null;
    const step = (name, fn) => test(name, async (t) => {
        if (broken) { t.skip(`skipped: earlier step failed (${broken})`); return; }
        try { await fn(t); } catch (e) { broken = name; await shot('failed'); throw e; }
    });

    step('A joins as Host with PIN 1234', async () => {
        const a = await openPage('A');
        const r = await a.evaluate((o) => window.harness.join(o), { host: node.url, alias: 'meet.pin', displayName: 'Alice Host', pin: '1234', label: 'A — Host' });
        assert.equal(r.status, 200, `request_token via SDK: ${JSON.stringify(r)}; page state: ${JSON.stringify(await st('A'))}`);
        assert.equal(r.role, 'HOST');
        ids.A = r.uuid;
        const s = await until('A', (x) => x.connected && x.me?.uuid === ids.A, 'onConnected and own participant (onMe)');
        assert.equal(s.me.role, 'chair');
        assert.equal(s.disconnected, null);
        await shot('a-joined');
    });

    step('B joins as Guest ("pin: none"); started by the Host if it waits', async () => {
        const b = await openPage('B');
        const r = await b.evaluate((o) => window.harness.join(o), { host: node.url, alias: 'meet.pin', displayName: 'Bob Guest', pin: 'none', label: 'B — Guest' });
        assert.equal(r.status, 200, JSON.stringify(r));
        assert.equal(r.role, 'GUEST');
        ids.B = r.uuid;
        await until('B', (x) => x.connected, 'B onConnected');
        const s = await st('B');
        if (s.serviceType === 'waiting_room' || r.serviceType === 'waiting_room') {
            await shot('b-waiting-for-host');
            const res = await pages.A.evaluate(() => window.harness.startConference());
            assert.equal(res?.status, 200, `startConference: ${JSON.stringify(res)}`);
            assert.equal(res.result, true);
        }
        await until('B', (x) => x.serviceType === 'conference', 'B in the conference (onServiceType conference)');
    });

    step('both see the roster with 2 participants', async () => {
        const want = (x) => roster(x).length === 2 && roster(x).some((p) => p.uuid === ids.A) && roster(x).some((p) => p.uuid === ids.B);
        const a = await until('A', want, 'A: roster of 2');
        const b = await until('B', want, 'B: roster of 2');
        assert.equal(a.participants.find((p) => p.uuid === ids.B).role, 'guest');
        assert.equal(b.participants.find((p) => p.uuid === ids.A).role, 'chair');
        await shot('roster-2');
    });

    step('B sends a chat message, A receives it', async () => {
        const res = await pages.B.evaluate(() => window.harness.sendMessage('Hello from Bob'));
        assert.equal(res?.status, 200, JSON.stringify(res));
        const a = await until('A', (x) => x.messages.some((m) => m.message === 'Hello from Bob'), 'A onMessage');
        const m = a.messages.find((x) => x.message === 'Hello from Bob');
        assert.equal(m.displayName, 'Bob Guest');
        assert.equal(m.userId, ids.B);
        assert.equal(m.direct, false);
        await shot('chat');
    });

    step('A locks the meeting', async () => {
        const res = await pages.A.evaluate(() => window.harness.lock(true));
        assert.equal(res?.status, 200, JSON.stringify(res));
        await until('A', (x) => x.conferenceStatus?.locked === true, 'A onConferenceStatus locked');
        await until('B', (x) => x.conferenceStatus?.locked === true, 'B onConferenceStatus locked');
    });

    step('C joins as Guest and waits; A sees C waiting', async () => {
        const c = await openPage('C');
        const r = await c.evaluate((o) => window.harness.join(o), { host: node.url, alias: 'meet.pin', displayName: 'Carol Guest', pin: 'none', label: 'C — Guest' });
        assert.equal(r.status, 200, JSON.stringify(r));
        ids.C = r.uuid;
        await until('C', (x) => x.connected && x.serviceType === 'waiting_room', 'C in the waiting room');
        await until('A', (x) => x.participants.some((p) => p.uuid === ids.C && p.isWaiting), 'A sees C waiting');
        await shot('c-waiting');
    });

    step('A admits C; everyone sees 3', async () => {
        const res = await pages.A.evaluate((u) => window.harness.admit(u), ids.C);
        assert.equal(res?.status, 200, JSON.stringify(res));
        await until('C', (x) => x.serviceType === 'conference', 'C admitted (onServiceType conference)');
        for (const n of ['A', 'B', 'C']) await until(n, (x) => roster(x).length === 3, `${n}: roster of 3`);
        await shot('admitted');
    });

    step('A disconnects all: every page is disconnected', async () => {
        const res = await pages.A.evaluate(() => window.harness.disconnectAll());
        assert.equal(res?.status, 200, JSON.stringify(res));
        const reasons = {};
        for (const n of ['A', 'B', 'C']) {
            const s = await until(n, (x) => x.disconnected, `${n} onDisconnected`);
            reasons[n] = s.disconnected;
        }
        await shot('disconnected');
        for (const n of ['B', 'C']) {
            assert.equal(reasons[n].error, 'Conference terminated by another participant', `#pex125 for ${n}: ${JSON.stringify(reasons)}`);
        }
        // no SDK request failed along the way
        for (const n of ['A', 'B', 'C']) {
            const s = await st(n);
            assert.deepEqual(s.failedRequests, [], `${n}: onFailedRequest`);
            assert.deepEqual(s.errors, [], `${n}: onError`);
        }
    });
});
}
