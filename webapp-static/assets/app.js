// The web app: routes, home screen, joining (PIN, waiting), the meeting screen with its
// side panel (participants, chat) and host controls. Talks to the node only through
// MeetingClient (client.js). Every string comes from i18n.js; user data is rendered as
// text only (dom.js).

import { MeetingClient, YES } from './client.js';
import { PexError, MEDIA_UNAVAILABLE, NO_WEBRTC, hasWebRTC, pexCode } from './errors.js';
import { t, has, lang } from './i18n.js';
import { h, fill, icon, linkify, initials } from './dom.js';
import { prefs, announce, confirmDialog, openDialog } from './ui.js';
import { parseRoute, cleanAddress, ssoReturnAddress } from './routes.js';
import { hostBarItems, participantActionItems, addParticipantDialog } from './host.js';
import { registration } from './registration.js';
import { runCommand, commandHints, shortcutsDialog, FILTERS, matchesFilter } from './commands.js';
import { settingsDialog, statsOverlay, startStatsReporting, settings, applyContrast, BANDWIDTHS } from './settings.js';
import { FilePresenter, isFileTrack } from './present-files.js';
import { PresentationView } from './presentation.js';
import { hostPinDialog } from './hostpin.js';
import { testTone, waitingChime, incomingChime } from './sound.js';
import { splashScreen } from './theme.js';
import { loadBranding, brandHome, branding } from './branding.js';
import { canPickSpeaker, applySpeaker, listDevices, deviceOptions, trackDevice, openTrack } from './devices.js';

const root = document.getElementById('app');
document.documentElement.lang = lang;
applyContrast();


// === home screen ===============================================================

const preview = { stream: null, camOn: true, micOn: true, failed: false, seq: 0 };

function stopPreview() {
    preview.stream?.getTracks().forEach((tr) => tr.stop());
    preview.stream = null;
}

async function startPreview({ cameraId, micId, ideal = false } = {}) {
    const seq = ++preview.seq;
    stopPreview();
    const pick = (id) => (ideal ? { ideal: id } : { exact: id });
    try {
        const stream = await navigator.mediaDevices.getUserMedia({
            audio: micId ? { deviceId: pick(micId) } : true,
            video: cameraId ? { deviceId: pick(cameraId), width: { ideal: 1280 }, height: { ideal: 720 } } : { width: { ideal: 1280 }, height: { ideal: 720 } },
        });
        if (seq !== preview.seq) { stream.getTracks().forEach((tr) => tr.stop()); return null; }
        preview.stream = stream;
        preview.failed = false;
        stream.getVideoTracks().forEach((tr) => { tr.enabled = preview.camOn; });
        stream.getAudioTracks().forEach((tr) => { tr.enabled = preview.micOn; });
        return stream;
    } catch (e) {
        if (seq === preview.seq) preview.failed = true;
        console.warn('[plenum] getUserMedia failed', e?.name, e?.message);
        return null;
    }
}

/**
 * Microphone level on the home screen: an AnalyserNode on the preview's audio track
 * drives a <meter>. Stops by itself once the meter leaves the page.
 */
function levelMeter(meter) {
    let ctx = null;
    let src = null;
    let analyser = null;
    let data = null;
    const stop = () => { src?.disconnect(); src = null; ctx?.close().catch(() => {}); ctx = null; };
    const tick = () => {
        if (!meter.isConnected) { stop(); return; }
        if (analyser) {
            analyser.getFloatTimeDomainData(data);
            let sum = 0;
            for (const v of data) sum += v * v;
            const rms = Math.sqrt(sum / data.length);
            meter.value = Math.min(1, rms * 4);
        }
        requestAnimationFrame(tick);
    };
    // audio contexts start suspended until the user interacts with the page
    const resume = () => ctx?.state === 'suspended' && ctx.resume().catch(() => {});
    addEventListener('pointerdown', resume);
    addEventListener('keydown', resume);
    requestAnimationFrame(tick);
    return (stream) => {
        src?.disconnect();
        src = null;
        analyser = null;
        meter.value = 0;
        const track = stream?.getAudioTracks()[0];
        const AC = window.AudioContext || window.webkitAudioContext;
        if (!track || !AC) return;
        try {
            ctx ??= new AC();
            analyser = ctx.createAnalyser();
            analyser.fftSize = 1024;
            data = new Float32Array(analyser.fftSize);
            src = ctx.createMediaStreamSource(new MediaStream([track]));
            src.connect(analyser);
            resume();
        } catch (e) {
            analyser = null;
            console.warn('[plenum] level meter unavailable', e?.name);
        }
    };
}

function renderHome(init = {}) {
    document.title = t('app.name');
    const name = init.name || prefs.get('name', '');
    const alias = init.alias || '';
    const bandwidth = init.bandwidth || +prefs.get('bandwidth', 576) || 576;
    preview.camOn = !init.muteCam;
    preview.micOn = !init.muteMic;

    const video = h('video', { class: 'preview-video mirror', autoplay: true, muted: true, playsInline: true, 'aria-label': t('meeting.self') });
    const previewNote = h('p', { class: 'preview-note' }, t('home.preview.loading'));
    const camSel = h('select', { id: 'cam', name: 'camera' });
    const micSel = h('select', { id: 'mic', name: 'microphone' });
    const spkSel = h('select', { id: 'speaker', name: 'speaker' });
    const level = h('meter', { class: 'mic-level', min: 0, max: 1, low: 0.6, high: 0.9, optimum: 0.3, value: 0, 'aria-label': t('home.micLevel') });
    const attachLevel = levelMeter(level);
    spkSel.addEventListener('change', () => prefs.set('speaker', spkSel.value));
    const toneBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small tone-btn', 'data-tone': 'idle', 'aria-pressed': 'false' }, icon('volume'), t('home.speakerTest'));
    toneBtn.addEventListener('click', async () => {
        if (toneBtn.dataset.tone === 'playing') return;
        toneBtn.dataset.tone = 'playing';
        toneBtn.setAttribute('aria-pressed', 'true');
        try {
            await testTone(canPickSpeaker ? spkSel.value : '');
            toneBtn.dataset.tone = 'played';
        } catch (e) {
            toneBtn.dataset.tone = 'failed';
            announce(t('home.speakerTest.failed', { what: e?.name || e?.message || '' }), { kind: 'warn' });
        }
        toneBtn.setAttribute('aria-pressed', 'false');
    });
    const camBtn = h('button', { type: 'button', class: 'round', 'aria-pressed': 'false' });
    const micBtn = h('button', { type: 'button', class: 'round', 'aria-pressed': 'false' });
    const paintToggles = () => {
        fill(camBtn, icon(preview.camOn ? 'cam' : 'camOff'));
        camBtn.setAttribute('aria-label', preview.camOn ? t('tb.cam.off') : t('tb.cam.on'));
        camBtn.setAttribute('aria-pressed', String(!preview.camOn));
        camBtn.classList.toggle('off', !preview.camOn);
        fill(micBtn, icon(preview.micOn ? 'mic' : 'micOff'));
        micBtn.setAttribute('aria-label', preview.micOn ? t('tb.mic.mute') : t('tb.mic.unmute'));
        micBtn.setAttribute('aria-pressed', String(!preview.micOn));
        micBtn.classList.toggle('off', !preview.micOn);
        preview.stream?.getVideoTracks().forEach((tr) => { tr.enabled = preview.camOn; });
        preview.stream?.getAudioTracks().forEach((tr) => { tr.enabled = preview.micOn; });
        video.classList.toggle('hidden', !preview.camOn || !preview.stream);
        previewNote.classList.toggle('hidden', preview.camOn && !!preview.stream);
        if (!preview.stream) previewNote.textContent = preview.failed ? t('home.preview.unavailable') : t('home.preview.loading');
        else if (!preview.camOn) previewNote.textContent = t('home.preview.off');
    };
    camBtn.addEventListener('click', () => { preview.camOn = !preview.camOn; paintToggles(); });
    micBtn.addEventListener('click', () => { preview.micOn = !preview.micOn; paintToggles(); });

    const fillDevices = async () => {
        const devices = await listDevices();
        const cur = preview.stream;
        fill(camSel, deviceOptions(devices, 'videoinput', trackDevice(cur?.getVideoTracks()[0])));
        fill(micSel, deviceOptions(devices, 'audioinput', trackDevice(cur?.getAudioTracks()[0])));
        if (canPickSpeaker) fill(spkSel, deviceOptions(devices, 'audiooutput', prefs.get('speaker', '')));
    };
    // the devices picked last time are tried first (ideal, not exact: they may be gone)
    const restart = async ({ remembered = false } = {}) => {
        if (!remembered) { prefs.set('camera', camSel.value); prefs.set('microphone', micSel.value); }
        const s = await startPreview(remembered
            ? { cameraId: prefs.get('camera', '') || undefined, micId: prefs.get('microphone', '') || undefined, ideal: true }
            : { cameraId: camSel.value || undefined, micId: micSel.value || undefined });
        video.srcObject = s;
        attachLevel(s);
        paintToggles();
        await fillDevices();
    };
    camSel.addEventListener('change', () => restart());
    micSel.addEventListener('change', () => restart());

    const nameInput = h('input', { id: 'name', name: 'name', autocomplete: 'name', required: true, value: name, placeholder: t('home.name.placeholder'), maxLength: 100 });
    const aliasInput = h('input', { id: 'alias', name: 'alias', required: true, value: alias, placeholder: t('home.alias.placeholder'), autocapitalize: 'off', spellcheck: false, maxLength: 200 });
    const bwSel = h('select', { id: 'bandwidth', name: 'bandwidth' },
        BANDWIDTHS.map((b) => h('option', { value: b.kbps, selected: b.kbps === bandwidth }, t(b.label))));
    if (!BANDWIDTHS.some((b) => b.kbps === bandwidth)) bwSel.append(h('option', { value: bandwidth, selected: true }, `${bandwidth} kbps`));
    const formError = h('p', { class: 'form-error', role: 'alert' });

    const submit = (callType) => {
        const n = nameInput.value.trim();
        const a = aliasInput.value.trim();
        formError.textContent = '';
        if (!n) { formError.textContent = t('home.need.name'); nameInput.focus(); return; }
        if (!a) { formError.textContent = t('home.need.alias'); aliasInput.focus(); return; }
        prefs.set('name', n);
        prefs.set('bandwidth', bwSel.value);
        join({ alias: a, name: n, callType, bandwidth: +bwSel.value, pin: init.pin || '', role: init.role || '', muteMic: !preview.micOn, muteCam: !preview.camOn, extension: init.extension || '' });
    };

    // "Test call": the branding's test call alias (default `test`) with video, the name
    // typed (or "Test call") and the devices chosen; camera and microphone on, as checking
    // them is the point. Back home, the form shows what was typed before.
    const testCall = () => {
        const a = branding.testCallAlias;
        if (!a) return;
        const n = nameInput.value.trim();
        formError.textContent = '';
        if (n) prefs.set('name', n);
        join({ alias: a, name: n || t('testcall.defaultName'), callType: 'video', bandwidth: +bwSel.value, testCall: true,
            home: { alias: aliasInput.value.trim(), name: n } });
    };
    const testCallBox = h('div', { class: 'test-call-box' },
        h('button', { type: 'button', class: 'btn btn-secondary test-call-btn', 'data-join': 'test', 'aria-describedby': 'test-call-hint', disabled: !hasWebRTC(), onclick: testCall },
            icon('testCall'), t('home.testCall')),
        h('p', { id: 'test-call-hint', class: 'muted small test-call-hint' }, t('home.testCall.hint')));

    // without WebRTC only the join without audio and video can work: the others are off
    const webrtc = hasWebRTC();
    const form = h('form', { class: 'card join-card', novalidate: true, onsubmit: (e) => { e.preventDefault(); submit(webrtc ? 'video' : 'none'); } },
        init.invited
            ? h('div', { class: 'invite' }, h('p', { class: 'muted' }, t('home.invited')), h('p', { class: 'invite-alias' }, alias))
            : null,
        h('h1', {}, t('home.title')),
        init.notice ? h('p', { class: 'notice', role: 'status' }, init.notice) : null,
        webrtc ? null : h('p', { class: 'notice no-webrtc', role: 'status' }, t('home.noWebrtc')),
        h('div', { class: 'field' }, h('label', { for: 'name' }, t('home.name')), nameInput),
        h('div', { class: 'field' }, h('label', { for: 'alias' }, t('home.alias')), aliasInput),
        h('div', { class: 'field' }, h('label', { for: 'bandwidth' }, t('home.bandwidth')), bwSel),
        formError,
        h('div', { class: 'join-buttons' },
            h('button', { type: 'submit', class: 'btn btn-primary btn-lg', 'data-join': 'video', disabled: !webrtc }, icon('cam'), t('home.join.video')),
            h('div', { class: 'row' },
                h('button', { type: 'button', class: 'btn btn-secondary', 'data-join': 'audio', disabled: !webrtc, onclick: () => submit('audio') }, icon('mic'), t('home.join.audio')),
                h('button', { type: 'button', class: 'btn btn-secondary', 'data-join': 'none', onclick: () => submit('none') }, icon('screen'), t('home.join.none')))),
        testCallBox);

    const previewCard = h('section', { class: 'card preview-card', 'aria-label': t('meeting.self') },
        h('div', { class: 'preview' }, video, previewNote, h('div', { class: 'preview-controls' }, micBtn, camBtn)),
        h('div', { class: 'devices' },
            h('div', { class: 'field' }, h('label', { for: 'cam' }, t('home.camera')), camSel),
            h('div', { class: 'field' }, h('label', { for: 'mic' }, t('home.microphone')), micSel, level),
            canPickSpeaker
                ? h('div', { class: 'field' }, h('label', { for: 'speaker' }, t('home.speaker')), spkSel, toneBtn)
                : h('div', { class: 'field' }, toneBtn)));

    fill(root, h('div', { class: 'screen home' },
        brandBar(),
        h('main', { class: 'home-main', id: 'main' }, previewCard, form, registrationCard())));
    brandHome(root.querySelector('.screen.home'));
    paintToggles();
    (name ? (alias ? nameInput : aliasInput) : nameInput).focus();
    if (!preview.stream) restart({ remembered: true });
    else { video.srcObject = preview.stream; attachLevel(preview.stream); paintToggles(); fillDevices(); }
}

