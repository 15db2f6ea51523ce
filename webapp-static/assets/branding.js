// The active branding package (behavior.md §10), served by the node at
// /webapp2/custom_configuration/ from the config directory's `branding/` folder. Without
// a package (manifest.json answers 404) nothing changes. With one:
//
//   manifest.json        required; `brandingID` (logged), `isSettingsBranded: false` skips
//                        settings.json
//   settings.json        defaults, each checked (a wrong type is ignored with a console
//                        warning): defaultBandwidth, screenShareFrameRate, languages,
//                        defaultLanguage, appName, tagline, landingPage {image, title,
//                        text}, colors {<app.css custom property>: <CSS colour>},
//                        testCallAlias (the home screen's "Test call"; "" hides it)
//   themes/styles.css    linked after app.css
//   watermark_icon.png   over the meeting stage, and as the brand mark
//   favicon.ico, favicon-32x32.png, favicon-16x16.png, apple-touch-icon.png,
//   site.webmanifest     replace the app's icon / add the web app manifest
//
// Precedence: the user's own settings (ui.js `prefs`, localStorage) > the package's
// defaults (`prefDefaults`) > the app's built-in defaults. The full field list is in
// config/branding/README.md.

import { restrictLanguages, overrideString, lang } from './i18n.js';
import { h } from './dom.js';
import { prefDefaults } from './ui.js';
import { log } from './logs.js';

export const BRANDING_BASE = '/webapp2/custom_configuration/';

/**
 * What was applied (for the hooks below and for tests): `active` once a manifest was read.
 * `testCallAlias`: the alias the home screen's "Test call" joins (the shipped config's
 * Test Call service is `test`); empty: no "Test call" button.
 */
export const DEFAULT_TEST_CALL_ALIAS = 'test';
export const branding = { active: false, id: null, landing: null, watermark: null, settings: {}, testCallAlias: DEFAULT_TEST_CALL_ALIAS };

/** The app.css custom properties a package may set through `colors`. */
const COLOR_KEYS = ['bg', 'surface', 'surface-2', 'surface-3', 'border', 'text', 'muted', 'accent',
    'accent-hover', 'accent-text', 'danger', 'danger-hover', 'danger-text', 'ok', 'ok-text', 'warn-text', 'focus'];

const warn = (what, value) => console.warn(`[plenum] branding: ignored ${what}:`, value);

/** A file path inside the package: plain relative segments only (no scheme, `..`, `//`). */
function packagePath(p) {
    if (typeof p !== 'string' || !p || p.length > 200) return null;
    if (/^[a-z][a-z0-9+.-]*:|^\/|\\/i.test(p)) return null;
    const segs = p.split('/');
    if (segs.some((s) => !s || s.startsWith('.'))) return null;
    return BRANDING_BASE + segs.map(encodeURIComponent).join('/');
}

async function getJson(name) {
    const res = await fetch(BRANDING_BASE + name, { cache: 'no-cache', credentials: 'same-origin' });
    if (!res.ok) return { missing: true };
    try { return { value: await res.json() }; } catch (e) { warn(`${name} (not JSON)`, e.message); return { missing: true }; }
}

async function exists(name) {
    try { return (await fetch(BRANDING_BASE + name, { method: 'HEAD', cache: 'no-cache' })).ok; } catch { return false; }
}

const isObject = (v) => v != null && typeof v === 'object' && !Array.isArray(v);

/** A string, or a per-language object `{en: '…', de: '…'}` resolved for the current language. */
function localized(v, what) {
    if (typeof v === 'string') return v.slice(0, 500);
    if (isObject(v)) {
        const s = v[lang] ?? v.en ?? Object.values(v).find((x) => typeof x === 'string');
        if (typeof s === 'string') return s.slice(0, 500);
    }
    if (v != null) warn(what, v);
    return null;
}

function integerIn(v, lo, hi, what) {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? +v : v;
    if (Number.isInteger(n) && n >= lo && n <= hi) return n;
    if (v != null) warn(`${what} (an integer ${lo}–${hi})`, v);
    return null;
}

/** Applies settings.json (already parsed); each field on its own, wrong ones skipped. */
function applySettings(s) {
    if (!isObject(s)) { warn('settings.json (not an object)', s); return; }
    branding.settings = s;
    const bw = integerIn(s.defaultBandwidth, 256, 2464, 'defaultBandwidth');
    if (bw) prefDefaults.bandwidth = String(bw);
    const fps = integerIn(s.screenShareFrameRate, 1, 30, 'screenShareFrameRate');
    if (fps) prefDefaults.shareFps = String(fps);

    let langs = s.languages;
    if (langs != null && !(Array.isArray(langs) && langs.every((l) => typeof l === 'string'))) { warn('languages (a list of language codes)', langs); langs = null; }
    let def = s.defaultLanguage;
    if (def != null && typeof def !== 'string') { warn('defaultLanguage (a language code)', def); def = null; }
    if (langs || def) {
        const norm = (l) => l.toLowerCase().split('-')[0];
        document.documentElement.lang = restrictLanguages(langs?.map(norm), def && norm(def));
    }

    const appName = localized(s.appName, 'appName');
    if (appName) overrideString('app.name', appName);
    const tagline = localized(s.tagline, 'tagline');
    if (tagline) overrideString('app.tagline', tagline);

    if (s.landingPage != null) {
        if (!isObject(s.landingPage)) warn('landingPage (an object)', s.landingPage);
        else {
            const lp = s.landingPage;
            const image = lp.image != null ? packagePath(lp.image) : null;
            if (lp.image != null && !image) warn('landingPage.image (a file in the package)', lp.image);
            const landing = {
                image,
                imageAlt: localized(lp.imageAlt, 'landingPage.imageAlt') || '',
                title: localized(lp.title, 'landingPage.title'),
                text: localized(lp.text, 'landingPage.text'),
            };
            if (landing.image || landing.title || landing.text) branding.landing = landing;
        }
    }

    if (s.testCallAlias != null) {
        // an alias as the home screen's address field takes it; "" hides the button
        const a = typeof s.testCallAlias === 'string' ? s.testCallAlias.trim() : null;
        if (a == null || a.length > 200) warn('testCallAlias (an alias, or "" for no "Test call" button)', s.testCallAlias);
        else branding.testCallAlias = a;
    }

    if (s.colors != null) {
        if (!isObject(s.colors)) warn('colors (an object)', s.colors);
        else {
            for (const [k, v] of Object.entries(s.colors)) {
                const name = k.replace(/^--/, '');
                if (!COLOR_KEYS.includes(name)) { warn(`colors.${k} (unknown; one of ${COLOR_KEYS.join(', ')})`, v); continue; }
                if (typeof v !== 'string' || !CSS.supports('color', v)) { warn(`colors.${k} (a CSS colour)`, v); continue; }
                document.documentElement.style.setProperty(`--${name}`, v);
                if (name === 'bg') document.querySelector('meta[name="theme-color"]')?.setAttribute('content', v);
            }
        }
    }
}

