// The board's Gantt: the current plan by workstation (GET /api/v1/schedule/gantt), one row per
// workstation, an operation per bar, the now line, closed time and breakdowns hatched. Plain DOM,
// not a chart: each bar is a button (focus, Enter, a screen reader's label, a tap), and a drag
// is pointer events on it. A supervisor drags a bar to another time or another workstation able
// to run it, or opens the same move as a form (Enter on the bar, or a tap): the slot is locked
// there (POST /api/v1/schedule/lock), the MES replans, and the new plan comes back through the
// board's stream (its `plan` changes). A refused move says why; the bar is never just put back.
// A supervisor also approves the plan shown and asks for a replan from here; what the plan
// changed against the one before (GET /api/v1/schedule/diff, for roles that may read it) is
// summed up under the header and the moved bars are marked.
import { keyed, t, language } from "./i18n.js";
import * as fmt from "./format.js";
import { ask, el } from "./form.js";

const $ = (id) => document.getElementById(id);
const SPANS = [["8h", 8], ["24h", 24], ["3d", 72], ["all", 0]];
const TICKS_MIN = [15, 30, 60, 120, 180, 360, 720, 1440];
const SNAP_MS = 5 * 60000;
const DRAG_PX = 6;
const MOVED = "\u2194";  // the sign of a bar the last replan moved

let ctx = null;          // {session, show, problemText, canMove, canPlan, canReadDiff, tv}
let data = null;         // the last Gantt from the API
let diff = null;         // what data.plan changed against the plan before (null: not known)
let replanning = false;
let span = "all";
let pending = null;      // a move sent, waiting for the plan that answers it
let loading = null;

const ms = (iso) => new Date(iso).getTime();
const hhmm = (iso) => fmt.clock(new Date(iso));
const zh = () => language() === "zh-CN";
const opName = (b) => (zh() && b.name_zh_cn) || b.name;
// a workstation's own name in the page's language ("" without one)
const stationName = (w) => (w.names && w.names[zh() ? "zh-CN" : "en"]) || w.name || "";
// a workstation's work centre by name in the page's language, else its id
const centreName = (w) => (w.work_centre_names && w.work_centre_names[zh() ? "zh-CN" : "en"]) || w.work_centre || "";

// The planner's notices in the page's language (its key filled, a time in the page's format);
// a plan stored before notices had keys has the English texts only.
export function noticeText(n) {
  const params = { ...n.message_params };
  if (params.at) params.at = fmt.dateTime(params.at);
  return keyed(n.message_key, params, n.message);
}

// What the plan could not plan, and why, in the page's language (the English reason for a plan
// stored before reasons had keys, or a key the catalogue does not know).
export function unplannedText(e) {
  const reason = keyed(e.reason_key, e.reason_params, e.reason);
  return e.operation
    ? t("gantt.unplanned.operation", { wo: e.work_order, op: e.operation, reason })
    : t("gantt.unplanned.order", { wo: e.work_order, reason });
}

function drawUnplanned() {
  const errors = data.errors || [];
  $("gantt-unplanned").hidden = errors.length === 0;
  $("gantt-unplanned-h").textContent = t("gantt.unplanned.title", { count: errors.length });
  $("gantt-unplanned-list").replaceChildren(...errors.map((e) => el("li", {
    textContent: unplannedText(e), dataset: { wo: e.work_order, op: e.operation || "" } })));
}

const noticeItems = (g) => g.notice_items
  || g.notices.map((message) => ({ message, message_key: null, message_params: {} }));

