"""`telegram:` settings and what check-config says of them: polling by default; webhook mode
needs an https URL (file) and TELEGRAM_WEBHOOK_SECRET (environment), each refused with one
line naming what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config.settings import Settings

URL = "https://bot.example.com/telegram/webhook"
TOKEN = "123456:config-test-token"
SECRET = "s3cr3t_webhook-token"


@pytest.fixture
def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """check-config on `text`: exit code, stdout, stderr. Env variables from `env`."""
    for var in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)

    def run(text: str, **env: str) -> tuple[int, str, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        path = tmp_path / "rotation.yaml"
        path.write_text(f"database_url: sqlite:///{tmp_path / 'bot.db'}\n" + text, "utf-8")
        code = main(["check-config", str(path)])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_polling_is_the_default() -> None:
    tg = Settings().telegram
    assert (tg.mode, tg.webhook_url, tg.max_connections) == ("polling", None, 40)


def test_check_config_prints_the_polling_mode(check) -> None:
    code, out, _ = check("")
    assert code == 0 and "telegram mode: polling (one process)" in out.splitlines()


def test_check_config_prints_the_webhook_mode(check) -> None:
    text = f"telegram: {{mode: webhook, webhook_url: '{URL}', max_connections: 12}}\n"
    code, out, err = check(text, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("telegram mode:"))
    assert URL in line and "/telegram/webhook" in line and "max_connections 12" in line
    assert "secret set" in line and SECRET not in out + err


@pytest.mark.parametrize(
    ("telegram", "field", "words"),
    [
        ("{mode: webhook}", "telegram", "needs telegram.webhook_url"),
        (f"{{mode: webhook, webhook_url: '{URL[:4] + URL[5:]}'}}", "webhook_url", "https"),
        ("{mode: webhook, webhook_url: 'https://'}", "webhook_url", "https"),
        ("{mode: hooks}", "telegram.mode", "'polling' or 'webhook'"),
        (f"{{mode: webhook, webhook_url: '{URL}', max_connections: 0}}", "max_connections", "1"),
    ],
)
def test_bad_webhook_settings_are_one_line_naming_the_field(
    check, telegram: str, field: str, words: str
) -> None:
    code, out, err = check(f"guard: {{}}\ntelegram: {telegram}\n")
    assert code == 1 and out == ""
    (problem,) = [x.strip() for x in err.splitlines()[1:]]
    assert "rotation.yaml:3: telegram" in problem  # the line of `telegram:` in the file
    assert field in problem and words in problem


WEBHOOK = f"telegram: {{mode: webhook, webhook_url: '{URL}'}}\n"


def test_webhook_mode_without_the_secret_is_an_error_when_the_bot_would_start(check) -> None:
    code, out, err = check(WEBHOOK, TELEGRAM_BOT_TOKEN=TOKEN)
    assert code == 1
    assert err.splitlines()[1].strip() == (
        "telegram.mode is webhook: set TELEGRAM_WEBHOOK_SECRET (1-256 characters: A-Z a-z 0-9 _ -)"
    )


def test_webhook_mode_without_any_telegram_secret_is_a_warning(check) -> None:
    code, out, _ = check(WEBHOOK)
    assert code == 0
    assert "warning: telegram.mode is webhook: set TELEGRAM_WEBHOOK_SECRET" in out


@pytest.mark.parametrize("secret", ["has space", "slash/es", "x" * 257, "ümlaut"])
def test_a_secret_telegram_would_refuse_is_an_error(check, secret: str) -> None:
    code, _, err = check(WEBHOOK, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=secret)
    assert code == 1
    assert "TELEGRAM_WEBHOOK_SECRET: Telegram allows only" in err
    assert secret not in err  # a secret is never repeated, not even a bad one


def test_webhook_mode_needs_the_health_server(check) -> None:
    text = WEBHOOK + "health: {enabled: false}\n"
    code, _, err = check(text, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET)
    assert code == 1 and "health.enabled must be true" in err
