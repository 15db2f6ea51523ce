// The media scenario of lib/media-scenario.js with Firefox ESR and Chromium in one
// meeting, and both video codecs: A (presents) and C are Firefox ESR (WebDriver BiDi,
// lib/firefox.js), which offers VP8 only; B is Chromium offering H.264 only; D is
// Chromium, audio only. So Firefox joins with video, sees the composite, hears the mix,
// presents and receives a presentation, and a VP8 and an H.264 caller see and hear each
// other (the node decodes each in its codec and encodes each composite in the receiver's).
import { runMediaScenario } from '../lib/media-scenario.js';

const FIREFOX = new Set(['A', 'C']);

runMediaScenario({
    name: 'media-firefox',
    title: 'media through the node with Firefox ESR (A, C) and Chromium (B, D) in one meeting (SDK)',
    browser: (p) => (FIREFOX.has(p) ? 'firefox' : 'chromium'),
    joinWith: { B: { videoCodecs: ['video/H264'] } },
    codecs: { A: 'video/VP8', B: 'video/H264', C: 'video/VP8' },
});
