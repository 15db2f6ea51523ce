// A Guest in the meeting becomes Host by entering the Host PIN (behavior.md §2): the
// PIN goes to the node as DTMF on the Guest's own participant (`participants/{me}/dtmf`
// with the digits and a closing `#`), the way a phone keys it in. The node answers the
// DTMF itself with `true` either way; the role change arrives as a participant_update,
// so the dialog waits for it and otherwise says the PIN was not accepted.

import { t } from './i18n.js';
import { h } from './dom.js';
import { announce, openDialog } from './ui.js';

/** How long to wait for the role change before saying the PIN was not accepted. */
const ROLE_CHANGE_WAIT_MS = 6000;

/** Resolves true once the client's own role is HOST, false after `ms`. */
function becomesHost(client, ms) {
    if (client.isHost) return Promise.resolve(true);
    return new Promise((resolve) => {
        const done = (v) => { clearTimeout(timer); client.removeEventListener('me', onMe); resolve(v); };
        const onMe = () => { if (client.isHost) done(true); };
        const timer = setTimeout(() => done(false), ms);
        client.addEventListener('me', onMe);
    });
}

export function hostPinDialog(client) {
    const input = h('input', { id: 'host-pin', name: 'host-pin', type: 'password', inputMode: 'numeric', autocomplete: 'off', required: true, pattern: '[0-9]*#?', maxLength: 21 });
    const err = h('p', { class: 'form-error', role: 'alert' });
    const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '⌫', '0', '#'];
    const pad = h('div', { class: 'keypad', role: 'group', 'aria-label': t('hostpin.keypad') },
        keys.map((k) => h('button', {
            type: 'button', class: 'btn btn-secondary key', 'data-key': k, 'aria-label': k === '⌫' ? t('hostpin.backspace') : k,
            onclick: () => {
                if (k === '⌫') input.value = input.value.slice(0, -1);
                else if (input.value.length < 21) input.value += k;
                input.focus();
            },
        }, k)));
    let busy = false;
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('hostpin.submit'));
    const dlg = openDialog(t('hostpin.title'), [
        h('p', { class: 'muted' }, t('hostpin.text')),
        h('div', { class: 'field' }, h('label', { for: 'host-pin' }, t('pin.label')), input),
        pad,
        err,
    ], {
        closeLabel: t('dialog.cancel'),
        actions: [submit],
        cls: 'hostpin-dialog',
        onSubmit: async () => {
            if (busy) return;
            const digits = input.value.trim().replace(/#+$/, '');
            err.textContent = '';
            if (!/^[0-9]{1,20}$/.test(digits)) { err.textContent = t('hostpin.invalid'); input.focus(); return; }
            busy = true;
            submit.disabled = true;
            err.textContent = t('hostpin.checking');
            const sent = await client.participantAction(client.state.me, 'dtmf', { digits: `${digits}#` });
            const ok = sent !== false && await becomesHost(client, ROLE_CHANGE_WAIT_MS);
            busy = false;
            submit.disabled = false;
            if (ok) {
                dlg.close();
                announce(t('hostpin.done'));
                return;
            }
            input.value = '';
            err.textContent = t('hostpin.rejected');
            input.focus();
        },
    });
    input.focus();
    return dlg;
}
