"""pytest fixtures for the fake chat APIs (loaded by tests/conftest.py).

Each fake runs on its own event loop in a background thread, so the same fixture serves sync
tests, `@pytest.mark.anyio` async tests and code under test running in a subprocess. In async
tests wait with `await fake.await_until(...)`, never the blocking `fake.wait_until(...)`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.slack_api import TEST_APP_TOKEN, TEST_BOT_TOKEN, FakeSlack
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram


@pytest.fixture
def telegram_fake() -> Iterator[FakeTelegram]:
    """A running fake Bot API with the real caps on; `telegram_fake.base_url` for PTB."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def slack_fake() -> Iterator[FakeSlack]:
    """A running fake Slack Web API + Socket Mode; `slack_fake.base_url` for slack-sdk."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def telegram_env(telegram_fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> FakeTelegram:
    """TELEGRAM_BOT_TOKEN and TELEGRAM_BASE_URL pointing at the fake."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("TELEGRAM_BASE_URL", telegram_fake.base_url)
    return telegram_fake


@pytest.fixture
def slack_env(slack_fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """SLACK_BOT_TOKEN, SLACK_APP_TOKEN and SLACK_API_URL pointing at the fake."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", TEST_BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", TEST_APP_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack_fake.base_url)
    return slack_fake
