"""The app driven by the scheduler's virtual clock: scheduled evaluations fire alerts that
reach both fake platforms; /healthz reasons; the startup message lists what is firing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from bot.config.app import HealthSettings
from bot.config.settings import load_settings
from bot.runtime import jobs
from bot.runtime.app import BotApp
from bot.runtime.health import check_health, missed_evaluations
from bot.runtime.scheduler import Scheduler
from bot.storage.store import Store, utcnow
from signals import calendar

ROOT = Path(__file__).resolve().parents[3]


def _settings(tmp_path: Path):
    rules = (ROOT / "config" / "rotation.yaml").read_text(encoding="utf-8")
    rules = rules[rules.index("\nrules:") :]
    path = tmp_path / "rotation.yaml"
    path.write_text(
        f"""\
data: {{source: demo, demo_end: "2026-10-30"}}
database_url: sqlite:///{tmp_path / "bot.db"}
destinations:
  - {{platform: telegram, chat_id: "-1001"}}
  - {{platform: slack, channel: "C0001"}}
admins: {{telegram: [77]}}
"""
        + rules,
        encoding="utf-8",
    )
    return load_settings(path)


def test_scheduled_evaluations_reach_both_platforms(tmp_path, telegram_env, slack_env) -> None:
    settings = _settings(tmp_path)

    async def scenario() -> list:
        now = [calendar.close_time("2026-06-01").to_pydatetime() + timedelta(minutes=30)]
        app = BotApp(settings, clock=lambda: now[0])
        await app.open()
        scheduler = Scheduler(settings.schedule, jobstore_url=None, clock=lambda: now[0])
        jobs.set_runtime(app, lambda: now[0])
        try:
            first = await scheduler.start_virtual(now[0], catch_up=True)  # silent first start
            assert first[0].result.outcome == "initialized"
            # the clock moves to 16:31 New York each session; the trigger fires at 16:30
            runs = []
            for day in calendar.sessions("2026-06-02", "2026-07-16"):
                now[0] = calendar.close_time(day).to_pydatetime() + timedelta(minutes=31)
                runs += await scheduler.run_due(now[0], names=[jobs.EVALUATE])
            return runs
        finally:
            jobs.set_runtime(None)
            await app.close()

    runs = asyncio.run(scenario())
    sessions = calendar.sessions("2026-06-02", "2026-07-16")
    assert [r.result.as_of for r in runs] == [d.date() for d in sessions]  # one run per session
    fired = [a for r in runs for a in r.result.alerts if a.transition == "fired"]
    assert fired
    tg, sl = telegram_env.delivered("-1001"), slack_env.delivered("C0001")
    alert_runs = [r for r in runs if any(a.transition == "fired" for a in r.result.alerts)]
    assert len(tg) >= len(alert_runs) and len(sl) >= len(alert_runs)
    for item in fired:  # every fired rule's message reached both platforms
        assert any(item.rule_id in m.text for m in tg), item.rule_id
        assert any(item.rule_id in str(m.params) for m in sl), item.rule_id


def test_health_reasons(tmp_path) -> None:
    settings = _settings(tmp_path)
    store = Store(settings.database_url)
    cfg = HealthSettings(max_dead_letter_age_hours=0)
    health = check_health(store, cfg)
    assert not health.ok and "no evaluation has run yet" in health.reasons

    app = BotApp(settings, store=store)
    result = asyncio.run(app.refresh_and_evaluate(utcnow()))
    assert result is not None
    assert check_health(store, cfg).ok
    # three sessions' evaluations later, still nothing ran: unhealthy
    later = check_health(store, cfg, now=utcnow() + timedelta(days=6))
    assert not later.ok and "scheduled evaluation(s) missed" in later.reasons[0]


def test_weekends_and_holidays_miss_no_evaluation() -> None:
    def at(text: str) -> datetime:
        return pd.Timestamp(text, tz="America/New_York").to_pydatetime()

    friday_run = at("2026-11-20 16:31")
    # the weekend: nothing was due
    assert missed_evaluations(friday_run, at("2026-11-23 09:00"), 30, 90) == []
    # Monday's evaluation is due 16:30 and missed 90 minutes later
    assert missed_evaluations(friday_run, at("2026-11-23 17:59"), 30, 90) == []
    assert [
        d.date().isoformat() for d in missed_evaluations(friday_run, at("2026-11-23 18:01"), 30, 90)
    ] == ["2026-11-23"]
    # Thanksgiving (closed) misses nothing; the early close on the 27th is due at 13:30
    wed = at("2026-11-25 16:31")
    assert missed_evaluations(wed, at("2026-11-26 23:00"), 30, 90) == []
    assert [
        d.date().isoformat() for d in missed_evaluations(wed, at("2026-11-27 15:01"), 30, 90)
    ] == ["2026-11-27"]


def test_refresh_failure_is_recorded_not_raised(tmp_path) -> None:
    settings = _settings(tmp_path)
    bad = settings.model_copy(
        update={"data": settings.data.model_copy(update={"source": "files", "prices": ()})}
    )
    store = Store(settings.database_url)
    app = BotApp(bad, store=store)
    assert asyncio.run(app.refresh_and_evaluate(utcnow())) is None
    health = check_health(store, HealthSettings())
    assert not health.ok and "needs at least one --prices" in " ".join(health.reasons)


def test_startup_message_lists_firing_rules(tmp_path) -> None:
    settings = _settings(tmp_path)
    store = Store(settings.database_url)
    app = BotApp(settings, store=store, as_of=pd.Timestamp("2026-06-01"))
    asyncio.run(app.open())
    asyncio.run(app.refresh_and_evaluate(utcnow()))
    app.fixed_as_of = pd.Timestamp("2026-07-16")
    asyncio.run(app.refresh_and_evaluate(utcnow()))
    assert app.startup_message(utcnow()) == 1  # the admin's private chat
    from sqlalchemy import select

    from bot.storage.tables import DeliveryRow, RuleStateRow

    with store.transaction() as s:
        firing = sorted(
            r.rule_id for r in s.scalars(select(RuleStateRow)) if r.state["status"] == "firing"
        )
        row = s.scalars(select(DeliveryRow).where(DeliveryRow.kind == "startup")).one()
    assert firing and all(rule in " ".join(row.payload["lines"]) for rule in firing)


def test_weekly_digest_sends_text_and_chart(tmp_path, telegram_env, slack_env) -> None:
    settings = _settings(tmp_path)
    path = Path(settings.config_path)
    text = (
        path.read_text(encoding="utf-8")
        .replace(
            '{platform: telegram, chat_id: "-1001"}',
            '{platform: telegram, chat_id: "-1001", kinds: {digest: on}}',
        )
        .replace(
            '{platform: slack, channel: "C0001"}',
            '{platform: slack, channel: "C0001", kinds: {digest: on}}',
        )
    )
    path.write_text(text + "\n", encoding="utf-8")
    settings = load_settings(path)

    async def scenario() -> int:
        app = BotApp(settings, as_of=pd.Timestamp("2026-10-30"))
        await app.open()
        try:
            await app.refresh(utcnow())
            queued = await app.digest(utcnow())
            await app.deliver(utcnow())
            return queued
        finally:
            await app.close()

    assert asyncio.run(scenario()) == 2
    tg = telegram_env.requests(chat_id="-1001")
    assert [r.method for r in tg if r.delivered] == ["sendMessage", "sendPhoto"]
    assert "Weekly rotation digest" in tg[0].text and "breadth_200d" in tg[0].text
    photo = next(r for r in tg if r.method == "sendPhoto")
    assert photo.files and next(iter(photo.files.values())).to_json()["size"] > 10_000
    sl = [r.method for r in slack_env.requests() if r.outcome == "ok"]
    assert "chat.postMessage" in sl and "files.completeUploadExternal" in sl


def test_ready_only_after_the_first_market_load_even_a_failed_one(tmp_path) -> None:
    """A replica is not put behind the load balancer before its first market load (it would
    answer "still loading"), and a failed load does not keep it out: a data outage must not
    take every replica out at once."""
    settings = _settings(tmp_path)
    for source, loads in ((settings, True), (_no_prices(settings), False)):
        app = BotApp(source, store=Store(settings.database_url))
        app.chat_state = True
        assert app._started_reason() == "starting"
        app.serving = True
        assert app._started_reason() == "loading market data"
        if loads:
            asyncio.run(app.refresh(utcnow()))
            assert app.state is not None
        else:
            with pytest.raises(Exception, match="needs at least one --prices"):
                asyncio.run(app.refresh(utcnow()))
            assert app.state is None
        assert app._started_reason() is None


def _no_prices(settings):
    return settings.model_copy(
        update={"data": settings.data.model_copy(update={"source": "files", "prices": ()})}
    )
