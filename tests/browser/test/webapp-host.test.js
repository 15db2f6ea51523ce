// End-to-end, second web app increment: the waiting room, host controls, slash commands,
// link styles and camera denied — in headless Debian chromium against a fresh node.
//
//   1. Alice (Host) and Bob join meet.open; Alice types /lock in the filter box (the
//      "/" list shows the commands): Bob sees it locked.
//   2. Carol joins and waits ("Waiting to be admitted"); Alice sees a waiting badge and
//      admits her (✓) → Carol is in. Dave waits and is rejected (✗) → he sees the reason
//      with its #pex code and a way home. Alice unlocks with /unlock.
//   3. Alice picks layout 1:7: Bob's page gets the layout event. /shortcuts lists them.
//   4. Per participant: Alice spotlights Bob and hides presentation from him (roster
//      flags on Bob's page); Bob raises his hand (Alice sees it) and Alice lowers it.
//   4b. Transfer: Alice moves Bob (audio only) to meet.pin as Guest → Bob's page follows
//      the `refer` with the one-time ticket and waits for the Host there.
//   5. meet.pin: Hana (Host PIN 1234) and Gus (Guest): Hana mutes all Guests → Gus's
//      microphone shows muted; Hana ends the meeting for all → both see "A Host ended
//      the meeting" with its #pex code.
//   6. Links: oldest /webapp/?conference=&name=&join=1&audioonly=1; /webapp/conference/
//      <alias>?name=; bad bandwidth / callType → a notice on the home screen. Pexip's
//      older web apps and the node's root: /webapp1/#/?conference=&name= and
//      /webapp2/conference/<alias>?name=&callType= go straight in, /webapp2/?conference=
//      is an invitation, /?conference=&name=&join=1 goes straight in.
//   7. Camera denied (getUserMedia rejects NotAllowedError) → #pex171 and a way back.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000;

let node;
let h;

before(async () => {
    node = await startNode({ name: 'browser-webapp-host' });
    h = await createWebappHarness({ name: 'webapp-host', node });
});

after(() => closeRun(h, node));

const rosterCount = (p) => h.pages[p].locator('.roster .person:not(.waiting)').count();

async function joinFromHome(p, { name, alias, how = 'Join with video' }) {
    const page = h.pages[p];
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel('Meeting address').fill(alias);
    await page.getByRole('button', { name: how }).click();
}

const waitMeeting = (p) => h.pages[p].locator('.screen.meeting').waitFor({ timeout: T });

async function command(p, text) {
    const box = h.pages[p].getByLabel('Filter participants or type / for commands');
    await box.fill(text);
    await box.press('Enter');
}