export function setUpGantt(options) {
  ctx = options;
  $("gantt-spans").replaceChildren(...SPANS.map(([key]) => el("button", {
    type: "button", className: "small", textContent: t(`gantt.span.${key}`), dataset: { span: key },
    on: { click: () => { span = key; draw(); } } })));
  $("gantt-legend").replaceChildren(
    el("span", { className: "g-key late", textContent: `\u2716 ${t("gantt.legend.late")}` }),
    el("span", { className: "g-key locked", textContent: `\u25A3 ${t("gantt.legend.locked")}` }),
    el("span", { className: "g-key frozen", textContent: t("gantt.legend.frozen") }),
    el("span", { className: "g-key running", textContent: `\u25B6 ${t("gantt.legend.running")}` }),
    el("span", { className: "g-key closed", textContent: t("gantt.legend.closed") }),
    el("span", { className: "g-key breakdown", textContent: `\u26A0 ${t("gantt.legend.breakdown")}` }),
    ctx.canReadDiff ? el("span", { className: "g-key moved", textContent: `${MOVED} ${t("gantt.legend.moved")}` }) : null,
  );
  if (ctx.canPlan) {
    $("gantt-actions").replaceChildren(
      el("button", { type: "button", id: "gantt-approve", textContent: t("gantt.approve.button"),
                     disabled: true, on: { click: approve } }),
      el("button", { type: "button", id: "gantt-replan", textContent: t("gantt.replan.button"),
                     on: { click: replan } }));
  }
  if (ctx.canMove) { $("gantt-help").textContent = t("gantt.help"); $("gantt").classList.add("movable"); }
  window.addEventListener("resize", redraw);
}

// The board's stream named a plan: load the Gantt when it is new and shown (a board showing
// its tiles fetches no plan; the Gantt loads when it is opened).
let wanted = undefined;
let shown = false;

// a plan as the board's stream names it: its id, and who approved it (an approval redraws too)
const planKey = (plan) => (plan ? `${plan.id}/${plan.approved_by ?? ""}` : null);
const drawn = () => data && planKey(data.plan) === planKey(wanted);

export async function follow(plan) {
  wanted = plan;
  if (!shown || drawn()) return;
  if (loading) await loading;
  if (!drawn()) await reload();
}

export function showGantt(on) {
  shown = on;
  if (!on) return;
  if (data) draw();
  if (wanted !== undefined) follow(wanted);
}

async function load() {
  let r;
  try { r = await ctx.session.call("/api/v1/schedule/gantt"); } catch (e) { return; }
  if (!r.ok) { ctx.show("refused", ctx.problemText(r.status, await r.json().catch(() => ({})))); return; }
  const next = await r.json();
  diff = next.plan ? await loadDiff(next.plan.id) : null;
  data = next;
  answerPending();
  draw();
}

// What the plan changed against the one before; null for a role that may not read it (the TV's
// display token), or when the plan changed again meanwhile (the stream brings the newer one).
async function loadDiff(plan) {
  if (!ctx.canReadDiff) return null;
  let r;
  try { r = await ctx.session.call("/api/v1/schedule/diff"); } catch (e) { return null; }
  if (!r.ok) return null;
  const d = await r.json();
  return d.plan === plan ? d : null;
}

// Load the Gantt again now (after an approval or a replan), after a load under way.
async function reload() {
  if (loading) await loading;
  loading = load().finally(() => { loading = null; });
  await loading;
}

export function redraw() {
  if (data && shown && !$("gantt").classList.contains("dragging")) draw();
}

// --- the move's answer --------------------------------------------------------------------

// A plan answers the move when it knows the lock: the bar locked where it was dropped, or a
// notice on this operation's lock. A plan the floor made before the lock (it may arrive after
// the lock's answer) is not the answer; the next plan after it, or 30 s, answers in any case.
function answerPending(force = false) {
  if (!pending || !data.plan || (!force && data.plan.id <= pending.after)) return;
  const { wo, op, station, start } = pending;
  const bar = data.bars.find((b) => b.work_order === wo && b.operation === op);
  const kept = bar && bar.pin === "locked" && bar.workstation === station
    && Math.abs(ms(bar.setup_start) - start) < 60000;
  const onLock = (n) => String(n.message_key || "").startsWith("plan.notice.locked.")
    && n.message_params.order === wo && n.message_params.operation === op;
  if (!force && !kept && !noticeItems(data).some(onLock) && !pending.seen) {
    pending.seen = true;
    pending.after = data.plan.id;
    const waiting = pending;
    setTimeout(() => { if (pending === waiting) answerPending(true); }, 30000);
    return;
  }
  pending = null;
  if (kept) {
    ctx.show("ok", t("gantt.moved", { wo, op, station, time: fmt.dateTime(bar.setup_start) }));
  } else {
    const mine = (n) => (n.message_key ? n.message_params.order === wo : n.message.includes(wo));
    const why = noticeItems(data).filter(mine).map(noticeText).join("; ") || t("gantt.no_reason");
    ctx.show("refused", t("gantt.not_kept", { wo, op, why }));
  }
}

