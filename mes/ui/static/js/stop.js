// The machine's current stop (from the OEE API) and its reason in two taps: a group of the
// plant's reason tree, then the reason. The reason goes out as an `RSN:<code>` scan through the
// outbox (device-made event_id, the tap's time, exactly once, also offline); the MES gives it
// to the station's open (or latest unexplained) stop, the same stop shown here.
import { t, clock, language } from "./i18n.js";
import { button } from "./dialog.js";

const $ = (id) => document.getElementById(id);
const LOOK_BACK_MS = 24 * 3600 * 1000;

export function createStopPanel({ station, call, submit, changed }) {
  let tree = JSON.parse(localStorage.getItem("sf.reasons") || "[]");
  let stop = null;       // the stop shown: {id, state, start, end, reason}
  let picked = null;     // {id, code}: a reason sent (maybe still waiting) for stop `id`
  let group = null;      // the group the operator opened (first tap)

  const name = (item) => (language() === "zh-CN" ? item.zh_cn : item.en) || item.code;
  const reasonName = (code) => {
    for (const g of tree) for (const r of g.reasons) if (r.code === code) return name(r);
    return code;
  };

  // the reason the operator picked last (maybe still waiting to be sent), else the MES's
  const given = () => (picked && stop && picked.id === stop.id ? picked.code : null) || (stop && stop.reason);

  function draw() {
    const panel = $("stop");
    panel.hidden = !stop;
    if (!stop) return;
    const state = t(`stop.state.${stop.state}`);
    const minutes = Math.max(0, Math.round((Date.now() - Date.parse(stop.start)) / 60000));
    $("stop-state").textContent = stop.end
      ? t("stop.between", { state, start: clock(stop.start), end: clock(stop.end) })
      : t("stop.since", { state, time: clock(stop.start), minutes });
    const reason = given();
    $("stop-reason").hidden = !reason;
    $("stop-reason").textContent = reason ? t("stop.reason", { reason: reasonName(reason) }) : "";
    const choosing = !reason || group !== null;
    $("stop-pick").hidden = !choosing || !tree.length;
    const picks = $("stop-picks");
    if (!choosing) {
      // open stop: the operator may still correct the reason (the MES takes the last RSN)
      picks.replaceChildren(...(stop.end ? [] : [button(t("stop.change"), () => { group = "*"; draw(); })]));
      return;
    }
    const open = tree.find((g) => g.code === group);
    const groups = () => tree.map((g) => {
      const b = button(name(g), () => { group = g.code; draw(); });
      b.dataset.group = g.code;
      b.dataset.value = "";  // the plant's words, not the page's
      return b;
    });
    const items = open ? [...open.reasons.map(pick), back()] : [...groups(), ...(reason ? [back()] : [])];
    picks.replaceChildren(...items);
  }

  function pick(r) {
    const b = button(name(r), async () => {
      picked = { id: stop.id, code: r.code };
      group = null;
      draw();
      await submit(`RSN:${r.code}`);
    });
    b.dataset.reason = r.code;
    b.dataset.value = "";
    return b;
  }

  function back() {
    const b = button(t("stop.back"), () => { group = null; draw(); });
    b.className = "back";
    return b;
  }

  let treeAsked = false;
  async function loadTree() {
    const r = await call("/api/v1/performance/reasons");
    if (!r.ok) return;
    treeAsked = true;
    tree = await r.json();
    localStorage.setItem("sf.reasons", JSON.stringify(tree));
  }

  // One request per refresh cycle: the station's events of the last day; the stop shown is the
  // latest one still open or without a reason (what `RSN:` explains).
  async function refresh() {
    if (!treeAsked) {  // once a page load (then from localStorage when offline)
      try { await loadTree(); } catch (e) { return; }
    }
    if (!tree.length) return;  // no reason tree: no machine stops to explain at this plant
    const now = Date.now();
    const range = `start=${encodeURIComponent(new Date(now - LOOK_BACK_MS).toISOString())}` +
      `&end=${encodeURIComponent(new Date(now + 60000).toISOString())}`;
    let events;
    try {
      const r = await call(`/api/v1/performance/downtime?work_unit=${encodeURIComponent(station)}&${range}`);
      if (!r.ok) return;
      events = await r.json();
    } catch (e) { return; }  // offline: keep what is shown
    const latest = events.filter((e) => e.end === null || e.reason === null).pop() || null;
    const before = JSON.stringify(stop);
    if (latest && stop && latest.id !== stop.id) group = null;
    stop = latest;
    if (stop && stop.reason && picked && picked.id === stop.id && picked.code === stop.reason) picked = null;
    draw();  // also the minutes of a stop still open
    if (JSON.stringify(stop) !== before) changed();
  }

  const current = () => stop && { ...stop, reason: given() };
  return { refresh, draw, current };
}
