// Server-sent events read with fetch (EventSource cannot send a bearer token): calls
// onEvent(name, data) for each event; reconnects after a drop; stop() ends it.
export function follow(url, headers, { onEvent, onState, onDenied, retryMs = 3000, stopOnDenied = true }) {
  let abort = null;
  let stopped = false;

  async function once() {
    abort = new AbortController();
    const r = await fetch(url, { headers: headers(), signal: abort.signal });
    if (r.status === 401 || r.status === 403) {
      stopped = stopOnDenied;
      onDenied(r.status);
      return;
    }
    if (!r.ok || !r.body) throw new Error(`stream answered ${r.status}`);
    onState(true);
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const blocks = text.split("\n\n");
      text = blocks.pop();
      for (const block of blocks) {
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  (async () => {
    while (!stopped) {
      try { await once(); } catch (e) { /* dropped: said below, then retried */ }
      if (stopped) break;
      onState(false);
      await new Promise((r) => setTimeout(r, retryMs));
    }
  })();

  return { stop() { stopped = true; if (abort) abort.abort(); } };
}
