// Links into meetings (behavior.md §7): the join parameters of the current address.

const CALL_TYPES = { video: 'video', audioonly: 'audio', audio: 'audio', none: 'none' };

// === routes ====================================================================

/**
 * Reads the join parameters of the current address: `/webapp/#/?…` (straight in),
 * `/webapp/home?conference=` (invitation) and the oldest `/webapp/?conference=&join=1…`.
 * The path is not looked at beyond `/home`: the node answers the app also at Pexip's
 * older `/webapp1/` and `/webapp2/` (`#/?…` and `?…` read the same way there), sends
 * `/?…` on to `/webapp/?…`, and `/webapp{,1,2}/conference/<alias>?…` to `/webapp/#/?…`.
 */
export function parseRoute() {
    const hash = location.hash || '';
    const q = hash.includes('?') ? new URLSearchParams(hash.slice(hash.indexOf('?') + 1)) : null;
    const search = new URLSearchParams(location.search);
    const issues = [];
    const bool = (v) => /^(1|true|yes)$/i.test(v || '');
    if (q && q.get('conference')) {
        const p = {
            alias: q.get('conference').trim(),
            name: (q.get('name') || '').trim(),
            pin: q.get('pin') || '',
            role: (q.get('role') || '').toLowerCase(),
            muteMic: bool(q.get('muteMicrophone')),
            muteCam: bool(q.get('muteCamera')),
            callType: 'video',
            bandwidth: null,
            extension: q.get('extension') || '',
            // the one-time token a single sign-on hands back (client-api-v2 §1.2)
            ssoToken: q.get('sso_token') || '',
            straight: true,
        };
        const ct = q.get('callType');
        if (ct) {
            if (CALL_TYPES[ct.toLowerCase()]) p.callType = CALL_TYPES[ct.toLowerCase()];
            else issues.push('callType');
        }
        const bw = q.get('bandwidth');
        if (bw) {
            if (/^\d+$/.test(bw) && +bw >= 256 && +bw <= 2464) p.bandwidth = +bw;
            else issues.push('bandwidth');
        }
        if (p.role && !['host', 'guest'].includes(p.role)) { issues.push('role'); p.role = ''; }
        return { ...p, issues };
    }
    if (search.get('conference')) {
        const legacy = !/\/home\/?$/.test(location.pathname);
        const p = { alias: search.get('conference').trim(), name: (search.get('name') || '').trim(), pin: search.get('pin') || '', role: (search.get('role') || '').toLowerCase(), callType: 'video', bandwidth: null, straight: false, issues };
        if (legacy) {
            // oldest style: join=1 goes straight in; audioonly=1 / media=0 pick the call type
            p.straight = search.get('join') === '1';
            if (search.get('audioonly') === '1') p.callType = 'audio';
            else if (search.get('media') === '0') p.callType = 'none';
            const bw = search.get('bw');
            if (bw) { if (/^\d+$/.test(bw) && +bw >= 256 && +bw <= 2464) p.bandwidth = +bw; else issues.push('bw'); }
        }
        return p;
    }
    return null;
}

/**
 * Where a single sign-on returns to: this app, straight into `p.alias` with the same
 * name and media, and the node's `__pexip-sso-token__` placeholder where the one-time
 * token goes.
 */
export function ssoReturnAddress(p) {
    const q = new URLSearchParams({ conference: p.alias, name: p.name || '' });
    q.set('callType', p.callType || 'video');
    if (p.bandwidth) q.set('bandwidth', String(p.bandwidth));
    if (p.muteMic) q.set('muteMicrophone', 'true');
    if (p.muteCam) q.set('muteCamera', 'true');
    return `${location.origin}/webapp/#/?${q.toString()}&sso_token=__pexip-sso-token__`;
}

/** Join parameters (PINs, sign-in tokens!) leave the address bar once read. */
export function cleanAddress() {
    history.replaceState(null, '', '/webapp/home');
}

