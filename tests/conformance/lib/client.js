// A minimal client-API v2 client over node:https that trusts exactly the node's
// self-signed certificate. Every reply must be checked with `expect()` (a package
// validator for the status); `assertAllChecked()` fails a test that left one unchecked.

import assert from 'node:assert/strict';
import https from 'node:https';
import { check, validatorName, V } from './validate.js';

const unchecked = new Set();

/** Fails if a reply was received but never validated; resets the list. */
export function assertAllChecked() {
    const left = [...unchecked].map((r) => `${r.method} ${r.path} → ${r.status}`);
    unchecked.clear();
    assert.deepEqual(left, [], 'every response must be validated');
}

const API = '/api/client/v2/conferences';
let rotate = 0;

export class Reply {
    constructor({ method, path, status, headers, text, requestBody }) {
        Object.assign(this, { method, path, status, headers, text, requestBody });
        unchecked.add(this);
    }

    get json() {
        return JSON.parse(this.text);
    }

    describe() {
        return `${this.method} ${this.path}${this.requestBody !== undefined ? ` body=${JSON.stringify(this.requestBody)}` : ''} → ${this.status} ${this.headers['content-type'] ?? '(no content-type)'} ${JSON.stringify(this.text.slice(0, 600))}`;
    }

    /**
     * Asserts the status, `Content-Type: application/json` exactly (§0), and the body
     * against `validator` (no unknown keys unless `open`). Returns the parsed body.
     * For *text* validators (e.g. validateTheme204) pass `{ text: true }`.
     */
    expect(status, validator, { open = false, text = false } = {}) {
        unchecked.delete(this);
        assert.equal(this.status, status, `expected ${status} (${validatorName(validator)}): ${this.describe()}`);
        if (text) {
            check(validator, this.text, { what: this.describe() });
            return this.text;
        }
        assert.equal(this.headers['content-type'], 'application/json', `Content-Type must be exactly application/json (§0): ${this.describe()}`);
        let body;
        try {
            body = JSON.parse(this.text);
        } catch (e) {
            assert.fail(`not JSON: ${this.describe()}`);
        }
        return check(validator, body, { open, what: this.describe() });
    }

    /** Like expect, for a set of acceptable outcomes `{status: validator}`. */
    expectOneOf(map, opts) {
        const validator = map[this.status];
        if (!validator) {
            unchecked.delete(this);
            assert.fail(`expected one of ${Object.keys(map)}: ${this.describe()}`);
        }
        return this.expect(this.status, validator, opts);
    }
}

export class Client {
    /** @param node {{host:string, ca:Buffer}} @param [opts.localAddress] source address (127.0.0.x) */
    constructor(node, { localAddress } = {}) {
        this.node = node;
        this.localAddress = localAddress;
        this.participants = [];
        this.agent = new https.Agent({ ca: node.ca, keepAlive: true, maxSockets: 16, localAddress });
    }

    close() {
        this.agent.destroy();
    }