async function move(bar, station, start) {
  const wo = bar.work_order, op = bar.operation;
  if (!bar.eligible.includes(station)) {
    ctx.show("refused", t("gantt.not_eligible", { wo, op, station, list: bar.eligible.join(", ") }));
    return false;
  }
  const at = new Date(Math.round(start / SNAP_MS) * SNAP_MS);
  let r;
  try {
    r = await ctx.session.call("/api/v1/schedule/lock", { method: "POST", body: JSON.stringify(
      { work_order: wo, operation: op, workstation: station, start: at.toISOString() }) });
  } catch (e) { ctx.show("refused", t("answer.offline")); return false; }
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    const known = body.code ? keyed(`gantt.refused.${body.code}`, { wo, op, station }, null) : null;
    const text = known ?? ctx.problemText(r.status, body);
    ctx.show("refused", text);
    return false;
  }
  pending = { wo, op, station, start: at.getTime(), after: data.plan ? data.plan.id : 0, bar };
  markPending();
  ctx.show("ok", t("gantt.locking", { wo, op, station, time: fmt.dateTime(at.toISOString()) }));
  return true;
}

async function unlock(bar) {
  const wo = bar.work_order, op = bar.operation;
  let r;
  try {
    r = await ctx.session.call("/api/v1/schedule/unlock", { method: "POST",
                                                            body: JSON.stringify({ work_order: wo, operation: op }) });
  } catch (e) { ctx.show("refused", t("answer.offline")); return; }
  if (r.ok) ctx.show("ok", t("gantt.unlocked", { wo, op }));
  else ctx.show("refused", ctx.problemText(r.status, await r.json().catch(() => ({}))));
}

