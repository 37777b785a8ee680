"""A fake Slack Web API (and Socket Mode) for slack-sdk / slack-bolt, on 127.0.0.1.

    with FakeSlack() as sl:                          # or: async with FakeSlack() as sl:
        client = AsyncWebClient(token=TEST_BOT_TOKEN, base_url=sl.base_url)
        sl.inject("channel_not_found", chat_id="C1")  # HTTP 200 {"ok": false, ...}
        env = sl.push_slash_command("snapshot")       # delivered over the Socket Mode socket
        sl.ack_for(env["envelope_id"])                # what the app acknowledged

Errors come back like Slack's: HTTP 200 with `{"ok": false, "error": code}`, or HTTP 429 with
a `Retry-After` header when a channel gets more than one chat.postMessage per second. Block Kit
limits that bite real apps are checked (50 blocks, 3,000 characters a section, 150 a header).
For HTTP mode, `sign_slack_request` and the payload builders make signed slash commands and
events for a bolt `AsyncApp` under test.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

from tests.fakes.common import (
    Answer,
    Cap,
    CapHit,
    CapScope,
    Fault,
    Handler,
    Outcome,
    RateCaps,
    RecordedRequest,
    UploadedFile,
    decode_json_fields,
    hang,
    reset,
)
from tests.fakes.server import FakeServer, run_cli

TEST_BOT_TOKEN = "xoxb-0000-fake-bot-token"
TEST_APP_TOKEN = "xapp-1-A0FAKE-0000-fake-app-token"
TEST_SIGNING_SECRET = "fake-signing-secret"
TEAM_ID = "T0FAKE"
APP_ID = "A0FAKE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"

#: Methods that post a message into a channel (`delivered`) ...
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "response_url"})
#: ... and those that count against the per-channel cap.
CAPPED_METHODS = frozenset({"chat.postMessage"})
JSON_PARAMS = ("blocks", "attachments", "files", "metadata")
MAX_TEXT = 40_000


def slack_caps(*, enabled: bool = True, time_scale: float = 1.0) -> RateCaps:
    """Slack's chat.postMessage limit: about one message per second per channel."""
    return RateCaps(
        [Cap("channel", 1, 1.0, CapScope.CHAT)],
        counted_methods=CAPPED_METHODS,
        enabled=enabled,
        time_scale=time_scale,
    )


# -- fault presets ---------------------------------------------------------------------------


def error(code: str = "internal_error") -> Fault:
    """HTTP 200 `{"ok": false, "error": code}`; slack-sdk raises SlackApiError."""
    return Fault(code, 200, {"ok": False, "error": code})


def channel_not_found() -> Fault:
    return error("channel_not_found")


def not_in_channel() -> Fault:
    return error("not_in_channel")


def is_archived() -> Fault:
    return error("is_archived")


def invalid_auth() -> Fault:
    return error("invalid_auth")


def account_inactive() -> Fault:
    return error("account_inactive")


def server_error(status: int = 500) -> Fault:
    """A 5xx; slack-sdk raises SlackApiError with that status_code."""
    return Fault("server_error", status, {"ok": False, "error": "fatal_error"})


def ratelimited(retry_after: int = 1) -> Fault:
    """HTTP 429 with Retry-After regardless of the caps."""
    return Fault(
        "ratelimited", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
    )


PRESETS = {
    "error": error,
    "channel_not_found": channel_not_found,
    "not_in_channel": not_in_channel,
    "is_archived": is_archived,
    "invalid_auth": invalid_auth,
    "account_inactive": account_inactive,
    "server_error": server_error,
    "ratelimited": ratelimited,
    "hang": hang,
    "reset": reset,
}


# -- payload builders and request signing (HTTP mode) ----------------------------------------


