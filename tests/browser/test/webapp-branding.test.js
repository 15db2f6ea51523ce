// End-to-end: the web app with a branding package (behavior.md §10) and its downloadable
// logs, in headless Debian chromium against a fresh plenum node whose config directory
// holds `branding/` (served at /webapp2/custom_configuration/, read at each request, so
// the test changes the package while the node runs).
//
//   1. Home screen with the package: colours from settings.json (a custom property and a
//      button using it), themes/styles.css applied, the default bandwidth 1264, the app
//      name, the landing image and text, the favicon from the package; a wrong-typed field
//      is ignored with a console warning. The user's own bandwidth wins over the package.
//   2. In a meeting: the watermark over the stage; the settings show the package's
//      screen-share frame rate.
//   3. Downloadable logs: joined with a Host PIN by link, Settings → "Download logs"
//      gives plenum-webapp-<date>.log with request and event lines, and neither the PIN
//      nor the token (nor any `token=` value).
//   4. A package allowing only German: the page is German.
//   5. The package removed: the default look (colour, icon, bandwidth 576, no landing).
//
// Artifacts: <repo>/target/browser-artifacts/webapp-branding/ — screenshots, the log file,
// console.log, node.log.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000;
const PIN = '90817263';
const ACCENT = '#0a7f4f';

// --- a tiny PNG writer (solid colour with an inner rectangle) -----------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
});
function crc32(buf) {
    let c = 0xffffffff;
    for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
}
function png(w, h, outer, inner) {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0);
    ihdr.writeUInt32BE(h, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    const raw = Buffer.alloc((w * 3 + 1) * h);
    for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
            const inside = x > w / 5 && x < (w * 4) / 5 && y > h / 4 && y < (h * 3) / 4;
            const [r, g, b] = inside ? inner : outer;
            const o = y * (w * 3 + 1) + 1 + x * 3;
            raw[o] = r; raw[o + 1] = g; raw[o + 2] = b;
        }
    }
    return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// --- the package ---------------------------------------------------------------------------

const SETTINGS = {
    defaultBandwidth: 1264,
    screenShareFrameRate: 5,
    languages: ['en', 'de'],
    defaultLanguage: 'de',
    appName: 'Acme Meet',
    tagline: 42, // wrong type: ignored with a warning
    landingPage: { image: 'landing.png', imageAlt: 'Acme', title: 'Welcome to Acme', text: 'Video meetings for Acme staff.' },
    colors: { accent: ACCENT, 'accent-hover': '#086b42', bogus: '#fff', danger: 'not a colour' },
};

function writePackage(dir) {
    fs.mkdirSync(path.join(dir, 'themes'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ brandingID: 'test-brand-1', isSettingsBranded: true }));
    fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(SETTINGS, null, 2));
    fs.writeFileSync(path.join(dir, 'themes/styles.css'), '.brand-bar { border-bottom: 4px solid rgb(255, 0, 128); }\n');
    fs.writeFileSync(path.join(dir, 'watermark_icon.png'), png(160, 48, [240, 140, 0], [255, 255, 255]));
    fs.writeFileSync(path.join(dir, 'landing.png'), png(240, 80, [10, 127, 79], [255, 255, 255]));
    fs.writeFileSync(path.join(dir, 'favicon-32x32.png'), png(32, 32, [10, 127, 79], [255, 255, 255]));
}

let node;
let h;
let brandingDir;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plenum-branding-'));

before(async () => {
    const src = path.join(tmp, 'branding');
    writePackage(src);
    node = await startNode({
        name: 'browser-webapp-branding',
        branding: src,
        extraServices: `[[service]]\nname = "brand.pin"\ntype = "vmr"\naliases = ["brand.pin"]\nhost_pin = "${PIN}"\n`,
    });
    brandingDir = path.join(node.configDir, 'branding');
    h = await createWebappHarness({ name: 'webapp-branding', node });
});

after(async () => {
    await closeRun(h, node);
    fs.rmSync(tmp, { recursive: true, force: true });
});

