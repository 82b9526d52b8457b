// The supervisor board: work orders with progress, forecast and risk; a tile per workstation;
// holds and nonconformances waiting. Fed by one server-sent event stream (/api/v1/board/stream:
// the whole board first, then only what changed). Actions are the ones the role allows, through
// the MES's own APIs. `?tv=1`: the TV wall, large type, no actions, a read-only display token.
import { t } from "./i18n.js";
import { problemText } from "./problems.js";
import { setUp, show } from "./page.js";
import { createSession } from "./session.js";
import { follow } from "./sse.js";
import * as fmt from "./format.js";
import { ask, el } from "./form.js";
import { setUpGantt, follow as followPlan, redraw as redrawGantt, showGantt } from "./gantt.js";

const $ = (id) => document.getElementById(id);
const tv = new URLSearchParams(location.search).get("tv") === "1";
const session = createSession(tv ? "sf.display.token" : "sf.board.token");
const PARTS = { orders: "work_order", tiles: "station", holds: "hold_id", nonconformances: "number" };
const board = Object.fromEntries(Object.keys(PARTS).map((p) => [p, new Map()]));
const STATE_ORDER = ["RUNNING", "RELEASED", "SUSPENDED", "HELD", "COMPLETED", "CLOSED"];
const MACHINE_ABNORMAL = { fault: "alarm", unknown: "warn", micro_stop: "warn", idle: "warn" };
let can = new Set();
let reasons = [];
let stream = null;
let events = 0;
let view = new URLSearchParams(location.search).get("view") === "gantt" ? "gantt" : "board";
const CLOSED = ["COMPLETED", "CLOSED", "CANCELLED", "ABORTED"];
// finished: completed, and closed once the ERP acknowledged it (both stay on the board a day)
const finished = (o) => o.state === "COMPLETED" || o.state === "CLOSED";


// One change through the MES's API; the board itself updates from the stream.
async function act(url, body, done) {
  let r;
  try {
    r = await session.call(url, { method: "POST", body: JSON.stringify(body ?? {}) });
  } catch (e) {
    show("refused", t("answer.offline"));
    return;
  }
  if (r.ok) show("ok", done);
  else show("refused", problemText(r.status, await r.json().catch(() => ({}))));
}

const button = (text, onClick, cls = "") => el("button", { type: "button", className: cls,
                                                          textContent: text, on: { click: onClick } });

// --- orders -----------------------------------------------------------------------------

function risk(o) {
  if (finished(o)) return o.at_risk ? ["alarm", t("order.completed_late")] : null;
  if (o.overdue) return ["alarm", t("order.overdue")];
  if (o.at_risk) return ["warn", t("order.at_risk")];
  return null;
}

function orderActions(o) {
  if (tv) return [];
  const out = [];
  if (can.has("hold.place") && o.state !== "HELD" && !finished(o)) {
    out.push(button(t("btn.hold"), async () => {
      const f = await ask(t("dialog.hold", { wo: o.work_order }), [{ name: "reason", label: t("field.reason") }]);
      if (f) act("/api/v1/holds", { target: { kind: "work_order", id: o.work_order }, reason: f.reason },
                 t("answer.held", { wo: o.work_order }));
    }));
  }
  if (can.has("work_order.admin") && o.state === "RUNNING") {
    out.push(button(t("btn.suspend"), async () => {
      const f = await ask(t("dialog.suspend", { wo: o.work_order }), [{ name: "reason", label: t("field.reason") }]);
      if (f) act(`/api/v1/work-orders/${encodeURIComponent(o.work_order)}/suspend`, { reason: f.reason },
                 t("answer.suspended", { wo: o.work_order }));
    }));
  }
  if (can.has("work_order.admin") && !CLOSED.includes(o.state)) {
    out.push(button(t("btn.priority"), async () => {
      const f = await ask(t("dialog.priority", { wo: o.work_order, priority: o.priority }), [
        { name: "priority", label: t("field.priority"), type: "number", min: 0, max: 1000,
          value: String(o.priority + 1) },
        { name: "reason", label: t("field.reason") }]);
      if (f) act(`/api/v1/work-orders/${encodeURIComponent(o.work_order)}/priority`,
                 { priority: Number(f.priority), reason: f.reason },
                 t("answer.reprioritised", { wo: o.work_order, priority: f.priority }));
    }));
  }
  if (can.has("work_order.admin") && o.state === "SUSPENDED") {
    out.push(button(t("btn.resume"), () => act(
      `/api/v1/work-orders/${encodeURIComponent(o.work_order)}/resume`, null,
      t("answer.resumed", { wo: o.work_order }))));
  }
  return out;
}

