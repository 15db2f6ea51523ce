// End-to-end: calls to registered devices in the web app — headless Debian Chromium and
// Firefox ESR against a fresh node with [[device]]s and a short ring timeout:
//
//   1. Anna signs in to receive calls (a wrong password first: one plain message); a
//      reload keeps her registered.
//   2. Bob types Anna's device address on the home screen and joins: he sees her
//      "Ringing…"; Anna's page rings (dialog), she accepts; each sees the other's camera
//      colour and hears the other's tone (Anna red/440 Hz, Bob blue/880 Hz).
//   3. Anna hangs up: Bob's call ends with "Call disconnected" (#pex151).
//   4. Bob calls again and Anna declines: Bob sees "Call rejected" (#pex150).
//   5. Bob calls and nobody answers: after the ring timeout Anna's dialog goes with
//      "Missed call from Bob", Bob sees #pex150.
//   6. Carol (Host of meet.open) adds Anna as Guest (Add participant: search, pick, role):
//      she rings, accepts and is in as Guest; Carol rings her again and cancels: Anna's
//      dialog closes.
//   7. Fiona (Firefox) signs in, Bob calls her, she accepts: colours and tones both ways.
//
// Artifacts: <repo>/target/browser-artifacts/webapp-calls/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, compositeColour, createWebappHarness, incomingTone } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000;
// The hash of "alice-password" (as in config/services.toml).
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$7UPOb6YAjNP1+NG/hHkY0g$f/AWiT5rHdWTdavd1TS89/3vvZKiQ+reJzCgVCIpwoM';
const RED = [224, 16, 16];
const BLUE = [16, 16, 224];
const GREEN = [16, 200, 16];

let node;
let h;

before(async () => {
    node = await startNode({
        name: 'browser-webapp-calls',
        nodeToml: 'ring_timeout = 8',
        extraServices: `
[[device]]
alias = "anna@example.com"
username = "anna"
password_hash = "${HASH}"
description = "Anna Answer"

[[device]]
alias = "fiona@example.com"
username = "fiona"
password_hash = "${HASH}"
description = "Fiona Fox"
`,
    });
    h = await createWebappHarness({ name: 'webapp-calls', node, browser: (p) => (p === 'F' ? 'firefox' : 'chromium') });
});

after(() => closeRun(h, node));

/** DOM helpers through `evaluate`, so they work in both browsers. */
const setValue = (p, selector, value) => h.pages[p].evaluate(([sel, v]) => {
    const el = document.querySelector(sel);
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
}, [selector, value]);
const clickOn = (p, selector) => h.pages[p].evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) throw new Error(`nothing matches ${sel}`);
    el.click();
}, selector);
const text = (p, selector) => h.pages[p].evaluate((sel) => document.querySelector(sel)?.textContent ?? null, selector);
const near = (px, want, tol = 70) => !!px && px.every((v, i) => Math.abs(v - want[i]) <= tol);

async function signIn(p, { alias, user, password, name }) {
    await h.until(`${p}: home screen`, () => text(p, '.register-card h2'), (v) => v === 'Receive calls' || `card: ${v}`, { timeout: T });
    await setValue(p, '#name', name);
    await setValue(p, '#reg-alias', alias);
    await setValue(p, '#reg-user', user);
    await setValue(p, '#reg-pass', password);
    await clickOn(p, '[data-reg="sign-in"]');
}

async function call(p, { name, alias }) {
    await h.until(`${p}: home screen`, () => text(p, '.join-card h1'), (v) => v === 'Join a meeting' || `${v}`, { timeout: T });
    await setValue(p, '#name', name);
    await setValue(p, '#alias', alias);
    await clickOn(p, '[data-join="video"]');
}

