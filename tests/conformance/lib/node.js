// Starts and stops a plenum node for a test file: a fresh data dir (self-signed TLS,
// SQLite), an ephemeral port parsed from the "listening on https://…" log line, and an
// optional patched copy of the shipped config dir (switches changed, rooms appended, a
// branding package).
//
// PLENUM_BIN      binary to run (default: <repo>/target/debug/plenum)
// PLENUM_LOG_DIR  where node logs go (default: <repo>/target/conformance-logs)

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.PLENUM_BIN || path.join(REPO, 'target/debug/plenum');
const LOG_DIR = process.env.PLENUM_LOG_DIR || path.join(REPO, 'target/conformance-logs');

/**
 * @param {object} [opts]
 * @param {string} [opts.name]      label for the log file
 * @param {Record<string, boolean>} [opts.switches]  `[switches]` values to change
 * @param {string} [opts.extraServices]  TOML appended to services.toml
 * @param {string} [opts.nodeToml]  `key = value` lines for `[node]` in plenum.toml (replacing the key if set)
 * @param {string} [opts.branding]  a folder copied as the config dir's `branding/` (the web app's branding package; read at each request, so tests may change it while the node runs)
 * @param {number} [opts.startTimeoutMs]
 */
export async function startNode(opts = {}) {
    const name = opts.name || 'node';
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `plenum-conf-${name}-`));
    const dataDir = path.join(tmp, 'data');
    fs.mkdirSync(dataDir);
    let configDir = path.join(REPO, 'config');
    if (opts.switches || opts.extraServices || opts.nodeToml || opts.branding) {
        configDir = path.join(tmp, 'config');
        fs.mkdirSync(configDir);
        for (const f of fs.readdirSync(path.join(REPO, 'config'))) {
            if (f.endsWith('.toml')) fs.copyFileSync(path.join(REPO, 'config', f), path.join(configDir, f));
        }
        // room themes named by the shipped services.toml
        fs.cpSync(path.join(REPO, 'config', 'themes'), path.join(configDir, 'themes'), { recursive: true });
        if (opts.switches) {
            const file = path.join(configDir, 'plenum.toml');
            let text = fs.readFileSync(file, 'utf8');
            for (const [key, value] of Object.entries(opts.switches)) {
                const re = new RegExp(`^(\\s*${key}\\s*=\\s*)(true|false)`, 'm');
                if (!re.test(text)) throw new Error(`switch ${key} not found in plenum.toml`);
                text = text.replace(re, `$1${value}`);
            }
            fs.writeFileSync(file, text);
        }
        if (opts.nodeToml) {
            // `key = value` lines: replace the key if the shipped file sets it, else add it
            const file = path.join(configDir, 'plenum.toml');
            let text = fs.readFileSync(file, 'utf8');
            if (!/^\[node\]\s*$/m.test(text)) throw new Error('no [node] table in plenum.toml');
            for (const line of opts.nodeToml.split('\n').filter((l) => l.trim())) {
                const key = line.split('=')[0].trim();
                const re = new RegExp(`^${key}\\s*=.*$`, 'm');
                text = re.test(text) ? text.replace(re, () => line) : text.replace(/^\[node\]\s*$/m, () => `[node]\n${line}`);
            }
            fs.writeFileSync(file, text);
        }
        if (opts.extraServices) {
            fs.appendFileSync(path.join(configDir, 'services.toml'), `\n${opts.extraServices}\n`);
        }
        if (opts.branding) fs.cpSync(opts.branding, path.join(configDir, 'branding'), { recursive: true });
    }
    if (!fs.existsSync(BIN)) throw new Error(`plenum binary not found at ${BIN} (cargo build -p plenum-node --bin plenum)`);
    fs.mkdirSync(LOG_DIR, { recursive: true });
    const logPath = path.join(LOG_DIR, `${name}.log`);
    const log = fs.createWriteStream(logPath);
    const child = spawn(BIN, ['serve', '--config', configDir], {
        cwd: REPO,
        env: {
            ...process.env,
            PLENUM_LISTEN: '127.0.0.1:0',
            PLENUM_DATA_DIR: dataDir,
            PLENUM_LOG: process.env.PLENUM_LOG || 'warn,plenum=info,plenum_http=debug,plenum_node=info',
            PLENUM_LOG_FORMAT: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    let exited = null;
    const exit = new Promise((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); }));

    const port = await new Promise((resolve, reject) => {
        let settled = false;
        const fail = (e) => { if (settled) return; settled = true; child.kill('SIGKILL'); log.end(); fs.rmSync(tmp, { recursive: true, force: true }); reject(e); };
        let buf = '';
        const timer = setTimeout(() => fail(new Error(`node did not announce itself within ${opts.startTimeoutMs ?? 30000} ms; see ${logPath}`)), opts.startTimeoutMs ?? 30000);
        child.stderr.on('data', (chunk) => {
            log.write(chunk);
            buf += chunk.toString();
            const m = buf.match(/listening on https:\/\/127\.0\.0\.1:(\d+)/);
            if (m && !settled) { settled = true; clearTimeout(timer); buf = ''; resolve(Number(m[1])); }
        });
        exit.then((e) => { clearTimeout(timer); fail(new Error(`node exited early (${JSON.stringify(e)}); see ${logPath}`)); });
    });
    const ca = fs.readFileSync(path.join(dataDir, 'tls/self-signed.crt'));
    return {
        host: `127.0.0.1:${port}`,
        url: `https://127.0.0.1:${port}`,
        port,
        ca,
        dataDir,
        configDir,
        logPath,
        async stop() {
            if (exited) return exited;
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 10000);
            const r = await exit;
            clearTimeout(t);
            log.end();
            fs.rmSync(tmp, { recursive: true, force: true });
            return r;
        },
    };
}
