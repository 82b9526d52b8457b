"""The board's Gantt in Debian's chromium (Playwright) on the seeded plant with a second press:
the plan's bars on the right rows with the late ones marked (colour and a sign and words), the
breakdown; a drag to the other press locks the operation there and the new plan shows it where
it was dropped, live; refused drops say why; the keyboard does the same move; the TV's display
token cannot move anything; Chinese; a tablet at 1280 x 800 without sideways scrolling; what
the plan could not plan listed with why, in the page's language; a supervisor approves the plan
(and is refused a plan replaced meanwhile) and replans from the page; what the last plan
changed is summed up under its header and the moved bars are marked, for every reader but the
TV."""

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.board.support import Plant, plant, second_press, seed, serve, short_of_steel, shot
from tests.board.test_board_browser import open_page
from tests.board.test_gantt_api import bar, bearer, gantt, open_start, planned
from tests.mes.browser_support import BARE_TEXT_JS
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for


@pytest.fixture(scope="module")
def mes(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto) -> Iterator[Plant]:
    db = tmp_path_factory.mktemp("gantt") / "mes.db"
    cfg = plant(f"sqlite:///{db}", mosquitto.url, edit=second_press)
    with serve(cfg) as (base, engine, app):
        p = seed(base, engine, app)
        planned(p)
        yield p


def open_gantt(browser: Any, mes: Plant, user: str, lang: str = "en", **kw: Any) -> Any:
    storage = {"sf.board.token": mes.token(user), "sf.lang": lang}
    page = open_page(browser, f"{mes.base}/board?view=gantt", storage, **kw)
    page.wait_for_selector("body[data-gantt]")
    page.wait_for_selector(".g-bar")
    return page


def bar_at(page: Any, station: str, wo: str, op: str) -> Any:
    return page.locator(f".g-row[data-station='{station}'] .g-bar[data-wo='{wo}'][data-op='{op}']")


def lock_gone(mes: Plant, wo: str, op: str) -> None:
    wait_for(
        lambda: bar(gantt(mes, mes.display_token), wo, op)["locked_by"] is None,
        60,
        "the lock gone",
    )


def no_sideways_scroll(page: Any) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1]


def x_of(page: Any, station: str, at: datetime) -> float:
    """Where `at` is on `station`'s lane (the span the page shows is on #gantt)."""
    box = page.locator(f".g-lane[data-station='{station}']").bounding_box()
    span = page.locator("#gantt").evaluate("g => [Number(g.dataset.from), Number(g.dataset.to)]")
    return float(box["x"] + (at.timestamp() * 1000 - span[0]) / (span[1] - span[0]) * box["width"])