function orderRow(o) {
  const flag = risk(o);
  // the bar: the operation in work (what moves on the floor); the finished units in words
  const done = o.operation_good !== null && !finished(o) ? o.operation_good : o.good;
  const pct = o.quantity ? Math.min(100, Math.round((done / o.quantity) * 100)) : 0;
  const bar = el("div", { className: "bar", role: "img",
                          ariaLabel: t("order.progress", { good: done, quantity: o.quantity }) },
                 el("span", { className: "fill" }));
  bar.firstChild.style.width = `${pct}%`;
  const row = el("li", { className: `order ${flag ? flag[0] : ""}`, dataset: { order: o.work_order } },
    el("div", { className: "order-head" },
       el("strong", { className: "wo", textContent: o.work_order, dataset: { value: "" } }),
       el("span", { className: "product", textContent: o.product, dataset: { value: "" } }),
       o.priority ? el("span", { className: "priority", textContent: t("order.priority", { priority: o.priority }) }) : null,
       flag ? el("span", { className: `flag ${flag[0]}`, textContent: flag[1] }) : null),
    bar,
    el("div", { className: "order-meta" },
       el("span", { textContent: t("order.counts", { good: fmt.number(o.good), quantity: fmt.number(o.quantity),
                                                    unit: o.unit, scrap: fmt.number(o.scrap) }) }),
       o.operation ? el("span", { textContent: t("order.at", { op: `${o.operation} ${operationName(o)}`.trim(),
                                                              where: o.workstation || "–",
                                                              good: fmt.number(o.operation_good),
                                                              quantity: fmt.number(o.quantity) }) }) : null,
       el("span", { textContent: t("order.due", { date: fmt.dateTime(o.due_at) }) }),
       el("span", { textContent: finished(o)
         ? t("order.completed", { date: fmt.dateTime(o.completed_at) })
         : t("order.finish", { date: fmt.dateTime(o.predicted_finish) }) })));
  const actions = orderActions(o);
  if (actions.length) row.append(el("div", { className: "row-actions" }, ...actions));
  return row;
}

function drawOrders() {
  const groups = new Map(STATE_ORDER.map((s) => [s, []]));
  for (const o of board.orders.values()) (groups.get(o.state) || groups.set(o.state, []).get(o.state)).push(o);
  const parts = [];
  for (const [state, list] of groups) {
    if (!list.length) continue;
    list.sort((a, b) => (b.at_risk - a.at_risk) || String(a.due_at).localeCompare(String(b.due_at)));
    parts.push(el("h3", { className: "state-head", textContent: `${t(`wo.${state}`)} (${list.length})` }),
               el("ul", { className: "rows orders" }, ...list.map(orderRow)));
  }
  if (!parts.length) parts.push(el("p", { className: "meta", textContent: t("board.no_orders") }));
  if (board.ordersLeftOff > 0) {
    parts.push(el("p", { className: "meta left-off", role: "note",
                         textContent: t("board.orders_left_off", { n: fmt.number(board.ordersLeftOff) }) }));
  }
  $("orders").replaceChildren(...parts);
}

// --- tiles ------------------------------------------------------------------------------

const zh = () => document.documentElement.lang === "zh-CN";

function reasonName(code) {
  for (const g of reasons) for (const r of g.reasons) if (r.code === code) return zh() ? r.zh_cn : r.en;
  return code;
}

function tileActions(s) {
  if (tv) return [];
  const out = [];
  if (s.stop && can.has("report") && (!s.stop.reason || can.has("correct")) && reasons.length) {
    out.push(button(t("btn.reason"), async () => {
      const options = reasons.flatMap((g) => g.reasons.map((r) => [r.code, reasonName(r.code)]));
      const f = await ask(t("dialog.reason", { station: s.station }), [{ name: "reason", label: t("field.reason"), options }]);
      if (f) act(`/api/v1/performance/downtime/${s.stop.event_id}/reason`, { reason: f.reason },
                 t("answer.reason_given", { station: s.station }));
    }));
  }
  if (can.has("correct") && s.job) {
    out.push(button(t("btn.correct"), () => correct(s)));
  }
  return out;
}

async function correct(s) {
  const r = await session.call(`/api/v1/stations/${encodeURIComponent(s.station)}/scans?limit=30`);
  if (!r.ok) { show("refused", problemText(r.status, await r.json().catch(() => ({})))); return; }
  const reports = (await r.json()).filter((x) => x.production_event && x.accepted);
  if (!reports.length) { show("refused", t("answer.nothing_to_correct")); return; }
  const options = reports.map((x) => [String(x.production_event), `${fmt.dateTime(x.received_at)} · ${x.code}`]);
  const f = await ask(t("dialog.correct", { station: s.station }), [
    { name: "event", label: t("field.report"), options }, { name: "reason", label: t("field.reason") }]);
  if (f) act("/api/v1/corrections", { production_event: Number(f.event), reason: f.reason },
             t("answer.corrected", { station: s.station }));
}

