// The media scenario of lib/media-scenario.js with every participant in headless Debian
// Chromium.
import { runMediaScenario } from '../lib/media-scenario.js';

runMediaScenario({
    name: 'media',
    title: 'media through the node: mixed audio, composited video, name tile, presentation (SDK in chromium)',
});
