// Present files: images (JPEG, PNG, GIF, BMP, WebP) and PDF pages as slides. The slides
// are drawn onto a 16:9 canvas whose captureStream() track goes out on the presentation
// line exactly like a screen share (client.present). While presenting, a slide bar over
// the stage: the current slide, previous/next, "Slide n of N" (live region), a strip of
// thumbnails; ← → PageUp PageDown Home End change slides when focus is not in a field.
//
// PDFs are rendered by Mozilla's pdf.js (vendor/pdfjs/, imported only when a PDF is
// chosen), with its worker from this origin and without wasm, so the node's CSP stays
// as it is; PDF images that need wasm decoders (JPX/JBIG2) are left out of the page.

import { t } from './i18n.js';
import { h, fill, icon } from './dom.js';
import { announce } from './ui.js';

const PDFJS_URL = new URL('../vendor/pdfjs/pdf.min.mjs', import.meta.url).href;
const PDF_WORKER_URL = new URL('../vendor/pdfjs/pdf.worker.min.mjs', import.meta.url).href;

const IMAGE_TYPES = { 'image/jpeg': 1, 'image/png': 1, 'image/gif': 1, 'image/bmp': 1, 'image/x-ms-bmp': 1, 'image/webp': 1 };
const IMAGE_EXT = /\.(jpe?g|png|gif|bmp|webp)$/i;
export const ACCEPT = 'image/jpeg,image/png,image/gif,image/bmp,image/webp,application/pdf,.jpg,.jpeg,.png,.gif,.bmp,.webp,.pdf';

const HD = { w: 1280, h: 720 };
const FULL_HD = { w: 1920, h: 1080 };
const THUMB = { w: 160, h: 90 };
/** Redraws per second while a slide stays: a receiver that joins late needs frames. */
const REFRESH_MS = 500;
/** Rendered PDF pages kept (full size); the rest are rendered again when shown. */
const PAGE_CACHE = 6;

/** 'image', 'pdf' or null (not supported). */
function kindOf(file) {
    const type = (file.type || '').toLowerCase();
    if (type === 'application/pdf' || (!type && /\.pdf$/i.test(file.name))) return 'pdf';
    if (IMAGE_TYPES[type] || (!type && IMAGE_EXT.test(file.name))) return 'image';
    return null;
}

/** The canvas tracks of file presentations (for the stage's "you are presenting" note). */
const fileTracks = new WeakSet();

/** Whether `track` is a file presentation (not a screen share). */
export const isFileTrack = (track) => !!track && fileTracks.has(track);

let pdfjsPromise = null;

/** pdf.js, loaded on first use (worker from this origin, module worker). */
function loadPdfjs() {
    pdfjsPromise ||= import(PDFJS_URL).then((lib) => {
        lib.GlobalWorkerOptions.workerSrc = PDF_WORKER_URL;
        return lib;
    }).catch((e) => { pdfjsPromise = null; throw e; });
    return pdfjsPromise;
}

async function openPdf(file) {
    const lib = await loadPdfjs();
    const data = new Uint8Array(await file.arrayBuffer());
    // no eval (older pdf.js only; current builds have none), no wasm (the CSP has no
    // 'wasm-unsafe-eval'), no fetching of cmaps/fonts/wasm from elsewhere
    return lib.getDocument({ data, isEvalSupported: false, useWasm: false, enableXfa: false, disableFontFace: false, stopAtErrors: false }).promise;
}

/** Draws `img` into `ctx`'s canvas, scaled to fit and centred on black. */
function letterbox(ctx, img) {
    const { width: cw, height: ch } = ctx.canvas;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, cw, ch);
    if (!img) return;
    const iw = img.width;
    const ih = img.height;
    if (!iw || !ih) return;
    const s = Math.min(cw / iw, ch / ih);
    const w = Math.round(iw * s);
    const hh = Math.round(ih * s);
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(img, Math.round((cw - w) / 2), Math.round((ch - hh) / 2), w, hh);
}

