// What the operator should do next, and which buttons make sense now (pure: no DOM, no I/O).
// The next step is the one prominent button; buttons that the job's state refuses are disabled.

export const COMMANDS = ["START", "PAUSE", "RESUME", "QTY", "SCRAP", "COMPLETE"];

const ALLOWED = {
  READY: ["START"],
  RUNNING: ["PAUSE", "QTY", "SCRAP", "COMPLETE"],
  PAUSED: ["RESUME", "COMPLETE"],
};

// {enrolled, state: the station state (operators, work_order, job), stop: the open stop or null
// (with `reason` once given)} -> a catalogue key
export function nextStep({ enrolled, state, stop }) {
  if (!enrolled) return "answer.not_enrolled";
  if (!state || !state.operators || !state.operators.length) return "next.badge";
  if (stop && !stop.reason) return "next.stop";
  const status = state.job && state.job.status;
  if (!state.work_order || !status || status === "DONE") return "next.job";
  if (status === "READY") return "next.start";
  if (status === "PAUSED") return "next.resume";
  if (status === "RUNNING") return "next.report";
  return "next.job";
}

// -> {START: {enabled, primary}, ...}; nobody logged in or no job: every button disabled
export function buttons(state) {
  const job = (state && state.job) || {};
  const someone = Boolean(state && state.operators && state.operators.length);
  const allowed = someone && state.work_order ? ALLOWED[job.status] || [] : [];
  let primary = allowed[0] || null;
  if (job.status === "RUNNING") {
    primary = job.quantity && (job.good ?? 0) >= job.quantity ? "COMPLETE" : "QTY";
  }
  return Object.fromEntries(COMMANDS.map((c) => [c, {
    enabled: allowed.includes(c), primary: c === primary }]));
}

// The job's state once a command waiting in the outbox is done (shown while offline).
const AFTER = { START: "RUNNING", RESUME: "RUNNING", PAUSE: "PAUSED", COMPLETE: "DONE" };
export function expected(state, cmd) {
  const status = AFTER[cmd];
  if (!status || !state || !state.job) return state;
  return { ...state, job: { ...state.job, status } };
}