/** `<link>`s into the package: styles (resolves when loaded or failed), icons, manifest. */
function linkStyles() {
    const el = h('link', { rel: 'stylesheet', href: `${BRANDING_BASE}themes/styles.css`, 'data-branding': '' });
    const loaded = new Promise((resolve) => { el.onload = resolve; el.onerror = resolve; });
    document.head.append(el);
    return loaded;
}

function linkIcons(found) {
    const icons = [
        ['favicon.ico', { rel: 'icon', sizes: 'any' }],
        ['favicon-32x32.png', { rel: 'icon', type: 'image/png', sizes: '32x32' }],
        ['favicon-16x16.png', { rel: 'icon', type: 'image/png', sizes: '16x16' }],
        ['apple-touch-icon.png', { rel: 'apple-touch-icon', sizes: '180x180' }],
        ['site.webmanifest', { rel: 'manifest' }],
    ].filter(([f]) => found[f]);
    if (icons.some(([, a]) => a.rel === 'icon')) document.querySelectorAll('link[rel="icon"]:not([data-branding])').forEach((l) => l.remove());
    for (const [f, attrs] of icons) document.head.append(h('link', { ...attrs, href: BRANDING_BASE + f, 'data-branding': '' }));
}

async function load() {
    const manifest = await getJson('manifest.json').catch(() => ({ missing: true }));
    if (manifest.missing) return;
    const m = manifest.value;
    if (!isObject(m)) { warn('manifest.json (not an object)', m); return; }
    branding.active = true;
    branding.id = typeof m.brandingID === 'string' || typeof m.brandingID === 'number' ? String(m.brandingID) : null;
    if (branding.id == null) warn('manifest.json brandingID (missing or not a string)', m.brandingID);
    document.documentElement.classList.add('branded');
    log('app', `branding package ${branding.id ?? '(no id)'}`);

    const files = ['themes/styles.css', 'watermark_icon.png', 'favicon.ico', 'favicon-32x32.png', 'favicon-16x16.png', 'apple-touch-icon.png', 'site.webmanifest'];
    const [settings, ...present] = await Promise.all([
        m.isSettingsBranded === false ? { missing: true } : getJson('settings.json').catch(() => ({ missing: true })),
        ...files.map(exists),
    ]);
    const found = Object.fromEntries(files.map((f, i) => [f, present[i]]));
    if (!settings.missing) applySettings(settings.value);
    // a home screen already shown (the package came after the first screen's wait)
    brandHome(document.querySelector('.screen.home'));
    linkIcons(found);
    if (found['watermark_icon.png']) {
        branding.watermark = `${BRANDING_BASE}watermark_icon.png`;
        document.documentElement.style.setProperty('--brand-watermark', `url("${branding.watermark}")`);
        document.documentElement.classList.add('has-watermark');
    }
    if (found['themes/styles.css']) await linkStyles();
}

/**
 * Reads and applies the package; resolves when done, or after `waitMs` at the latest so a
 * slow node never holds the first screen back (what arrives later still applies, except
 * defaults the first screen already used). Never rejects.
 */
export function loadBranding({ waitMs = 800 } = {}) {
    const done = load().catch((e) => console.warn('[plenum] branding: not applied:', e?.message || e));
    return Promise.race([done, new Promise((r) => setTimeout(r, waitMs))]);
}

/**
 * Home screen hook: the package's landing image and text above the join form; the "Test
 * call" action shown only with a test call alias. Safe to call again on the same screen.
 */
export function brandHome(screen) {
    if (!screen) return;
    screen.querySelector('.test-call-box')?.classList.toggle('hidden', !branding.testCallAlias);
    const l = branding.landing;
    if (!l || screen.querySelector('.brand-landing')) return;
    const main = screen.querySelector('.home-main');
    const box = h('section', { class: 'brand-landing', 'aria-label': l.title || l.imageAlt || null },
        l.image ? h('img', { class: 'brand-landing-image', src: l.image, alt: l.imageAlt }) : null,
        h('div', { class: 'brand-landing-text' },
            l.title ? h('h2', {}, l.title) : null,
            l.text ? h('p', { class: 'muted' }, l.text) : null));
    if (main) main.before(box); else screen.append(box);
}
