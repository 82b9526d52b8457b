"""Runtime jobs: outbox retry and purge, stale-login cleanup at shift end (APScheduler)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from config.plant import Shifts
from mes.outbox.models import OutboxMessage
from mes.reporting.models import StationLogin
from mes.runtime import MesRuntime
from tests.mes.test_erp_flow import runtime_config


def test_scheduled_jobs(tmp_path, mosquitto):
    rt = MesRuntime(
        runtime_config(tmp_path, mosquitto.url),
        replica=f"j-{tmp_path.name}",
        shift_ends=("06:00", "14:00"),
    )
    rt.start_sync()
    try:
        jobs = {j.id: j for j in rt.scheduler.get_jobs()}
        assert set(jobs) == {"outbox-retry", "outbox-purge", "shift-end"}
        assert jobs["shift-end"].next_run_time.astimezone(UTC).hour in (6, 14)

        shift_end = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
        seen = []
        rt.on_shift_end(lambda session, at: seen.append(at))
        with rt.session() as s:
            s.add(
                StationLogin(
                    station="ws-10", badge="E1", logged_in_at=shift_end - timedelta(hours=7)
                )
            )
            s.add(
                StationLogin(
                    station="ws-10", badge="E2", logged_in_at=shift_end + timedelta(minutes=5)
                )
            )
            s.commit()
        rt.run_shift_end(shift_end)
        with rt.session() as s:
            assert [x.badge for x in s.exec(select(StationLogin)).all()] == ["E2"]
        assert seen == [shift_end]

        old = datetime.now(UTC) - timedelta(days=40)
        with rt.session() as s:
            s.add(
                OutboxMessage(
                    message_id="old-published",
                    kind="confirmation",
                    payload="{}",
                    created_at=old,
                    published_at=old,
                )
            )
            s.add(
                OutboxMessage(
                    message_id="recently-published",
                    kind="confirmation",
                    payload="{}",
                    created_at=old,
                    published_at=old + timedelta(days=20),
                )
            )
            s.commit()
        assert rt.purge_outbox() == 1
        with rt.session() as s:
            left = s.exec(select(OutboxMessage.message_id)).all()
        assert "old-published" not in left
        assert "recently-published" in left
    finally:
        rt.stop_sync()


def test_shift_ends_and_retry_come_from_the_plant_file_in_its_time_zone(tmp_path, mosquitto):
    cfg = runtime_config(tmp_path, mosquitto.url)
    mes = cfg.mes.model_copy(
        update={
            "shifts": Shifts(ends=["05:30"], timezone="Europe/Berlin"),
            "outbox_retry_s": 2.5,
        }
    )
    rt = MesRuntime(cfg.model_copy(update={"mes": mes}), replica=f"z-{tmp_path.name}")
    rt.start_sync()
    try:
        jobs = {j.id: j for j in rt.scheduler.get_jobs()}
        assert set(jobs) == {"outbox-retry", "outbox-purge", "shift-end"}
        assert jobs["outbox-retry"].trigger.interval.total_seconds() == 2.5
        # 05:30 on the plant's clock, whatever the server's zone (04:30 or 03:30 UTC)
        berlin = jobs["shift-end"].next_run_time.astimezone(ZoneInfo("Europe/Berlin"))
        assert (berlin.hour, berlin.minute) == (5, 30)
        assert jobs["shift-end"].next_run_time.astimezone(UTC).hour in (3, 4)
    finally:
        rt.stop_sync()


def test_the_shift_end_job_follows_the_shift_calendar_and_reschedules_itself(tmp_path, mosquitto):
    """A calendar shift (here the plant file's PRESS-less default: mes.shifts) ends, the hooks
    run with that end, and the next end of the calendar is scheduled."""
    cfg = runtime_config(tmp_path, mosquitto.url)
    mes = cfg.mes.model_copy(update={"shifts": Shifts(ends=["06:00", "18:00"], timezone="UTC")})
    rt = MesRuntime(cfg.model_copy(update={"mes": mes}), replica=f"c-{tmp_path.name}")
    rt.start_sync()
    try:
        seen = []
        rt.on_shift_end(lambda session, at: seen.append(at))
        end = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
        rt._shift_end_due(end)
        assert seen == [end]
        job = rt.scheduler.get_job("shift-end")
        assert job.next_run_time == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    finally:
        rt.stop_sync()
