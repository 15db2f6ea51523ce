// Debian's Firefox ESR for the browser suites, driven through WebDriver BiDi with
// puppeteer-core (playwright-core's BiDi Firefox needs BiDi commands that Firefox ESR 153
// does not have yet: `emulation.setMediaFeaturesOverride`), never a downloaded browser.
//
// `launchFirefox()` gives a browser whose contexts and pages answer the small part of
// Playwright's API the harnesses use (newContext + route + addInitScript, newPage, on
// console / pageerror / response / requestfailed, goto, waitForFunction, evaluate,
// screenshot, close), so a harness runs the same steps in Chromium (Playwright) and
// Firefox (this file). Locators are Playwright's only: Firefox steps click by CSS
// selector (`page.click`).
//
// Fake devices: `media.navigator.streams.fake` (a moving test picture and a tone), no
// permission prompts, ICE on loopback (`media.peerconnection.ice.loopback`: Firefox skips
// loopback candidates otherwise), autoplay allowed (remote audio plays without a gesture).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

export const FIREFOX = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';

export const FIREFOX_PREFS = {
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
    'media.peerconnection.ice.loopback': true,
    'media.peerconnection.ice.obfuscate_host_addresses': false,
    'media.autoplay.default': 0,
    'media.autoplay.blocking_policy': 0,
    'media.autoplay.block-webaudio': false,
    // No sound card here: without an output device an AudioContext never leaves
    // "suspended" (resume() never settles). cubeb's mock context (Firefox's own test
    // backend) runs the audio graph on a clock of its own instead.
    'media.cubeb.force_mock_context': true,
    'media.block-autoplay-until-in-foreground': false,
    // several participants share one browser: no page may be throttled as "background"
    'dom.min_background_timeout_value': 4,
    'dom.timeout.enable_budget_timer_throttling': false,
    'browser.shell.checkDefaultBrowser': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.reportingpolicy.firstRun': false,
};

/** Whether Firefox ESR is installed (the test command installs it with apt-get). */
export function firefoxInstalled() {
    return fs.existsSync(FIREFOX);
}

/** Launches headless Firefox ESR; the result mimics Playwright's `Browser`. */
export async function launchFirefox() {
    assert.ok(firefoxInstalled(), `firefox-esr not found at ${FIREFOX} (apt-get install -y firefox-esr)`);
    // Firefox refuses a profile in a $HOME it does not own (root in CI): give it its own.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'plenum-firefox-home-'));
    const browser = await puppeteer.launch({
        browser: 'firefox',
        executablePath: FIREFOX,
        headless: true,
        acceptInsecureCerts: true,
        extraPrefsFirefox: FIREFOX_PREFS,
        env: { ...process.env, HOME: home, MOZ_HEADLESS: '1' },
        protocolTimeout: 120000,
    });
    return {
        kind: 'firefox',
        async newContext({ viewport } = {}) {
            const context = await browser.createBrowserContext();
            return wrapContext(context, viewport);
        },
        version: () => browser.version(),
        async close() {
            await browser.close().catch(() => {});
            fs.rmSync(home, { recursive: true, force: true });
        },
    };
}

function wrapContext(context, viewport) {
    const routes = [];
    const initScripts = [];
    return {
        /** Playwright's `context.addInitScript(fn)`: runs in every page before its scripts. */
        async addInitScript(fn) {
            initScripts.push(fn);
        },
        /** Playwright's `context.route(glob, handler)` for globs of the form `<prefix>**`. */
        async route(glob, handler) {
            assert.ok(glob.endsWith('**'), `only prefix globs are supported: ${glob}`);
            routes.push({ prefix: glob.slice(0, -2), handler });
        },
        async newPage() {
            const page = await context.newPage();
            if (viewport) await page.setViewport(viewport);
            for (const fn of initScripts) await page.evaluateOnNewDocument(fn);
            if (routes.length) {
                await page.setRequestInterception(true);
                page.on('request', (request) => {
                    if (request.isInterceptResolutionHandled()) return;
                    const route = routes.find((r) => request.url().startsWith(r.prefix));
                    if (!route) { request.continue().catch(() => {}); return; }
                    route.handler({
                        request: () => request,
                        fulfill: ({ status = 200, contentType, body }) => request.respond({
                            status,
                            contentType,
                            body,
                            headers: { 'cache-control': 'no-store' },
                        }),
                    });
                });
            }
            return wrapPage(page);
        },
        close: () => context.close(),
    };
}

function wrapPage(page) {
    return {
        raw: page,
        on: (event, handler) => page.on(event, handler),
        goto: (url) => page.goto(url, { waitUntil: 'load' }),
        url: () => page.url(),
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        /** Playwright's `waitForFunction(fn, arg, { timeout })`. */
        waitForFunction: (fn, arg, { timeout = 30000 } = {}) => page.waitForFunction(fn, { timeout, polling: 200 }, arg),
        screenshot: ({ path: file }) => page.screenshot({ path: file }),
        /** Clicks the element matching a CSS selector once it is visible. */
        click: (selector, { timeout = 30000 } = {}) => page.locator(selector).setTimeout(timeout).click(),
        close: () => page.close(),
    };
}
