"""The station page in a real browser (Debian's chromium through Playwright): scanner timing,
IME, focus, offline queue with a dropped answer and a reload, languages, touch sizes, layouts."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mes.alarms.models import AlarmCurrent
from mes.reporting.models import ScanRecord
from tests.mes.browser_support import ARGS, BARE_TEXT_JS, CHROMIUM, chromium, shot
from tests.mes.orders_support import intake, release_message
from tests.mes.scan_harness import plant_config, served
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for

#: the scanner's inter-key gap for these tests: above the input jitter of a machine shared by
#: many jobs (at a load average of 14 on 2 cores, keys typed 4 ms apart arrived over 150 ms
#: apart), below the 450 ms a key of the "person typing" test (the default is 50 ms)
SCANNER = {"maxGapMs": 220}
#: a person typing, ms per key
PERSON_MS = 450


class Mes:
    def __init__(self, base: str, engine: Engine, token: str, work_order: str) -> None:
        self.base, self.engine, self.token, self.work_order = base, engine, token, work_order

    def rows(self, code: str) -> list[ScanRecord]:
        with Session(self.engine) as s:
            q = select(ScanRecord).where(ScanRecord.station == "ws-10", ScanRecord.code == code)
            return list(s.exec(q))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def mes(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto) -> Iterator[Mes]:
    db = tmp_path_factory.mktemp("station") / "mes.db"
    with served(plant_config(f"sqlite:///{db}", mosquitto.url, debounce_s=2.0)) as (base, engine):
        admin = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "admin", "password": "admin-secret-1"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {admin}"}
        for badge in ("E1", "E2", "E3"):
            httpx.post(
                f"{base}/api/v1/operators", json={"badge": badge, "name": badge}, headers=auth
            )
        token = httpx.post(f"{base}/api/v1/stations/ws-10/enrol", headers=auth).json()[
            "access_token"
        ]
        result = intake(engine, release_message("PO-7", 50))
        assert result.work_order is not None
        yield Mes(base, engine, token, result.work_order)


def open_station(
    browser: Any, mes: Mes, width: int = 1280, height: int = 800, **storage: Any
) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(60_000)  # waits are conditions; a busy CI box may be slow
    items = {"sf.scanner": json.dumps(SCANNER), **storage}
    script = "".join(
        f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});" for k, v in items.items()
    )
    context.add_init_script(script)
    page = context.new_page()
    page.goto(f"{mes.base}/station/ws-10#token={mes.token}")
    page.wait_for_selector("body[data-ready='1']")
    return page


def scan(page: Any, code: str) -> None:
    page.keyboard.type(code, delay=4)
    page.keyboard.press("Enter")


def answer(page: Any) -> str:
    return str(page.locator("#answer").text_content() or "")


def wait_answer(page: Any, pattern: str, kind: str | None = None) -> None:
    try:
        _wait_answer(page, pattern, kind)
    except Exception as e:
        shown = page.evaluate("() => [answer.className, answer.textContent, queue.textContent]")
        raise AssertionError(f"waiting for {pattern!r} ({kind}), the page shows {shown}") from e


def _wait_answer(page: Any, pattern: str, kind: str | None) -> None:
    page.wait_for_function(
        "([p, k]) => { const a = document.getElementById('answer');"
        " return new RegExp(p).test(a.textContent) && (!k || a.className === k); }",
        arg=[pattern, kind],
        timeout=60_000,
    )


def test_scanner_module_unit_tests(browser: Any, mes: Mes) -> None:
    page = open_station(browser, mes)
    results = page.evaluate("async () => (await import('/static/js/scanner.test.js')).run()")
    assert len(results) >= 10
    assert [r for r in results if not r["ok"]] == []
    page.context.close()


def test_scan_anywhere_and_typing_is_not_a_scan(browser: Any, mes: Mes) -> None:
    page = open_station(browser, mes)
    assert "#token" not in page.url  # the token left the address bar
    sent: list[str] = []
    page.on(
        "request", lambda r: sent.append(r.post_data or "") if "/api/v1/scans" in r.url else None
    )
    # a person typing, then Enter: not a scan
    page.keyboard.type("HELLO", delay=PERSON_MS)
    page.keyboard.press("Enter")
    # a scan while the Start button has focus: read as a scan, Enter does not press Start
    page.focus("[data-cmd=START]")
    scan(page, "EMP:E1")
    wait_answer(page, "Logged in", "ok")
    assert [json.loads(s)["code"] for s in sent] == ["EMP:E1"]
    assert "E1" in str(page.locator("#operators").text_content())
    # the same code at once again: ignored, and shown so (not as a booking)
    scan(page, "EMP:E1")
    wait_answer(page, "twice", "ignored")
    shot(page, "station-ignored-double-scan")
    # a damaged label: the field opened on purpose takes typing at a person's pace
    page.click("#manual summary")
    page.click("#manual-code")
    page.keyboard.type("CMD:UNDO", delay=PERSON_MS // 4)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('answer').className === 'refused'")
    assert [json.loads(s)["code"] for s in sent] == ["EMP:E1", "EMP:E1", "CMD:UNDO"]
    page.context.close()


def test_ime_composition_is_ignored(browser: Any, mes: Mes) -> None:
    page = open_station(browser, mes)
    sent: list[str] = []
    page.on(
        "request", lambda r: sent.append(r.post_data or "") if "/api/v1/scans" in r.url else None
    )
    page.evaluate(
        "document.body.dispatchEvent(new CompositionEvent('compositionstart', {bubbles: true}))"
    )
    scan(page, "nihao")
    page.evaluate(
        "document.body.dispatchEvent(new CompositionEvent('compositionend', {bubbles: true}))"
    )
    scan(page, "EMP:E2")
    wait_answer(page, "Logged", "ok")
    assert [json.loads(s)["code"] for s in sent] == ["EMP:E2"]
    page.context.close()


def test_offline_dropped_answer_and_reload_keep_one_row(browser: Any, mes: Mes) -> None:
    page = open_station(browser, mes)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=60_000)
    # the first answer is lost on the wire: the MES booked it, the page never heard back
    dropped: list[str] = []

    def drop_once(route: Any) -> None:
        if dropped:
            route.continue_()
            return
        route.fetch()
        dropped.append(route.request.post_data or "")
        route.abort("connectionreset")

    page.route("**/api/v1/scans", drop_once)
    scan(page, "EMP:E3")
    wait_answer(page, "Logged in", "ok")
    assert len(dropped) == 1
    event_id = json.loads(dropped[0])["event_id"]
    rows = mes.rows("EMP:E3")
    assert [r.event_id for r in rows] == [event_id]
    page.unroute("**/api/v1/scans")
    # network down: the scan waits; a reload (served by the service worker) keeps it
    page.context.set_offline(True)
    scan(page, "EMP:E3")
    wait_answer(page, "Offline", "pending")
    assert "1" in str(page.locator("#queue").text_content())
    page.wait_for_function("() => document.getElementById('badge').className.includes('offline')")
    shot(page, "station-offline")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("() => document.getElementById('queue').textContent.includes('1')")
    page.context.set_offline(False)
    page.wait_for_function(
        "() => document.getElementById('queue').textContent === ''", timeout=60_000
    )
    wait_for(lambda: len(mes.rows("EMP:E3")) == 2, 10, "the replayed scan in the scan log")
    assert len({r.event_id for r in mes.rows("EMP:E3")}) == 2
    page.context.close()


def test_a_job_by_touch_in_chinese(browser: Any, mes: Mes) -> None:
    page = open_station(browser, mes, **{"sf.lang": "zh-CN"})
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator("[data-cmd=START]").text_content() == "开始"
    scan(page, "EMP:E2") if "E2" not in str(page.locator("#operators").text_content()) else None
    page.locator("#job-list button", has_text=mes.work_order).first.click()
    wait_answer(page, "已选择任务", "ok")
    page.click("[data-cmd=START]")
    wait_answer(page, "已开始", "ok")
    page.click("[data-cmd=QTY]")
    for k in "12":
        page.locator("#keypad button", has_text=re.compile(f"^{k}$")).click()
    shot(page, "station-keypad-zh")
    page.click("#dialog-ok")
    wait_answer(page, "良品已记入", "ok")
    assert page.locator("#good").text_content() == "12"
    page.click("[data-cmd=COMPLETE]")
    assert "12 / 50" in str(page.locator("#dialog-title").text_content())  # short: confirm
    page.click("#dialog-cancel")
    scan(page, "QTY:-3")
    wait_answer(page, ".", "refused")
    shot(page, "station-refused-zh")
    page.context.close()


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_layout_touch_targets_and_no_sideways_scroll(
    browser: Any, mes: Mes, width: int, height: int
) -> None:
    page = open_station(browser, mes, width, height)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    small = []
    for b in page.locator("button:visible, select:visible").all():
        box = b.bounding_box()
        if box["height"] < 64 or box["width"] < 64:
            small.append((b.text_content(), box))
    assert small == []
    shot(page, f"station-{width}x{height}")
    page.context.close()


def test_pseudo_locale_finds_no_hard_coded_text(browser: Any, mes: Mes) -> None:
    page = open_station(browser, mes, **{"sf.lang": "qps"})
    bare = page.evaluate(BARE_TEXT_JS)
    assert bare == []
    page.context.close()


def test_alarm_banner_by_priority_with_acknowledge(browser: Any, mes: Mes) -> None:
    now = datetime.now(UTC)
    with Session(mes.engine) as s:
        for name, priority in (("press-01.temp.lo", "low"), ("press-01.temp.hh", "high")):
            s.add(
                AlarmCurrent(
                    alarm=name,
                    state="active_unacked",
                    condition_active=True,
                    priority=priority,
                    area="stamping",
                    path="stamping/line1/c1",
                    workstation="ws-10",  # a station acts on its own workstation's alarms only
                    message=f"{name} out of range",
                    active_since=now,
                    changed_at=now,
                )
            )
        s.commit()
    page = open_station(browser, mes)
    rows = page.locator("#alarms .alarm")
    rows.first.wait_for()
    assert rows.count() == 2
    assert "press-01.temp.hh" in str(rows.nth(0).text_content())  # highest priority first
    assert "high" in str(rows.nth(0).get_attribute("class"))
    shot(page, "station-alarms")
    rows.nth(0).get_by_role("button").click()  # the station may acknowledge
    page.wait_for_function("() => !document.querySelector('#alarms .alarm.high button')")
    # acknowledged elsewhere: the alarm stream redraws the banner
    httpx.post(
        f"{mes.base}/api/v1/alarms/press-01.temp.lo/ack",
        json={"comment": "seen"},
        headers={"Authorization": f"Bearer {mes.token}"},
    ).raise_for_status()
    page.wait_for_function("() => !document.querySelector('#alarms .alarm button')", timeout=60_000)
    page.context.close()


def test_a_hanging_mes_is_shown_offline(browser: Any, mes: Mes) -> None:
    page = open_station(browser, mes)
    assert "offline" not in str(page.locator("#badge").get_attribute("class"))
    held: list[Any] = []
    page.route(
        "**/api/v1/**", lambda route: held.append(route)
    )  # the MES takes the request and never answers
    scan(page, "CMD:UNDO")
    page.wait_for_function(
        "() => document.getElementById('badge').className.includes('offline')", timeout=60_000
    )
    assert "1" in str(page.locator("#queue").text_content())
    page.context.close()


def test_a_replay_the_mes_refuses_needs_attention(browser: Any, mes: Mes) -> None:
    page = open_station(browser, mes)
    page.context.set_offline(True)
    scan(page, "SCRAP:99999:DENT")
    wait_answer(page, "Offline", "pending")
    page.context.set_offline(False)
    page.locator("#attention li").first.wait_for(timeout=60_000)
    assert "SCRAP:99999:DENT" in str(page.locator("#attention li").first.text_content())
    shot(page, "station-needs-attention")
    page.locator("#attention li button").last.click()  # remove it
    page.wait_for_function("() => document.getElementById('attention').hidden")
    page.context.close()


def test_the_queue_survives_a_browser_restart(browser: Any, mes: Mes, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    kind = browser.browser_type
    options: dict[str, Any] = {
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ARGS,
        "viewport": {"width": 1280, "height": 800},
    }
    context = kind.launch_persistent_context(str(profile), **options)
    context.set_default_timeout(60_000)
    context.add_init_script(
        f"localStorage.setItem('sf.scanner', {json.dumps(json.dumps(SCANNER))})"
    )
    page = context.new_page()
    page.goto(f"{mes.base}/station/ws-10#token={mes.token}")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=60_000)
    context.set_offline(True)
    scan(page, "EMP:E9")
    wait_answer(page, "Offline", "pending")
    context.close()  # the browser goes away with the scan still waiting
    assert mes.rows("EMP:E9") == []
    context = kind.launch_persistent_context(str(profile), **options)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{mes.base}/station/ws-10")
    page.wait_for_selector("body[data-ready='1']")
    wait_for(lambda: len(mes.rows("EMP:E9")) == 1, 20, "the scan kept across the restart")
    page.wait_for_function("() => document.getElementById('queue').textContent === ''")
    context.close()


def test_language_switch_on_the_page(browser: Any, mes: Mes) -> None:
    page = open_station(browser, mes)
    assert page.locator("[data-cmd=START]").text_content() == "Start"
    with page.expect_navigation():
        page.select_option("#lang", "zh-CN")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("[data-cmd=START]").text_content() == "开始"
    assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
    page.context.close()


def test_setup_by_touch_when_not_enrolled(browser: Any, mes: Mes) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{mes.base}/station/ws-10")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#setup").get_attribute("open") is not None
    assert "not enrolled" in answer(page)
    page.click("#cfg-token")
    page.keyboard.type(mes.token, delay=30)  # typed by hand: the field keeps its focus and text
    assert page.input_value("#cfg-token") == mes.token
    with page.expect_navigation():
        page.click("#cfg-save")
    page.wait_for_selector("body[data-ready='1']")
    assert answer(page) == ""
    assert page.locator("#badge").text_content() == "Online"
    context.close()
