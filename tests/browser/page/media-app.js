// The media test page: the real @pexip/infinity SDK making a *media* call (AudioVideo
// + presentation, or Audio only) with a synthetic camera (solid-colour canvas) and a
// synthetic microphone (sine tone), driven from Playwright through window.media.
// Also hosts the SDK-free loopback self-check of the measurement code
// (window.media.loopback*), so both run the exact same measurement functions.
import { onlyVideoCodecs, peerConnections } from './media-pc-spy.js';
import {
    createInfinityClient,
    createInfinityClientSignals,
    createCallSignals,
    ClientCallType,
    MAIN_ROOM_ID,
} from '@pexip/infinity';
import { audioProbe, bandsPainter, canvasSource, countFrames, largestBlob, toneSource, videoStats } from './media-measure.js';

const $ = (id) => document.getElementById(id);

const state = {
    label: '',
    connected: false,
    callConnected: false,
    me: null,
    serviceType: null,
    participants: [],
    errors: [],
    failedRequests: [],
    disconnected: null,
    callDisconnected: [],
    presoState: null,
    presoStates: [],
    layout: null,
    stage: null,
    remoteStreamEvents: 0,
    presentationStreamEvents: 0,
    reconnecting: 0,
    reconnectAt: [],
    left: false,
    log: [],
    lastMeasure: {},
};
let client;
const local = {};
const remote = { main: null, presentation: null, audio: null, mainFrames: null, presFrames: null, presTrack: null };

function log(line) {
    state.log.push(`${(performance.now() / 1000).toFixed(1)} ${line}`.slice(0, 600));
    if (state.log.length > 400) state.log.splice(0, 100);
}

function safe(v) {
    try { return JSON.stringify(v, (k, x) => (k === 'rawData' ? undefined : x)); } catch { return String(v); }
}

function slim(p) {
    return { uuid: p.uuid, displayName: p.displayName, role: p.role, callType: p.callType, isWaiting: p.isWaiting, isCameraMuted: p.isCameraMuted, isPresenting: p.isPresenting, protocol: p.protocol };
}

function refresh() {
    if (client) {
        try {
            state.participants = client.getParticipants(MAIN_ROOM_ID).map(slim);
            const me = client.getMe(MAIN_ROOM_ID);
            state.me = me ? slim(me) : state.me;
        } catch (e) {
            log(`getParticipants failed: ${e}`);
        }
    }
    render();
}

function render() {
    const esc = (s) => String(s ?? '').replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
    $('title').textContent = state.label || 'media harness';
    $('status').innerHTML = `connected: <b>${state.connected}</b> · call: <b>${state.callConnected}</b> · service: <b>${esc(state.serviceType)}</b>
      · layout: <b>${esc(state.layout?.view)}</b> · preso send/recv: <b>${esc(state.presoState?.send)}/${esc(state.presoState?.recv)}</b>
      ${state.left ? '· <b>left the meeting (disconnect)</b>' : ''}
      ${state.disconnected ? `· <b style="color:#a00">disconnected: ${esc(state.disconnected.error)}</b>` : ''}
      ${state.errors.length ? `· <b style="color:#a00">errors: ${esc(JSON.stringify(state.errors))}</b>` : ''}`;
    $('roster').innerHTML = state.participants.map((p) => `<li>${esc(p.displayName)} — ${esc(p.role)} — ${esc(p.callType)}${p.isPresenting ? ' — presenting' : ''}</li>`).join('');
    const m = state.lastMeasure;
    const lines = [];
    if (m.main) lines.push(`main ${m.main.width}x${m.main.height} frames=${m.main.frames} ${fmtFractions(m.main.fractions)}`);
    if (m.presentation) lines.push(`pres ${m.presentation.width}x${m.presentation.height} frames=${m.presentation.frames} muted=${m.presentation.trackMuted} ${fmtFractions(m.presentation.fractions)}`);
    if (m.audio) lines.push(`audio ${JSON.stringify(m.audio.levels)} floor=${m.audio.floorDb} peak=${m.audio.peakHz}Hz@${m.audio.peakDb}dB rms=${m.audio.rms}`);
    $('meas').textContent = lines.join('\n');
    $('grid').textContent = m.main?.grid ? m.main.grid.join('\n') : '';
}

const fmtFractions = (f) => (f ? Object.entries(f).filter(([, v]) => v > 0.0005).map(([k, v]) => `${k}=${(v * 100).toFixed(1)}%`).join(' ') : '');