/** A PDF page rendered to fit `max` (a canvas). */
async function renderPage(slide, max) {
    const page = await slide.pdf.getPage(slide.page);
    const base = page.getViewport({ scale: 1 });
    const scale = Math.min(max.w / base.width, max.h / base.height);
    const viewport = page.getViewport({ scale });
    const c = document.createElement('canvas');
    c.width = Math.max(1, Math.floor(viewport.width));
    c.height = Math.max(1, Math.floor(viewport.height));
    const ctx = c.getContext('2d');
    await page.render({ canvasContext: ctx, canvas: c, viewport }).promise;
    return c;
}

/**
 * Turns `files` into slides: `{ name, label, bitmap }` for an image, `{ name, label,
 * pdf, page }` for a PDF page. Answers the slides and the problems (one line each).
 */
export async function loadSlides(files) {
    const slides = [];
    const problems = [];
    for (const file of files) {
        const kind = kindOf(file);
        if (!kind) { problems.push(t('files.unsupported', { name: file.name })); continue; }
        try {
            if (kind === 'image') {
                let bitmap = await createImageBitmap(file);
                // big photos are kept at most at the capture size (memory)
                const s = Math.min(FULL_HD.w / bitmap.width, FULL_HD.h / bitmap.height);
                if (s < 1) {
                    const small = await createImageBitmap(bitmap, { resizeWidth: Math.round(bitmap.width * s), resizeHeight: Math.round(bitmap.height * s), resizeQuality: 'high' });
                    bitmap.close();
                    bitmap = small;
                }
                slides.push({ name: file.name, label: file.name, bitmap, w: bitmap.width, h: bitmap.height });
            } else {
                const pdf = await openPdf(file);
                if (!pdf.numPages) throw new Error('no pages');
                for (let p = 1; p <= pdf.numPages; p++) {
                    slides.push({ name: file.name, label: t('files.page', { name: file.name, n: p }), pdf, page: p });
                }
            }
        } catch (e) {
            console.warn('present files:', file.name, e);
            problems.push(t(kind === 'pdf' && e?.name === 'PasswordException' ? 'files.locked' : 'files.broken', { name: file.name }));
        }
    }
    return { slides, problems };
}

/** The capture size: 1280×720, or 1920×1080 for big pictures and PDFs (vector). */
function canvasSize(slides) {
    return slides.some((s) => s.pdf || s.w > HD.w || s.h > HD.h) ? FULL_HD : HD;
}

/**
 * The file presenter of one meeting screen. `button` is the toolbar button (focus goes
 * back to it), `stage` the element the slide bar is shown in, `onChange` repaints the
 * toolbar.
 */
export class FilePresenter {
    constructor({ client, stage, button, onChange = () => {} }) {
        this.client = client;
        this.stage = stage;
        this.button = button;
        this.onChange = onChange;
        this.active = false;
        this.input = h('input', { type: 'file', class: 'pf-input', multiple: true, accept: ACCEPT, tabindex: '-1', 'aria-hidden': 'true', hidden: true });
        this.input.addEventListener('change', () => {
            const files = [...(this.input.files || [])];
            this.input.value = '';
            if (files.length) this.start(files);
        });
        stage.append(this.input);
        this.onPresenting = () => { if (this.active && this.client.presentTrack !== this.track) this.cleanup(); };
        this.onEnded = () => this.cleanup();
        client.addEventListener('presenting', this.onPresenting);
        client.addEventListener('ended', this.onEnded);
        client.addEventListener('transfer', this.onEnded);
        this.onKey = (e) => this.key(e);
    }

    /** The toolbar button: pick files, or stop presenting them. */
    toggle() {
        if (this.active) { this.stop(); return; }
        if (this.loading) return;
        this.input.click();
    }