// the current operation of an order by its name in the page's language
const operationName = (o) => (o.operation_names && o.operation_names[zh() ? "zh-CN" : "en"]) || o.operation_name || "";

// the tile's work centre, else its line: the name in the page's language, else the id
function placeName(s) {
  const names = s.work_centre ? s.work_centre_names : s.line_names;
  return (names && names[zh() ? "zh-CN" : "en"]) || s.work_centre || s.line;
}

function tile(s) {
  const machine = s.machine_state;
  let level = machine ? MACHINE_ABNORMAL[machine] || "" : "";
  if (s.online === false) level = "warn";
  if (s.stop && !s.stop.reason && !level) level = "warn";
  if (s.alarms) level = "alarm";
  const lines = [
    el("div", { className: "tile-head" },
       el("strong", { textContent: s.station, dataset: { value: "" } }),
       el("span", { className: "meta", textContent: placeName(s), dataset: { value: "" } })),
    el("p", { className: `machine ${machine ? MACHINE_ABNORMAL[machine] || "" : ""}`,
              textContent: machine ? t(`machine.${machine}`) : t("machine.none") }),
  ];
  if (s.online === false) lines.push(el("p", { className: "flag warn", textContent: t("tile.offline") }));
  lines.push(el("p", { className: "job" }, s.job
    ? el("span", { className: s.job.status === "DONE" ? "meta" : "",
                   textContent: t("tile.job", { wo: s.job.work_order, op: s.job.operation, status: t(`status.${s.job.status}`),
                                               good: fmt.number(s.job.good), quantity: fmt.number(s.job.quantity) }) })
    : el("span", { className: "meta", textContent: t("tile.no_job") })));
  lines.push(el("p", { className: "operators", textContent: s.operators.length
    ? t("tile.operators", { names: s.operators.join(", ") }) : t("tile.no_operator") }));
  lines.push(el("p", { className: "oee", textContent: t("tile.oee", { oee: fmt.percent(s.oee_today, 0) }) }));
  if (s.stop) {
    lines.push(el("p", { className: `stop ${s.stop.reason ? "" : "warn"}`, textContent: s.stop.reason
      ? t("tile.stop", { min: fmt.minutesSince(s.stop.since),
                         reason: (zh() ? s.stop.reason_zh_cn : s.stop.reason_en) || reasonName(s.stop.reason) })
      : t("tile.stop_no_reason", { min: fmt.minutesSince(s.stop.since) }) }));
  }
  if (s.alarms) lines.push(el("p", { className: "flag alarm", textContent: t("tile.alarms", { n: s.alarms }) }));
  const actions = tileActions(s);
  if (actions.length) lines.push(el("div", { className: "row-actions" }, ...actions));
  return el("article", { className: `tile ${level}`, dataset: { station: s.station } }, ...lines);
}

function drawTiles() {
  const list = [...board.tiles.values()].sort((a, b) => a.station.localeCompare(b.station));
  $("tiles").replaceChildren(...list.map(tile));
}

// --- holds and nonconformances ------------------------------------------------------------

function holdRow(h) {
  const row = el("li", { className: "hold warn", dataset: { hold: h.hold_id } },
    el("strong", { textContent: `${h.hold_id} · ${h.target_id}`, dataset: { value: "" } }),
    el("span", { textContent: h.reason, dataset: { value: "" } }),
    el("span", { className: "meta", textContent: t("hold.placed", { by: h.placed_by, date: fmt.dateTime(h.placed_at) }) }));
  if (!tv && can.has("hold.release")) {
    row.append(el("div", { className: "row-actions" }, button(t("btn.release"), async () => {
      const options = ["use_as_is", "rework", "scrap"].map((d) => [d, t(`disposition.${d}`)]);
      const f = await ask(t("dialog.release", { hold: h.hold_id }), [
        { name: "disposition", label: t("field.disposition"), options },
        { name: "comment", label: t("field.comment"), required: false }]);
      if (f) act(`/api/v1/holds/${encodeURIComponent(h.hold_id)}/release`, f, t("answer.released", { hold: h.hold_id }));
    })));
  }
  return row;
}

function drawHolds() {
  const holds = [...board.holds.values()];
  $("holds").replaceChildren(...(holds.length ? holds.map(holdRow)
    : [el("li", { className: "meta", textContent: t("board.no_holds") })]));
  const ncrs = [...board.nonconformances.values()];
  $("ncrs").replaceChildren(...(ncrs.length ? ncrs.map((n) => el("li", { className: "warn" },
    el("strong", { textContent: `${n.number} · ${n.work_order}/${n.operation}`, dataset: { value: "" } }),
    el("span", { textContent: n.description, dataset: { value: "" } }))) : [el("li", { className: "meta", textContent: t("board.no_ncrs") })]));
}

