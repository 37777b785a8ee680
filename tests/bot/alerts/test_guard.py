"""The coverage guard on the real data: a price file cut by ticker (a valid CSV of the first
half of the members) is reported with its true coverage and fires nothing, while the full
files fire in the same weeks. Data: ../shared/data (see its README); skipped where absent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from bot.alerts.engine import Engine
from bot.cli import main
from bot.config.settings import GuardSettings
from bot.storage.store import Store
from bot.storage.tables import AlertRow, Run
from signals.indicators import compute_signals
from signals.market import MarketData
from signals.rules import RuleSpec
from signals.sources import DataSpec, load_market
from tests.bot.conftest import SHARED_DATA

pytestmark = pytest.mark.realdata

AS_OF = "2026-07-31"  # the files' last session
SINCE = "2024-06-03"  # enough history for every 200-session window in July 2026
ETFS = SHARED_DATA / "etfs_daily.csv.gz"
MEMBERS = SHARED_DATA / "sp500_constituents.csv"
SHARES = SHARED_DATA / "sp500_shares.csv.gz"


@pytest.fixture(scope="module")
def half_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, float]:
    """A long price file with only the first half of the members (by ticker), and the
    coverage of the half and of the full file on AS_OF, counted here from the raw CSVs."""
    if not (SHARED_DATA / "sp500_members_daily.csv.gz").is_file():
        pytest.skip(f"real market data not found at {SHARED_DATA.resolve()}")
    members = sorted(pd.read_csv(MEMBERS, dtype=str, keep_default_na=False)["ticker"])
    kept = set(members[: len(members) // 2])
    prices = pd.read_csv(SHARED_DATA / "sp500_members_daily.csv.gz", dtype={"ticker": str})
    cut = prices[prices["ticker"].isin(kept) & (prices["date"] >= SINCE)]
    path = tmp_path_factory.mktemp("half") / "members_first_half.csv"
    cut.to_csv(path, index=False)
    on_day = prices.loc[prices["date"] == AS_OF, "ticker"]
    full_cov = on_day.isin(members).sum() / len(members)
    half_cov = on_day.isin(kept).sum() / len(members)
    return path, float(half_cov), float(full_cov)


def _evaluate_json(capsys: pytest.CaptureFixture[str], prices: list[Path]) -> dict[str, Any]:
    args = ["evaluate", "--json", "--members", str(MEMBERS), "--shares", str(SHARES)]
    for p in prices:
        args += ["--prices", str(p)]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_reports_the_coverage_of_a_file_cut_by_ticker(
    half_file: tuple[Path, float, float], capsys: pytest.CaptureFixture[str]
) -> None:
    path, half_cov, full_cov = half_file
    assert 0.45 < half_cov < 0.55 and full_cov > 0.98
    half = _evaluate_json(capsys, [path, ETFS])
    assert half["as_of"] == AS_OF
    assert half["freshness"]["stale_sessions"] == 0
    assert half["freshness"]["coverage"] == pytest.approx(half_cov)
    full = _evaluate_json(capsys, [SHARED_DATA / "sp500_members_daily.csv.gz", ETFS])
    assert full["freshness"]["coverage"] == pytest.approx(full_cov)
    # the console snapshot's footer shows the same number
    args = ["evaluate", "--members", str(MEMBERS), "--prices", str(path), "--prices", str(ETFS)]
    assert main(args) == 0
    assert f"coverage {half_cov * 100:.1f}%" in capsys.readouterr().out


def _engine_run(data: MarketData, rules: list[RuleSpec]) -> tuple[list[tuple[str, str, str]], Run]:
    """Initialise on 2026-04-01, then catch up to AS_OF as the daemon would."""
    store = Store()
    try:
        engine = Engine(store, rules, GuardSettings(min_coverage=0.9), enqueue=False)
        history = compute_signals(data)
        engine.evaluate(history, data, pd.Timestamp("2026-04-01"))
        engine.evaluate(history, data, pd.Timestamp(AS_OF))
        with store.transaction() as s:
            alerts = [
                (r.rule_id, r.transition, r.session.isoformat())
                for r in s.scalars(select(AlertRow).order_by(AlertRow.session))
            ]
            run = s.scalars(select(Run).order_by(Run.id.desc())).first()
            assert run is not None
            s.expunge(run)
        return alerts, run
    finally:
        store.close()


def test_a_file_cut_by_ticker_fires_nothing(
    half_file: tuple[Path, float, float], real_data: MarketData, default_rules: list[RuleSpec]
) -> None:
    path, half_cov, full_cov = half_file
    half = load_market(
        DataSpec(source="files", prices=(path, ETFS), members=MEMBERS, shares=SHARES)
    )
    alerts, run = _engine_run(half, default_rules)
    assert [a for a in alerts if a[1] in ("fired", "resolved")] == []
    assert run.outcome == "guarded" and run.as_of.isoformat() == AS_OF
    assert run.coverage == pytest.approx(half_cov)
    assert "of members have a close" in (run.reason or "")
    # the full files fire breadth_broadening in the same weeks, and their run is not guarded
    alerts, run = _engine_run(real_data, default_rules)
    assert ("breadth_broadening", "fired", "2026-07-07") in alerts
    assert run.outcome == "evaluated" and run.coverage == pytest.approx(full_cov)
