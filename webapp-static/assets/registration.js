// Receiving calls: this browser registers a device alias (`registrations/{alias}/…`, as
// Pexip's desktop and mobile clients do), keeps the registration token fresh, listens on
// the registration's event stream and reports `incoming` calls and their cancellation.
// Declining a call releases its one-time token at the call's alias; answering is a join
// with that token (app.js). The password is only ever sent, never kept.

import { logRequest } from './logs.js';

const API = '/api/client/v2';

/** One registration of this browser; events: `incoming` {conference_alias,
 * remote_display_name, token}, `cancelled` {token, missed}, `changed` (registered or not). */
export class Registration extends EventTarget {
    constructor() {
        super();
        this.alias = '';
        this.token = '';
        this.expires = 120;
        this.timer = null;
        this.source = null;
        /** Incoming tokens the user already answered or declined: their cancel is no miss. */
        this.handled = new Set();
        /** Calls ringing now: token → incoming data. */
        this.ringing = new Map();
    }

    get registered() { return !!this.token; }

    emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

    async post(path, { headers = {}, body = {} } = {}) {
        const url = `${API}/${path}`;
        let res;
        const started = performance.now();
        try {
            res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
        } catch {
            logRequest('POST', url, 'unreachable', started);
            return { status: 0, body: null, headers: new Headers() };
        }
        logRequest('POST', url, res.status, started);
        let parsed = null;
        try { parsed = await res.json(); } catch { /* not JSON */ }
        return { status: res.status, body: parsed, headers: res.headers };
    }

    /**
     * Registers `alias` with `username`/`password`. Answers null, or what went wrong:
     * {kind:'credentials'} (401), {kind:'backoff', seconds} (429), {kind:'unreachable'} or
     * {kind:'refused', reason}.
     */
    async register(alias, username, password) {
        await this.release();
        // x-pexip-basic: base64 of "user:password" in UTF-8, as the SDKs send it
        const bytes = new TextEncoder().encode(`${username}:${password}`);
        const basic = btoa(String.fromCharCode(...bytes));
        const r = await this.post(`registrations/${encodeURIComponent(alias)}/request_token`, { headers: { Authorization: `x-pexip-basic ${basic}` } });
        if (r.status === 200 && r.body?.result?.token) {
            this.alias = alias;
            this.token = r.body.result.token;
            this.expires = Number(r.body.result.expires) || 120;
            this.routeViaRegistrar = !!r.body.result.route_via_registrar;
            this.scheduleRefresh();
            this.listen();
            this.emit('changed');
            return null;
        }
        if (r.status === 0) return { kind: 'unreachable' };
        if (r.status === 401) return { kind: 'credentials' };
        if (r.status === 429) return { kind: 'backoff', seconds: Number(r.headers.get('Retry-After')) || 60 };
        return { kind: 'refused', reason: typeof r.body?.result === 'string' ? r.body.result : `HTTP ${r.status}` };
    }

    scheduleRefresh() {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.refresh(), Math.max(5, this.expires / 3) * 1000);
    }

    async refresh() {
        if (!this.token) return;
        const r = await this.post(`registrations/${encodeURIComponent(this.alias)}/refresh_token`, { headers: { token: this.token } });
        if (r.status === 200 && r.body?.result?.token) {
            this.token = r.body.result.token;
            this.expires = Number(r.body.result.expires) || this.expires;
            this.scheduleRefresh();
        } else if (r.status === 0) {
            this.scheduleRefresh(); // the node was unreachable: try again
        } else {
            this.drop();
        }
    }

    /** The event stream; reopened with the current token when it closes. */
    listen() {
        this.source?.close();
        const src = new EventSource(`${API}/registrations/${encodeURIComponent(this.alias)}/events?token=${encodeURIComponent(this.token)}`);
        this.source = src;
        src.addEventListener('incoming', (e) => {
            let d;
            try { d = JSON.parse(e.data); } catch { return; }
            if (!d?.token || this.handled.has(d.token) || this.ringing.has(d.token)) return;
            this.ringing.set(d.token, d);
            this.emit('incoming', d);
        });
        src.addEventListener('incoming_cancelled', (e) => {
            let d;
            try { d = JSON.parse(e.data); } catch { return; }
            const call = this.ringing.get(d?.token);
            if (!call) return;
            this.ringing.delete(d.token);
            this.emit('cancelled', { ...call, missed: !this.handled.has(d.token) });
        });
        src.addEventListener('error', () => {
            // a closed stream (token rotated out, node restarted) is reopened while registered
            if (src.readyState === EventSource.CLOSED && this.source === src && this.token) setTimeout(() => { if (this.source === src && this.token) this.listen(); }, 2000);
        });
    }

    /** The user answers the call: its token is used for the join (app.js). */
    take(token) {
        this.handled.add(token);
        this.ringing.delete(token);
    }

    /** Declines the call behind `token` (release_token at its alias). */
    async decline(call) {
        this.take(call.token);
        const r = await this.post(`conferences/${encodeURIComponent(call.conference_alias)}/release_token`, { headers: { token: call.token } });
        return r.status === 200;
    }

    /** Ends the registration (sign out). */
    async release() {
        const { alias, token } = this;
        this.drop();
        if (token) await this.post(`registrations/${encodeURIComponent(alias)}/release_token`, { headers: { token } });
    }

    drop() {
        const was = !!this.token;
        clearTimeout(this.timer);
        this.source?.close();
        this.source = null;
        this.token = '';
        this.ringing.clear();
        if (was) this.emit('changed');
    }
}

/** This page's registration (one per tab). */
export const registration = new Registration();