def drag(page: Any, node: Any, to_x: float, to_station: str) -> None:
    """Press on the bar's left edge (its setup start) and let go at `to_x` on another row."""
    box = node.bounding_box()
    row = page.locator(f".g-lane[data-station='{to_station}']").bounding_box()
    page.mouse.move(box["x"] + 3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(to_x + 3, row["y"] + row["height"] / 2, steps=12)
    page.mouse.up()


def test_the_gantt_shows_the_plan_on_its_rows_with_the_late_marked(
    browser: Any, mes: Plant
) -> None:
    page = open_gantt(browser, mes, "sup1")
    g = gantt(mes, mes.display_token)
    assert page.locator(".g-row:not(.g-axis)").evaluate_all(
        "rows => rows.map(r => r.dataset.station)"
    ) == ["ws-10", "ws-11", "ws-20"]
    for b in g["bars"]:
        assert bar_at(page, b["workstation"], b["work_order"], b["operation"]).count() == 1, b
    stamp = bar(g, mes.orders["PO-LATE"], "0010")
    late = bar_at(page, stamp["workstation"], mes.orders["PO-LATE"], "0010")
    assert "late" in str(late.get_attribute("class"))  # red, and a sign and words with it
    assert "\u2716" in str(late.text_content())
    assert "late" in str(late.get_attribute("aria-label"))
    assert mes.orders["PO-LATE"] in str(page.locator("#gantt-late").text_content())
    running = bar_at(page, "ws-10", mes.orders["PO-ONTIME"], "0010")
    assert "late" not in str(running.get_attribute("class"))
    assert "\u25b6" in str(running.text_content())
    assert "running" in str(running.get_attribute("aria-label"))
    assert "Stamp" in str(running.text_content())
    assert "BRKT-200" in str(running.text_content())
    oven = page.locator(".g-lane[data-station='ws-20'] .g-window.breakdown")
    assert "breakdown" in str(oven.text_content())
    assert page.locator(".g-lane[data-station='ws-10'] .g-now").count() == 1
    no_sideways_scroll(page)
    shot(page, "gantt-supervisor-1280x800")
    assert page.csp_refused == []
    page.context.close()


def test_a_drag_locks_the_operation_where_it_was_dropped(browser: Any, mes: Plant) -> None:
    page = open_gantt(browser, mes, "sup1")
    page.evaluate("window.notReloaded = true")
    risk = mes.orders["PO-RISK"]
    # the plan the page draws (a replan of the floor may come between the page and the API)
    seen: list[dict[str, Any]] = []

    def drawn() -> bool:
        seen[:] = [gantt(mes, mes.display_token)]
        return bool(page.evaluate("Number(document.body.dataset.gantt)") == seen[0]["plan"]["id"])

    wait_for(drawn, 30, "the page drawing the current plan")
    g = seen[0]
    moved = bar(g, risk, "0010")
    other = "ws-11" if moved["workstation"] == "ws-10" else "ws-10"  # the other press
    length = datetime.fromisoformat(moved["end"]) - datetime.fromisoformat(moved["setup_start"])
    at = open_start(g, other, length + timedelta(minutes=30))
    before = g["plan"]["id"]
    node = bar_at(page, moved["workstation"], risk, "0010")
    drag(page, node, x_of(page, other, at), other)
    # the new plan arrives through the board's stream: the bar stays where it was put, locked
    page.wait_for_selector(
        f".g-row[data-station='{other}'] .g-bar[data-wo='{risk}'][data-op='0010']"
        "[data-pin='locked']",
        timeout=60_000,
    )
    page.wait_for_function(f"() => Number(document.body.dataset.gantt) > {before}")
    assert page.evaluate("window.notReloaded") is True
    after = gantt(mes, mes.display_token)
    slot = bar(after, risk, "0010")
    assert (slot["workstation"], slot["pin"]) == (other, "locked")
    assert datetime.fromisoformat(slot["setup_start"]) == at  # where it was dropped
    answer = page.locator("#answer")
    assert "ok" in str(answer.get_attribute("class"))
    assert "New plan" in str(answer.text_content())
    shot(page, "gantt-after-drag")
    page.context.close()


def test_a_refused_drop_says_why(browser: Any, mes: Plant) -> None:
    page = open_gantt(browser, mes, "sup1")
    g = gantt(mes, mes.display_token)
    risk, ontime = mes.orders["PO-RISK"], mes.orders["PO-ONTIME"]
    assert bar(g, risk, "0020")["eligible"] == ["ws-20"]
    node = bar_at(page, "ws-20", risk, "0020")
    drag(page, node, node.bounding_box()["x"] + 20, "ws-10")  # a press cannot cure
    answer = page.locator("#answer")
    page.wait_for_function("() => document.querySelector('#answer').className === 'refused'")
    assert "ws-10 cannot run" in str(answer.text_content())
    assert "ws-20" in str(answer.text_content())
    assert node.evaluate("n => n.style.transform") == ""  # back, and the answer says why
    shot(page, "gantt-refused-drop")
    running = bar_at(page, "ws-10", ontime, "0010")
    box = running.bounding_box()
    drag(page, running, box["x"] + 80, "ws-11")
    page.wait_for_function(
        "() => document.querySelector('#answer').textContent.includes('is running')"
    )
    assert all(
        b["pin"] != "locked"
        for b in gantt(mes, mes.display_token)["bars"]
        if b["work_order"] in (ontime,) or b["operation"] == "0020"
    )
    page.context.close()


def test_the_keyboard_moves_a_bar_too(browser: Any, mes: Plant) -> None:
    page = open_gantt(browser, mes, "sup1")
    late = mes.orders["PO-LATE"]
    g = gantt(mes, mes.display_token)
    taken = [b for b in g["bars"] if b["workstation"] == "ws-11"]
    last = max((datetime.fromisoformat(b["end"]) for b in taken), default=None)
    moved = bar(g, late, "0010")
    length = datetime.fromisoformat(moved["end"]) - datetime.fromisoformat(moved["setup_start"])
    at = open_start(g, "ws-11", length + timedelta(minutes=30))
    if last is not None:
        while at < last + timedelta(minutes=30):
            at = open_start(
                {**g, "now": (at + timedelta(minutes=15)).isoformat()},
                "ws-11",
                length + timedelta(minutes=30),
            )
    node = bar_at(page, moved["workstation"], late, "0010")
    node.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#form[open]")
    page.select_option("#form select[name=station]", "ws-11")
    local = page.evaluate(
        "ms => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16)",
        at.timestamp() * 1000,
    )
    page.fill("#form input[name=start]", local)
    shot(page, "gantt-move-form")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_selector(
        f".g-row[data-station='ws-11'] .g-bar[data-wo='{late}'][data-op='0010'][data-pin='locked']",
        timeout=60_000,
    )
    slot = bar(gantt(mes, mes.display_token), late, "0010")
    assert datetime.fromisoformat(slot["setup_start"]) == at
    # the same form lets the slot go again: the planner places it where it fits
    locked = bar_at(page, "ws-11", late, "0010")
    locked.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#form[open]")
    page.select_option("#form select[name=action]", "unlock")
    page.click("#form-ok")
    page.wait_for_function(
        "wo => !document.querySelector("
        "  `.g-bar[data-wo='${wo}'][data-op='0010'][data-pin='locked']`)",
        arg=late,
        timeout=60_000,
    )
    assert bar(gantt(mes, mes.display_token), late, "0010")["pin"] != "locked"
    assert "unlocked" in str(page.locator("#answer").text_content())
    page.context.close()


def test_a_move_the_plan_cannot_keep_says_why(browser: Any, mes: Plant) -> None:
    """Into the oven's breakdown: the lock is taken, the planner places the cure after the
    breakdown, and the page says so instead of leaving the bar where it was dropped."""
    page = open_gantt(browser, mes, "sup1")
    ontime = mes.orders["PO-ONTIME"]
    g = gantt(mes, mes.display_token)
    down = next(w for w in g["windows"] if (w["workstation"], w["kind"]) == ("ws-20", "breakdown"))
    at = datetime.fromisoformat(g["now"]).replace(second=0, microsecond=0) + timedelta(minutes=10)
    assert at + timedelta(minutes=5) < datetime.fromisoformat(down["end"])  # inside it
    node = bar_at(page, "ws-20", ontime, "0020")
    node.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#form[open]")
    local = page.evaluate(
        "ms => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16)",
        at.timestamp() * 1000,
    )
    page.fill("#form input[name=start]", local)
    page.click("#form-ok")
    page.wait_for_function(
        "() => document.querySelector('#answer').textContent.includes('could not keep')",
        timeout=60_000,
    )
    assert "refused" in str(page.locator("#answer").get_attribute("class"))
    shot(page, "gantt-lock-not-kept")
    cure = bar(gantt(mes, mes.display_token), ontime, "0020")
    assert datetime.fromisoformat(cure["setup_start"]) >= datetime.fromisoformat(down["end"])
    # the plan's notice in the page's language, from its key (the English text otherwise)
    zh = open_gantt(browser, mes, "sup1", lang="zh-CN")
    notices = str(zh.locator("#gantt-notices").text_content())
    assert f"工单 {ontime} 工序 0020：已锁定在 ws-20 上" in notices
    assert "的时段已放不下，已重新排产" in notices
    shown = zh.evaluate(
        """async () => {
        const { noticeText } = await import('/static/js/gantt.js');
        const n = (key, params) => (
            { message: 'as written', message_key: key, message_params: params });
        return [noticeText(n('plan.notice.unknown_workstation',
                             { order: 'W1', operation: '0010', workstation: 'X' })),
                noticeText(n(null, {})), noticeText(n('plan.notice.not_a_key', {}))];
    }"""
    )
    assert shown == ["工单 W1 工序 0010：未知工位 'X'，已忽略", "as written", "as written"]
    zh.context.close()
    # the lock stays (each plan says it cannot keep it) until the supervisor lets it go
    node.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#form[open]")
    page.select_option("#form select[name=action]", "unlock")
    page.click("#form-ok")
    page.wait_for_function(
        "() => document.querySelector('#answer').textContent.includes('unlocked')"
    )
    lock_gone(mes, ontime, "0020")
    page.context.close()


def test_the_tv_wall_shows_the_gantt_and_cannot_move_it(browser: Any, mes: Plant) -> None:
    page = open_page(
        browser, f"{mes.base}/board?tv=1&view=gantt#token={mes.display_token}", {}, 1920, 1080
    )
    page.wait_for_selector(".g-bar")
    before = gantt(mes, mes.display_token)
    assert page.locator("#gantt-view button:visible").count() == 0  # nothing to press
    # nor approve and replan; the display token may not read the plan API's diff (`read`): no
    # summary of what the last plan changed, no moved bars marked
    expect(page.locator("#gantt-actions button")).to_have_count(0)
    expect(page.locator("#gantt-diff")).to_be_hidden()
    expect(page.locator(".g-bar.moved")).to_have_count(0)
    expect(page.locator("#gantt-legend .g-key.moved")).to_have_count(0)
    diff = httpx.get(f"{mes.base}/api/v1/schedule/diff", headers=bearer(mes.display_token))
    assert diff.status_code == 403
    risk = mes.orders["PO-RISK"]
    node = page.locator(f".g-bar[data-wo='{risk}'][data-op='0020']")
    where = "n => [n.parentElement.dataset.station, n.style.left, n.style.transform]"
    placed = node.evaluate(where)
    box = node.bounding_box()
    page.mouse.move(box["x"] + 3, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] - 80, steps=8)
    page.mouse.up()
    assert node.evaluate(where) == placed  # it did not move
    assert "only a supervisor" in str(page.locator("#answer").text_content())
    status = page.evaluate(
        """async ([token, wo]) => {
        const r = await fetch('/api/v1/schedule/lock', {method: 'POST', headers: {
            'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'},
            body: JSON.stringify({work_order: wo, operation: '0020'})});
        return r.status;
    }""",
        [mes.display_token, risk],
    )
    assert status == 403
    assert gantt(mes, mes.display_token)["plan"]["id"] == before["plan"]["id"]
    no_sideways_scroll(page)
    shot(page, "gantt-tv-1920x1080")
    page.context.close()


