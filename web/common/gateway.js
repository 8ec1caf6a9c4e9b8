// Shows whether the gateway answers on its WebSocket (protocol "vigil.v1").
// The alarm and console screens replace this with the full protocol
// (docs/protocol.md) as they land.
(function () {
  const el = document.getElementById('gateway');
  if (!el) return;
  const ws = new WebSocket('wss://' + location.host + '/ws', 'vigil.v1');
  ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', id: 'page' }));
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'hello') {
      el.textContent = 'Gateway reachable: vigil ' + m.version + ', protocol ' + m.protocol + '.';
      el.className = 'status ok';
    }
    ws.close();
  };
  ws.onerror = () => {
    el.textContent = 'The gateway does not answer. In an emergency, call 110.';
    el.className = 'status bad';
  };
})();
