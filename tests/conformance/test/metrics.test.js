// GET /metrics (#13 point 3): the Prometheus text format, parsed with a Prometheus
// text-format parser (npm parse-prometheus-text-format), after real traffic: a joined
// participant with a media call, a wrong PIN, an invalid token, a wrong device password.
// Off by default (404); with node.metrics_auth = "admin" it wants an admin's password.
// And the client's call statistics as the participant's media quality, live in the admin
// status API and in the history once it left.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { useNode } from '../lib/harness.js';
import { REPO } from '../lib/node.js';
import { V } from '../lib/validate.js';

/** The Chrome offer fixture (as call.test.js sends it): opens a real media call. */
const CHROME_OFFER = fs
    .readFileSync(path.join(REPO, 'tests/e2e/fixtures/chrome-offer.sdp'), 'utf8')
    .replace(/\r\n/g, '\n')
    .replace(/\n/g, '\r\n');

/** A GET (or POST) straight to the node, outside the validated client. */
function request(node, method, path, { headers = {}, body } = {}) {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = https.request(`${node.url}${path}`, {
            method,
            rejectUnauthorized: false,
            headers: { ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}), ...headers },
        }, (res) => {
            let text = '';
            res.on('data', (c) => { text += c; });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
        });
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}

const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN = { authorization: basic('admin', 'plenum-admin') };

/** The parsed families by name. */
function families(text) {
    const parsed = parsePrometheusTextFormat(text);
    return Object.fromEntries(parsed.map((f) => [f.name, f]));
}

/** The value of `family`'s sample whose labels include `labels` (0 if none). */
function valueOf(family, labels = {}) {
    const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return sample ? Number(sample.value) : 0;
}

describe('metrics switched off (the default)', () => {
    const ctx = useNode({ name: 'metrics-off', ownNode: true });
    test('404 in the admin error object', async () => {
        const r = await request(ctx.node, 'GET', '/metrics', { headers: ADMIN });
        assert.equal(r.status, 404, r.text);
        assert.equal(JSON.parse(r.text).code, 'not_found');
    });
});

