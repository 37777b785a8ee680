"""Fundamentals beside prices: published figures used only from their publication date.

Sources: FRED's CSV download (`FredSource`, bank net interest margin), the SEC's XBRL
company facts (`SecClient` + `SecSource`, trailing-twelve-month cash flow, capex and net
income per company) and a user's files (`load_fundamentals_files`). Every figure is an
`Observation` with its source, period end and publication date; `daily_series` lays one
series on the sessions without look-ahead, and `fcf_yield` / `trailing_pe` sum companies into
a sector's free-cash-flow yield and a bottom-up P/E with their coverage. `load_fundamentals`
gathers all of them for a run from a `FundamentalsSpec`.
"""

from signals.sources.fundamentals.aggregate import Bottomup, fcf_yield, member_caps, trailing_pe
from signals.sources.fundamentals.files import load_fundamentals_file, load_fundamentals_files
from signals.sources.fundamentals.fred import (
    BANK_NIM,
    DEFAULT_FRED_SERIES,
    FRED_CSV_URL,
    FredSeries,
    FredSource,
    parse_fred_csv,
)
from signals.sources.fundamentals.http import FetchError, RateLimited, RateLimiter
from signals.sources.fundamentals.load import Fundamentals, FundamentalsSpec, load_fundamentals
from signals.sources.fundamentals.observations import (
    SERIES_UNITS,
    Observation,
    PointInTime,
    by_series,
    daily_series,
    override,
)
from signals.sources.fundamentals.sec import (
    CONCEPTS,
    FACTS_URL,
    TICKERS_URL,
    CompanyTTM,
    SecClient,
    SecFacts,
    SecSource,
    company_ttm,
    require_user_agent,
)
from signals.sources.fundamentals.ttm import Fact, parse_facts, ttm_observations

__all__ = [
    "BANK_NIM",
    "CONCEPTS",
    "DEFAULT_FRED_SERIES",
    "FACTS_URL",
    "FRED_CSV_URL",
    "SERIES_UNITS",
    "TICKERS_URL",
    "Bottomup",
    "CompanyTTM",
    "Fact",
    "FetchError",
    "FredSeries",
    "FredSource",
    "Fundamentals",
    "FundamentalsSpec",
    "Observation",
    "PointInTime",
    "RateLimited",
    "RateLimiter",
    "SecClient",
    "SecFacts",
    "SecSource",
    "by_series",
    "company_ttm",
    "daily_series",
    "fcf_yield",
    "load_fundamentals",
    "load_fundamentals_file",
    "load_fundamentals_files",
    "member_caps",
    "override",
    "parse_facts",
    "parse_fred_csv",
    "require_user_agent",
    "trailing_pe",
    "ttm_observations",
]
