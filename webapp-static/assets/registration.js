// Receiving calls: this browser registers a device alias (`registrations/{alias}/…`, as
// Pexip's desktop and mobile clients do), keeps the registration token fresh, listens on
// the registration's event stream and reports `incoming` calls and their cancellation.
// Declining a call releases its one-time token at the call's alias; answering is a join
// with that token (app.js). Devices that sign in with single sign-on go to their identity
// provider and come back with a one-time token. The password is only ever sent, never
// kept; the registration token is kept for this tab only, so a reload resumes it.

import { logRequest } from './logs.js';

const API = '/api/client/v2';
/** Where this tab keeps its registration across reloads (sessionStorage). */
const STORE_KEY = 'plenum.registration';

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
        /** The identity providers devices sign in with (a promise, asked once). */
        this.idps = null;
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
        return this.outcome(alias, r);
    }

    /**
     * The identity providers devices of this node sign in with ([] when none): a
     * registration without credentials answers them, the same list whatever the alias.
     */
    identityProviders() {
        // asked once per page load
        this.idps ??= this.post('registrations/sign-in/request_token').then((r) => {
            const list = r.status === 403 && Array.isArray(r.body?.result?.idp) ? r.body.result.idp : [];
            return list.filter((i) => i && typeof i.name === 'string' && typeof i.uuid === 'string');
        });
        return this.idps;
    }

    /**
     * Starts a single sign-on for `alias` at `idp`: answers {kind:'redirect', url} (send
     * the browser there; it comes back to `returnTo` with the one-time token in place
     * of the node's placeholder) or a failure as register() does.
     */
    async startSignIn(alias, idp, returnTo) {
        const r = await this.post(`registrations/${encodeURIComponent(alias)}/request_token`, { body: { chosen_idp: idp.uuid, sso_redirect_target: returnTo } });
        if (r.status === 403 && typeof r.body?.result?.redirect_url === 'string') return { kind: 'redirect', url: r.body.result.redirect_url };
        return this.outcome(alias, r) || { kind: 'refused', reason: 'no redirect' };
    }

    /** Registers `alias` with a finished sign-in's one-time token; answers as register(). */
    async completeSignIn(alias, ssoToken) {
        await this.release();
        const r = await this.post(`registrations/${encodeURIComponent(alias)}/request_token`, { body: { sso_token: ssoToken } });
        return this.outcome(alias, r);
    }

    /** A request_token answer: registered (null) or what went wrong. */
    outcome(alias, r) {
        if (r.status === 200 && r.body?.result?.token) {
            this.alias = alias;
            this.token = r.body.result.token;
            this.expires = Number(r.body.result.expires) || 120;
            this.routeViaRegistrar = !!r.body.result.route_via_registrar;
            this.remember();
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

    /**
     * The registration survives a reload of this tab (and the round trip of a sign-in):
     * its alias and current token are kept in sessionStorage (this tab only, gone when
     * it closes) and refreshed on the next load.
     */
    remember() {
        try {
            if (this.token) sessionStorage.setItem(STORE_KEY, JSON.stringify({ alias: this.alias, token: this.token }));
            else sessionStorage.removeItem(STORE_KEY);
        } catch { /* storage off */ }
    }

    /**
     * Takes up the registration this tab had before a reload, if it is still alive: it
     * shows as registered only once the node took its token (refresh_token).
     */
    async resume() {
        let saved = null;
        try { saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null'); } catch { /* none */ }
        if (!saved?.alias || !saved?.token || this.token) return false;
        const r = await this.post(`registrations/${encodeURIComponent(saved.alias)}/refresh_token`, { headers: { token: saved.token } });
        if (r.status !== 200 || !r.body?.result?.token) {
            // gone (expired, released elsewhere) or the node unreachable: sign in again
            try { sessionStorage.removeItem(STORE_KEY); } catch { /* storage off */ }
            return false;
        }
        if (this.token) return false; // signed in by hand meanwhile
        this.alias = saved.alias;
        this.token = r.body.result.token;
        this.expires = Number(r.body.result.expires) || this.expires;
        this.remember();
        this.scheduleRefresh();
        this.listen();
        this.emit('changed');
        return true;
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
            this.remember();
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
        this.remember();
        this.ringing.clear();
        if (was) this.emit('changed');
    }
}

/** This page's registration (one per tab). */
export const registration = new Registration();
