// Settings (in a meeting: camera, microphone and speaker, switched without leaving the
// call; bandwidth, confirm on disconnect, screen-share frame rate, high contrast,
// language override, "Download logs" of logs.js), the "media stats" overlay (from
// RTCPeerConnection.getStats and the request_token `version`) and the `statistics`
// POSTs, sent only when the token result advertises `client_stats_update_interval`.

import { t, lang, languages } from './i18n.js';
import { h, fill } from './dom.js';
import { prefs, openDialog, announce } from './ui.js';
import { downloadLogs } from './logs.js';
import { canPickSpeaker, listDevices, deviceOptions } from './devices.js';

export const BANDWIDTHS = [
    { kbps: 256, label: 'bw.low' },
    { kbps: 576, label: 'bw.medium' },
    { kbps: 1264, label: 'bw.high' },
    { kbps: 2464, label: 'bw.max' },
];

export const settings = {
    get bandwidth() { return +prefs.get('bandwidth', 576) || 576; },
    get confirmLeave() { return prefs.bool('confirmLeave', true); },
    get shareFps() { return Math.min(30, Math.max(1, +prefs.get('shareFps', 2) || 2)); },
    get highContrast() { return prefs.bool('highContrast', false); },
    /** Receive presentations as full-motion video ("HD") rather than stills from the start. */
    get presFullMotion() { return prefs.bool('presFullMotion', false); },
};

export function applyContrast() {
    document.documentElement.classList.toggle('high-contrast', settings.highContrast);
}

/**
 * The settings dialog. In a meeting, `devices` adds the camera, microphone and speaker
 * choice, applied on Save: `{camera, microphone, apply(changed)}` with the device ids in
 * use (`null`: the call sends no such track, so no choice is shown) and `apply` taking
 * `{camera?|microphone?|speaker?: {id, label}}` for the choices the user changed.
 */
export function settingsDialog({ devices } = {}) {
    const row = (id, label, el) => h('div', { class: el.type === 'checkbox' ? 'field check' : 'field' }, el.type === 'checkbox' ? [el, h('label', { for: id }, label)] : [h('label', { for: id }, label), el]);
    const deviceSel = {};
    if (devices) {
        const wanted = [
            ['camera', 'videoinput', 'home.camera', devices.camera],
            ['microphone', 'audioinput', 'home.microphone', devices.microphone],
            ['speaker', 'audiooutput', 'home.speaker', canPickSpeaker ? prefs.get('speaker', '') : null],
        ].filter(([, , , current]) => current != null);
        for (const [key, kind, label, current] of wanted) {
            // `initial` stays null until the list is there: Save before that changes nothing
            deviceSel[key] = { sel: h('select', { id: `set-${key}`, 'data-device': key }, h('option', { value: '' }, '…')), kind, label, current, initial: null };
        }
        listDevices().then((list) => {
            for (const d of Object.values(deviceSel)) {
                fill(d.sel, deviceOptions(list, d.kind, d.current));
                d.initial = d.sel.value;
            }
        });
    }
    const deviceRows = Object.entries(deviceSel).map(([key, d]) => row(`set-${key}`, t(d.label), d.sel));
    const bw = h('select', { id: 'set-bw' }, BANDWIDTHS.map((b) => h('option', { value: b.kbps, selected: b.kbps === settings.bandwidth }, t(b.label))));
    const confirm = h('input', { id: 'set-confirm', type: 'checkbox', checked: settings.confirmLeave });
    const fps = h('select', { id: 'set-fps' }, [2, 5, 10, 15, 30].map((n) => h('option', { value: n, selected: n === settings.shareFps }, t('set.fps.n', { n }))));
    const contrast = h('input', { id: 'set-contrast', type: 'checkbox', checked: settings.highContrast });
    const fullMotion = h('input', { id: 'set-hd', type: 'checkbox', checked: settings.presFullMotion });
    const language = h('select', { id: 'set-lang' },
        h('option', { value: '' }, t('set.lang.auto')),
        languages.map((l) => h('option', { value: l, selected: prefs.get('lang', '') === l }, t(`lang.${l}`))));
    const dlg = openDialog(t('set.title'), [
        deviceRows.length
            ? h('div', { class: 'set-devices', role: 'group', 'aria-labelledby': 'set-devices-title' }, h('h3', { id: 'set-devices-title' }, t('set.devices')), deviceRows)
            : null,
        row('set-bw', t('home.bandwidth'), bw),
        row('set-confirm', t('set.confirmLeave'), confirm),
        row('set-fps', t('set.fps'), fps),
        row('set-hd', t('set.presHd'), fullMotion),
        row('set-contrast', t('set.contrast'), contrast),
        row('set-lang', t('set.lang'), language),
        h('p', { class: 'muted small' }, t('set.note')),
        h('div', { class: 'field set-logs' }, h('button', { type: 'button', class: 'btn btn-secondary', 'data-logs': '', onclick: downloadLogs }, t('set.logs')), h('p', { class: 'muted small' }, t('set.logs.hint'))),
    ], {
        closeLabel: t('dialog.cancel'),
        actions: [h('button', { type: 'submit', class: 'btn btn-primary' }, t('set.save'))],
        onSubmit: () => {
            prefs.set('bandwidth', bw.value);
            prefs.set('confirmLeave', confirm.checked);
            prefs.set('shareFps', fps.value);
            prefs.set('highContrast', contrast.checked);
            prefs.set('presFullMotion', fullMotion.checked);
            const changed = {};
            for (const [key, d] of Object.entries(deviceSel)) {
                if (d.initial != null && d.sel.value && d.sel.value !== d.initial) changed[key] = { id: d.sel.value, label: d.sel.selectedOptions[0]?.textContent || '' };
            }
            const langChanged = (prefs.get('lang', '') || '') !== language.value;
            prefs.set('lang', language.value);
            applyContrast();
            dlg.close();
            announce(langChanged ? t('set.saved.lang') : t('set.saved'));
            if (Object.keys(changed).length) devices.apply(changed);
        },
    });
    (Object.values(deviceSel)[0]?.sel || bw).focus();
}

