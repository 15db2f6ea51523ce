// Host controls: the bar above the roster (lock, mute all Guests, guests-can-unmute, name
// overlay, layout, lower all hands, add participant, end for all) and the per-participant
// action row (mute, spotlight, role, lower hand, deny/allow presentation, transfer, DTMF
// keypad, private message, disconnect). Only client REST API v2 calls (client.js).

import { YES } from './client.js';
import { t } from './i18n.js';
import { h, icon } from './dom.js';
import { announce, confirmDialog, openDialog } from './ui.js';

/** The host bar's buttons. ctx: {client, st, layoutDialog}. */
export function hostBarItems({ client, st, layoutDialog }) {
    const c = st.conference || {};
    const overlay = !!st.layout?.overlay_text_enabled;
    const hands = [...st.participants.values()].some((p) => p.buzz_time > 0);
    const b = (label, ic, fn, cls = 'btn-secondary', attrs = {}) => h('button', { type: 'button', class: `btn btn-small ${cls}`, onclick: fn, ...attrs }, icon(ic), label);
    const toggle = (label, on, fn, key) => h('button', { type: 'button', class: `btn btn-small btn-toggle${on ? ' on' : ''}`, role: 'switch', 'aria-checked': String(on), onclick: fn, 'data-host': key },
        h('span', { class: 'switch-dot', 'aria-hidden': 'true' }), label);
    return [
        c.started === false ? b(t('host.start'), 'play', () => client.conferenceAction('start_conference'), 'btn-primary', { 'data-host': 'start' }) : null,
        c.locked
            ? b(t('host.unlock'), 'unlock', () => client.conferenceAction('unlock'), 'btn-secondary', { 'data-host': 'unlock' })
            : b(t('host.lock'), 'lock', () => client.conferenceAction('lock'), 'btn-secondary', { 'data-host': 'lock' }),
        c.guests_muted
            ? b(t('host.unmuteGuests'), 'mic', () => client.conferenceAction('unmuteguests'), 'btn-secondary', { 'data-host': 'unmuteguests' })
            : b(t('host.muteGuests'), 'micOff', () => client.conferenceAction('muteguests'), 'btn-secondary', { 'data-host': 'muteguests' }),
        b(t('host.layout'), 'layout', () => layoutDialog(), 'btn-secondary', { 'data-host': 'layout' }),
        hands ? b(t('host.handsDownAll'), 'hand', () => client.conferenceAction('clearallbuzz'), 'btn-secondary', { 'data-host': 'handsdownall' }) : null,
        b(t('host.add'), 'people', () => addParticipantDialog(client), 'btn-secondary', { 'data-host': 'add' }),
        toggle(t('host.guestsCanUnmute'), !!c.guests_can_unmute, () => client.conferenceAction('set_guests_can_unmute', { setting: !c.guests_can_unmute }), 'guests-can-unmute'),
        toggle(t('host.overlay'), overlay, () => client.conferenceAction('transform_layout', { transforms: { enable_overlay_text: !overlay } }), 'overlay'),
        b(t('host.endAll'), 'hangup', () => endForAll(client), 'btn-danger-ghost', { 'data-host': 'disconnect-all' }),
    ];
}

export async function endForAll(client) {
    if (await confirmDialog(t('host.endAll'), t('host.endAll.confirm'), t('host.endAll'))) await client.conferenceAction('disconnect');
}

/** The action row of participant `p` (not self). ctx: {client, st, onMessage(uuid)}. */
export function participantActionItems({ client, st, onMessage }, p, name) {
    const btn = (label, fn, cls = '', key = '') => h('button', { type: 'button', class: `btn btn-small ${cls}`, 'data-act': key || null, onclick: async () => { await fn(); } }, label);
    const act = (n, body) => () => client.participantAction(p.uuid, n, body);
    const items = [];
    if (client.isHost) {
        items.push(YES(p.is_muted) ? btn(t('p.unmute'), act('unmute'), '', 'unmute') : btn(t('p.mute'), act('mute'), '', 'mute'));
        items.push(p.spotlight > 0 ? btn(t('p.spotlightOff'), act('spotlightoff'), '', 'spotlightoff') : btn(t('p.spotlightOn'), act('spotlighton'), '', 'spotlighton'));
        if (!p.is_external) items.push(p.role === 'chair' ? btn(t('p.makeGuest'), act('role', { role: 'guest' }), '', 'make-guest') : btn(t('p.makeHost'), act('role', { role: 'chair' }), '', 'make-host'));
        if (p.buzz_time > 0) items.push(btn(t('p.lowerHand'), act('clearbuzz'), '', 'lower-hand'));
        items.push(p.rx_presentation_policy === 'DENY'
            ? btn(t('p.allowPres'), act('allowrxpresentation'), '', 'allow-pres')
            : btn(t('p.denyPres'), act('denyrxpresentation'), '', 'deny-pres'));
        items.push(btn(t('p.transfer'), () => transferDialog(client, p, name), '', 'transfer'));
        items.push(btn(t('p.dtmf'), () => dtmfDialog(client, p, name), '', 'dtmf'));
    }
    if (st.chatEnabled) items.push(btn(t('p.message'), () => onMessage(p.uuid), '', 'message'));
    if (client.isHost) {
        items.push(btn(t('p.disconnect'), async () => {
            if (await confirmDialog(t('host.disconnect.confirm', { name }), '', t('p.disconnect'))) client.participantAction(p.uuid, 'disconnect');
        }, 'btn-danger-ghost', 'disconnect'));
    }
    return items;
}

/**
 * Add participant: search the node's devices (`directory?q=`, Hosts only), pick one,
 * choose the role, and ring it (`dial`); the roster then shows them ringing.
 */
