// SDK scenario with the page served from the node's own origin (no CORS involved).
import { runScenario } from '../lib/scenario.js';

runScenario({ crossOrigin: false });
