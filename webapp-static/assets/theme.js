// Room themes (behavior.md §10, client-api-v2.md §2.1): the room's `theme/` answer (204 =
// none) holds splash screens keyed like `direct_media_waiting_for_host`, each a
// background image (`theme/<path>?token=`) and text lines with a colour. The node says
// which one to show with SSE `splash_screen` (e.g. "waiting for the host" while a Guest
// waits; `display_duration` 0 = until cleared by `null`): on the waiting screen inside
// its card, in the meeting over the stage.

import { h } from './dom.js';

/** `0xRRGGBB` → `#rrggbb` (anything else: null, the app's own colour stays). */
function cssColor(n) {
    return Number.isInteger(n) && n >= 0 && n <= 0xffffff ? `#${n.toString(16).padStart(6, '0')}` : null;
}

/** A theme path inside the room's theme folder: plain relative segments only. */
function themePath(p) {
    if (typeof p !== 'string' || !p || p.length > 200) return null;
    const segs = p.split('/');
    if (/^[a-z][a-z0-9+.-]*:/i.test(p) || segs.some((s) => !s || s.startsWith('.') || s.includes('\\'))) return null;
    return segs.map(encodeURIComponent).join('/');
}

/**
 * The splash screen `key` of the client's theme as an element, or null when the room has
 * no theme or no such screen. Text only (never HTML); the image rides with the token.
 */
export function splashScreen(client, key) {
    const screen = client.theme?.[key];
    if (!screen || typeof screen !== 'object') return null;
    const path = themePath(screen.background?.path);
    const el = h('div', { class: 'theme-screen', 'data-theme-screen': key });
    if (path) {
        const img = h('img', { class: 'theme-bg', alt: '', src: `${client.base}/theme/${path}?token=${encodeURIComponent(client.token)}` });
        img.addEventListener('error', () => img.remove());
        el.append(img);
    }
    const texts = (Array.isArray(screen.elements) ? screen.elements : [])
        .filter((e) => e?.type === 'text' && typeof e.text === 'string' && e.text.trim())
        .map((e) => {
            const p = h('p', { class: 'theme-text' }, e.text.slice(0, 500));
            const c = cssColor(e.color);
            if (c) p.style.color = c;
            return p;
        });
    el.append(h('div', { class: 'theme-texts' }, texts));
    return el;
}
