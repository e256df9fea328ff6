// One reconnecting WebSocket for every live page (inbox, conversation, alerts, cockpit).
// The URL comes from the server (a data-socket-url attribute rendered from the socket routes,
// parley/websockets.py), never spelled out in the scripts. A dropped socket reconnects with
// a doubling delay (1 s up to 30 s, reset once open). By default a revocation (4401 signed
// out, 4403 no longer allowed here) is final; a page whose socket only needs regrouping after
// an access change (the inbox: other teams, other groups) passes stopOn: [] to reconnect.
(function () {
  "use strict";

  const FIRST_DELAY_MS = 1000;
  const MAX_DELAY_MS = 30000;
  const REVOKED = [4401, 4403];

  // "/ws/inbox/" -> "wss://host/ws/inbox/" on https, "ws://host/ws/inbox/" otherwise.
  function absolute(path) {
    const url = new URL(path, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.toString();
  }

  // connect(path, {onOpen, onMessage(data, event), onClose(event, willRetry), stopOn}) -> handle with
  // send(object) (dropped while not open) and close(). Messages are parsed as JSON; one that
  // is not JSON is ignored.
  function connect(path, handlers) {
    const on = handlers || {};
    const stopOn = on.stopOn || REVOKED;
    let socket = null;
    let delay = FIRST_DELAY_MS;
    let stopped = false;
    let retryTimer = null;

    function open() {
      socket = new WebSocket(absolute(path));
      socket.addEventListener("open", function () {
        delay = FIRST_DELAY_MS;
        if (on.onOpen) on.onOpen();
      });
      socket.addEventListener("message", function (event) {
        let data;
        try { data = JSON.parse(event.data); } catch (error) { return; }
        if (on.onMessage) on.onMessage(data, event);
      });
      socket.addEventListener("close", function (event) {
        const willRetry = !stopped && stopOn.indexOf(event.code) === -1;
        if (on.onClose) on.onClose(event, willRetry);
        if (!willRetry) return;
        retryTimer = setTimeout(open, delay);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
      });
    }

    open();
    return {
      send: function (message) {
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
      },
      close: function () {
        stopped = true;
        clearTimeout(retryTimer);
        if (socket) socket.close();
      },
    };
  }

  window.ParleySocket = { connect: connect, absolute: absolute };
})();
