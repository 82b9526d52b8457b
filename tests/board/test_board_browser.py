"""The supervisor board, the TV wall and the owner's page in Debian's chromium (Playwright):
a seeded plant with known orders, a live tile after a scan, a display token that cannot act,
roles, and the owner's phone page in Chinese without sideways scrolling."""

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.board import dashboard_stub
from tests.board.support import PASSWORD, Plant, finish_and_close, plant, seed, serve, shot
from tests.mes.browser_support import BARE_TEXT_JS
from tests.services.mosquitto import Mosquitto


@pytest.fixture(scope="module")
def mes(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto) -> Iterator[Plant]:
    db = tmp_path_factory.mktemp("board") / "mes.db"
    with serve(plant(f"sqlite:///{db}", mosquitto.url), stub=dashboard_stub.install) as (
        base,
        engine,
        app,
    ):
        yield seed(base, engine, app)


def open_page(
    browser: Any, url: str, storage: dict[str, str], width: int = 1280, height: int = 800
) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(60_000)
    script = "".join(
        f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});" for k, v in storage.items()
    )
    context.add_init_script(script)
    page = context.new_page()
    refused: list[str] = []  # the strict CSP refused something (an inline style, a script)
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.csp_refused = refused
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page


def open_board(browser: Any, mes: Plant, user: str, **kw: Any) -> Any:
    page = open_page(browser, f"{mes.base}/board", {"sf.board.token": mes.token(user)}, **kw)
    page.wait_for_selector("body[data-events]")
    return page


def order(page: Any, mes: Plant, erp: str) -> Any:
    return page.locator(f"li[data-order='{mes.orders[erp]}']")


def answered_ok(page: Any) -> None:
    """The answer to the page's own request: it comes on its own connection, the stream's
    change on another, in either order."""
    expect(page.locator("#answer")).to_have_class(re.compile(r"\bok\b"))


def test_the_board_shows_orders_by_state_with_risk_and_the_tiles(browser: Any, mes: Plant) -> None:
    page = open_board(browser, mes, "sup1")
    assert order(page, mes, "PO-ONTIME").count() == 1
    ontime = order(page, mes, "PO-ONTIME")
    assert "0010 Stamp at ws-10: 30 of 50" in str(ontime.text_content())
    assert "warn" not in str(ontime.get_attribute("class"))
    assert "At risk" in str(order(page, mes, "PO-RISK").text_content())
    assert "Late" in str(order(page, mes, "PO-LATE").text_content())
    heads = page.locator("h3.state-head").all_text_contents()
    assert [h.split(" (")[0] for h in heads] == ["Running", "Released", "On hold"]
    ws10 = page.locator("article[data-station='ws-10']")
    assert "Running" in str(ws10.text_content())
    assert ws10.locator(".tile-head .meta").text_content() == "Press work centre"
    assert "Li Wei" in str(ws10.text_content())
    figures = page.locator("#summary .figure-box strong").all_text_contents()
    assert [f.strip() for f in figures] == [
        "1",
        "1",
        "1",
        "1",
        "1",
        "1",
    ]  # at risk: not the late one
    ws20 = page.locator("article[data-station='ws-20']")
    assert "alarm" in str(ws20.get_attribute("class"))  # colour, and words with it:
    assert "Fault" in str(ws20.text_content())
    assert "no reason given" in str(ws20.text_content())
    assert "Active alarms: 1" in str(ws20.text_content())
    assert page.locator("#holds li[data-hold]").count() == 1
    # a supervisor holds, suspends and gives reasons; releasing a hold is quality's
    assert ontime.get_by_role("button", name="Hold").count() == 1
    assert ontime.get_by_role("button", name="Suspend").count() == 1
    assert ws20.get_by_role("button", name="Give reason").count() == 1
    assert page.locator("#holds").get_by_role("button", name="Release").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(page, "board-supervisor-1280x800")
    assert page.csp_refused == []
    page.context.close()


def test_a_tile_and_its_order_update_live_after_a_scan(browser: Any, mes: Plant) -> None:
    page = open_board(browser, mes, "sup1")
    page.evaluate("window.notReloaded = true")
    ws10 = page.locator("article[data-station='ws-10']")
    before = str(ws10.text_content())
    assert "30 of 50" in before
    mes.scan("QTY:7")
    page.wait_for_function(
        "() => document.querySelector(\"article[data-station='ws-10']\")"
        ".textContent.includes('37 of 50')",
        timeout=30_000,
    )
    assert page.evaluate("window.notReloaded") is True  # the stream, not a reload
    page.wait_for_function(
        "wo => document.querySelector(`li[data-order='${wo}']`).textContent.includes('37 of 50')",
        arg=mes.orders["PO-ONTIME"],
    )
    page.context.close()


