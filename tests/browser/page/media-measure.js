// Media sources and measurements for the media tests, SDK-free (used by the SDK page
// `media-app.js` and by the loopback self-check in the same bundle).
//
// Sources: a canvas painted with a solid colour (plus a small white label) redrawn at
// ~15 fps and captured with `canvas.captureStream`, and an OscillatorNode tone into a
// MediaStreamAudioDestinationNode.
//
// Measurements:
// - video: the <video> element's current frame drawn into a 320×180 canvas; every pixel
//   is classified (red / blue / green / yellow / name-tile palette / background / white /
//   other) and the fractions reported, plus a coarse 32×18 map of the dominant class per
//   cell (for the artifacts and for layout checks).
// - audio: the received track goes to a *playing* <audio> element (Chrome only feeds a
//   remote WebRTC track into WebAudio while a media element plays it) and into an
//   AnalyserNode (fftSize 8192); the power spectrum is averaged over ~1 s and the level
//   in ±15 Hz around each frequency of interest is compared with the noise floor.

/** Name-tile colours, mirroring `NAME_TILE_PALETTE` in crates/plenum-media/src/video/compose.rs. */
export const PALETTE = [
    [0x1f, 0x4e, 0x79], // blue
    [0x7b, 0x2d, 0x26], // brick
    [0x2e, 0x6b, 0x3a], // green
    [0x6a, 0x3d, 0x7d], // purple
    [0x8a, 0x5a, 0x00], // ochre
    [0x1f, 0x6f, 0x6f], // teal
    [0x80, 0x2a, 0x5c], // plum
    [0x4a, 0x4a, 0x4a], // grey
];
/** The compositor's background (`CompositorConfig::new`): #181818. */
export const BACKGROUND = [0x18, 0x18, 0x18];

/** The colours the test participants paint. */
export const PAINT = {
    red: '#ff0000',
    blue: '#0000ff',
    green: '#00ff00',
    yellow: '#ffff00',
};

export const CLASSES = ['red', 'blue', 'green', 'yellow', 'palette', 'background', 'white', 'other'];
const LETTER = { red: 'R', blue: 'B', green: 'G', yellow: 'Y', palette: 'p', background: '.', white: 'w', other: '?' };

/** Pixel class. Bounds are generous: VP8 (I420, 4:2:0) plus two colour conversions. */
export function classify(r, g, b) {
    if (r > 150 && g < 90 && b < 90) return 'red';
    if (b > 150 && r < 90 && g < 110) return 'blue';
    if (g > 150 && r < 110 && b < 110) return 'green';
    if (r > 170 && g > 170 && b < 110) return 'yellow';
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    if (max < 52 && max - min < 18) return 'background';
    if (min > 200) return 'white';
    if (paletteIndex(r, g, b) >= 0) return 'palette';
    return 'other';
}

/** Index of the palette colour within ±30 per channel, or -1. */
export function paletteIndex(r, g, b) {
    let best = -1;
    let bestD = 31;
    for (let i = 0; i < PALETTE.length; i++) {
        const [pr, pg, pb] = PALETTE[i];
        const d = Math.max(Math.abs(r - pr), Math.abs(g - pg), Math.abs(b - pb));
        if (d < bestD) { bestD = d; best = i; }
    }
    return best;
}

// --- sources -----------------------------------------------------------------------

/**
 * A canvas source. `paint(ctx, w, h, frameNo)` draws one frame; the default paints
 * `color` with a white `label` in the top-left corner.
 */
export function canvasSource({ width = 640, height = 360, fps = 15, color = '#808080', label = '', paint } = {}) {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    let n = 0;
    const draw = paint || ((c, w, h, i) => {
        c.fillStyle = color;
        c.fillRect(0, 0, w, h);
        if (label) {
            c.fillStyle = '#ffffff';
            c.font = 'bold 28px sans-serif';
            c.fillText(`${label} ${i % 100}`, 12, 36);
        }
    });
    const tick = () => draw(ctx, width, height, n++);
    tick();
    const timer = setInterval(tick, Math.round(1000 / fps));
    const stream = canvas.captureStream(fps);
    const track = stream.getVideoTracks()[0];
    return {
        canvas,
        stream,
        track,
        stop() { clearInterval(timer); track.stop(); },
    };
}

