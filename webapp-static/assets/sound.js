// Sounds the app makes itself (Web Audio, nothing fetched): the home screen's speaker
// test tone, the chime that tells a Host someone is waiting to be admitted and the ring of
// an incoming call. All go to the chosen speaker (`setSinkId`) where the browser can pick one.

import { prefs } from './ui.js';

const AC = globalThis.AudioContext || globalThis.webkitAudioContext;

/**
 * Plays `notes` ([frequency Hz, start s, length s]) on the speaker `sinkId` (or the
 * default one); resolves when they are over. Rejects if the browser can't play audio.
 */
export async function playNotes(notes, { sinkId = prefs.get('speaker', ''), volume = 0.2 } = {}) {
    if (!AC) throw new Error('Web Audio is not available');
    const ctx = new AC();
    try {
        await ctx.resume();
        const gain = ctx.createGain();
        gain.gain.value = 0;
        let out = ctx.destination;
        let el = null;
        // a media element carries the sound when a speaker other than the default is chosen
        if (sinkId && 'setSinkId' in HTMLMediaElement.prototype) {
            const dest = ctx.createMediaStreamDestination();
            el = new Audio();
            el.srcObject = dest.stream;
            await el.setSinkId(sinkId).catch(() => {});
            await el.play();
            out = dest;
        }
        gain.connect(out);
        const t0 = ctx.currentTime + 0.05;
        let end = t0;
        for (const [freq, at, len] of notes) {
            const osc = ctx.createOscillator();
            osc.type = 'sine';
            osc.frequency.value = freq;
            osc.connect(gain);
            // short ramps: no clicks at the edges
            gain.gain.setValueAtTime(0, t0 + at);
            gain.gain.linearRampToValueAtTime(volume, t0 + at + 0.02);
            gain.gain.setValueAtTime(volume, t0 + at + len - 0.03);
            gain.gain.linearRampToValueAtTime(0, t0 + at + len);
            osc.start(t0 + at);
            osc.stop(t0 + at + len);
            end = Math.max(end, t0 + at + len);
        }
        await new Promise((r) => setTimeout(r, (end - ctx.currentTime) * 1000 + 100));
        el?.pause();
    } finally {
        ctx.close().catch(() => {});
    }
}

/** The speaker test: a one-second 440 Hz tone. */
export const testTone = (sinkId) => playNotes([[440, 0, 1]], { sinkId });

/** Someone is waiting to be admitted: two soft rising notes. */
export const waitingChime = () => playNotes([[660, 0, 0.15], [880, 0.18, 0.22]], { volume: 0.12 }).catch(() => {});

/** A call rings this browser: two short rising rings. */
export const incomingChime = () => playNotes([[523, 0, 0.2], [784, 0.25, 0.3], [523, 0.9, 0.2], [784, 1.15, 0.3]], { volume: 0.15 }).catch(() => {});