export function addParticipantDialog(client) {
    const search = h('input', { id: 'add-search', name: 'q', type: 'search', autocomplete: 'off', autocapitalize: 'off', spellcheck: false, maxLength: 100 });
    const results = h('ul', { class: 'add-results', role: 'listbox', 'aria-label': t('add.search') });
    const role = h('select', { id: 'add-role', name: 'role' }, h('option', { value: 'GUEST' }, t('role.guest')), h('option', { value: 'HOST' }, t('role.host')));
    const err = h('p', { class: 'form-error', role: 'alert' });
    let picked = null;
    let seq = 0;
    const paint = (devices) => {
        results.replaceChildren(...(devices.length ? devices.map((d) => {
            const on = picked?.alias === d.alias;
            return h('li', { role: 'option', 'aria-selected': String(on), class: `add-result${on ? ' picked' : ''}`, 'data-alias': d.alias, tabIndex: 0,
                onclick: () => { picked = d; err.textContent = ''; paint(devices); },
                onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); picked = d; paint(devices); } } },
            h('span', { class: 'add-name' }, d.description), ' ',
            h('span', { class: 'muted small' }, d.alias, d.registered ? '' : ` · ${t('add.notRegistered')}`));
        }) : [h('li', { class: 'muted' }, t('add.none'))]));
    };
    const lookup = async () => {
        const mine = ++seq;
        const r = await client.request('GET', `directory?q=${encodeURIComponent(search.value.trim())}`).catch(() => null);
        if (mine !== seq) return;
        if (r?.status === 200 && Array.isArray(r.body?.result)) paint(r.body.result);
        else err.textContent = t('add.failed', { reason: typeof r?.body?.result === 'string' ? r.body.result : `HTTP ${r?.status ?? 0}` });
    };
    let debounce = null;
    search.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(lookup, 250); });
    const dlg = openDialog(t('host.add'), [
        h('div', { class: 'field' }, h('label', { for: 'add-search' }, t('add.search')), search),
        results,
        h('div', { class: 'field' }, h('label', { for: 'add-role' }, t('add.role')), role),
        err,
    ], {
        closeLabel: t('dialog.cancel'),
        cls: 'add-dialog',
        actions: [h('button', { type: 'submit', class: 'btn btn-primary', 'data-add': 'call' }, icon('phone'), t('add.call'))],
        onSubmit: async () => {
            if (!picked) { err.textContent = t('add.pick'); search.focus(); return; }
            const r = await client.request('POST', 'dial', { role: role.value, destination: picked.alias, protocol: 'auto' }).catch(() => null);
            if (r?.status !== 200) {
                err.textContent = t('add.failed', { reason: typeof r?.body?.result === 'string' ? r.body.result : `HTTP ${r?.status ?? 0}` });
                return;
            }
            dlg.close();
            announce(t('status.calling', { name: picked.description }));
        },
    });
    lookup();
    search.focus();
}

/** Transfer `p` to another meeting: alias, optional PIN, role. */
export function transferDialog(client, p, name) {
    const alias = h('input', { id: 'tr-alias', name: 'alias', required: true, autocapitalize: 'off', spellcheck: false, maxLength: 200 });
    const pin = h('input', { id: 'tr-pin', name: 'pin', inputMode: 'numeric', autocomplete: 'off', pattern: '[0-9]*#?', maxLength: 21 });
    const role = h('select', { id: 'tr-role', name: 'role' }, h('option', { value: 'guest' }, t('role.guest')), h('option', { value: 'host' }, t('role.host')));
    const err = h('p', { class: 'form-error', role: 'alert' });
    const dlg = openDialog(t('transfer.title', { name }), [
        h('div', { class: 'field' }, h('label', { for: 'tr-alias' }, t('transfer.alias')), alias),
        h('div', { class: 'field' }, h('label', { for: 'tr-pin' }, t('transfer.pin')), pin),
        h('div', { class: 'field' }, h('label', { for: 'tr-role' }, t('transfer.role')), role),
        err,
    ], {
        closeLabel: t('dialog.cancel'),
        actions: [h('button', { type: 'submit', class: 'btn btn-primary' }, t('p.transfer'))],
        onSubmit: async () => {
            const a = alias.value.trim();
            if (!a) { err.textContent = t('home.need.alias'); alias.focus(); return; }
            const body = { conference_alias: a, role: role.value };
            const pv = pin.value.trim().replace(/#+$/, '');
            if (pv) body.pin = pv;
            const ok = await client.participantAction(p.uuid, 'transfer', body);
            if (ok === false) { err.textContent = t('transfer.failed'); return; }
            dlg.close();
            announce(t('transfer.done', { name, alias: a }));
        },
    });
    alias.focus();
}

/** A DTMF keypad sending each key press to `p` (`participants/{uuid}/dtmf`). */
export function dtmfDialog(client, p, name) {
    const sent = h('output', { class: 'dtmf-sent', 'aria-live': 'polite' });
    const send = async (d) => {
        sent.textContent += d;
        await client.participantAction(p.uuid, 'dtmf', { digits: d });
    };
    const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
    const pad = h('div', { class: 'keypad', role: 'group', 'aria-label': t('p.dtmf') },
        keys.map((k) => h('button', { type: 'button', class: 'btn btn-secondary key', 'data-key': k, onclick: () => send(k) }, k)));
    const dlg = openDialog(t('dtmf.title', { name }), [h('p', { class: 'muted' }, t('dtmf.text')), sent, pad]);
    dlg.addEventListener('keydown', (e) => { if (keys.includes(e.key)) { e.preventDefault(); send(e.key); } });
    pad.querySelector('button').focus();
}
