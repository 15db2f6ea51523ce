// WebKitGTK (the engine Safari is built on) for the browser suites: Debian's
// `webkit2gtk-driver` (WebKitWebDriver) driving its MiniBrowser through W3C WebDriver
// classic, with a minimal client over `fetch` (no npm dependency). The GTK 3 MiniBrowser
// has no headless mode: it runs on its own Xvfb display (Debian's `xvfb`).
//
// Launch options (MiniBrowser --help-all): `--automation` (without it the driver waits
// forever for the browser), WebKitSettings as `--enable-<setting>=true`: media-stream
// (getUserMedia), webrtc (RTCPeerConnection), mock-capture-devices (a "Mock video
// device 1" moving 640×480 test picture and a "Mock audio device 1" tone, no prompt),
// `--autoplay-policy=allow`, `--ignore-tls-errors` (the node's self-signed certificate;
// `acceptInsecureCerts` as well). No request interception, no init scripts and no
// console capture: WebDriver classic has none (the page's console stays in the browser).
//
// `webkitAvailable()` probes once whether this WebKitGTK can take part in a meeting
// (getUserMedia with the mock devices, RTCPeerConnection.createOffer with the tracks) and
// says why not, with the exact error, when it cannot.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH || '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.MINIBROWSER_PATH || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const XVFB = process.env.XVFB_PATH || '/usr/bin/Xvfb';

export const MINIBROWSER_ARGS = [
    '--automation',
    '--enable-media-stream=true',
    '--enable-webrtc=true',
    '--enable-mock-capture-devices=true',
    '--enable-webaudio=true',
    '--media-playback-requires-user-gesture=false',
    '--autoplay-policy=allow',
    '--ignore-tls-errors',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on loopback (closed again before use: good enough for a test). */
function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

/**
 * Signals a process started with `detached: true` and everything left in its process
 * group (MiniBrowser and its web processes outlive a killed driver otherwise).
 */
function killGroup(child, signal = 'SIGTERM') {
    if (!child?.pid) return;
    try { process.kill(-child.pid, signal); } catch { /* group gone */ }
}

async function waitExit(child, ms) {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(ms)]);
}

