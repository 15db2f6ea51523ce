// Slash commands typed into the roster filter box (behavior.md §5), roster filters and
// the keyboard-shortcut list. `runCommand(text, ctx)` executes one command line;
// ctx: {client, st, setFilter(criterion|null), setHand(bool), layoutNames: string[]}.

import { YES } from './client.js';
import { t } from './i18n.js';
import { h } from './dom.js';
import { openDialog } from './ui.js';
import { endForAll } from './host.js';

export const FILTERS = ['host', 'guest', 'handraised', 'spotlight', 'speaking', 'streaming', 'external', 'waiting', 'audio-only', 'control-only'];
export const LAYOUTS = ['1:0', '1:7', '1:21', '2:21', '4:0', 'AdaptiveComposition'];

/** Whether participant `p` matches roster filter `f` (`talking`: set of speaking uuids). */
export function matchesFilter(p, f, talking) {
    switch (f) {
        case 'host': return p.role === 'chair';
        case 'guest': return p.role === 'guest';
        case 'handraised': return p.buzz_time > 0;
        case 'spotlight': return p.spotlight > 0;
        case 'speaking': return talking.has(p.uuid);
        case 'streaming': return !!p.is_streaming_conference;
        case 'external': return !!p.is_external;
        case 'waiting': return p.service_type === 'waiting_room';
        case 'audio-only': return YES(p.is_audio_only_call);
        case 'control-only': return !YES(p.is_audio_only_call) && !YES(p.is_video_call);
        default: return true;
    }
}

const P = '<p>';
// [name, args hint, host only, run(ctx, args)]
const COMMANDS = [
    ['/lock', '', true, (c) => c.client.conferenceAction('lock')],
    ['/unlock', '', true, (c) => c.client.conferenceAction('unlock')],
    ['/mute', P, true, (c, a) => person(c, a, (p) => c.client.participantAction(p.uuid, 'mute'))],
    ['/unmute', P, true, (c, a) => person(c, a, (p) => c.client.participantAction(p.uuid, 'unmute'))],
    ['/muteall', '', true, (c) => c.client.conferenceAction('muteguests')],
    ['/unmuteall', '', true, (c) => c.client.conferenceAction('unmuteguests')],
    ['/handsdown', P, true, (c, a) => person(c, a, (p) => c.client.participantAction(p.uuid, 'clearbuzz'))],
    ['/handsdownall', '', true, (c) => c.client.conferenceAction('clearallbuzz')],
    ['/disconnect', P, true, (c, a) => person(c, a, (p) => c.client.participantAction(p.uuid, 'disconnect'))],
    ['/disconnectall', '', true, (c) => endForAll(c.client)],
    ['/spotlight', `on|off ${P}`, true, (c, a) => {
        const [mode, ...rest] = a.split(/\s+/);
        if (!/^(on|off)$/.test(mode)) return usage('/spotlight');
        return person(c, rest.join(' '), (p) => c.client.participantAction(p.uuid, mode === 'on' ? 'spotlighton' : 'spotlightoff'));
    }],
    ['/overlay', 'on|off', true, (c, a) => (/^(on|off)$/.test(a) ? c.client.conferenceAction('transform_layout', { transforms: { enable_overlay_text: a === 'on' } }) : usage('/overlay'))],
    ['/layout', LAYOUTS.join('|'), true, (c, a) => {
        const names = c.layoutNames?.length ? c.layoutNames : LAYOUTS;
        const name = names.find((n) => n.toLowerCase() === a.toLowerCase()) || (a.toLowerCase() === 'adaptivecomposition' ? 'ac' : null);
        if (!name) return usage('/layout');
        return c.client.conferenceAction('transform_layout', { transforms: { layout: name } });
    }],
    ['/shortcuts', '', false, () => { shortcutsDialog(); return true; }],
    ['/hand', 'up|down', false, (c, a) => (/^(up|down)$/.test(a) ? c.setHand(a === 'up') : usage('/hand'))],
    ['/filter', FILTERS.join('|'), false, (c, a) => {
        if (!a) { c.setFilter(null); return true; }
        if (!FILTERS.includes(a)) return usage('/filter');
        c.setFilter(a);
        return true;
    }],
];
// the names used in the wording, accepted too
const ALIASES = { '/mute-guests': '/muteall', '/unmute-guests': '/unmuteall' };

function usage(name) {
    const c = COMMANDS.find((x) => x[0] === name);
    return { error: t('cmd.usage', { usage: `${c[0]} ${c[1]}`.trim() }) };
}

function person(ctx, text, fn) {
    const q = text.trim().toLowerCase();
    if (!q) return { error: t('cmd.needPerson') };
    const list = [...ctx.st.participants.values()];
    const exact = list.filter((p) => (p.display_name || '').toLowerCase() === q);
    const found = exact.length ? exact : list.filter((p) => (p.display_name || '').toLowerCase().includes(q));
    if (found.length !== 1) return { error: found.length ? t('cmd.ambiguous', { q: text.trim() }) : t('cmd.noPerson', { q: text.trim() }) };
    return fn(found[0]);
}

/** The commands whose name starts like `text` (for the hint list under the box). */
export function commandHints(text, isHost) {
    const word = text.split(/\s+/)[0].toLowerCase();
    return COMMANDS.filter(([n, , host]) => (isHost || !host) && n.startsWith(word))
        .map(([n, args]) => ({ name: n, args, help: t(`cmd.help.${n.slice(1)}`) }));
}

/** Runs one command line; answers {ok:true} or {error}. */
export async function runCommand(text, ctx) {
    const m = text.trim().match(/^(\/\S+)\s*(.*)$/);
    if (!m) return { error: t('cmd.unknown', { name: text }) };
    const name = ALIASES[m[1].toLowerCase()] || m[1].toLowerCase();
    const cmd = COMMANDS.find((x) => x[0] === name);
    if (!cmd) return { error: t('cmd.unknown', { name: m[1] }) };
    if (cmd[2] && !ctx.client.isHost) return { error: t('cmd.hostOnly', { name }) };
    const r = await cmd[3](ctx, m[2].trim());
    if (r && typeof r === 'object' && r.error) return r;
    if (r === false) return { error: t('cmd.failed', { name }) };
    return { ok: true };
}

// behavior.md §5: camera c, microphone m, side panel s, events Shift+S, presentation
// window Shift+P, add participant a.
export const SHORTCUTS = [
    ['c', 'sc.cam'],
    ['m', 'sc.mic'],
    ['s', 'sc.panel'],
    ['Shift+S', 'sc.events'],
    ['Shift+P', 'sc.presWindow'],
    ['a', 'sc.add'],
];

export function shortcutsDialog() {
    openDialog(t('sc.title'), h('dl', { class: 'shortcuts' },
        SHORTCUTS.map(([k, label]) => [h('dt', {}, k.split('+').map((x, i) => [i ? ' + ' : null, h('kbd', {}, x)])), h('dd', {}, t(label))])));
}
