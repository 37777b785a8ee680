"""The shared machinery of the fakes: cap arithmetic against a brute-force model, fault rules,
parameter merging, and running a fake in another process under remote control."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.common import Cap, CapScope, FaultRule, RateCaps, hang
from tests.fakes.server import RemoteFake
from tests.fakes.slack_api import TEST_BOT_TOKEN, FakeSlack
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram, telegram_caps

PROJECT = Path(__file__).resolve().parents[2]


def admitted_by_brute_force(times: list[float], limit: int, window: float) -> list[bool]:
    """Independent model: admit a request when fewer than `limit` admitted ones lie in
    (t - window, t]."""
    admitted: list[float] = []
    verdicts = []
    for t in times:
        ok = sum(1 for a in admitted if t - window < a <= t) < limit
        verdicts.append(ok)
        if ok:
            admitted.append(t)
    return verdicts


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(0.0, 0.3), min_size=1, max_size=80),
    limit=st.integers(1, 6),
    window=st.floats(0.1, 2.0),
    scale=st.sampled_from([0.5, 1.0, 4.0]),
)
def test_sliding_window_matches_the_brute_force_model(gaps, limit, window, scale):
    caps = RateCaps(
        [Cap("global", limit, window, CapScope.GLOBAL)], counted_methods={"send"}, time_scale=scale
    )
    times = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    verdicts = []
    for t in times:
        hit = caps.check("send", "1", t)
        verdicts.append(hit is None)
        if hit is None:
            caps.note("send", "1", t)
        else:
            assert 0 < hit.wait <= window / scale + 1e-9
    assert verdicts == admitted_by_brute_force(times, limit, window / scale)


def test_scopes_methods_and_switches():
    caps = telegram_caps()
    caps.note("sendMessage", "-5", 0.0)
    assert caps.check("sendMessage", "-5", 0.5).cap.name == "chat"
    assert caps.check("getUpdates", "-5", 0.5) is None  # only send methods count
    caps.set("chat", enabled=False)
    for i in range(19):
        caps.note("sendMessage", "-5", 1.0 + i * 0.1)
    hit = caps.check("sendMessage", "-5", 3.0)
    assert (hit.cap.name, hit.retry_after) == ("group", 57)  # first of the 20 frees at 60.0
    assert caps.check("sendMessage", "5", 3.0) is None  # positive ids are not groups
    caps.enabled = False
    assert caps.check("sendMessage", "-5", 3.0) is None


def test_fault_rules_match_chat_method_and_count_down():
    rule = FaultRule(hang(), chat_id="7", method="sendMessage", times=2)
    assert rule.matches("sendmessage", "7") and not rule.matches("sendPhoto", "7")
    assert not rule.matches("sendMessage", "8")
    rule.hits = 2
    assert rule.exhausted and not rule.matches("sendMessage", "7")
    assert FaultRule(hang()).matches("anything", None)


def test_params_merge_query_json_and_form_and_tolerate_empty_json(telegram_fake: FakeTelegram):
    url = f"{telegram_fake.base_url}{TEST_TOKEN}/sendMessage"
    with httpx.Client() as client:
        client.post(
            url, params={"chat_id": "5"}, json={"text": "json", "disable_notification": True}
        )
        client.post(
            url, params={"parse_mode": "HTML"}, data={"chat_id": "6", "text": "<b>form</b>"}
        )
        bad = client.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    first, second, third = telegram_fake.requests()
    assert first.params == {"chat_id": 5, "text": "json", "disable_notification": True}
    assert second.params == {"parse_mode": "HTML", "chat_id": 6, "text": "<b>form</b>"}
    assert (bad.status_code, third.outcome) == (400, "error")
    with FakeSlack() as slack, httpx.Client() as client:
        empty = client.post(
            f"{slack.base_url}auth.test",
            content=b"",
            headers={
                "Authorization": f"Bearer {TEST_BOT_TOKEN}",
                "Content-Type": "application/json",
            },
        )
    assert empty.json()["ok"] is True


def test_remote_control_of_a_fake_in_a_thread(telegram_fake: FakeTelegram):
    remote = RemoteFake(telegram_fake.url)
    rule = remote.control("inject", fault={"preset": "migrated", "new_chat_id": -1002}, chat_id=-1)
    assert rule["fault"]["status"] == 400 and rule["times"] is None
    remote.control("push_command", chat_id=3, user_id=3, text="/help")
    with httpx.Client() as client:
        moved = client.post(
            f"{telegram_fake.base_url}{TEST_TOKEN}/sendMessage", data={"chat_id": "-1", "text": "x"}
        )
        updates = client.get(f"{telegram_fake.base_url}{TEST_TOKEN}/getUpdates").json()
    assert moved.json()["parameters"] == {"migrate_to_chat_id": -1002}
    assert updates["result"][0]["message"]["text"] == "/help"
    [rec] = remote.requests(method="sendMessage")
    assert (rec["chat_id"], rec["outcome"], rec["fault"]) == ("-1", "fault", "migrated")
    with pytest.raises(RuntimeError, match="unknown control call"):
        remote.control("stop")


def test_cli_runs_a_fake_in_its_own_process(tmp_path: Path):
    state = tmp_path / "slack.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.slack_api", "--port", "0", "--state-file", str(state)],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    try:
        deadline = time.monotonic() + 10
        while not state.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "fake did not start"
            time.sleep(0.02)
        info = json.loads(state.read_text())
        remote = RemoteFake(info["url"])
        remote.control("inject", fault="is_archived", chat_id="C9")
        with httpx.Client(headers={"Authorization": f"Bearer {TEST_BOT_TOKEN}"}) as client:
            ok = client.post(
                f"{info['base_url']}chat.postMessage", json={"channel": "C1", "text": "a"}
            )
            no = client.post(
                f"{info['base_url']}chat.postMessage", json={"channel": "C9", "text": "a"}
            )
        assert ok.json()["ok"] is True and no.json() == {"ok": False, "error": "is_archived"}
        assert [r["delivered"] for r in remote.requests(method="chat.postMessage")] == [True, False]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_count_agrees_with_the_records_even_across_a_clear(telegram_fake: FakeTelegram):
    telegram_fake.inject(hang(0.3, then="answer"), chat_id=9, times=1)
    url = f"{telegram_fake.base_url}{TEST_TOKEN}/sendMessage"
    with httpx.Client() as client:
        for chat in (1, 1, 2, 3):
            client.post(url, data={"chat_id": str(chat), "text": "x"})
        client.post(f"{telegram_fake.base_url}{TEST_TOKEN}/getMe")
        hung = threading.Thread(target=client.post, args=(url,), kwargs={"data": {"chat_id": "9"}})
        hung.start()
        telegram_fake.wait_until(lambda: telegram_fake.count(outcome="pending") == 1)
        telegram_fake.clear_requests()  # forgets the hanging request too
        hung.join()
        for chat in (4, 4):
            client.post(url, data={"chat_id": str(chat), "text": "x"})
    records = telegram_fake.requests()
    assert [r.outcome for r in records] == ["ok", "rate_limited"]
    for method in (None, "sendMessage", "getMe"):
        for outcome in (None, "ok", "rate_limited", "pending"):
            for delivered in (None, True, False):
                expected = sum(
                    1
                    for r in records
                    if (method is None or r.method == method)
                    and (outcome is None or r.outcome == outcome)
                    and (delivered is None or r.delivered == delivered)
                )
                got = telegram_fake.count(method, outcome=outcome, delivered=delivered)
                assert got == expected, (method, outcome, delivered)
