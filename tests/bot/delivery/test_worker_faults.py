"""The fault matrix and the caps, end to end: outbox -> worker -> real python-telegram-bot /
slack-sdk clients -> the fake APIs over HTTP on 127.0.0.1 (each fake in its own thread).

For each of {429 with retry_after, 500, hang past the timeout, connection refused, permanent
refusal} on each platform, one alert group goes to several destinations on both platforms;
at the end every healthy destination has received it exactly once *as the fake recorded*,
the refused one is disabled, and nothing is left pending.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from bot.config.settings import Settings
from bot.delivery.worker import DeliveryReport, DeliveryWorker
from bot.model.messages import AlertGroup, AlertItem
from bot.platforms.slack.sender import SlackSender
from bot.platforms.telegram.sender import TelegramSender
from bot.storage.store import Store, utcnow
from tests.bot.outbox_helpers import (
    SESSION,
    destination,
    enqueue,
    setup_outbox,
    statuses,
)
from tests.fakes.common import hang
from tests.fakes.slack_api import TEST_BOT_TOKEN, FakeSlack
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram

TG_CHATS = ["-1001", "-1002", "5003", "5004"]
SLACK_CHANNELS = ["C1", "C2", "C3"]
#: short timeouts and retries so every case settles in about a second, and every cap
#: time-scaled x10 on both sides (the fakes run with time_scale=10)
FAST = {
    "timeout": 0.5,
    "connect_timeout": 0.5,
    "backoff_base": 0.05,
    "poll_interval": 0.05,
    "max_age": 30,
    "lease": 10,
    "telegram": {
        "overall": {"count": 30, "per": 0.1},
        "per_chat": {"count": 1, "per": 0.1},
        "per_group": {"count": 20, "per": 6.0},
    },
    "slack": {"per_channel": {"count": 1, "per": 0.1}},
}


@pytest.fixture(autouse=True)
def _time_scaled(telegram_fake, slack_fake) -> None:
    for fake in (telegram_fake, slack_fake):
        fake.set_caps(time_scale=10)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    yield s
    s.close()


def destinations() -> list[dict]:
    return [{"platform": "telegram", "chat_id": c} for c in TG_CHATS] + [
        {"platform": "slack", "channel": c} for c in SLACK_CHANNELS
    ]


def deliver(
    store: Store,
    settings: Settings,
    tg: FakeTelegram,
    sl: FakeSlack,
    seconds: float = 10.0,
) -> DeliveryReport:
    """One `run_once` with a deadline, through real senders pointed at the fakes."""

    async def main() -> DeliveryReport:
        senders = {
            "telegram": TelegramSender.create(TEST_TOKEN, settings.delivery, tg.base_url),
            "slack": SlackSender.create(TEST_BOT_TOKEN, settings.delivery, sl.base_url),
        }
        worker = DeliveryWorker(store, senders, settings)
        try:
            return await worker.run_once(deadline=utcnow() + timedelta(seconds=seconds))
        finally:
            for s in senders.values():
                await s.stop()

    return asyncio.run(main())


def received(fake: FakeTelegram | FakeSlack, chats: list[str]) -> dict[str, int]:
    return {c: len(fake.delivered(c)) for c in chats}


FAULTS = {
    # name: (telegram fault, slack fault, chat it targets or None for the platform)
    "429": ({"preset": "too_many_requests", "retry_after": 1}, {"preset": "ratelimited"}),
    "500": ("server_error", "server_error"),
    "hang": (hang(3.0), hang(3.0)),
    "refused": (None, None),
    "permanent": ("blocked", "channel_not_found"),
}


@pytest.mark.parametrize("platform", ["telegram", "slack"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_matrix(store, telegram_fake, slack_fake, platform, fault) -> None:
    settings = setup_outbox(store, destinations(), delivery=FAST)
    fake = telegram_fake if platform == "telegram" else slack_fake
    other = slack_fake if platform == "telegram" else telegram_fake
    chats = TG_CHATS if platform == "telegram" else SLACK_CHANNELS
    others = SLACK_CHANNELS if platform == "telegram" else TG_CHATS
    target = chats[1]
    spec = FAULTS[fault][0 if platform == "telegram" else 1]
    if fault == "refused":  # the whole platform is down for a while, the other one is not
        fake.refuse_connections()
        timer = threading.Timer(0.6, fake.accept_connections)
        timer.start()
    elif fault == "hang":  # the first request only hangs, past the 0.5 s timeout
        fake.inject(spec, times=1)
    elif fault == "permanent":
        fake.inject(spec, chat_id=target)  # every time
    else:
        fake.inject(spec, chat_id=target, times=2)

    report = deliver(store, settings, telegram_fake, slack_fake)
    if fault == "refused":
        timer.join()

    assert received(other, others) == dict.fromkeys(others, 1)
    healthy = [c for c in chats if not (fault == "permanent" and c == target)]
    assert received(fake, healthy) == dict.fromkeys(healthy, 1)
    counts = report.counts
    assert counts.pending == counts.retrying == counts.sending == counts.dead == 0
    if fault == "permanent":
        assert received(fake, [target]) == {target: 0}
        assert not destination(store, target).enabled
        assert statuses(store)[target] == ["cancelled"]
        assert report.disabled == 1 and counts.delivered == 6
    else:
        assert counts.delivered == 7 and report.disabled == 0
        assert report.retried + report.deferred >= 1  # the fault did bite
    if fault == "429":
        assert report.deferred == 2 and report.retried == 0
    # the other platform's destinations never waited for the failing one
    if fault in ("hang", "refused", "429"):
        first_fault = min(r.at for r in fake.requests())
        assert max(r.at for r in other.delivered()) < first_fault + 0.5


def test_all_faults_at_once(store, telegram_fake, slack_fake) -> None:
    """Every fault on a different destination in one fan-out, plus a migrated group."""
    chats = ["-11", "-12", "-13", "-14", "-15", "16"]
    channels = ["C1", "C2", "C3", "C4", "C5"]
    dests = [{"platform": "telegram", "chat_id": c} for c in chats] + [
        {"platform": "slack", "channel": c} for c in channels
    ]
    settings = setup_outbox(store, dests, delivery=FAST)
    enqueue(store, "run:2")  # two messages per destination, kept in order
    tg, sl = telegram_fake, slack_fake
    tg.inject({"preset": "too_many_requests", "retry_after": 1}, chat_id="-11", times=1)
    tg.inject("server_error", chat_id="-12", times=3)
    tg.inject(hang(3.0), chat_id="-13", times=1)
    tg.inject("kicked", chat_id="-14")
    tg.inject({"preset": "migrated", "new_chat_id": -1015}, chat_id="-15")
    sl.inject({"preset": "ratelimited", "retry_after": 1}, chat_id="C1", times=1)
    sl.inject("server_error", chat_id="C2", times=3)
    sl.inject(hang(3.0), chat_id="C3", times=1)
    sl.inject("is_archived", chat_id="C4")

    report = deliver(store, settings, tg, sl)

    assert received(tg, ["-11", "-12", "-13", "16", "-1015"]) == {
        "-11": 2,
        "-12": 2,
        "-13": 2,
        "16": 2,
        "-1015": 2,
    }
    assert received(tg, ["-14", "-15"]) == {"-14": 0, "-15": 0}
    assert received(sl, channels) == {"C1": 2, "C2": 2, "C3": 2, "C4": 0, "C5": 2}
    assert not destination(store, "-14").enabled and not destination(store, "C4").enabled
    assert destination(store, "-1015").migrated_from == "-15"
    assert report.counts.pending == report.counts.retrying == report.counts.dead == 0
    assert report.counts.delivered == 18 and report.counts.cancelled == 4


def test_fan_out_stays_under_every_cap(store, telegram_fake, slack_fake) -> None:
    """150 private chats, 3 groups with 5 messages each and 4 Slack channels with 5 each,
    through fakes enforcing the caps (time-scaled x10, the group cap lowered to 3 per 10 s of
    platform time so it bites quickly): zero 429s, everything delivered once."""
    telegram_fake.set_cap("group", limit=3, window=10.0)
    scaled = {**FAST, "telegram": {**FAST["telegram"], "per_group": {"count": 3, "per": 1.0}}}
    privates = [str(1000 + i) for i in range(150)]
    groups = ["-201", "-202", "-203"]
    channels = ["C1", "C2", "C3", "C4"]
    dests = (
        [{"platform": "telegram", "chat_id": c, "rules": ["rule_0"]} for c in privates]
        + [{"platform": "telegram", "chat_id": c} for c in groups]
        + [{"platform": "slack", "channel": c} for c in channels]
    )
    settings = setup_outbox(store, dests, delivery=scaled)
    for n in range(2, 6):  # four more groups that only the groups and channels take
        item = AlertItem(f"rule_{n}", "fired", SESSION, "info", f"rule {n} crossed", 1.0, 0.0)
        enqueue(store, f"run:{n}", AlertGroup(SESSION, "demo", True, (item,)))

    report = deliver(store, settings, telegram_fake, slack_fake, seconds=20)

    assert telegram_fake.count(outcome="rate_limited") == 0
    assert slack_fake.count(outcome="rate_limited") == 0
    assert received(telegram_fake, privates) == dict.fromkeys(privates, 1)
    assert received(telegram_fake, groups) == dict.fromkeys(groups, 5)
    assert received(slack_fake, channels) == dict.fromkeys(channels, 5)
    assert report.delivered == 150 + 15 + 20 and report.deferred == 0


@pytest.mark.parametrize("messages", [1, 3])
def test_a_group_migrated_onto_a_destination_gets_each_message_once(
    store, telegram_fake, slack_fake, messages
) -> None:
    """-15 became supergroup -1015, which the config already lists: -1015 gets each message
    once (its own copy), and -15 is disabled rather than followed there."""
    dests = [{"platform": "telegram", "chat_id": c} for c in ("-15", "-1015")]
    settings = setup_outbox(store, dests, delivery=FAST)
    for n in range(2, messages + 1):
        enqueue(store, f"run:{n}")
    telegram_fake.inject({"preset": "migrated", "new_chat_id": -1015}, chat_id="-15")

    report = deliver(store, settings, telegram_fake, slack_fake)

    assert received(telegram_fake, ["-15", "-1015"]) == {"-15": 0, "-1015": messages}
    old = destination(store, "-15")
    assert not old.enabled and "-1015" in old.disabled_reason
    assert statuses(store)["-15"] == ["cancelled"] * messages
    assert statuses(store)["-1015"] == ["delivered"] * messages
    assert report.counts.pending == report.counts.retrying == report.counts.dead == 0
