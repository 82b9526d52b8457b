// The station page: scans (page-wide) and buttons become the same scan commands, stored in the
// outbox first and sent in order; answers are shown in words that say what to do next.
import { createScanner } from "./scanner.js";
import * as outbox from "./outbox.js";
import { load, pick, t, translate, time, date, language, LANGUAGES } from "./i18n.js";
import { play, muted, setMuted } from "./sound.js";
import { showDialog, button } from "./dialog.js";
import { watchAlarms } from "./alarms.js";
import { nextStep, buttons, expected } from "./steps.js";
import { createStopPanel } from "./stop.js";

const $ = (id) => document.getElementById(id);
const TIMEOUT_MS = 5000;
const fromPath = location.pathname.match(/^\/station\/([^/]+)/);
const station = fromPath ? decodeURIComponent(fromPath[1]) : localStorage.getItem("sf.station");
const tokenKey = "sf.token." + station;
let state = null;
let queue = { jobs: [], area: null, language: null };
let online = true;
let sending = false;

// An enrolment link (/station/ws-10#token=...) stores the station token, then drops it from the
// address bar: a fragment never reaches the server, so the token stays out of access logs.
const fromHash = location.hash.match(/^#token=(.+)$/);
if (station && fromHash) {
  localStorage.setItem(tokenKey, decodeURIComponent(fromHash[1]));
  history.replaceState(null, "", location.pathname);
}

// the MES words its refusals (error.text) in the page's language
const headers = () => ({ "Content-Type": "application/json",
                         "Accept-Language": language() === "zh-CN" ? "zh-CN" : "en",
                         "Authorization": "Bearer " + (localStorage.getItem(tokenKey) || "") });

// A request the MES does not answer within TIMEOUT_MS counts as offline, like a network error.
export async function call(url, options = {}) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const r = await fetch(url, { ...options, headers: headers(), signal: abort.signal });
    setOnline(true);
    return r;
  } catch (e) {
    setOnline(false);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function setOnline(up) {
  online = up;
  const b = $("badge");
  b.textContent = t(up ? "badge.online" : "badge.offline");
  b.className = up ? "badge" : "badge offline";
}

// An answer stays a while (a refusal longer), then the band says what to do next again.
const KEEP_MS = { ok: 15000, ignored: 15000, refused: 60000 };
let answerTimer = null;

function show(kind, text) {
  const a = $("answer");
  a.className = kind;
  a.textContent = text;
  if (kind === "ok" || kind === "refused") play(kind);
  clearTimeout(answerTimer);
  if (KEEP_MS[kind]) answerTimer = setTimeout(() => { a.className = ""; showNext(); }, KEEP_MS[kind]);
}

const enrolled = () => Boolean(station && localStorage.getItem(tokenKey));

// The band is never empty: with no answer to show, it says the next step.
function showNext() {
  const a = $("answer");
  if (a.className && a.className !== "next") return;
  const key = nextStep({ enrolled: enrolled(), state, stop: stopPanel && stopPanel.current() });
  a.className = "next";
  a.textContent = t(key);
}

// The buttons follow the job's state: what it refuses is disabled, the next step stands out.
function showButtons() {
  const states = buttons(state);
  for (const b of document.querySelectorAll("[data-cmd]")) {
    const s = states[b.dataset.cmd];
    b.disabled = !s.enabled;
    b.classList.toggle("primary", s.primary);
  }
}

function refusalText(error) {
  const key = `refusal.${error.code}`;
  const text = t(key);
  return text === key ? t("refusal.other", { message: error.message || error.code }) : text;
}

// The MES's own message is English; the catalogue says the same in the station's language.
function actionText(action, s) {
  const key = `action.${action}`;
  const job = s && s.work_order ? `${s.work_order} / ${s.operation || "?"}` : "";
  const text = t(key, { job });
  return text === key ? null : text;
}

async function showQueue() {
  const items = await outbox.all(station);
  $("queue").textContent = items.length ? t("queue.waiting", { n: items.length }) : "";
  const att = await outbox.attention(station);
  $("attention").hidden = !att.length;
  $("attention-list").replaceChildren(...att.map((a) => {
    const li = document.createElement("li");
    const span = document.createElement("span");
    span.textContent = t("attention.item", { code: a.code, time: time(a.scanned_at), text: a.text });
    const retry = button(t("btn.retry"), async () => {
      await outbox.dismiss(a.event_id);
      submit(a.code);
    });
    const drop = button(t("btn.discard"), async () => { await outbox.dismiss(a.event_id); showQueue(); });
    li.append(span, retry, drop);
    return li;
  }));
}

export async function submit(code) {
  if (!station || !code) return;
  await outbox.add({ station, code, event_id: outbox.uuid(), scanned_at: new Date().toISOString() });
  show("pending", t("answer.pending", { code }));
  await showQueue();
  flush();
}

async function answer(item, resp) {
  const body = await resp.json().catch(() => ({}));
  if (resp.status === 200) {
    const ignored = body.action === "scan.ignored";
    show(ignored ? "ignored" : "ok", ignored ? t("answer.ignored", { code: item.code })
      : actionText(body.action, body.station_state) || body.message);
  } else {
    // the MES's own words in this page's language (error.text), else the page's catalogue
    const error = body.error || { code: body.code, message: body.detail, text: body.text };
    const text = error.text || refusalText(error);
    show("refused", text);
    if (item.tried) await outbox.needsAttention({ ...item, text });
  }
  if (body.station_state) showState(body.station_state);
  if (resp.status === 200) refresh();
}

let retryTimer = null;
const retry = () => { clearTimeout(retryTimer); retryTimer = setTimeout(flush, 1500); };

async function flush() {
  if (sending) return;
  sending = true;
  try {
    for (;;) {
      const [item] = await outbox.all(station);
      if (!item) break;
      let resp;
      try {
        resp = await call("/api/v1/scans", { method: "POST", body: JSON.stringify({
          station: item.station, code: item.code, event_id: item.event_id,
          scanned_at: item.scanned_at }) });
      } catch (e) {
        if (!item.tried) await outbox.markTried(item);
        show("pending", t("answer.kept", { code: item.code }));
        retry();
        return;
      }
      if ([200, 409, 422].includes(resp.status)) {
        await outbox.remove(item.seq);
        await answer(item, resp);
      } else if (resp.status === 401 || resp.status === 403) {
        show("refused", t("answer.not_enrolled"));
        return;
      } else {
        if (!item.tried) await outbox.markTried(item);
        show("pending", t("answer.busy", { code: item.code }));
        retry();
        return;
      }
    }
  } finally {
    sending = false;
    await showQueue();
  }
}

function showState(s) {
  state = s;
  $("operators").textContent = s.operators.length
    ? s.operators.map((o) => `${o.name} (${o.badge})`).join(", ") : t("operators.none");
  // the operation's name (in the page's language) from the queue, when the job is in it
  const queued = queue.jobs.find((q) => q.work_order === s.work_order && q.operation === s.operation);
  const opName = queued ? ` ${(queued.names && queued.names[language()]) || queued.name}` : "";
  $("job").textContent = s.work_order ? `${s.work_order} / ${s.operation || "?"}${opName}` : t("job.none");
  const j = s.job || {};
  $("good").textContent = j.good ?? "-";
  $("scrap").textContent = j.scrap ?? "-";
  $("target").textContent = j.quantity ?? "-";
  $("status").textContent = j.status ? t(`status.${j.status}`) : "-";
  showJobs();
  showButtons();
  showNext();
}

function showJobs() {
  const list = $("job-list");
  if (!queue.jobs.length) {
    const li = document.createElement("li");
    li.textContent = t("jobs.none");
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(...queue.jobs.map((j) => {
    const li = document.createElement("li");
    const b = button("", () => submit(`WO:${j.work_order}/${j.operation}`));
    const selected = state && state.work_order === j.work_order && state.operation === j.operation;
    b.setAttribute("aria-pressed", String(Boolean(selected)));
    b.dataset.value = "";  // the MES's data, not the page's words
    const title = document.createElement("strong");
    const name = (j.names && j.names[language()]) || j.name;
    title.textContent = `${j.work_order} / ${j.operation} ${name}`;
    const meta = document.createElement("span");
    meta.className = "meta";
    const unit = t(`unit.${j.unit}`).startsWith("unit.") ? j.unit : t(`unit.${j.unit}`);
    meta.textContent = `${j.product} · ${j.good}/${j.quantity} ${unit} · ${t(`status.${j.status}`)}` +
      (j.due_at ? ` · ${t("jobs.due", { date: date(j.due_at) })}` : "");
    b.append(title, meta);
    li.append(b);
    return li;
  }));
}

// The refresh cycle (every 5 s): the station's state, its queue and its machine's stop, one
// request each; the alarm banner has its own event stream.
const stopPanel = station ? createStopPanel({ station, call, submit, changed: showNext }) : null;

async function refresh() {
  if (!station) return;
  try {
    const [s, q] = await Promise.all([
      call(`/api/v1/stations/${encodeURIComponent(station)}/state`),
      call(`/api/v1/stations/${encodeURIComponent(station)}/queue`),
      stopPanel.refresh(),
    ]);
    if (q.ok) queue = await q.json();
    if (s.ok) showState(await s.json());
    if (online) flush();
  } catch (e) { /* offline: the badge says so, the outbox keeps the scans */ }
}

const PAUSE_REASONS = ["MATERIAL", "SETUP", "BREAKDOWN", "BREAK", "QUALITY", "OTHER"];
const SCRAP_REASONS = ["DIMENSION", "SURFACE", "MATERIAL", "SETUP", "OTHER"];

// A command card or button; while it waits in the outbox (offline), the page shows the job as it
// will be, so the next button is at hand.
async function command(cmd) {
  await submit(`CMD:${cmd}`);
  if ((await outbox.all(station)).length && state) showState(expected(state, cmd));
}

async function press(cmd) {
  const job = (state && state.job) || {};
  if (cmd === "PAUSE") {
    const r = await showDialog({ title: t("dialog.pause"), reasons: PAUSE_REASONS });
    if (r) { await submit(`RSN:${r.reason}`); await command("PAUSE"); }
  } else if (cmd === "QTY") {
    const r = await showDialog({ title: t("dialog.quantity"), keypad: true });
    if (r && r.value > 0) submit(`QTY:${r.value}`);
  } else if (cmd === "SCRAP") {
    const r = await showDialog({ title: t("dialog.scrap"), keypad: true, reasons: SCRAP_REASONS });
    if (r && r.value > 0) submit(`SCRAP:${r.value}:${r.reason}`);
  } else if (cmd === "COMPLETE" && job.quantity && (job.good ?? 0) < job.quantity) {
    const r = await showDialog({ title: t("dialog.short", { good: job.good ?? 0, target: job.quantity }) });
    if (r) await command("COMPLETE");
  } else {
    await command(cmd);
  }
}

function listen() {
  const cfg = JSON.parse(localStorage.getItem("sf.scanner") || "{}");
  const scanner = createScanner(cfg);
  // Page-wide: keys are read at the document whatever has focus, except in a field the
  // operator opened on purpose (setup, language).
  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest && ev.target.closest("[data-typing], dialog[open]")) return;
    const r = scanner.keydown(ev);
    if (r.swallow) ev.preventDefault();
    if (r.scan !== undefined) submit(r.scan);
  }, true);
  document.addEventListener("compositionstart", () => scanner.compositionstart(), true);
  document.addEventListener("compositionend", () => scanner.compositionend(), true);
}