function wire(signals, callSignals) {
    const on = (name, fn, quiet) => signals[name]?.add((v) => {
        if (!quiet) log(`${name} ${safe(v)}`);
        fn?.(v);
        refresh();
    });
    on('onConnected', () => { state.connected = true; });
    on('onAuthenticatedWithConference');
    on('onServiceType', (t) => { state.serviceType = t; });
    on('onParticipants', null, true);
    on('onParticipantJoined');
    on('onParticipantLeft');
    on('onParticipantUpdated', null, true);
    on('onMe', null, true);
    on('onError', (e) => { state.errors.push(e); });
    on('onDisconnected', (d) => { state.disconnected = d; state.connected = false; });
    on('onFailedRequest', (r) => { state.failedRequests.push(String(r)); });
    on('onCallConnected', () => { state.callConnected = true; });
    on('onCallDisconnected', (e) => { state.callDisconnected.push(e); state.callConnected = false; });
    on('onLayoutUpdate', (l) => { state.layout = { view: l.view, participants: l.participants }; });
    on('onStage', (s) => { state.stage = s; }, true);
    on('onConferenceStatus', null, true);
    for (const quiet of ['onLayoutOverlayTextEnabled', 'onRequestedLayout', 'onRaiseHand', 'onTokenRefreshed', 'onMessage', 'onPinRequired', 'onExtension']) {
        signals[quiet]?.add(() => {});
    }
    callSignals.onRemoteStream.add((stream) => {
        state.remoteStreamEvents++;
        log(`call.onRemoteStream tracks=${stream.getTracks().map((t) => `${t.kind}:${t.id.slice(0, 8)}`).join(',')}`);
        remote.main = stream;
        const v = $('main');
        const [videoTrack] = stream.getVideoTracks();
        // the SDK emits a new stream on every renegotiation; keep playing the same track
        if (videoTrack && v.srcObject?.getVideoTracks()[0] !== videoTrack) {
            v.srcObject = new MediaStream([videoTrack]);
            v.play().catch(() => {});
            if (!remote.mainFrames) remote.mainFrames = countFrames(v);
        }
        const [audio] = stream.getAudioTracks();
        if (audio && remote.audio?.trackId !== audio.id) {
            remote.audio?.probe.stop();
            const holder = { trackId: audio.id, probe: null };
            remote.audio = holder;
            audioProbe(audio).then((p) => { holder.probe = p; });
        }
        refresh();
    });
    callSignals.onRemotePresentationStream.add((stream) => {
        state.presentationStreamEvents++;
        const [track] = stream.getVideoTracks();
        log(`call.onRemotePresentationStream tracks=${stream.getTracks().map((t) => `${t.kind}:${t.id.slice(0, 8)}`).join(',')}`);
        remote.presentation = stream;
        remote.presTrack = track;
        if (track) {
            const caption = (what) => { $('prescap').textContent = `presentation (received) — ${what}`; };
            caption('live');
            track.addEventListener('mute', () => { log('presentation track mute'); caption('track muted: last frame shown'); });
            track.addEventListener('unmute', () => { log('presentation track unmute'); caption('live'); });
            track.addEventListener('ended', () => { log('presentation track ended'); caption('track ended'); });
        }
        const v = $('pres');
        v.srcObject = stream;
        v.play().catch(() => {});
        if (!remote.presFrames) remote.presFrames = countFrames(v);
        refresh();
    });
    callSignals.onPresentationConnectionChange.add((s) => {
        state.presoState = { send: s.send, recv: s.recv };
        state.presoStates.push(`${s.send}/${s.recv}`);
        if (s.send === 'disconnected' && local.slides) { local.slides.stop(); local.slides = null; }
        log(`call.onPresentationConnectionChange ${safe(s)}`);
        refresh();
    });
    callSignals.onCallConnected.add(() => { log('call.onCallConnected'); });
    callSignals.onReconnecting?.add(() => { state.reconnecting++; state.reconnectAt.push(Math.round(performance.now())); log('call.onReconnecting (ICE restart: inbound video stalled)'); });
    callSignals.onReconnected?.add(() => log('call.onReconnected'));
    for (const quiet of ['onRtcStats', 'onCallQualityStats', 'onCallQuality', 'onSecureCheckCode']) callSignals[quiet]?.add(() => {});
}

function videoMeasure(which) {
    const video = which === 'presentation' ? $('pres') : $('main');
    const frames = which === 'presentation' ? remote.presFrames : remote.mainFrames;
    const track = which === 'presentation' ? remote.presTrack : remote.main?.getVideoTracks()[0];
    const s = videoStats(video);
    const out = {
        at: Math.round(performance.now()),
        hasStream: !!(which === 'presentation' ? remote.presentation : remote.main),
        trackState: track?.readyState ?? null,
        trackMuted: track ? track.muted : null,
        frames: frames?.frames ?? 0,
        msSinceFrame: frames?.lastFrameAt ? Math.round(performance.now() - frames.lastFrameAt) : null,
        currentTime: video.currentTime,
        paused: video.paused,
        ...(s || { width: 0, height: 0, fractions: null }),
    };
    if (s) {
        out.blobs = { red: largestBlob(s.grid, 'R'), blue: largestBlob(s.grid, 'B'), green: largestBlob(s.grid, 'G'), yellow: largestBlob(s.grid, 'Y'), palette: largestBlob(s.grid, 'p') };
    }
    state.lastMeasure[which] = out;
    render();
    return out;
}

