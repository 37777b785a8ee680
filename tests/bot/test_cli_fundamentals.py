"""The fundamentals through the real command line: `evaluate --json` on the demo and on files
(`--fundamentals`, the file's values exactly, from the first session on or after their date),
a backtest rule on bank_nim that fires no earlier than the publication, a bad file in one line,
and the config keys."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from bot.cli import main
from bot.config.settings import load_settings
from bot.model import ConfigError
from signals.calendar import sessions

DAYS = sessions("2025-06-02", "2025-10-31")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ROTATION_BOT_CONFIG", "ROTATION_BOT_SEC_USER_AGENT", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)


def demo_config(tmp_path: Path) -> Path:
    path = tmp_path / "rotation.yaml"
    path.write_text('data: {source: demo, demo_end: "2026-10-30"}\n', encoding="utf-8")
    return path


def small_files(tmp_path: Path) -> list[str]:
    """Members (one bank, one energy company), their closes, the ETFs', and a config."""
    (tmp_path / "members.csv").write_text(
        "ticker,name,sector\nJPM,JPMorgan,Financials\nXOM,Exxon,Energy\n", encoding="utf-8"
    )
    rows = ["date,ticker,close"]
    for i, day in enumerate(DAYS):
        for ticker, base in (("JPM", 200), ("XOM", 100), ("SPY", 500), ("XLF", 50), ("XLK", 200)):
            rows.append(f"{day:%Y-%m-%d},{ticker},{base + i * 0.1:.2f}")
    (tmp_path / "prices.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "rotation.yaml").write_text("data: {source: files}\n", encoding="utf-8")
    return [
        "--config",
        str(tmp_path / "rotation.yaml"),
        "--prices",
        str(tmp_path / "prices.csv"),
        "--members",
        str(tmp_path / "members.csv"),
    ]


FUNDAMENTALS = """date,series,value,period_end
2025-06-02,bank_nim,3.05,2025-03-31
2025-09-06,bank_nim,3.37,2025-06-30
2025-08-14,energy_fcf_yield,8.75,2025-06-30
2025-07-31,sp500_pe_bottom_up,24.6,2025-06-30
2025-08-20,sp500_forward_pe,21.3,
"""


def evaluate(capsys, args: list[str]) -> dict:
    assert main(["evaluate", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_evaluate_json_carries_the_fundamentals(tmp_path, capsys, clean_env) -> None:
    out = evaluate(capsys, ["--config", str(demo_config(tmp_path))])
    signals = out["signals"]
    nim, fcf, val = signals["bank_nim"], signals["energy_fcf_yield"], signals["valuation"]
    assert out["simulated"] is True
    assert 3.0 <= nim["value"] <= 3.4 and nim["source"] == "simulated"
    assert pd.Timestamp(nim["published"]) <= pd.Timestamp(out["as_of"])
    assert 5 <= fcf["value"] <= 11 and 0 < fcf["covered"] <= fcf["members"]
    assert fcf["member_coverage"] == pytest.approx(fcf["covered"] / fcf["members"])
    assert 18 <= val["sp500_pe_bottom_up"] <= 28 and val["pe_covered"] < val["pe_members"]
    # the keys it had stay
    for key in ("spy_trailing_pe", "spy_forward_pe", "iwm_trailing_pe", "iwm_forward_pe"):
        assert val[key] is not None


def test_files_evaluate_shows_the_files_values_exactly(tmp_path, capsys, clean_env) -> None:
    args = small_files(tmp_path)
    (tmp_path / "f.csv").write_text(FUNDAMENTALS, encoding="utf-8")
    args += ["--fundamentals", str(tmp_path / "f.csv")]
    # Friday 2025-09-05: the 09-06 margin (a Saturday) is not public yet
    before = evaluate(capsys, [*args, "--as-of", "2025-09-05"])["signals"]
    assert before["bank_nim"]["value"] == 3.05
    assert before["bank_nim"]["published"] == "2025-06-02"
    # Monday 09-08 is the first session on or after it
    after = evaluate(capsys, [*args, "--as-of", "2025-09-08"])["signals"]
    assert after["bank_nim"] == {
        "value": 3.37,
        "change_1w": pytest.approx(3.37 - 3.05),
        "change_1m": pytest.approx(3.37 - 3.05),
        "source": "file",
        "period_end": "2025-06-30",
        "published": "2025-09-06",
    }
    assert after["energy_fcf_yield"]["value"] == 8.75
    assert after["energy_fcf_yield"]["source"] == "file"
    assert after["valuation"]["sp500_pe_bottom_up"] == 24.6
    assert after["valuation"]["pe_published"] == "2025-07-31"
    assert after["valuation"]["sp500_forward_pe"] == 21.3
    assert after["valuation"]["forward_pe_published"] == "2025-08-20"
    # before its first date, none
    early = evaluate(capsys, [*args, "--as-of", "2025-07-30"])["signals"]
    assert early["valuation"]["sp500_pe_bottom_up"] is None
    assert early["energy_fcf_yield"]["value"] is None


def test_a_backtest_rule_on_bank_nim_fires_on_publication_not_before(
    tmp_path, capsys, clean_env
) -> None:
    args = small_files(tmp_path)
    (tmp_path / "f.csv").write_text(FUNDAMENTALS, encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {id: nim_up, signal: bank_nim, op: crosses_above, threshold: 3.3}\n",
        encoding="utf-8",
    )
    code = main(
        [
            "backtest",
            "--json",
            "--from",
            "2025-06-02",
            "--to",
            "2025-10-31",
            *args,
            "--fundamentals",
            str(tmp_path / "f.csv"),
            "--rules",
            str(tmp_path / "rules.yaml"),
        ]
    )
    assert code == 0
    events = json.loads(capsys.readouterr().out)["rules"]["nim_up"]["events"]
    fired = [e for e in events if e["kind"] == "fired"]
    # the Q2 margin ends 06-30, yet is public only from 09-06 (a Saturday): Monday 09-08
    assert fired and fired[0]["date"] == "2025-09-08" and fired[0]["value"] == 3.37


def test_a_bad_fundamentals_file_is_one_line(tmp_path, capsys, clean_env) -> None:
    args = small_files(tmp_path)
    (tmp_path / "bad.csv").write_text("date,series,value\n2025-06-02,bank_nim,high\n")
    assert main(["evaluate", *args, "--fundamentals", str(tmp_path / "bad.csv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("rotation-bot: error: ") and "Traceback" not in "\n".join(err)
    assert "bad.csv: line 2: value 'high' is not a number" in err[-1]


def test_config_keys_and_the_environment(tmp_path, monkeypatch, clean_env) -> None:
    path = tmp_path / "rotation.yaml"
    path.write_text(
        "data:\n  source: yahoo\n  fundamentals: [a.csv, b.csv]\n"
        "  sec_user_agent: 'Research desk desk@example.com'\n",
        encoding="utf-8",
    )
    data = load_settings(str(path)).data
    assert data.fundamentals == (Path("a.csv"), Path("b.csv"))
    assert data.spec().sec_user_agent == "Research desk desk@example.com"
    monkeypatch.setenv("ROTATION_BOT_SEC_USER_AGENT", "Ops ops@example.org")
    assert load_settings(str(path)).data.sec_user_agent == "Ops ops@example.org"
    path.write_text("data:\n  sec_user_agent: rotation-bot\n", encoding="utf-8")
    monkeypatch.delenv("ROTATION_BOT_SEC_USER_AGENT")
    with pytest.raises(ConfigError, match="sec_user_agent.*contact e-mail"):
        load_settings(str(path))


def test_check_config_names_a_missing_fundamentals_file(tmp_path, capsys, clean_env) -> None:
    path = tmp_path / "rotation.yaml"
    path.write_text(f"data: {{fundamentals: [{tmp_path / 'nope.csv'}]}}\n", encoding="utf-8")
    assert main(["check-config", str(path)]) == 1
    assert "data.fundamentals: file not found" in capsys.readouterr().err


def test_the_console_chat_answers_with_the_files_figures(
    tmp_path, capsys, monkeypatch, clean_env
) -> None:
    args = small_files(tmp_path)
    (tmp_path / "f.csv").write_text(FUNDAMENTALS, encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("sector financials\nsector energy\nvaluation\n"))
    chat = [
        "chat",
        "--no-charts",
        "--as-of",
        "2025-09-08",
        "--fundamentals",
        str(tmp_path / "f.csv"),
    ]
    assert main([*chat, *args]) == 0
    out = capsys.readouterr().out
    assert (
        "Bank net interest margin: 3.37 % (2025 Q2, published 2025-09-06; fundamentals file)."
        in out
    )
    assert "Energy FCF yield: 8.75 % (2025 Q2, published 2025-08-14; fundamentals file)." in out
    assert "Bottom-up trailing P/E: fundamentals file, published 2025-07-31." in out
    assert re.search(r"S&P 500 bottom-up\s+24\.60\s+21\.30\s+2025-08-20", out)
    assert "Bottom-up forward P/E: fundamentals file, published 2025-08-20." in out


def test_evaluate_text_notes_dates_and_coverage(tmp_path, capsys, clean_env) -> None:
    assert main(["evaluate", "--json", "--config", str(demo_config(tmp_path))]) == 0
    signals = json.loads(capsys.readouterr().out)["signals"]
    fcf, val = signals["energy_fcf_yield"], signals["valuation"]
    assert main(["evaluate", "--config", str(demo_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    nim = signals["bank_nim"]
    assert (
        f"bank_nim: period ending {nim['period_end']}, published {nim['published']} (simulated)"
        in out
    )
    assert (
        f"energy_fcf_yield: latest filing {fcf['published']}, "
        f"{fcf['covered']} of {fcf['members']} members (partial) (simulated)"
    ) in out
    assert f"{val['pe_covered']} of {val['pe_members']} members (partial)" in out
