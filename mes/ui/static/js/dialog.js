// One modal for the touch inputs: a keypad for a quantity, a reason picker, or a plain
// confirmation. Resolves with {value, reason} on OK, null on Cancel.
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const KEYS = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "\u232B", "0", "C"];

export function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

export function showDialog({ title, keypad = false, reasons = [] }) {
  const dlg = $("dialog");
  let value = "";
  let reason = reasons[0] || null;
  const out = $("dialog-value");
  $("dialog-title").textContent = title;
  out.hidden = !keypad;
  out.textContent = "0";
  $("keypad").replaceChildren(...(keypad ? KEYS : []).map((k) => button(k, () => {
    if (k === "C") value = "";
    else if (k === "\u232B") value = value.slice(0, -1);
    else if (value.length < 6) value = (value + k).replace(/^0+/, "");
    out.textContent = value || "0";
  })));
  const picks = reasons.map((r) => {
    const b = button(t(`reason.${r.toLowerCase()}`), () => {
      reason = r;
      for (const p of picks) p.setAttribute("aria-pressed", String(p === b));
    });
    b.dataset.reason = r;
    b.setAttribute("aria-pressed", String(r === reason));
    return b;
  });
  $("reasons").replaceChildren(...picks);
  return new Promise((resolve) => {
    const done = (result) => {
      $("dialog-ok").onclick = null;
      $("dialog-cancel").onclick = null;
      dlg.close();
      resolve(result);
    };
    $("dialog-ok").onclick = () => done({ value: Number(value || "0"), reason });
    $("dialog-cancel").onclick = () => done(null);
    dlg.showModal();
  });
}
