"""PriceCache: what it asks the fetcher for, and what it does with bad files.

A recording fake fetcher answers from a "truth" panel; the expected requests are worked out
here from the NYSE calendar, not from the cache's own helpers.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from signals import calendar
from signals.cache import PriceCache

START = date(2024, 1, 2)
TICKERS = ["AAA", "BBB", "CCC"]


def truth_panel(tickers: list[str], end: str = "2024-06-28", seed: int = 1) -> pd.DataFrame:
    days = calendar.sessions(START, end)
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0005, 0.01, size=(len(days), len(tickers)))
    return pd.DataFrame(100 * np.exp(np.cumsum(steps, axis=0)), index=days, columns=tickers)


class Recorder:
    """A fetcher answering from `truth`; `calls` holds (tickers, start, end) per request."""

    def __init__(self, truth: pd.DataFrame) -> None:
        self.truth = truth
        self.calls: list[tuple[tuple[str, ...], date, date]] = []

    def __call__(self, tickers: list[str], start: date, end: date) -> pd.DataFrame:
        self.calls.append((tuple(tickers), start, end))
        cols = [t for t in tickers if t in self.truth.columns]
        return self.truth.loc[pd.Timestamp(start) : pd.Timestamp(end), cols]


def nth_session_back(day: str, n: int) -> date:
    """The n-th session counting back from `day` (1 = `day` itself), from the calendar."""
    days = calendar.sessions(pd.Timestamp(day) - pd.Timedelta(days=40), day)
    return days[-n].date()


def expect(panel: pd.DataFrame, truth: pd.DataFrame, end: str) -> None:
    want = truth.loc[:end].dropna(how="all")
    pd.testing.assert_frame_equal(panel, want, check_names=False, check_freq=False)
    assert panel.index.name == "date"
    assert panel.index.dtype == "datetime64[ns]"


@pytest.fixture
def cache(tmp_path):
    return PriceCache(tmp_path / "prices.parquet", overlap=5)


def test_first_refresh_fetches_full_history(cache):
    truth = truth_panel(TICKERS)
    fetch = Recorder(truth)
    panel = cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    assert fetch.calls == [(tuple(TICKERS), START, date(2024, 5, 31))]
    expect(panel, truth, "2024-05-31")
    assert cache.path.exists()


def test_second_refresh_asks_only_missing_sessions_plus_overlap(cache):
    truth = truth_panel(TICKERS)
    fetch = Recorder(truth)
    cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    fetch.calls.clear()
    panel = cache.refresh(fetch, TICKERS, date(2024, 6, 7), START)
    # 5 sessions of overlap ending on the last cached session 2024-05-31
    assert nth_session_back("2024-05-31", 5) == date(2024, 5, 24)
    assert fetch.calls == [(tuple(TICKERS), date(2024, 5, 24), date(2024, 6, 7))]
    expect(panel, truth, "2024-06-07")


def test_up_to_date_cache_fetches_nothing(cache):
    fetch = Recorder(truth_panel(TICKERS))
    cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    fetch.calls.clear()
    # a weekend end date maps to Friday's session, which is cached
    panel = cache.refresh(fetch, TICKERS, date(2024, 6, 2), START)
    assert fetch.calls == []
    expect(panel, fetch.truth, "2024-05-31")
    # an earlier as-of is served from the cache too, cut at that session
    assert cache.refresh(fetch, TICKERS, date(2024, 3, 1), START).index[-1] == pd.Timestamp(
        "2024-03-01"
    )
    assert fetch.calls == []


def test_new_ticker_gets_full_history_others_only_new_sessions(cache):
    truth = truth_panel([*TICKERS, "NEW"])
    fetch = Recorder(truth)
    cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    fetch.calls.clear()
    panel = cache.refresh(fetch, [*TICKERS, "NEW"], date(2024, 6, 5), START)
    assert fetch.calls == [
        (tuple(TICKERS), date(2024, 5, 24), date(2024, 6, 5)),
        (("NEW",), START, date(2024, 6, 5)),
    ]
    expect(panel, truth, "2024-06-05")


def test_revised_past_close_refetches_that_ticker_in_full(cache, caplog):
    truth = truth_panel(TICKERS)
    fetch = Recorder(truth)
    cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    fetch.calls.clear()
    revised = truth.copy()
    revised.loc[: pd.Timestamp("2024-06-03"), "BBB"] *= 0.99  # a 1 % dividend re-adjusts history
    fetch.truth = revised
    with caplog.at_level(logging.INFO, logger="signals.cache"):
        panel = cache.refresh(fetch, TICKERS, date(2024, 6, 7), START)
    assert fetch.calls == [
        (tuple(TICKERS), date(2024, 5, 24), date(2024, 6, 7)),
        (("BBB",), START, date(2024, 6, 7)),
    ]
    expect(panel, revised, "2024-06-07")
    assert "BBB" in caplog.text


def test_changes_within_tolerance_are_not_revisions(cache):
    truth = truth_panel(TICKERS)
    fetch = Recorder(truth)
    cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    fetch.calls.clear()
    fetch.truth = truth * (1 + 1e-7)  # float noise from Yahoo's rounding
    cache.refresh(fetch, TICKERS, date(2024, 6, 7), START)
    assert len(fetch.calls) == 1


def test_nan_last_bar_is_asked_again(cache):
    truth = truth_panel(TICKERS)
    holey = truth.copy()
    holey.loc[pd.Timestamp("2024-05-31"), "CCC"] = np.nan  # Yahoo's NaN last bar
    fetch = Recorder(holey)
    panel = cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    assert np.isnan(panel.loc["2024-05-31", "CCC"])
    fetch.calls.clear()
    fetch.truth = truth  # Yahoo has the close now
    panel = cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    assert fetch.calls == [(("CCC",), date(2024, 5, 23), date(2024, 5, 31))]
    expect(panel, truth, "2024-05-31")


def test_ticker_without_data_is_not_asked_again_the_same_session(cache):
    truth = truth_panel(TICKERS)
    fetch = Recorder(truth)
    panel = cache.refresh(fetch, [*TICKERS, "DEAD"], date(2024, 5, 31), START)
    assert panel["DEAD"].isna().all()
    fetch.calls.clear()
    cache.refresh(fetch, [*TICKERS, "DEAD"], date(2024, 5, 31), START)
    assert fetch.calls == []
    cache.refresh(fetch, [*TICKERS, "DEAD"], date(2024, 6, 3), START)
    assert fetch.calls == [
        (tuple(TICKERS), date(2024, 5, 24), date(2024, 6, 3)),
        (("DEAD",), START, date(2024, 6, 3)),
    ]


def test_earlier_start_rebuilds(cache):
    truth = truth_panel(TICKERS)
    fetch = Recorder(truth)
    cache.refresh(fetch, TICKERS, date(2024, 5, 31), date(2024, 3, 1))
    fetch.calls.clear()
    panel = cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    assert fetch.calls == [(tuple(TICKERS), START, date(2024, 5, 31))]
    expect(panel, truth, "2024-05-31")


def test_unrequested_tickers_stay_in_the_file(cache):
    truth = truth_panel(TICKERS)
    fetch = Recorder(truth)
    cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    panel = cache.refresh(fetch, ["AAA"], date(2024, 6, 7), START)
    assert list(panel.columns) == ["AAA"]
    state = cache.read()
    assert set(state.panel.columns) == set(TICKERS)
    assert state.through["AAA"] == pd.Timestamp("2024-06-07")
    assert state.through["BBB"] == pd.Timestamp("2024-05-31")


# -- bad files ------------------------------------------------------------------------------


def _rebuilt(cache, caplog) -> None:
    """The next refresh must log, move the bad file aside and fetch everything again."""
    truth = truth_panel(TICKERS)
    fetch = Recorder(truth)
    with caplog.at_level(logging.WARNING, logger="signals.cache"):
        panel = cache.refresh(fetch, TICKERS, date(2024, 5, 31), START)
    assert fetch.calls == [(tuple(TICKERS), START, date(2024, 5, 31))]
    expect(panel, truth, "2024-05-31")
    assert "rebuilding from scratch" in caplog.text
    assert cache.path.with_name(cache.path.name + ".corrupt").exists()
    assert cache.read() is not None  # the rebuilt file is valid


def _fill(cache) -> None:
    cache.refresh(Recorder(truth_panel(TICKERS)), TICKERS, date(2024, 5, 31), START)


def test_garbage_file_is_rebuilt(cache, caplog):
    cache.path.write_bytes(b"this is not parquet at all" * 50)
    _rebuilt(cache, caplog)


def test_truncated_file_is_rebuilt(cache, caplog):
    _fill(cache)
    data = cache.path.read_bytes()
    cache.path.write_bytes(data[: len(data) // 2])
    _rebuilt(cache, caplog)


def test_wrong_schema_is_rebuilt(cache, caplog):
    long = truth_panel(TICKERS).stack().rename("close").reset_index()
    long.columns = ["date", "ticker", "close"]
    long.to_parquet(cache.path)  # a valid Parquet file, but not this cache's
    _rebuilt(cache, caplog)


def _rewrite(cache, change) -> None:
    """Rewrite the cache file with `change` applied to its frame, keeping its metadata."""
    _fill(cache)
    table = pq.read_table(cache.path)
    meta = table.schema.metadata
    frame = change(table.to_pandas())
    pq.write_table(pa.Table.from_pandas(frame).replace_schema_metadata(meta), cache.path)


def test_changed_values_fail_the_checksum_and_are_rebuilt(cache, caplog):
    def bump(f: pd.DataFrame) -> pd.DataFrame:
        f.iloc[3, 1] = f.iloc[3, 1] * 2
        return f

    _rewrite(cache, bump)
    _rebuilt(cache, caplog)
    assert "checksum" in caplog.text


def test_missing_rows_fail_the_metadata_and_are_rebuilt(cache, caplog):
    _rewrite(cache, lambda f: f.iloc[:-10])
    _rebuilt(cache, caplog)
    assert "rows" in caplog.text


def test_string_column_is_a_wrong_schema(cache, caplog):
    _rewrite(cache, lambda f: f.assign(BBB=f["BBB"].astype(str)))
    _rebuilt(cache, caplog)


def test_other_schema_version_is_rebuilt(cache, caplog):
    _fill(cache)
    table = pq.read_table(cache.path)
    meta = dict(table.schema.metadata)
    record = json.loads(meta[b"rotation_bot.price_cache"])
    record["schema_version"] = 99
    meta[b"rotation_bot.price_cache"] = json.dumps(record).encode()
    pq.write_table(table.replace_schema_metadata(meta), cache.path)
    _rebuilt(cache, caplog)


def test_write_is_atomic(cache, monkeypatch):
    _fill(cache)
    before = cache.path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        cache.refresh(Recorder(truth_panel(TICKERS)), TICKERS, date(2024, 6, 7), START)
    assert cache.path.read_bytes() == before
    assert sorted(os.listdir(cache.path.parent)) == ["prices.parquet"]
