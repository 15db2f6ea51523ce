// The provisioning page's one script (served by plenum at /api/client/v2/provision.js).
// The server never writes the link's `data` into the page, because it holds the
// registration password: this script takes it from the address bar, makes it the
// "Open in the app" link (pexip-provision://settings/?data=<the same data>), and then
// removes the query from the address bar and the history entry.
(function () {
    'use strict';
    var open = document.getElementById('open');
    var pair = location.search.slice(1).split('&').find(function (p) {
        return p.indexOf('data=') === 0;
    });
    if (open && pair) {
        var data = pair.slice('data='.length);
        // Base64 (either alphabet), perhaps percent-escaped: nothing else may reach the href.
        if (/^[A-Za-z0-9+/=_%-]+$/.test(data)) {
            open.href = 'pexip-provision://settings/?data=' + data;
            open.hidden = false;
        }
    }
    if (location.search) {
        history.replaceState(null, '', location.pathname + location.hash);
    }
})();
