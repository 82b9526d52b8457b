// A refusal of the MES's API (an RFC 9457 problem+json document) in the page's language: the
// catalogue's text for its `code` (`problem.<code>`), with the server's detail after it where
// the detail names specifics (which order, which workstation). A code the catalogue does not
// know shows the server's own words, as before. Shared by the board, the Gantt and the owner's
// page.
import { keyed, t } from "./i18n.js";

// codes whose detail says no more than the catalogue's text
const PLAIN = new Set(["STARTING", "UNAUTHENTICATED", "INTERNAL_ERROR", "UNSTORABLE_VALUE"]);

// The catalogue's text of a problem document (and its detail), or null for a code it does not
// know (or no code).
export function knownProblem(body = {}) {
  const known = body && body.code ? keyed(`problem.${body.code}`, {}, null) : null;
  if (known === null) return null;
  const detail = PLAIN.has(body.code) ? "" : String(body.detail || "").trim();
  return detail ? t("answer.problem", { text: known, detail }) : known;
}

export function problemText(status, body = {}) {
  const known = knownProblem(body);
  if (known !== null) return known;
  if (status === 403) return t("answer.forbidden", { message: body.detail || "" });
  return t("answer.refused", { message: body.detail || body.title || String(status) });
}

// The problem document of a response that is not ok ({} for a body that is not JSON).
export const problemOf = (response) => response.json().catch(() => ({}));