    /**
     * @param {string} method
     * @param {string} path   full path (use `conf()` for the API prefix)
     * @param {object} [o]
     * @param {object} [o.headers]
     * @param {any} [o.body]            JSON body (sent with Content-Type: application/json)
     * @param {Function} [o.bodyValidator]  package `…Body` validator the body must pass unchanged
     * @param {string|Buffer} [o.raw]   raw body (no validation)
     */
    request(method, path, { headers = {}, body, bodyValidator, raw, localAddress } = {}) {
        const h = { ...headers };
        let payload;
        if (body !== undefined) {
            if (bodyValidator) check(bodyValidator, body, { what: `request body of ${method} ${path}` });
            payload = Buffer.from(JSON.stringify(body));
            h['content-type'] ??= 'application/json';
        } else if (raw !== undefined) {
            payload = Buffer.from(raw);
        }
        if (payload) h['content-length'] = payload.length;
        const [host, port] = this.node.host.split(':');
        return new Promise((resolve, reject) => {
            // a per-request source address needs its own connection (no pooled agent)
            const via = localAddress ? { agent: false, ca: this.node.ca, localAddress } : { agent: this.agent };
            const req = https.request({ host, port, method, path, headers: h, ...via, timeout: 20000 }, (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => resolve(new Reply({ method, path, status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), requestBody: body ?? raw })));
                res.on('error', reject);
            });
            req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
            req.on('error', reject);
            if (payload) req.write(payload);
            req.end();
        });
    }

    /** POST /api/client/v2/conferences/{alias}/request_token */
    requestToken(alias, body, { pin, headers = {} } = {}) {
        const h = { ...headers };
        if (pin !== undefined) h.pin = pin;
        // The node rate-limits request_token per client address (20 per 10 s). A client
        // without a fixed address spreads its joins over 127.0.0.100–249 so a suite that
        // joins a lot is not throttled; PIN-counting tests pin their own address.
        const localAddress = this.localAddress ?? `127.0.0.${100 + (rotate++ % 150)}`;
        return this.request('POST', conf(alias, 'request_token'), { headers: h, body, bodyValidator: V.validateRequestTokenBody, localAddress });
    }

    /**
     * Joins and returns a Participant handle; asserts 200 and validates the result.
     * The handle is released by `releaseAll()`.
     */
    async join(alias, name, { pin, extra = {} } = {}) {
        const r = await this.requestToken(alias, sdkBody(name, this.node.host, extra), { pin });
        const body = r.expect(200, V.validateRequestToken200);
        const p = new Participant(this, alias, body.result);
        this.participants.push(p);
        return p;
    }

    /** Releases every still-joined participant this client created (best effort). */
    async releaseAll() {
        const errors = [];
        for (const p of this.participants ?? []) {
            if (p.released) continue;
            p.released = true;
            try {
                const r = await this.request('POST', conf(p.alias, 'release_token'), { headers: { token: p.token }, body: {}, bodyValidator: V.validateReleaseTokenBody });
                // 403 when the test already ended the participant (disconnect, transfer, …)
                r.expectOneOf({ 200: V.validateReleaseToken200, 403: V.validateReleaseToken403 });
            } catch (e) {
                errors.push(e);
            }
        }
        this.participants = [];
        if (errors.length) throw errors[0];
    }

    /** Opens the SSE stream (`GET …/events?token=`; token not percent-encoded, §3.1). */
    events(alias, token) {
        return EventStream.open(this, `${API}/${alias}/events?token=${token}`);
    }
}

/** The body the SDK sends (§1.1, ● fields). */
export function sdkBody(display_name, node, extra = {}) {
    return {
        display_name,
        node,
        direct_media: true,
        supports_direct_chat: false,
        chosen_idp: 'none',
        sso_token: 'none',
        sso_redirect_target: 'https://example.invalid/sso/__pexip-sso-token__',
        ...extra,
    };
}

export function conf(alias, suffix = '') {
    return `${API}/${encodeURIComponent(alias)}/${suffix}`;
}

export class Participant {
    constructor(client, alias, result) {
        this.client = client;
        this.alias = alias;
        this.result = result;
        this.token = result.token;
        this.uuid = result.participant_uuid;
        this.role = result.role;
        this.displayName = result.display_name;
    }

    /** A request with this participant's `token` header. `path` is relative to the conference. */
    call(method, path, opts = {}) {
        return this.client.request(method, conf(this.alias, path), { ...opts, headers: { token: this.token, ...(opts.headers || {}) } });
    }

    get(path, opts) { return this.call('GET', path, opts); }
    post(path, opts) { return this.call('POST', path, opts); }

    /** POST participants/{uuid}/{action} */
    act(target, action, opts) {
        const uuid = typeof target === 'string' ? target : target.uuid;
        return this.post(`participants/${encodeURIComponent(uuid)}/${action}`, opts);
    }

    async participants() {
        return (await this.get('participants')).expect(200, V.validateParticipants200).result;
    }

    async find(uuid) {
        return (await this.participants()).find((p) => p.uuid === uuid);
    }

    async status() {
        return (await this.get('conference_status')).expect(200, V.validateConferenceStatus200).result;
    }

    events() {
        return this.client.events(this.alias, this.token);
    }

    async release(reason = 'User initiated disconnect') {
        const r = await this.post('release_token', { body: { reason }, bodyValidator: V.validateReleaseTokenBody });
        this.released = true;
        return r.expect(200, V.validateReleaseToken200);
    }
}

/** An SSE reader: parses `event:`/`data:`/`id:` lines and `:` comments itself. */
export class EventStream {
    static open(client, path) {
        const [host, port] = client.node.host.split(':');
        const s = new EventStream();
        s.path = path;
        return new Promise((resolve, reject) => {
            const req = https.request({ host, port, method: 'GET', path, headers: { accept: 'text/event-stream' }, agent: false, ca: client.node.ca, localAddress: client.localAddress }, (res) => {
                s.res = res;
                s.status = res.statusCode;
                s.headers = res.headers;
                if (res.statusCode !== 200) {
                    const chunks = [];
                    res.on('data', (c) => chunks.push(c));
                    res.on('end', () => { s.text = Buffer.concat(chunks).toString(); s.ended = true; resolve(s); });
                    return;
                }
                res.setEncoding('utf8');
                res.on('data', (c) => s._feed(c));
                res.on('end', () => { s.ended = true; s._wake(); });
                res.on('error', () => { s.ended = true; s._wake(); });
                resolve(s);
            });
            req.on('error', reject);
            req.end();
            s.req = req;
        });
    }