describe('metrics on, for admins', () => {
    const ctx = useNode({ name: 'metrics', switches: { metrics_enabled: true } });

    test('without or with a wrong password: 401; with the admin\'s: the text format', async () => {
        assert.equal((await request(ctx.node, 'GET', '/metrics')).status, 401);
        assert.equal((await request(ctx.node, 'GET', '/metrics', { headers: { authorization: basic('admin', 'nope') } })).status, 401);
        const r = await request(ctx.node, 'GET', '/metrics', { headers: ADMIN });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
        const f = families(r.text);
        for (const name of ['plenum_conferences', 'plenum_participants', 'plenum_registrations', 'plenum_media_tick_seconds',
            'plenum_media_ticks_over_budget_total', 'plenum_media_video_encoders', 'plenum_http_requests_total', 'plenum_auth_failures_total',
            'plenum_media_nacked_packets_received_total', 'plenum_media_nacked_packets_sent_total',
            'plenum_media_rtp_packets_received_total', 'plenum_media_frames_received_total', 'plenum_media_frames_sent_total',
            'plenum_history_pending_rows', 'plenum_history_lost_rows_total']) {
            assert.ok(f[name], `${name} is exposed: ${Object.keys(f).join(', ')}`);
        }
        assert.equal(f.plenum_media_tick_seconds.type, 'HISTOGRAM');
        assert.equal(f.plenum_http_requests_total.type, 'COUNTER');
        assert.equal(f.plenum_conferences.type, 'GAUGE');
        // per stream: audio, video and presentation, each a counter
        assert.equal(f.plenum_media_frames_sent_total.type, 'COUNTER');
        assert.deepEqual(f.plenum_media_frames_sent_total.metrics.map((m) => m.labels.kind).sort(), ['audio', 'presentation', 'video']);
        // the history database is up: nothing waits, nothing was lost
        assert.equal(valueOf(f.plenum_history_pending_rows), 0);
        assert.equal(valueOf(f.plenum_history_lost_rows_total), 0);
        assert.ok(valueOf(f.plenum_auth_failures_total, { kind: 'admin_login' }) >= 1, 'the wrong admin password is counted');
    });

    test('a participant in a call, a wrong PIN, a bad token and a wrong device password show up', async () => {
        const p = await ctx.client.join('meet.open', 'Metered');
        const call = await p.act(p, 'calls', { body: { call_type: 'WEBRTC', sdp: CHROME_OFFER, media_type: 'video', fecc_supported: false }, bodyValidator: V.validateCallsWebrtcParticipantBody });
        const { call_uuid: callUuid } = call.expect(200, V.validateCallsWebrtcParticipant200).result;
        // a wrong PIN at meet.pin (1234)
        const wrongPin = await request(ctx.node, 'POST', '/api/client/v2/conferences/meet.pin/request_token', { body: { display_name: 'X' }, headers: { pin: '9999' } });
        assert.equal(wrongPin.status, 403, wrongPin.text);
        // a made-up token
        const badToken = await request(ctx.node, 'POST', '/api/client/v2/conferences/meet.open/refresh_token', { body: {}, headers: { token: 'made-up' } });
        assert.equal(badToken.status, 403, badToken.text);
        // a wrong device password
        const device = await request(ctx.node, 'POST', '/api/client/v2/registrations/alice@example.com/request_token', { headers: { authorization: `x-pexip-basic ${Buffer.from('alice:wrong').toString('base64')}` } });
        assert.equal(device.status, 401, device.text);

        const f = families((await request(ctx.node, 'GET', '/metrics', { headers: ADMIN })).text);
        assert.equal(valueOf(f.plenum_conferences, { service_type: 'vmr' }), 1, 'one live meeting');
        // joined over the API without a media call: call type video, in the meeting
        const inMeeting = f.plenum_participants.metrics.filter((m) => m.labels.state === 'in').reduce((n, m) => n + Number(m.value), 0);
        assert.equal(inMeeting, 1, JSON.stringify(f.plenum_participants.metrics));
        assert.ok(valueOf(f.plenum_auth_failures_total, { kind: 'pin' }) >= 1, 'the wrong PIN');
        assert.ok(valueOf(f.plenum_auth_failures_total, { kind: 'invalid_token' }) >= 1, 'the made-up token');
        assert.ok(valueOf(f.plenum_auth_failures_total, { kind: 'device_credentials' }) >= 1, 'the wrong device password');
        assert.ok(valueOf(f.plenum_http_requests_total, { api: 'client', status: '200' }) >= 1, 'the join');
        assert.ok(valueOf(f.plenum_http_requests_total, { api: 'client', status: '401' }) >= 1, 'the device refusal');
        // the meeting's media thread ticks every 20 ms once the call is open: the
        // histogram counts them (scraped again until it has)
        let ticks = f.plenum_media_tick_seconds.metrics[0];
        for (let i = 0; i < 100 && !(Number(ticks.count) > 0); i++) {
            await new Promise((ok) => setTimeout(ok, 100));
            ticks = families((await request(ctx.node, 'GET', '/metrics', { headers: ADMIN })).text).plenum_media_tick_seconds.metrics[0];
        }
        assert.ok(Number(ticks.count) > 0, `ticks counted: ${JSON.stringify(ticks)}`);
        assert.equal(Number(ticks.buckets['+Inf']), Number(ticks.count), 'the +Inf bucket holds every tick');
        assert.ok(Number(ticks.sum) > 0, 'their time is summed');

        // The client's statistics are the participant's media quality: in the admin
        // status API while present, in the history after it left.
        const stats = { audio: { rx_bitrate: 31.6, rx_codec: 'opus', rx_jitter: 2.5, rx_packets_lost: 7, rx_packets_received: 1502 }, video: { rx_resolution: '1280x720', rx_fps: 25 } };
        const sent = await request(ctx.node, 'POST', `/api/client/v2/conferences/meet.open/participants/${p.uuid}/calls/${callUuid}/statistics`, { body: stats, headers: { token: p.token } });
        assert.equal(sent.status, 200, sent.text);
        const live = JSON.parse((await request(ctx.node, 'GET', '/api/admin/status/v1/participant/', { headers: ADMIN })).text);
        const mine = live.objects.find((o) => o.id === p.uuid);
        assert.equal(mine?.media_quality?.audio?.rx_packets_lost, 7, JSON.stringify(mine));
        assert.equal(mine.media_quality.video.rx_resolution, '1280x720');
        assert.match(mine.media_quality.reported_at, /^\d{4}-\d\d-\d\dT/);
        await p.release();
        let record;
        for (let i = 0; i < 50 && !record?.media_quality; i++) {
            // the history writer runs behind the leave
            await new Promise((ok) => setTimeout(ok, 100));
            const conferences = JSON.parse((await request(ctx.node, 'GET', '/api/admin/status/v1/history/conference/', { headers: ADMIN })).text).objects;
            for (const c of conferences) {
                const people = JSON.parse((await request(ctx.node, 'GET', `/api/admin/status/v1/history/conference/${c.id}/participant/`, { headers: ADMIN })).text).objects;
                record = people.find((x) => x.id === p.uuid) || record;
            }
        }
        assert.equal(record?.media_quality?.audio?.rx_packets_lost, 7, JSON.stringify(record));
    });
});
