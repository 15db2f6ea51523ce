// The media scenario of lib/media-scenario.js with Firefox ESR and Chromium in one
// meeting: A (presents) and C are Firefox ESR (WebDriver BiDi, lib/firefox.js), B and D
// Chromium. So Firefox joins with video, sees the composite, hears the mix, presents and
// receives a presentation, and the two browsers see and hear each other.
import { runMediaScenario } from '../lib/media-scenario.js';

const FIREFOX = new Set(['A', 'C']);

runMediaScenario({
    name: 'media-firefox',
    title: 'media through the node with Firefox ESR (A, C) and Chromium (B, D) in one meeting (SDK)',
    browser: (p) => (FIREFOX.has(p) ? 'firefox' : 'chromium'),
});
