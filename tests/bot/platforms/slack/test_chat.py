"""SlackChat: the real slack-bolt AsyncApp and slack-sdk client against the fake Slack API.

Socket Mode: the fake hands out its WebSocket through `apps.connections.open` and pushes
envelopes (slash commands, mentions, button clicks) that bolt acknowledges. HTTP mode: signed
requests from aiohttp to the app's local port; bad, missing and stale signatures get 401.
What the fake recorded is the evidence: acks, the answers posted to the response_url or with
chat.postMessage (their Block Kit is checked against Slack's limits), and uploaded charts.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.config.delivery import DeliverySettings
from bot.model.errors import ConfigError
from bot.platforms.slack.chat import SlackChat
from tests.bot.platforms import chat_helpers
from tests.bot.platforms.chat_helpers import (
    BAD_INPUT,
    NEEDS_SUBSCRIPTION,
    Holder,
    expected,
    presubscribe,
)
from tests.fakes.slack_api import (
    APP_ID,
    BOT_USER_ID,
    TEAM_ID,
    TEST_APP_TOKEN,
    TEST_BOT_TOKEN,
    TEST_SIGNING_SECRET,
    FakeSlack,
    app_mention_event,
    blocks_problem,
    sign_slack_request,
)

pytestmark = [
    pytest.mark.anyio,
]
chat_state = chat_helpers.chat_state
earlier_state = chat_helpers.earlier_state
holder = chat_helpers.holder
ADMIN = "UADMIN"
LOOKALIKES = str.maketrans({"\u2217": "*", "\u02cd": "_", "\u223c": "~", "\u02cb": "`"})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def running(
    fake: FakeSlack, holder: Holder, *, http: bool = False, **options
) -> AsyncIterator:
    settings = DeliverySettings(timeout=3.0, connect_timeout=1.0)
    mode = {"signing_secret": TEST_SIGNING_SECRET, "http_port": 0} if http else {}
    mode.update(options)
    chat = SlackChat.create(
        TEST_BOT_TOKEN,
        holder.context_for,
        settings,
        app_token=None if http else TEST_APP_TOKEN,
        base_url=fake.base_url,
        admins=[ADMIN],
        **mode,
    )
    await chat.start()
    try:
        yield chat
    finally:
        await chat.stop()


def seen(rec) -> str:
    """What a user reads in a recorded answer: header and sections, entities decoded and
    look-alikes mapped back. The blocks must also pass Slack's limits."""
    blocks = rec.params.get("blocks") or []
    assert blocks_problem(blocks) is None, blocks_problem(blocks)
    parts = [b["text"]["text"] for b in blocks if b.get("type") in ("header", "section")]
    return html.unescape("\n".join(parts)).translate(LOOKALIKES)


def answers(fake: FakeSlack, channel: str) -> list:
    return [r for r in fake.delivered(channel) if r.method in ("response_url", "chat.postMessage")]


async def until(fake: FakeSlack, predicate, timeout: float = 10.0) -> None:
    await fake.await_until(predicate, timeout, "answers")


# --- Socket Mode ----------------------------------------------------------------------------


async def test_every_command_over_socket_mode(slack_fake, holder, chat_state):
    want = expected(chat_state)
    channels = {line: f"C{i:04d}" for i, line in enumerate(want)}
    envelopes = {}
    async with running(slack_fake, holder):
        for line, channel in channels.items():
            if line in NEEDS_SUBSCRIPTION:
                presubscribe(holder, "slack", channel, "group")
            env = slack_fake.push_slash_command(line, channel_id=channel, user_id=ADMIN)
            envelopes[line] = env["envelope_id"]
        await until(slack_fake, lambda: all(answers(slack_fake, c) for c in channels.values()))
        charts = (
            "snapshot",
            "sector XLF",
            "sector banks",
            "sectors",
            "breadth",
            "chart RSP vs SPY",
        )
        await until(slack_fake, lambda: slack_fake.count("files.completeUploadExternal") == 6)
    for line, channel in channels.items():
        assert slack_fake.ack_for(envelopes[line]) is not None
        (rec,) = answers(slack_fake, channel)
        assert rec.method == "response_url" and rec.params["response_type"] == "in_channel"
        text = seen(rec)
        for piece in want[line]:
            assert piece in text, f"/rotation {line}: {piece!r} not in {text[:300]!r}"
    uploads = {r.chat_id: r for r in slack_fake.requests("files.completeUploadExternal")}
    assert set(uploads) == {channels[c] for c in charts}
    for rec in slack_fake.requests("_upload"):
        assert rec.files and next(iter(rec.files.values())).data[:4] == b"\x89PNG"


