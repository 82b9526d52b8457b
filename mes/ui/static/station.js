// shopfloor station page: a keyboard-wedge scanner types into #scan and ends with Enter.
// Every scan gets a fresh event_id and goes into an offline queue (localStorage) first; the
// queue is sent in order and an item leaves it only once the MES answered (200 or 422), so a
// retry after a network failure is safe: the MES answers a known event_id with its first answer.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  // a badge scanned with its PIN (EMP:<badge>:<pin>) is never shown with the PIN
  const shown = (code) => code.replace(/^(\s*(?:\][A-Za-z]\d)?EMP:[^:\s]+:)\S+/i, "$1****");
  const fromPath = location.pathname.match(/^\/station\/([^/]+)/);
  const station = fromPath ? decodeURIComponent(fromPath[1]) : localStorage.getItem("sf.station");
  const tokenKey = () => "sf.token." + station;
  const queueKey = () => "sf.queue." + station;
  let sending = false;
  // An enrolment link (/station/ws-10#token=...) stores the station token, then drops it from the
  // address bar; a fragment never reaches the server, so the token stays out of access logs.
  const fromHash = location.hash.match(/^#token=(.+)$/);
  if (station && fromHash) {
    localStorage.setItem(tokenKey(), decodeURIComponent(fromHash[1]));
    history.replaceState(null, "", location.pathname);
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  const loadQueue = () => JSON.parse(localStorage.getItem(queueKey()) || "[]");
  const saveQueue = (q) => {
    localStorage.setItem(queueKey(), JSON.stringify(q));
    $("queue").textContent = q.length ? `${q.length} scan(s) waiting to be sent` : "";
  };
  function show(kind, text) {
    const a = $("answer");
    a.className = kind;
    a.textContent = text;
  }
  function showState(s) {
    if (!s) return;
    $("operators").textContent = s.operators.length
      ? s.operators.map((o) => `${o.name} (${o.badge})`).join(", ") : "nobody logged in";
    $("job").textContent = s.work_order ? `${s.work_order} / ${s.operation || "?"}` : "no job";
    const j = s.job;
    $("progress").textContent = j
      ? `${j.status || ""} good ${j.good ?? "?"} / ${j.quantity ?? "?"}, scrap ${j.scrap ?? 0}` : "-";
  }
  function headers() {
    return { "Content-Type": "application/json",
             "Authorization": "Bearer " + (localStorage.getItem(tokenKey()) || "") };
  }
  async function flush() {
    if (sending) return;
    sending = true;
    try {
      let q = loadQueue();
      while (q.length) {
        const item = q[0];
        let resp;
        try {
          resp = await fetch("/api/v1/scans", { method: "POST", headers: headers(),
                                                  body: JSON.stringify(item) });
        } catch (e) {
          show("pending", `Offline: ${shown(item.code)} kept, will be sent when the MES answers`);
          return;
        }
        if (resp.status === 200 || resp.status === 422 || resp.status === 409) {
          const body = await resp.json().catch(() => ({}));
          q = loadQueue().filter((x) => x.event_id !== item.event_id);
          saveQueue(q);
          if (resp.status === 200) { show("ok", body.message); showState(body.station_state); }
          else if (body.error) { show("refused", `${body.error.code}: ${body.error.message}`);
                                 showState(body.station_state); }
          else show("refused", body.detail || "refused");
        } else if (resp.status === 401 || resp.status === 403) {
          show("refused", "This station is not enrolled: open Station setup and enter its token");
          return;
        } else {
          show("pending", `MES busy (${resp.status}): ${shown(item.code)} kept, retrying`);
          return;
        }
      }
    } finally {
      sending = false;
    }
  }
  async function refresh() {
    if (!station) return;
    try {
      const r = await fetch(`/api/v1/stations/${encodeURIComponent(station)}/state`,
                            { headers: headers() });
      if (r.ok) showState(await r.json());
    } catch (e) { /* offline: keep what is shown */ }
  }

  $("station-id").textContent = station || "(not set)";
  $("cfg-station").value = station || "";
  $("cfg-save").addEventListener("click", () => {
    const id = $("cfg-station").value.trim();
    localStorage.setItem("sf.station", id);
    localStorage.setItem("sf.token." + id, $("cfg-token").value.trim());
    location.href = "/station/" + encodeURIComponent(id);
  });
  $("scan").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    const code = ev.target.value;
    ev.target.value = "";
    if (!code.trim() || !station) return;
    const q = loadQueue();
    q.push({ station, code, event_id: uuid(), scanned_at: new Date().toISOString() });
    saveQueue(q);
    show("pending", `${shown(code)} ...`);
    flush();
  });
  document.addEventListener("click", () => $("scan").focus());
  saveQueue(loadQueue());
  flush();
  refresh();
  setInterval(flush, 3000);
  setInterval(refresh, 10000);
})();
