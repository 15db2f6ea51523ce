// The web app in Firefox ESR (WebDriver BiDi, lib/firefox.js) with a Chromium participant
// in the same meeting, against a fresh node:
//
//   1. Fiona (Firefox) and Carl (Chromium) join meet.open by link (straight in, fake
//      camera and microphone): each sees the other in a playing composite, each hears the
//      other through the stage's audio.
//   2. Fiona shares her screen: Carl sees her presentation (still, then full motion).
//   3. Carl shares his screen: Fiona sees his presentation as a still, then in full
//      motion on the slides line.
//   4. Fiona leaves: Carl's roster drops her.
//
// Artifacts: <repo>/target/browser-artifacts/webapp-firefox/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode } from '../../conformance/lib/node.js';
import { closeRun, createWebappHarness, incomingAudioPeak, videoPlays } from '../lib/webapp.js';
import { stepper } from '../lib/steps.js';

const T = 60000; // generous: two loaded cores run the node and two browsers' codecs

let node;
let h;

before(async () => {
    node = await startNode({ name: 'browser-webapp-firefox' });
    h = await createWebappHarness({ name: 'webapp-firefox', node, browser: (p) => (p === 'F' ? 'firefox' : 'chromium') });
});

after(() => closeRun(h, node));

/** Clicks `selector` in page `p`, with either browser's API. */
const click = (p, selector) => (p === 'F' ? h.pages.F.click(selector, { timeout: T }) : h.pages[p].locator(selector).click({ timeout: T }));

const roster = (p) => h.pages[p].evaluate(() => [...document.querySelectorAll('.roster .person:not(.waiting)')].map((e) => e.textContent));

/** `presenter` shares the fake screen; `viewer` sees the still, then full motion (HD). */
async function presentTo(presenter, viewer, presenterName) {
    await click(presenter, '.tb-share');
    await h.until(`${presenter}: sharing`, () => h.pages[presenter].evaluate(() => !!document.querySelector('.tb-share[aria-pressed="true"]') || document.querySelector('.tb-share')?.getAttribute('aria-label')), (v) => v === true || /Stop sharing/.test(v) || `share button: ${v}`, { timeout: T });
    await h.until(`${viewer}: a presentation still is shown`, () => h.pages[viewer].evaluate(() => {
        const img = document.querySelector('.pres-box img.presentation-still');
        return img && { visible: !!img.offsetParent, width: img.naturalWidth, src: img.getAttribute('src') || '' };
    }), (s) => (s && s.visible && s.width > 0 && /presentation(_high)?\.jpeg\?id=/.test(s.src)) || JSON.stringify(s), { timeout: T });
    await click(viewer, '.pres-controls [data-pres="hd"]');
    await videoPlays(h, viewer, 'video.presentation', T);
    const caption = await h.pages[viewer].evaluate(() => document.querySelector('.pres-caption')?.textContent);
    assert.match(caption, new RegExp(`${presenterName} is presenting`));
    await h.shot(`presenting-${presenter}`);
    await click(presenter, '.tb-share');
    await h.until(`${viewer}: presentation gone`, () => h.pages[viewer].evaluate(() => !!document.querySelector('.pres-box')?.offsetParent), (v) => v === false || 'presentation still shown', { timeout: T });
}

describe('web app in Firefox ESR with a Chromium participant: video, audio, presentation both ways', () => {
    const step = stepper(() => h.shot('failed'));

    step('Fiona (Firefox) and Carl (Chromium) join meet.open by link and see each other', async () => {
        await h.open('F', '/webapp/#/?conference=meet.open&name=Fiona%20Firefox');
        await h.until('F: in the meeting', () => h.pages.F.evaluate(() => !!document.querySelector('.screen.meeting')), (v) => v || 'no meeting screen', { timeout: T });
        await h.open('C', '/webapp/#/?conference=meet.open&name=Carl%20Chromium');
        await h.pages.C.locator('.screen.meeting').waitFor({ timeout: T });
        for (const p of ['F', 'C']) {
            await h.until(`${p}: 2 participants in the roster`, () => roster(p), (l) => l.length === 2 || JSON.stringify(l), { timeout: T });
        }
        const f = await videoPlays(h, 'F', undefined, T);
        const c = await videoPlays(h, 'C', undefined, T);
        assert.ok(f.width >= 160 && c.width >= 160, `composite sizes ${f.width}x${f.height}, ${c.width}x${c.height}`);
        // Firefox sends video: the node reports it as a video call, not audio-only
        const fiona = (await roster('C')).find((text) => /Fiona/.test(text)) || '';
        assert.doesNotMatch(fiona, /Audio only/, `Fiona is not shown as an audio-only call: ${fiona}`);
        await h.shot('joined');
    });

    step('Fiona hears Carl and Carl hears Fiona', async () => {
        await h.until('F hears Carl', () => incomingAudioPeak(h.pages.F), (p) => p > 0.02 || `peak ${p}`, { timeout: T });
        await h.until('C hears Fiona', () => incomingAudioPeak(h.pages.C), (p) => p > 0.02 || `peak ${p}`, { timeout: T });
    });

    step('Fiona presents to Carl; Carl presents to Fiona', async () => {
        await presentTo('F', 'C', 'Fiona Firefox');
        await presentTo('C', 'F', 'Carl Chromium');
        await videoPlays(h, 'F', undefined, T);
    });

    step('Fiona leaves; Carl\'s roster drops her', async () => {
        await click('F', '.tb-leave');
        await click('F', 'dialog[open] [data-ok]'); // "Leave the meeting?" (settings: ask before leaving)
        await h.until('C: Fiona gone from the roster', () => roster('C'), (l) => l.length === 1 || JSON.stringify(l), { timeout: T });
        await h.shot('left');
    });
});
