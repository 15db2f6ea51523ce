// A small client for the Pexip client REST API v2 (see /work/shared/spec/client-api-v2.md
// in the project): token lifecycle, the server-sent event stream, one RTCPeerConnection
// carrying main audio + main video + the `slides` presentation line, chat and the host
// actions. It is "a client like any other": no SDK, just fetch, EventSource and WebRTC.
//
// Usage: `const c = new MeetingClient({alias, displayName, callType, bandwidth})`, then
// `await c.requestToken({pin})` (answers `{kind:'ok'|'pin'|'extension'}` or throws a
// PexError), then `await c.start(localStream)`. State changes are DOM events on the
// client (`c.addEventListener('participants', …)`); `c.state` holds the latest values.

import { PexError, NODE_UNREACHABLE } from './errors.js';
import { logRequest, logSse, logClientEvent } from './logs.js';

const API = '/api/client/v2/conferences';
const YES = (v) => v === 'YES' || v === true;

/** Serialises async jobs: offer → answer → candidates → ack never interleave. */
class Queue {
    constructor() { this.tail = Promise.resolve(); }
    run(job) {
        const next = this.tail.then(job, job);
        this.tail = next.catch(() => {});
        return next;
    }
}

/**
 * Adds `a=content:<main|slides>` to every audio/video m-line (by transceiver order) and
 * `b=AS` to the video lines; the browser keeps its own (unmunged) local description.
 */
export function mungeOffer(sdp, contents, videoKbps) {
    const lines = sdp.split('\r\n');
    const out = [];
    let idx = -1;
    let kind = null;
    for (const line of lines) {
        if (line.startsWith('m=')) {
            kind = line.slice(2).split(' ')[0];
            if (kind === 'audio' || kind === 'video') idx++;
            out.push(line);
            continue;
        }
        // b= must directly follow c= inside a media section (RFC 4566 order)
        if (line.startsWith('c=') && kind === 'video' && videoKbps) {
            out.push(line, `b=AS:${videoKbps}`);
            continue;
        }
        if (line.startsWith('b=AS:') && kind === 'video' && videoKbps) continue;
        if (line.startsWith('a=content:')) continue;
        if (line.startsWith('a=mid:') && (kind === 'audio' || kind === 'video') && contents[idx]) {
            out.push(line, `a=content:${contents[idx]}`);
            continue;
        }
        out.push(line);
    }
    return out.join('\r\n');
}

/** The ufrag of the m-line a candidate belongs to (sent with new_candidate). */
function ufragOf(sdp, mid) {
    let inMid = false;
    let session = null;
    for (const line of sdp.split('\r\n')) {
        if (line.startsWith('m=')) inMid = false;
        if (line.startsWith('a=mid:')) inMid = line.slice(6) === mid;
        if (line.startsWith('a=ice-ufrag:')) {
            if (inMid) return line.slice(12);
            session ??= line.slice(12);
        }
    }
    return session;
}

export class MeetingClient extends EventTarget {
    /**
     * @param {object} o
     * @param {string} o.alias
     * @param {string} o.displayName
     * @param {'video'|'audio'|'none'} o.callType
     * @param {number} o.bandwidth  kbps for the whole call
     */
    constructor({ alias, displayName, callType = 'video', bandwidth = 576, presentationVideo = true }) {
        super();
        // receive a presentation as full-motion video on `slides` (true) or only as
        // still JPEGs announced by `presentation_frame` (false: the line stays inactive)
        this.presentationVideo = presentationVideo;
        this.alias = alias;
        this.displayName = displayName;
        this.callType = callType;
        this.bandwidth = bandwidth;
        this.base = `${API}/${encodeURIComponent(alias)}`;
        this.token = null;
        this.expires = 120;
        this.queue = new Queue();
        this.state = {
            me: null, // participant uuid
            role: null, // HOST | GUEST from the token
            serviceType: null,
            chatEnabled: true,
            participants: new Map(),
            conference: { locked: false, guests_muted: false, started: true },
            presentation: null, // {presenter_uuid, presenter_name} while someone else presents
            presenting: false,
            layout: null,
            stage: [],
            callConnected: false,
            iceState: 'new',
            splash: null, // {key, seconds} while the node shows a theme screen (splash_screen)
        };
        this.ended = false;
        this.timers = new Set();
        this.pendingRemoteCandidates = [];
        this.pendingLocalCandidates = [];
        this.onPageHide = () => this.beaconRelease('Browser closed');
    }

