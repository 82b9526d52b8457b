"""The station page's script, run by Node against the real MES: scans typed while the network is
down wait in the localStorage queue and reach the MES, once each, when it is back."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mes.scan_harness import add_user, plant_config, served
from tests.services.mosquitto import Mosquitto

SCRIPT = Path(__file__).resolve().parents[2] / "mes" / "ui" / "static" / "station.js"

# A minimal browser: elements, localStorage, timers we fire by hand, and fetch to the real
# server that can be switched "offline" (it then fails like a dropped network).
HARNESS = r"""
const [base, token, scriptPath] = process.argv.slice(2);
const elements = {};
const el = (id) => (elements[id] ||= {
  id, value: "", textContent: "", className: "", listeners: {},
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); },
  focus() {},
});
globalThis.document = { getElementById: el, addEventListener() {} };
globalThis.location = { pathname: "/station/ws-10", href: "", hash: "" };
globalThis.window = globalThis;
globalThis.history = { replaceState() {} };
const store = new Map();
globalThis.localStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
};
const timers = [];
globalThis.setInterval = (fn) => timers.push(fn);
let offline = true;
const sent = [];
const realFetch = fetch;
globalThis.fetch = async (url, opts = {}) => {
  if (offline) throw new TypeError("network down");
  if (opts.body) sent.push(JSON.parse(opts.body));
  return realFetch(base + url, opts);
};
localStorage.setItem("sf.token.ws-10", token);
require(scriptPath);
const tick = () => new Promise((r) => setTimeout(r, 20));
const type = async (code) => {
  const input = el("scan");
  input.value = code;
  const enter = { key: "Enter", target: input, preventDefault() {} };
  for (const fn of input.listeners.keydown) fn(enter);
  await tick();
};
(async () => {
  await type("EMP:E1");
  await type("EMP:E2");
  const queued = JSON.parse(localStorage.getItem("sf.queue.ws-10"));
  const offlineAnswer = el("answer").textContent;
  offline = false;
  for (let i = 0; i < 200 && JSON.parse(localStorage.getItem("sf.queue.ws-10")).length; i++) {
    timers[0]();
    await tick();
  }
  console.log(JSON.stringify({
    queued, offlineAnswer, sent,
    left: JSON.parse(localStorage.getItem("sf.queue.ws-10")),
    answer: el("answer").textContent, operators: el("operators").textContent,
    banner: el("queue").textContent,
  }));
})();
"""


@pytest.fixture
def station(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[str, str]]:
    with served(plant_config(f"sqlite:///{tmp_path}/mes.db", mosquitto.url)) as (base, engine):
        add_user(engine, "sup1", "supervisor", "sup-password")
        admin = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "admin", "password": "admin-secret-1"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {admin}"}
        for badge in ("E1", "E2"):
            httpx.post(
                f"{base}/api/v1/operators", json={"badge": badge, "name": badge}, headers=auth
            )
        token = httpx.post(f"{base}/api/v1/stations/ws-10/enrol", headers=auth).json()[
            "access_token"
        ]
        yield base, token


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_offline_queue_reaches_the_mes_once(station: tuple[str, str], tmp_path: Path) -> None:
    base, token = station
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    run = subprocess.run(
        ["node", str(harness), base, token, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    assert [q["code"] for q in out["queued"]] == ["EMP:E1", "EMP:E2"]
    assert "Offline" in out["offlineAnswer"]
    # sent once each, in order, with the event_ids given while offline
    assert [s["event_id"] for s in out["sent"]] == [q["event_id"] for q in out["queued"]]
    assert out["left"] == []
    assert out["banner"] == ""
    assert "E1" in out["operators"]
    assert "E2" in out["operators"]
    state = httpx.get(
        f"{base}/api/v1/stations/ws-10/state", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert [o["badge"] for o in state["operators"]] == ["E1", "E2"]
