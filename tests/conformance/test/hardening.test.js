// Hardening (#13 point 6), as a new user would try it: bodies over the node's 64 KiB
// limit are answered 413 in the API's JSON envelope on HTTP/1.1 and HTTP/2, with and
// without Content-Length (the client reads the answer, no reset stream); repeated wrong
// admin passwords back off with 429 and Retry-After, per address and per user name.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { useNode } from '../lib/harness.js';

const BIG = Buffer.alloc(100 * 1024, 'x');
const REQUEST_TOKEN = '/api/client/v2/conferences/meet.open/request_token';

/** HTTP/1.1 POST of `body`; `chunked` leaves Content-Length out. */
function post1(node, path, body, { chunked = false, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
        const req = https.request(`${node.url}${path}`, {
            method: 'POST',
            ca: node.ca,
            rejectUnauthorized: false,
            headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': body.length }), ...headers },
        }, (res) => {
            let text = '';
            res.on('data', (c) => { text += c; });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
        });
        req.on('error', reject);
        // chunked: the body goes out in pieces, as a streaming client sends it
        if (chunked) {
            for (let i = 0; i < body.length; i += 8192) req.write(body.subarray(i, i + 8192));
        } else {
            req.write(body);
        }
        req.end();
    });
}

/** HTTP/2 request; the answer or the stream's error (a reset) as `error`. */
function request2(node, path, { method = 'POST', body, contentLength = true, headers = {} } = {}) {
    return new Promise((resolve) => {
        const session = http2.connect(node.url, { rejectUnauthorized: false });
        session.on('error', (error) => resolve({ error: error.code || error.message }));
        const req = session.request({
            ':method': method,
            ':path': path,
            'content-type': 'application/json',
            ...(body && contentLength ? { 'content-length': String(body.length) } : {}),
            ...headers,
        });
        let status = 0;
        let responseHeaders = {};
        let text = '';
        req.on('response', (h) => { status = h[':status']; responseHeaders = h; });
        req.on('data', (c) => { text += c; });
        req.on('end', () => { session.close(); resolve({ status, headers: responseHeaders, text }); });
        req.on('error', (error) => { session.close(); resolve({ error: error.code || error.message, status, text }); });
        if (body) {
            for (let i = 0; i < body.length; i += 16384) req.write(body.subarray(i, i + 16384));
        }
        req.end();
    });
}

function assertEnvelope413(r, what) {
    assert.equal(r.error, undefined, `${what}: answered, not reset (${r.error})`);
    assert.equal(r.status, 413, `${what}: ${r.status} ${r.text}`);
    assert.match(String(r.headers['content-type']), /^application\/json/, what);
    assert.deepEqual(JSON.parse(r.text), { status: 'failed', result: 'The request body is too large: at most 65536 bytes' }, what);
}

describe('request bodies over the limit', () => {
    const ctx = useNode({ name: 'hardening-body', ownNode: true });

    test('HTTP/1.1: 413 in the client API envelope, with and without Content-Length', async () => {
        assertEnvelope413(await post1(ctx.node, REQUEST_TOKEN, BIG), 'content-length');
        assertEnvelope413(await post1(ctx.node, REQUEST_TOKEN, BIG, { chunked: true }), 'chunked');
        assertEnvelope413(await post1(ctx.node, '/api/client/v2/registrations/alice@example.com/request_token', BIG), 'registration');
        // a body at the limit is read as usual (here: not JSON with a display_name → 415)
        const fits = await post1(ctx.node, REQUEST_TOKEN, Buffer.alloc(64 * 1024, ' '));
        assert.equal(fits.status, 415, fits.text);
    });

    test('HTTP/2: 413 in the envelope, the stream answered, not reset', async () => {
        assertEnvelope413(await request2(ctx.node, REQUEST_TOKEN, { body: BIG }), 'h2 content-length');
        assertEnvelope413(await request2(ctx.node, REQUEST_TOKEN, { body: BIG, contentLength: false }), 'h2 no content-length');
        // the connection still works for a good request
        const ok = await request2(ctx.node, REQUEST_TOKEN, { body: Buffer.from(JSON.stringify({ display_name: 'H2' })) });
        assert.equal(ok.status, 200, ok.text);
        const token = JSON.parse(ok.text).result.token;
        await request2(ctx.node, '/api/client/v2/conferences/meet.open/release_token', { body: Buffer.from('{}'), headers: { token } });
    });

    test('the admin API answers its own error object', async () => {
        const r = await request2(ctx.node, '/api/admin/status/v1/conference/', { body: BIG });
        assert.equal(r.status, 413, r.text);
        assert.deepEqual(JSON.parse(r.text), { status: 'error', code: 'payload_too_large', message: 'the request body is too large: at most 65536 bytes' });
    });
});

describe('admin logins back off', () => {
    const ctx = useNode({ name: 'hardening-admin', ownNode: true });
    const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const get = (auth) => request2(ctx.node, '/api/admin/status/v1/conference/', { method: 'GET', headers: { authorization: auth } });

    test('five free failures, then the sixth holds logins back: 429 with Retry-After, even for the right password', async () => {
        const good = await get(basic('admin', 'plenum-admin'));
        assert.equal(good.status, 200, good.text);
        const statuses = [];
        let held = null;
        for (let i = 0; i < 12 && !held; i++) {
            const r = await get(basic('admin', `wrong-${i}`));
            statuses.push(r.status);
            if (r.status === 429) held = r;
            else assert.equal(JSON.parse(r.text).code, 'unauthorized', r.text);
        }
        assert.ok(held, `a 429 came: ${statuses}`);
        assert.deepEqual(statuses.slice(0, 6), [401, 401, 401, 401, 401, 401], 'six checked and refused first');
        assert.ok(Number(held.headers['retry-after']) >= 1, `Retry-After ${held.headers['retry-after']}`);
        assert.equal(JSON.parse(held.text).code, 'too_many_attempts');
        assert.match(JSON.parse(held.text).message, /^too many failed logins; try again in \d+ seconds$/);
        // while it lasts (at least 2 s), the right password is not even checked
        const right = await get(basic('admin', 'plenum-admin'));
        assert.equal(right.status, 429, right.text);
    });
});
