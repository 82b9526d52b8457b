// What the board and the owner's page share as they open: the language (the person's choice,
// else the plant's default `mes.language`, else the browser's), its texts, the language switch
// and the logout button.
import { load, pick, translate, LANGUAGES } from "./i18n.js";

const $ = (id) => document.getElementById(id);

export async function setUp(session) {
  const plant = document.querySelector("meta[name=plant-language]").content;
  const lang = pick(LANGUAGES.includes(plant) ? plant : "en");
  await load(LANGUAGES.includes(lang) || lang === "qps" ? lang : "en");
  translate();
  $("lang").value = lang;
  $("lang").addEventListener("change", () => {
    localStorage.setItem("sf.lang", $("lang").value);
    location.reload();
  });
  $("logout").addEventListener("click", async () => { await session.logout(); location.reload(); });
  return lang;
}

export function show(kind, text) {
  const a = $("answer");
  a.className = kind;
  a.textContent = text;
}