/** getStats() and SDP of the SDK's peer connection (the last one created). */
async function peerStats({ sdp = false } = {}) {
    const pc = peerConnections[peerConnections.length - 1];
    if (!pc) return null;
    const out = { connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState, signalingState: pc.signalingState, peerConnections: peerConnections.length, inbound: [], outbound: [], candidatePair: null };
    const stats = await pc.getStats();
    const codecs = {};
    stats.forEach((r) => { if (r.type === 'codec') codecs[r.id] = r.mimeType; });
    stats.forEach((r) => {
        if (r.type === 'inbound-rtp') {
            out.inbound.push({ kind: r.kind, mid: r.mid, codec: codecs[r.codecId], packetsReceived: r.packetsReceived, packetsLost: r.packetsLost, bytesReceived: r.bytesReceived, framesDecoded: r.framesDecoded, framesDropped: r.framesDropped, keyFramesDecoded: r.keyFramesDecoded, frameWidth: r.frameWidth, frameHeight: r.frameHeight, framesPerSecond: r.framesPerSecond, pliCount: r.pliCount, nackCount: r.nackCount, totalAudioEnergy: r.totalAudioEnergy, concealedSamples: r.concealedSamples, totalSamplesReceived: r.totalSamplesReceived });
        }
        if (r.type === 'outbound-rtp') {
            out.outbound.push({ kind: r.kind, mid: r.mid, codec: codecs[r.codecId], packetsSent: r.packetsSent, bytesSent: r.bytesSent, framesEncoded: r.framesEncoded, frameWidth: r.frameWidth, frameHeight: r.frameHeight, pliCount: r.pliCount, nackCount: r.nackCount, qualityLimitationReason: r.qualityLimitationReason });
        }
        if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
            const l = stats.get(r.localCandidateId);
            const rm = stats.get(r.remoteCandidateId);
            out.candidatePair = { local: `${l?.candidateType} ${l?.address}:${l?.port}`, remote: `${rm?.candidateType} ${rm?.address}:${rm?.port}`, rtt: r.currentRoundTripTime };
        }
    });
    if (sdp) {
        out.localDescription = pc.localDescription?.sdp;
        out.remoteDescription = pc.remoteDescription?.sdp;
        out.transceivers = pc.getTransceivers().map((t) => ({ mid: t.mid, direction: t.direction, currentDirection: t.currentDirection, sender: t.sender.track?.kind ?? null, receiver: t.receiver.track?.kind, receiverMuted: t.receiver.track?.muted }));
    }
    return out;
}

