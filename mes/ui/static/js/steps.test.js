// Unit tests of steps.js, run in the browser: `await (await import(this)).run()` gives
// [{name, ok, detail}].
import { nextStep, buttons, expected } from "./steps.js";

const who = [{ badge: "E1", name: "E1" }];
const at = (status, extra = {}) => ({
  operators: who, work_order: "WO-1", operation: "0010", job: { status, quantity: 50, good: 0, ...extra } });
const on = (b) => Object.keys(b).filter((c) => b[c].enabled).sort().join(",");
const main = (b) => Object.keys(b).filter((c) => b[c].primary).join(",");

const cases = {
  "not enrolled first": () => [nextStep({ enrolled: false, state: at("READY") }), "answer.not_enrolled"],
  "nobody logged in: the badge": () => [nextStep({ enrolled: true, state: { operators: [] } }), "next.badge"],
  "no job: a work order": () =>
    [nextStep({ enrolled: true, state: { operators: who, work_order: null, job: null } }), "next.job"],
  "ready: start": () => [nextStep({ enrolled: true, state: at("READY") }), "next.start"],
  "running: report": () => [nextStep({ enrolled: true, state: at("RUNNING") }), "next.report"],
  "paused: resume": () => [nextStep({ enrolled: true, state: at("PAUSED") }), "next.resume"],
  "done: the next work order": () => [nextStep({ enrolled: true, state: at("DONE") }), "next.job"],
  "a stop without reason comes first": () =>
    [nextStep({ enrolled: true, state: at("RUNNING"), stop: { reason: null } }), "next.stop"],
  "a stop with its reason does not": () =>
    [nextStep({ enrolled: true, state: at("RUNNING"), stop: { reason: "DIE" } }), "next.report"],
  "ready: only Start, prominent": () => [[on(buttons(at("READY"))), main(buttons(at("READY")))], ["START", "START"]],
  "running: no Start, Good parts prominent": () =>
    [[on(buttons(at("RUNNING"))), main(buttons(at("RUNNING")))], ["COMPLETE,PAUSE,QTY,SCRAP", "QTY"]],
  "running with the quantity made: Complete prominent": () =>
    [main(buttons(at("RUNNING", { good: 50 }))), "COMPLETE"],
  "paused: Resume prominent, Complete possible": () =>
    [[on(buttons(at("PAUSED"))), main(buttons(at("PAUSED")))], ["COMPLETE,RESUME", "RESUME"]],
  "nobody logged in: nothing": () => [on(buttons({ ...at("RUNNING"), operators: [] })), ""],
  "a waiting Start shows the job running": () => [expected(at("READY"), "START").job.status, "RUNNING"],
  "a waiting report changes no state": () => [expected(at("RUNNING"), "QTY").job.status, "RUNNING"],
};

export function run() {
  return Object.entries(cases).map(([name, f]) => {
    const [got, want] = f();
    const ok = JSON.stringify(got) === JSON.stringify(want);
    return { name, ok, detail: ok ? "" : `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}` };
  });
}