    async start(files) {
        if (this.loading) return;
        this.loading = true;
        this.onChange();
        const hasPdf = files.some((f) => kindOf(f) === 'pdf');
        if (hasPdf) announce(t('files.loading'), { toast: false });
        let slides;
        let problems;
        try {
            ({ slides, problems } = await loadSlides(files));
        } finally {
            this.loading = false;
        }
        // one message (the live region keeps only the last): the files left out first
        if (!slides.length) {
            announce([...problems, t('files.none')].join(' '), { kind: 'warn' });
            this.onChange();
            return;
        }
        if (this.active) await this.stop();
        const size = canvasSize(slides);
        this.size = size;
        this.slides = slides;
        this.index = 0;
        this.cache = new Map();
        this.canvas = h('canvas', { class: 'pf-preview', width: size.w, height: size.h, role: 'img', 'aria-label': t('files.current') });
        this.ctx = this.canvas.getContext('2d', { alpha: false });
        letterbox(this.ctx, null);
        const stream = this.canvas.captureStream();
        const track = stream.getVideoTracks()[0];
        this.track = track;
        track.contentHint = 'detail';
        fileTracks.add(track);
        this.buildBar();
        await this.show(0);
        // the screen share we replace (if any) stops once the slides are out
        const previous = this.client.state.presenting ? this.client.presentTrack : null;
        this.active = true;
        let ok = false;
        try {
            ok = await this.client.present(track);
        } catch (e) {
            announce(`${t('files.start')}: ${e?.message || e}`, { kind: 'warn' });
        }
        if (this.track !== track) return; // ended meanwhile (call gone, floor taken)
        if (!ok) { this.cleanup(); return; }
        if (previous && previous !== track) previous.stop();
        this.timer = setInterval(() => this.tick(), REFRESH_MS);
        document.addEventListener('keydown', this.onKey);
        this.stage.append(this.bar);
        this.onChange();
        const started = t('files.started', { n: slides.length });
        if (problems.length) announce([...problems, started].join(' '), { kind: 'warn' });
        else announce(started, { toast: false });
        this.paintBar();
        this.makeThumbs();
    }

    /** Stop presenting (the floor is released; the 'presenting' event cleans up). */
    async stop() {
        if (!this.active) return;
        if (this.client.presentTrack === this.track) await this.client.stopPresenting();
        this.cleanup();
    }

    /** Removes the bar and stops the canvas track (idempotent). */
    cleanup() {
        const wasActive = this.active;
        const hadFocus = this.bar?.contains(document.activeElement);
        this.active = false;
        clearInterval(this.timer);
        this.timer = null;
        document.removeEventListener('keydown', this.onKey);
        this.track?.stop();
        this.track = null;
        this.bar?.remove();
        this.bar = null;
        for (const s of this.slides || []) s.bitmap?.close?.();
        const pdfs = new Set((this.slides || []).map((s) => s.pdf).filter(Boolean));
        for (const pdf of pdfs) pdf.destroy?.().catch?.(() => {});
        this.slides = null;
        this.cache = null;
        this.shown = null;
        this.seq = (this.seq || 0) + 1;
        if (wasActive) {
            this.onChange();
            if (hadFocus && this.button?.isConnected) this.button.focus();
        }
    }

    /** Every REFRESH_MS: the same picture again (keeps frames flowing). */
    tick() {
        if (!this.stage.isConnected) { this.stop(); return; }
        letterbox(this.ctx, this.shown);
        this.track?.requestFrame?.();
    }

    go(delta) { if (this.active) this.show(Math.max(0, Math.min(this.slides.length - 1, this.index + delta))); }

