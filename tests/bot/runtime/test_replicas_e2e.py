"""Three `rotation-bot run` replicas in Telegram webhook mode on one fresh PostgreSQL schema,
with the fake Bot API acting as Telegram: the whole contract at once.

- The fake POSTs updates to the three webhook URLs round-robin, some twice, some again after
  their first answer counted as too late (a retry that reaches another replica): 300 commands
  from 50 users are each answered exactly once.
- The leader's catch-up evaluation (`run --as-of`) records each alert once and queues it for
  2,000 chats; the leader is killed with SIGKILL in the middle of that fan-out: another
  replica leads within 30 s, every chat gets the alert, and a chat gets it twice only when
  its send was in flight at the kill (sent, its outcome not yet committed). Commands sent
  while no replica leads are answered too.
- The sends of all replicas together (replies on every replica, alerts on the leader) never
  exceed the configured overall cap in any window, as the fake measures them on arrival.
- A webhook request without the secret header, or with a wrong one, gets 403 and changes
  nothing.
- Slack in HTTP mode on every replica: slash commands, some POSTed again to another replica
  as Slack's retries are, are each answered once; a bad or stale signature gets 401 and
  changes nothing.

The caps are Telegram's own (30 messages per second overall, one per chat per second, the
fake enforcing the same on arrival), so the 2,000-chat fan-out takes about 75 s. On a shorter
clock (30 per 0.3 s) arrival jitter between processes of ~10 ms, which Telegram's one-second
window absorbs, broke the cap by a few sends: the shared pace keeps 10 % headroom, not more. The
lease timings are the production ones (15 s lease, renewed every 3 s). The fake Bot API runs
in a process of its own, so that this process polling it does not delay the arrival times it
records (the rate is measured on them); it leaves `sends.json` (every send: arrival, chat,
method, outcome) in the test's folder. About 110 s on 2 cores. Skipped without
TEST_DATABASE_URL (CI sets it).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from tests.bot.db_helpers import fresh_pg_schema, pg_base_url
from tests.bot.runtime.replica_cluster import (
    ALERT_SESSION,
    ALERT_WORDS,
    FIRST_ALERT_CHAT,
    SECRET,
    SECTORS,
    Caps,
    FakeTelegramProcess,
    Replica,
    Send,
    SlackHttp,
    Users,
    agreed_leader,
    command_update,
    initialise,
    max_in_window,
    percentile,
    post,
    start_replicas,
    wait_for,
    warm_up,
)
from tests.fakes.slack_api import (
    TEST_BOT_TOKEN,
    TEST_SIGNING_SECRET,
    FakeSlack,
    sign_slack_request,
)
from tests.fakes.telegram_api import TEST_TOKEN

REPLICAS, USERS, ROUNDS, CHATS = 3, 50, 6, 2000
SLACK_COMMANDS = 30
#: rounds of commands before the kill; the rest are sent while no replica leads
ROUNDS_BEFORE_KILL = 4
CAPS = Caps(overall=30, per=1.0)
#: the contract: a follower leads within 30 s of the leader's death
TAKEOVER_LIMIT = 30.0
BOT_ID = TEST_TOKEN.split(":", 1)[0]


def _alert_sends(fake: FakeTelegramProcess) -> list[Send]:
    return [s for s in fake.sends() if s.delivered and int(s.chat_id) >= FIRST_ALERT_CHAT]


def _undelivered_chats(url: str) -> set[str]:
    """Alert destinations whose outbox row is not recorded as delivered."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT d.chat_id FROM deliveries AS q JOIN destinations AS d "
                    "ON d.id = q.destination_id WHERE q.kind = 'alert' "
                    "AND q.status <> 'delivered'"
                )
            ).all()
    finally:
        engine.dispose()
    return {r.chat_id for r in rows}


