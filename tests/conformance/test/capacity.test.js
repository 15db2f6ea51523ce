// Capacity and admission control (#13 point 2): the node knows what it can carry (measured
// at start, or node.capacity_hd_calls) and shows it with the load in the admin status
// API (worker_vm/, after Pexip's resource); a media call that would overload the node is
// answered audio-only when its audio still fits, else refused with "Out of transcoding
// resource" (#pex114 in the SDK); a re-offer starting video is counted again — every reply
// checked with the package validators.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { useNode } from '../lib/harness.js';
import { REPO } from '../lib/node.js';
import { V } from '../lib/validate.js';
import { sleep } from '../lib/client.js';

/** The Chrome offer fixture as the SDK sends it: audio, video (b=AS:1920, HD), slides. */
const CHROME_OFFER = fs
    .readFileSync(path.join(REPO, 'tests/e2e/fixtures/chrome-offer.sdp'), 'utf8')
    .replace(/\r\n/g, '\n')
    .replace(/\n/g, '\r\n');
const HD_OFFER = CHROME_OFFER;
const SD_OFFER = CHROME_OFFER.replace('b=AS:1920', 'b=AS:576');
/** The offer without its audio section: nothing to fall back on. */
const VIDEO_ONLY_OFFER = (() => {
    const [head, ...media] = CHROME_OFFER.split(/(?=^m=)/m);
    return head.replace(/^a=group:BUNDLE 0 1 2/m, 'a=group:BUNDLE 1 2') + media.filter((m) => !m.startsWith('m=audio')).join('');
})();

const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN = { authorization: basic('admin', 'plenum-admin') };

function adminGet(node, p) {
    return new Promise((resolve, reject) => {
        https.get(`${node.url}/api/admin/status/v1${p}`, { rejectUnauthorized: false, headers: ADMIN }, (res) => {
            let text = '';
            res.on('data', (c) => { text += c; });
            res.on('end', () => {
                try {
                    resolve({ status: res.statusCode, body: JSON.parse(text) });
                } catch (e) {
                    reject(new Error(`${res.statusCode} ${text}: ${e}`));
                }
            });
        }).on('error', reject);
    });
}

async function workerVm(node) {
    const r = await adminGet(node, '/worker_vm/');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.objects.length, 1);
    return r.body.objects[0];
}

/** Directions of the answer's sections, in order. */
function directions(sdp) {
    return sdp.split(/(?=^m=)/m).slice(1).map((s) => {
        const d = s.match(/^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m);
        return `${s.slice(2, 7)} ${d ? d[1] : 'sendrecv'}`;
    });
}

const callsBody = (sdp) => ({ call_type: 'WEBRTC', sdp, media_type: 'video', fecc_supported: false });

async function openCall(p, sdp) {
    return p.act(p, 'calls', { body: callsBody(sdp), bodyValidator: V.validateCallsWebrtcParticipantBody });
}