const dialogTitle = (p) => text(p, 'dialog.incoming-dialog[open] h2');
const inMeeting = (p) => h.pages[p].evaluate(() => !!document.querySelector('.screen.meeting'));
const errorReason = (p) => h.pages[p].evaluate(() => {
    const card = document.querySelector('.error-card');
    return card && `${card.querySelector('.reason')?.textContent} ${card.querySelector('.pex')?.textContent}`;
});
const backHome = async (p) => {
    await clickOn(p, '.error-card .btn-primary');
    await h.until(`${p}: back home`, () => text(p, '.join-card h1'), (v) => v === 'Join a meeting' || `${v}`, { timeout: T });
};

/** `a` and `b` see each other's colour and hear each other's tone. */
async function seeAndHear(a, aLooks, b, bLooks) {
    await h.until(`${a} sees ${b}'s colour`, () => compositeColour(h.pages[a]), (px) => near(px, bLooks.color) || `colour ${JSON.stringify(px)}`, { timeout: T });
    await h.until(`${b} sees ${a}'s colour`, () => compositeColour(h.pages[b]), (px) => near(px, aLooks.color) || `colour ${JSON.stringify(px)}`, { timeout: T });
    await h.until(`${a} hears ${b}'s ${bLooks.tone} Hz`, () => incomingTone(h.pages[a]), (f) => Math.abs(f - bLooks.tone) <= 40 || `loudest ${f} Hz`, { timeout: T });
    await h.until(`${b} hears ${a}'s ${aLooks.tone} Hz`, () => incomingTone(h.pages[b]), (f) => Math.abs(f - aLooks.tone) <= 40 || `loudest ${f} Hz`, { timeout: T });
}

