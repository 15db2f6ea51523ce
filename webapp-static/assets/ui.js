// Shared UI pieces: the ARIA live region + toasts, confirm and generic dialogs, and the
// preferences store (localStorage, `plenum.<key>`; a branding package's defaults below it).

import { t } from './i18n.js';
import { h } from './dom.js';

/** Defaults that win over the built-in ones but not over the user's choice (branding.js). */
export const prefDefaults = {};

export const prefs = {
    get(k, d) { try { return localStorage.getItem(`plenum.${k}`) ?? prefDefaults[k] ?? d; } catch { return prefDefaults[k] ?? d; } },
    set(k, v) { try { localStorage.setItem(`plenum.${k}`, String(v)); } catch { /* private mode */ } },
    bool(k, d) { const v = prefs.get(k, null); return v == null ? d : v === 'true'; },
};

/** Announces `text` to screen readers and shows it briefly as a toast. */
export function announce(text, { toast = true, kind = 'info' } = {}) {
    const live = document.getElementById('live');
    const toasts = document.getElementById('toasts');
    live.textContent = '';
    // a fresh text node makes screen readers read repeated messages again
    setTimeout(() => { live.textContent = text; }, 30);
    if (!toast) return;
    const el = h('div', { class: `toast toast-${kind}` }, text);
    toasts.append(el);
    setTimeout(() => el.classList.add('toast-out'), 4000);
    setTimeout(() => el.remove(), 4600);
}

let dialogNo = 0;

/** A modal confirm built on <dialog>; resolves true on OK. */
export function confirmDialog(title, text, okLabel, { danger = true } = {}) {
    return new Promise((resolve) => {
        const id = `dlg-title-${++dialogNo}`;
        const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': id },
            h('form', { method: 'dialog', class: 'dialog-body' },
                h('h2', { id }, title),
                text ? h('p', { class: 'muted' }, text) : null,
                h('div', { class: 'row end' },
                    h('button', { class: 'btn btn-ghost', value: 'cancel' }, t('dialog.cancel')),
                    h('button', { class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, value: 'ok', 'data-ok': '' }, okLabel))));
        document.body.append(dlg);
        dlg.addEventListener('close', () => { resolve(dlg.returnValue === 'ok'); dlg.remove(); });
        dlg.showModal();
        dlg.querySelector('[data-ok]').focus();
    });
}

/**
 * A modal dialog with a title, `body` nodes and a Close button (plus `actions` buttons);
 * answers the <dialog> (already open). `onSubmit(form)` turns the body into a form.
 */
export function openDialog(title, body, { actions = [], onSubmit, closeLabel = t('dialog.close'), cls = '' } = {}) {
    const id = `dlg-title-${++dialogNo}`;
    const dlg = h('dialog', { class: `dialog ${cls}`, 'aria-labelledby': id });
    const inner = h(onSubmit ? 'form' : 'div', { class: 'dialog-body', onsubmit: onSubmit ? (e) => { e.preventDefault(); onSubmit(e.target, dlg); } : null },
        h('h2', { id }, title),
        body,
        h('div', { class: 'row end' },
            h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => dlg.close() }, closeLabel),
            actions));
    dlg.append(inner);
    dlg.addEventListener('close', () => dlg.remove());
    document.body.append(dlg);
    dlg.showModal();
    return dlg;
}