/** Vertical bands for the self-check: `bands` = [{ color, cls }] of equal width. */
export function bandsPainter(bands) {
    return (c, w, h) => {
        const bw = w / bands.length;
        bands.forEach((b, i) => {
            c.fillStyle = b.color;
            c.fillRect(Math.round(i * bw), 0, Math.ceil(bw) + 1, h);
        });
    };
}

let audioCtx;
/** One AudioContext per page, resumed (autoplay policy flag lets it start). */
export async function audioContext() {
    if (!audioCtx) audioCtx = new AudioContext({ sampleRate: 48000 });
    if (audioCtx.state !== 'running') await audioCtx.resume().catch(() => {});
    return audioCtx;
}

/**
 * A sine tone (`freq` in Hz, or several: an array; silence when falsy) as a MediaStreamTrack. Gain 0.18: three
 * tones mixed stay under the node's limiter threshold (23197/32768 ≈ 0.71).
 */
export async function toneSource({ freq, gain = 0.18 } = {}) {
    const ctx = await audioContext();
    const dest = ctx.createMediaStreamDestination();
    const oscs = [];
    for (const f of [].concat(freq || [])) {
        const osc = ctx.createOscillator();
        osc.type = 'sine';
        osc.frequency.value = f;
        const g = ctx.createGain();
        g.gain.value = gain;
        osc.connect(g).connect(dest);
        osc.start();
        oscs.push(osc);
    }
    const track = dest.stream.getAudioTracks()[0];
    return { track, stream: dest.stream, stop() { for (const o of oscs) o.stop(); track.stop(); } };
}

// --- video measurement ------------------------------------------------------------

const GRID_W = 32;
const GRID_H = 18;

/** Tracks presented frames of a <video> (requestVideoFrameCallback). */
export function countFrames(video) {
    const info = { frames: 0, lastFrameAt: 0 };
    const cb = () => {
        info.frames++;
        info.lastFrameAt = performance.now();
        video.requestVideoFrameCallback(cb);
    };
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(cb);
    return info;
}

let scratch;
/** Classifies the current frame of `video`. Returns null when no frame is there yet. */
export function videoStats(video, w = 320, h = 180) {
    if (!video || !video.videoWidth || video.readyState < 2) return null;
    if (!scratch) {
        scratch = document.createElement('canvas');
        scratch.width = w;
        scratch.height = h;
    }
    const ctx = scratch.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    const data = ctx.getImageData(0, 0, w, h).data;
    const counts = Object.fromEntries(CLASSES.map((c) => [c, 0]));
    const paletteCounts = new Array(PALETTE.length).fill(0);
    const cells = Array.from({ length: GRID_W * GRID_H }, () => Object.fromEntries(CLASSES.map((c) => [c, 0])));
    let sum = [0, 0, 0];
    for (let y = 0; y < h; y++) {
        const gy = Math.floor((y * GRID_H) / h);
        for (let x = 0; x < w; x++) {
            const i = (y * w + x) * 4;
            const r = data[i];
            const g = data[i + 1];
            const b = data[i + 2];
            sum[0] += r; sum[1] += g; sum[2] += b;
            const cls = classify(r, g, b);
            counts[cls]++;
            if (cls === 'palette') paletteCounts[paletteIndex(r, g, b)]++;
            cells[gy * GRID_W + Math.floor((x * GRID_W) / w)][cls]++;
        }
    }
    const total = w * h;
    const fractions = Object.fromEntries(CLASSES.map((c) => [c, round4(counts[c] / total)]));
    const grid = [];
    for (let gy = 0; gy < GRID_H; gy++) {
        let row = '';
        for (let gx = 0; gx < GRID_W; gx++) {
            const cell = cells[gy * GRID_W + gx];
            let best = 'other';
            for (const c of CLASSES) if (cell[c] > cell[best]) best = c;
            row += LETTER[best];
        }
        grid.push(row);
    }
    return {
        width: video.videoWidth,
        height: video.videoHeight,
        fractions,
        palette: paletteCounts.map((c) => round4(c / total)),
        mean: sum.map((s) => Math.round(s / total)),
        grid,
    };
}

const round4 = (x) => Math.round(x * 10000) / 10000;