def test_the_gantt_in_chinese_and_the_pseudo_locale(browser: Any, mes: Plant) -> None:
    page = open_gantt(browser, mes, "sup1", lang="zh-CN")
    assert page.locator("#gantt-h").text_content() == "按工位排产计划"
    assert page.locator("[data-view=gantt]").text_content() == "计划（甘特图）"
    assert "订单延期" in str(page.locator("#gantt-legend").text_content())
    late = page.locator(f".g-bar[data-wo='{mes.orders['PO-LATE']}'][data-op='0020']")
    assert "延期" in str(late.get_attribute("aria-label"))
    assert "冲压" in str(page.locator(".g-bar[data-op='0010']").first.text_content())
    row_name = ".g-row[data-station='{}'] .meta"
    expect(page.locator(row_name.format("ws-10"))).to_have_text("1号冲压机")
    expect(page.locator(row_name.format("ws-11"))).to_have_text("Press 2")  # no Chinese name
    no_sideways_scroll(page)
    shot(page, "gantt-zh-1280x800")
    page.context.close()
    qps = open_gantt(browser, mes, "sup1", lang="qps")
    assert qps.evaluate(BARE_TEXT_JS) == []
    qps.context.close()


def test_a_supervisor_raises_an_orders_priority_from_the_board(browser: Any, mes: Plant) -> None:
    storage = {"sf.board.token": mes.token("sup1"), "sf.lang": "en"}
    page = open_page(browser, f"{mes.base}/board", storage)
    page.wait_for_selector("body[data-events]")
    row = page.locator(f"li[data-order='{mes.orders['PO-RISK']}']")
    row.get_by_role("button", name="Priority").click()
    page.fill("#form input[name=priority]", "9")
    page.fill("#form input[name=reason]", "customer line down")
    page.click("#form-ok")
    page.wait_for_function(
        "wo => document.querySelector(`li[data-order='${wo}']`).textContent.includes('priority 9')",
        arg=mes.orders["PO-RISK"],
    )
    assert "ok" in str(page.locator("#answer").get_attribute("class"))
    r = httpx.get(
        f"{mes.base}/api/v1/board", headers={"Authorization": f"Bearer {mes.display_token}"}
    )
    assert (
        next(o for o in r.json()["orders"] if o["work_order"] == mes.orders["PO-RISK"])["priority"]
        == 9
    )
    page.context.close()