/** What the last device sign-in that came back from an identity provider left to say. */
let regNotice = '';

/** The words for a failed registration (registration.js's {kind, …}). */
function registrationFailure(failed) {
    return failed.kind === 'credentials' ? t('reg.credentials')
        : failed.kind === 'backoff' ? t('reg.backoff', { n: failed.seconds })
            : failed.kind === 'unreachable' ? t('reg.unreachable') : t('reg.refused', { reason: failed.reason });
}

/**
 * "Receive calls": sign in with a device address (registration.js) and its user name and
 * password, or at the identity provider its devices sign in with; or who is signed in.
 */
function registrationCard() {
    const card = h('section', { class: 'card register-card', 'aria-labelledby': 'reg-title' });
    const paint = () => {
        if (registration.registered) {
            const out = h('button', { type: 'button', class: 'btn btn-secondary', 'data-reg': 'sign-out', onclick: async () => { await registration.release(); paint(); } }, t('reg.signOut'));
            fill(card, h('h2', { id: 'reg-title' }, t('reg.title')),
                h('p', { class: 'reg-status', role: 'status' }, t('reg.signedIn', { alias: registration.alias })), out);
            return;
        }
        const alias = h('input', { id: 'reg-alias', name: 'device', autocomplete: 'username', autocapitalize: 'off', spellcheck: false, maxLength: 200, value: prefs.get('regAlias', '') });
        const user = h('input', { id: 'reg-user', name: 'user', autocomplete: 'username', autocapitalize: 'off', spellcheck: false, maxLength: 200, value: prefs.get('regUser', '') });
        const pass = h('input', { id: 'reg-pass', name: 'password', type: 'password', autocomplete: 'current-password', maxLength: 200 });
        const err = h('p', { class: 'form-error', role: 'alert' }, regNotice);
        regNotice = '';
        const submit = h('button', { type: 'submit', class: 'btn btn-secondary', 'data-reg': 'sign-in' }, t('reg.signIn'));
        const form = h('form', { novalidate: true, onsubmit: async (e) => {
            e.preventDefault();
            const [a, u, pw] = [alias.value.trim(), user.value.trim(), pass.value];
            if (!a || !u || !pw) { err.textContent = t('reg.need'); return; }
            submit.disabled = true;
            const failed = await registration.register(a, u, pw);
            submit.disabled = false;
            pass.value = '';
            if (!failed) { prefs.set('regAlias', a); prefs.set('regUser', u); paint(); announce(t('reg.signedIn', { alias: a }), { toast: false }); return; }
            err.textContent = registrationFailure(failed);
        } },
        h('div', { class: 'field' }, h('label', { for: 'reg-alias' }, t('reg.alias')), alias),
        h('div', { class: 'field' }, h('label', { for: 'reg-user' }, t('reg.user')), user),
        h('div', { class: 'field' }, h('label', { for: 'reg-pass' }, t('reg.password')), pass),
        err, submit);
        // single sign-on: offered when the node's devices sign in at identity providers
        const sso = h('div', { class: 'reg-sso' });
        registration.identityProviders().then((idps) => {
            if (!idps.length || !sso.isConnected) return;
            fill(sso, h('p', { class: 'muted small' }, t('reg.sso')), ...idps.map((idp) => h('button', { type: 'button', class: 'btn btn-secondary', 'data-reg-idp': idp.uuid, onclick: async (e) => {
                const a = alias.value.trim();
                if (!a) { err.textContent = t('reg.needAlias'); alias.focus(); return; }
                e.currentTarget.disabled = true;
                const back = `${location.origin}/webapp/home?${new URLSearchParams({ register: a })}&sso_token=__pexip-sso-token__`;
                const r = await registration.startSignIn(a, idp, back);
                if (r.kind === 'redirect') {
                    prefs.set('regAlias', a);
                    announce(t('sso.redirecting', { name: idp.name }), { toast: false });
                    location.assign(r.url);
                    return;
                }
                e.currentTarget.disabled = false;
                err.textContent = registrationFailure(r);
            } }, icon('people'), t('reg.sso.signin', { name: idp.name }))));
        });
        fill(card, h('h2', { id: 'reg-title' }, t('reg.title')), h('p', { class: 'muted small' }, t('reg.text')), form, sso);
    };
    paint();
    return card;
}

/**
 * A device sign-in coming back from its identity provider (`/webapp/home?register=<alias>
 * &sso_token=…`): the token leaves the address bar and registers the device; what went
 * wrong is shown on the card. Answers whether this load was such a return.
 */
async function finishDeviceSignIn() {
    const q = new URLSearchParams(location.search);
    const alias = q.get('register');
    const token = q.get('sso_token');
    if (!alias || !token) return false;
    cleanAddress();
    const failed = await registration.completeSignIn(alias, token);
    if (failed) {
        // after a sign-in, "wrong credentials" means the provider signed in someone else
        regNotice = failed.kind === 'credentials' ? t('reg.sso.mismatch', { alias }) : registrationFailure(failed);
    } else {
        announce(t('reg.signedIn', { alias }), { toast: false });
    }
    return true;
}

/** The dialog of a call ringing this browser's registration: Accept joins, Decline refuses. */
function incomingCall(call) {
    const name = call.remote_display_name || call.conference_alias;
    const accept = h('button', { type: 'button', class: 'btn btn-primary', 'data-call': 'accept' }, icon('phone'), t('call.accept'));
    const decline = h('button', { type: 'button', class: 'btn btn-danger', 'data-call': 'decline' }, icon('hangup'), t('call.decline'));
    const dlg = openDialog(t('call.incoming.title', { name }), [h('p', { class: 'muted' }, t('call.incoming.text', { alias: registration.alias }))], {
        actions: [decline, accept], closeLabel: t('dialog.close'), cls: 'incoming-dialog',
    });
    dlg.dataset.token = call.token;
    // the Close button and Escape only hide the dialog; the call rings on until it ends
    accept.addEventListener('click', async () => {
        registration.take(call.token);
        dlg.close();
        if (session) await leave(session);
        // the name typed on the home screen, else the one last used, else the device address
        const n = document.getElementById('name')?.value.trim() || prefs.get('name', '') || registration.alias;
        join({ alias: call.conference_alias, name: n, callType: hasWebRTC() ? 'video' : 'none', bandwidth: +prefs.get('bandwidth', 576) || 576, ticket: call.token, answering: true,
            home: { alias: '', name: prefs.get('name', '') } });
    });
    decline.addEventListener('click', async () => {
        dlg.close();
        await registration.decline(call);
        announce(t('call.declined', { name }), { toast: false });
    });
    incomingChime();
    accept.focus();
}

function brandBar(extra) {
    return h('header', { class: 'brand-bar' },
        h('a', { class: 'brand', href: '/webapp/home' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), t('app.name')),
        h('span', { class: 'muted brand-tag' }, t('app.tagline')),
        extra || null);
}

