// The owner's page, phone first: the figures of /api/v1/dashboard/summary for a period, each a
// tap away from the orders behind it (/api/v1/dashboard/orders), and the delivery report.
import { language, t } from "./i18n.js";
import { setUp, show } from "./page.js";
import { createSession } from "./session.js";
import * as fmt from "./format.js";
import { bars, pareto, trend } from "./charts.js";
import { el } from "./form.js";
import { knownProblem, problemOf } from "./problems.js";

const $ = (id) => document.getElementById(id);
const session = createSession("sf.owner.token");
let period = { period: localStorage.getItem("sf.owner.period") || "today" };


function query(extra = {}) {
  // names (reasons, operations) in the page's language
  const lang = ["en", "zh-CN"].includes(language()) ? language() : "en";
  const q = new URLSearchParams({ ...period, lang, ...extra });
  for (const [k, v] of [...q]) if (v === "" || v === undefined) q.delete(k);
  return q.toString();
}

function box(label, value, level = "", figure = null, extra = {}) {
  const tag = figure ? "button" : "div";
  const b = el(tag, { className: `figure-box ${level}`, type: figure ? "button" : undefined },
               el("strong", { textContent: value }), el("span", { textContent: label }));
  if (figure) b.addEventListener("click", () => drill(figure, label, extra));
  return b;
}

async function drill(figure, title, extra = {}) {
  $("drill-title").textContent = title;
  $("drill-list").replaceChildren(el("li", { className: "meta", textContent: t("owner.loading") }));
  $("drill").showModal();
  const r = await session.call(`/api/v1/dashboard/orders?${query({ figure, ...extra })}`).catch(() => null);
  if (!r || !r.ok) {
    const why = (r && knownProblem(await problemOf(r))) ?? t("owner.no_data");
    $("drill-list").replaceChildren(el("li", { className: "refused", textContent: why }));
    return;
  }
  const orders = await r.json();
  $("drill-list").replaceChildren(...(orders.length ? orders.map((o) => el("li", {
    className: `drill-order ${o.lateness_h > 0 ? "alarm" : ""}` },
    el("strong", { textContent: `${o.work_order} · ${o.product}`, dataset: { value: "" } }),
    el("span", { textContent: t("drill.quantities", { good: fmt.number(o.good), quantity: fmt.number(o.quantity),
                                                      scrap: fmt.number(o.scrap) }) }),
    el("span", { textContent: t("drill.dates", { due: fmt.dateTime(o.due), done: fmt.dateTime(o.completed_at) }) }),
    el("span", { textContent: `${t(`wo.${o.state}`)}${o.lateness_h > 0 ? " · " + t("drill.late", { h: fmt.hours(o.lateness_h) }) : ""}` })))
    : [el("li", { className: "meta", textContent: t("owner.no_orders") })]));
}