def replan(mes: Plant, token: str) -> int:
    """A new plan through the API (as another supervisor's page would ask); its id."""
    r = httpx.post(f"{mes.base}/api/v1/schedule/replan", headers=bearer(token), timeout=120)
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def shows_plan_from(page: Any, plan: int) -> None:
    """The page draws `plan` or a newer one (the floor may replan on its own meanwhile)."""
    page.wait_for_function(f"() => Number(document.body.dataset.gantt) >= {plan}", timeout=60_000)


def test_a_supervisor_approves_the_plan_from_the_gantt(browser: Any, mes: Plant) -> None:
    page = open_gantt(browser, mes, "sup1")
    other = open_gantt(browser, mes, "qa1")  # another open board: the stream brings the approval
    approve = page.get_by_role("button", name="Approve plan")
    answer = page.locator("#answer")
    for _ in range(3):  # a plan the floor made meanwhile is refused (next test): again
        shows_plan_from(page, replan(mes, mes.token("sup1")))  # a plan nobody approved yet
        expect(approve).to_be_enabled()
        shown = int(page.evaluate("document.body.dataset.gantt"))
        approve.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#form[open] #form-title")).to_have_text(
            f"Approve plan {shown}? It is published again, marked approved."
        )
        page.evaluate("() => { document.querySelector('#answer').textContent = ''; }")
        page.click("#form-ok")
        expect(answer).to_have_text(re.compile(r"approved\.$|^Not approved"))
        if answer.text_content() == f"Plan {shown} approved.":
            break
    expect(answer).to_have_text(f"Plan {shown} approved.")
    assert "ok" in str(answer.get_attribute("class"))
    header = page.locator("#gantt-plan")
    if int(page.evaluate("document.body.dataset.gantt")) == shown:  # not replaced since
        expect(header).to_contain_text(f"Plan {shown} of")
        expect(header).to_contain_text("approved by user:sup1")
        expect(approve).to_be_disabled()
    if int(other.evaluate("document.body.dataset.gantt")) <= shown:  # not replaced since
        expect(other.locator("#gantt-plan")).to_contain_text("approved by user:sup1")
    other.context.close()
    plans = httpx.get(f"{mes.base}/api/v1/schedule/history", headers=bearer(mes.token("sup1")))
    approved = next(p for p in plans.json() if p["id"] == shown)
    assert approved["approved_by"] == "user:sup1"
    shot(page, "gantt-approved")
    page.context.close()


