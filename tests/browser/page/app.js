// The page under test: the real @pexip/infinity SDK, control-only (ClientCallType.None),
// driven from Playwright through window.harness. Everything the SDK signals is recorded
// in `log` and rendered into the DOM so screenshots show the state.
import {
    createInfinityClient,
    createInfinityClientSignals,
    createCallSignals,
    ClientCallType,
    MAIN_ROOM_ID,
} from '@pexip/infinity';

const state = {
    label: '',
    connected: false,
    me: null,
    serviceType: null,
    conferenceStatus: null,
    participants: [],
    messages: [],
    errors: [],
    pinRequired: null,
    disconnected: null,
    failedRequests: [],
    log: [],
};
let client;

function slim(p) {
    return { uuid: p.uuid, displayName: p.displayName, role: p.role, isHost: p.isHost, isWaiting: p.isWaiting, serviceType: p.serviceType, protocol: p.protocol };
}

function refresh() {
    if (client) {
        try {
            state.participants = client.getParticipants(MAIN_ROOM_ID).map(slim);
            const me = client.getMe(MAIN_ROOM_ID);
            state.me = me ? slim(me) : state.me;
        } catch (e) {
            state.log.push(`getParticipants failed: ${e}`);
        }
    }
    render();
}

function render() {
    const el = document.getElementById('app');
    if (!el) return;
    const esc = (s) => String(s ?? '').replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
    el.innerHTML = `
      <h1>${esc(state.label)}</h1>
      <p>connected: <b>${state.connected}</b> · service: <b>${esc(state.serviceType)}</b> ·
         locked: <b>${esc(state.conferenceStatus?.locked)}</b> · started: <b>${esc(state.conferenceStatus?.started)}</b></p>
      <p>me: ${esc(state.me?.displayName)} (${esc(state.me?.role)})</p>
      <h2>Roster (${state.participants.length})</h2>
      <ul>${state.participants.map((p) => `<li>${esc(p.displayName)} — ${esc(p.role)}${p.isWaiting ? ' — waiting' : ''}</li>`).join('')}</ul>
      <h2>Chat</h2>
      <ul>${state.messages.map((m) => `<li><b>${esc(m.displayName)}</b>: ${esc(m.message)}</li>`).join('')}</ul>
      ${state.disconnected ? `<h2 style="color:#a00">Disconnected: ${esc(state.disconnected.error)} ${esc(state.disconnected.errorCode)}</h2>` : ''}
      ${state.errors.length ? `<h2>Errors</h2><pre>${esc(JSON.stringify(state.errors, null, 1))}</pre>` : ''}`;
}

function wire(signals) {
    const on = (name, fn) => signals[name]?.add((v) => {
        state.log.push(`${name} ${safe(v)}`.slice(0, 500));
        fn?.(v);
        refresh();
    });
    on('onConnected', () => { state.connected = true; });
    on('onAuthenticatedWithConference');
    on('onServiceType', (t) => { state.serviceType = t; });
    on('onConferenceStatus', ({ status }) => { state.conferenceStatus = status; });
    on('onParticipants');
    on('onParticipantJoined');
    on('onParticipantLeft');
    on('onParticipantUpdated');
    on('onMe');
    on('onMessage', (m) => { state.messages.push({ displayName: m.displayName, message: m.message, userId: m.userId, direct: m.direct }); });
    on('onError', (e) => { state.errors.push(e); });
    on('onPinRequired', (p) => { state.pinRequired = p; });
    on('onDisconnected', (d) => { state.disconnected = d; state.connected = false; });
    on('onFailedRequest', (r) => { state.failedRequests.push(String(r)); });
    on('onExtension');
    for (const quiet of ['onLayoutUpdate', 'onLayoutOverlayTextEnabled', 'onRequestedLayout', 'onStage', 'onRaiseHand', 'onTokenRefreshed', 'onCallDisconnected']) {
        signals[quiet]?.add(() => {});
    }
}

function safe(v) {
    try { return JSON.stringify(v, (k, x) => (k === 'rawData' ? undefined : x)); } catch { return String(v); }
}

window.harness = {
    state: () => JSON.parse(JSON.stringify(state)),
    async join({ host, alias, displayName, pin, label }) {
        state.label = label || displayName;
        const signals = createInfinityClientSignals([], { batchScheduleTimeoutMS: 50, batchBufferSize: 100 });
        const callSignals = createCallSignals([]);
        for (const quiet of ['onPresentationConnectionChange', 'onCallConnected', 'onRemoteStream', 'onRemotePresentationStream']) {
            callSignals[quiet]?.add((v) => state.log.push(`call.${quiet} ${safe(v)}`.slice(0, 300)));
        }
        wire(signals);
        client = createInfinityClient(signals, callSignals);
        const res = await client.call({
            host,
            conferenceAlias: alias,
            displayName,
            pin,
            callType: ClientCallType.None,
            bandwidth: 0,
        });
        refresh();
        return { status: res?.status, role: res?.data?.result?.role, uuid: res?.data?.result?.participant_uuid, serviceType: res?.data?.result?.current_service_type };
    },
    async startConference() { return brief(await client.startConference({})); },
    async sendMessage(payload) { return brief(await client.sendMessage({ payload })); },
    async lock(lock) { return brief(await client.lock({ lock })); },
    async admit(participantUuid) { return brief(await client.admit({ participantUuid })); },
    async disconnectAll() { return brief(await client.disconnectAll({})); },
};

function brief(res) {
    refresh();
    return res ? { status: res.status, result: res.data?.result } : null;
}

render();
