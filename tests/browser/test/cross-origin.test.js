// SDK scenario with the page on another origin: exercises the node's CORS allow-list
// (`[node] cors_origins`) with the SDK's real preflights (pin, token, content-type).
import { runScenario } from '../lib/scenario.js';

runScenario({ crossOrigin: true });