window.media = {
    state: () => JSON.parse(JSON.stringify(state)),

    /**
     * Joins with media. `callType`: 'AudioVideoPresentation' (default) or 'Audio';
     * `color` paints the camera canvas, `tone` (Hz, 0 = silence) is the microphone;
     * `videoCodecs` (mime types, e.g. ['video/H264']) limits the video codecs offered.
     */
    async join({ host, alias, displayName, label, pin, color, tone, callType = 'AudioVideoPresentation', videoCodecs }) {
        state.label = label || displayName;
        if (videoCodecs) onlyVideoCodecs(videoCodecs);
        render();
        const tracks = [];
        const audio = await toneSource({ freq: tone });
        local.audio = audio;
        tracks.push(audio.track);
        if (callType !== 'Audio') {
            local.video = canvasSource({ color, label: displayName.split(' ')[0] });
            tracks.push(local.video.track);
            $('local').srcObject = new MediaStream([local.video.track]);
        } else {
            document.querySelector('#main + figcaption').textContent = 'audio-only call: no video received';
            document.querySelector('#local + figcaption').textContent = 'audio-only call: no video sent';
        }
        local.stream = new MediaStream(tracks);
        const signals = createInfinityClientSignals([], { batchScheduleTimeoutMS: 50, batchBufferSize: 100 });
        const callSignals = createCallSignals([]);
        wire(signals, callSignals);
        client = createInfinityClient(signals, callSignals);
        const res = await client.call({
            host,
            conferenceAlias: alias,
            displayName,
            pin,
            callType: ClientCallType[callType],
            bandwidth: 0,
            mediaStream: local.stream,
        });
        log(`call() → ${res?.status}`);
        refresh();
        return { status: res?.status, role: res?.data?.result?.role, uuid: res?.data?.result?.participant_uuid, serviceType: res?.data?.result?.current_service_type, callType: res?.data?.result?.call_type };
    },
    async setLayout(layout) {
        const res = await client.setLayout({ transforms: { layout } });
        refresh();
        return res ? { status: res.status, result: res.data?.result } : null;
    },
    async present({ color = '#00ff00', label = 'SLIDES' } = {}) {
        local.slides = canvasSource({ color, label, fps: 10 });
        // the presenter's own page shows what it sends in the presentation slot
        $('pres').srcObject = local.slides.stream;
        $('prescap').textContent = 'presentation (sent by me)';
        client.present(local.slides.stream);
        return true;
    },
    async stopPresenting() {
        client.stopPresenting(); // the canvas stops once the SDK reports send 'disconnected'
        $('pres').srcObject = null;
        $('prescap').textContent = 'presentation (stopped)';
        return true;
    },
    async disconnect() {
        await client.disconnect({ reason: 'User initiated disconnect' });
        // leaving on one's own emits no onDisconnected: record it here
        state.left = true;
        state.connected = false;
        state.callConnected = false;
        log('disconnect() done');
        refresh();
        return true;
    },
    measureVideo: (which = 'main') => videoMeasure(which),
    async measureAudio({ freqs = [440, 880], ms = 1000 } = {}) {
        const probe = remote.audio?.probe;
        if (!probe) return null;
        const m = await probe.measure({ freqs, ms });
        const track = remote.main?.getAudioTracks()[0];
        m.trackMuted = track ? track.muted : null;
        m.trackState = track?.readyState ?? null;
        state.lastMeasure.audio = m;
        render();
        return m;
    },
    peerStats,

    // --- loopback self-check (no SDK, no node) ---------------------------------

    /**
     * Two RTCPeerConnections in this page: pc1 sends a canvas (`color`, or `bands`) and
     * a tone, pc2 receives; the received media is shown and measured like a call's.
     * `codec` restricts video to e.g. 'VP8' (the node answers VP8).
     */
    async loopback({ color, bands, tone, codec = 'VP8', sink = 'volume0', label = 'loopback' } = {}) {
        state.label = label;
        render();
        const pc1 = new RTCPeerConnection();
        const pc2 = new RTCPeerConnection();
        pc1.onicecandidate = (e) => e.candidate && pc2.addIceCandidate(e.candidate).catch(() => {});
        pc2.onicecandidate = (e) => e.candidate && pc1.addIceCandidate(e.candidate).catch(() => {});
        const video = canvasSource(bands ? { paint: bandsPainter(bands) } : { color, label: 'LOOP' });
        const audio = await toneSource({ freq: tone });
        $('local').srcObject = new MediaStream([video.track]);
        const stream = new MediaStream([audio.track, video.track]);
        for (const t of stream.getTracks()) pc1.addTrack(t, stream);
        if (codec) {
            const caps = RTCRtpSender.getCapabilities('video').codecs;
            const pref = caps.filter((c) => c.mimeType.toLowerCase() === `video/${codec.toLowerCase()}`);
            for (const tr of pc1.getTransceivers()) if (tr.sender.track?.kind === 'video') tr.setCodecPreferences(pref);
        }
        const got = new Promise((resolve) => {
            const tracks = [];
            pc2.ontrack = (e) => { tracks.push(e.track); if (tracks.length === 2) resolve(tracks); };
        });
        await pc1.setLocalDescription();
        await pc2.setRemoteDescription(pc1.localDescription);
        await pc2.setLocalDescription();
        await pc1.setRemoteDescription(pc2.localDescription);
        const tracks = await got;
        const remoteStream = new MediaStream(tracks);
        remote.main = remoteStream;
        const v = $('main');
        v.srcObject = new MediaStream(remoteStream.getVideoTracks());
        await v.play().catch(() => {});
        remote.mainFrames = countFrames(v);
        const [rAudio] = remoteStream.getAudioTracks();
        remote.audio = { trackId: rAudio.id, probe: await audioProbe(rAudio, { sink }) };
        window.__loop = { pc1, pc2, video, audio };
        return { codec, tracks: tracks.map((t) => t.kind), visibility: document.visibilityState };
    },
    async loopbackStats() {
        const { pc2 } = window.__loop || {};
        if (!pc2) return null;
        const out = {};
        (await pc2.getStats()).forEach((r) => {
            if (r.type === 'inbound-rtp') out[r.kind] = { packetsReceived: r.packetsReceived, framesDecoded: r.framesDecoded, totalAudioEnergy: r.totalAudioEnergy };
            if (r.type === 'codec') out[`codec:${r.mimeType}`] = true;
        });
        return out;
    },
    loopbackClose() {
        const l = window.__loop;
        if (!l) return;
        l.pc1.close();
        l.pc2.close();
        l.video.stop();
        l.audio.stop();
        remote.audio?.probe?.stop();
        remote.audio = null;
        window.__loop = null;
    },
};

render();
