// Unit tests of scanner.js, run in the browser: `await (await import(this)).run()` gives
// [{name, ok, detail}].
import { createScanner } from "./scanner.js";

const keys = (text, start, gap) =>
  Array.from(text, (key, i) => ({ key, timeStamp: start + i * gap, isComposing: false }));

function feed(scanner, events) {
  const scans = [];
  for (const ev of events) {
    const r = scanner.keydown(ev);
    if (r.scan !== undefined) scans.push(r.scan);
  }
  return scans;
}

const burst = (text, start = 1000, gap = 5, end = "Enter") => {
  const ks = keys(text, start, gap);
  return [...ks, { key: end, timeStamp: start + text.length * gap, isComposing: false }];
};

const cases = {
  "a burst ended by Enter is a scan": () => feed(createScanner(), burst("EMP:E1")),
  "Tab ends a scan too": () => feed(createScanner(), burst("QTY:5", 0, 5, "Tab")),
  "typing at 250 ms a key is not a scan": () => feed(createScanner(), burst("HELLO", 0, 250)),
  "a slow Enter after a burst is not a scan": () => {
    const ev = keys("CMD:START", 0, 5);
    return feed(createScanner(), [...ev, { key: "Enter", timeStamp: 800 }]);
  },
  "too short is not a scan": () => feed(createScanner(), burst("A1")),
  "typing then a burst gives only the burst": () =>
    feed(createScanner(), [...keys("abc", 0, 300), ...burst("WO:WO-1", 2000)]),
  "prefix and suffix are stripped": () =>
    feed(createScanner({ prefix: "~", suffix: "#" }), burst("~QTY:7#")),
  "a burst without the prefix is not a scan": () =>
    feed(createScanner({ prefix: "~" }), burst("QTY:7")),
  "keys during IME composition are ignored": () => {
    const s = createScanner();
    s.compositionstart();
    const during = feed(s, burst("nihao"));
    s.compositionend();
    return [...during, ...feed(s, burst("EMP:E2", 5000))];
  },
  "isComposing keys break a burst": () => {
    const ev = burst("EMP:E3");
    ev[2] = { ...ev[2], isComposing: true, key: "Process" };
    return feed(createScanner(), ev);
  },
  "a configurable gap accepts a slower scanner": () =>
    feed(createScanner({ maxGapMs: 120 }), burst("CMD:PAUSE", 0, 100)),
};

const expected = {
  "a burst ended by Enter is a scan": ["EMP:E1"],
  "Tab ends a scan too": ["QTY:5"],
  "typing at 250 ms a key is not a scan": [],
  "a slow Enter after a burst is not a scan": [],
  "too short is not a scan": [],
  "typing then a burst gives only the burst": ["WO:WO-1"],
  "prefix and suffix are stripped": ["QTY:7"],
  "a burst without the prefix is not a scan": [],
  "keys during IME composition are ignored": ["EMP:E2"],
  "isComposing keys break a burst": [],
  "a configurable gap accepts a slower scanner": ["CMD:PAUSE"],
};

export function run() {
  return Object.entries(cases).map(([name, fn]) => {
    const got = fn();
    const ok = JSON.stringify(got) === JSON.stringify(expected[name]);
    return { name, ok, detail: JSON.stringify(got) };
  });
}