    constructor() {
        this.events = [];      // {event, data (parsed), raw, id}
        this.problems = [];    // spec violations seen on the wire
        this.comments = 0;
        this.buf = '';
        this.cur = { data: [] };
        this.waiters = [];
        this.ended = false;
    }

    _feed(chunk) {
        this.buf += chunk;
        let i;
        while ((i = this.buf.search(/\r\n|\r|\n/)) >= 0) {
            const line = this.buf.slice(0, i);
            this.buf = this.buf.slice(this.buf[i] === '\r' && this.buf[i + 1] === '\n' ? i + 2 : i + 1);
            this._line(line);
        }
    }

    _line(line) {
        if (line === '') {
            const { event, data, id } = this.cur;
            this.cur = { data: [] };
            if (event === undefined && data.length === 0) return;
            const name = event ?? 'message';
            const raw = data.join('\n');
            let parsed;
            if (raw === '') this.problems.push(`event ${name}: empty data (§3.1: data must be non-empty JSON)`);
            else {
                try { parsed = JSON.parse(raw); } catch { this.problems.push(`event ${name}: data is not JSON: ${raw.slice(0, 200)}`); }
            }
            this.events.push({ event: name, data: parsed, raw, id });
            this._wake();
            return;
        }
        if (line.startsWith(':')) { this.comments++; return; }
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let value = c < 0 ? '' : line.slice(c + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') this.cur.event = value;
        else if (field === 'data') this.cur.data.push(value);
        else if (field === 'id') this.cur.id = value;
        else if (field !== 'retry') this.problems.push(`unknown SSE field ${field}`);
    }

    _wake() {
        for (const w of [...this.waiters]) w();
    }

    /** Waits for the first event (from index `from`) matching name and predicate. */
    async next(name, pred = () => true, { timeout = 5000, from = 0 } = {}) {
        const deadline = Date.now() + timeout;
        for (;;) {
            const found = this.events.slice(from).find((e) => e.event === name && pred(e.data));
            if (found) return found;
            if (this.ended) assert.fail(`stream ended before ${name}; got ${this.names().join(',')}`);
            const left = deadline - Date.now();
            if (left <= 0) assert.fail(`no ${name} event within ${timeout} ms on ${this.path.replace(/token=.*/, 'token=…')}; got ${this.names().join(',')}`);
            await new Promise((resolve) => {
                const done = () => {
                    clearTimeout(t);
                    this.waiters = this.waiters.filter((x) => x !== done);
                    resolve();
                };
                const t = setTimeout(done, left);
                this.waiters.push(done);
            });
        }
    }

    /** Waits until the sync burst (through `stage`, §3.1) has arrived. */
    async synced(timeout = 5000) {
        await this.next('stage', () => true, { timeout });
        return this.events.slice();
    }

    /** Waits for the server to end the stream. */
    async end(timeout = 5000) {
        const deadline = Date.now() + timeout;
        while (!this.ended && Date.now() < deadline) {
            await new Promise((r) => {
                const done = () => { clearTimeout(t); this.waiters = this.waiters.filter((x) => x !== done); r(); };
                const t = setTimeout(done, 50);
                this.waiters.push(done);
            });
        }
        return this.ended;
    }

    names() {
        return this.events.map((e) => e.event);
    }

    count() {
        return this.events.length;
    }

    close() {
        this.req?.destroy();
        this.ended = true;
    }

    /** For a refused stream: asserts the status and validates the JSON error body. */
    expectRefused(status, validator) {
        assert.equal(this.status, status, `events: expected ${status}, got ${this.status} ${this.text ?? ''}`);
        assert.equal(this.headers['content-type'], 'application/json', 'Content-Type must be exactly application/json (§0)');
        return check(validator, JSON.parse(this.text), { what: `GET ${this.path.replace(/token=.*/, 'token=…')} → ${this.status}` });
    }

    assertNoProblems() {
        assert.deepEqual(this.problems, [], 'SSE stream spec violations');
    }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
