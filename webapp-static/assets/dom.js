// Tiny DOM helpers. User data only ever enters the page as text nodes or attribute
// values (never innerHTML); `linkify` turns http(s) URLs in chat text into links.

/**
 * `h('button', {class: 'x', onclick: fn, 'aria-label': '…'}, child…)`: children are
 * nodes or strings (added as text); null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v == null || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'class') el.className = v;
        else if (k in el && typeof v !== 'string') el[k] = v;
        else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children.flat(Infinity)) {
        if (c == null || c === false) continue;
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
}

/** Replaces all children of `el`. */
export function fill(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
}

const SVG = 'http://www.w3.org/2000/svg';

// 24×24 outline icons drawn for this app (stroke paths, currentColor).
const ICONS = {
    mic: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3M8 21h8',
    micOff: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3M8 21h8M3 3l18 18',
    cam: 'M3 7h12v10H3zM15 10l6-3v10l-6-3',
    camOff: 'M3 7h12v10H3zM15 10l6-3v10l-6-3M2 3l20 18',
    screen: 'M3 4h18v12H3zM8 20h8M12 16v4M12 13V7M9 10l3-3 3 3',
    screenOff: 'M3 4h18v12H3zM8 20h8M12 16v4M9 7l6 6M15 7l-6 6',
    hangup: 'M3 15c5-5 13-5 18 0l-2 3-4-1v-3a10 10 0 0 0-6 0v3l-4 1z',
    phone: 'M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1.9.4 1.8.7 2.7a2 2 0 0 1-.5 2.1L8 9.8a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.8.6 2.7.7a2 2 0 0 1 1.7 2z',
    people: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21a7 7 0 0 1 14 0M16 3a4 4 0 0 1 0 8M18 14a6 6 0 0 1 4 7',
    chat: 'M4 4h16v12H8l-4 4z',
    lock: 'M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4',
    unlock: 'M6 11h12v10H6zM8 11V7a4 4 0 0 1 7.5-2',
    self: 'M4 5h16v14H4zM12 13a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM7 19a5 5 0 0 1 10 0',
    selfOff: 'M4 5h16v14H4zM12 13a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM3 3l18 18',
    hand: 'M7 11V5a1.5 1.5 0 0 1 3 0v5M10 10V4a1.5 1.5 0 0 1 3 0v6M13 10V5a1.5 1.5 0 0 1 3 0v6M16 11V8a1.5 1.5 0 0 1 3 0v6a7 7 0 0 1-12 5l-3-4a1.5 1.5 0 0 1 2.3-2L7 14',
    check: 'M5 12l5 5 9-10',
    checkCircle: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM8 12.5l2.8 2.8L16 9.5',
    testCall: 'M3 7h12v10H3zM15 10l6-3v10l-6-3M6 12.5l2 2 4-4.5',
    cross: 'M6 6l12 12M18 6L6 18',
    more: 'M12 5h.01M12 12h.01M12 19h.01',
    star: 'M12 3l2.8 5.8 6.2.9-4.5 4.4 1 6.2L12 17.4l-5.5 2.9 1-6.2L3 9.7l6.2-.9z',
    layout: 'M3 4h18v16H3zM3 14h18M10 14v6M15 14v6',
    volume: 'M4 9h4l5-4v14l-5-4H4zM16 9a4 4 0 0 1 0 6M19 6a8 8 0 0 1 0 12',
    volumeOff: 'M4 9h4l5-4v14l-5-4H4zM16 9l6 6M22 9l-6 6',
    fullscreen: 'M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5',
    pip: 'M3 5h18v14H3zM12 12h7v5h-7z',
    popout: 'M14 4h6v6M20 4l-9 9M18 14v6H4V6h6',
    swap: 'M4 8h13l-3-3M20 16H7l3 3',
    send: 'M3 11l18-8-8 18-2-8z',
    play: 'M7 4l13 8-13 8z',
    crown: 'M3 8l4 4 5-7 5 7 4-4-2 11H5z',
    list: 'M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01',
    gear: 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19 12l2-1-1-3-2 .3-1.3-1.3L17 5l-3-1-1 2h-2L10 4 7 5l.3 2L6 8.3 4 8l-1 3 2 1v0l-2 1 1 3 2-.3 1.3 1.3L7 19l3 1 1-2h2l1 2 3-1-.3-2 1.3-1.3 2 .3 1-3z',
    chart: 'M4 20V10M10 20V4M16 20v-7M22 20H2',
    link: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1.5 1.5M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1.5-1.5',
    // present files (present-files.js)
    files: 'M4 4h11l4 4v12H4zM15 4v4h4M8 11h7M8 14h7M8 17h4',
    prev: 'M15 5l-7 7 7 7',
    next: 'M9 5l7 7-7 7',
};

/** An inline SVG icon (decorative: aria-hidden). */
export function icon(name, cls = 'icon') {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', cls);
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const p = document.createElementNS(SVG, 'path');
    p.setAttribute('d', ICONS[name] || '');
    svg.append(p);
    return svg;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi;

/** Text with http(s) URLs as links (new tab, no referrer); everything else as text. */
export function linkify(text) {
    const out = [];
    let last = 0;
    for (const m of String(text).matchAll(URL_RE)) {
        if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
        let href = null;
        try { href = new URL(m[0]).href; } catch { /* not a URL after all */ }
        out.push(href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow' }, m[0]) : document.createTextNode(m[0]));
        last = m.index + m[0].length;
    }
    if (last < text.length) out.push(document.createTextNode(text.slice(last)));
    return out;
}

/** Initials for an avatar. */
export function initials(name) {
    const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
    return ((parts[0]?.[0] || '?') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}