const ANNA = { color: RED, tone: 440 };
const BOB = { color: BLUE, tone: 880 };
const FIONA = { color: GREEN, tone: 660 };
const hex = ([r, g, b]) => `#${[r, g, b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;

describe('web app: registered devices — calling a person, answer, decline, timeout, Add participant (chromium, firefox)', () => {
    const step = stepper(() => h.shot('failed'));

    step('Anna signs in to receive calls (a wrong password gets one plain message)', async () => {
        await h.open('A', '/webapp/home', { fakeMedia: { color: hex(ANNA.color), tone: ANNA.tone } });
        await signIn('A', { alias: 'anna@example.com', user: 'anna', password: 'wrong', name: 'Anna' });
        await h.until('A: wrong credentials named', () => text('A', '.register-card .form-error'), (v) => v === 'Wrong device address, user name or password.' || `error: ${v}`, { timeout: T });
        await signIn('A', { alias: 'anna@example.com', user: 'anna', password: 'alice-password', name: 'Anna' });
        await h.until('A: signed in', () => text('A', '.register-card .reg-status'), (v) => /Signed in as anna@example.com/.test(v || '') || `status: ${v}`, { timeout: T });
        assert.ok(h.traffic.some((x) => x.page === 'A' && x.path === '/api/client/v2/registrations/anna%40example.com/request_token' && x.status === 401), 'the wrong password was a 401');
        await h.shot('registered', 'A');
        // a reload keeps the registration: the tab's token is refreshed, not signed in again
        await h.pages.A.reload();
        await h.until('A: still signed in after a reload', () => text('A', '.register-card .reg-status'), (v) => /Signed in as anna@example.com/.test(v || '') || `status: ${v}`, { timeout: T });
        await h.until('A: resumed with refresh_token', () => h.traffic.some((x) => x.page === 'A' && x.path === '/api/client/v2/registrations/anna%40example.com/refresh_token' && x.status === 200), (v) => v || 'no refresh_token 200 yet', { timeout: T });
    });

    step('Bob calls Anna from the home screen: she rings, accepts, and they see and hear each other', async () => {
        await h.open('B', '/webapp/home', { fakeMedia: { color: hex(BOB.color), tone: BOB.tone } });
        await call('B', { name: 'Bob', alias: 'anna@example.com' });
        await h.until('B: Anna ringing in the roster', () => text('B', '.roster .person.ringing'), (v) => (/Anna Answer/.test(v || '') && /Ringing/.test(v)) || `row: ${v}`, { timeout: T });
        await h.until('A: the call rings', () => dialogTitle('A'), (v) => v === 'Bob is calling' || `dialog: ${v}`, { timeout: T });
        await h.shot('ringing');
        await clickOn('A', 'dialog.incoming-dialog [data-call="accept"]');
        for (const p of ['A', 'B']) await h.until(`${p}: in the call`, () => inMeeting(p), (v) => v || 'not yet', { timeout: T });
        await h.until('B: Anna no longer ringing', () => h.pages.B.evaluate(() => document.querySelectorAll('.roster .person').length - document.querySelectorAll('.roster .person.ringing').length), (n) => n === 2 || `${n} in`, { timeout: T });
        await seeAndHear('A', ANNA, 'B', BOB);
        await h.shot('in-call');
    });

    step('Anna hangs up: Bob\'s call ends with "Call disconnected" (#pex151)', async () => {
        await clickOn('A', '.tb-leave');
        await clickOn('A', 'dialog[open] .btn-danger');
        await h.until('B: call disconnected', () => errorReason('B'), (v) => v === 'Call disconnected #pex151' || `error: ${v}`, { timeout: T });
        await backHome('B');
    });

    step('Bob calls again and Anna declines: Bob sees "Call rejected" (#pex150)', async () => {
        await h.until('A: home again, still signed in', () => text('A', '.register-card .reg-status'), (v) => /Signed in/.test(v || '') || `status: ${v}`, { timeout: T });
        await call('B', { name: 'Bob', alias: 'anna@example.com' });
        await h.until('A: rings', () => dialogTitle('A'), (v) => v === 'Bob is calling' || `dialog: ${v}`, { timeout: T });
        await clickOn('A', 'dialog.incoming-dialog [data-call="decline"]');
        await h.until('B: call rejected', () => errorReason('B'), (v) => v === 'Call rejected #pex150' || `error: ${v}`, { timeout: T });
        assert.ok(h.traffic.some((x) => x.page === 'A' && /^\/api\/client\/v2\/conferences\/call\.[0-9a-f]+\/release_token$/.test(x.path) && x.status === 200), 'A declined with release_token');
        await backHome('B');
    });

    step('nobody answers: the ring times out — Anna sees "Missed call from Bob", Bob #pex150', async () => {
        await call('B', { name: 'Bob', alias: 'anna@example.com' });
        await h.until('A: rings', () => dialogTitle('A'), (v) => v === 'Bob is calling' || `dialog: ${v}`, { timeout: T });
        await h.until('B: call rejected after the ring timeout', () => errorReason('B'), (v) => v === 'Call rejected #pex150' || `error: ${v}`, { timeout: T });
        await h.until('A: dialog gone', () => dialogTitle('A'), (v) => v === null || `dialog: ${v}`, { timeout: T });
        await h.until('A: missed call', () => text('A', '#toasts'), (v) => /Missed call from Bob/.test(v || '') || `toasts: ${v}`, { timeout: T });
        await backHome('B');
    });

    step('Carol (Host) adds Anna as Guest: search, pick, ring, she joins as Guest; a second ring is cancelled', async () => {
        await h.open('C');
        await call('C', { name: 'Carol', alias: 'meet.open' });
        await h.until('C: in the meeting', () => inMeeting('C'), (v) => v || 'not yet', { timeout: T });
        await clickOn('C', '[data-host="add"]');
        await setValue('C', '#add-search', 'answer');
        await h.until('C: Anna found', () => text('C', '.add-results'), (v) => /Anna Answer/.test(v || '') || `results: ${v}`, { timeout: T });
        await clickOn('C', '.add-result[data-alias="anna@example.com"]');
        await setValue('C', '#add-role', 'GUEST');
        await clickOn('C', '[data-add="call"]');
        await h.until('C: Anna ringing', () => text('C', '.roster .person.ringing'), (v) => /Anna Answer/.test(v || '') || `row: ${v}`, { timeout: T });
        await h.until('A: rings (from Carol)', () => dialogTitle('A'), (v) => v === 'Carol is calling' || `dialog: ${v}`, { timeout: T });
        await clickOn('A', 'dialog.incoming-dialog [data-call="accept"]');
        await h.until('A: in the meeting', () => inMeeting('A'), (v) => v || 'not yet', { timeout: T });
        await h.until('C: Anna in as Guest', () => h.pages.C.evaluate(() => {
            const row = [...document.querySelectorAll('.roster .person')].find((e) => /Anna/.test(e.textContent));
            return row && !row.classList.contains('ringing') ? row.querySelector('.person-sub')?.textContent : null;
        }), (v) => /Guest/.test(v || '') || `row: ${v}`, { timeout: T });
        assert.ok(h.traffic.some((x) => x.page === 'C' && x.path === '/api/client/v2/conferences/meet.open/dial' && x.status === 200), 'C dialled');
        await h.shot('added');
        // Carol leaves Anna's leg: Anna goes home (still signed in); then a ring Carol cancels
        await clickOn('A', '.tb-leave');
        await clickOn('A', 'dialog[open] .btn-danger');
        await h.until('A: home', () => text('A', '.register-card .reg-status'), (v) => /Signed in/.test(v || '') || `status: ${v}`, { timeout: T });
        await clickOn('C', '[data-host="add"]');
        await h.until('C: results', () => text('C', '.add-results'), (v) => /Anna Answer/.test(v || '') || `results: ${v}`, { timeout: T });
        await clickOn('C', '.add-result[data-alias="anna@example.com"]');
        await clickOn('C', '[data-add="call"]');
        await h.until('A: rings again', () => dialogTitle('A'), (v) => v === 'Carol is calling' || `dialog: ${v}`, { timeout: T });
        // Carol's roster shows the ringing row once its participant update arrives
        await h.until('C: Anna ringing', () => h.pages.C.evaluate(() => document.querySelectorAll('.roster .person.ringing [data-cancel-call]').length), (n) => n === 1 || `${n} ringing rows`, { timeout: T });
        await clickOn('C', '.roster .person.ringing [data-cancel-call]');
        await h.until('A: the cancelled ring closes', () => dialogTitle('A'), (v) => v === null || `dialog: ${v}`, { timeout: T });
        await h.until('C: no one ringing', () => h.pages.C.evaluate(() => document.querySelectorAll('.roster .person.ringing').length), (n) => n === 0 || `${n}`, { timeout: T });
    });

    step('Fiona (Firefox) signs in; Bob calls her; she accepts: colours and tones both ways', async () => {
        await h.open('F', '/webapp/home', { fakeMedia: { color: hex(FIONA.color), tone: FIONA.tone } });
        await signIn('F', { alias: 'fiona@example.com', user: 'fiona', password: 'alice-password', name: 'Fiona' });
        await h.until('F: signed in', () => text('F', '.register-card .reg-status'), (v) => /Signed in as fiona@example.com/.test(v || '') || `status: ${v}`, { timeout: T });
        await call('B', { name: 'Bob', alias: 'fiona@example.com' });
        await h.until('F: rings', () => dialogTitle('F'), (v) => v === 'Bob is calling' || `dialog: ${v}`, { timeout: T });
        await clickOn('F', 'dialog.incoming-dialog [data-call="accept"]');
        for (const p of ['F', 'B']) await h.until(`${p}: in the call`, () => inMeeting(p), (v) => v || 'not yet', { timeout: T });
        await seeAndHear('F', FIONA, 'B', BOB);
        await h.shot('firefox-call');
    });

    step('no page errors and no CSP violations', async () => {
        const bad = h.consoleLog.filter((l) => /pageerror|Content Security Policy|Refused to/i.test(l));
        assert.deepEqual(bad, [], bad.join('\n'));
    });
});