def test_a_supervisor_gives_a_stop_reason_from_the_board(browser: Any, mes: Plant) -> None:
    page = open_board(browser, mes, "sup1")
    ws20 = page.locator("article[data-station='ws-20']")
    ws20.get_by_role("button", name="Give reason").click()
    page.select_option("#form select", "DIE")
    shot(page, "board-give-reason")
    expect(ws20).to_contain_text("no reason given")
    page.click("#form-ok")
    expect(ws20).to_contain_text("Die damaged", timeout=30_000)
    expect(ws20).not_to_contain_text("no reason given")
    answered_ok(page)
    page.context.close()


def test_the_tv_wall_reads_with_a_display_token_and_cannot_act(browser: Any, mes: Plant) -> None:
    page = open_page(browser, f"{mes.base}/board?tv=1#token={mes.display_token}", {}, 1920, 1080)
    page.wait_for_selector("body[data-events]")
    assert "#token" not in page.url  # the token left the address bar
    assert "tv" in str(page.locator("body").get_attribute("class"))
    assert page.locator("article.tile").count() == 2
    assert page.locator("main button:visible").count() == 0  # nothing to press
    size = page.locator("article[data-station='ws-10'] .tile-head strong").evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= 30  # read from across the hall
    # the token itself may change nothing, nor read beyond the board
    status = page.evaluate(
        """async ([token, wo]) => {
        const h = {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'};
        const hold = await fetch('/api/v1/holds', {method: 'POST', headers: h, body: JSON.stringify(
            {target: {kind: 'work_order', id: wo}, reason: 'from the TV'})});
        const suspend = await fetch(`/api/v1/work-orders/${wo}/suspend`, {method: 'POST',
            headers: h, body: JSON.stringify({reason: 'from the TV'})});
        const orders = await fetch('/api/v1/work-orders', {headers: h});
        return [hold.status, suspend.status, orders.status];
    }""",
        [mes.display_token, mes.orders["PO-ONTIME"]],
    )
    assert status == [403, 403, 403]
    shot(page, "board-tv-1920x1080")
    page.context.close()


def test_roles_on_the_board(browser: Any, mes: Plant) -> None:
    owner = {"Authorization": f"Bearer {mes.token('boss')}"}
    r = httpx.post(
        f"{mes.base}/api/v1/holds",
        json={"target": {"kind": "work_order", "id": mes.orders["PO-RISK"]}, "reason": "x"},
        headers=owner,
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{mes.base}/api/v1/board", headers=owner).status_code == 200
    assert httpx.get(f"{mes.base}/api/v1/board").status_code == 401
    page = open_board(browser, mes, "boss")
    assert page.locator("article.tile").count() == 2
    assert page.locator("main .row-actions button").count() == 0  # the owner only looks
    page.context.close()
    page = open_board(browser, mes, "qa1")
    held = page.locator("#holds li[data-hold]")
    assert held.count() >= 1
    assert "burr on edge" in str(held.first.text_content())
    assert held.first.get_by_role("button", name="Release").count() == 1
    ontime = order(page, mes, "PO-ONTIME")
    assert ontime.get_by_role("button", name="Suspend").count() == 0
    shot(page, "board-quality")
    # quality releases the hold from the board: the list and the order follow live
    held.first.get_by_role("button", name="Release").click()
    page.select_option("#form select", "use_as_is")
    page.fill("#form input[name=comment]", "burr within tolerance")
    page.click("#form-ok")
    page.wait_for_function("() => !document.querySelector('#holds li[data-hold]')")
    page.wait_for_function(
        "wo => !document.querySelector(`li[data-order='${wo}']`)"
        "  .closest('ul').previousElementSibling.textContent.startsWith('On hold')",
        arg=mes.orders["PO-HELD"],
    )
    answered_ok(page)
    page.context.close()


def test_the_board_in_chinese_and_the_pseudo_locale(browser: Any, mes: Plant) -> None:
    page = open_board(browser, mes, "sup1", **{"width": 1024, "height": 768})
    page.context.close()
    zh = open_page(
        browser,
        f"{mes.base}/board",
        {"sf.board.token": mes.token("sup1"), "sf.lang": "zh-CN"},
        1024,
        768,
    )
    zh.wait_for_selector("body[data-events]")
    assert zh.locator("#tiles-h").text_content() == "工位"
    # the tile's work centre by its Chinese name from the plant file, not its id
    meta = zh.locator("article[data-station='ws-10'] .tile-head .meta")
    assert meta.text_content() == "冲压工作中心"
    # an order's operation in work by the routing's Chinese name
    running = zh.locator("li.order[data-order]").filter(has_text="0010").first
    expect(running).to_contain_text("0010 冲压")
    expect(running).not_to_contain_text("Stamp")
    shot(zh, "board-zh-1024x768")
    zh.context.close()
    qps = open_page(
        browser, f"{mes.base}/board", {"sf.board.token": mes.token("sup1"), "sf.lang": "qps"}
    )
    qps.wait_for_selector("body[data-events]")
    bare = qps.evaluate(BARE_TEXT_JS)
    assert bare == []
    qps.context.close()


def _api(mes: Plant, token: str, path: str) -> Any:
    r = httpx.get(f"{mes.base}{path}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_owner_page_on_a_phone_in_chinese(browser: Any, mes: Plant) -> None:
    """Against the dashboard API when it is there (else the stub): the page shows its figures."""
    token = mes.token("boss")
    summary = _api(mes, token, "/api/v1/dashboard/summary?period=today&lang=zh-CN")
    late = _api(mes, token, "/api/v1/dashboard/orders?figure=late&period=today")
    page = open_page(browser, f"{mes.base}/owner", {"sf.lang": "zh-CN"}, 390, 844)
    assert page.locator("#login").is_visible()
    page.fill("#login-user", "boss")
    page.fill("#login-password", PASSWORD)
    page.click("#login-go")
    page.wait_for_selector("body[data-drawn]")
    assert page.locator("#on-time-h").text_content() == "交期达成率"
    rate = summary["on_time"]["rate"]
    shown = "–" if rate is None else f"{rate * 100:.1f}%"
    assert page.locator("#on-time-rate").text_content() == shown
    page.click(".definition summary")
    assert "到期" in str(page.locator("#on-time-definition").text_content())
    if summary["scrap_by_reason"]:
        page.wait_for_selector("#scrap-reason-chart canvas")
    if summary["oee_trend"]:
        page.wait_for_selector("#oee-chart canvas")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1]
    shot(page, "owner-390x844-zh")
    page.locator("#on-time-counts button").nth(2).click()  # the late orders
    page.wait_for_selector("#drill-list li:not(.meta)")  # answered, not "loading"
    listed = page.locator("#drill-list").text_content() or ""
    for order in late:
        assert order["work_order"] in listed
    shot(page, "owner-drill-late-zh")
    assert page.csp_refused == []  # ECharts draws under the strict CSP
    page.click("#drill-close")
    page.click("[data-period=range]")
    assert page.locator("#range").is_visible()
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1]
    page.context.close()