    emit(type, detail) {
        logClientEvent(this, type, detail);
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }

    log(...args) {
        console.info('[plenum]', ...args);
    }

    // === REST ===================================================================

    /** POST/GET with the token header; answers `{status, body}` (body parsed if JSON). */
    async request(method, path, body, { headers = {}, token = true, keepalive = false } = {}) {
        const h = { ...headers };
        if (token && this.token) h.token = this.token;
        const init = { method, headers: h, keepalive };
        if (body !== undefined) {
            h['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        let res;
        const started = performance.now();
        try {
            res = await fetch(`${this.base}/${path}`, init);
        } catch (e) {
            logRequest(method, `${this.base}/${path}`, 'unreachable', started);
            throw new PexError(NODE_UNREACHABLE);
        }
        logRequest(method, `${this.base}/${path}`, res.status, started);
        const text = await res.text();
        let parsed = text;
        if ((res.headers.get('content-type') || '').startsWith('application/json')) {
            try { parsed = JSON.parse(text); } catch { /* keep text */ }
        }
        return { status: res.status, body: parsed };
    }

    /** An action whose failure is reported but does not end the session. */
    async action(path, body) {
        const r = await this.request('POST', path, body);
        if (r.status !== 200 || r.body?.result === false) {
            const reason = typeof r.body?.result === 'string' ? r.body.result : `HTTP ${r.status}`;
            this.emit('failed', { path, reason, status: r.status });
            return false;
        }
        return r.body?.result ?? true;
    }

    // === token lifecycle ========================================================

    /**
     * `request_token`. PIN only in the `pin` header (a trailing `#` is dropped; `'none'`
     * = join as Guest without a PIN). Answers {kind:'ok'} (token kept), {kind:'pin',
     * hostPin, guestPin}, {kind:'extension'}, {kind:'idp', idps} (Hosts sign in: pick
     * one, retry with `chosenIdp` and `ssoRedirectTarget`) or {kind:'redirect', url, idp}
     * (sign in there; the sign-in comes back with a one-time `ssoToken`); refusals throw
     * a PexError.
     */
    async requestToken({ pin, extension, ticket, chosenIdp, ssoRedirectTarget, ssoToken } = {}) {
        const headers = {};
        if (pin != null && pin !== '') headers.pin = pin === 'none' ? 'none' : String(pin).trim().replace(/#+$/, '');
        const body = { display_name: this.displayName, node: location.host, direct_media: false, supports_direct_chat: false };
        if (extension) body.conference_extension = extension;
        if (ticket) body.token = ticket; // one-time join ticket from a `refer`
        // single sign-on: the SDK sends the literal 'none' when unused
        body.chosen_idp = chosenIdp || 'none';
        body.sso_token = ssoToken || 'none';
        if (ssoRedirectTarget) body.sso_redirect_target = ssoRedirectTarget;
        const r = await this.request('POST', 'request_token', body, { headers, token: false });
        const result = r.body?.result;
        if (r.status === 200 && result?.token) {
            this.token = result.token;
            this.expires = Number(result.expires) || 120;
            this.tokenResult = result;
            this.state.me = result.participant_uuid;
            this.state.role = result.role;
            this.state.serviceType = result.current_service_type;
            this.state.chatEnabled = result.chat_enabled !== false;
            this.state.tokenCallType = result.call_type || 'video';
            return { kind: 'ok', result };
        }
        if (r.status === 403 && result && typeof result === 'object') {
            if (result.pin || result.guest_pin) {
                return { kind: 'pin', hostPin: result.pin === 'required', guestPin: result.guest_pin === 'required' };
            }
            if (result.conference_extension === 'required') return { kind: 'extension', type: result.conference_extension_type || 'standard' };
            if (Array.isArray(result.idp)) {
                const idps = result.idp.filter((i) => i && typeof i.name === 'string' && typeof i.uuid === 'string');
                return { kind: 'idp', idps };
            }
            if (typeof result.redirect_url === 'string') return { kind: 'redirect', url: result.redirect_url, idp: result.redirect_idp };
        }
        if (typeof result === 'string' && result) throw new PexError(result, { httpStatus: r.status });
        throw new PexError(typeof r.body === 'string' && r.body ? r.body : `Unexpected Response: ${r.status}`, { httpStatus: r.status });
    }

    startRefresh() {
        const every = Math.max(5, this.expires / 3) * 1000;
        this.lastRefreshOk = Date.now();
        const tick = async () => {
            if (this.ended) return;
            await this.refreshToken();
            if (!this.ended) this.refreshTimer = this.later(tick, Math.max(5, this.expires / 3) * 1000);
        };
        this.refreshTimer = this.later(tick, every);
    }

    /** Swaps in a new token; gives up (session over) once the old one has lapsed. */
    async refreshToken() {
        for (let attempt = 0; !this.ended; attempt++) {
            try {
                const r = await this.request('POST', 'refresh_token');
                if (r.status === 200 && r.body?.result?.token) {
                    this.token = r.body.result.token;
                    this.expires = Number(r.body.result.expires) || this.expires;
                    if (r.body.result.role) this.state.role = r.body.result.role;
                    this.lastRefreshOk = Date.now();
                    return true;
                }
            } catch { /* network: retry below */ }
            if (Date.now() - this.lastRefreshOk > (this.expires + 5) * 1000) {
                this.end('Could not reconnect to the meeting');
                return false;
            }
            await new Promise((r) => setTimeout(r, Math.min(30000, 100 * 2 ** attempt)));
        }
        return false;
    }

    /** On tab close: a beacon POST with the token in the query (no headers possible). */
    beaconRelease(reason) {
        if (!this.token || this.released) return;
        this.released = true;
        const blob = new Blob([JSON.stringify({ reason })], { type: 'application/json' });
        navigator.sendBeacon(`${this.base}/release_token?token=${encodeURIComponent(this.token)}`, blob);
    }

    later(fn, ms) {
        const id = setTimeout(() => { this.timers.delete(id); fn(); }, ms);
        this.timers.add(id);
        return id;
    }

    // === session ================================================================

    /** After a 200 token: theme, event stream (waits for it to open), refresh, call. */
    async start(localStream) {
        this.localStream = localStream;
        addEventListener('pagehide', this.onPageHide);
        // the room's theme (204 = none); failures are only logged (client-api-v2.md §1.6)
        this.request('GET', 'theme/').then((r) => {
            if (r.status === 200 && r.body?.result && typeof r.body.result === 'object') {
                this.theme = r.body.result;
                this.emit('theme', this.theme);
            }
        }).catch((e) => this.log('theme failed', e?.reason || e?.message));
        await this.openEvents();
        this.startRefresh();
        if (this.callType !== 'none') await this.startCall();
    }

    openEvents() {
        return new Promise((resolve, reject) => {
            let failures = 0;
            let opened = false;
            const connect = () => {
                if (this.ended) return;
                const es = new EventSource(`${this.base}/events?token=${encodeURIComponent(this.token)}`);
                this.es = es;
                es.onopen = () => {
                    failures = 0;
                    if (!opened) { opened = true; resolve(); }
                };
                es.onerror = () => {
                    logSse(`(stream error, attempt ${failures + 1})`);
                    es.close();
                    if (this.ended) return;
                    failures++;
                    if (failures > 8) {
                        if (!opened) reject(new PexError(NODE_UNREACHABLE));
                        else this.end('Could not reconnect to the meeting');
                        return;
                    }
                    const delay = Math.min(30000, 100 * 2 ** (failures - 1)) * (0.8 + Math.random() * 0.4);
                    this.later(connect, delay);
                };
                for (const [name, fn] of Object.entries(this.handlers())) {
                    es.addEventListener(name, (ev) => {
                        if (es !== this.es || this.ended) return;
                        let data;
                        try { data = ev.data ? JSON.parse(ev.data) : null; } catch { return; }
                        logSse(name, data);
                        try { fn(data, ev); } catch (e) { console.error('[plenum] event', name, e); }
                    });
                }
            };
            connect();
        });
    }

    handlers() {
        const s = this.state;
        const roster = () => this.emit('participants', s.participants);
        return {
            participant_sync_begin: () => { this.syncing = true; s.participants = new Map(); },
            participant_sync_end: () => { this.syncing = false; roster(); this.checkMe(); },
            participant_create: (p) => {
                s.participants.set(p.uuid, p);
                if (!this.syncing) { roster(); this.emit('joined', p); this.checkMe(); }
            },
            participant_update: (p) => {
                if (!s.participants.has(p.uuid)) return;
                const old = s.participants.get(p.uuid);
                s.participants.set(p.uuid, p);
                roster();
                if (p.uuid === s.me) this.checkMe();
                if (old?.service_type !== 'waiting_room' && p.service_type === 'waiting_room' && p.uuid !== s.me) this.emit('waiting', p);
                if (old?.service_type === 'waiting_room' && p.service_type !== 'waiting_room' && p.uuid !== s.me) this.emit('joined', p);
            },
            participant_delete: ({ uuid }) => {
                const p = s.participants.get(uuid);
                s.participants.delete(uuid);
                roster();
                if (p) this.emit('left', p);
            },
            conference_update: (c) => { s.conference = c; this.emit('conference', c); },
            message_received: (m) => this.emit('message', m),
            presentation_start: (p) => {
                if (!p?.presenter_uuid || p.presenter_uuid === s.me) return;
                s.presentation = p;
                this.emit('presentation', p);
                if (s.presenting) this.stopPresenting({ release: false, taken: true });
                else this.setSlidesDirection(this.presentationVideo ? 'recvonly' : 'inactive');
            },
            presentation_stop: () => {
                s.presentation = null;
                this.emit('presentation', null);
                if (!s.presenting) this.setSlidesDirection('inactive');
            },
            splash_screen: (d) => {
                s.splash = d && d.screen_key ? { key: String(d.screen_key), seconds: Number(d.display_duration) || 0 } : null;
                this.emit('splash', s.splash);
            },
            presentation_frame: (d, ev) => { if (s.presentation && ev?.lastEventId) this.emit('presentationFrame', { id: ev.lastEventId }); },
            layout: (l) => { s.layout = l; this.emit('layout', l); },
            stage: (st) => { s.stage = Array.isArray(st) ? st : []; this.emit('stage', s.stage); },
            disconnect: (d) => this.end(d?.reason || 'Call disconnected', { release: true }),
            call_disconnected: () => { this.closeCall(); },
            refresh_token: () => { this.refreshToken(); },
            refer: (d) => { if (d?.alias) this.transfer(d); },
            new_offer: (d) => this.answerServerOffer(d?.sdp),
            update_sdp: (d) => this.answerServerOffer(d?.sdp),
            new_candidate: (c) => this.addRemoteCandidate(c),
        };
    }

    /** Own participant: service type (waiting room → conference on admission). */
    checkMe() {
        const me = this.state.participants.get(this.state.me);
        if (!me) return;
        if (me.service_type && me.service_type !== this.state.serviceType) {
            this.state.serviceType = me.service_type;
            this.emit('serviceType', me.service_type);
        }
        const role = me.role === 'chair' ? 'HOST' : 'GUEST';
        if (role !== this.state.role) this.state.role = role;
        this.emit('me', me);
    }

    get isHost() { return this.state.role === 'HOST'; }

    // === WebRTC =================================================================

    iceServers() {
        const r = this.tokenResult || {};
        const servers = [];
        const stun = (r.stun || []).map((s) => s.url).filter(Boolean);
        if (stun.length) servers.push({ urls: stun });
        for (const t of r.turn || []) if (t?.urls?.length) servers.push(t);
        return servers;
    }

    get videoKbps() { return Math.max(64, this.bandwidth - 64); }

    async startCall() {
        const pc = new RTCPeerConnection({
            bundlePolicy: 'max-bundle',
            iceServers: this.iceServers(),
            iceTransportPolicy: this.tokenResult?.use_relay_candidates_only ? 'relay' : 'all',
        });
        this.pc = pc;
        const stream = this.localStream || new MediaStream();
        const audio = stream.getAudioTracks()[0];
        const video = stream.getVideoTracks()[0];
        const wantVideo = this.callType === 'video' && this.state.tokenCallType !== 'audio';
        this.tx = {};
        this.tx.audio = pc.addTransceiver(audio || 'audio', { direction: 'sendrecv', streams: [stream] });
        this.contents = ['main'];
        if (wantVideo) {
            this.tx.video = pc.addTransceiver(video || 'video', {
                direction: 'sendrecv', streams: [stream], sendEncodings: [{ maxBitrate: this.videoKbps * 1000 }],
            });
            this.contents.push('main');
            if (this.state.tokenCallType !== 'video-only') {
                // someone may already be presenting (presentation_start came before the call)
                const watch = this.state.presentation && this.presentationVideo;
                this.tx.slides = pc.addTransceiver('video', { direction: watch ? 'recvonly' : 'inactive' });
                this.contents.push('slides');
            }
        }
        pc.ontrack = (e) => this.onTrack(e);
        pc.onicecandidate = (e) => this.onLocalCandidate(e.candidate);
        pc.oniceconnectionstatechange = () => this.onIceState();
        pc.onconnectionstatechange = () => {
            const connected = pc.connectionState === 'connected';
            if (connected !== this.state.callConnected) {
                this.state.callConnected = connected;
                this.emit('call', { connected });
            }
        };
        await this.queue.run(async () => {
            const offer = await pc.createOffer();
            await pc.setLocalDescription(offer);
            const r = await this.request('POST', `participants/${this.state.me}/calls`, {
                call_type: 'WEBRTC',
                sdp: mungeOffer(pc.localDescription.sdp, this.contents, this.videoKbps),
                media_type: this.state.tokenCallType || 'video',
                fecc_supported: false,
            });
            if (r.status !== 200 || !r.body?.result?.call_uuid) {
                const reason = typeof r.body?.result === 'string' ? r.body.result : typeof r.body === 'string' && r.body ? r.body : 'Could not execute critical network action';
                throw new PexError(reason, { httpStatus: r.status });
            }
            this.callUuid = r.body.result.call_uuid;
            this.callBase = `participants/${this.state.me}/calls/${this.callUuid}`;
            await pc.setRemoteDescription({ type: 'answer', sdp: r.body.result.sdp });
            await this.flushRemoteCandidates();
            const pending = this.pendingLocalCandidates.splice(0);
            for (const c of pending) await this.sendCandidate(c);
            const ack = await this.request('POST', `${this.callBase}/ack`, {});
            if (ack.status !== 200) throw new PexError('Could not execute critical network action');
        });
    }

    onTrack(e) {
        const tr = e.transceiver;
        if (tr === this.tx.slides) this.emit('presentationTrack', e.track);
        else if (e.track.kind === 'video') this.emit('videoTrack', e.track);
        else this.emit('audioTrack', e.track);
    }

    onLocalCandidate(candidate) {
        if (!this.pc) return;
        if (candidate && !candidate.candidate) return; // Chrome's per-m-line end marker
        // null = gathering finished: the empty end-of-candidates marker
        const c = candidate
            ? { candidate: candidate.candidate, mid: candidate.sdpMid ?? '0', ufrag: candidate.usernameFragment || ufragOf(this.pc.localDescription?.sdp || '', candidate.sdpMid) }
            : { candidate: '', mid: '0' };
        if (!this.callBase) { this.pendingLocalCandidates.push(c); return; }
        this.queue.run(() => this.sendCandidate(c));
    }

    async sendCandidate(c) {
        const body = { candidate: c.candidate, mid: c.mid };
        if (c.ufrag) body.ufrag = c.ufrag;
        await this.request('POST', `${this.callBase}/new_candidate`, body).catch(() => {});
    }

    async addRemoteCandidate(c) {
        if (!this.pc || c == null) return;
        if (!this.pc.remoteDescription) { this.pendingRemoteCandidates.push(c); return; }
        try {
            if (!c.candidate) await this.pc.addIceCandidate(null);
            else await this.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.mid, usernameFragment: c.ufrag });
        } catch (e) { this.log('addIceCandidate failed', e?.message); }
    }

    async flushRemoteCandidates() {
        for (const c of this.pendingRemoteCandidates.splice(0)) await this.addRemoteCandidate(c);
    }

    onIceState() {
        const st = this.pc?.iceConnectionState;
        this.state.iceState = st;
        this.emit('ice', st);
        clearTimeout(this.iceTimer);
        if (st === 'failed') this.restartIce();
        else if (st === 'disconnected') this.iceTimer = this.later(() => { if (this.pc?.iceConnectionState === 'disconnected') this.restartIce(); }, 2000);
    }

    restartIce() {
        if (this.ended || !this.callBase || this.restarting) return;
        this.restarting = true;
        this.renegotiate({ iceRestart: true }).finally(() => { this.restarting = false; });
    }

    /** A fresh offer through `update`; the answer is applied, then `ack` again. */
    renegotiate(options = {}) {
        return this.queue.run(async () => {
            const pc = this.pc;
            if (!pc || this.ended || !this.callBase) return;
            const offer = await pc.createOffer(options);
            await pc.setLocalDescription(offer);
            const r = await this.request('POST', `${this.callBase}/update`, {
                sdp: mungeOffer(pc.localDescription.sdp, this.contents, this.videoKbps),
                fecc_supported: false,
            });
            const result = r.body?.result;
            const sdp = typeof result === 'string' ? result : result?.sdp;
            if (r.status === 200 && sdp) {
                await pc.setRemoteDescription({ type: 'answer', sdp });
                await this.flushRemoteCandidates();
                await this.request('POST', `${this.callBase}/ack`, {});
                this.refreshToken();
            } else {
                // nothing applied: roll back so the next negotiation starts from stable
                await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
                this.log('update not applied', r.status);
            }
        }).catch((e) => this.log('renegotiation failed', e?.message));
    }

    async answerServerOffer(sdp) {
        if (!sdp || !this.pc) return;
        await this.queue.run(async () => {
            const pc = this.pc;
            if (pc.signalingState !== 'stable') {
                await this.request('POST', `${this.callBase}/ack`, { sdp: 'offer_ignored', offer_ignored: true });
                return;
            }
            await pc.setRemoteDescription({ type: 'offer', sdp });
            const answer = await pc.createAnswer();
            await pc.setLocalDescription(answer);
            await this.request('POST', `${this.callBase}/ack`, { sdp: mungeOffer(pc.localDescription.sdp, this.contents, this.videoKbps) });
        }).catch((e) => this.log('server offer failed', e?.message));
    }

    /** Full-motion presentation (HD) on or off; applied at once while someone presents. */
    setPresentationVideo(on) {
        this.presentationVideo = !!on;
        if (this.state.presentation && !this.state.presenting) this.setSlidesDirection(on ? 'recvonly' : 'inactive');
    }

    /** URL of a presentation still (`presentation_frame` id); the token rides in the query. */
    presentationStillUrl(id, { high = false } = {}) {
        return `${this.base}/presentation${high ? '_high' : ''}.jpeg?id=${encodeURIComponent(id)}&token=${encodeURIComponent(this.token)}`;
    }

    setSlidesDirection(direction) {
        const tr = this.tx?.slides;
        if (!tr || tr.direction === direction) return;
        tr.direction = direction;
        this.renegotiate();
    }

    /**
     * Start audio / start video later: the current call (if any) is disconnected and a
     * new one placed with `stream` (the participant stays in the meeting throughout).
     */
    async restartCall(stream, callType) {
        if (this.ended) return;
        if (this.state.presenting) await this.stopPresenting();
        await this.queue.run(async () => {
            const callBase = this.callBase;
            this.closeCall();
            this.pendingRemoteCandidates = [];
            this.pendingLocalCandidates = [];
            if (callBase) await this.request('POST', `${callBase}/disconnect`).catch(() => {});
        });
        this.localStream = stream;
        this.callType = callType;
        await this.startCall();
    }

    closeCall() {
        this.pc?.close();
        this.pc = null;
        this.callBase = null;
        this.state.callConnected = false;
        this.emit('call', { connected: false, closed: true });
    }

    // === local media ============================================================

    /**
     * Another camera or microphone during the call: `track` (kind `audio` | `video`) is
     * sent instead of the current one on the same peer connection
     * (`RTCRtpSender.replaceTrack`: no renegotiation, no new call); the old track leaves
     * the local stream and is stopped. Without a running call only the local stream
     * changes (a call placed later sends the new track).
     */
    async replaceTrack(kind, track) {
        const tx = kind === 'audio' ? this.tx?.audio : this.tx?.video;
        if (this.pc && tx) await tx.sender.replaceTrack(track);
        const stream = this.localStream;
        if (stream) {
            for (const old of kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks()) {
                if (old === track) continue;
                stream.removeTrack(old);
                old.stop();
            }
            if (!stream.getTracks().includes(track)) stream.addTrack(track);
        }
        this.emit('localTrack', { kind });
    }

    async setMicMuted(muted) {
        for (const t of this.localStream?.getAudioTracks() || []) t.enabled = !muted;
        return this.action(`participants/${this.state.me}/${muted ? 'client_mute' : 'client_unmute'}`);
    }

    async setCameraMuted(muted) {
        for (const t of this.localStream?.getVideoTracks() || []) t.enabled = !muted;
        return this.action(`participants/${this.state.me}/${muted ? 'video_muted' : 'video_unmuted'}`);
    }

    /** take_floor, then the screen track goes out on `slides` (sendonly) via update. */
    async present(track) {
        if (!this.tx?.slides) throw new Error('this call has no presentation line');
        const r = await this.request('POST', `participants/${this.state.me}/take_floor`);
        if (r.status !== 200) {
            this.emit('failed', { path: 'take_floor', reason: r.body?.result || `HTTP ${r.status}` });
            return false;
        }
        this.state.presenting = true;
        this.state.presentation = null;
        this.presentTrack = track;
        track.addEventListener('ended', () => { if (this.presentTrack === track) this.stopPresenting(); });
        await this.tx.slides.sender.replaceTrack(track);
        this.tx.slides.direction = 'sendonly';
        this.emit('presenting', true);
        await this.renegotiate();
        return true;
    }

    /** release_floor (unless the floor was taken from us), slides inactive, update. */
    async stopPresenting({ release = true, taken = false } = {}) {
        if (!this.state.presenting) return;
        this.state.presenting = false;
        const track = this.presentTrack;
        this.presentTrack = null;
        track?.stop();
        this.emit('presenting', false);
        if (release) await this.request('POST', `participants/${this.state.me}/release_floor`).catch(() => {});
        if (!this.tx?.slides) return;
        await this.tx.slides.sender.replaceTrack(null).catch(() => {});
        this.tx.slides.direction = taken && this.presentationVideo ? 'recvonly' : 'inactive';
        await this.renegotiate();
    }

    // === chat and control =======================================================

    sendMessage(text, to) {
        const body = { type: 'text/plain', payload: text };
        return this.action(to ? `participants/${to}/message` : 'message', body);
    }

    conferenceAction(name, body) { return this.action(name, body); }

    participantAction(uuid, name, body) { return this.action(`participants/${uuid}/${name}`, body); }

    async layouts() {
        const [names, svgs] = await Promise.all([
            this.request('GET', 'available_layouts'),
            this.request('GET', 'layout_svgs'),
        ]);
        const list = Array.isArray(names.body?.result) ? names.body.result.map((x) => (typeof x === 'string' ? x : x.name)) : [];
        return { names: list, svgs: svgs.body?.result || {} };
    }

    // === leaving ================================================================

    /** User hang-up: call disconnect, release_token, everything closed. */
    async leave() {
        if (this.ended) return;
        const callBase = this.callBase;
        this.teardown();
        if (callBase) await this.request('POST', `${callBase}/disconnect`).catch(() => {});
        this.released = true;
        await this.request('POST', 'release_token', { reason: 'User initiated disconnect' }).catch(() => {});
    }

    /**
     * Being transferred (`refer {alias, token}`): this session is released (reason
     * `Transfer`) and the UI re-joins `alias` with the one-time ticket.
     */
    transfer({ alias, token }) {
        if (this.ended) return;
        const callBase = this.callBase;
        this.teardown();
        if (callBase) this.request('POST', `${callBase}/disconnect`).catch(() => {});
        if (this.token && !this.released) {
            this.released = true;
            this.request('POST', 'release_token', { reason: 'Transfer' }, { keepalive: true }).catch(() => {});
        }
        this.emit('transfer', { alias, ticket: token });
    }

    /** The session is over (server disconnect or fatal failure): tell the UI once. */
    end(reason, { release = true } = {}) {
        if (this.ended) return;
        this.teardown();
        if (release && !this.released && this.token) {
            this.released = true;
            this.request('POST', 'release_token', { reason }, { keepalive: true }).catch(() => {});
        }
        this.emit('ended', { reason });
    }

    teardown() {
        this.ended = true;
        removeEventListener('pagehide', this.onPageHide);
        for (const id of this.timers) clearTimeout(id);
        this.timers.clear();
        this.es?.close();
        this.presentTrack?.stop();
        this.pc?.close();
        this.pc = null;
        this.callBase = null;
    }
}

export { YES };