// --- summary -----------------------------------------------------------------------------

function drawSummary() {
  const orders = [...board.orders.values()];
  const tiles = [...board.tiles.values()];
  const figures = [
    ["summary.running", orders.filter((o) => o.state === "RUNNING").length, ""],
    ["summary.at_risk", orders.filter((o) => o.at_risk && !o.overdue && !finished(o)).length, "warn"],
    ["summary.overdue", orders.filter((o) => o.overdue).length, "alarm"],
    ["summary.holds", board.holds.size, "warn"],
    ["summary.stopped", tiles.filter((s) => s.stop).length, "warn"],
    ["summary.alarms", tiles.reduce((n, s) => n + s.alarms, 0), "alarm"],
  ];
  $("summary").replaceChildren(...figures.map(([key, n, level]) => el("div", {
    className: `figure-box ${n ? level : ""}`, dataset: { figure: key } },
    el("strong", { textContent: fmt.number(n) }), el("span", { textContent: t(key) }))));
}

function draw() {
  drawSummary();
  drawTiles();
  drawOrders();
  drawHolds();
  document.body.dataset.events = String(events);
}

function apply(name, data) {
  if (name === "snapshot") {
    for (const [part, key] of Object.entries(PARTS)) {
      board[part] = new Map((data[part] || []).map((x) => [String(x[key]), x]));
    }
  } else if (name === "changes") {
    for (const [part, key] of Object.entries(PARTS)) {
      const change = data[part];
      if (!change) continue;
      for (const k of change.remove) board[part].delete(k);
      for (const x of change.upsert) board[part].set(String(x[key]), x);
    }
  } else return;
  if ("orders_left_off" in data) board.ordersLeftOff = data.orders_left_off;
  events += 1;
  draw();
  if (name === "snapshot" || "plan" in data) followPlan(data.plan ?? null);
}

function showView(next) {
  view = next;
  $("main").hidden = view !== "board";
  $("gantt-view").hidden = view !== "gantt";
  for (const b of $("views").children) b.setAttribute("aria-pressed", String(b.dataset.view === view));
  const q = new URLSearchParams(location.search);
  if (view === "gantt") q.set("view", "gantt"); else q.delete("view");
  history.replaceState(null, "", `${location.pathname}${q.toString() ? `?${q}` : ""}`);
  showGantt(view === "gantt");
}

function setLive(up) {
  const b = $("live");
  b.textContent = t(up ? "live.on" : "live.off");
  b.className = up ? "badge" : "badge offline";
}

// --- start --------------------------------------------------------------------------------

function showLogin() {
  if (stream) stream.stop();
  $("main").hidden = true;
  $("gantt-view").hidden = true;
  $("views").hidden = true;
  $("login").hidden = false;
  for (const p of document.querySelectorAll(".login-user")) p.hidden = tv;
  for (const p of document.querySelectorAll(".login-token")) p.hidden = !tv;
  document.body.dataset.ready = "1";
}

async function open() {
  const who = await session.me();
  if (!who) { session.forget(); showLogin(); return; }
  can = new Set(who.permissions);
  $("who").textContent = tv ? "" : `${who.name} (${who.role})`;
  if (!can.has("board.read")) { show("refused", t("answer.no_board")); showLogin(); return; }
  if (can.has("read")) {
    const r = await session.call("/api/v1/performance/reasons").catch(() => null);
    if (r && r.ok) reasons = await r.json();
  }
  $("login").hidden = true;
  $("views").hidden = false;
  const admin = !tv && can.has("work_order.admin");
  setUpGantt({ session, show, problemText, tv, canMove: admin, canPlan: admin, canReadDiff: can.has("read") });
  showView(view);
  stream = follow("/api/v1/board/stream", session.headers, {
    onEvent: apply, onState: setLive,
    onDenied: () => { session.forget(); showLogin(); } });
  document.body.dataset.ready = "1";
}

async function start() {
  await setUp(session);
  if (tv) { document.body.classList.add("tv"); document.documentElement.classList.add("tv"); }
  $("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (tv) session.useToken($("login-token").value);
    else if (!(await session.login($("login-user").value.trim(), $("login-password").value))) {
      show("refused", t("answer.login_failed"));
      return;
    }
    show("", "");
    open();
  });
  for (const b of $("views").children) b.addEventListener("click", () => showView(b.dataset.view));
  const tick = () => { $("clock").textContent = fmt.clock(); redrawGantt(); };
  tick();
  setInterval(tick, 30000);
  setLive(false);
  if (session.has()) await open(); else showLogin();
}

start();