// === joining ===================================================================

let session = null;

/** The step list shown while joining; `set(step, 'active'|'done'|'skip')`. */
function joiningScreen(alias, onCancel, { moving = false, testCall = false } = {}) {
    const steps = ['contact', 'pin', 'waiting', 'media'];
    const items = Object.fromEntries(steps.map((s) => [s, h('li', { class: 'step', 'data-step': s }, h('span', { class: 'step-dot', 'aria-hidden': 'true' }), t(`join.step.${s}`))]));
    const body = h('div', { class: 'center-body' });
    const screen = h('div', { class: 'screen center' }, brandBar(),
        h('main', { class: 'center-main', id: 'main' },
            h('section', { class: 'card narrow', 'aria-labelledby': 'join-title' },
                h('h1', { id: 'join-title' }, testCall ? t('testcall.joining') : moving ? t('join.moving', { alias }) : t('join.title', { alias })),
                h('ol', { class: 'steps', 'aria-label': t('join.title', { alias }) }, steps.map((s) => items[s])),
                body,
                h('div', { class: 'row end' }, h('button', { class: 'btn btn-ghost', type: 'button', onclick: onCancel }, t('join.cancel'))))));
    fill(root, screen);
    return {
        body,
        set(step, st) {
            const el = items[step];
            el.classList.remove('active', 'done', 'skip');
            el.classList.add(st);
            if (st === 'active') { el.setAttribute('aria-current', 'step'); announce(t(`join.step.${step}`), { toast: false }); } else el.removeAttribute('aria-current');
        },
    };
}

/** Asks for the PIN; resolves the PIN string, 'none' (join as Guest) or null (cancel). */
function askPin(body, { hostPin, guestPin }) {
    return new Promise((resolve) => {
        const input = h('input', { id: 'pin', name: 'pin', type: 'password', inputMode: 'numeric', autocomplete: 'off', required: true, pattern: '[0-9]*#?', maxLength: 21 });
        const canGuest = hostPin && !guestPin;
        const form = h('form', { class: 'pin-form', onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) resolve(input.value.trim()); } },
            h('h2', {}, t('pin.title')),
            h('p', { class: 'muted' }, canGuest ? t('pin.host.prompt') : t('pin.prompt')),
            h('div', { class: 'field' }, h('label', { for: 'pin' }, t('pin.label')), input),
            h('div', { class: 'row' },
                h('button', { type: 'submit', class: 'btn btn-primary' }, t('pin.submit')),
                canGuest ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => resolve('none') }, t('pin.guest')) : null));
        fill(body, form);
        input.focus();
    });
}

/**
 * Hosts of this room sign in (single sign-on): one button per identity provider, and
 * "Join as Guest" unless the link said Host. Resolves {idp} or {guest: true}.
 */
function askIdp(body, idps, { canGuest }) {
    return new Promise((resolve) => {
        const buttons = idps.map((idp, i) => h('button', { type: 'button', class: `btn ${i === 0 ? 'btn-primary' : 'btn-secondary'}`, 'data-idp': idp.uuid, onclick: () => resolve({ idp }) }, t('sso.signin', { name: idp.name })));
        fill(body, h('div', { class: 'pin-form sso-form' },
            h('h2', {}, t('sso.title')),
            h('p', { class: 'muted' }, canGuest ? t('sso.prompt.guest') : t('sso.prompt')),
            h('div', { class: 'row' }, ...buttons,
                canGuest ? h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => resolve({ guest: true }) }, t('sso.guest')) : null)));
        buttons[0]?.focus();
    });
}

/** Virtual Reception: asks for the room's number; resolves the extension typed. */
function askExtension(body) {
    return new Promise((resolve) => {
        const input = h('input', { id: 'extension', name: 'extension', type: 'text', inputMode: 'numeric', autocomplete: 'off', required: true, pattern: '[0-9*#]*', maxLength: 40, spellcheck: false });
        const err = h('p', { class: 'form-error', role: 'alert' });
        const form = h('form', { class: 'pin-form extension-form', onsubmit: (e) => {
            e.preventDefault();
            const v = input.value.trim().replace(/#+$/, '');
            if (!v) { err.textContent = t('ext.need'); input.focus(); return; }
            resolve(v);
        } },
            h('h2', {}, t('ext.title')),
            h('p', { class: 'muted' }, t('ext.prompt')),
            h('div', { class: 'field' }, h('label', { for: 'extension' }, t('ext.label')), input),
            err,
            h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('ext.submit'))));
        fill(body, form);
        input.focus();
    });
}

/** getUserMedia constraints with the devices chosen on the home screen (if still there). */
function rememberedDevices(video) {
    const cam = prefs.get('camera', '');
    const mic = prefs.get('microphone', '');
    return {
        audio: mic ? { deviceId: { ideal: mic } } : true,
        video: video ? { ...(cam ? { deviceId: { ideal: cam } } : {}), width: { ideal: 1280 }, height: { ideal: 720 } } : false,
    };
}

async function acquireMedia(callType, { muteMic, muteCam }) {
    if (callType === 'none') return null;
    let stream = preview.stream;
    const needVideo = callType === 'video';
    if (stream && (needVideo ? stream.getVideoTracks().length : true) && stream.getAudioTracks().length) {
        preview.stream = null; // the call owns it now
        if (!needVideo) stream.getVideoTracks().forEach((tr) => { tr.stop(); stream.removeTrack(tr); });
    } else {
        stopPreview();
        try {
            stream = await navigator.mediaDevices.getUserMedia(rememberedDevices(needVideo));
        } catch (e) {
            throw new PexError(MEDIA_UNAVAILABLE);
        }
    }
    stream.getAudioTracks().forEach((tr) => { tr.enabled = !muteMic; });
    stream.getVideoTracks().forEach((tr) => { tr.enabled = !muteCam; });
    return stream;
}

/**
 * The whole join: media, request_token (PIN loop), event stream, call; then the
 * waiting screen or the meeting.
 */
async function join(p) {
    cleanAddress();
    // a sign-in token works once: retries and transfers go without it
    const ssoToken = p.ssoToken;
    p = { ...p, ssoToken: '' };
    const client = new MeetingClient({ alias: p.alias, displayName: p.name, callType: p.callType, bandwidth: p.bandwidth || 576 });
    const s = { client, params: p, stream: null, cancelled: false };
    session = s;
    const cancel = () => {
        s.cancelled = true;
        client.leave();
        s.stream?.getTracks().forEach((tr) => tr.stop());
        session = null;
        renderHome(homeOf(p));
    };
    const moving = !!p.ticket && !p.answering;
    const ui = joiningScreen(p.alias, cancel, { moving, testCall: !!p.testCall });
    if (moving) announce(t('join.moving', { alias: p.alias }), { toast: false });
    try {
        // said before the camera is asked for: without WebRTC the call cannot happen
        if (p.callType !== 'none' && !hasWebRTC()) throw new PexError(NO_WEBRTC);
        ui.set('contact', 'active');
        s.stream = await acquireMedia(p.callType, p);
        if (s.cancelled) return;
        let pin = p.pin || undefined;
        let extension = p.extension || undefined;
        let sso = ssoToken ? { ssoToken } : {};
        let r = await client.requestToken({ pin, extension, ticket: p.ticket, ...sso });
        sso = {};
        while (r.kind === 'pin' || r.kind === 'extension' || r.kind === 'idp' || r.kind === 'redirect') {
            if (s.cancelled) return;
            ui.set('contact', 'done');
            if (r.kind === 'redirect') {
                // off to the identity provider; it sends the browser back here with a
                // one-time token (routes.js: sso_token), and the join starts again
                ui.set('pin', 'active');
                fill(ui.body, h('p', { class: 'muted', role: 'status' }, t('sso.redirecting', { name: r.idp?.name || '' })));
                s.cancelled = true;
                s.stream?.getTracks().forEach((tr) => tr.stop());
                session = null;
                location.assign(r.url);
                return;
            }
            if (r.kind === 'idp') {
                if (!r.idps.length) throw new PexError('SSO enabled but no Identity Providers configured');
                const canGuest = p.role !== 'host';
                const choice = p.role === 'guest' ? { guest: true } : (ui.set('pin', 'active'), await askIdp(ui.body, r.idps, { canGuest }));
                fill(ui.body);
                if (s.cancelled) return;
                if (choice.guest) pin = 'none';
                else sso = { chosenIdp: choice.idp.uuid, ssoRedirectTarget: ssoReturnAddress(p) };
            } else if (r.kind === 'extension') {
                ui.set('contact', 'active');
                extension = await askExtension(ui.body);
                fill(ui.body);
            } else if (p.role === 'guest' && !r.guestPin && !pin) {
                pin = 'none';
            } else {
                ui.set('pin', 'active');
                pin = await askPin(ui.body, r);
                fill(ui.body);
            }
            if (s.cancelled) return;
            r = await client.requestToken({ pin, extension, ticket: p.ticket, ...sso });
            sso = {};
        }
        ui.set('contact', 'done');
        ui.set('pin', pin ? 'done' : 'skip');
        if (s.cancelled) return;
        client.addEventListener('ended', (e) => {
            if (session !== s) return;
            session = null;
            s.stream?.getTracks().forEach((tr) => tr.stop());
            showError(e.detail.reason, { ended: true, params: p });
        });
        // being transferred: same name and call type, the one-time ticket, the new alias
        client.addEventListener('transfer', (e) => {
            if (session !== s) return;
            session = null;
            const a = s.stream?.getAudioTracks()[0];
            const v = s.stream?.getVideoTracks()[0];
            s.stream?.getTracks().forEach((tr) => tr.stop());
            join({ ...p, alias: e.detail.alias, ticket: e.detail.ticket, answering: false, pin: '', extension: '', role: '',
                muteMic: a ? !a.enabled : p.muteMic, muteCam: v ? !v.enabled : p.muteCam });
        });
        const waiting = client.state.serviceType === 'waiting_room';
        ui.set('waiting', waiting ? 'active' : 'skip');
        ui.set('media', 'active');
        await client.start(s.stream);
        if (s.cancelled || session !== s) return;
        if (client.state.serviceType === 'waiting_room') renderWaiting(s);
        else renderMeeting(s);
    } catch (e) {
        if (s.cancelled || session !== s) return;
        session = null;
        s.stream?.getTracks().forEach((tr) => tr.stop());
        client.end(e?.reason || 'Could not execute critical network action');
        const reason = e instanceof PexError ? e.reason : 'Could not execute critical network action';
        if (!(e instanceof PexError)) console.error('[plenum] join failed', e);
        showError(reason, { params: p });
    }
}

