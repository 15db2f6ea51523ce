// Per-file setup: one fresh node per test file (isolation: rooms, PIN counters and
// conferences never leak between files), a client, and the "every reply validated" check.
// PLENUM_URL + PLENUM_CA (path) make the files use an already running node instead.

import fs from 'node:fs';
import { before, after, afterEach } from 'node:test';
import { startNode } from './node.js';
import { Client, assertAllChecked } from './client.js';

export function useNode(opts = {}) {
    const ctx = { node: null, client: null, clients: [] };
    ctx.newClient = (o) => {
        const c = new Client(ctx.node, o);
        ctx.clients.push(c);
        return c;
    };
    before(async () => {
        if (process.env.PLENUM_URL && !opts.switches && !opts.extraServices && !opts.ownNode) {
            const u = new URL(process.env.PLENUM_URL);
            ctx.node = { host: u.host, url: u.origin, ca: fs.readFileSync(process.env.PLENUM_CA), stop: async () => {} };
        } else {
            ctx.node = await startNode(opts);
        }
        ctx.client = ctx.newClient();
    });
    afterEach(async () => {
        // release everything joined in the test, then insist every reply was validated
        const errors = [];
        for (const c of ctx.clients) await c.releaseAll().catch((e) => errors.push(e));
        assertAllChecked();
        if (errors.length) throw errors[0];
    });
    after(async () => {
        for (const c of ctx.clients) c.close();
        await ctx.node?.stop();
    });
    return ctx;
}