async function leave(p) {
    const page = h.pages[p];
    await page.getByRole('button', { name: 'Leave' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Leave' }).click();
    await page.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
}

describe('web app: waiting room, host controls, commands, links, camera denied (chromium)', () => {
    const step = stepper(() => h.shot('failed'));

    step('Alice and Bob join meet.open; "/" lists the commands; /lock locks (Bob sees it)', async () => {
        await h.open('A');
        await joinFromHome('A', { name: 'Alice', alias: 'meet.open' });
        await waitMeeting('A');
        await h.open('B');
        await joinFromHome('B', { name: 'Bob', alias: 'meet.open' });
        await waitMeeting('B');
        for (const p of ['A', 'B']) await h.until(`${p}: 2 in the roster`, () => rosterCount(p), (n) => n === 2 || `${n}`, { timeout: T });
        const a = h.pages.A;
        await a.getByLabel('Filter participants or type / for commands').fill('/');
        const hints = await a.locator('.cmd-hints [data-cmd]').evaluateAll((els) => els.map((e) => e.dataset.cmd));
        for (const c of ['/lock', '/unlock', '/muteall', '/layout', '/shortcuts', '/hand', '/filter']) assert.ok(hints.includes(c), `${c} listed: ${hints}`);
        await h.shot('commands', 'A');
        await command('A', '/lock');
        await h.until('B shows locked', () => h.pages.B.locator('.topbar [data-locked]').getAttribute('data-locked'), (v) => v === 'true' || `data-locked=${v}`, { timeout: T });
        // a Guest-only list for Bob? Bob is Host too in meet.open; filter by name works
        await h.pages.B.getByLabel('Filter participants or type / for commands').fill('ali');
        await h.until('B: filter shows only Alice', () => h.pages.B.locator('.roster .person .person-name').allTextContents(), (l) => (l.length === 1 && /Alice/.test(l[0])) || JSON.stringify(l), { timeout: T });
        await h.pages.B.getByLabel('Filter participants or type / for commands').fill('');
    });

    step('locked: Carol waits and is admitted; Dave waits and is rejected and sees the reason', async () => {
        const c = await h.open('C');
        await joinFromHome('C', { name: 'Carol', alias: 'meet.open' });
        await c.getByRole('heading', { name: 'Waiting to be admitted' }).waitFor({ timeout: T });
        await h.shot('waiting-locked', 'C');
        const a = h.pages.A;
        await h.until('A: waiting badge 1', () => a.locator('#tab-people [data-waiting]').getAttribute('data-waiting').catch(() => null), (v) => v === '1' || `badge ${v}`, { timeout: T });
        await h.shot('waiting-roster', 'A');
        await a.getByRole('button', { name: 'Admit Carol' }).click();
        await waitMeeting('C');
        for (const p of ['A', 'C']) await h.until(`${p}: 3 in the roster`, () => rosterCount(p), (n) => n === 3 || `${n}`, { timeout: T });
        const d = await h.open('D');
        await joinFromHome('D', { name: 'Dave', alias: 'meet.open' });
        await d.getByRole('heading', { name: 'Waiting to be admitted' }).waitFor({ timeout: T });
        await a.getByRole('button', { name: 'Reject Dave' }).click();
        const card = d.locator('.error-card');
        await card.waitFor({ timeout: T });
        assert.match(await card.textContent(), /#pex\d{3}/);
        assert.ok(await d.getByRole('button', { name: 'Back to home' }).isVisible());
        await h.shot('rejected', 'D');
        await h.until('A: waiting badge gone', () => a.locator('#tab-people [data-waiting]').count(), (n) => n === 0 || `${n}`, { timeout: T });
        await command('A', '/unlock');
        await h.until('B shows unlocked', () => h.pages.B.locator('.topbar [data-locked]').getAttribute('data-locked'), (v) => v === 'false' || `data-locked=${v}`, { timeout: T });
        await leave('C');
    });

    step('layout 1:7 from the picker reaches Bob (layout event); /layout 4:0 too; /shortcuts lists the keys', async () => {
        const a = h.pages.A;
        await a.getByRole('button', { name: 'Layout' }).click();
        await a.getByRole('dialog').locator('[data-layout="1:7"]').click();
        await h.until('B: layout 1:7', () => h.pages.B.locator('.stage').getAttribute('data-layout'), (v) => v === '1:7' || `layout ${v}`, { timeout: T });
        await command('A', '/layout 4:0');
        await h.until('B: layout 4:0', () => h.pages.B.locator('.stage').getAttribute('data-layout'), (v) => v === '4:0' || `layout ${v}`, { timeout: T });
        await command('B', '/shortcuts');
        const dlg = h.pages.B.getByRole('dialog');
        await dlg.waitFor({ timeout: T });
        const keys = await dlg.locator('dt').allTextContents();
        assert.deepEqual(keys.map((k) => k.replace(/\s+/g, '')), ['c', 'm', 's', 'Shift+S', 'Shift+P', 'a']);
        await h.shot('shortcuts', 'B');
        await dlg.getByRole('button', { name: 'Close' }).click();
        // Shift+S opens the Events tab, which lists the joins and leaves with times
        await h.pages.B.evaluate(() => document.activeElement?.blur());
        await h.pages.B.keyboard.press('Shift+S');
        await h.until('B: Events tab selected', () => h.pages.B.getByRole('tab', { name: /Events/ }).getAttribute('aria-selected'), (v) => v === 'true' || v, { timeout: T });
        await h.until('B: events tab lists Carol', () => h.pages.B.locator('.event-list .event').allTextContents(), (l) => (l.some((x) => /Carol joined/.test(x)) && l.some((x) => /Carol left/.test(x))) || JSON.stringify(l), { timeout: T });
        await h.shot('events', 'B');
        await h.pages.B.getByRole('tab', { name: /Participants/ }).click();
    });

    step('per participant: spotlight, hide presentation, hand raised and lowered', async () => {
        const a = h.pages.A;
        const b = h.pages.B;
        await a.getByRole('button', { name: 'Actions for Bob' }).click();
        await a.locator('[data-act="spotlighton"]').click();
        await h.until('B: Bob spotlit', () => b.locator('.person', { hasText: 'Bob' }).locator('[aria-label="Spotlight"]').count(), (n) => n === 1 || 'no spotlight flag', { timeout: T });
        await a.locator('[data-act="deny-pres"]').click();
        await h.until('B: presentation hidden for Bob', () => b.locator('.person', { hasText: 'Bob' }).locator('[aria-label="Presentation hidden"]').count(), (n) => n === 1 || 'no flag', { timeout: T });
        await b.getByRole('button', { name: 'Raise hand' }).click();
        await h.until('A: Bob\'s hand up', () => a.locator('.person', { hasText: 'Bob' }).locator('[aria-label="Hand raised"]').count(), (n) => n === 1 || 'no hand', { timeout: T });
        await h.shot('host-actions', 'A');
        await a.locator('[data-act="lower-hand"]').click();
        await h.until('B: hand lowered', () => b.getByRole('button', { name: 'Raise hand' }).count(), (n) => n === 1 || 'still up', { timeout: T });
        await a.locator('[data-act="spotlightoff"]').click();
        await a.locator('[data-act="allow-pres"]').click();
        await a.locator('[data-act="dtmf"]').click();
        await a.getByRole('dialog').locator('[data-key="5"]').click();
        await h.until('dtmf 200', () => h.traffic.filter((x) => x.page === 'A' && x.path.endsWith('/dtmf')), (l) => (l.length && l.every((x) => x.status === 200)) || JSON.stringify(l), { timeout: T });
        await a.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
        await leave('B');
        await leave('A');
    });

    step('transfer: Alice moves Bob from meet.open to meet.pin as Guest; his page follows (waits for the Host)', async () => {
        const a = h.pages.A;
        const b = h.pages.B;
        await joinFromHome('A', { name: 'Alice', alias: 'meet.open' });
        await waitMeeting('A');
        await joinFromHome('B', { name: 'Bob', alias: 'meet.open', how: 'Audio only' });
        await waitMeeting('B');
        await h.until('A: 2 in the roster', () => rosterCount('A'), (n) => n === 2 || `${n}`, { timeout: T });
        await a.getByRole('button', { name: 'Actions for Bob' }).click();
        await a.locator('[data-act="transfer"]').click();
        const dlg = a.getByRole('dialog');
        await dlg.getByLabel('Meeting address').fill('meet.pin');
        await dlg.getByLabel('Role').selectOption('guest');
        await h.shot('transfer-dialog', 'A');
        await dlg.getByRole('button', { name: 'Transfer' }).click();
        await b.getByRole('heading', { name: 'Waiting for the Host' }).waitFor({ timeout: T });
        assert.match(await b.locator('.waiting').textContent(), /meet\.pin/);
        await h.shot('transferred', 'B');
        // the ticket went in the body of a request_token to meet.pin, and it was accepted
        await h.until('B: request_token to meet.pin 200', () => h.traffic.filter((x) => x.page === 'B' && x.path.includes('/meet.pin/request_token')), (l) => l.some((x) => x.status === 200) || JSON.stringify(l), { timeout: T });
        await h.until('A: Bob gone from meet.open', () => rosterCount('A'), (n) => n === 1 || `${n}`, { timeout: T });
        await b.getByRole('button', { name: 'Leave' }).click();
        await b.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        await leave('A');
    });

    step('meet.pin: Host mutes all Guests (Guest mic shows muted), then ends the meeting for all', async () => {
        const hp = h.pages.A;
        await joinFromHome('A', { name: 'Hana', alias: 'meet.pin' });
        await hp.getByLabel('PIN', { exact: true }).fill('1234');
        await hp.getByRole('button', { name: 'Join', exact: true }).click();
        await waitMeeting('A');
        const g = h.pages.B;
        await joinFromHome('B', { name: 'Gus', alias: 'meet.pin' });
        await g.getByRole('button', { name: 'Join as Guest' }).click();
        await waitMeeting('B');
        await h.until('A: 2 in the roster', () => rosterCount('A'), (n) => n === 2 || `${n}`, { timeout: T });
        await hp.getByRole('button', { name: 'Mute all Guests' }).click();
        await h.until('Gus: mic shows muted', () => g.locator('.tb-mic').getAttribute('aria-pressed'), (v) => v === 'true' || `aria-pressed ${v}`, { timeout: T });
        await h.shot('guests-muted', 'B');
        await hp.getByRole('button', { name: 'Unmute all Guests' }).click();
        await h.until('Gus: mic unmuted', () => g.locator('.tb-mic').getAttribute('aria-pressed'), (v) => v === 'false' || `aria-pressed ${v}`, { timeout: T });
        await hp.getByRole('switch', { name: 'Names in video' }).click();
        await h.until('overlay on', () => hp.getByRole('switch', { name: 'Names in video' }).getAttribute('aria-checked'), (v) => v === 'true' || v, { timeout: T });
        await hp.getByRole('button', { name: 'End meeting for all' }).click();
        await hp.getByRole('dialog').getByRole('button', { name: 'End meeting for all' }).click();
        for (const p of ['A', 'B']) {
            const card = h.pages[p].locator('.error-card');
            await card.waitFor({ timeout: T });
            const text = await card.textContent();
            assert.match(text, /A Host ended the meeting/);
            assert.match(text, /#pex12[15]/);
        }
        await h.shot('ended-by-host');
        await h.pages.B.getByRole('button', { name: 'Back to home' }).click();
        await h.pages.B.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
    });

    step('links: the oldest style, /webapp/conference/<alias>, bad parameters', async () => {
        const o = await h.open('O', '/webapp/?conference=meet.open&name=Olga&join=1&audioonly=1&bw=256');
        await waitMeeting('O');
        assert.match(await o.locator('.stage-note').textContent(), /Audio-only/);
        assert.doesNotMatch(o.url(), /conference=/);
        await h.shot('oldest-link', 'O');
        const r = await h.open('R', '/webapp/conference/meet.open?name=Rita');
        await waitMeeting('R');
        await h.until('R: 2 in the roster', () => rosterCount('R'), (n) => n === 2 || `${n}`, { timeout: T });
        await leave('R');
        await leave('O');
        const x = await h.open('X', '/webapp/#/?conference=meet.open&name=Xena&bandwidth=fast&callType=hologram');
        const notice = x.locator('.notice');
        await notice.waitFor({ timeout: T });
        const text = await notice.textContent();
        assert.match(text, /bandwidth/);
        assert.match(text, /callType/);
        assert.ok(await x.getByRole('heading', { name: 'Join a meeting' }).isVisible(), 'the home screen is the way on');
        await h.shot('bad-link', 'X');
    });

    step('links of the older web apps (/webapp1/, /webapp2/) and of the node root keep their parameters', async () => {
        /** Opens `url` as `p`: the meeting screen, the address cleaned; then leaves and closes. */
        const straightIn = async (p, url, check) => {
            const page = await h.open(p, url);
            await waitMeeting(p);
            assert.equal(await page.locator('.meeting-title').textContent(), 'meet.open', url);
            assert.equal(new URL(page.url()).pathname, '/webapp/home', url);
            assert.doesNotMatch(page.url(), /conference=/, url);
            await check?.(page);
            await h.shot(`link-${p}`, p);
            await leave(p);
            await page.close();
            delete h.pages[p];
        };
        // the fragment never reaches the node: the app is served at /webapp1/ and reads it
        await straightIn('W1', '/webapp1/#/?conference=meet.open&name=Wes', async (page) => {
            await h.until('W1: own roster row', () => page.locator('.roster .person', { hasText: 'Wes' }).count(), (n) => n === 1 || `${n}`, { timeout: T });
        });
        await straightIn('W2', '/webapp2/conference/meet.open?name=Ina&callType=audioonly', async (page) => {
            assert.match(await page.locator('.stage-note').textContent(), /Audio-only/);
        });
        await straightIn('R0', '/?conference=meet.open&name=Lena&join=1');
        // without join=1 the oldest style is an invitation: the home screen, prefilled
        const u = await h.open('U', '/webapp2/?conference=meet.open&name=Uma');
        await u.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        assert.match(await u.locator('.invite').textContent(), /meet\.open/);
        assert.equal(await u.getByLabel('Your name').inputValue(), 'Uma');
        assert.equal(await u.getByLabel('Meeting address').inputValue(), 'meet.open');
        assert.equal(new URL(u.url()).pathname, '/webapp/home');
        await h.shot('link-webapp2-invite', 'U');
        await u.close();
        delete h.pages.U;
    });

    step('camera denied: #pex171 and a way back home', async () => {
        const z = await h.open('Z', '/webapp/home', { denyMedia: true });
        await joinFromHome('Z', { name: 'Zoe', alias: 'meet.open' });
        const card = z.locator('.error-card');
        await card.waitFor({ timeout: T });
        assert.match(await card.textContent(), /#pex171/);
        await h.shot('camera-denied', 'Z');
        await z.getByRole('button', { name: 'Back to home' }).click();
        await z.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
    });

    step('no page errors and no CSP violations', async () => {
        const bad = h.consoleLog.filter((l) => /pageerror|Content Security Policy|Refused to/.test(l));
        assert.deepEqual(bad, []);
    });
});
