"""The fake Slack API as the real slack-sdk and slack-bolt see it: posts, 429 with Retry-After,
`ok: false` errors, files_upload_v2, Socket Mode, and signed HTTP-mode requests."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.common import Outcome, hang
from tests.fakes.slack_api import (
    BOT_USER_ID,
    TEST_APP_TOKEN,
    TEST_BOT_TOKEN,
    TEST_SIGNING_SECRET,
    FakeSlack,
    ratelimited,
    sign_slack_request,
    slash_command_body,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client(fake: FakeSlack, **kwargs) -> AsyncWebClient:
    return AsyncWebClient(token=TEST_BOT_TOKEN, base_url=fake.base_url, **kwargs)


SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*XLF* +2.1%"}}


async def test_post_message_is_recorded_with_decoded_blocks(slack_fake: FakeSlack):
    web = client(slack_fake)
    posted = await web.chat_postMessage(channel="C1", text="XLF +2.1%", blocks=[SECTION])
    updated = await web.chat_update(channel="C1", ts=posted["ts"], text="XLF +2.2%")
    assert (posted["channel"], updated["ts"]) == ("C1", posted["ts"])
    [rec] = slack_fake.delivered("C1")
    assert (rec.method, rec.token, rec.text) == ("chat.postMessage", TEST_BOT_TOKEN, "XLF +2.1%")
    assert rec.params["blocks"] == [SECTION]
    assert slack_fake.message("C1", posted["ts"])["text"] == "XLF +2.2%"
    with pytest.raises(SlackApiError) as missing:
        await web.chat_update(channel="C1", ts="1.000009", text="x")
    assert missing.value.response["error"] == "message_not_found"


async def test_second_post_within_a_second_gets_429_with_retry_after(slack_fake: FakeSlack):
    web = client(slack_fake)
    await web.chat_postMessage(channel="C1", text="one")
    with pytest.raises(SlackApiError) as refused:
        await web.chat_postMessage(channel="C1", text="two")
    await web.chat_postMessage(channel="C2", text="another channel is not held back")
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "1"
    assert [r.outcome for r in slack_fake.requests("chat.postMessage", "C1")] == [
        "ok",
        "rate_limited",
    ]
    assert [r.text for r in slack_fake.delivered()] == ["one", "another channel is not held back"]


@pytest.mark.parametrize("code", ["channel_not_found", "not_in_channel", "is_archived"])
async def test_permanent_errors_arrive_as_ok_false(slack_fake: FakeSlack, code: str):
    slack_fake.inject(code, chat_id="C9")
    web = client(slack_fake)
    with pytest.raises(SlackApiError) as refused:
        await web.chat_postMessage(channel="C9", text="alert")
    await web.chat_postMessage(channel="C8", text="other channels are fine")
    assert (refused.value.response.status_code, refused.value.response["error"]) == (200, code)
    assert [r.chat_id for r in slack_fake.delivered()] == ["C8"]


async def test_server_error_custom_429_hang_and_refusal(slack_fake: FakeSlack):
    slack_fake.inject("server_error", chat_id="C1", times=1)
    slack_fake.inject(ratelimited(9), chat_id="C2", times=1)
    slack_fake.inject(hang(), chat_id="C3", times=1)
    web = client(slack_fake, timeout=0.2, retry_handlers=[])  # no reconnect-once backoff
    with pytest.raises(SlackApiError) as broken:
        await web.chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError) as slow:
        await web.chat_postMessage(channel="C2", text="x")
    with pytest.raises(TimeoutError):
        await web.chat_postMessage(channel="C3", text="x")
    slack_fake.refuse_connections()
    with pytest.raises(aiohttp.ClientConnectorError):
        await web.chat_postMessage(channel="C4", text="x")
    slack_fake.accept_connections()
    await web.chat_postMessage(channel="C4", text="back")
    assert broken.value.response.status_code == 500
    assert (slow.value.response.status_code, slow.value.response.headers["Retry-After"]) == (
        429,
        "9",
    )
    assert [r.chat_id for r in slack_fake.delivered()] == ["C4"]


async def test_block_kit_limits(slack_fake: FakeSlack):
    web = client(slack_fake)
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    for blocks in ([SECTION] * 51, [long_section]):
        with pytest.raises(SlackApiError) as refused:
            await web.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
        assert refused.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as empty:  # raw: slack-sdk itself warns on no text
        await web.api_call("chat.postMessage", json={"channel": "C1"})
    assert empty.value.response["error"] == "no_text"


async def test_tokens_are_checked():
    async with FakeSlack(bot_token=TEST_BOT_TOKEN) as fake:
        for token, error in [
            ("xoxb-wrong", "invalid_auth"),
            (TEST_APP_TOKEN, "not_allowed_token_type"),
        ]:
            with pytest.raises(SlackApiError) as refused:
                await AsyncWebClient(token=token, base_url=fake.base_url).auth_test()
            assert refused.value.response["error"] == error
        assert (await client(fake).auth_test())["user_id"] == BOT_USER_ID


async def test_files_upload_v2_end_to_end(slack_fake: FakeSlack):
    chart = b"\x89PNG fake chart bytes"
    done = await client(slack_fake).files_upload_v2(
        channel="C1", content=chart, filename="breadth.png", title="Breadth", initial_comment="hi"
    )
    assert done["file"]["title"] == "Breadth"
    assert slack_fake.uploaded(done["file"]["id"]) == chart
    methods = [r.method for r in slack_fake.requests()]
    assert methods == ["files.getUploadURLExternal", "_upload", "files.completeUploadExternal"]
    [shared] = slack_fake.delivered("C1")
    assert shared.params["files"] == [{"id": done["file"]["id"], "title": "Breadth"}]


async def test_socket_mode_client_receives_a_slash_command_and_acks(slack_fake: FakeSlack):
    received: list[SocketModeRequest] = []

    async def listener(socket: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        await socket.send_socket_mode_response(SocketModeResponse(request.envelope_id))

    socket = SocketModeClient(app_token=TEST_APP_TOKEN, web_client=client(slack_fake))
    socket.socket_mode_request_listeners.append(listener)
    await socket.connect()
    try:
        command = slack_fake.push_slash_command("sector XLF", channel_id="C7", user_id="U42")
        mention = slack_fake.push_app_mention(f"<@{BOT_USER_ID}> snapshot", channel_id="C7")
        for envelope in (command, mention):
            await slack_fake.await_until(lambda e=envelope: slack_fake.ack_for(e["envelope_id"]))
    finally:
        await socket.close()
    assert [(r.type, r.envelope_id) for r in received] == [
        ("slash_commands", command["envelope_id"]),
        ("events_api", mention["envelope_id"]),
    ]
    assert received[0].payload["text"] == "sector XLF" and received[0].payload["user_id"] == "U42"
    assert received[1].payload["event"]["type"] == "app_mention"
    assert slack_fake.requests("apps.connections.open")[0].token == TEST_APP_TOKEN
    assert [r.chat_id for r in slack_fake.requests("socket_mode.ack")] == ["C7", "C7"]


async def test_signed_slash_command_drives_a_bolt_app_and_its_respond(slack_fake: FakeSlack):
    app = AsyncApp(signing_secret=TEST_SIGNING_SECRET, client=client(slack_fake))

    @app.command("/rotation")
    async def rotation(ack, respond, command) -> None:  # noqa: ANN001 - bolt injects by name
        await ack()
        await respond(f"you asked for {command['text']}")

    def dispatch(body: str, headers: dict[str, str]):
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        return app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))

    body = slash_command_body("snapshot", channel_id="C5")
    good = await dispatch(body, sign_slack_request(TEST_SIGNING_SECRET, body))
    stale = await dispatch(body, sign_slack_request(TEST_SIGNING_SECRET, body, time.time() - 600))
    forged = await dispatch(body, sign_slack_request("not-the-secret", body))
    assert (good.status, stale.status, forged.status) == (200, 401, 401)

    payload = slack_fake.slash_command_payload("sector XLF", channel_id="C5")
    form = urlencode(payload)
    answered = await dispatch(form, sign_slack_request(TEST_SIGNING_SECRET, form))
    assert answered.status == 200
    await slack_fake.await_until(lambda: slack_fake.delivered("C5") != [], timeout=2)
    [reply] = slack_fake.requests("response_url")
    assert reply.params["text"] == "you asked for sector XLF" and reply.outcome == Outcome.OK


def test_signature_matches_slack_sdks_verifier():
    body = slash_command_body("help")
    headers = sign_slack_request(TEST_SIGNING_SECRET, body, timestamp=1_700_000_000)
    verifier = SignatureVerifier(TEST_SIGNING_SECRET, clock=_FixedClock(1_700_000_010))
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + "x", headers)


class _FixedClock:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


async def test_same_loop_mode_and_disconnect_reconnect():
    async with FakeSlack() as fake:
        socket = SocketModeClient(app_token=TEST_APP_TOKEN, web_client=client(fake))
        await socket.connect()
        try:
            await fake.await_until(lambda: fake.socket_count == 1)
            fake.disconnect_sockets()
            await fake.await_until(lambda: fake.count("apps.connections.open") == 2, timeout=3)
            envelope = fake.push_slash_command("help")
            socket.socket_mode_request_listeners.append(_ack)
            await fake.await_until(lambda: fake.ack_for(envelope["envelope_id"]) is not None)
        finally:
            await socket.close()


async def _ack(socket: SocketModeClient, request: SocketModeRequest) -> None:
    await socket.send_socket_mode_response(SocketModeResponse(request.envelope_id))


async def test_ephemeral_and_conversation_info(slack_fake: FakeSlack):
    web = client(slack_fake)
    ephemeral = await web.chat_postEphemeral(channel="C1", user="U42", text="only you")
    info = await web.conversations_info(channel="C1")
    assert ephemeral["message_ts"] and info["channel"]["id"] == "C1"
    assert not info["channel"]["is_archived"] and info["channel"]["is_member"]
    [rec] = slack_fake.delivered("C1")
    assert (rec.method, rec.params["user"]) == ("chat.postEphemeral", "U42")
