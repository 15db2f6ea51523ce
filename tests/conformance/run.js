#!/usr/bin/env node
// Runs the client-API conformance suite: checks the binary, smoke-starts a node (fails
// fast with its log if it cannot start), then `node --test` over test/*.test.js. Each
// test file starts and stops its own node on an ephemeral port (lib/harness.js) so rooms,
// PIN counters and conferences never leak between files.
//
//   node run.js [extra node --test args, e.g. --test-name-pattern=refresh]
//   PLENUM_BIN=/path/to/plenum node run.js
// Exit status: 0 when every test passed.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNode, BIN } from './lib/node.js';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!fs.existsSync(BIN)) {
    console.error(`plenum binary missing: ${BIN}\nbuild it with: cargo build -p plenum-node --bin plenum`);
    process.exit(2);
}

// Smoke start: the node must come up and serve /health before we bother running files.
const node = await startNode({ name: 'smoke' });
const health = await new Promise((resolve, reject) => {
    import('node:https').then(({ default: https }) => {
        https.get({ host: '127.0.0.1', port: node.port, path: '/health', ca: node.ca }, (res) => {
            let t = '';
            res.on('data', (c) => (t += c));
            res.on('end', () => resolve(`${res.statusCode} ${t}`));
        }).on('error', reject);
    });
});
console.log(`# node ${BIN} up on ${node.url}: /health ${health}`);
await node.stop();

const files = fs.readdirSync(path.join(here, 'test')).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join('test', f));
const args = ['--test', '--test-concurrency=1', '--test-timeout=60000', ...process.argv.slice(2), ...files];
const child = spawn(process.execPath, args, { cwd: here, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
