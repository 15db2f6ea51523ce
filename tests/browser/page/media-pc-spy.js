// Records every RTCPeerConnection the page creates (the SDK's included) so the tests can
// read getStats() and the negotiated SDP for evidence. Observation only: a transparent
// subclass, installed before the SDK module runs (imported first by media-app.js).
const Native = window.RTCPeerConnection;
export const peerConnections = [];
if (Native && !Native.__plenumSpy) {
    class SpiedPeerConnection extends Native {
        constructor(...args) {
            super(...args);
            peerConnections.push(this);
        }
    }
    SpiedPeerConnection.__plenumSpy = true;
    window.RTCPeerConnection = SpiedPeerConnection;
}