// The keyboard's (and a tap's) way to the same move: a form with the workstations able to run
// it and the start.
async function moveForm(bar) {
  if (!ctx.canMove) return;
  if (bar.pin === "running") { ctx.show("refused", t("gantt.running", { wo: bar.work_order, op: bar.operation })); return; }
  const local = new Date(ms(bar.setup_start) - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const fields = [
    { name: "station", label: t("gantt.field.station"), options: bar.eligible.map((w) => [w, w]),
      value: bar.workstation },
    { name: "start", label: t("gantt.field.start"), type: "datetime-local", value: local },
  ];
  if (bar.locked_by) {  // a lock (kept or not) may also be let go: the planner places it again
    fields.unshift({ name: "action", label: t("gantt.field.action"), value: "move",
                     options: [["move", t("gantt.action.move")], ["unlock", t("gantt.action.unlock")]] });
  }
  const f = await ask(t("gantt.dialog", { wo: bar.work_order, op: bar.operation }), fields);
  if (!f) return;
  if (f.action === "unlock") { await unlock(bar); return; }
  const start = new Date(f.start).getTime();
  if (Number.isNaN(start)) { ctx.show("refused", t("gantt.bad_time")); return; }
  await move(bar, f.station, start);
}

// --- approve and replan (supervisors) -----------------------------------------------------

async function post(url, body) {
  try {
    return await ctx.session.call(url, { method: "POST", body: JSON.stringify(body ?? {}) });
  } catch (e) { ctx.show("refused", t("answer.offline")); return null; }
}

// Approve the plan shown: the confirmation names it, and that plan is the one sent, so a plan
// replaced meanwhile is refused (409 PLAN_SUPERSEDED) and the page shows the current one.
async function approve() {
  if (!data || !data.plan || data.plan.approved_by) return;
  const id = data.plan.id;
  const f = await ask(t("gantt.approve.dialog", { id }), []);
  if (!f) return;
  const r = await post("/api/v1/schedule/approve", { plan: id });
  if (!r) return;
  if (r.ok) {
    ctx.show("ok", t("gantt.approve.done", { id }));
  } else {
    const body = await r.json().catch(() => ({}));
    ctx.show("refused", body.code === "PLAN_SUPERSEDED"
      ? t("gantt.approve.superseded", { detail: body.detail || "" }) : ctx.problemText(r.status, body));
  }
  await reload();
}

async function replan() {
  if (replanning) return;
  replanning = true;
  drawActions();
  ctx.show("ok", t("gantt.replan.running"));
  try {
    const r = await post("/api/v1/schedule/replan");
    if (!r) return;
    if (!r.ok) { ctx.show("refused", ctx.problemText(r.status, await r.json().catch(() => ({})))); return; }
    const plan = await r.json();
    await reload();
    ctx.show("ok", t("gantt.replan.done", { id: plan.id, method: plan.method }));
  } finally {
    replanning = false;
    drawActions();
  }
}

function drawActions() {
  const ok = $("gantt-approve"), again = $("gantt-replan");
  if (!ok || !again) return;
  const plan = data && data.plan;
  ok.disabled = !plan || Boolean(plan.approved_by);
  again.disabled = replanning;
  again.setAttribute("aria-busy", String(replanning));
  again.textContent = t(replanning ? "gantt.replan.busy" : "gantt.replan.button");
}

// What the plan changed against the one before, in words under the header.
export function diffText(d) {
  if (!d) return "";
  if (d.previous === null || d.previous === undefined) return t("gantt.diff.first");
  if (!d.moved.length && !d.added.length && !d.removed.length) return t("gantt.diff.none", { previous: d.previous });
  return t("gantt.diff.summary", { previous: d.previous, moved: fmt.number(d.moved.length),
                                   added: fmt.number(d.added.length), removed: fmt.number(d.removed.length),
                                   kept: fmt.number(d.kept) });
}

const movedKeys = () => new Set((diff ? diff.moved : []).map((m) => `${m.work_order}/${m.operation}`));

// --- drawing ------------------------------------------------------------------------------

// The span shown: from an hour before now to the plan's end (with a margin to drop on), or
// the zoom chosen; the lane's width is the span (no sideways scrolling).
function range() {
  const from = ms(data.start);
  const hours = SPANS.find(([k]) => k === span)[1];
  if (hours) return [from, Math.min(ms(data.end), from + hours * 3600000)];
  const last = Math.max(data.plan_end ? ms(data.plan_end) : 0, Date.now() + 3600000);
  return [from, Math.min(ms(data.end), last + (last - from) * 0.15)];
}

const pct = (t0, [from, to]) => ((t0 - from) / (to - from)) * 100;

function place(node, a, b, r) {
  const left = Math.max(0, pct(a, r));
  const right = Math.min(100, pct(b, r));
  node.style.left = `${left}%`;
  node.style.width = `${Math.max(0, right - left)}%`;
  return right > 0 && left < 100;
}

function axis(r) {
  const width = ($("gantt").clientWidth || 800) * 0.85;
  const minutes = (r[1] - r[0]) / 60000;
  const step = TICKS_MIN.find((m) => (width / minutes) * m >= 72) || 1440;
  const first = Math.ceil(r[0] / (step * 60000)) * step * 60000;
  const ticks = [];
  for (let x = first; pct(x, r) < 96; x += step * 60000) {
    if (pct(x, r) < 4) continue;  // its label would be cut at the lane's start
    const d = new Date(x);
    const label = d.getHours() === 0 && d.getMinutes() === 0 ? fmt.day(d.toISOString()) : fmt.clock(d);
    const tick = el("span", { className: "g-tick", textContent: label, dataset: { value: "" } });
    tick.style.left = `${pct(x, r)}%`;
    ticks.push(tick);
  }
  const now = el("span", { className: "g-tick g-now-label", textContent: t("gantt.now") });
  now.style.left = `${pct(Date.now(), r)}%`;
  return el("div", { className: "g-row g-axis", ariaHidden: "true" },
            el("div", { className: "g-label" }), el("div", { className: "g-lane" }, ...ticks, now));
}

function barLabel(b, moved) {
  const marks = [];
  if (moved) marks.push(t("gantt.diff.bar", { previous: diff.previous }));
  if (b.late) marks.push(t("gantt.late"));
  if (b.pin === "locked") marks.push(t("gantt.locked_by", { by: b.locked_by || "" }));
  if (b.pin === "frozen") marks.push(t("gantt.frozen"));
  if (b.pin === "running") marks.push(t("gantt.running_now"));
  return t("gantt.bar", { wo: b.work_order, op: b.operation, name: opName(b), product: b.product,
                          station: b.workstation, start: fmt.dateTime(b.setup_start),
                          end: fmt.dateTime(b.end) }) + (marks.length ? ` (${marks.join(", ")})` : "");
}

function barNode(b, r, moved) {
  const signs = `${moved ? MOVED : ""}${b.late ? "\u2716" : ""}${b.pin === "locked" ? "\u25A3" : ""}${b.pin === "running" ? "\u25B6" : ""}`;
  // on the TV a bar is a picture with words (nothing to press); elsewhere a button
  const node = el(ctx.canMove ? "button" : "div", {
    ...(ctx.canMove ? { type: "button" } : { role: "img" }),
    className: `g-bar ${b.pin} ${b.late ? "late" : ""} ${moved ? "moved" : ""}`,
    ariaLabel: barLabel(b, moved),
    dataset: { wo: b.work_order, op: b.operation, station: b.workstation, pin: b.pin,
               late: String(b.late), moved: String(moved), start: b.setup_start },
  },
  signs ? el("span", { className: "g-signs", textContent: signs, dataset: { value: "" } }) : null,
  el("span", { className: "g-text", textContent: `${b.work_order} ${b.operation} ${opName(b)} · ${b.product}`,
               dataset: { value: "" } }));
  if (!place(node, ms(b.setup_start), ms(b.end), r)) return null;
  if (ms(b.start) > ms(b.setup_start)) {  // the setup, hatched, at the bar's start
    const setup = el("span", { className: "g-setup" });
    setup.style.width = `${((ms(b.start) - ms(b.setup_start)) / (ms(b.end) - ms(b.setup_start))) * 100}%`;
    node.prepend(setup);
  }
  if (ctx.canMove) {
    node.addEventListener("click", (ev) => {
      ev.preventDefault();
      if (node.dataset.dragged) { delete node.dataset.dragged; return; }
      moveForm(b);
    });
    node.addEventListener("pointerdown", (ev) => drag(ev, node, b, r));
  } else {  // a display token, the owner, quality: the plan is read here, not changed
    node.addEventListener("pointerdown", () => ctx.show("refused", t("gantt.read_only")));
  }
  return node;
}

function draw() {
  const r = range();
  for (const bt of $("gantt-spans").children) bt.setAttribute("aria-pressed", String(bt.dataset.span === span));
  $("gantt-plan").textContent = data.plan
    ? t("gantt.plan", { id: data.plan.id, at: fmt.dateTime(data.plan.created_at), method: data.plan.method })
      + (data.plan.approved_by ? ` · ${t("gantt.approved", { by: data.plan.approved_by })}` : "")
    : t("gantt.no_plan");
  $("gantt-diff").textContent = diffText(diff);
  $("gantt-diff").hidden = !diff;
  drawActions();
  const moved = movedKeys();
  const nowLeft = pct(Date.now(), r);
  const rows = data.workstations.map((w) => {
    const lane = el("div", { className: "g-lane", dataset: { station: w.id } });
    for (const win of data.windows.filter((x) => x.workstation === w.id)) {
      const node = el("div", { className: `g-window ${win.kind}`,
                               title: win.kind === "breakdown" ? t("gantt.breakdown_until", { time: hhmm(win.end) }) : "" });
      if (win.kind === "breakdown") node.textContent = `\u26A0 ${t("gantt.breakdown_until", { time: hhmm(win.end) })}`;
      if (place(node, ms(win.start), ms(win.end), r)) lane.append(node);
    }
    for (const b of data.bars.filter((x) => x.workstation === w.id)) {
      const node = barNode(b, r, moved.has(`${b.work_order}/${b.operation}`));
      if (node) lane.append(node);
    }
    if (nowLeft >= 0 && nowLeft <= 100) {
      const now = el("div", { className: "g-now", ariaHidden: "true" });
      now.style.left = `${nowLeft}%`;
      lane.append(now);
    }
    return el("div", { className: "g-row", dataset: { station: w.id }, role: "group",
                       ariaLabel: t("gantt.row", { station: w.id, name: stationName(w) }) },
              el("div", { className: "g-label" }, el("strong", { textContent: w.id, dataset: { value: "" } }),
                 el("span", { className: "meta", textContent: stationName(w) || centreName(w), dataset: { value: "" } })),
              lane);
  });
  $("gantt").replaceChildren(axis(r), ...rows);
  Object.assign($("gantt").dataset, { from: String(r[0]), to: String(r[1]) });
  const late = data.bars.filter((b) => b.late);
  $("gantt-late").textContent = late.length
    ? t("gantt.late_list", { list: [...new Set(late.map((b) => b.work_order))].join(", ") }) : "";
  drawUnplanned();
  $("gantt-notices").replaceChildren(...noticeItems(data).map((n) => el("li", { textContent: noticeText(n), dataset: { value: "" } })));
  markPending();
  document.body.dataset.gantt = String(data.plan ? data.plan.id : 0);
}

// The bar moved, waiting for the plan: where it was dropped, dashed.
function markPending() {
  if (!pending) return;
  const { bar: b, station, start } = pending;
  const node = document.querySelector(`.g-bar[data-wo="${CSS.escape(b.work_order)}"][data-op="${CSS.escape(b.operation)}"]`);
  const lane = document.querySelector(`.g-lane[data-station="${CSS.escape(station)}"]`);
  if (!node || !lane) return;
  node.style.transform = "";
  lane.append(node);
  const r = range();
  place(node, start, start + (ms(b.end) - ms(b.setup_start)), r);
  node.classList.add("pending");
}

// --- dragging -----------------------------------------------------------------------------

function drag(ev, node, b, r) {
  if (ev.button !== 0) return;
  if (!ctx.canMove) return;
  const x0 = ev.clientX, y0 = ev.clientY;
  node.setPointerCapture?.(ev.pointerId);
  const lane = node.parentElement;
  const perPx = (r[1] - r[0]) / lane.clientWidth;
  let moving = false;
  let over = null;
  const target = (x, y) => {
    const row = document.elementsFromPoint(x, y).map((e) => e.closest(".g-row:not(.g-axis)")).find(Boolean);
    return row ? row.dataset.station : null;
  };
  const onMove = (e) => {
    const dx = e.clientX - x0, dy = e.clientY - y0;
    if (!moving && Math.hypot(dx, dy) < DRAG_PX) return;
    if (!moving) {
      if (b.pin === "running") { cleanup(); ctx.show("refused", t("gantt.running", { wo: b.work_order, op: b.operation })); return; }
      moving = true;
      $("gantt").classList.add("dragging");
      node.classList.add("moving");
    }
    node.style.transform = `translate(${dx}px, ${dy}px)`;
    const station = target(e.clientX, e.clientY);
    if (station !== over) {
      for (const row of document.querySelectorAll(".g-row.drop-ok, .g-row.drop-no")) row.classList.remove("drop-ok", "drop-no");
      over = station;
      const row = station && document.querySelector(`.g-row[data-station="${CSS.escape(station)}"]`);
      if (row) row.classList.add(b.eligible.includes(station) ? "drop-ok" : "drop-no");
    }
  };
  const cleanup = () => {
    node.removeEventListener("pointermove", onMove);
    node.removeEventListener("pointerup", onUp);
    node.removeEventListener("pointercancel", onCancel);
    $("gantt").classList.remove("dragging");
    node.classList.remove("moving");
    for (const row of document.querySelectorAll(".g-row.drop-ok, .g-row.drop-no")) row.classList.remove("drop-ok", "drop-no");
  };
  const onCancel = () => { cleanup(); node.style.transform = ""; };
  const onUp = async (e) => {
    cleanup();
    if (!moving) return;  // a tap: the click opens the form
    node.dataset.dragged = "1";
    const station = target(e.clientX, e.clientY) || b.workstation;
    const start = ms(b.setup_start) + (e.clientX - x0) * perPx;
    if (!(await move(b, station, start))) node.style.transform = "";  // back; the answer says why
  };
  node.addEventListener("pointermove", onMove);
  node.addEventListener("pointerup", onUp);
  node.addEventListener("pointercancel", onCancel);
}
