// Cameras, microphones and speakers: the device lists of the home screen and of the
// meeting's settings, the chosen speaker on media elements (`setSinkId`), and a new
// camera or microphone track for switching devices during a call (the call itself sends
// it through MeetingClient.replaceTrack, see app.js).

import { t } from './i18n.js';
import { h } from './dom.js';
import { prefs } from './ui.js';

/** Whether the browser lets a page pick the speaker (`setSinkId`). */
export const canPickSpeaker = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

/** Sends `el`'s sound to speaker `id` (default: the one chosen, prefs `speaker`). */
export function applySpeaker(el, id = prefs.get('speaker', '')) {
    if (!canPickSpeaker || !id) return Promise.resolve();
    return el.setSinkId(id).catch((e) => { console.warn('[plenum] setSinkId failed', e?.name); throw e; });
}

/** The browser's media devices (labels only once a camera or microphone was allowed). */
export async function listDevices() {
    return (await navigator.mediaDevices?.enumerateDevices().catch(() => [])) || [];
}

/** `<option>`s for the devices of `kind` (`videoinput`, `audioinput`, `audiooutput`), `current` selected. */
export function deviceOptions(devices, kind, current) {
    const list = devices.filter((d) => d.kind === kind);
    if (!list.length) return [h('option', { value: '' }, t('device.none'))];
    return list.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${t('device.default')} ${i + 1}`));
}

/** The device a track comes from (`getSettings().deviceId`), or ''. */
export const trackDevice = (track) => track?.getSettings?.().deviceId || '';

/**
 * A new `kind` (`audio` | `video`) track from device `id`. Some cameras open only once:
 * if the device is busy (`NotReadableError`), `release()` stops the track in use and it
 * is tried once more (should that fail too, the call sends nothing of this kind until
 * another device is picked).
 */
export async function openTrack(kind, id, release) {
    const constraints = kind === 'audio'
        ? { audio: { deviceId: { exact: id } } }
        : { video: { deviceId: { exact: id }, width: { ideal: 1280 }, height: { ideal: 720 } } };
    const open = async () => (await navigator.mediaDevices.getUserMedia(constraints)).getTracks()[0];
    try {
        return await open();
    } catch (e) {
        if (e?.name !== 'NotReadableError' || !release) throw e;
        release();
        return open();
    }
}