async function start() {
  listen();
  const api = `/api/v1/stations/${encodeURIComponent(station)}`;
  const json = (p) => p.then((r) => (r.ok ? r.json() : null)).catch(() => null);
  const valid = (l) => (LANGUAGES.includes(l) || l === "qps" ? l : "en");
  // the station's language as last seen: its catalogue loads while the MES answers
  const cached = JSON.parse(localStorage.getItem("sf.stationLanguage." + station) || "null");
  const guess = pick(cached);
  const [first, current] = await Promise.all([
    json(call(`${api}/queue`)), json(call(`${api}/state`)), load(valid(guess))]);
  if (first) queue = first;
  if (first) localStorage.setItem("sf.stationLanguage." + station, JSON.stringify(first.language));
  const lang = pick(first ? first.language : cached);
  if (valid(lang) !== valid(guess)) await load(valid(lang));
  translate();
  $("lang").value = lang;
  $("station-id").textContent = station || "?";
  $("cfg-station").value = station || "";
  setOnline(Boolean(first) || online);
  $("mute").textContent = t(muted() ? "btn.unmute" : "btn.mute");
  $("mute").addEventListener("click", () => {
    setMuted(!muted());
    $("mute").textContent = t(muted() ? "btn.unmute" : "btn.mute");
  });
  $("lang").addEventListener("change", async () => {
    localStorage.setItem("sf.lang", $("lang").value);
    location.reload();
  });
  $("cfg-save").addEventListener("click", () => {
    const id = $("cfg-station").value.trim();
    localStorage.setItem("sf.station", id);
    localStorage.setItem("sf.token." + id, $("cfg-token").value.trim());
    location.href = "/station/" + encodeURIComponent(id);
  });
  // a damaged label: the operator opens this field on purpose and types the code
  const manual = () => { const code = $("manual-code").value.trim(); $("manual-code").value = ""; submit(code); };
  $("manual-send").addEventListener("click", manual);
  $("manual-code").addEventListener("keydown", (ev) => { if (ev.key === "Enter") manual(); });
  for (const b of document.querySelectorAll("[data-cmd]")) {
    b.addEventListener("click", () => press(b.dataset.cmd));
  }
  showState(current || { operators: [], work_order: null, operation: null, job: null });
  if (!enrolled()) {  // not enrolled yet: setup first
    $("setup").open = true;
    show("refused", t("answer.not_enrolled"));
  }
  if (stopPanel && enrolled()) stopPanel.refresh();  // not awaited: a hanging MES must not delay the page
  await showQueue();
  if (online) flush();
  if (queue.area) watchAlarms(queue.area, headers, call);
  setInterval(refresh, 5000);
  window.addEventListener("online", flush);
  performance.mark("station-ready");
  document.body.dataset.ready = "1";
}

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
start();
