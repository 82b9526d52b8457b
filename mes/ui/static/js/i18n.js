// The page's texts come from the MES's catalogue (/i18n/<lang>.json, the same one the server's
// texts use). `t(key, params)` fills {name} placeholders; a key missing is shown as the key.
export const LANGUAGES = ["en", "zh-CN"];
let texts = {};
let current = "en";

export async function load(lang) {
  const r = await fetch(`/i18n/${encodeURIComponent(lang)}.json`);
  if (!r.ok) throw new Error(`no catalogue for ${lang}`);
  texts = await r.json();
  current = lang;
  document.documentElement.lang = lang === "qps" ? "en" : lang;
}

export const language = () => current;

export function t(key, params = {}) {
  const text = texts[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// A text the MES sent language-neutrally: its catalogue key filled with its parameters (numbers
// in the page's locale); `fallback` (the MES's English text) when it has no key or the
// catalogue does not know the key.
export function keyed(key, params, fallback) {
  if (!key) return fallback;
  const number = new Intl.NumberFormat(current === "qps" ? "en" : current, { maximumFractionDigits: 2 });
  const filled = {};
  for (const [k, v] of Object.entries(params || {})) {
    filled[k] = typeof v === "number" ? number.format(v) : String(v ?? "");
  }
  const text = t(key, filled);
  return text === key ? fallback : text;
}

export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

export function pick(stationLanguage) {
  const chosen = localStorage.getItem("sf.lang");
  if (chosen) return chosen;
  if (stationLanguage) return stationLanguage;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function time(iso) {
  return new Date(iso).toLocaleTimeString(current === "qps" ? "en" : current);
}
export function clock(iso) {
  return new Date(iso).toLocaleTimeString(current === "qps" ? "en" : current,
                                          { hour: "2-digit", minute: "2-digit" });
}
export function date(iso) {
  return new Date(iso).toLocaleDateString(current === "qps" ? "en" : current);
}