def sign_slack_request(
    secret: str, body: str | bytes, timestamp: int | float | None = None
) -> dict[str, str]:
    """Headers Slack adds to an HTTP-mode request: `X-Slack-Request-Timestamp` and
    `X-Slack-Signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")`. Pass an old
    `timestamp` to test replay protection."""
    stamp = str(int(time.time() if timestamp is None else timestamp))
    text = body.decode() if isinstance(body, bytes) else body
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{text}".encode(), hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def slash_command_payload(
    text: str,
    *,
    command: str = "/rotation",
    user_id: str = "U0USER",
    user_name: str = "alice",
    channel_id: str = "C0CHAN",
    channel_name: str = "general",
    response_url: str = "http://127.0.0.1:9/_response/unused",
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The fields Slack sends for `/rotation <text>` (form-encoded over HTTP, as the Socket
    Mode payload). Use `FakeSlack.slash_command_payload` for a response_url on the fake."""
    return {
        "token": "fake-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex[:12]}",
    }


def slash_command_body(text: str, **kwargs: Any) -> str:
    """`slash_command_payload` form-encoded: the body of an HTTP-mode slash command."""
    return urlencode(slash_command_payload(text, **kwargs))


def app_mention_event(
    text: str, *, user_id: str = "U0USER", channel_id: str = "C0CHAN"
) -> dict[str, Any]:
    """An Events API `event_callback` for an app_mention; `text` should hold the mention,
    e.g. f"<@{BOT_USER_ID}> snapshot". JSON-encode it for HTTP mode."""
    now = time.time()
    ts = f"{now:.6f}"
    return {
        "token": "fake-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": {
            "type": "app_mention",
            "user": user_id,
            "text": text,
            "ts": ts,
            "channel": channel_id,
            "event_ts": ts,
        },
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(now),
        "authorizations": [
            {
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }


def blocks_problem(blocks: Any) -> str | None:
    """Why Slack would answer `invalid_blocks`, or None."""
    if not isinstance(blocks, list):
        return "must be an array [json-pointer:/blocks]"
    if len(blocks) > 50:
        return "no more than 50 items allowed [json-pointer:/blocks]"
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}"
        if not isinstance(block, dict) or "type" not in block:
            return f"missing required field: type {where}]"
        text = block.get("text")
        length = len(text.get("text", "")) if isinstance(text, dict) else 0
        if block["type"] == "section":
            if text is None and not block.get("fields"):
                return f"must provide either text or fields {where}]"
            if length > 3000:
                return f"must be less than 3001 characters {where}/text/text]"
            if len(block.get("fields") or []) > 10:
                return f"no more than 10 items allowed {where}/fields]"
        elif block["type"] == "header" and length > 150:
            return f"must be less than 151 characters {where}/text/text]"
        elif block["type"] == "context" and len(block.get("elements") or []) > 10:
            return f"no more than 10 items allowed {where}/elements]"
    return None


class FakeSlack(FakeServer):
    """The fake Web API. `bot_token` / `app_token`: when set, other tokens get
    `invalid_auth`. `caps`/`time_scale`: see `slack_caps` and `RateCaps`."""

    kind = "slack"
    presets = PRESETS
    control_calls = FakeServer.control_calls | {
        "push_slash_command",
        "push_app_mention",
        "push_envelope",
    }

    def __init__(
        self,
        *,
        bot_token: str | None = None,
        app_token: str | None = None,
        caps: bool = True,
        time_scale: float = 1.0,
        port: int = 0,
    ) -> None:
        super().__init__(caps=slack_caps(enabled=caps, time_scale=time_scale), port=port)
        self.bot_token = bot_token
        self.app_token = app_token
        handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.info": self._conversations_info,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "apps.connections.open": self._connections_open,
            "_upload": self._upload,
            "response_url": self._response_url,
        }
        self._handlers = handlers
        self._sockets: set[web.WebSocketResponse] = set()
        self._reset_state()

    @property
    def base_url(self) -> str:
        """For slack-sdk's `base_url` / SLACK_API_URL (with the trailing slash)."""
        return f"{self.url}/api/"

    def endpoints(self) -> dict[str, str]:
        return {"base_url": self.base_url}

    def _reset_state(self) -> None:
        with self._lock:
            self._messages: dict[tuple[str, str], dict[str, Any]] = {}
            self._ts = itertools.count(1)
            self._ts_base = int(time.time())
            self._file_ids = itertools.count(1)
            self._uploads: dict[str, dict[str, Any]] = {}  # file_id -> {filename, data}
            self._response_urls: dict[str, str] = {}  # ident -> channel
            self._envelopes: list[dict[str, Any]] = []  # pushed, not yet sent on a socket
            self._envelope_channels: dict[str, str | None] = {}

    # -- queries -----------------------------------------------------------------------------

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The current state of a posted message (after chat.update), or None."""
        with self._lock:
            return self._messages.get((channel, ts))

    def uploaded(self, file_id: str) -> bytes | None:
        """The bytes POSTed to a file's upload URL."""
        with self._lock:
            found = self._uploads.get(file_id)
        return None if found is None else found.get("data")

    def ack_for(self, envelope_id: str) -> dict[str, Any] | None:
        """The Socket Mode acknowledgement for an envelope (its JSON), or None."""
        for rec in self.requests("socket_mode.ack"):
            if rec.params.get("envelope_id") == envelope_id:
                return rec.params
        return None

    @property
    def socket_count(self) -> int:
        """Open Socket Mode connections."""
        return len(self._sockets)

    # -- pushing Socket Mode envelopes -------------------------------------------------------

    def push_envelope(
        self, envelope_type: str, payload: dict[str, Any], *, accepts_response_payload: bool
    ) -> dict[str, Any]:
        """Queue an envelope for the next open socket; returns it (with `envelope_id`)."""
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
            "payload": payload,
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        channel = payload.get("channel_id") or payload.get("event", {}).get("channel")
        with self._lock:
            self._envelopes.append(envelope)
            self._envelope_channels[envelope["envelope_id"]] = channel
        self._bump()
        return envelope

    def slash_command_payload(self, text: str, **kwargs: Any) -> dict[str, str]:
        """`slash_command_payload` with a response_url served (and recorded) by this fake."""
        ident = uuid.uuid4().hex[:12]
        channel = kwargs.get("channel_id", "C0CHAN")
        with self._lock:
            self._response_urls[ident] = channel
        return slash_command_payload(text, response_url=f"{self.url}/_response/{ident}", **kwargs)

    def push_slash_command(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """Queue `/rotation <text>` (kwargs as `slash_command_payload`) for Socket Mode."""
        payload = self.slash_command_payload(text, **kwargs)
        return self.push_envelope("slash_commands", payload, accepts_response_payload=True)

    def push_app_mention(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """Queue an app_mention event (kwargs as `app_mention_event`) for Socket Mode."""
        payload = app_mention_event(text, **kwargs)
        return self.push_envelope("events_api", payload, accepts_response_payload=False)

    def disconnect_sockets(self, reason: str = "refresh_requested", grace: float = 1.0) -> None:
        """Send Slack's `disconnect` message on every socket, and close the ones the client
        has not closed itself after `grace` seconds (Slack, too, warns before it closes)."""

        async def disconnect(ws: web.WebSocketResponse) -> None:
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}}
            await ws.send_str(json.dumps(message))
            deadline = time.monotonic() + grace
            while not ws.closed and time.monotonic() < deadline and not self._stopping:
                await asyncio.sleep(0.01)
            await ws.close()

        def spawn_all() -> None:
            for ws in list(self._sockets):
                self._spawn(disconnect(ws))

        self._in_loop(spawn_all)

    # -- routing -----------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._h_api)
        app.router.add_post("/_upload/{file_id}", self._h_upload)
        app.router.add_post("/_response/{ident}", self._h_response)
        app.router.add_get("/_socket", self._h_socket)

    async def _h_api(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        return await self._serve_api(request, request.match_info["method"], token)

    async def _h_upload(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_api(request, "_upload", None, dict(request.match_info))

    async def _h_response(self, request: web.Request) -> web.StreamResponse:
        ident = request.match_info["ident"]
        return await self._serve_api(request, "response_url", None, {"response_url_id": ident})

    def _resolve_method(self, method: str) -> tuple[str, Handler | None]:
        return method, self._handlers.get(method)

    def _normalize(self, params: dict[str, Any]) -> None:
        decode_json_fields(params, JSON_PARAMS)

    def _chat_of(self, params: dict[str, Any]) -> str | None:
        if "response_url_id" in params:
            with self._lock:
                return self._response_urls.get(params["response_url_id"])
        channel = params.get("channel") or params.get("channel_id")
        return None if not channel else str(channel)

    def _check_auth(self, method: str, token: str | None) -> Answer | None:
        if method in ("_upload", "response_url"):
            return None
        if not token:
            return self._error("not_authed")
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return self._error("not_allowed_token_type")
            if self.app_token is not None and token != self.app_token:
                return self._error("invalid_auth")
            return None
        if token.startswith("xapp-"):
            return self._error("not_allowed_token_type")
        if self.bot_token is not None and token != self.bot_token:
            return self._error("invalid_auth")
        return None

    def _unknown_method(self, method: str) -> Answer:
        return self._error("unknown_method")

    def _bad_request(self, message: str) -> Answer:
        return Answer(200, {"ok": False, "error": "invalid_arguments", "detail": message})

    def _rate_limited(self, hit: CapHit) -> Answer:
        return Answer(
            429,
            {"ok": False, "error": "ratelimited"},
            {"Retry-After": str(hit.retry_after)},
        )

    @staticmethod
    def _error(code: str, **extra: Any) -> Answer:
        return Answer(200, {"ok": False, "error": code, **extra})

    @staticmethod
    def _ok(delivered: bool = False, **result: Any) -> Answer:
        return Answer(200, {"ok": True, **result}, delivered=delivered)

    # -- methods -----------------------------------------------------------------------------

    def _auth_test(self, params: dict[str, Any], *_: Any) -> Answer:
        return self._ok(
            url="https://fake.slack.com/",
            team="Fake Team",
            user="rotation-bot",
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def _next_ts(self) -> str:
        return f"{self._ts_base}.{next(self._ts):06d}"

    def _message_problem(self, params: dict[str, Any]) -> Answer | None:
        if not params.get("channel"):
            return self._error("channel_not_found")
        text, blocks = params.get("text"), params.get("blocks")
        if not text and not blocks and not params.get("attachments"):
            return self._error("no_text")
        if text and len(str(text)) > MAX_TEXT:
            return self._error("msg_too_long")
        if blocks is not None:
            problem = blocks_problem(blocks)
            if problem:
                return self._error("invalid_blocks", errors=[problem])
        return None

    def _post_message(self, params: dict[str, Any], *_: Any) -> Answer:
        problem = self._message_problem(params)
        if problem:
            return problem
        channel = str(params["channel"])
        with self._lock:
            ts = self._next_ts()
            message = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "team": TEAM_ID,
                "text": params.get("text") or "",
                "ts": ts,
            }
            for key in ("blocks", "attachments", "thread_ts", "metadata"):
                if params.get(key) is not None:
                    message[key] = params[key]
            self._messages[(channel, ts)] = message
        return self._ok(delivered=True, channel=channel, ts=ts, message=message)

    def _update(self, params: dict[str, Any], *_: Any) -> Answer:
        problem = self._message_problem(params)
        if problem:
            return problem
        channel, ts = str(params["channel"]), str(params.get("ts"))
        with self._lock:
            message = self._messages.get((channel, ts))
            if message is None:
                return self._error("message_not_found")
            message["text"] = params.get("text") or ""
            for key in ("blocks", "attachments"):
                if params.get(key) is not None:
                    message[key] = params[key]
            message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
            return self._ok(channel=channel, ts=ts, text=message["text"], message=dict(message))

    def _post_ephemeral(self, params: dict[str, Any], *_: Any) -> Answer:
        problem = self._message_problem(params)
        if problem:
            return problem
        if not params.get("user"):
            return self._error("user_not_in_channel")
        with self._lock:
            ts = self._next_ts()
        return self._ok(delivered=True, message_ts=ts)

    def _conversations_info(self, params: dict[str, Any], *_: Any) -> Answer:
        channel = params.get("channel")
        if not channel:
            return self._error("channel_not_found")
        return self._ok(
            channel={
                "id": channel,
                "name": f"fake-{str(channel).lower()}",
                "is_channel": True,
                "is_private": False,
                "is_archived": False,
                "is_member": True,
                "created": self._ts_base,
            }
        )

    def _get_upload_url(self, params: dict[str, Any], *_: Any) -> Answer:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return self._error("invalid_arguments")
        with self._lock:
            file_id = f"F{next(self._file_ids):08d}"
            length = int(params["length"])
            self._uploads[file_id] = {"filename": params["filename"], "length": length}
        return self._ok(upload_url=f"{self.url}/_upload/{file_id}", file_id=file_id)

    def _upload(
        self, params: dict[str, Any], files: dict[str, UploadedFile], rec: RecordedRequest
    ) -> Answer:
        file_id = str(params.get("file_id", ""))
        data = next(iter(files.values())).data if files else b""
        with self._lock:
            entry = self._uploads.get(file_id)
            if entry is None:
                return Answer(404, "Not Found", {"Content-Type": "text/plain"})
            entry["data"] = data
        return Answer(200, f"OK - {len(data)}")

    def _complete_upload(self, params: dict[str, Any], *_: Any) -> Answer:
        items = params.get("files")
        if not isinstance(items, list) or not items:
            return self._error("invalid_arguments")
        out = []
        with self._lock:
            for item in items:
                entry = self._uploads.get(str(item.get("id")))
                if entry is None or "data" not in entry:
                    return self._error("file_not_found")
                out.append(
                    {
                        "id": item["id"],
                        "title": item.get("title") or entry["filename"],
                        "name": entry["filename"],
                        "size": len(entry["data"]),
                        "channels": [params["channel_id"]] if params.get("channel_id") else [],
                    }
                )
        return self._ok(delivered=bool(params.get("channel_id")), files=out)

    def _connections_open(self, params: dict[str, Any], *_: Any) -> Answer:
        ws_url = self.url.replace("http://", "ws://", 1)
        return self._ok(url=f"{ws_url}/_socket?ticket={uuid.uuid4()}&app_id={APP_ID}")

    def _response_url(
        self, params: dict[str, Any], files: dict[str, UploadedFile], rec: RecordedRequest
    ) -> Answer:
        with self._lock:
            known = params.get("response_url_id") in self._response_urls
        if not known:
            return Answer(404, "no_service", {"Content-Type": "text/plain"})
        return Answer(200, "ok", delivered=True)

    # -- Socket Mode -------------------------------------------------------------------------

    async def _h_socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        sender = asyncio.ensure_future(self._send_envelopes(ws))
        try:
            hello = {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                "connection_info": {"app_id": APP_ID},
            }
            await ws.send_str(json.dumps(hello))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._record_ack(msg.data)
        finally:
            sender.cancel()
            self._sockets.discard(ws)
        return ws

    def _record_ack(self, data: str) -> None:
        try:
            params = json.loads(data)
        except ValueError:
            params = {"_raw": data}
        envelope_id = params.get("envelope_id") if isinstance(params, dict) else None
        outcome = Outcome.OK if envelope_id else Outcome.ERROR
        with self._lock:
            channel = self._envelope_channels.get(str(envelope_id))
        rec = self._open_record("socket_mode.ack", channel, params, {}, None)
        self._close_record(rec, None, Answer(200, None), outcome)

    async def _send_envelopes(self, ws: web.WebSocketResponse) -> None:
        """Hand each pushed envelope to one open socket, in order."""
        while not ws.closed and not self._stopping:
            event = self._change_event()
            with self._lock:
                envelope = self._envelopes.pop(0) if self._envelopes else None
            if envelope is None:
                await self._wait_change(event, 3600)
                continue
            await ws.send_str(json.dumps(envelope))

    async def _before_stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.fakes.slack_api --port 0 --state-file X`."""
    run_cli(lambda args: FakeSlack(port=args.port), argv)


if __name__ == "__main__":
    main(sys.argv[1:])
