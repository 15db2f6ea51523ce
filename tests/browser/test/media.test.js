// The media scenario of lib/media-scenario.js with every participant in headless Debian
// Chromium, whose SDK offer lists H.264 first: every call runs H.264 both ways.
import { runMediaScenario } from '../lib/media-scenario.js';

runMediaScenario({
    name: 'media',
    title: 'media through the node: mixed audio, composited video, name tile, presentation (SDK in chromium, H.264)',
    codecs: { A: 'video/H264', B: 'video/H264', C: 'video/H264' },
});