def _query(url: str, sql: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def _window_report(records: list[Send], peak: int) -> str:
    """The busiest window: when, and what was in it (a failure's message)."""
    times = [r.at for r in records]
    for i, t in enumerate(times):
        inside = [r for r in records[i:] if r.at < t + CAPS.per]
        if len(inside) == peak:
            kinds = Counter(
                ("alert" if int(r.chat_id) >= FIRST_ALERT_CHAT else "reply", r.outcome)
                for r in inside
            )
            alerts = [r.at for r in records if int(r.chat_id) >= FIRST_ALERT_CHAT]
            replies = [r.at for r in records if int(r.chat_id) < FIRST_ALERT_CHAT]
            return (
                f"{peak} sends in {CAPS.per} s (cap {CAPS.overall}) at "
                f"{t - times[0]:.2f} s into the run: {dict(kinds)}; "
                f"429s overall: {sum(r.refused for r in records)}; the leader's alerts alone "
                f"peak at {max_in_window(alerts, CAPS.per)}, the replies of all replicas at "
                f"{max_in_window(replies, CAPS.per)}"
            )
    return f"{peak} sends in {CAPS.per} s"


def _refused_without_the_secret(
    replicas: list[Replica], fake: FakeTelegramProcess, url: str
) -> None:
    """No header, a wrong one, a prefix of the right one: 403 on every replica, no claim, no
    answer."""
    chat = 777
    claims_before = _query(url, "SELECT count(*) FROM update_claims")[0][0]
    header = "X-Telegram-Bot-Api-Secret-Token"
    for n, replica in enumerate(replicas):
        for k, headers in enumerate(({}, {header: "wrong-secret"}, {header: SECRET[:-1]})):
            update = command_update(900_000_000 + n * 10 + k, chat, "/sector XLF")
            status = post(
                replica.webhook_url,
                json.dumps(update).encode(),
                {"Content-Type": "application/json", **headers},
            )
            assert status == 403, (replica.name, headers.keys(), status)
    time.sleep(1.0)  # an update let through would be answered well within this
    assert _query(url, "SELECT count(*) FROM update_claims")[0][0] == claims_before
    assert [s for s in fake.sends() if s.chat_id == str(chat)] == []


def _slack_commands_answered_once(replicas: list[Replica], slack: FakeSlack, url: str) -> None:
    """Slash commands in Slack's HTTP mode, each POSTed to one replica and every third again
    to the next one (Slack retrying behind the proxy): each answered once through its
    response_url. A wrong signature, or a stale timestamp: 401, no claim, no answer."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    commands: dict[str, str] = {}  # response_url id -> trigger_id
    for i in range(SLACK_COMMANDS):
        sector = SECTORS[i % len(SECTORS)]
        payload = slack.slash_command_payload(
            f"sector {sector}", channel_id=f"C{i:04d}", user_id=f"U{i:04d}"
        )
        body = urlencode(payload).encode()
        headers = form | sign_slack_request(TEST_SIGNING_SECRET, body)
        assert post(replicas[i % len(replicas)].slack_url, body, headers) == 200
        if i % 3 == 0:
            retry = headers | {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            assert post(replicas[(i + 1) % len(replicas)].slack_url, body, retry) == 200
        commands[payload["response_url"].rsplit("/", 1)[1]] = payload["trigger_id"]
    refused: dict[str, str] = {}
    for k, (secret, stamp) in enumerate(
        (("not-the-signing-secret", None), (TEST_SIGNING_SECRET, time.time() - 600))
    ):
        payload = slack.slash_command_payload("sector XLF", channel_id=f"CBAD{k}")
        body = urlencode(payload).encode()
        headers = form | sign_slack_request(secret, body, timestamp=stamp)
        assert post(replicas[k].slack_url, body, headers) == 401
        refused[payload["response_url"].rsplit("/", 1)[1]] = payload["trigger_id"]

    def answers() -> Counter[str]:
        return Counter(str(r.params.get("response_url_id")) for r in slack.delivered())

    slack.wait_until(lambda: set(commands) <= set(answers()), 30, "every slash command answered")
    time.sleep(1.0)  # a second answer would come within this
    got = answers()
    assert {i: got[i] for i in commands if got[i] != 1} == {}
    assert not set(refused) & set(got)
    claimed = {c.key for c in _query(url, "SELECT key FROM update_claims WHERE platform = 'slack'")}
    assert {f"trigger:{t}" for t in commands.values()} <= claimed
    assert not {f"trigger:{t}" for t in refused.values()} & claimed


def test_three_replicas_answer_once_send_once_and_survive_a_killed_leader(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    with fresh_pg_schema(pg_base_url()) as url, FakeSlack(caps=False) as slack:
        fake = FakeTelegramProcess(tmp_path, caps=CAPS)
        replicas: list[Replica] = []
        try:
            initialise(url, tmp_path / "init")
            replicas = start_replicas(
                tmp_path,
                url,
                REPLICAS,
                fake.base_url,
                TEST_TOKEN,
                chats=CHATS,
                caps=CAPS,
                slack=SlackHttp(slack.base_url, TEST_BOT_TOKEN, TEST_SIGNING_SECRET),
            )
            _run(replicas, fake, slack, url, started)
        finally:
            for r in replicas:
                r.stop()
            fake.stop()


def _run(
    replicas: list[Replica],
    fake: FakeTelegramProcess,
    slack: FakeSlack,
    url: str,
    started: float,
) -> None:
    plan = {"duplicate_every": 7, "late_every": 5, "max_attempts": 10, "retry_delay": 0.2}
    fake.deliver_to([r.webhook_url for r in replicas], **plan)
    marks = {"replicas started": time.monotonic()}
    wait_for(lambda: all(r.ready() for r in replicas), 60, "three ready replicas", replicas)
    leader = wait_for(lambda: agreed_leader(replicas), 30, "agreed leader", replicas)
    warm_up(replicas, fake)  # each answers from market data (/readyz does not say so)
    marks["ready"] = time.monotonic()
    info = fake.webhook_info()
    assert info is not None and info["secret_token"] == SECRET and info["url"].startswith("https")
    _refused_without_the_secret(replicas, fake, url)
    _slack_commands_answered_once(replicas, slack, url)

    # commands while the leader fans the alert out; the kill comes between two rounds, so no
    # command is on its way through the leader when it dies
    users = Users(fake, USERS)
    latencies: dict[int, float] = {}
    wait_for(lambda: len(_alert_sends(fake)) >= 100, 30, "the alert fan-out", replicas)
    marks["fan-out"] = time.monotonic()
    for k in range(ROUNDS_BEFORE_KILL):
        latencies |= users.wait_answered(users.ask_round(k), 30, replicas)
        time.sleep(CAPS.per)  # a user reads the answer before asking again (per-chat cap)
    wait_for(lambda: fake.webhook_in_flight() == 0, 10, "webhook deliveries settled", replicas)

    before = len({r.chat_id for r in _alert_sends(fake)})
    assert 0 < before < CHATS * 0.8, f"the kill must come mid fan-out ({before} chats had it)"
    leader.kill()
    killed_at = marks["kill"] = time.monotonic()
    seen = {r.chat_id for r in _alert_sends(fake)}  # every send the dead leader made
    in_flight = seen & _undelivered_chats(url)  # sent, the outcome not committed
    survivors = [r for r in replicas if r is not leader]
    fake.deliver_to([r.webhook_url for r in survivors], **plan)  # the proxy drops it

    # commands are answered while no replica leads
    for k in range(ROUNDS_BEFORE_KILL, ROUNDS):
        latencies |= users.wait_answered(users.ask_round(k), 30, survivors)
        time.sleep(CAPS.per)
    successor = wait_for(lambda: agreed_leader(survivors), TAKEOVER_LIMIT, "new leader", replicas)
    marks["new leader"] = time.monotonic()
    takeover = marks["new leader"] - killed_at
    assert takeover < TAKEOVER_LIMIT

    # every chat gets the alert; the outbox says every row is delivered
    wait_for(lambda: not _undelivered_chats(url), 60, "every alert delivered", replicas)
    marks["all delivered"] = time.monotonic()
    wait_for(lambda: fake.webhook_in_flight() == 0, 10, "webhook deliveries settled", replicas)
    sends = _alert_sends(fake)
    per_chat = Counter(r.chat_id for r in sends)
    expected = {str(FIRST_ALERT_CHAT + i) for i in range(CHATS)}
    assert set(per_chat) == expected
    duplicated = {c for c, n in per_chat.items() if n > 1}
    assert duplicated <= in_flight, f"sent twice though not in flight: {duplicated - in_flight}"
    assert max(per_chat.values()) <= 2
    assert all(all(w in s.text for w in ALERT_WORDS) for s in sends)

    # each alert recorded once, queued once per chat
    alerts = _query(url, "SELECT rule_id, session FROM alerts ORDER BY rule_id")
    assert [(a.rule_id, str(a.session)) for a in alerts] == [
        ("breadth_broadening", ALERT_SESSION),
        ("broad_rotation", ALERT_SESSION),
    ]
    rows = _query(url, "SELECT count(*), count(DISTINCT destination_id) FROM deliveries "
                  "WHERE kind = 'alert'")  # fmt: skip
    assert tuple(rows[0]) == (CHATS, CHATS)

    # each command answered exactly once; nothing else was sent to the users
    answered = users.answered(users.asked)
    assert len(users.asked) == USERS * ROUNDS
    assert {u: len(a) for u, a in answered.items() if len(a) != 1} == {}
    assert all(len(v) == ROUNDS for v in users.replies().values())
    claims = _query(url, "SELECT key FROM update_claims WHERE platform = 'telegram'")
    asked = {f"{BOT_ID}:{a.update_id}" for a in users.asked}
    assert len([c for c in claims if c.key in asked]) == len(asked) == USERS * ROUNDS
    attempts = fake.webhook_attempts()
    by_update = defaultdict(set)
    for a in attempts:
        if a["status"] == 200:
            by_update[a["update_id"]].add(a["url"])
    assert any(a["copy"] == 2 for a in attempts) and any(a["late"] for a in attempts)
    assert any(len(urls) > 1 for urls in by_update.values())  # a retry reached another replica

    for r in survivors:
        assert r.stop() == 0, r.tail()
    for r in replicas:
        assert "Traceback" not in r.log.read_text(), r.tail()

    # all replicas together kept the overall cap, measured by the fake on arrival
    records = fake.sends()
    peak = max_in_window([s.at for s in records], CAPS.per)
    refused = sum(s.refused for s in records)
    dump = [(s.at, s.chat_id, s.method, s.outcome) for s in records]
    (replicas[0].log.parent.parent / "sends.json").write_text(json.dumps(dump))
    ms = sorted(x * 1e3 for x in latencies.values())
    phases = ", ".join(f"{name} {at - started:.0f} s" for name, at in marks.items())
    print(
        f"\nleader {leader.name} killed mid fan-out ({before} of {CHATS} chats had the alert); "
        f"{successor.name} led after {takeover:.1f} s; {len(duplicated)} chat(s) got it twice "
        f"({len(in_flight)} sends in flight at the kill)\n"
        f"commands: {len(latencies)} answered once each; latency p50 "
        f"{percentile(ms, 0.5):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms\n"
        f"overall cap {CAPS.overall} per {CAPS.per} s: peak {peak} sends in a window, "
        f"{refused} 429(s)\nat: {phases}, end {time.monotonic() - started:.0f} s"
    )
    assert peak <= CAPS.overall, _window_report(records, peak)
