// The app's own log, for "Download logs" in the settings: a bounded ring buffer (the last
// MAX lines) of screen changes, client API requests (method, path, status, duration),
// event-stream events (name, plus the participant uuid where there is one), connection
// and ICE states, media statistics summaries, and uncaught errors.
//
// Privacy: no tokens, PINs, request or response bodies, chat text or display names are
// recorded. Every line also goes through `redact` (query values such as `token=`, `pin=`
// are blanked) in case a URL or an error message carries one.

const MAX = 2000;
const STATS_EVERY_MS = 30000;

/** {at: Date, text, n} — `n` counts identical lines in a row (shown as "×n"). */
const entries = [];
let lastClient = null;

/** Blanks secrets in `text`: query/fragment values of token, sso_token, an OAuth code and state, pin, ticket, and a `token:` header. */
export function redact(text) {
    return String(text)
        .replace(/([?&#;]\s*(?:token|sso_token|code|state|pin|ticket|conference_extension)=)[^&#\s]*/gi, '$1…')
        .replace(/("?(?:token|sso_token|pin|ticket)"?\s*[:=]\s*"?)[A-Za-z0-9._~+/=-]{3,}/gi, '$1…');
}

/** Adds one line (`kind` is a short tag: screen, api, sse, call, error, stats, app). */
export function log(kind, text = '') {
    const line = redact(`${kind} ${text}`.trim());
    const last = entries[entries.length - 1];
    if (last && last.text === line) { last.n++; last.at = new Date(); return; }
    entries.push({ at: new Date(), text: line, n: 1 });
    if (entries.length > MAX) entries.splice(0, entries.length - MAX);
}

/** A client API request finished (`status` a number, or a word such as "unreachable"). */
export function logRequest(method, path, status, startedAt) {
    const ms = Math.round(performance.now() - startedAt);
    log('api', `${method} ${String(path).split('?')[0]} → ${status} (${ms} ms)`);
}

/** An event-stream event: its name, and the participant it is about (uuid only). */
export function logSse(name, data) {
    const who = data && typeof data === 'object' && typeof data.uuid === 'string' ? ` ${data.uuid}` : '';
    log('sse', `${name}${who}`);
}

/** What MeetingClient emits to the app: the type, plus the few details that are safe. */
export function logClientEvent(client, type, detail) {
    lastClient = client;
    let extra = '';
    if (type === 'ice') extra = String(detail);
    else if (type === 'call') extra = detail?.closed ? 'closed' : (detail?.connected ? 'connected' : 'not connected');
    else if (type === 'ended') extra = detail?.reason || '';
    else if (type === 'failed') extra = `${detail?.path || ''} ${detail?.status ?? ''} ${detail?.reason || ''}`;
    else if (type === 'transfer') extra = `to ${detail?.alias || ''}`;
    else if (type === 'serviceType' || type === 'presenting') extra = String(detail);
    else if (type === 'localTrack') extra = detail?.kind || ''; // never the device's label
    else if (type === 'participants' || type === 'message' || type === 'stage') return; // the sse line says it
    log('client', `${type} ${extra}`.trim());
    if (type === 'call' && detail?.connected) startStats(client);
    if (type === 'ended' || type === 'transfer' || (type === 'call' && detail?.closed)) stopStats(client);
}

// --- media statistics summaries ------------------------------------------------------

const statsTimers = new WeakMap();

function startStats(client) {
    if (statsTimers.has(client)) return;
    const last = new Map();
    const timer = setInterval(() => summarize(client, last), STATS_EVERY_MS);
    statsTimers.set(client, timer);
    setTimeout(() => summarize(client, last), 5000);
}

function stopStats(client) {
    clearInterval(statsTimers.get(client));
    statsTimers.delete(client);
}

async function summarize(client, last) {
    const pc = client.pc;
    if (!pc || !statsTimers.has(client)) return;
    let report;
    try { report = await pc.getStats(); } catch { return; }
    const now = performance.now();
    const parts = [];
    report.forEach((r) => {
        if (r.type !== 'inbound-rtp' && r.type !== 'outbound-rtp') return;
        const rx = r.type === 'inbound-rtp';
        const bytes = (rx ? r.bytesReceived : r.bytesSent) || 0;
        const prev = last.get(r.id);
        last.set(r.id, { bytes, at: now });
        const kbps = prev && now > prev.at ? Math.round(((bytes - prev.bytes) * 8) / (now - prev.at)) : 0;
        let s = `${rx ? 'rx' : 'tx'} ${r.kind}${r.mid != null ? `#${r.mid}` : ''} ${kbps} kbps`;
        if (r.frameWidth) s += ` ${r.frameWidth}x${r.frameHeight}`;
        if (r.framesPerSecond) s += ` ${Math.round(r.framesPerSecond)} fps`;
        if (rx) s += ` lost ${Math.max(0, r.packetsLost || 0)}/${r.packetsReceived || 0}`;
        parts.push(s);
    });
    log('stats', `${pc.connectionState}/${pc.iceConnectionState}; ${parts.join('; ') || 'no streams'}`);
}

// --- screens and uncaught errors ---------------------------------------------------------

function watchScreens() {
    const root = document.getElementById('app');
    if (!root) return;
    let current = '';
    const look = () => {
        const screen = root.querySelector(':scope > .screen');
        const heading = screen?.querySelector('h1')?.textContent.trim().slice(0, 80);
        const name = screen ? `${[...screen.classList].filter((c) => c !== 'screen').join(' ') || 'screen'}${heading ? ` "${heading}"` : ''}` : 'none';
        if (name !== current) { current = name; log('screen', name); }
    };
    new MutationObserver(look).observe(root, { childList: true });
    look();
}

if (typeof window !== 'undefined') {
    addEventListener('error', (e) => log('error', `${e.message || 'error'}${e.filename ? ` at ${e.filename.split('?')[0]}:${e.lineno}` : ''}`));
    addEventListener('unhandledrejection', (e) => log('error', `unhandled rejection: ${e.reason?.name || ''} ${e.reason?.message || String(e.reason)}`.trim()));
    addEventListener('online', () => log('app', 'browser online'));
    addEventListener('offline', () => log('app', 'browser offline'));
    document.addEventListener('visibilitychange', () => log('app', `page ${document.visibilityState}`));
    log('app', `start ${location.pathname}`);
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watchScreens, { once: true });
    else watchScreens();
}

// --- the file ------------------------------------------------------------------------

/** The app's `?v=` content hash, from index.html's script tag. */
function appVersion() {
    const src = document.querySelector('script[src*="/assets/app.js"]')?.getAttribute('src') || '';
    return new URL(src, location.href).searchParams.get('v') || 'unversioned';
}

/** The whole log as text, with a header (versions, browser, language, time). */
export function logText() {
    const v = lastClient?.tokenResult?.version;
    const node = v ? [v.version_id, v.pseudo_version].filter(Boolean).join(' / ') : 'unknown (not in a meeting yet)';
    const header = [
        'plenum web app log',
        `time: ${new Date().toISOString()}`,
        `app version: ${appVersion()}`,
        `node version: ${node}`,
        `user agent: ${navigator.userAgent}`,
        `language: ${document.documentElement.lang} (browser: ${(navigator.languages || [navigator.language]).join(', ')})`,
        `page: ${location.origin}${location.pathname}`,
        `lines: ${entries.length} (the last ${MAX} are kept)`,
        '',
    ];
    const lines = entries.map((e) => `${e.at.toISOString()} ${e.text}${e.n > 1 ? ` (×${e.n})` : ''}`);
    return redact(`${header.join('\n')}${lines.join('\n')}\n`);
}

/** Saves the log as `plenum-webapp-<date>.log` (a Blob behind an object URL). */
export function downloadLogs() {
    log('app', 'logs downloaded');
    const blob = new Blob([logText()], { type: 'text/plain;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
    const a = document.createElement('a');
    a.href = url;
    a.download = `plenum-webapp-${stamp}.log`;
    a.rel = 'noopener';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
}