def test_approving_a_plan_replaced_meanwhile_is_refused(browser: Any, mes: Plant) -> None:
    page = open_gantt(browser, mes, "sup1")
    token = mes.token("sup1")
    shows_plan_from(page, replan(mes, token))
    approve = page.get_by_role("button", name="Approve plan")
    expect(approve).to_be_enabled()
    shown = int(page.evaluate("document.body.dataset.gantt"))
    approve.click()
    expect(page.locator("#form[open] #form-title")).to_contain_text(f"Approve plan {shown}?")
    newer = replan(mes, token)  # while the supervisor reads the question
    shows_plan_from(page, newer)  # the stream brings the new plan behind the dialog
    page.click("#form-ok")  # approves the plan the question named
    answer = page.locator("#answer")
    expect(answer).to_contain_text(f"Not approved: plan {shown} is not the current plan")
    expect(answer).to_contain_text("The Gantt now shows the current plan")
    assert "refused" in str(answer.get_attribute("class"))
    current = gantt(mes, mes.display_token)["plan"]
    assert current["id"] >= newer
    assert current["approved_by"] is None
    expect(page.locator("#gantt-plan")).to_contain_text(f"Plan {current['id']} of")
    expect(page.locator("#gantt-plan")).not_to_contain_text("approved by")
    expect(approve).to_be_enabled()  # the current plan is the one to approve now
    shot(page, "gantt-approve-superseded")
    page.context.close()


