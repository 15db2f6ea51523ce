// Reason string → #pex code, exactly as the Pexip SDK's getErrorCode maps them
// (client-api-v2.md §5.3; exact, case-sensitive). Anything unknown is #pex117.
// Three codes are the web app's own, all from behavior.md §12: #pex118 (node unreachable:
// the request never got an answer), #pex170 (no WebRTC in this browser, so it cannot
// gather addresses for a call) and #pex171 (camera/microphone unavailable).

const CODES = {
    'Invalid role': 100,
    'Invalid PIN': 101,
    'Out of proxying resource': 109,
    'System in maintenance mode': 110,
    '502 Bad Gateway': 111,
    '503 Service Unavailable': 112,
    'Invalid token': 113,
    'Timer expired awaiting token refresh': 113,
    'Out of resource': 114,
    'Out of transcoding resource': 114,
    'transfer failed': 115,
    'Unexpected Response: 503': 116,
    'Failed to forward request': 119,
    'Conference host ended the conference with a DTMF command': 120,
    'API initiated conference termination': 121,
    'API initiated participant disconnect': 122,
    'Conference terminated by an administrator': 122,
    'Disconnected by an administrator': 123,
    'Disconnected by another participant': 124,
    'Conference terminated by another participant': 125,
    'Timeout waiting for conference host to join or permit access to locked conference': 126,
    Disabled: 127,
    'WebRTC connection failed': 128,
    'Signaling node disconnected': 129,
    'Media process disconnected': 130,
    'Media node disconnected': 131,
    'Proxied participant disconnected': 132,
    'No participants can keep conference alive': 140,
    'All conference hosts departed hosted conference': 141,
    'Last remaining participant removed from conference after timeout': 142,
    'Test call finished': 143,
    'Call rejected': 150,
    'Call disconnected': 151,
    'Gateway dial out failed': 152,
    'invalid gateway routing rule transform': 153,
    'Neither conference nor gateway found': 154,
    'No direct route between Edge and Transcoding': 156,
    '404 Not Found': 157,
    'Resource unavailable': 191,
    'Participant exceeded PIN entry retries': 192,
    'Invalid license': 193,
    'Participant limit reached': 194,
    'Insufficient licenses': 195,
    'Ice failure': 196,
    'Telehealth Call failure': 197,
    'SSO Authentication Failed': 200,
    'SSO enabled but no Identity Providers configured': 201,
    'SSO Authentication Failed. The system is in Maintenance mode': 203,
    'SSO Authentication Failed. SSO is not available from this domain': 204,
    'Failed to transfer into a multi-party conference': 210,
    'Failed to transfer into a one-to-one conference': 211,
};

/** The web app's own reasons (no server string exists for them). */
export const NODE_UNREACHABLE = 'Could not reach the node';
export const MEDIA_UNAVAILABLE = 'Camera or microphone unavailable';
export const NO_WEBRTC = 'This browser has no WebRTC';

/** Whether this browser can make audio and video calls at all. */
export function hasWebRTC() {
    return typeof globalThis.RTCPeerConnection === 'function';
}

/** `#pexNNN` for a reason string. */
export function pexCode(reason) {
    if (reason === NODE_UNREACHABLE) return 118;
    if (reason === NO_WEBRTC) return 170;
    if (reason === MEDIA_UNAVAILABLE) return 171;
    return CODES[reason] ?? 117;
}

/** A failure that ends (or prevents) a session: the reason string and its code. */
export class PexError extends Error {
    constructor(reason, { httpStatus } = {}) {
        super(reason);
        this.name = 'PexError';
        this.reason = reason;
        this.code = pexCode(reason);
        this.httpStatus = httpStatus;
    }
}