const homeLook = (page) => page.evaluate(() => {
    const root = getComputedStyle(document.documentElement);
    const btn = document.querySelector('[data-join="video"]');
    return {
        accent: root.getPropertyValue('--accent').trim(),
        button: btn ? getComputedStyle(btn).backgroundColor : null,
        barBorder: getComputedStyle(document.querySelector('.brand-bar')).borderBottomColor,
        bandwidth: document.getElementById('bandwidth')?.value,
        icons: [...document.querySelectorAll('link[rel="icon"]')].map((l) => l.getAttribute('href')),
        landing: document.querySelector('.brand-landing')?.textContent || null,
        landingImage: document.querySelector('.brand-landing-image')?.naturalWidth ?? null,
        brand: document.querySelector('.brand')?.textContent,
        title: document.title,
        lang: document.documentElement.lang,
        branded: document.documentElement.classList.contains('branded'),
    };
});

describe('web app: branding package and downloadable logs (chromium)', () => {
    const step = stepper(() => h.shot('failed'));

    step('home screen: colours, styles.css, default bandwidth, name, landing page, favicon', async () => {
        const a = await h.open('A');
        await a.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        const look = await h.until('A: branded home', () => homeLook(a), (l) => (l.branded && l.landingImage > 0) || `not yet: ${JSON.stringify(l)}`, { timeout: T });
        assert.equal(look.accent, ACCENT);
        assert.equal(look.button, 'rgb(10, 127, 79)', 'the join button uses the package accent');
        assert.equal(look.barBorder, 'rgb(255, 0, 128)', 'themes/styles.css applies');
        assert.equal(look.bandwidth, '1264', 'the package default bandwidth');
        assert.deepEqual(look.icons, ['/webapp2/custom_configuration/favicon-32x32.png']);
        assert.match(look.landing, /Welcome to Acme/);
        assert.match(look.landing, /Video meetings for Acme staff\./);
        assert.match(look.brand, /Acme Meet/);
        assert.equal(look.title, 'Acme Meet');
        assert.equal(look.lang, 'en', 'the browser language (en-US) is allowed, so it wins over defaultLanguage');
        // `danger: 'not a colour'` is ignored: the built-in value stays
        assert.equal(await a.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--danger').trim()), '#c2262e');
        assert.ok(h.consoleLog.some((l) => /branding: ignored tagline/.test(l)), 'a console warning names the wrong-typed field');
        await h.shot('home-branded', 'A');
        // the user's own choice wins over the package default
        await a.evaluate(() => localStorage.setItem('plenum.bandwidth', '256'));
        await a.reload();
        await h.until('A: own bandwidth', () => a.evaluate(() => document.getElementById('bandwidth')?.value), (v) => v === '256' || `bandwidth ${v}`, { timeout: T });
        await a.evaluate(() => localStorage.removeItem('plenum.bandwidth'));
        await a.reload();
        await h.until('A: package bandwidth again', () => a.evaluate(() => document.getElementById('bandwidth')?.value), (v) => v === '1264' || `bandwidth ${v}`, { timeout: T });
    });

    step('meeting: the watermark over the stage; the package frame rate in the settings', async () => {
        const a = h.pages.A;
        await a.getByLabel('Your name').fill('Wanda');
        await a.getByLabel('Meeting address').fill('meet.open');
        await a.getByRole('button', { name: 'Join with video' }).click();
        await a.locator('.screen.meeting').waitFor({ timeout: T });
        const wm = await a.evaluate(async () => {
            const stage = document.querySelector('.stage');
            const after = getComputedStyle(stage, '::after');
            const url = after.backgroundImage.match(/url\("?([^")]+)"?\)/)?.[1];
            const img = new Image();
            img.src = url;
            await img.decode().catch(() => {});
            const r = stage.getBoundingClientRect();
            return { bg: after.backgroundImage, display: after.display, width: parseFloat(after.width), imgWidth: img.naturalWidth, stageWidth: r.width };
        });
        assert.match(wm.bg, /\/webapp2\/custom_configuration\/watermark_icon\.png/);
        assert.ok(wm.width > 0 && wm.imgWidth === 160, `watermark shown and loaded: ${JSON.stringify(wm)}`);
        await h.until('A: composite plays', () => a.evaluate(() => document.querySelector('video.composite')?.videoWidth || 0), (w) => w > 0 || 'no picture', { timeout: T });
        await h.shot('meeting-watermark', 'A');
        await a.getByRole('button', { name: 'Settings' }).click();
        const dlg = a.getByRole('dialog');
        assert.equal(await dlg.locator('#set-fps').inputValue(), '5', 'the package screen-share frame rate');
        assert.equal(await dlg.locator('#set-bw').inputValue(), '1264');
        await dlg.getByRole('button', { name: 'Cancel' }).click();
        await a.getByRole('button', { name: 'Leave' }).click();
        await a.getByRole('dialog').getByRole('button', { name: 'Leave' }).click();
        await a.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
    });

    step('downloadable logs: request and event lines, no PIN, no token', async () => {
        const tokens = new Set();
        const l = await h.open('L', '/webapp/home');
        l.on('response', async (res) => {
            if (!/request_token|refresh_token/.test(res.url())) return;
            const body = await res.json().catch(() => null);
            if (body?.result?.token) tokens.add(body.result.token);
        });
        await l.goto(`${node.url}/webapp/#/?conference=brand.pin&name=Lee&pin=${PIN}`);
        await l.locator('.screen.meeting').waitFor({ timeout: T });
        await h.until('L: composite plays', () => l.evaluate(() => document.querySelector('video.composite')?.videoWidth || 0), (w) => w > 0 || 'no picture', { timeout: T });
        assert.ok(tokens.size > 0, 'saw the token answer');
        await l.getByRole('button', { name: 'Settings' }).click();
        const [download] = await Promise.all([
            l.waitForEvent('download', { timeout: T }),
            l.getByRole('dialog').getByRole('button', { name: 'Download logs' }).click(),
        ]);
        assert.match(download.suggestedFilename(), /^plenum-webapp-\d{4}-\d\d-\d\dT[\d-]+Z\.log$/);
        const file = path.join(h.artifacts, download.suggestedFilename());
        await download.saveAs(file);
        const text = fs.readFileSync(file, 'utf8');
        assert.match(text, /^plenum web app log\n/);
        assert.match(text, /^app version: [0-9a-f]{6,}/m);
        assert.match(text, /^user agent: .*Chrom/m);
        assert.match(text, /^language: en/m);
        assert.match(text, /api POST \/api\/client\/v2\/conferences\/brand\.pin\/request_token → 200 \(\d+ ms\)/);
        assert.match(text, /api POST \/api\/client\/v2\/conferences\/brand\.pin\/participants\/[0-9a-f-]+\/calls → 200/);
        assert.match(text, /sse participant_create [0-9a-f-]{36}/);
        assert.match(text, /screen meeting/);
        assert.match(text, /client ice (connected|completed)/);
        assert.match(text, /app branding package test-brand-1/);
        assert.ok(!text.includes(PIN), 'the PIN is not in the log');
        for (const tok of tokens) assert.ok(!text.includes(tok), 'no token in the log');
        assert.doesNotMatch(text, /token=(?!…)[^&\s]/, 'no token= value');
        assert.doesNotMatch(text, /\bLee\b/, 'no display name');
        await l.keyboard.press('Escape');
        await h.shot('logs-downloaded', 'L');
        await l.getByRole('button', { name: 'Leave' }).click();
        await l.getByRole('dialog').getByRole('button', { name: 'Leave' }).click();
        await l.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
    });

    step('a package allowing only German: the page is German', async () => {
        fs.writeFileSync(path.join(brandingDir, 'settings.json'), JSON.stringify({ ...SETTINGS, languages: ['de'], defaultLanguage: 'de' }));
        const g = await h.open('G');
        await g.getByRole('heading', { name: 'An einer Besprechung teilnehmen' }).waitFor({ timeout: T });
        const look = await homeLook(g);
        assert.equal(look.lang, 'de');
        assert.match(look.landing, /Welcome to Acme/);
        await g.getByLabel('Ihr Name').waitFor({ timeout: T });
        await h.shot('home-german', 'G');
    });

    step('the package removed: the default look', async () => {
        fs.rmSync(path.join(brandingDir, 'manifest.json'));
        const d = await h.open('D');
        await d.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        await d.waitForTimeout(500);
        const look = await homeLook(d);
        assert.equal(look.branded, false);
        assert.equal(look.accent, '#2563eb');
        assert.equal(look.button, 'rgb(37, 99, 235)');
        assert.equal(look.bandwidth, '576');
        assert.equal(look.icons.length, 1);
        assert.match(look.icons[0], /^\/webapp\/assets\/favicon\.svg(\?v=\w+)?$/);
        assert.equal(look.landing, null);
        assert.equal(look.title, 'plenum');
        await h.shot('home-default', 'D');
    });

    step('no page errors and no CSP violations', async () => {
        const bad = h.consoleLog.filter((l) => /pageerror|Content Security Policy|Refused to/.test(l));
        assert.deepEqual(bad, []);
    });
});