def test_replan_now_draws_the_new_plan(browser: Any, mes: Plant) -> None:
    page = open_gantt(browser, mes, "sup1")
    before = int(page.evaluate("document.body.dataset.gantt"))
    held: list[Any] = []  # the request waits until the test has seen the progress
    page.route("**/api/v1/schedule/replan", lambda route: held.append(route))
    again = page.get_by_role("button", name="Replan now")
    again.focus()
    page.keyboard.press("Enter")
    busy = page.locator("#gantt-replan")
    expect(busy).to_have_attribute("aria-busy", "true")
    expect(busy).to_be_disabled()
    expect(busy).to_have_text("Planning…")
    expect(page.locator("#answer")).to_contain_text("Planning again")
    # (an evaluate lets Playwright hand the request to the route meanwhile)
    wait_for(lambda: page.evaluate("() => true") and bool(held), 30, "the replan request")
    held[0].continue_()
    answer = page.locator("#answer")
    expect(answer).to_have_text(re.compile(r"^New plan \d+ "), timeout=120_000)
    made = int(re.findall(r"\d+", str(answer.text_content()))[0])
    assert made > before
    shows_plan_from(page, made)
    expect(page.locator("#gantt-plan")).to_contain_text(
        f"Plan {page.evaluate('document.body.dataset.gantt')} of"
    )
    expect(page.get_by_role("button", name="Replan now")).to_be_enabled()
    expect(busy).to_have_attribute("aria-busy", "false")
    page.unroute("**/api/v1/schedule/replan")
    page.context.close()


