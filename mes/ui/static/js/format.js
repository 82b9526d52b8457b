// Numbers, percentages, dates and durations in the page's language (Intl).
import { language } from "./i18n.js";

const locale = () => (language() === "qps" ? "en" : language());

export function number(n, digits = 0) {
  if (n === null || n === undefined) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(n);
}
export function percent(ratio, digits = 1) {
  if (ratio === null || ratio === undefined) return "–";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: digits,
                                           minimumFractionDigits: digits }).format(ratio);
}
export function dateTime(iso) {
  if (!iso) return "–";
  return new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric", hour: "2-digit",
                                             minute: "2-digit" }).format(new Date(iso));
}
export function day(iso) {
  if (!iso) return "–";
  return new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric" })
    .format(new Date(iso));
}
export function clock(date = new Date()) {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(date);
}
// a duration given in hours; under one hour in minutes ("0 h" would read as no time at all)
export function hours(h) {
  if (h === null || h === undefined) return "–";
  const short = h !== 0 && Math.abs(h) < 1;
  return new Intl.NumberFormat(locale(), { style: "unit", unit: short ? "minute" : "hour",
                                           unitDisplay: "short", maximumFractionDigits: short ? 0 : 1 })
    .format(short ? Math.max(1, Math.round(Math.abs(h) * 60)) * Math.sign(h) : h);
}
export function minutesSince(iso, now = Date.now()) {
  return Math.max(0, Math.round((now - new Date(iso).getTime()) / 60000));
}
