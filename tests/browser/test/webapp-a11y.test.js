// Accessibility of the web app in headless Debian chromium against a fresh node: axe-core
// (WCAG 2.1 A/AA rules, run in the page under the node's own CSP) finds no serious or
// critical violation on the main screens, and the app works from the keyboard alone.
//
//   1. Home screen: no violations; joining meet.open with the keyboard only (type, Tab,
//      Enter) reaches the meeting.
//   2. Meeting (Host, side panel open): no violations on the Participants, Chat and
//      Events tabs, the settings dialog and the layout picker; shortcuts m / s work;
//      focus is visible (an outline on the focused control).
//   3. High contrast mode and phone width: no violations.
//   4. The PIN prompt and an error screen: no violations.
//
// Artifacts: <repo>/target/browser-artifacts/webapp-a11y/ (axe-<screen>.json for each).
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000;
const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let node;
let h;

before(async () => {
    node = await startNode({ name: 'browser-webapp-a11y' });
    h = await createWebappHarness({ name: 'webapp-a11y', node });
});

after(() => closeRun(h, node));

/**
 * Runs axe-core on page `p` (evaluated over the DevTools protocol, so the page's CSP
 * stays as the node sends it) and fails on serious or critical violations.
 */
async function noViolations(p, label) {
    const page = h.pages[p];
    await page.evaluate(`${AXE_SOURCE}\n;true`);
    const result = await page.evaluate(() => window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        resultTypes: ['violations'],
    }));
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    fs.writeFileSync(path.join(h.artifacts, `axe-${label}.json`), JSON.stringify(result.violations, null, 2));
    const summary = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
    assert.deepEqual(summary, [], `${label}: axe violations`);
}

/** The focused element has a visible outline (the :focus-visible ring). */
async function focusVisible(p) {
    return h.pages[p].evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return 'nothing focused';
        const cs = getComputedStyle(el);
        return (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || `no outline on ${el.tagName}.${el.className} (${cs.outlineStyle} ${cs.outlineWidth})`;
    });
}

describe('web app accessibility: axe-core WCAG 2.1 AA and keyboard-only use (chromium)', () => {
    const step = stepper(() => h.shot('failed'));

    step('home screen: no violations; joining with the keyboard only', async () => {
        const a = await h.open('A');
        await a.getByRole('heading', { name: 'Join a meeting' }).waitFor({ timeout: T });
        await noViolations('A', 'home');
        // the name field has focus on arrival
        assert.equal(await a.evaluate(() => document.activeElement?.id), 'name');
        await a.keyboard.type('Alice');
        await a.keyboard.press('Tab');
        assert.equal(await a.evaluate(() => document.activeElement?.id), 'alias');
        await a.keyboard.type('meet.open');
        await a.keyboard.press('Enter');
        await a.locator('.screen.meeting').waitFor({ timeout: T });
    });

    step('meeting: no violations on the tabs, settings and layout picker; shortcuts and visible focus', async () => {
        const a = h.pages.A;
        await a.locator('.roster .person').first().waitFor({ timeout: T });
        await noViolations('A', 'meeting-people');
        // shortcuts: m mutes the microphone, s closes and opens the side panel
        await a.locator('.tb-mic').focus();
        await a.keyboard.press('Tab');
        assert.equal(await focusVisible('A'), true);
        await a.keyboard.press('m');
        await h.until('A: microphone muted by "m"', () => a.locator('.tb-mic').getAttribute('aria-pressed'), (v) => v === 'true' || `aria-pressed=${v}`, { timeout: T });
        await a.keyboard.press('m');
        await h.until('A: microphone unmuted by "m"', () => a.locator('.tb-mic').getAttribute('aria-pressed'), (v) => v === 'false' || `aria-pressed=${v}`, { timeout: T });
        await a.keyboard.press('s');
        await h.until('A: panel closed by "s"', () => a.locator('#side-panel').isVisible(), (v) => v === false || 'panel visible', { timeout: T });
        await a.keyboard.press('s');
        await h.until('A: panel open again', () => a.locator('#side-panel').isVisible(), (v) => v === true || 'panel hidden', { timeout: T });
        // tabs by arrow keys
        await a.locator('#tab-people').focus();
        await a.keyboard.press('ArrowRight');
        assert.equal(await a.locator('#tab-chat').getAttribute('aria-selected'), 'true');
        await noViolations('A', 'meeting-chat');
        await a.keyboard.press('ArrowRight');
        assert.equal(await a.locator('#tab-events').getAttribute('aria-selected'), 'true');
        await noViolations('A', 'meeting-events');
        await a.keyboard.press('ArrowRight');
        // settings dialog
        await a.getByRole('button', { name: 'Settings' }).click();
        await a.locator('dialog[open]').waitFor({ timeout: T });
        await noViolations('A', 'settings');
        await a.keyboard.press('Escape');
        await a.locator('dialog[open]').waitFor({ state: 'detached', timeout: T });
        // layout picker (Host)
        await a.locator('[data-host="layout"]').click();
        await a.locator('dialog[open] .layout-grid button').first().waitFor({ timeout: T });
        await noViolations('A', 'layout-picker');
        await a.keyboard.press('Escape');
        await a.locator('dialog[open]').waitFor({ state: 'detached', timeout: T });
        await h.shot('meeting', 'A');
    });

    step('high contrast mode and phone width: no violations', async () => {
        const a = h.pages.A;
        await a.getByRole('button', { name: 'Settings' }).click();
        await a.getByLabel('High contrast').check();
        await a.getByRole('button', { name: 'Save' }).click();
        assert.ok(await a.evaluate(() => document.documentElement.classList.contains('high-contrast')));
        await noViolations('A', 'meeting-high-contrast');
        await h.shot('high-contrast', 'A');
        await a.setViewportSize({ width: 390, height: 844 });
        await noViolations('A', 'meeting-phone');
        await h.shot('phone', 'A');
    });

    step('PIN prompt and error screen: no violations', async () => {
        const b = await h.open('B', '/webapp/#/?conference=meet.pin&name=Bea');
        await b.locator('#pin').waitFor({ timeout: T });
        await noViolations('B', 'pin');
        await b.locator('#pin').fill('0000');
        await b.keyboard.press('Enter');
        await b.locator('.error-card').waitFor({ timeout: T });
        await noViolations('B', 'error');
        await h.shot('error', 'B');
    });
});
