// A received presentation: full-motion video on the `slides` line ("HD") or still JPEG
// snapshots (`presentation_frame` → `presentation.jpeg`, behavior.md §5: stills by
// default, HD on request), shown on the stage or in a separate window (Shift+P).
//
// The stage (app.js) owns the <video class="presentation"> and its box; this module adds
// the still <img>, the HD and pop-out buttons, and the pop-out window. `inWindow` tells
// the stage to leave the presentation out of its own layout.

import { t } from './i18n.js';
import { h, icon } from './dom.js';
import { announce } from './ui.js';
import { settings } from './settings.js';

export class PresentationView {
    /**
     * @param {import('./client.js').MeetingClient} client
     * @param {{video: HTMLVideoElement, box: HTMLElement, onChange: () => void}} o
     */
    constructor(client, { video, box, onChange }) {
        this.client = client;
        this.video = video;
        this.box = box;
        this.onChange = onChange;
        this.fullMotion = settings.presFullMotion;
        this.stillUrl = null;
        this.win = null;
        client.setPresentationVideo(this.fullMotion);

        this.still = h('img', { class: 'presentation-still hidden', alt: '' });
        this.waitNote = h('p', { class: 'pres-wait hidden' }, t('pres.still.waiting'));
        this.hdBtn = h('button', { type: 'button', class: 'pres-btn', 'data-pres': 'hd' });
        this.popBtn = h('button', { type: 'button', class: 'pres-btn', 'data-pres': 'window' }, icon('popout'));
        const controls = h('div', { class: 'pres-controls', role: 'group', 'aria-label': t('pres.controls') }, this.hdBtn, this.popBtn);
        // the box swaps places with the composite on click; its own buttons must not
        for (const b of [this.hdBtn, this.popBtn]) b.addEventListener('click', (e) => e.stopPropagation());
        this.hdBtn.addEventListener('click', () => this.setFullMotion(!this.fullMotion));
        this.popBtn.addEventListener('click', () => this.toggleWindow());
        box.prepend(this.still, this.waitNote);
        box.append(controls);

        client.addEventListener('presentationFrame', (e) => this.loadStill(e.detail.id));
        client.addEventListener('presentation', () => {
            if (!client.state.presentation) this.stillUrl = null;
            this.paint();
        });
        // the popup outlives neither the page nor the session
        this.onPageHide = () => this.closeWindow();
        addEventListener('pagehide', this.onPageHide);
        client.addEventListener('ended', () => this.dispose());
        client.addEventListener('transfer', () => this.dispose());
        this.paint();
    }

    /** The session is over (ended, transferred or left): no window, no page listener. */
    dispose() {
        removeEventListener('pagehide', this.onPageHide);
        this.closeWindow();
    }

    get receiving() { return !!this.client.state.presentation; }
    get inWindow() { return !!this.win && !this.win.closed; }

    setFullMotion(on) {
        this.fullMotion = on;
        this.client.setPresentationVideo(on);
        announce(on ? t('pres.hd.on') : t('pres.hd.off'), { toast: false });
        this.paint();
    }

    /** Loads a still off-screen and swaps it in once decoded (no flicker, no broken image). */
    loadStill(id) {
        if (this.fullMotion) return;
        const url = this.client.presentationStillUrl(id, { high: this.client.bandwidth >= 1264 });
        const img = new Image();
        img.onload = () => {
            if (this.fullMotion || !this.receiving) return;
            this.stillUrl = url;
            this.paint();
        };
        img.src = url;
    }

    paint() {
        const stills = !this.fullMotion;
        const showStill = stills && !!this.stillUrl;
        if (showStill && this.still.getAttribute('src') !== this.stillUrl) this.still.src = this.stillUrl;
        this.still.classList.toggle('hidden', !showStill);
        this.video.classList.toggle('hidden', stills);
        this.waitNote.classList.toggle('hidden', !stills || showStill || !this.receiving);
        this.box.dataset.mode = stills ? 'still' : 'hd';
        const hdLabel = this.fullMotion ? t('pres.hd.disable') : t('pres.hd.enable');
        this.hdBtn.textContent = 'HD';
        this.hdBtn.setAttribute('aria-pressed', String(this.fullMotion));
        this.hdBtn.setAttribute('aria-label', hdLabel);
        this.hdBtn.title = hdLabel;
        const winLabel = this.inWindow ? t('pres.window.close') : t('pres.window.open');
        this.popBtn.setAttribute('aria-label', winLabel);
        this.popBtn.title = winLabel;
        this.popBtn.setAttribute('aria-pressed', String(this.inWindow));
        this.paintWindow();
        this.onChange?.();
    }

    toggleWindow() {
        if (this.inWindow) this.closeWindow();
        else this.openWindow();
    }

    /** The presentation in its own browser window (same origin, built from here). */
    openWindow() {
        if (this.inWindow) { this.win.focus(); return; }
        const w = window.open('', 'plenum-presentation', 'popup=yes,width=960,height=600');
        if (!w) { announce(t('pres.window.blocked'), { kind: 'warn' }); return; }
        const d = w.document;
        d.title = t('pres.window.title', { alias: this.client.alias });
        Object.assign(d.body.style, { margin: '0', background: '#0b0d12', color: '#e8eaf0', font: '16px system-ui, sans-serif', display: 'grid', placeItems: 'center', height: '100vh', overflow: 'hidden' });
        const fit = { maxWidth: '100vw', maxHeight: '100vh', width: '100%', height: '100%', objectFit: 'contain' };
        const video = d.createElement('video');
        Object.assign(video, { autoplay: true, muted: true, playsInline: true, className: 'presentation' });
        Object.assign(video.style, fit);
        const img = d.createElement('img');
        img.className = 'presentation-still';
        img.alt = '';
        Object.assign(img.style, fit);
        const note = d.createElement('p');
        note.className = 'pres-window-note';
        note.setAttribute('role', 'status');
        d.body.replaceChildren(video, img, note);
        this.win = w;
        this.winEls = { video, img, note };
        const onClose = () => {
            if (this.win !== w) return;
            this.win = null;
            this.winEls = null;
            clearInterval(this.winPoll);
            this.paint();
        };
        w.addEventListener('pagehide', onClose);
        // some browsers fire nothing on a closed popup: look now and then
        this.winPoll = setInterval(() => { if (w.closed) onClose(); }, 1000);
        announce(t('pres.window.opened'), { toast: false });
        this.paint();
    }

    closeWindow() {
        const w = this.win;
        if (!w) return;
        this.win = null;
        this.winEls = null;
        clearInterval(this.winPoll);
        if (!w.closed) w.close();
        this.paint();
    }

    paintWindow() {
        if (!this.inWindow || !this.winEls) return;
        const { video, img, note } = this.winEls;
        const stills = !this.fullMotion;
        if (this.video.srcObject && video.srcObject !== this.video.srcObject) {
            video.srcObject = this.video.srcObject;
            video.play().catch(() => {});
        }
        video.style.display = this.receiving && !stills ? '' : 'none';
        if (stills && this.stillUrl && img.getAttribute('src') !== this.stillUrl) img.src = this.stillUrl;
        img.style.display = this.receiving && stills && this.stillUrl ? '' : 'none';
        const p = this.client.state.presentation;
        note.textContent = !p ? t('pres.window.none') : stills && !this.stillUrl ? t('pres.still.waiting') : '';
        note.style.display = note.textContent ? '' : 'none';
    }
}