/** What the home screen shows after a call: a test call goes back to the form as it was. */
function homeOf(p) {
    return p?.home || { alias: p?.alias, name: p?.name };
}

/** Failure or end of a meeting: the user message, the server's reason, its #pex code. */
function showError(reason, { ended = false, params } = {}) {
    const code = pexCode(reason);
    if (ended && code === 143) { testCallEnded(params); return; }
    const msg = reason === 'Device not registered' ? t('call.notRegistered') : has(`pex.${code}`) ? t(`pex.${code}`) : t('pex.default');
    const back = h('button', { class: 'btn btn-primary', type: 'button', onclick: () => renderHome(homeOf(params)) }, t('error.back'));
    const retry = code === 101 && params ? h('button', { class: 'btn btn-secondary', type: 'button', onclick: () => join({ ...params, pin: '', ticket: undefined }) }, t('error.retry')) : null;
    document.title = `${ended ? t('ended.title') : t('error.title')} · ${t('app.name')}`;
    fill(root, h('div', { class: 'screen center' }, brandBar(),
        h('main', { class: 'center-main', id: 'main' },
            h('section', { class: 'card narrow error-card', role: 'alert', 'aria-labelledby': 'err-title' },
                h('div', { class: 'error-icon', 'aria-hidden': 'true' }, '!'),
                h('h1', { id: 'err-title' }, ended ? t('ended.title') : t('error.title')),
                h('p', { class: 'error-message' }, msg),
                h('p', { class: 'error-reason' }, h('span', { class: 'reason' }, reason), ' · ', h('code', { class: 'pex' }, `#pex${code}`)),
                h('div', { class: 'row' }, back, retry)))));
    back.focus();
}

/**
 * The node ended a test call ("Test call finished", #pex143): not a failure, so a
 * friendly card — what it showed, what to do if it did not — with "Back to home" and
 * "Test again".
 */
function testCallEnded(params) {
    const back = h('button', { class: 'btn btn-primary', type: 'button', onclick: () => renderHome(homeOf(params)) }, t('error.back'));
    const again = params ? h('button', { class: 'btn btn-secondary', type: 'button', 'data-testcall': 'again', onclick: () => join({ ...params }) }, icon('testCall'), t('testcall.again')) : null;
    document.title = `${t('testcall.ended.title')} · ${t('app.name')}`;
    fill(root, h('div', { class: 'screen center' }, brandBar(),
        h('main', { class: 'center-main', id: 'main' },
            h('section', { class: 'card narrow ended-card testcall-ended', 'aria-labelledby': 'ended-title' },
                h('div', { class: 'ended-icon', 'aria-hidden': 'true' }, icon('checkCircle')),
                h('h1', { id: 'ended-title' }, t('testcall.ended.title')),
                h('p', { class: 'ended-message' }, t('testcall.ended.text')),
                h('p', { class: 'muted small' }, t('testcall.ended.help')),
                h('div', { class: 'row' }, back, again)))));
    announce(t('testcall.ended.title'), { toast: false });
    back.focus();
}

// === waiting room ==============================================================

function renderWaiting(s) {
    const { client } = s;
    const title = h('h1', { id: 'wait-title' });
    const text = h('p', { class: 'muted' });
    const themed = h('div', { class: 'theme-slot' });
    const paint = () => {
        const locked = client.state.conference?.locked;
        title.textContent = locked ? t('wait.locked.title') : t('wait.host.title');
        text.textContent = locked ? t('wait.locked.text') : t('wait.host.text');
        // the room theme's screen the node asks for (splash_screen: "waiting for the host")
        const key = client.state.splash?.key;
        const splash = key ? splashScreen(client, key) : null;
        if (splash?.dataset.themeScreen !== themed.firstChild?.dataset?.themeScreen) fill(themed, splash);
        document.title = `${title.textContent} · ${t('app.name')}`;
    };
    fill(root, h('div', { class: 'screen center waiting' }, brandBar(),
        h('main', { class: 'center-main', id: 'main' },
            h('section', { class: 'card narrow', 'aria-labelledby': 'wait-title', 'aria-live': 'polite' },
                themed,
                h('div', { class: 'pulse', 'aria-hidden': 'true' }, h('span', {}, initials(s.params.name))),
                title, text,
                h('p', { class: 'muted small' }, s.params.alias),
                h('div', { class: 'row center-row' }, h('button', { class: 'btn btn-danger', type: 'button', onclick: () => leave(s) }, icon('hangup'), t('wait.leave')))))));
    paint();
    const onConf = () => paint();
    client.addEventListener('theme', onConf);
    client.addEventListener('splash', onConf);
    const onType = (e) => {
        if (e.detail !== 'waiting_room') {
            client.removeEventListener('theme', onConf);
            client.removeEventListener('splash', onConf);
            client.removeEventListener('conference', onConf);
            client.removeEventListener('serviceType', onType);
            if (session === s) renderMeeting(s);
        }
    };
    client.addEventListener('conference', onConf);
    client.addEventListener('serviceType', onType);
}

async function leave(s) {
    if (session !== s) return;
    session = null;
    s.presView?.dispose();
    await s.client.leave();
    s.stream?.getTracks().forEach((tr) => tr.stop());
    renderHome(homeOf(s.params));
    announce(t('leave.confirm.ok'), { toast: false });
}

// === meeting ===================================================================

function displayName(p) {
    return p?.display_name || String(p?.uri || '').replace(/^sip:/, '') || '?';
}

/** The meeting's link as the node serves it (`/webapp/conference/<alias>`), never with a PIN. */
function meetingLink(alias) {
    return `${location.origin}/webapp/conference/${encodeURIComponent(alias)}`;
}

/**
 * "Copy meeting link": to the clipboard with a toast; where the clipboard API is missing
 * or refused, a dialog with the link selected for the user to copy.
 */
async function copyMeetingLink(alias) {
    const link = meetingLink(alias);
    try {
        if (!navigator.clipboard?.writeText) throw new DOMException('no clipboard API', 'NotSupportedError');
        await navigator.clipboard.writeText(link);
        announce(t('link.copied'));
    } catch (e) {
        console.info('[plenum] clipboard not available:', e?.name);
        const input = h('input', { id: 'meeting-link', class: 'link-input', type: 'text', readOnly: true, value: link, spellcheck: false, autocomplete: 'off' });
        input.addEventListener('copy', () => announce(t('link.copied')));
        openDialog(t('link.dialog.title'), [
            h('p', { class: 'muted' }, t('link.dialog.text')),
            h('div', { class: 'field' }, h('label', { for: 'meeting-link' }, t('link.dialog.label')), input),
        ], { cls: 'link-dialog' });
        input.focus();
        input.select();
    }
}

/**
 * The stage's own controls: incoming volume and mute (on the <audio> element, nothing is
 * sent), full screen of the stage and picture-in-picture of the composite — each only
 * where the browser offers it.
 */
function incomingControls(audioEl, video, box) {
    const vol = +prefs.get('volume', 1);
    audioEl.volume = Number.isFinite(vol) ? Math.min(1, Math.max(0, vol)) : 1;
    applySpeaker(audioEl).catch(() => {});
    const slider = h('input', { type: 'range', class: 'volume-slider', min: 0, max: 100, step: 5, value: Math.round(audioEl.volume * 100), 'aria-label': t('media.volume') });
    const muteBtn = h('button', { type: 'button', class: 'media-btn', 'data-media': 'mute' });
    const paint = () => {
        const off = audioEl.muted || audioEl.volume === 0;
        fill(muteBtn, icon(off ? 'volumeOff' : 'volume'));
        const label = audioEl.muted ? t('media.unmute') : t('media.mute');
        muteBtn.setAttribute('aria-label', label);
        muteBtn.title = label;
        muteBtn.setAttribute('aria-pressed', String(audioEl.muted));
        slider.setAttribute('aria-valuetext', `${Math.round(audioEl.volume * 100)} %`);
    };
    slider.addEventListener('input', () => {
        audioEl.volume = +slider.value / 100;
        if (audioEl.volume > 0) audioEl.muted = false;
        prefs.set('volume', String(audioEl.volume));
        paint();
    });
    muteBtn.addEventListener('click', () => { audioEl.muted = !audioEl.muted; paint(); });
    const items = [muteBtn, slider];
    if (document.fullscreenEnabled) {
        const fs = h('button', { type: 'button', class: 'media-btn', 'data-media': 'fullscreen' }, icon('fullscreen'));
        const paintFs = () => {
            const on = !!document.fullscreenElement;
            const label = on ? t('media.fullscreen.exit') : t('media.fullscreen');
            fs.setAttribute('aria-label', label);
            fs.title = label;
            fs.setAttribute('aria-pressed', String(on));
        };
        fs.addEventListener('click', () => {
            const target = box.closest('.stage') || box;
            const p = document.fullscreenElement ? document.exitFullscreen() : target.requestFullscreen();
            p?.catch?.((e) => announce(t('media.unavailable', { what: e?.name || '' }), { kind: 'warn' }));
        });
        document.addEventListener('fullscreenchange', paintFs);
        paintFs();
        items.push(fs);
    }
    if (document.pictureInPictureEnabled && !video.disablePictureInPicture) {
        const pip = h('button', { type: 'button', class: 'media-btn', 'data-media': 'pip', 'aria-label': t('media.pip'), title: t('media.pip') }, icon('pip'));
        pip.addEventListener('click', () => {
            const p = document.pictureInPictureElement ? document.exitPictureInPicture() : video.requestPictureInPicture();
            p?.catch?.((e) => announce(t('media.unavailable', { what: e?.name || '' }), { kind: 'warn' }));
        });
        items.push(pip);
    }
    paint();
    return h('div', { class: 'media-bar', role: 'group', 'aria-label': t('media.group') }, items);
}