def test_what_the_last_plan_changed_is_summed_up_and_marked(browser: Any, mes: Plant) -> None:
    """A lock moves an operation to the other press: the plan made around it says so under
    its header, and the bars it moved carry the sign and the outline."""
    page = open_gantt(browser, mes, "sup1")
    token = mes.token("sup1")
    late = mes.orders["PO-LATE"]
    g = gantt(mes, mes.display_token)
    moved = bar(g, late, "0010")
    other = "ws-11" if moved["workstation"] == "ws-10" else "ws-10"
    length = datetime.fromisoformat(moved["end"]) - datetime.fromisoformat(moved["setup_start"])
    ends = [datetime.fromisoformat(b["end"]) for b in g["bars"] if b["workstation"] == other]
    last = max([datetime.fromisoformat(g["now"]), *ends])  # after the other press's bars
    at = open_start({**g, "now": last.isoformat()}, other, length + timedelta(minutes=30))
    r = httpx.post(
        f"{mes.base}/api/v1/schedule/lock",
        json={
            "work_order": late,
            "operation": "0010",
            "workstation": other,
            "start": at.isoformat(),
        },
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    shows_plan_from(page, g["plan"]["id"] + 1)
    seen: list[Any] = []

    def drawn() -> bool:  # the page and the API on the same plan, the one that moved it
        d = httpx.get(f"{mes.base}/api/v1/schedule/diff", headers=bearer(token)).json()
        shown = page.evaluate(
            """() => ({plan: Number(document.body.dataset.gantt),
                       summary: document.querySelector('#gantt-diff').textContent,
                       moved: [...document.querySelectorAll('.g-bar[data-moved=true]')]
                         .map(b => `${b.dataset.wo}/${b.dataset.op}`).sort()})"""
        )
        seen[:] = [d, shown]
        return bool(shown["plan"] == d["plan"] and f"{late}/0010" in shown["moved"])

    wait_for(drawn, 60, "the page marking what the plan moved")
    d, shown = seen
    assert shown["moved"] == sorted(f"{m['work_order']}/{m['operation']}" for m in d["moved"])
    assert shown["summary"] == (
        f"Since plan {d['previous']}, operations: {len(d['moved'])} moved (marked ↔), "
        f"{len(d['added'])} added, {len(d['removed'])} removed, {d['kept']} unchanged."
    )
    node = page.locator(f".g-bar[data-wo='{late}'][data-op='0010']")
    expect(node).to_have_class(re.compile(r"\bmoved\b"))
    expect(node.locator(".g-signs")).to_contain_text("↔")  # a sign, not the outline alone
    expect(node).to_have_attribute("aria-label", re.compile(r"moved since plan \d+"))
    expect(page.locator("#gantt-legend .g-key.moved")).to_have_text("↔ moved by the last replan")
    texts = page.evaluate(
        """async () => {
        const { diffText } = await import('/static/js/gantt.js');
        const d = (previous, moved) => ({ plan: 9, previous, moved, added: [], removed: [],
                                          kept: 1200 });
        return [diffText(d(null, [])), diffText(d(8, [])), diffText(d(8, [{}, {}])),
                diffText(null)];
    }"""
    )
    assert texts == [
        "The first plan: nothing to compare with.",
        "Since plan 8: no operation moved, added or removed.",
        "Since plan 8, operations: 2 moved (marked ↔), 0 added, 0 removed, 1,200 unchanged.",
        "",
    ]
    shot(page, "gantt-what-changed")
    # readers without work_order.admin see it too, without the buttons
    for user in ("qa1", "boss"):
        reader = open_gantt(browser, mes, user)
        expect(reader.locator("#gantt-diff")).to_contain_text("Since plan")
        expect(reader.locator(".g-bar.moved").first).to_be_visible()
        expect(reader.locator("#gantt-actions button")).to_have_count(0)
        reader.context.close()
    zh = open_gantt(browser, mes, "qa1", lang="zh-CN")
    expect(zh.locator("#gantt-diff")).to_contain_text("相比")
    zh.context.close()
    r = httpx.post(
        f"{mes.base}/api/v1/schedule/unlock",
        json={"work_order": late, "operation": "0010"},
        headers=bearer(token),
    )
    assert r.status_code == 204, r.text
    lock_gone(mes, late, "0010")
    page.context.close()


def test_what_the_plan_could_not_plan_is_listed_with_why(browser: Any, mes: Plant) -> None:
    """Last in the module: the order short of steel stays unplanned."""
    page = open_gantt(browser, mes, "sup1")
    expect(page.locator("#gantt-unplanned")).to_be_hidden()  # nothing to list yet
    short = short_of_steel(mes)
    section = page.get_by_role("region", name="Not planned")
    # the new plan reaches the open page through the board's stream
    item = section.get_by_role("listitem")
    expect(item).to_have_count(1, timeout=60_000)
    expect(item).to_have_attribute("data-wo", short)
    expect(item).to_contain_text(f"Work order {short}, operation 0010: material 'STEEL-2MM'")
    expect(item).to_contain_text("never arrives in the quantity needed (3,000 needed, 44 left")
    expect(page.locator("#gantt-unplanned-h")).to_have_text("Not planned: 1")
    expect(page.locator(f".g-bar[data-wo='{short}']")).to_have_count(0)
    expect(page.locator(f".g-bar[data-wo='{mes.orders['PO-RISK']}']")).to_have_count(2)
    no_sideways_scroll(page)
    shot(page, "gantt-not-planned")
    page.context.close()

    zh = open_gantt(browser, mes, "sup1", lang="zh-CN")
    item = zh.get_by_role("region", name="未排产").get_by_role("listitem")
    expect(item).to_have_text(
        f"工单 {short} 工序 0010：物料 'STEEL-2MM' 的库存和预计到货不够"
        "（需要 3,000，库存与预计到货剩余 44）"
    )
    expect(zh.locator("#gantt-unplanned-h")).to_have_text("未排产：1")
    shown = zh.evaluate(
        """async () => {
        const { unplannedText } = await import('/static/js/gantt.js');
        const e = (operation, key) => ({ work_order: 'W1', operation, reason: 'as written',
                                          reason_key: key, reason_params: {} });
        return [unplannedText(e('0010', 'plan.error.no_workstation')),
                unplannedText(e(null, null)), unplannedText(e('0020', 'plan.error.not_a_key'))];
    }"""
    )
    assert shown == [
        "工单 W1 工序 0010：没有工位能做此工序",
        "工单 W1：as written",  # a plan stored before reasons had keys: the English reason
        "工单 W1 工序 0020：as written",
    ]
    shot(zh, "gantt-not-planned-zh")
    zh.context.close()
    qps = open_gantt(browser, mes, "sup1", lang="qps")
    expect(qps.locator("#gantt-unplanned-list li")).to_have_count(1)
    assert qps.evaluate(BARE_TEXT_JS) == []
    qps.context.close()