/** Largest 4-connected blob of one class in a `videoStats` grid, as a fraction of cells. */
export function largestBlob(grid, letter) {
    const h = grid.length;
    const w = grid[0]?.length || 0;
    const seen = new Uint8Array(w * h);
    let best = 0;
    for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
            if (seen[y * w + x] || grid[y][x] !== letter) continue;
            let size = 0;
            const stack = [[x, y]];
            seen[y * w + x] = 1;
            while (stack.length) {
                const [cx, cy] = stack.pop();
                size++;
                for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
                    const nx = cx + dx;
                    const ny = cy + dy;
                    if (nx < 0 || ny < 0 || nx >= w || ny >= h || seen[ny * w + nx] || grid[ny][nx] !== letter) continue;
                    seen[ny * w + nx] = 1;
                    stack.push([nx, ny]);
                }
            }
            best = Math.max(best, size);
        }
    }
    return w * h ? round4(best / (w * h)) : 0;
}

// --- audio measurement ------------------------------------------------------------

/**
 * Analyses a received audio track. `sink` says how the track is also played:
 * 'volume0' (an <audio> element playing at volume 0, the default), 'muted' (a muted
 * element), 'none' (WebAudio only).
 */
export async function audioProbe(track, { sink = 'volume0', parent = document.body } = {}) {
    const ctx = await audioContext();
    const stream = new MediaStream([track]);
    let el = null;
    if (sink !== 'none') {
        el = document.createElement('audio');
        el.autoplay = true;
        el.srcObject = stream;
        if (sink === 'muted') el.muted = true;
        else el.volume = 0;
        parent.appendChild(el);
        await el.play().catch(() => {});
    }
    const src = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    analyser.minDecibels = -140;
    analyser.maxDecibels = 0;
    src.connect(analyser);
    // keep the graph pulled: analyser → silent gain → destination
    const mute = ctx.createGain();
    mute.gain.value = 0;
    analyser.connect(mute).connect(ctx.destination);
    const bins = analyser.frequencyBinCount;
    const binHz = ctx.sampleRate / analyser.fftSize;
    const db = new Float32Array(bins);
    const time = new Float32Array(analyser.fftSize);

    return {
        element: el,
        stop() { src.disconnect(); analyser.disconnect(); el?.remove(); },
        /** Averages the spectrum over `ms`; levels (dB) around each of `freqs`. */
        async measure({ freqs = [440, 880], ms = 1000, halfWidthHz = 15 } = {}) {
            const power = new Float64Array(bins);
            let snaps = 0;
            let rmsSum = 0;
            const end = performance.now() + ms;
            while (performance.now() < end) {
                analyser.getFloatFrequencyData(db);
                for (let i = 0; i < bins; i++) power[i] += Number.isFinite(db[i]) ? 10 ** (db[i] / 10) : 0;
                analyser.getFloatTimeDomainData(time);
                let s = 0;
                for (let i = 0; i < time.length; i++) s += time[i] * time[i];
                rmsSum += Math.sqrt(s / time.length);
                snaps++;
                await new Promise((r) => setTimeout(r, 90));
            }
            for (let i = 0; i < bins; i++) power[i] /= snaps;
            const toDb = (p) => (p > 0 ? 10 * Math.log10(p) : -200);
            const band = (f) => {
                let p = 0;
                const lo = Math.max(0, Math.floor((f - halfWidthHz) / binHz));
                const hi = Math.min(bins - 1, Math.ceil((f + halfWidthHz) / binHz));
                for (let i = lo; i <= hi; i++) p += power[i];
                return toDb(p);
            };
            // noise floor: median bin power in 100 Hz – 4 kHz, times the band's bin count
            const lo = Math.floor(100 / binHz);
            const hi = Math.ceil(4000 / binHz);
            const sorted = Array.from(power.slice(lo, hi)).sort((a, b) => a - b);
            const perBand = Math.ceil((2 * halfWidthHz) / binHz) + 1;
            const floorDb = toDb(sorted[Math.floor(sorted.length / 2)] * perBand);
            let peak = lo;
            for (let i = lo; i < hi; i++) if (power[i] > power[peak]) peak = i;
            const levels = Object.fromEntries(freqs.map((f) => [f, Math.round(band(f) * 10) / 10]));
            return {
                levels,
                floorDb: Math.round(floorDb * 10) / 10,
                peakHz: Math.round(peak * binHz),
                peakDb: Math.round(toDb(power[peak]) * 10) / 10,
                rms: Math.round((rmsSum / Math.max(1, snaps)) * 10000) / 10000,
                snaps,
                contextState: ctx.state,
                elementPaused: el ? el.paused : null,
            };
        },
    };
}