/** Starts Xvfb on a display it picks itself (`-displayfd`); resolves to `{ display, proc }`. */
async function startXvfb() {
    const proc = spawn(XVFB, ['-displayfd', '3', '-screen', '0', '1600x1000x24', '-nolisten', 'tcp'], {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr.on('data', (d) => { err += d; });
    const display = await new Promise((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error(`Xvfb did not report its display within 10 s: ${err.trim()}`)), 10000);
        proc.stdio[3].on('data', (d) => {
            buf += d;
            const m = buf.match(/^(\d+)\n/);
            if (m) { clearTimeout(timer); resolve(`:${m[1]}`); }
        });
        proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Xvfb exited (${code}): ${err.trim()}`)); });
        proc.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
    return { display, proc };
}

/**
 * Launches WebKitWebDriver on a free loopback port (and Xvfb when there is no $DISPLAY, or
 * always with `xvfb: true`). `close()` ends the sessions, the driver and Xvfb.
 * The driver's (and so MiniBrowser's) stdout/stderr is kept: `output()` (GLib/GStreamer
 * warnings, crashes; not the page's console).
 */
export async function launchWebKit({ xvfb = !process.env.DISPLAY || process.env.PLENUM_WEBKIT_XVFB === '1' } = {}) {
    for (const [what, file] of [['WebKitWebDriver', WEBKIT_DRIVER], ['MiniBrowser', MINIBROWSER]]) {
        if (!fs.existsSync(file)) throw new Error(`${what} not found at ${file} (apt-get install -y webkit2gtk-driver)`);
    }
    let x = null;
    if (xvfb) {
        if (!fs.existsSync(XVFB)) throw new Error(`no X display: $DISPLAY is unset and Xvfb is not at ${XVFB} (apt-get install -y xvfb)`);
        x = await startXvfb();
    }
    const port = await freePort();
    const driver = spawn(WEBKIT_DRIVER, [`--port=${port}`, '--host=local'], {
        detached: true,
        env: { ...process.env, ...(x ? { DISPLAY: x.display } : {}), GDK_BACKEND: 'x11', NO_AT_BRIDGE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d) => { out += d; if (out.length > 4e6) out = out.slice(-2e6); };
    driver.stdout.on('data', keep);
    driver.stderr.on('data', keep);
    const base = `http://127.0.0.1:${port}`;
    const sessions = new Set();
    const wk = {
        url: base,
        display: x?.display ?? process.env.DISPLAY,
        output: () => out,
        /** A new session (one MiniBrowser window); `args` are added to MINIBROWSER_ARGS. */
        async newSession({ args = [], scriptTimeout = 60000 } = {}) {
            const caps = {
                capabilities: {
                    alwaysMatch: {
                        acceptInsecureCerts: true,
                        'webkitgtk:browserOptions': { binary: MINIBROWSER, args: [...MINIBROWSER_ARGS, ...args] },
                    },
                },
            };
            const value = await wd(base, 'POST', '/session', caps, 60000);
            const s = new Session(base, value.sessionId, value.capabilities);
            sessions.add(s);
            s.onDelete = () => sessions.delete(s);
            await s.setTimeouts({ script: scriptTimeout, pageLoad: 60000 });
            return s;
        },
        async close() {
            for (const s of [...sessions]) await s.delete().catch(() => {});
            killGroup(driver);
            await waitExit(driver, 3000);
            killGroup(driver, 'SIGKILL');
            if (x) {
                killGroup(x.proc);
                await waitExit(x.proc, 3000);
                killGroup(x.proc, 'SIGKILL');
            }
        },
    };
    // the driver answers GET /status once it listens
    const deadline = Date.now() + 10000;
    for (;;) {
        if (driver.exitCode !== null) { await wk.close(); throw new Error(`WebKitWebDriver exited (${driver.exitCode}): ${out.trim()}`); }
        try {
            const r = await fetch(`${base}/status`, { signal: AbortSignal.timeout(1000) });
            if (r.ok) break;
        } catch { /* not yet */ }
        if (Date.now() > deadline) { await wk.close(); throw new Error(`WebKitWebDriver did not answer on ${base} within 10 s: ${out.trim()}`); }
        await sleep(100);
    }
    return wk;
}

/** One WebDriver command; throws `Error("<error>: <message>")` on a WebDriver error. */
async function wd(base, method, p, body, timeoutMs = 120000) {
    const t0 = Date.now();
    let r;
    let text;
    try {
        r = await fetch(base + p, {
            method,
            headers: body ? { 'content-type': 'application/json; charset=utf-8' } : {},
            body: body ? JSON.stringify(body) : undefined,
            signal: AbortSignal.timeout(timeoutMs),
        });
        text = await r.text();
    } catch (e) {
        throw new Error(`WebDriver ${method} ${p}: no answer after ${Date.now() - t0} ms: ${e.message}`);
    } finally {
        if (process.env.PLENUM_WEBKIT_DEBUG) console.error(`[webkit] ${method} ${p} ${Date.now() - t0} ms`);
    }
    let json;
    try { json = JSON.parse(text); } catch { throw new Error(`WebDriver ${method} ${p}: HTTP ${r.status}: ${text.slice(0, 500)}`); }
    const v = json?.value;
    if (!r.ok) { // a WebDriver error is a 4xx/5xx with { value: { error, message } }
        throw new Error(`WebDriver ${method} ${p}: ${v?.error || `HTTP ${r.status}`}: ${v?.message ?? text.slice(0, 500)}`);
    }
    return v;
}

/** `fn` (a function or a function body) as a WebDriver async script resolving to fn(...args). */
function asyncBody(fn) {
    const f = typeof fn === 'function' ? fn.toString() : `function () { ${fn} }`;
    return `const done = arguments[arguments.length - 1];
const args = Array.prototype.slice.call(arguments, 0, -1);
Promise.resolve().then(() => (${f}).apply(null, args)).then(
    (value) => done({ ok: true, value: value === undefined ? null : value }),
    (e) => done({ ok: false, error: (e && e.name ? e.name + ': ' + e.message : String(e)) }));`;
}

export class Session {
    constructor(base, id, capabilities) {
        this.base = base;
        this.id = id;
        this.capabilities = capabilities;
        this.deleted = false;
        this.scriptTimeout = 30000;
    }

    cmd(method, p, body, timeoutMs) {
        return wd(this.base, method, `/session/${this.id}${p}`, body, timeoutMs);
    }

    setTimeouts(t) {
        if (t.script) this.scriptTimeout = t.script;
        return this.cmd('POST', '/timeouts', t);
    }

    navigate(url) { return this.cmd('POST', '/url', { url }); }

    currentUrl() { return this.cmd('GET', '/url'); }

    /** Set Window Rect (MiniBrowser's window; the viewport is a little smaller). */
    setWindowRect(rect) { return this.cmd('POST', '/window/rect', rect); }

    /** Execute Script (sync): `fn` is a function (called with `args`) or a function body. */
    execute(fn, ...args) {
        const script = typeof fn === 'function' ? `return (${fn}).apply(null, arguments);` : fn;
        return this.cmd('POST', '/execute/sync', { script, args });
    }

    /**
     * Execute Async Script: resolves to what `fn(...args)` (may return a promise) gives;
     * a page-side exception rejects with "<name>: <message>".
     */
    async evaluate(fn, ...args) {
        const r = await this.cmd('POST', '/execute/async', { script: asyncBody(fn), args }, this.scriptTimeout + 30000);
        if (!r || typeof r !== 'object' || !('ok' in r)) throw new Error(`unexpected async script result: ${JSON.stringify(r)}`);
        if (!r.ok) throw new Error(`page script failed: ${r.error}`);
        return r.value;
    }

    /** Raw Execute Async Script (the script calls `arguments[arguments.length - 1]`). */
    executeAsync(script, ...args) { return this.cmd('POST', '/execute/async', { script, args }); }

    /** Take Screenshot of the viewport, written as PNG to `file`. */
    async screenshot(file) {
        const b64 = await this.cmd('GET', '/screenshot');
        fs.writeFileSync(file, Buffer.from(b64, 'base64'));
        return file;
    }

    async delete() {
        if (this.deleted) return;
        this.deleted = true;
        this.onDelete?.();
        await this.cmd('DELETE', '', undefined, 20000);
    }
}

/** The probe: what this engine can do for a meeting, run in a secure context (http://127.0.0.1). */
async function probePage() {
    const out = {
        userAgent: navigator.userAgent,
        secureContext: window.isSecureContext,
        typeofRTCPeerConnection: typeof window.RTCPeerConnection,
        typeofGetUserMedia: typeof navigator.mediaDevices?.getUserMedia,
        rtcInterfaces: Object.getOwnPropertyNames(window).filter((n) => /^RTC/.test(n)).sort(),
    };
    // a promise that does not settle (a pending permission) is an error too
    const within = (ms, what, p) => Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle within ${ms / 1000} s`)), ms))]);
    let stream = null;
    try {
        stream = await within(20000, 'getUserMedia', navigator.mediaDevices.getUserMedia({ audio: true, video: true }));
        out.tracks = stream.getTracks().map((t) => `${t.kind}: ${t.label} (${t.readyState})`);
        const v = document.createElement('video');
        v.muted = true;
        v.playsInline = true;
        v.srcObject = stream;
        document.body.append(v);
        await v.play().catch(() => {});
        await new Promise((r) => setTimeout(r, 1000));
        out.localVideo = { width: v.videoWidth, height: v.videoHeight, frames: v.getVideoPlaybackQuality?.().totalVideoFrames ?? null };
    } catch (e) {
        out.getUserMediaError = `${e.name}: ${e.message}`;
    }
    try {
        const pc = new RTCPeerConnection();
        if (stream) for (const t of stream.getTracks()) pc.addTrack(t, stream);
        else { pc.addTransceiver('audio'); pc.addTransceiver('video'); }
        const offer = await within(20000, 'createOffer', pc.createOffer());
        out.offerSdp = offer.sdp;
        await pc.setLocalDescription(offer);
        pc.close();
    } catch (e) {
        out.rtcError = `${e.name}: ${e.message}`;
    }
    stream?.getTracks().forEach((t) => t.stop());
    return out;
}

/** Codec names per m-line of an SDP: `{ audio: ['opus/48000/2', …], video: ['VP8/90000', …] }`. */
export function sdpCodecs(sdp) {
    const codecs = {};
    let kind = null;
    for (const line of sdp.split(/\r?\n/)) {
        const m = line.match(/^m=(\w+)/);
        if (m) { kind = m[1]; codecs[kind] ??= []; continue; }
        const r = line.match(/^a=rtpmap:\d+ (.+)$/);
        if (r && kind && !codecs[kind].includes(r[1])) codecs[kind].push(r[1]);
    }
    return codecs;
}

let probed = null;

/**
 * Whether WebKitGTK here can join a meeting: `{ ok: true, details }` or
 * `{ ok: false, reason: '<exact error>', details }`. Probes once per process.
 */
export function webkitAvailable() {
    // a probe that could not get an answer from the browser (not one that found an
    // error in the page) is tried once more: a loaded machine can stall one launch
    probed ??= probe().then((r) => (r.ok || !r.retry ? r : probe()));
    return probed;
}

async function probe() {
    let wk = null;
    let session = null;
    let server = null;
    const details = {};
    try {
        try {
            wk = await launchWebKit();
            session = await wk.newSession();
        } catch (e) {
            return { ok: false, reason: `WebKitGTK cannot be started: ${e.message}`, details, retry: /no answer|did not answer|did not report/.test(e.message) };
        }
        details.browser = `${session.capabilities?.browserName} ${session.capabilities?.browserVersion}`;
        server = http.createServer((req, res) => {
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
            res.end('<!doctype html><meta charset="utf-8"><title>webkit probe</title><body></body>');
        });
        await new Promise((r) => server.listen(0, '127.0.0.1', r));
        await session.navigate(`http://127.0.0.1:${server.address().port}/`);
        Object.assign(details, await session.evaluate(probePage));
        const engine = `WebKitGTK ${session.capabilities?.browserVersion ?? '?'} (MiniBrowser via WebKitWebDriver, ${MINIBROWSER_ARGS.filter((a) => /webrtc|media-stream|mock/.test(a)).join(' ')})`;
        if (details.getUserMediaError) {
            return { ok: false, reason: `${engine}: getUserMedia({audio:true,video:true}) failed: ${details.getUserMediaError}`, details };
        }
        if (details.rtcError) {
            const what = details.typeofRTCPeerConnection === 'undefined'
                ? `no WebRTC: typeof RTCPeerConnection is "undefined" (window has ${details.rtcInterfaces.length ? details.rtcInterfaces.join(', ') : 'no RTC* interface at all'}), new RTCPeerConnection() throws ${details.rtcError}`
                : `RTCPeerConnection.createOffer() with the camera and microphone tracks failed: ${details.rtcError}`;
            const gum = details.tracks ? `; getUserMedia itself works (${details.tracks.join(', ')}${details.localVideo ? `, local preview ${details.localVideo.width}x${details.localVideo.height}` : ''})` : '';
            return { ok: false, reason: `${engine}: ${what}${gum}`, details };
        }
        details.offerCodecs = sdpCodecs(details.offerSdp);
        return { ok: true, details };
    } catch (e) {
        return { ok: false, reason: `WebKitGTK probe failed: ${e.message}`, details, retry: true };
    } finally {
        server?.close();
        await wk?.close();
    }
}