// --- media statistics -----------------------------------------------------------

/** Per-stream numbers from getStats: {audio:{rx,tx}, video:{rx,tx}, presentation:{rx,tx}}. */
async function collect(client, last) {
    const pc = client.pc;
    if (!pc) return null;
    const report = await pc.getStats();
    const codecs = new Map();
    report.forEach((r) => { if (r.type === 'codec') codecs.set(r.id, (r.mimeType || '').split('/')[1] || ''); });
    const slidesMid = client.tx?.slides?.mid;
    const out = {};
    const now = performance.now();
    report.forEach((r) => {
        if (r.type !== 'inbound-rtp' && r.type !== 'outbound-rtp') return;
        const rx = r.type === 'inbound-rtp';
        const stream = r.kind === 'audio' ? 'audio' : (r.mid != null && r.mid === slidesMid ? 'presentation' : 'video');
        const bytes = rx ? r.bytesReceived : r.bytesSent;
        const prev = last.get(r.id);
        last.set(r.id, { bytes, at: now });
        // a rate needs two samples: none ("–") on the first look
        const kbps = prev && now > prev.at ? Math.round(((bytes - prev.bytes) * 8) / (now - prev.at)) : null;
        const o = (out[stream] ||= {});
        const side = rx ? 'rx' : 'tx';
        o[`${side}_codec`] = codecs.get(r.codecId) || o[`${side}_codec`] || '';
        if (kbps != null) o[`${side}_bitrate`] = (o[`${side}_bitrate`] || 0) + kbps;
        if (rx) {
            o.rx_packets_received = (o.rx_packets_received || 0) + (r.packetsReceived || 0);
            o.rx_packets_lost = (o.rx_packets_lost || 0) + Math.max(0, r.packetsLost || 0);
            if (r.jitter != null) o.rx_jitter = Math.round(r.jitter * 1000);
        } else {
            o.tx_packets_sent = (o.tx_packets_sent || 0) + (r.packetsSent || 0);
        }
        if (r.frameWidth) o[`${side}_resolution`] = `${r.frameWidth}x${r.frameHeight}`;
        if (r.framesPerSecond) o[`${side}_fps`] = Math.round(r.framesPerSecond);
    });
    return out;
}

/** Opens the stats overlay (a dialog refreshed every second). */
export function statsOverlay(client) {
    const v = client.tokenResult?.version || {};
    const version = [v.version_id, v.pseudo_version].filter(Boolean).join(' / ') || '?';
    const table = h('table', { class: 'stats-table' });
    const last = new Map();
    const paint = async () => {
        const s = await collect(client, last).catch(() => null);
        const streams = ['audio', 'video', 'presentation'].filter((k) => s?.[k]);
        const rows = [['codec', 'codec'], ['bitrate', 'kbps'], ['resolution', ''], ['fps', '']];
        fill(table,
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('stats.stream')), h('th', { scope: 'col' }, t('stats.rx')), h('th', { scope: 'col' }, t('stats.tx')))),
            h('tbody', {}, streams.map((k) => [
                h('tr', { class: 'stats-group' }, h('th', { scope: 'rowgroup', colspan: 3 }, t(`stats.${k}`))),
                rows.filter(([f]) => s[k][`rx_${f}`] != null || s[k][`tx_${f}`] != null).map(([f, unit]) => h('tr', {},
                    h('th', { scope: 'row' }, t(`stats.${f}`)),
                    h('td', {}, s[k][`rx_${f}`] != null ? `${s[k][`rx_${f}`]}${unit && unit !== 'codec' ? ` ${unit}` : ''}` : '–'),
                    h('td', {}, s[k][`tx_${f}`] != null ? `${s[k][`tx_${f}`]}${unit && unit !== 'codec' ? ` ${unit}` : ''}` : '–'))),
                h('tr', {}, h('th', { scope: 'row' }, t('stats.packets')), h('td', { 'data-stat': `${k}-packets` }, t('stats.packets.rx', { n: s[k].rx_packets_received ?? 0, lost: s[k].rx_packets_lost ?? 0 })), h('td', {}, String(s[k].tx_packets_sent ?? '–'))),
            ])));
        if (!streams.length) table.append(h('caption', {}, t('stats.none')));
    };
    const dlg = openDialog(t('stats.title'), [h('p', { class: 'muted small' }, t('stats.version', { version }), ' · ', lang), table], { cls: 'stats-dialog' });
    paint();
    const timer = setInterval(paint, 1000);
    dlg.addEventListener('close', () => clearInterval(timer));
}

/** `statistics` POSTs every `client_stats_update_interval` ms, only when advertised. */
export function startStatsReporting(client) {
    const every = Number(client.tokenResult?.client_stats_update_interval);
    if (!every || every < 1000) return () => {};
    const last = new Map();
    const timer = setInterval(async () => {
        if (client.ended || !client.callBase) return;
        const s = await collect(client, last).catch(() => null);
        if (!s) return;
        const body = {};
        for (const k of ['audio', 'video', 'presentation']) if (s[k]) body[k] = s[k];
        client.request('POST', `${client.callBase}/statistics`, body).catch(() => {});
    }, every);
    return () => clearInterval(timer);
}