def test_a_refusal_on_a_chinese_board_is_in_chinese(browser: Any, mes: Plant) -> None:
    """Quality opens the release of a hold that someone releases meanwhile: the MES refuses
    (409 ILLEGAL_TRANSITION) and the zh-CN board says so in Chinese, the server's detail after
    it. Independent of order: its own hold, released by the end."""
    qa = {"Authorization": f"Bearer {mes.token('qa1')}"}
    placed = httpx.post(
        f"{mes.base}/api/v1/holds",
        json={"target": {"kind": "work_order", "id": mes.orders["PO-RISK"]}, "reason": "毛刺"},
        headers=qa,
    )
    assert placed.status_code == 201, placed.text
    hold = placed.json()["hold_id"]
    page = open_page(
        browser, f"{mes.base}/board", {"sf.board.token": mes.token("qa1"), "sf.lang": "zh-CN"}
    )
    row = page.locator(f"#holds li[data-hold='{hold}']")
    row.get_by_role("button", name="解除冻结").click()
    page.select_option("#form select", "use_as_is")
    released = httpx.post(
        f"{mes.base}/api/v1/holds/{hold}/release",
        json={"disposition": "use_as_is", "comment": "checked"},
        headers=qa,
    )
    assert released.status_code == 200, released.text
    page.click("#form-ok")
    answer = page.locator("#answer")
    expect(answer).to_have_class("refused")
    expect(answer).to_contain_text("当前状态下无法执行")
    expect(answer).to_contain_text(hold)  # the server's detail names the hold
    expect(answer).not_to_contain_text("被拒绝")  # not the old wrapper round English
    shot(page, "board-refusal-zh")
    page.context.close()


def test_a_finished_order_closed_by_the_erp_stays_listed_and_the_tile_says_done(
    browser: Any, mes: Plant
) -> None:
    """Last in the module: it finishes PO-ONTIME. The ERP acknowledges at once (as in the
    demo): the order is CLOSED, listed with the finished ones; the stations' tiles still show
    the job selected there, marked done."""
    wo = finish_and_close(mes, "PO-ONTIME")
    page = open_board(browser, mes, "sup1")
    heads = [h.split(" (")[0] for h in page.locator("h3.state-head").all_text_contents()]
    assert heads[-1] == "Closed"
    closed = order(page, mes, "PO-ONTIME")
    text = str(closed.text_content())
    assert "completed " in text
    assert "expected" not in text
    assert closed.get_by_role("button", name="Hold").count() == 0
    ws20 = str(page.locator("article[data-station='ws-20']").text_content())
    assert f"{wo} / 0020 (Done): 50 of 50" in ws20
    assert "(Done)" in str(page.locator("article[data-station='ws-10']").text_content())
    page.context.close()
