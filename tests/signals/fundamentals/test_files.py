"""A user's fundamentals file: values used unchanged from their publication date; a file's
series replaces a source's; a bad line is one error naming the file and line."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from signals.calendar import sessions
from signals.errors import DataFileError
from signals.sources.fundamentals import (
    FredSource,
    daily_series,
    load_fundamentals_file,
    load_fundamentals_files,
    override,
)
from tests.signals.fundamentals.fake_sources import FakeFred

T = pd.Timestamp


def write(tmp_path, text, name="fundamentals.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_values_apply_unchanged_from_their_publication_date(tmp_path):
    path = write(
        tmp_path,
        "date,series,value,period_end\n"
        "2025-05-29,bank_nim,3.25,2025-03-31\n"
        "2025-08-28,bank_nim,3.283,2025-06-30\n"
        "2025-08-30,energy_fcf_yield,8.7,\n",
    )
    got = load_fundamentals_file(path)
    assert [(o.series, o.value, o.unit, o.source, o.period_end, o.published) for o in got] == [
        ("bank_nim", 3.25, "%", "file", T("2025-03-31"), T("2025-05-29")),
        ("bank_nim", 3.283, "%", "file", T("2025-06-30"), T("2025-08-28")),
        ("energy_fcf_yield", 8.7, "%", "file", None, T("2025-08-30")),
    ]
    laid = daily_series(got, sessions("2025-08-01", "2025-09-05"), "energy_fcf_yield")
    assert math.isnan(laid.value_at("2025-08-29"))  # not public yet
    assert laid.value_at("2025-09-02") == 8.7  # Saturday's publication, first session after


def test_a_files_series_overrides_the_source(tmp_path):
    path = write(tmp_path, "date,series,value\n2025-05-29,bank_nim,3.1\n")
    with FakeFred() as fred:
        fetched = FredSource(base_url=fred.csv_url).fetch()
    merged = override(fetched, load_fundamentals_files([path]))
    assert [(o.value, o.source) for o in merged["bank_nim"]] == [(3.1, "file")]


@pytest.mark.parametrize(
    "text, message",
    [
        ("date,value\n2025-01-02,1\n", "missing column 'series'"),
        ("date,series,value\n2025-13-02,bank_nim,1\n", "line 2: date '2025-13-02' is not a date"),
        (
            "date,series,value\n2025-01-02,bank_nim,1\n2025-04-01,bank_nim,n/a\n",
            "line 3: value 'n/a' is not a number",
        ),
        ("date,series,value\n2025-01-02,,1\n", "line 2: empty series"),
        (
            "date,series,value,period_end\n2025-01-02,bank_nim,1,soon\n",
            "line 2: period_end 'soon' is not a date",
        ),
        ("", "empty file"),
    ],
)
def test_bad_lines_are_one_clear_error(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DataFileError) as err:
        load_fundamentals_file(path)
    assert str(err.value).startswith(f"{path}: {message}")
    assert "\n" not in str(err.value)


def test_a_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="file not found"):
        load_fundamentals_files([tmp_path / "nope.csv"])