function draw(s) {
  $("period-label").textContent = `${fmt.dateTime(s.period.start)} – ${fmt.dateTime(s.period.end)} (${s.period.timezone})`;
  const ot = s.on_time;
  const rate = $("on-time-rate");
  rate.textContent = fmt.percent(ot.rate);
  rate.onclick = () => drill("on_time", t("owner.on_time"));
  // the definition in the page's language (the API's `definition` says the same in English)
  $("on-time-definition").textContent = t("owner.on_time_definition");
  $("on-time-counts").replaceChildren(
    box(t("owner.due"), fmt.number(ot.due), "", "due"),
    box(t("owner.on_time_n"), fmt.number(ot.on_time), "", "on_time"),
    box(t("owner.late"), fmt.number(ot.late), ot.late ? "alarm" : "", "late"),
    box(t("owner.open_overdue"), fmt.number(ot.open_overdue), ot.open_overdue ? "warn" : "", "open_overdue"));
  const out = s.output;
  const bar = el("div", { className: "bar", role: "img", ariaLabel: fmt.percent(out.ratio) }, el("span", { className: "fill" }));
  bar.firstChild.style.width = `${Math.min(100, Math.round((out.ratio || 0) * 100))}%`;
  $("output").replaceChildren(
    el("p", { className: "big-line", textContent: t("owner.output_line", { good: fmt.number(out.good),
                                                                          planned: fmt.number(out.planned), ratio: fmt.percent(out.ratio) }) }),
    bar,
    el("p", { className: "meta", textContent: t("owner.scrap_total", { scrap: fmt.number(out.scrap) }) }));
  bars($("wip-chart"), s.wip, {
    label: (w) => `${w.operation} ${w.name}`, value: (w) => w.quantity, emptyText: t("owner.no_data"),
    onPick: (w) => drill("wip", `${t("owner.wip")}: ${w.operation} ${w.name}`, { operation: w.operation }) });
  pareto($("scrap-reason-chart"), s.scrap_by_reason, { emptyText: t("owner.no_scrap"),
    onPick: (r) => drill("scrap", `${t("owner.scrap_reason")}: ${r.name}`, { reason: r.key }) });
  pareto($("scrap-product-chart"), s.scrap_by_product, { emptyText: t("owner.no_scrap"),
    onPick: (r) => drill("scrap", `${t("owner.scrap_product")}: ${r.name}`, { product: r.key }) });
  trend($("oee-chart"), s.oee_trend, { emptyText: t("owner.no_data") });
  const lt = s.lead_time;
  $("lead-time").replaceChildren(
    box(t("owner.lead_orders"), fmt.number(lt.orders)), box(t("owner.lead_mean"), fmt.hours(lt.mean_h)),
    box(t("owner.lead_p50"), fmt.hours(lt.p50_h)), box(t("owner.lead_p90"), fmt.hours(lt.p90_h)));
  const top = s.downtime_top[0] ? s.downtime_top[0].seconds : 1;
  $("downtime").replaceChildren(...(s.downtime_top.length ? s.downtime_top.map((d) => {
    const b = el("div", { className: "bar" }, el("span", { className: "fill" }));
    b.firstChild.style.width = `${Math.round((d.seconds / top) * 100)}%`;
    return el("li", {}, el("strong", { textContent: d.name || d.reason, dataset: { value: "" } }),
              el("span", { textContent: t("owner.downtime_line", { h: fmt.hours(d.seconds / 3600), n: fmt.number(d.events) }) }), b);
  }) : [el("li", { className: "meta", textContent: t("owner.no_downtime") })]));
  $("open").replaceChildren(
    box(t("owner.alarms_open"), fmt.number(s.alarms_open), s.alarms_open ? "alarm" : ""),
    box(t("owner.holds_open"), fmt.number(s.holds_open), s.holds_open ? "warn" : ""));
}

async function refresh() {
  for (const b of document.querySelectorAll("[data-period]")) {
    b.setAttribute("aria-pressed", String(b.dataset.period === period.period));
  }
  $("range").hidden = period.period !== "range";
  let r;
  try {
    r = await session.call(`/api/v1/dashboard/summary?${query()}`);
  } catch (e) {
    show("refused", t("answer.offline"));
    return;
  }
  if (r.status === 401) { session.forget(); showLogin(); return; }
  if (!r.ok) { show("refused", knownProblem(await problemOf(r)) ?? t("owner.no_data")); return; }
  show("", "");
  draw(await r.json());
  document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1);
}

function localMidnight(value, plusDays = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

async function download(format) {
  const r = await session.call(`/api/v1/reports/delivery?${query({ format })}`).catch(() => null);
  if (!r || !r.ok) { show("refused", (r && knownProblem(await problemOf(r))) ?? t("owner.no_report")); return; }
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: `delivery-${period.period}.${format}` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function showLogin() {
  $("main").hidden = true;
  $("login").hidden = false;
  document.body.dataset.ready = "1";
}

async function open() {
  const who = await session.me();
  if (!who) { session.forget(); showLogin(); return; }
  $("login").hidden = true;
  $("main").hidden = false;
  await refresh();
  document.body.dataset.ready = "1";
}

async function start() {
  await setUp(session);
  $("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!(await session.login($("login-user").value.trim(), $("login-password").value))) {
      show("refused", t("answer.login_failed"));
      return;
    }
    show("", "");
    open();
  });
  for (const b of document.querySelectorAll("[data-period]")) {
    b.addEventListener("click", () => {
      if (b.dataset.period === "range") { period = { ...period, period: "range" }; $("range").hidden = false; return; }
      period = { period: b.dataset.period };
      localStorage.setItem("sf.owner.period", period.period);
      refresh();
    });
  }
  const today = new Date().toISOString().slice(0, 10);
  $("range-start").value = today;
  $("range-end").value = today;
  $("range-go").addEventListener("click", () => {
    const a = $("range-start").value;
    const b = $("range-end").value;
    if (!a || !b || b < a) { show("refused", t("owner.bad_range")); return; }
    period = { period: "range", start: localMidnight(a), end: localMidnight(b, 1) };
    refresh();
  });
  $("report-csv").addEventListener("click", () => download("csv"));
  $("report-xlsx").addEventListener("click", () => download("xlsx"));
  if (period.period === "range") period = { period: "today" };
  if (session.has()) await open(); else showLogin();
}

start();