function renderMeeting(s) {
    const { client, params } = s;
    const st = client.state;
    // a Test Call service: alone with one's own picture and voice, looped back; the
    // meeting-only parts (people and chat, hand, meeting link, lock/role badges) are hidden
    const testCall = st.serviceType === 'test_call';
    const ui = { panelOpen: !testCall && matchMedia('(min-width: 900px)').matches, tab: 'people', selfView: true, swapped: false, unread: 0, openActions: null, chatTo: '', filter: null };
    const chatLog = [];
    s.ui = ui;
    const title = testCall ? t('testcall.title') : params.alias;
    document.title = `${title} · ${t('app.name')}`;

    // --- stage: composite, presentation, self view ----------------------------
    const composite = h('video', { class: 'composite', autoplay: true, playsInline: true, muted: true, 'aria-label': params.alias });
    const pres = h('video', { class: 'presentation', autoplay: true, playsInline: true, muted: true });
    const audioEl = h('audio', { autoplay: true });
    const self = h('video', { class: 'self-view mirror', autoplay: true, muted: true, playsInline: true, 'aria-label': t('meeting.self') });
    const stageNote = h('div', { class: 'stage-note', role: 'status' });
    const presCaption = h('div', { class: 'pres-caption' });
    const soundBtn = h('button', { class: 'btn btn-primary sound-btn hidden', type: 'button' }, icon('volume'), t('meeting.enableSound'));
    const compositeBox = h('div', { class: 'tile composite-box' }, composite);
    const presBox = h('div', { class: 'tile pres-box hidden' }, pres, presCaption);
    const swapBtn = h('button', { class: 'swap-btn hidden', type: 'button', 'aria-label': t('meeting.swap'), title: t('meeting.swap') }, icon('swap'));
    const selfBox = h('div', { class: 'self-box' }, self);
    const mediaBar = incomingControls(audioEl, composite, compositeBox);
    const stage = h('section', { class: `stage${testCall ? ' is-test-call' : ''}`, 'aria-label': title }, compositeBox, presBox, swapBtn, selfBox, stageNote, soundBtn, mediaBar, audioEl);
    if (testCall) stage.append(h('p', { class: 'testcall-note', 'data-testcall': 'note' }, icon('testCall'), h('span', {}, t('testcall.note'))));
    // SSE splash_screen: the room theme's screen over the stage, for its duration
    const splashSlot = h('div', { class: 'splash-slot hidden', role: 'status' });
    stage.append(splashSlot);
    const showSplash = (sp) => {
        clearTimeout(ui.splashTimer);
        const el = sp ? splashScreen(client, sp.key) : null;
        fill(splashSlot, el);
        splashSlot.classList.toggle('hidden', !el);
        if (el && sp.seconds > 0) ui.splashTimer = setTimeout(() => { fill(splashSlot); splashSlot.classList.add('hidden'); }, sp.seconds * 1000);
    };
    client.addEventListener('splash', (e) => showSplash(e.detail));
    client.addEventListener('theme', () => showSplash(client.state.splash));
    showSplash(client.state.splash);
    let presView = null;
    presView = new PresentationView(client, { video: pres, box: presBox, onChange: () => { if (presView) paintStage(); } });
    s.presView = presView;
    soundBtn.addEventListener('click', () => { audioEl.play().then(() => soundBtn.classList.add('hidden')).catch(() => {}); });
    const swap = () => { ui.swapped = !ui.swapped; paintStage(); };
    swapBtn.addEventListener('click', swap);
    compositeBox.addEventListener('click', () => { if (compositeBox.classList.contains('thumb')) swap(); });
    presBox.addEventListener('click', () => { if (presBox.classList.contains('thumb')) swap(); });

    if (s.stream?.getVideoTracks().length) self.srcObject = new MediaStream(s.stream.getVideoTracks());

    const playVideo = (el, track) => {
        if (el.srcObject?.getVideoTracks?.()[0] === track) return;
        el.srcObject = new MediaStream([track]);
        el.play().catch(() => {});
    };
    client.addEventListener('videoTrack', (e) => { playVideo(composite, e.detail); paintStage(); });
    client.addEventListener('presentationTrack', (e) => { playVideo(pres, e.detail); paintStage(); });
    client.addEventListener('audioTrack', (e) => {
        audioEl.srcObject = new MediaStream([e.detail]);
        audioEl.play().then(() => soundBtn.classList.add('hidden')).catch(() => soundBtn.classList.remove('hidden'));
    });
    // tracks that arrived before this screen existed (waiting room → meeting)
    for (const tr of client.pc?.getTransceivers() || []) {
        const track = tr.receiver.track;
        if (!track || tr.currentDirection === 'inactive' || tr.currentDirection === 'sendonly') continue;
        if (tr === client.tx.slides) playVideo(pres, track);
        else if (track.kind === 'video') playVideo(composite, track);
        else { audioEl.srcObject = new MediaStream([track]); audioEl.play().catch(() => soundBtn.classList.remove('hidden')); }
    }
    composite.addEventListener('loadeddata', () => paintStage());
    composite.addEventListener('resize', () => paintStage());

    function paintStage() {
        const receiving = !!st.presentation && !presView.inWindow;
        presBox.classList.toggle('hidden', !receiving);
        swapBtn.classList.toggle('hidden', !receiving);
        const presMain = receiving && !ui.swapped;
        presBox.classList.toggle('thumb', receiving && !presMain);
        compositeBox.classList.toggle('thumb', presMain);
        compositeBox.setAttribute('tabindex', presMain ? '0' : '-1');
        presBox.setAttribute('tabindex', receiving && !presMain ? '0' : '-1');
        presCaption.textContent = receiving ? t('meeting.presenting', { name: st.presentation.presenter_name || '' }) : '';
        selfBox.classList.toggle('hidden', !ui.selfView || !s.stream?.getVideoTracks().length);
        let note = '';
        if (params.callType === 'none') note = t('meeting.controlOnly');
        else if (params.callType === 'audio') note = t('meeting.audioOnly');
        else if (st.iceState === 'disconnected' || st.iceState === 'failed') note = t('meeting.reconnecting');
        else if (!composite.videoWidth) note = t('meeting.connecting');
        if (st.presentation && presView.inWindow) note = t('pres.window.note');
        if (st.presenting) note = isFileTrack(client.presentTrack) ? t('files.presenting') : t('meeting.youPresent');
        stageNote.textContent = note;
        stageNote.classList.toggle('hidden', !note);
        compositeBox.classList.toggle('no-video', params.callType !== 'video');
    }
    for (const k of ['keydown']) {
        for (const box of [compositeBox, presBox]) box.addEventListener(k, (e) => { if ((e.key === 'Enter' || e.key === ' ') && box.classList.contains('thumb')) { e.preventDefault(); swap(); } });
    }

    // --- top bar -------------------------------------------------------------
    const lockBadge = h('span', { class: 'badge' });
    const countBadge = h('span', { class: 'badge badge-count' });
    const roleBadge = h('span', { class: 'badge badge-role' });
    const linkBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-small copy-link', 'aria-label': t('link.copy'), title: t('link.copy'), onclick: () => copyMeetingLink(params.alias) },
        icon('link'), h('span', { class: 'copy-link-label' }, t('link.copy')));
    const topbar = h('header', { class: 'topbar' },
        h('span', { class: 'brand-mark small', 'aria-hidden': 'true' }),
        h('h1', { class: 'meeting-title' }, title),
        testCall ? null : [linkBtn, lockBadge, countBadge, roleBadge]);

    // --- toolbar -------------------------------------------------------------
    const tbBtn = (cls, onclick) => h('button', { type: 'button', class: `tb-btn ${cls}`, onclick });
    const micBtn = tbBtn('tb-mic', () => toggleMic());
    const camBtn = tbBtn('tb-cam', () => toggleCam());
    const shareBtn = tbBtn('tb-share', () => toggleShare());
    const filesBtn = tbBtn('tb-files', () => files.toggle());
    const files = new FilePresenter({ client, stage, button: filesBtn, onChange: () => paintToolbar() });
    const startAudioBtn = tbBtn('tb-start-audio', () => startMedia('audio'));
    const startVideoBtn = tbBtn('tb-start-video', () => startMedia('video'));
    const selfBtn = tbBtn('tb-self', () => { ui.selfView = !ui.selfView; paintToolbar(); paintStage(); });
    const panelBtn = tbBtn('tb-panel', () => { ui.panelOpen = !ui.panelOpen; paintPanel(); paintToolbar(); });
    const leaveBtn = h('button', { type: 'button', class: 'tb-btn tb-leave danger', onclick: async () => {
        if (testCall || !settings.confirmLeave || await confirmDialog(t('leave.confirm.title'), t('leave.confirm.text', { alias: params.alias }), t('leave.confirm.ok'))) leave(s);
    } });
    const handBtn = tbBtn('tb-hand', () => setHand(!(st.participants.get(st.me)?.buzz_time > 0)));
    const setBtnEl = tbBtn('tb-settings', () => settingsDialog({ devices: deviceChoice() }));
    const statsBtn = tbBtn('tb-stats', () => statsOverlay(client));
    const toolbar = h('nav', { class: 'toolbar', 'aria-label': 'Meeting controls' }, micBtn, camBtn, startAudioBtn, startVideoBtn, shareBtn, filesBtn, selfBtn, handBtn, panelBtn, statsBtn, setBtnEl, leaveBtn);
    const setHand = (up) => client.participantAction(st.me, up ? 'buzz' : 'clearbuzz');
    const local = { micMuted: !!params.muteMic, camMuted: !!params.muteCam };
    const setBtn = (btn, iconName, label, { pressed, off, hidden, disabled, short } = {}) => {
        // rebuild the content only when it changes: replacing the node under the pointer
        // between mousedown and mouseup would swallow the click
        const look = `${iconName}\n${short || label}`;
        if (btn.dataset.look !== look) {
            btn.dataset.look = look;
            fill(btn, icon(iconName), h('span', { class: 'tb-label', 'aria-hidden': 'true' }, short || label));
        }
        btn.setAttribute('aria-label', label);
        btn.title = label;
        if (pressed != null) btn.setAttribute('aria-pressed', String(pressed));
        btn.classList.toggle('off', !!off);
        btn.classList.toggle('hidden', !!hidden);
        btn.disabled = !!disabled;
    };
    function paintToolbar() {
        const me = st.participants.get(st.me);
        const serverMuted = YES(me?.is_muted);
        const hasAudio = !!s.stream?.getAudioTracks().length;
        const hasVideo = !!s.stream?.getVideoTracks().length;
        const muted = local.micMuted || serverMuted;
        setBtn(micBtn, muted ? 'micOff' : 'mic', muted ? t('tb.mic.unmute') : t('tb.mic.mute'), { pressed: muted, off: muted, hidden: !hasAudio });
        setBtn(camBtn, local.camMuted ? 'camOff' : 'cam', local.camMuted ? t('tb.cam.on') : t('tb.cam.off'), { pressed: local.camMuted, off: local.camMuted, hidden: !hasVideo });
        const videoAllowed = st.tokenCallType !== 'audio';
        setBtn(startAudioBtn, 'mic', t('tb.startAudio'), { hidden: params.callType !== 'none', disabled: ui.startingMedia });
        setBtn(startVideoBtn, 'cam', t('tb.startVideo'), { hidden: params.callType === 'video' || !videoAllowed, disabled: ui.startingMedia });
        const canShare = !!navigator.mediaDevices?.getDisplayMedia && !!client.tx?.slides;
        setBtn(shareBtn, st.presenting ? 'screenOff' : 'screen', st.presenting ? t('tb.share.stop') : t('tb.share.start'), { pressed: st.presenting, hidden: !canShare, disabled: false });
        shareBtn.classList.toggle('active', st.presenting);
        setBtn(filesBtn, files.active ? 'screenOff' : 'files', files.active ? t('files.stop') : t('files.start'), { pressed: files.active, hidden: !canShare, disabled: files.loading });
        filesBtn.classList.toggle('active', files.active);
        setBtn(selfBtn, ui.selfView ? 'self' : 'selfOff', ui.selfView ? t('tb.self.hide') : t('tb.self.show'), { pressed: !ui.selfView, hidden: !hasVideo });
        setBtn(panelBtn, 'people', t('tb.panel'), { pressed: ui.panelOpen, short: t('tb.panel.short'), hidden: testCall });
        panelBtn.setAttribute('aria-expanded', String(ui.panelOpen));
        panelBtn.setAttribute('aria-controls', 'side-panel');
        for (const old of panelBtn.querySelectorAll('.tb-badge')) old.remove();
        const badge = ui.unread && !(ui.panelOpen && ui.tab === 'chat') ? h('span', { class: 'tb-badge', 'aria-label': `${ui.unread} ${t('panel.chat')}` }, String(ui.unread)) : null;
        if (badge) panelBtn.append(badge);
        const handUp = st.participants.get(st.me)?.buzz_time > 0;
        setBtn(handBtn, 'hand', handUp ? t('tb.hand.down') : t('tb.hand.up'), { pressed: handUp, hidden: testCall });
        handBtn.classList.toggle('active', handUp);
        setBtn(statsBtn, 'chart', t('tb.stats'));
        setBtn(setBtnEl, 'gear', t('tb.settings'));
        const waitingN = [...st.participants.values()].filter((p) => p.service_type === 'waiting_room').length;
        if (client.isHost && waitingN) panelBtn.append(h('span', { class: 'tb-badge tb-badge-wait', 'data-waiting': String(waitingN), 'aria-label': t('panel.waiting', { n: waitingN }) }, String(waitingN)));
        micBtn.classList.toggle('locked', serverMuted && !client.isHost && !st.conference?.guests_can_unmute);
        if (serverMuted && !client.isHost && !st.conference?.guests_can_unmute) micBtn.title = t('tb.guestMuted');
        setBtn(leaveBtn, 'hangup', t('tb.leave'));
    }
    async function toggleMic() {
        const me = st.participants.get(st.me);
        if (YES(me?.is_muted) && !local.micMuted) {
            // muted by a Host: ask the node to unmute us (a Guest may not be allowed)
            await client.participantAction(st.me, 'unmute');
            return;
        }
        local.micMuted = !local.micMuted;
        paintToolbar();
        await client.setMicMuted(local.micMuted);
    }
    async function toggleCam() {
        local.camMuted = !local.camMuted;
        paintToolbar();
        await client.setCameraMuted(local.camMuted);
    }
    /** Start audio / start video for those who joined without: new devices, a new call. */
    async function startMedia(kind) {
        if (ui.startingMedia) return;
        if (!hasWebRTC()) { announce(`${t('pex.170')} · #pex170`, { kind: 'warn' }); return; }
        ui.startingMedia = true;
        paintToolbar();
        try {
            let stream;
            try {
                stream = await navigator.mediaDevices.getUserMedia(rememberedDevices(kind === 'video'));
            } catch (e) {
                console.warn('[plenum] getUserMedia failed', e?.name, e?.message);
                announce(`${t('pex.171')} · #pex171`, { kind: 'warn' });
                return;
            }
            stream.getAudioTracks().forEach((tr) => { tr.enabled = !local.micMuted; });
            local.camMuted = false;
            const old = s.stream;
            s.stream = stream;
            params.callType = kind;
            old?.getTracks().forEach((tr) => tr.stop());
            self.srcObject = stream.getVideoTracks().length ? new MediaStream(stream.getVideoTracks()) : null;
            paintStage();
            try {
                await client.restartCall(stream, kind);
                if (local.micMuted) await client.setMicMuted(true);
                announce(kind === 'video' ? t('tb.startVideo.done') : t('tb.startAudio.done'), { toast: false });
            } catch (e) {
                announce(t('status.failed', { reason: e?.reason || e?.message || String(e) }), { kind: 'warn' });
            }
        } finally {
            ui.startingMedia = false;
            paintToolbar();
            paintStage();
        }
    }
    /**
     * The settings' camera, microphone and speaker choice: the devices in use (`null`:
     * this call sends no such track) and how a change is applied (the same call goes on).
     */
    function deviceChoice() {
        const audio = s.stream?.getAudioTracks()[0];
        const video = s.stream?.getVideoTracks()[0];
        return {
            camera: video ? trackDevice(video) : null,
            microphone: audio ? trackDevice(audio) : null,
            apply: async (changed) => {
                for (const [key, { id, label }] of Object.entries(changed)) {
                    try {
                        if (key === 'speaker') {
                            await applySpeaker(audioEl, id);
                            prefs.set('speaker', id);
                        } else {
                            await switchDevice(key === 'camera' ? 'video' : 'audio', id);
                        }
                        announce(t(`dev.${key}.now`, { name: label }));
                    } catch (e) {
                        console.warn('[plenum] device switch failed', key, e?.name, e?.message);
                        announce(t('dev.failed', { name: label, what: e?.name || e?.message || '' }), { kind: 'warn' });
                    }
                }
            },
        };
    }
    /**
     * Another camera or microphone during the call: a new track from device `id` replaces
     * the one sent (RTCRtpSender.replaceTrack on the same peer connection, no new call);
     * it starts as enabled as the old one was (a muted microphone stays muted, a camera
     * turned off stays off), the self view follows and the choice is remembered.
     */
    async function switchDevice(kind, id) {
        const old = kind === 'audio' ? s.stream?.getAudioTracks()[0] : s.stream?.getVideoTracks()[0];
        if (!old) return;
        const track = await openTrack(kind, id, () => old.stop());
        if (session !== s || client.ended) { track.stop(); return; }
        track.enabled = old.enabled;
        await client.replaceTrack(kind, track);
        prefs.set(kind === 'audio' ? 'microphone' : 'camera', id);
        if (kind === 'video') self.srcObject = new MediaStream([track]);
        paintToolbar();
        paintStage();
    }
    async function toggleShare() {
        if (st.presenting) { await client.stopPresenting(); return; }
        let display;
        try {
            display = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: settings.shareFps, max: settings.shareFps } }, audio: false });
        } catch (e) {
            announce(`${t('tb.share.start')}: ${e?.message || e}`, { kind: 'warn' });
            return;
        }
        const [track] = display.getVideoTracks();
        track.contentHint = 'detail';
        const ok = await client.present(track);
        if (!ok) track.stop();
    }

    // --- side panel ------------------------------------------------------------
    const TABS = ['people', 'chat', 'events'];
    const tabEls = Object.fromEntries(TABS.map((k) => [k, h('button', { role: 'tab', id: `tab-${k}`, 'aria-controls': `pane-${k}`, type: 'button', class: 'tab' })]));
    const { people: tabPeople, chat: tabChat, events: tabEvents } = tabEls;
    const hostBar = h('div', { class: 'host-bar', role: 'group', 'aria-label': t('host.controls') });
    const roster = h('ul', { class: 'roster', 'aria-label': t('panel.participants') });
    // filter box: text filters by name; "/" lists the slash commands, Enter runs one
    const filterInput = h('input', { id: 'roster-filter', class: 'filter-input', type: 'search', autocomplete: 'off', spellcheck: false, placeholder: t('filter.placeholder'), 'aria-describedby': 'cmd-hints' });
    const hints = h('ul', { id: 'cmd-hints', class: 'cmd-hints hidden', 'aria-label': t('cmd.list') });
    const filterChip = h('div', { class: 'filter-chip hidden' });
    const filterForm = h('form', { class: 'filter-form', role: 'search', onsubmit: (e) => { e.preventDefault(); submitFilter(); } },
        h('label', { for: 'roster-filter', class: 'sr-only' }, t('filter.label')), filterInput, hints, filterChip);
    const panePeople = h('div', { role: 'tabpanel', id: 'pane-people', 'aria-labelledby': 'tab-people', class: 'pane' }, hostBar, filterForm, roster);
    const eventList = h('ol', { class: 'event-list', 'aria-label': t('panel.events') }, h('li', { class: 'muted ev-empty' }, t('ev.none')));
    const paneEvents = h('div', { role: 'tabpanel', id: 'pane-events', 'aria-labelledby': 'tab-events', class: 'pane' }, eventList);
    const chatList = h('ol', { class: 'chat-list', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': t('panel.chat') });
    const chatTo = h('select', { id: 'chat-to', class: 'chat-to' });
    const chatInput = h('input', { id: 'chat-input', class: 'chat-input', autocomplete: 'off', placeholder: t('chat.placeholder'), maxLength: 4000 });
    const chatForm = h('form', { class: 'chat-form', onsubmit: (e) => { e.preventDefault(); sendChat(); } },
        h('div', { class: 'chat-to-row' }, h('label', { for: 'chat-to' }, t('chat.to')), chatTo),
        h('div', { class: 'chat-input-row' },
            h('label', { for: 'chat-input', class: 'sr-only' }, t('chat.input')),
            chatInput,
            h('button', { type: 'submit', class: 'btn btn-primary btn-icon', 'aria-label': t('chat.send'), title: t('chat.send') }, icon('send'))));
    const paneChat = h('div', { role: 'tabpanel', id: 'pane-chat', 'aria-labelledby': 'tab-chat', class: 'pane pane-chat' },
        chatList, st.chatEnabled ? chatForm : h('p', { class: 'muted pad' }, t('chat.disabled')));
    const panes = { people: panePeople, chat: paneChat, events: paneEvents };
    const tabs = h('div', { role: 'tablist', class: 'tabs', 'aria-label': t('tb.panel') }, TABS.map((k) => tabEls[k]));
    const panel = h('aside', { class: 'panel', id: 'side-panel', 'aria-label': t('tb.panel') }, tabs, panePeople, paneChat, paneEvents);
    const selectTab = (tab, focus) => { ui.tab = tab; if (tab === 'chat') ui.unread = 0; paintPanel(); paintToolbar(); if (focus) tabEls[tab].focus(); };
    for (const k of TABS) tabEls[k].addEventListener('click', () => selectTab(k));
    tabs.addEventListener('keydown', (e) => {
        if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
        e.preventDefault();
        const i = TABS.indexOf(ui.tab);
        selectTab(TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length], true);
    });
    if (!testCall) s.openTab = (tab) => { ui.panelOpen = true; selectTab(tab, true); };

    function paintPanel() {
        panel.classList.toggle('hidden', !ui.panelOpen);
        for (const k of TABS) {
            const on = ui.tab === k;
            tabEls[k].setAttribute('aria-selected', String(on));
            tabEls[k].tabIndex = on ? 0 : -1;
            panes[k].hidden = !on;
        }
        const all = [...st.participants.values()];
        const waitingN = all.filter((p) => p.service_type === 'waiting_room').length;
        fill(tabPeople, icon('people'), h('span', { class: 'tab-label' }, t('panel.participants')), h('span', { class: 'count' }, String(all.length - waitingN)),
            waitingN ? h('span', { class: 'count count-wait', 'data-waiting': String(waitingN), title: t('panel.waiting', { n: waitingN }), 'aria-label': t('panel.waiting', { n: waitingN }) }, String(waitingN)) : null);
        fill(tabChat, icon('chat'), h('span', { class: 'tab-label' }, t('panel.chat')), ui.unread ? h('span', { class: 'count count-alert' }, String(ui.unread)) : null);
        fill(tabEvents, icon('list'), h('span', { class: 'tab-label' }, t('panel.events')));
    }

    // --- events tab ------------------------------------------------------------
    function addEvent(text) {
        const at = new Date();
        eventList.querySelector('.ev-empty')?.remove();
        eventList.append(h('li', { class: 'event' },
            h('time', { class: 'ev-time', datetime: at.toISOString() }, at.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', second: '2-digit' })),
            h('span', { class: 'ev-text' }, text)));
        eventList.scrollTop = eventList.scrollHeight;
    }

    // --- filter box and slash commands ------------------------------------------
    function paintHints() {
        const v = filterInput.value;
        const show = v.startsWith('/');
        hints.classList.toggle('hidden', !show);
        if (!show) { fill(hints); return; }
        fill(hints, commandHints(v, client.isHost).map((c) => h('li', {},
            h('button', { type: 'button', class: 'cmd-hint', 'data-cmd': c.name, onclick: () => { filterInput.value = `${c.name}${c.args ? ' ' : ''}`; filterInput.focus(); paintHints(); if (!c.args) submitFilter(); } },
                h('code', {}, c.name), c.args ? h('span', { class: 'muted small' }, ` ${c.args}`) : null, h('span', { class: 'cmd-help' }, c.help)))));
    }
    filterInput.addEventListener('input', () => { paintHints(); if (!filterInput.value.startsWith('/')) paintRoster(); });
    filterInput.addEventListener('keydown', (e) => { if (e.key === 'Escape') { filterInput.value = ''; paintHints(); paintRoster(); } });
    const cmdCtx = {
        client, st,
        layoutNames: null,
        setHand: (up) => setHand(up),
        setFilter: (f) => { ui.filter = f; paintRoster(); },
    };
    async function submitFilter() {
        const v = filterInput.value.trim();
        if (!v.startsWith('/')) return;
        if (!cmdCtx.layoutNames) cmdCtx.layoutNames = (await client.layouts().catch(() => ({ names: [] }))).names;
        const r = await runCommand(v, cmdCtx);
        if (r.error) { announce(r.error, { kind: 'warn' }); return; }
        announce(t('cmd.done', { name: v.split(/\s+/)[0] }), { toast: false });
        filterInput.value = '';
        paintHints();
        paintRoster();
    }

    // --- roster ----------------------------------------------------------------
    const speaking = () => new Set((st.stage || []).filter((x) => x.vad > 0).map((x) => x.participant_uuid));
    function paintRoster() {
        const talking = speaking();
        const q = filterInput.value.startsWith('/') ? '' : filterInput.value.trim().toLowerCase();
        const all = [...st.participants.values()];
        const list = all.filter((p) => (!q || displayName(p).toLowerCase().includes(q)) && (!ui.filter || matchesFilter(p, ui.filter, talking)))
            .sort((a, b) => {
                const wa = a.service_type === 'waiting_room' ? 0 : 1;
                const wb = b.service_type === 'waiting_room' ? 0 : 1;
                // raised hands: in the order they were raised (behavior.md §5)
                if (ui.filter === 'handraised') return (a.buzz_time || 0) - (b.buzz_time || 0);
                return wa - wb || (a.start_time || 0) - (b.start_time || 0);
            });
        const items = list.length ? list.map((p) => cachedRosterItem(p, talking.has(p.uuid))) : [h('li', { class: 'muted pad' }, t('filter.none'))];
        // touch the DOM only where something changed: a row rebuilt under the pointer
        // would swallow the click on its buttons
        for (const id of rosterRows.keys()) if (!st.participants.has(id)) rosterRows.delete(id);
        if (items.length !== roster.children.length || items.some((li, i) => roster.children[i] !== li)) roster.replaceChildren(...items);
        filterChip.classList.toggle('hidden', !ui.filter);
        fill(filterChip, ui.filter ? [h('span', {}, t('filter.active', { f: ui.filter })), h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('filter.clear'), title: t('filter.clear'), onclick: () => { ui.filter = null; paintRoster(); } }, icon('cross'))] : null);
        paintHostBar();
        paintPanel();
        fillChatTo();
        const n = all.filter((p) => p.service_type !== 'waiting_room' && p.service_type !== 'connecting').length;
        countBadge.textContent = t('meeting.participants', { n });
    }

    /**
     * uuid → {sig, li}: a row is rebuilt only when what it shows changed. Speaking is not
     * part of the signature: it flips many times a second while someone talks, and a
     * rebuilt row would take its open action row (and the button under the pointer) with
     * it, so it is toggled in place.
     */
    const rosterRows = new Map();
    function cachedRosterItem(p, isSpeaking) {
        const sig = JSON.stringify([p, ui.openActions === p.uuid, client.isHost, st.chatEnabled]);
        let row = rosterRows.get(p.uuid);
        if (row?.sig !== sig) {
            row = { sig, li: rosterItem(p) };
            rosterRows.set(p.uuid, row);
        }
        markSpeaking(row.li, isSpeaking);
        return row.li;
    }

    function markSpeaking(li, isSpeaking) {
        li.classList.toggle('speaking', isSpeaking);
        const flag = li.querySelector('[data-speaking]');
        if (flag) flag.hidden = !isSpeaking;
    }

    function rosterItem(p) {
        const name = displayName(p);
        const me = p.uuid === st.me;
        const waiting = p.service_type === 'waiting_room';
        const ringing = p.service_type === 'connecting';
        const flags = [];
        const flag = (ic, label, cls = '') => h('span', { class: `flag ${cls}`, title: label, role: 'img', 'aria-label': label }, icon(ic));
        if (waiting) flags.push(h('span', { class: 'pill pill-wait' }, t('p.waiting')));
        if (ringing) flags.push(h('span', { class: 'pill pill-ring', 'data-ringing': '' }, t('p.ringing')));
        if (YES(p.is_presenting)) flags.push(flag('screen', t('p.presenting'), 'flag-accent'));
        if (p.buzz_time > 0) flags.push(flag('hand', t('p.hand'), 'flag-warn'));
        if (p.spotlight > 0) flags.push(flag('star', t('p.spotlight'), 'flag-warn'));
        if (p.rx_presentation_policy === 'DENY') flags.push(flag('screenOff', t('p.presDenied')));
        if (p.is_video_muted) flags.push(flag('camOff', t('p.camOff')));
        if (YES(p.is_muted) || p.is_client_muted) flags.push(flag('micOff', t('p.muted'), 'flag-danger'));
        else {
            const talk = flag('volume', t('p.speaking'), 'flag-ok');
            talk.dataset.speaking = '';
            talk.hidden = true;
            flags.push(talk);
        }
        const kind = YES(p.is_audio_only_call) ? t('p.audioOnly') : YES(p.is_video_call) ? null : t('p.controlOnly');
        const actions = [];
        if (ringing) {
            if (client.isHost) actions.push(h('button', { type: 'button', class: 'icon-btn danger', 'aria-label': t('p.cancelCall', { name }), title: t('p.cancelCall', { name }), 'data-cancel-call': p.uuid, onclick: () => client.participantAction(p.uuid, 'disconnect') }, icon('cross')));
        } else if (client.isHost && waiting && !me) {
            actions.push(h('button', { type: 'button', class: 'icon-btn ok', 'aria-label': t('p.admit', { name }), title: t('p.admit', { name }), onclick: () => client.participantAction(p.uuid, 'unlock') }, icon('check')));
            actions.push(h('button', { type: 'button', class: 'icon-btn danger', 'aria-label': t('p.reject', { name }), title: t('p.reject', { name }), onclick: () => client.participantAction(p.uuid, 'disconnect') }, icon('cross')));
        } else if (!me) {
            const open = ui.openActions === p.uuid;
            actions.push(h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('p.actions', { name }), title: t('p.actions', { name }), 'aria-expanded': String(open), 'aria-controls': `act-${p.uuid}`, 'data-actions': p.uuid, onclick: () => { ui.openActions = open ? null : p.uuid; paintRoster(); roster.querySelector(`[data-actions="${CSS.escape(p.uuid)}"]`)?.focus(); } }, icon('more')));
        }
        const li = h('li', { class: `person${waiting ? ' waiting' : ''}${ringing ? ' ringing' : ''}`, 'data-uuid': p.uuid },
            h('div', { class: 'person-main' },
                h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(name)),
                h('div', { class: 'person-text' },
                    h('span', { class: 'person-name' }, name, me ? h('span', { class: 'muted' }, ` (${t('meeting.you')})`) : null),
                    h('span', { class: 'person-sub' },
                        p.role === 'chair' ? h('span', { class: 'pill pill-host' }, t('role.host')) : waiting ? null : h('span', { class: 'pill' }, t('role.guest')),
                        kind ? h('span', { class: 'muted small' }, kind) : null)),
                h('div', { class: 'flags' }, flags),
                h('div', { class: 'person-actions' }, actions)));
        if (ui.openActions === p.uuid && !me && !waiting && !ringing) {
            li.append(h('div', { class: 'action-row', id: `act-${p.uuid}`, role: 'group', 'aria-label': t('p.actions', { name }) },
                participantActionItems({ client, st, onMessage: (uuid) => { ui.chatTo = uuid; selectTab('chat'); fillChatTo(); chatInput.focus(); } }, p, name)));
        }
        return li;
    }

    function paintHostBar() {
        // rebuilt only when what it shows changed (see the roster rows)
        const hands = [...st.participants.values()].some((p) => p.buzz_time > 0);
        const sig = JSON.stringify([client.isHost, st.conference, st.layout?.overlay_text_enabled, hands]);
        if (hostBar.dataset.sig === sig) return;
        hostBar.dataset.sig = sig;
        hostBar.classList.remove('hidden');
        hostBar.setAttribute('aria-label', client.isHost ? t('host.controls') : t('hostpin.group'));
        if (!client.isHost) {
            // a Guest can become Host with the Host PIN (keyed as DTMF, see hostpin.js)
            fill(hostBar, h('button', { type: 'button', class: 'btn btn-small btn-secondary', 'data-guest': 'hostpin', onclick: () => hostPinDialog(client) }, icon('crown'), t('hostpin.open')));
            return;
        }
        fill(hostBar, hostBarItems({ client, st, layoutDialog }));
    }

    async function layoutDialog() {
        const { names, svgs } = await client.layouts();
        const current = st.layout?.view;
        const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'layout-title' });
        const grid = h('div', { class: 'layout-grid' }, names.map((n) => h('button', {
            type: 'button', class: `layout-choice${n === current ? ' current' : ''}`, 'aria-pressed': String(n === current), 'data-layout': n,
            onclick: async () => { dlg.close(); await client.conferenceAction('transform_layout', { transforms: { layout: n } }); },
        }, svgs[n] ? h('img', { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgs[n])}`, alt: '' }) : null, h('span', {}, n))));
        dlg.append(h('div', { class: 'dialog-body' },
            h('h2', { id: 'layout-title' }, t('host.layout.title')), grid,
            h('div', { class: 'row end' }, h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => dlg.close() }, t('dialog.cancel')))));
        dlg.addEventListener('close', () => dlg.remove());
        document.body.append(dlg);
        dlg.showModal();
        (grid.querySelector('.current') || grid.querySelector('button'))?.focus();
    }

    // --- chat ------------------------------------------------------------------
    function fillChatTo() {
        const others = [...st.participants.values()].filter((p) => p.uuid !== st.me && p.service_type !== 'waiting_room');
        if (ui.chatTo && !others.some((p) => p.uuid === ui.chatTo)) ui.chatTo = '';
        fill(chatTo, h('option', { value: '' }, t('chat.everyone')),
            others.map((p) => h('option', { value: p.uuid, selected: p.uuid === ui.chatTo }, displayName(p))));
        chatTo.value = ui.chatTo;
    }
    chatTo.addEventListener('change', () => { ui.chatTo = chatTo.value; });

    function addChat(m) {
        chatLog.push(m);
        const time = new Date(m.at).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
        const li = h('li', { class: `msg${m.mine ? ' mine' : ''}${m.direct ? ' direct' : ''}` },
            h('div', { class: 'msg-head' },
                h('span', { class: 'msg-from' }, m.from),
                m.direct ? h('span', { class: 'pill pill-private' }, m.toName ? t('chat.privateTo', { name: m.toName }) : t('chat.private')) : null,
                h('time', { class: 'msg-time', datetime: new Date(m.at).toISOString() }, time)),
            h('p', { class: 'msg-text' }, linkify(m.text)));
        chatList.querySelector('.chat-empty')?.remove();
        chatList.append(li);
        chatList.scrollTop = chatList.scrollHeight;
    }
    chatList.append(h('li', { class: 'chat-empty muted' }, t('chat.empty')));

    async function sendChat() {
        const text = chatInput.value.trim();
        if (!text) return;
        const to = ui.chatTo || null;
        const toName = to ? displayName(st.participants.get(to)) : null;
        chatInput.value = '';
        const ok = await client.sendMessage(text, to);
        if (ok !== false) addChat({ from: t('meeting.you'), text, at: Date.now(), mine: true, direct: !!to, toName });
        else chatInput.value = text;
    }

    client.addEventListener('message', (e) => {
        const m = e.detail;
        if (!/^text\/plain/.test(m.type || '')) return;
        const from = displayName(st.participants.get(m.uuid)) !== '?' ? displayName(st.participants.get(m.uuid)) : m.origin || '?';
        addChat({ from, text: String(m.payload ?? ''), at: Date.now(), direct: !!m.direct });
        if (!(ui.panelOpen && ui.tab === 'chat')) {
            ui.unread++;
            paintPanel();
            paintToolbar();
        }
        announce(t('status.message', { name: from }), { toast: !(ui.panelOpen && ui.tab === 'chat') });
        addEvent(t('ev.chat', { name: from, text: String(m.payload ?? '').slice(0, 80) }));
    });

    // --- client events -----------------------------------------------------------
    const paintTop = () => {
        const locked = !!st.conference?.locked;
        fill(lockBadge, icon(locked ? 'lock' : 'unlock'), locked ? t('meeting.locked') : t('meeting.unlocked'));
        lockBadge.classList.toggle('badge-warn', locked);
        lockBadge.setAttribute('data-locked', String(locked));
        roleBadge.textContent = client.isHost ? t('role.host') : t('role.guest');
    };
    client.addEventListener('participants', () => { paintRoster(); paintToolbar(); paintTop(); });
    client.addEventListener('stage', () => paintRoster());
    const paintLayout = () => { if (st.layout?.view) stage.setAttribute('data-layout', st.layout.view); };
    client.addEventListener('layout', () => { paintLayout(); paintHostBar(); });
    paintLayout();
    client.addEventListener('conference', (e) => {
        const was = s.lastLocked;
        s.lastLocked = !!e.detail.locked;
        if (was !== undefined && was !== s.lastLocked) { announce(s.lastLocked ? t('status.locked') : t('status.unlocked')); addEvent(s.lastLocked ? t('ev.locked') : t('ev.unlocked')); }
        paintToolbar();
        paintTop();
        paintHostBar();
    });
    client.addEventListener('joined', (e) => {
        if (e.detail.service_type === 'connecting') { announce(t('status.calling', { name: displayName(e.detail) }), { toast: false }); return; }
        if (e.detail.uuid === st.me || e.detail.service_type === 'waiting_room') return;
        announce(t('status.joined', { name: displayName(e.detail) }), { toast: false });
        addEvent(t('ev.joined', { name: displayName(e.detail) }));
    });
    client.addEventListener('left', (e) => { announce(t('status.left', { name: displayName(e.detail) }), { toast: false }); addEvent(t('ev.left', { name: displayName(e.detail) })); });
    client.addEventListener('waiting', () => { if (client.isHost) waitingChime(); });
    client.addEventListener('waiting', (e) => { announce(t('p.waitingNotice', { name: displayName(e.detail) }), { kind: 'warn' }); addEvent(t('ev.waiting', { name: displayName(e.detail) })); });
    client.addEventListener('presentation', () => {
        ui.swapped = false;
        paintStage();
        if (st.presentation) announce(t('meeting.presenting', { name: st.presentation.presenter_name || '' }));
        addEvent(st.presentation ? t('ev.presStart', { name: st.presentation.presenter_name || '' }) : t('ev.presStop'));
    });
    const stopStats = startStatsReporting(client);
    client.addEventListener('ended', () => stopStats());
    client.addEventListener('transfer', () => stopStats());
    client.addEventListener('presenting', () => { paintToolbar(); paintStage(); });
    client.addEventListener('ice', () => paintStage());
    client.addEventListener('me', () => { paintToolbar(); paintTop(); if (s.lastRole !== client.state.role) { s.lastRole = client.state.role; paintRoster(); } });
    client.addEventListener('failed', (e) => announce(t('status.failed', { reason: e.detail.reason }), { kind: 'warn' }));
    client.addEventListener('serviceType', (e) => { if (e.detail === 'waiting_room' && session === s) renderWaiting(s); });

    fill(root, h('div', { class: `screen meeting${testCall ? ' is-test-call' : ''}` },
        topbar,
        h('main', { class: 'meeting-main', id: 'main' }, stage, panel),
        toolbar));
    paintStage();
    paintToolbar();
    paintRoster();
    paintTop();
    paintPanel();
    // join muted: tell the node so the roster shows it
    if (params.muteMic && s.stream?.getAudioTracks().length) client.setMicMuted(true);
    if (params.muteCam && s.stream?.getVideoTracks().length) client.setCameraMuted(true);
    params.muteMic = false;
    params.muteCam = false;
    micBtn.focus();
}

// === keyboard ==================================================================

addEventListener('keydown', (e) => {
    if (!session?.ui || e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target?.tagName || '').toLowerCase();
    if (['input', 'textarea', 'select'].includes(tag) || document.querySelector('dialog[open]')) return;
    const click = (sel) => { const el = document.querySelector(sel); if (el && !el.classList.contains('hidden')) el.click(); };
    // behavior.md §5: c camera, m microphone, s side panel, Shift+S events,
    // Shift+P presentation window, a add participant
    if (e.key === 'm') click('.tb-mic');
    else if (e.key === 'c') click('.tb-cam');
    else if (e.key === 's') click('.tb-panel');
    else if (e.key === 'S') session.openTab?.('events');
    else if (e.key === 'P') session.presView?.toggleWindow();
    else if (e.key === 'a') { if (session?.client?.isHost) addParticipantDialog(session.client); else return; }
    else return;
    e.preventDefault();
});

// === calls to this browser's registration ======================================

registration.addEventListener('incoming', (e) => incomingCall(e.detail));
registration.addEventListener('cancelled', (e) => {
    for (const dlg of document.querySelectorAll('dialog.incoming-dialog')) if (dlg.dataset.token === e.detail.token) dlg.close();
    if (e.detail.missed) announce(t('call.missed', { name: e.detail.remote_display_name || e.detail.conference_alias }), { kind: 'warn' });
});
// the node ended the registration (expired while offline, released elsewhere): the home
// screen's card shows the sign-in form again
registration.addEventListener('changed', () => { if (!session) root.querySelector('.register-card')?.replaceWith(registrationCard()); });

// === start =====================================================================

async function start() {
    // this tab's registration survives reloads and sign-in round trips
    if (!(await finishDeviceSignIn())) registration.resume();
    const route = parseRoute();
    if (!route) { renderHome({}); return; }
    const notice = route.issues?.length ? route.issues.map((x) => t('home.link.ignored', { param: x })).join(' ') : '';
    cleanAddress();
    if (route.straight && route.name && route.alias && !notice) {
        join({ ...route, bandwidth: route.bandwidth || +prefs.get('bandwidth', 576) || 576 });
        return;
    }
    renderHome({
        ...route,
        invited: !route.straight,
        notice: notice || (route.straight ? t('home.link.missing') : ''),
    });
}

// the branding package first (its defaults and language), but never waiting long for it
loadBranding().then(start);