async def test_a_mention_is_answered_in_the_channel_and_its_thread(slack_fake, holder, chat_state):
    async with running(slack_fake, holder):
        slack_fake.push_app_mention(f"<@{BOT_USER_ID}> sector XLF", channel_id="C100")
        payload = app_mention_event(f"<@{BOT_USER_ID}> breadth", channel_id="C101")
        payload["event"]["thread_ts"] = "1700000000.000100"
        slack_fake.push_envelope("events_api", payload, accepts_response_payload=False)
        await until(slack_fake, lambda: answers(slack_fake, "C100") and answers(slack_fake, "C101"))
        await until(slack_fake, lambda: slack_fake.count("files.completeUploadExternal") == 2)
    (first,) = answers(slack_fake, "C100")
    assert first.method == "chat.postMessage" and "thread_ts" not in first.params
    for piece in expected(chat_state)["sector XLF"]:
        assert piece in seen(first)
    (threaded,) = answers(slack_fake, "C101")
    assert threaded.params["thread_ts"] == "1700000000.000100"
    done = {r.chat_id: r.params for r in slack_fake.requests("files.completeUploadExternal")}
    assert done["C101"]["thread_ts"] == "1700000000.000100"


async def test_bad_input_is_answered_escaped_and_only_to_the_asker(slack_fake, holder):
    channels = {line: f"C9{i:03d}" for i, line in enumerate(BAD_INPUT)}
    async with running(slack_fake, holder):
        for line, channel in channels.items():
            slack_fake.push_slash_command(line, channel_id=channel)
        await until(slack_fake, lambda: all(answers(slack_fake, c) for c in channels.values()))
    for line, channel in channels.items():
        (rec,) = answers(slack_fake, channel)
        assert rec.params["response_type"] == "ephemeral"  # errors: only the asker sees them
        for piece in BAD_INPUT[line]:
            assert piece in seen(rec), f"{line[:40]!r}: {piece!r} not in {seen(rec)!r}"
        raw = rec.params["text"] + json.dumps(rec.params["blocks"], ensure_ascii=False)
        assert "<!channel>" not in raw and "<b>" not in raw and "*bold*" not in raw


async def test_only_admins_subscribe_a_channel(slack_fake, holder):
    async with running(slack_fake, holder):
        slack_fake.push_slash_command("subscribe", channel_id="C201", user_id="U0USER")
        slack_fake.push_slash_command("subscribe", channel_id="C202", user_id=ADMIN)
        await until(slack_fake, lambda: answers(slack_fake, "C201") and answers(slack_fake, "C202"))
    assert "only the bot's admins" in seen(answers(slack_fake, "C201")[0])
    assert seen(answers(slack_fake, "C202")[0]).startswith("Subscribed")
    assert {c.chat_id: c.is_admin for c in holder.callers()} == {"C201": False, "C202": True}
    assert {c.chat_type for c in holder.callers()} == {"group"}


def block_actions(fake: FakeSlack, channel: str, action: dict, message_ts: str) -> dict:
    response_url = fake.slash_command_payload("x", channel_id=channel)["response_url"]
    return {
        "type": "block_actions",
        "user": {"id": "U0USER", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "team": {"id": TEAM_ID},
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "response_url": response_url,
        "trigger_id": "1.2",
        "actions": [{"type": "button", "block_id": "b1", "action_ts": "1", **action}],
    }


async def test_buttons_refresh_in_place_and_choices_answer_anew(
    slack_fake, holder, chat_state, earlier_state
):
    holder.state = earlier_state
    async with running(slack_fake, holder):
        slack_fake.push_slash_command("snapshot", channel_id="C300")
        await until(slack_fake, lambda: answers(slack_fake, "C300"))
        (first,) = answers(slack_fake, "C300")
        assert "2026-10-29" in seen(first)
        actions = first.params["blocks"][-1]["elements"]
        (refresh,) = [a for a in actions if a["action_id"] == "rotation:refresh"]
        holder.state = chat_state
        action = {"action_id": refresh["action_id"], "value": refresh["value"]}
        payload = block_actions(slack_fake, "C300", action, "1700000000.000200")
        env = slack_fake.push_envelope("interactive", payload, accepts_response_payload=False)
        pick = {"action_id": "rotation:3", "value": "sector XLF"}
        slack_fake.push_envelope(
            "interactive",
            block_actions(slack_fake, "C301", pick, "1700000000.000300"),
            accepts_response_payload=False,
        )
        await until(slack_fake, lambda: len(answers(slack_fake, "C300")) == 2)
        await until(slack_fake, lambda: answers(slack_fake, "C301"))
        await until(slack_fake, lambda: slack_fake.count("files.completeUploadExternal") == 3)
    assert slack_fake.ack_for(env["envelope_id"]) is not None
    replaced = answers(slack_fake, "C300")[1]
    assert replaced.params["replace_original"] is True
    assert "Market snapshot · 2026-10-30" in seen(replaced)
    chart = [r for r in slack_fake.requests("files.completeUploadExternal") if r.chat_id == "C300"]
    assert chart[-1].params["thread_ts"] == "1700000000.000200"  # the new chart in the thread
    (new,) = answers(slack_fake, "C301")
    assert new.params["replace_original"] is False and "XLF Financials" in seen(new)


async def test_a_chart_refused_by_slack_is_explained_to_the_asker(slack_fake, holder):
    slack_fake.inject("not_in_channel", method="files.completeUploadExternal")
    async with running(slack_fake, holder):
        slack_fake.push_slash_command("breadth", channel_id="C400")
        await until(slack_fake, lambda: len(answers(slack_fake, "C400")) == 2)
    answer, note = answers(slack_fake, "C400")
    assert "Breadth" in seen(answer)
    assert note.params["response_type"] == "ephemeral" and "not_in_channel" in note.params["text"]


# --- HTTP mode --------------------------------------------------------------------------------


async def post(chat: SlackChat, body: str, headers: dict[str, str], form: bool = True):
    content = "application/x-www-form-urlencoded" if form else "application/json"
    url = f"http://127.0.0.1:{chat.port}/slack/events"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={**headers, "Content-Type": content}) as resp,
    ):
        return resp.status


