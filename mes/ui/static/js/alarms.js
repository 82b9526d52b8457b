// The alarm banner for the station's area: the current list, redrawn on every event of the
// MES's alarm stream (server-sent events read with fetch, which can carry the station token),
// highest priority first, with Acknowledge for an unacknowledged alarm.
import { keyed, t } from "./i18n.js";
import { follow } from "./sse.js";

const RANK = { critical: 0, high: 1, medium: 2, low: 3 };

// The alarm's text in the page's language: its catalogue key filled with its parameters
// (numbers in the page's locale); the MES's English `message` when it has no key.
// (Only modules of the service worker's app shell: the banner must draw offline too.)
export function messageOf(a) {
  return keyed(a.message_key, a.message_params, a.message);
}

export function watchAlarms(area, headers, call) {
  const banner = document.getElementById("alarms");
  const url = `/api/v1/alarms?area=${encodeURIComponent(area)}`;

  async function draw() {
    let list;
    try {
      const r = await call(url);
      if (!r.ok) return;
      list = await r.json();
    } catch (e) { return; }
    list.sort((a, b) => (RANK[a.priority] ?? 4) - (RANK[b.priority] ?? 4));
    banner.hidden = !list.length;
    banner.replaceChildren(...list.map((a) => {
      const row = document.createElement("div");
      row.className = `alarm ${a.priority === "critical" ? "high" : a.priority}`;
      row.setAttribute("role", "alert");
      const text = document.createElement("span");
      text.textContent = `\u26A0 ${t(`alarm.priority.${a.priority}`)}: ${messageOf(a)}`;
      row.append(text);
      if (a.state.endsWith("_unacked")) {
        const ack = document.createElement("button");
        ack.type = "button";
        ack.textContent = t("btn.ack");
        ack.addEventListener("click", async () => {
          await call(`/api/v1/alarms/${encodeURIComponent(a.alarm)}/ack`,
                     { method: "POST", body: JSON.stringify({ comment: "" }) }).catch(() => null);
          draw();
        });
        row.append(ack);
      }
      return row;
    }));
  }

  draw();
  // every event of the stream redraws the list; a refused token keeps retrying (re-enrolment)
  follow("/api/v1/alarms/stream", headers, {
    onEvent: () => draw(), onState: () => {}, onDenied: () => {}, retryMs: 5000, stopOnDenied: false });
}
