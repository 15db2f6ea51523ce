// End-to-end: a provisioning link (behavior.md §9, issue #11) made by the real
// `plenum provision` binary from a users CSV, opened in headless Debian chromium against
// a fresh plenum node.
//
//   1. The page shows the settings (display name, registration server, alias, user name)
//      and "Password: set (hidden)"; the password appears nowhere in the server's HTML or
//      the DOM, and the `data` blob is not in the server's HTML either.
//   2. "Open in the app" is pexip-provision://settings/?data=<the link's own data>.
//   3. After load the address bar holds no query (history.replaceState).
//   4. The page runs under its CSP without violations.
//   5. A malformed link (bad base64, unknown key) gets the 400 page that says why.
//   6. The node's log holds neither the data nor the password.
//
// Artifacts: <repo>/target/browser-artifacts/provision/ — screenshots, console.log.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { BIN, REPO, startNode } from '../../conformance/lib/node.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../lib/media.js';

const T = 60000;
// The shipped config's [[device]]: alice@example.com, user alice, this password.
const PASSWORD = 'alice-password';
const ARTIFACTS = path.join(REPO, 'target/browser-artifacts/provision');

describe('provisioning link in chromium', { timeout: 4 * T }, () => {
    let node;
    let browser;
    let tmp;
    const consoleLog = [];

    before(async () => {
        fs.rmSync(ARTIFACTS, { recursive: true, force: true });
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plenum-provision-'));
        // The request spans and tower-http's per-request events at debug, to show below
        // that they carry no query.
        const saved = process.env.PLENUM_LOG;
        process.env.PLENUM_LOG = 'warn,plenum=info,plenum_http=debug,tower_http=debug';
        try {
            node = await startNode({ name: 'provision' });
        } finally {
            if (saved === undefined) delete process.env.PLENUM_LOG;
            else process.env.PLENUM_LOG = saved;
        }
        assert.ok(fs.existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}`);
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    });

    after(async () => {
        fs.writeFileSync(path.join(ARTIFACTS, 'console.log'), consoleLog.join('\n') + '\n');
        await browser?.close();
        await node?.stop();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    /** Runs `plenum provision` for one CSV user; returns the link from links.csv. */
    function makeLink() {
        const csvFile = path.join(tmp, 'users.csv');
        fs.writeFileSync(csvFile, `alias,password,name,email\nalice@example.com,${PASSWORD},"Alice Liddell",alice@mail.example\n`);
        const out = path.join(tmp, 'out');
        const stdout = execFileSync(BIN, [
            'provision', '--config', node.configDir, '--csv', csvFile,
            '--base-url', node.url, '--out', out,
        ], { encoding: 'utf8', env: { ...process.env, PLENUM_LISTEN: node.host } });
        assert.ok(!stdout.includes(PASSWORD), `the summary shows the password:\n${stdout}`);
        assert.match(stdout, /wrote 1 provisioning link\(s\)/);
        const lines = fs.readFileSync(path.join(out, 'links.csv'), 'utf8').trim().split('\n');
        assert.equal(lines[0], 'alias,name,email,link');
        const fields = lines[1].split(',');
        assert.deepEqual(fields.slice(0, 3), ['alice@example.com', 'Alice Liddell', 'alice@mail.example']);
        return fields[3];
    }

    async function newPage(label) {
        const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 800, height: 700 }, locale: 'en-US' });
        const page = await context.newPage();
        page.on('console', (m) => consoleLog.push(`[${label}] ${m.type()}: ${m.text()}`));
        page.on('pageerror', (e) => consoleLog.push(`[${label}] pageerror: ${e.message}`));
        return page;
    }

    it('shows the settings without the password and hands the same data to the app', async () => {
        const link = makeLink();
        assert.ok(link.startsWith(`${node.url}/api/client/v2/provision?data=`), link);
        const data = new URL(link).search.slice('?data='.length);
        assert.ok(data.length > 20 && !data.includes('&'), data);

        const page = await newPage('good');
        const response = await page.goto(link, { waitUntil: 'load', timeout: T });
        assert.equal(response.status(), 200);
        assert.equal(response.headers()['cache-control'], 'no-store');
        assert.equal(response.headers()['referrer-policy'], 'no-referrer');
        const served = await response.text();
        assert.ok(!served.includes(PASSWORD), 'the password is in the server HTML');
        assert.ok(!served.includes(data), 'the data blob is in the server HTML');
        assert.ok(!served.includes(decodeURIComponent(data)), 'the data blob is in the server HTML');

        const open = page.locator('#open');
        await open.waitFor({ state: 'visible', timeout: T });
        assert.equal(await open.getAttribute('href'), `pexip-provision://settings/?data=${data}`);
        assert.equal(await open.innerText(), 'Open in the app');

        const settings = await page.locator('#settings').innerText();
        for (const line of [
            'Display name: Alice Liddell',
            `Registration server: ${node.host}`,
            'Registration alias: alice@example.com',
            'User name: alice',
            'Password: set (hidden)',
        ]) {
            assert.ok(settings.includes(line), `${line} missing from\n${settings}`);
        }
        assert.equal(await page.locator('#message').innerText(), 'Your meeting app will be set up with these settings.');
        assert.match(await page.locator('#fallback').innerText(), /Nothing happened\? Install the Pexip app/);

        const dom = await page.content();
        assert.ok(!dom.includes(PASSWORD), 'the password is in the DOM');
        assert.ok(!(await page.locator('body').innerText()).includes(PASSWORD), 'the password is shown');

        assert.deepEqual(consoleLog.filter((l) => l.startsWith('[good]') && /Content Security Policy|pageerror/.test(l)), []);
        await page.screenshot({ path: path.join(ARTIFACTS, '1-settings.png'), fullPage: true });

        // The query is gone from the address bar and from the history entry.
        assert.equal(page.url(), `${node.url}/api/client/v2/provision`);
        assert.equal(await page.evaluate(() => location.search), '');
        // Back to the blank tab and forward again: the entry is the bare page, which now
        // answers 400 as a link without data.
        await page.goBack();
        const forward = await page.goForward();
        assert.equal(page.url(), `${node.url}/api/client/v2/provision`);
        assert.equal(forward?.status(), 400);

        await page.context().close();
    });

    it('shows the 400 page for a malformed link', async () => {
        const page = await newPage('bad');
        let response = await page.goto(`${node.url}/api/client/v2/provision?data=%25%25not-base64*`, { timeout: T });
        assert.equal(response.status(), 400);
        assert.equal(await page.locator('h1').innerText(), "This setup link can't be used");
        assert.match(await page.locator('#error').innerText(), /`data` parameter is not valid base64/);
        assert.equal(await page.locator('#open').count(), 0);
        await page.screenshot({ path: path.join(ARTIFACTS, '2-bad-base64.png'), fullPage: true });

        const unknown = Buffer.from('name=Alice&registrationPin=1234').toString('base64');
        response = await page.goto(`${node.url}/api/client/v2/provision?data=${unknown}`, { timeout: T });
        assert.equal(response.status(), 400);
        assert.match(await page.locator('#error').innerText(), /Unknown settings: registrationPin/);
        await page.screenshot({ path: path.join(ARTIFACTS, '3-unknown-key.png'), fullPage: true });
        await page.context().close();
    });

    it('keeps the data and the password out of the node log', async () => {
        const log = fs.readFileSync(node.logPath, 'utf8');
        assert.match(log, /matched_path="\/api\/client\/v2\/provision"/, 'the requests were logged (debug)');
        assert.ok(!log.includes(PASSWORD), 'the password is in the node log');
        assert.ok(!log.includes('data='), 'a query is in the node log');
    });
});