async def test_http_mode_answers_signed_requests_only(slack_fake, holder, chat_state):
    body = urlencode(slack_fake.slash_command_payload("sector XLF", channel_id="C500"))
    stale = sign_slack_request(TEST_SIGNING_SECRET, body, time.time() - 600)
    forged = sign_slack_request("not-the-secret", body)
    async with running(slack_fake, holder, http=True) as chat:
        assert await post(chat, body, {}) == 401
        assert await post(chat, body, forged) == 401
        assert await post(chat, body, stale) == 401  # 10 minutes old: a replay
        assert holder.contexts == []  # nothing ran
        started = time.monotonic()
        assert await post(chat, body, sign_slack_request(TEST_SIGNING_SECRET, body)) == 200
        assert time.monotonic() - started < 1.0  # acknowledged at once, answered after
        event = json.dumps(app_mention_event(f"<@{BOT_USER_ID}> status", channel_id="C501"))
        assert await post(chat, event, sign_slack_request(TEST_SIGNING_SECRET, event), False) == 200
        await until(slack_fake, lambda: answers(slack_fake, "C500") and answers(slack_fake, "C501"))
    (answer,) = answers(slack_fake, "C500")
    for piece in expected(chat_state)["sector XLF"]:
        assert piece in seen(answer)
    assert "rotation-bot 9.9.9" in seen(answers(slack_fake, "C501")[0])


async def test_http_mode_answers_a_malformed_timestamp_with_401(slack_fake, holder):
    """bolt's verifier calls int() on the header, so a non-integer one used to be a 500."""
    body = urlencode(slack_fake.slash_command_payload("sector XLF", channel_id="C510"))
    good = sign_slack_request(TEST_SIGNING_SECRET, body)
    now = good["X-Slack-Request-Timestamp"]
    async with running(slack_fake, holder, http=True) as chat:
        for stamp in ("abc", "", f"{now}.5", "1e9", "0x10"):
            headers = {**good, "X-Slack-Request-Timestamp": stamp}
            assert await post(chat, body, headers) == 401, stamp
        assert holder.contexts == []  # nothing ran
        assert await post(chat, body, good) == 200
        await until(slack_fake, lambda: answers(slack_fake, "C510"))


async def test_http_mode_takes_button_clicks(slack_fake, holder):
    action = {"action_id": "rotation:0", "value": "sector XLE"}
    payload = block_actions(slack_fake, "C600", action, "1700000000.000600")
    body = urlencode({"payload": json.dumps(payload)})
    async with running(slack_fake, holder, http=True) as chat:
        assert await post(chat, body, sign_slack_request(TEST_SIGNING_SECRET, body)) == 200
        await until(slack_fake, lambda: answers(slack_fake, "C600"))
    assert "XLE Energy" in seen(answers(slack_fake, "C600")[0])


def test_commands_need_an_app_token_or_a_signing_secret(holder):
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN or SLACK_SIGNING_SECRET"):
        SlackChat.create(TEST_BOT_TOKEN, holder.context_for, DeliverySettings())


async def test_slack_down_at_start_is_retried_in_the_background(slack_fake, holder):
    slack_fake.refuse_connections()
    # start() returns after start_wait (alerts go on); slack-sdk retries every ping_interval
    async with running(slack_fake, holder, ping_interval=0.1, start_wait=0.2) as chat:
        assert not chat.connected.is_set()
        slack_fake.accept_connections()
        await asyncio.wait_for(chat.connected.wait(), 5)
        slack_fake.push_slash_command("help", channel_id="C700")
        await until(slack_fake, lambda: answers(slack_fake, "C700"))
    assert seen(answers(slack_fake, "C700")[0]).startswith("Commands")


async def test_stopping_while_slack_is_still_down_closes_everything(slack_fake, holder):
    slack_fake.refuse_connections()
    async with running(slack_fake, holder, ping_interval=0.1, start_wait=0.2) as chat:
        assert not chat.connected.is_set()
    assert chat._socket is None and chat._connecting.done()
