// Records every RTCPeerConnection the page creates (the SDK's included) so the tests can
// read getStats() and the negotiated SDP for evidence: a transparent subclass, installed
// before the SDK module runs (imported first by media-app.js). One intervention, only when
// a test asks for it: `onlyVideoCodecs(['video/H264'])` narrows every video transceiver to
// those codecs (setCodecPreferences) before each offer, as a client that only has them.
const Native = window.RTCPeerConnection;
export const peerConnections = [];
let videoCodecs = null;

/** Offers from now on carry only these video codecs (mime types, e.g. 'video/H264'). */
export function onlyVideoCodecs(mimeTypes) {
    videoCodecs = mimeTypes.map((m) => m.toLowerCase());
}

if (Native && !Native.__plenumSpy) {
    class SpiedPeerConnection extends Native {
        constructor(...args) {
            super(...args);
            peerConnections.push(this);
        }

        async createOffer(...args) {
            if (videoCodecs) {
                const all = RTCRtpReceiver.getCapabilities('video')?.codecs || [];
                const keep = all.filter((c) => videoCodecs.includes(c.mimeType.toLowerCase()));
                for (const t of this.getTransceivers()) {
                    if (t.receiver.track?.kind === 'video' && !t.stopped) t.setCodecPreferences(keep);
                }
            }
            return super.createOffer(...args);
        }
    }
    SpiedPeerConnection.__plenumSpy = true;
    window.RTCPeerConnection = SpiedPeerConnection;
}