    /** Shows slide `i` (PDF pages are rendered first; the old picture stays meanwhile). */
    async show(i) {
        if (!this.slides) return;
        this.index = i;
        const seq = this.seq = (this.seq || 0) + 1;
        this.paintBar();
        const slide = this.slides[i];
        let img = slide.bitmap;
        if (!img) {
            img = this.cache.get(i);
            if (!img) {
                try {
                    img = await renderPage(slide, this.size);
                } catch (e) {
                    console.warn('present files: page', slide.label, e);
                    if (seq === this.seq) announce(t('files.pageFailed', { name: slide.label }), { kind: 'warn' });
                    img = null;
                }
                if (seq !== this.seq || !this.cache) return;
                if (img) {
                    this.cache.set(i, img);
                    while (this.cache.size > PAGE_CACHE) this.cache.delete(this.cache.keys().next().value);
                }
            }
        }
        if (seq !== this.seq) return;
        this.shown = img;
        letterbox(this.ctx, img);
        this.track?.requestFrame?.();
    }

    key(e) {
        if (!this.active || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
        const el = e.target;
        const tag = (el?.tagName || '').toLowerCase();
        if (['input', 'textarea', 'select'].includes(tag) || el?.isContentEditable || el?.closest?.('[role="tablist"]') || document.querySelector('dialog[open]')) return;
        const moves = { ArrowRight: 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 };
        if (e.key in moves) this.go(moves[e.key]);
        else if (e.key === 'Home') this.show(0);
        else if (e.key === 'End') this.show(this.slides.length - 1);
        else return;
        e.preventDefault();
    }

    buildBar() {
        const btn = (cls, iconName, label, onclick) => h('button', { type: 'button', class: `pf-btn ${cls}`, 'aria-label': label, title: label, onclick }, icon(iconName));
        this.prevBtn = btn('pf-prev', 'prev', t('files.prev'), () => this.go(-1));
        this.nextBtn = btn('pf-next', 'next', t('files.next'), () => this.go(1));
        this.counter = h('span', { class: 'pf-counter', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
        this.nameEl = h('span', { class: 'pf-name' });
        const stopBtn = h('button', { type: 'button', class: 'btn btn-danger pf-stop', onclick: () => this.stop() }, icon('screenOff'), t('files.stop'));
        this.strip = h('ol', { class: 'pf-strip', 'aria-label': t('files.list') });
        this.thumbs = this.slides.map((s, i) => {
            const c = h('canvas', { class: 'pf-thumb-img', width: THUMB.w, height: THUMB.h, 'aria-hidden': 'true' });
            const b = h('button', { type: 'button', class: 'pf-thumb', 'aria-label': t('files.goto', { n: i + 1, name: s.label }), title: s.label, onclick: () => this.show(i) },
                c, h('span', { class: 'pf-thumb-no', 'aria-hidden': 'true' }, String(i + 1)));
            this.strip.append(h('li', {}, b));
            return { button: b, canvas: c };
        });
        this.bar = h('section', { class: 'pf-bar', 'aria-label': t('files.bar') },
            this.canvas,
            h('div', { class: 'pf-side' },
                h('div', { class: 'pf-controls' }, this.prevBtn, this.counter, this.nextBtn, stopBtn),
                this.nameEl,
                this.strip));
    }

    paintBar() {
        if (!this.bar || !this.slides) return;
        const n = this.slides.length;
        fill(this.counter, t('files.counter', { n: this.index + 1, total: n }));
        this.nameEl.textContent = this.slides[this.index].label;
        this.prevBtn.disabled = this.index === 0;
        this.nextBtn.disabled = this.index === n - 1;
        this.thumbs.forEach((th, i) => {
            if (i === this.index) th.button.setAttribute('aria-current', 'true');
            else th.button.removeAttribute('aria-current');
        });
        this.thumbs[this.index].button.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
    }

    /** Thumbnails, one after the other (PDF pages rendered small). */
    async makeThumbs() {
        const slides = this.slides;
        for (let i = 0; slides && i < slides.length; i++) {
            if (this.slides !== slides) return;
            const s = slides[i];
            let img = s.bitmap;
            try {
                if (!img) img = await renderPage(s, THUMB);
            } catch { img = null; }
            if (this.slides !== slides) return;
            letterbox(this.thumbs[i].canvas.getContext('2d'), img);
        }
    }
}