describe('a node configured for two HD calls', () => {
    const ctx = useNode({ name: 'capacity', ownNode: true, nodeToml: 'capacity_hd_calls = 2' });

    test('status shows the configured capacity and the load; calls beyond it go audio-only, then are refused', async () => {
        let vm = await workerVm(ctx.node);
        assert.equal(vm.capacity_source, 'configured');
        assert.deepEqual([vm.max_hd_calls, vm.max_sd_calls, vm.max_audio_calls], [2, 4, 24]);
        assert.deepEqual([vm.hd_calls, vm.sd_calls, vm.audio_calls, vm.media_load], [0, 0, 0, 0]);
        assert.equal(vm.node_type, 'CONFERENCING');

        // An HD call and an SD call: 1.5 of 2 HD.
        const hd = await ctx.client.join('meet.open', 'HD caller');
        const hdCall = (await openCall(hd, HD_OFFER)).expect(200, V.validateCallsWebrtcParticipant200).result;
        assert.deepEqual(directions(hdCall.sdp).slice(0, 2), ['audio sendrecv', 'video sendrecv']);
        const sd = await ctx.client.join('meet.open', 'SD caller');
        const sdCall = (await openCall(sd, SD_OFFER)).expect(200, V.validateCallsWebrtcParticipant200).result;
        assert.deepEqual(directions(sdCall.sdp).slice(0, 2), ['audio sendrecv', 'video sendrecv']);
        vm = await workerVm(ctx.node);
        assert.deepEqual([vm.hd_calls, vm.sd_calls, vm.audio_calls, vm.media_load], [1, 1, 0, 75]);

        // Another HD call does not fit; its audio does: answered with video inactive, and
        // the roster shows an audio-only call.
        const third = await ctx.client.join('meet.open', 'Third caller');
        const down = (await openCall(third, HD_OFFER)).expect(200, V.validateCallsWebrtcParticipant200).result;
        assert.deepEqual(directions(down.sdp), ['audio sendrecv', 'video inactive', 'video inactive'], down.sdp);
        let listed;
        for (let i = 0; i < 50 && listed?.is_audio_only_call !== 'YES'; i++) {
            listed = await third.find(third.uuid);
            if (listed?.is_audio_only_call !== 'YES') await sleep(100);
        }
        assert.equal(listed?.is_audio_only_call, 'YES', JSON.stringify(listed));
        vm = await workerVm(ctx.node);
        assert.deepEqual([vm.hd_calls, vm.sd_calls, vm.audio_calls], [1, 1, 1]);

        // A video-only offer has no audio to fall back on: refused, the SDK's #pex114.
        const fourth = await ctx.client.join('meet.open', 'Fourth caller');
        const refused = (await openCall(fourth, VIDEO_ONLY_OFFER)).expect(403, V.validateCallsWebrtcParticipant403);
        assert.equal(refused.result, 'Out of transcoding resource');

        // Audio-only calls fit until the budget is spent: 1.5 + 6/12 = 2 HD.
        const audio = [];
        for (let i = 0; i < 5; i++) {
            const p = await ctx.client.join('meet.open', `Audio ${i}`);
            const r = await openCall(p, HD_OFFER);
            assert.deepEqual(directions(r.expect(200, V.validateCallsWebrtcParticipant200).result.sdp).slice(0, 2), ['audio sendrecv', 'video inactive']);
            audio.push(p);
        }
        const full = await ctx.client.join('meet.open', 'One too many');
        assert.equal((await openCall(full, SD_OFFER)).expect(403, V.validateCallsWebrtcParticipant403).result, 'Out of transcoding resource');
        vm = await workerVm(ctx.node);
        assert.equal(vm.media_load, 100);

        // The HD caller hangs up: its share is free again, and a video call fits.
        (await hd.act(hd, `calls/${hdCall.call_uuid}/disconnect`, {})).expect(200, V.validateDisconnectCall200);
        const again = (await openCall(full, HD_OFFER)).expect(200, V.validateCallsWebrtcParticipant200).result;
        assert.deepEqual(directions(again.sdp).slice(0, 2), ['audio sendrecv', 'video sendrecv']);
        vm = await workerVm(ctx.node);
        assert.deepEqual([vm.hd_calls, vm.sd_calls, vm.audio_calls], [1, 1, 6]);

        // A re-offer (update) asking for video is counted again: the node is full, so the
        // caller answered audio-only keeps its video lines inactive...
        const update = (p, call) => p.act(p, `calls/${call}/update`, { body: { sdp: HD_OFFER, fecc_supported: false }, bodyValidator: V.validateUpdateBody });
        const still = (await update(third, down.call_uuid)).expect(200, V.validateUpdate200).result;
        assert.deepEqual(directions(still).slice(0, 2), ['audio sendrecv', 'video inactive'], still);
        vm = await workerVm(ctx.node);
        assert.deepEqual([vm.hd_calls, vm.sd_calls, vm.audio_calls, vm.media_load], [1, 1, 6, 100]);

        // ...until the HD call hangs up: then its re-offer gets video (HD, as its first
        // offer's bandwidth was).
        (await full.act(full, `calls/${again.call_uuid}/disconnect`, {})).expect(200, V.validateDisconnectCall200);
        const upgraded = (await update(third, down.call_uuid)).expect(200, V.validateUpdate200).result;
        assert.deepEqual(directions(upgraded).slice(0, 2), ['audio sendrecv', 'video sendrecv'], upgraded);
        vm = await workerVm(ctx.node);
        assert.deepEqual([vm.hd_calls, vm.sd_calls, vm.audio_calls], [1, 1, 5]);
    });
});

describe('a node measuring its machine (the default)', () => {
    const ctx = useNode({ name: 'capacity-measured', ownNode: true });

    test('the measured capacity and the cost per call are shown', async () => {
        let vm = await workerVm(ctx.node);
        for (let i = 0; i < 100 && vm.capacity_source === 'measuring'; i++) {
            await sleep(100);
            vm = await workerVm(ctx.node);
        }
        assert.equal(vm.capacity_source, 'measured', JSON.stringify(vm));
        assert.ok(vm.max_hd_calls >= 1, JSON.stringify(vm));
        assert.ok(vm.max_sd_calls > vm.max_hd_calls, JSON.stringify(vm));
        assert.ok(vm.max_audio_calls > vm.max_sd_calls, JSON.stringify(vm));
        assert.ok(vm.hd_call_cost_ms > vm.sd_call_cost_ms && vm.sd_call_cost_ms > vm.audio_call_cost_ms, JSON.stringify(vm));
        assert.equal(vm.media_load, 0);
    });
});
