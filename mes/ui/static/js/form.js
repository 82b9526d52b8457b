// A small modal form: fields of text or choices; resolves with {name: value} on OK, null on
// Cancel. Used by the board's actions (reasons, dispositions).
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (v !== undefined && v !== null) e[k] = v;
  }
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

export function ask(title, fields) {
  const dlg = $("form");
  $("form-title").textContent = title;
  const inputs = fields.map((f) => {
    const input = f.options
      ? el("select", { name: f.name, required: true },
           ...f.options.map(([value, label]) => el("option", { value, textContent: label,
                                                               selected: value === f.value })))
      : el("input", { name: f.name, required: f.required !== false, maxLength: 200,
                      autocomplete: "off", value: f.value || "", type: f.type || "text",
                      ...(f.min !== undefined ? { min: f.min, max: f.max } : {}) });
    return [f.name, input, el("p", {}, el("label", {}, el("span", { textContent: f.label }), input))];
  });
  $("form-fields").replaceChildren(...inputs.map(([, , p]) => p));
  return new Promise((resolve) => {
    const done = (result) => {
      dlg.querySelector("form").onsubmit = null;
      $("form-cancel").onclick = null;
      dlg.close();
      resolve(result);
    };
    dlg.querySelector("form").onsubmit = (ev) => {
      ev.preventDefault();
      done(Object.fromEntries(inputs.map(([name, input]) => [name, input.value.trim()])));
    };
    $("form-cancel").onclick = () => done(null);
    $("form-cancel").textContent = t("btn.cancel");
    dlg.showModal();
  });
}
