// Two sounds an operator tells apart without looking: one rising beep for accepted, two low
// buzzes for refused. Web Audio, no files; muted state kept per device.
let ctx = null;
export const muted = () => localStorage.getItem("sf.muted") === "1";
export const setMuted = (m) => localStorage.setItem("sf.muted", m ? "1" : "0");

function tone(freq, start, length, type) {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.25, ctx.currentTime + start);
  gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + start + length);
  osc.connect(gain).connect(ctx.destination);
  osc.start(ctx.currentTime + start);
  osc.stop(ctx.currentTime + start + length);
}

export function play(kind) {
  if (muted() || !window.AudioContext) return;
  ctx ||= new AudioContext();
  if (kind === "ok") { tone(880, 0, 0.08, "sine"); tone(1320, 0.08, 0.1, "sine"); }
  else if (kind === "refused") { tone(220, 0, 0.18, "square"); tone(220, 0.25, 0.18, "square"); }
}
