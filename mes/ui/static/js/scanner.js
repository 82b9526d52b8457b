// Scan capture, pure: feed it key events (key, timeStamp, isComposing) and it tells a
// keyboard-wedge scanner's burst from a person typing. A scan is a run of printable keys, each
// at most `maxGapMs` after the one before, ended by a terminator key within the same gap, at
// least `minLength` long; an optional prefix and suffix (set in the scanner) are checked and
// stripped. Keys during IME composition never count: an input method left on cannot garble a scan.

export const DEFAULTS = Object.freeze({
  maxGapMs: 50,
  minLength: 3,
  terminators: ["Enter", "Tab"],
  prefix: "",
  suffix: "",
});

export function createScanner(options = {}) {
  const cfg = { ...DEFAULTS, ...options };
  let buffer = "";
  let last = -Infinity;
  let composing = false;
  let tainted = false; // a burst that an input method touched: dropped to its end

  const reset = () => { buffer = ""; last = -Infinity; tainted = false; };

  // Returns { scan } when a scan is complete, { swallow: true } for a key that belongs to a burst
  // (the page should preventDefault it), or {} for a key to leave alone.
  function keydown(ev) {
    const t = ev.timeStamp;
    if (composing || ev.isComposing || ev.key === "Process") {
      reset();
      tainted = true;
      last = t;
      return {};
    }
    const inBurst = t - last <= cfg.maxGapMs;
    if (tainted) {
      if (inBurst && !cfg.terminators.includes(ev.key)) { last = t; return {}; }
      reset();
      if (inBurst) return {};
    }
    if (cfg.terminators.includes(ev.key)) {
      const text = buffer;
      const ok = inBurst && text.length >= cfg.minLength;
      reset();
      if (!ok) return {};
      const code = strip(text);
      return code === null ? { swallow: true } : { scan: code, swallow: true };
    }
    if (ev.key.length !== 1 || ev.ctrlKey || ev.metaKey || ev.altKey) { reset(); return {}; }
    buffer = inBurst ? buffer + ev.key : ev.key;
    last = t;
    return { swallow: inBurst };
  }

  function strip(text) {
    if (!text.startsWith(cfg.prefix) || !text.endsWith(cfg.suffix)) return null;
    const code = text.slice(cfg.prefix.length, text.length - cfg.suffix.length);
    return code.length ? code : null;
  }

  return {
    keydown,
    compositionstart() { composing = true; reset(); },
    compositionend() { composing = false; reset(); },
    get pending() { return buffer; },
  };
}
