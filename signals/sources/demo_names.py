"""The simulated market's members: fictional companies with GICS sectors and size ranks.

The list is fixed (built from word lists with an internal RNG, independent of the market's
seed), so the demo's universe never changes between runs; only the price paths depend on the
seed. Besides the fictional names it holds the seven mega-cap tickers (AAPL MSFT NVDA AMZN
GOOGL/GOOG META TSLA) so that the mega7 signal has something to measure: the whole market is
labelled simulated, so their prices are simulated too. Share classes follow the real data:
"Alphabet (Class A)" / "Alphabet (Class C)" and two fictional dual-class companies.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from signals.market import ETF_TICKERS, SECTOR_ETFS

#: Companies per GICS sector, close to the real S&P 500 mix (500 companies).
SECTOR_COUNTS: dict[str, int] = {
    "Information Technology": 70,
    "Financials": 72,
    "Health Care": 60,
    "Industrials": 78,
    "Consumer Discretionary": 50,
    "Consumer Staples": 37,
    "Energy": 22,
    "Utilities": 31,
    "Real Estate": 31,
    "Materials": 26,
    "Communication Services": 23,
}

#: Sectors whose members the demo treats as "value" (VBR's pool, the value factor).
VALUE_SECTORS: frozenset[str] = frozenset(
    {"Financials", "Energy", "Materials", "Industrials", "Utilities", "Real Estate"}
)

_IT, _FIN, _HC = "Information Technology", "Financials", "Health Care"
_CD, _CS, _CM = "Consumer Discretionary", "Consumer Staples", "Communication Services"

#: The largest companies, in size order: (tickers, name, sector). Ranks 1-12.
_LEADERS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("NVDA",), "NVIDIA", _IT),
    (("MSFT",), "Microsoft", _IT),
    (("AAPL",), "Apple", _IT),
    (("GOOGL", "GOOG"), "Alphabet", _CM),
    (("AMZN",), "Amazon", _CD),
    (("META",), "Meta Platforms", _CM),
    (("NWSM",), "Northwind Semiconductor", _IT),
    (("TSLA",), "Tesla", _CD),
    (("ABKH",), "Ashford Berkley Holdings", _FIN),
    (("LMRX",), "Lumeris Therapeutics", _HC),
    (("CPYX",), "Crestpay Payments", _FIN),
    (("HVRS",), "Halvorsen Retail", _CD),
)

#: Fictional dual-class companies below the leaders: (class tickers, name, sector, rank).
_DUAL_CLASS: tuple[tuple[tuple[str, str], str, str, int], ...] = (
    (("FXMA", "FXMB"), "Foxmoor Media", _CM, 180),
    (("KSTA", "KSTB"), "Kestrel Brands", _CS, 260),
)

_PREFIX_WORDS = """
Northwind Bluestone Cedarline Harborview Ironwood Silverpine Redfern Oakhollow Stonebridge
Westmarch Brightwater Clearbrook Granite Falconer Mistral Amberly Copperfield Driftwood
Evergate Foxglen Glenrock Hawthorne Juniper Kingsbay Larkspur Marlowe Nettlefield Orchard
Pinecrest Quarrystone Riverbend Saltmarsh Thornbury Umberlake Valemont Willowby Yarrow Zephyr
Alderbrook Brackenridge Calloway Dunmore Elmstead Fernhill Gallowmere Heatherton Islemark
Jasperton Kettleby Lindenhall Moorcroft Northcote Oxbow Pembrook Quillon Rosemere Sablewood
Tamarind Upland Verdant Wexford Ashgrove Bellhaven Corbridge Dovecote Emberton Fairhaven
Greyfriar Hollins Ivybridge Kestwick Lowther Merrivale Newhaven Ormsby Penhallow Ravenhill
Starling Tidewater Vantor Whitlock Axford Birchmont Cobalt Deerfield Eastwick Foxhurst
Glimmer Halcyon Inglewood Kelso Loxley Meridian Norcross Osprey Prairie Radley Solent
Trenton Ulverston Vesper Wickham
"""
_PREFIXES = _PREFIX_WORDS.split()

_SUFFIXES: dict[str, tuple[str, ...]] = {
    "Information Technology": (
        "Semiconductor", "Software", "Systems", "Networks", "Microdevices", "Data",
        "Technologies", "Cloud", "Instruments", "Analytics",
    ),
    "Financials": (
        "Bancorp", "Financial", "Capital", "Insurance", "Trust", "Asset Management",
        "Payments", "Holdings", "Reinsurance",
    ),
    "Health Care": (
        "Therapeutics", "Biosciences", "Medical", "Health", "Pharmaceuticals", "Diagnostics",
        "Surgical", "Life Sciences",
    ),
    "Industrials": (
        "Aerospace", "Industries", "Rail", "Logistics", "Machinery", "Electric", "Engineering",
        "Airlines", "Controls", "Freight",
    ),
    "Consumer Discretionary": (
        "Motors", "Apparel", "Resorts", "Home", "Retail", "Restaurants", "Cruise Lines",
        "Outfitters", "Auto Parts",
    ),
    "Consumer Staples": (
        "Foods", "Beverages", "Brands", "Grocers", "Household Products", "Farms", "Distillers",
    ),
    "Energy": ("Petroleum", "Energy", "Oil & Gas", "Drilling", "Midstream", "Resources"),
    "Utilities": ("Power", "Utilities", "Gas & Electric", "Water", "Light & Power"),
    "Real Estate": ("Realty", "Properties", "Residential", "Storage Trust", "Towers", "Land"),
    "Materials": ("Chemicals", "Materials", "Minerals", "Steel", "Packaging", "Mining"),
    "Communication Services": (
        "Media", "Communications", "Interactive", "Broadcasting", "Wireless", "Studios",
    ),
}  # fmt: skip

#: Tickers the fictional ones must not take: the ETFs, the seven, and real S&P 500 tickers
#: the name-derived candidates would otherwise produce (checked against the real list).
_RESERVED = frozenset(
    {*ETF_TICKERS, "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "GOOG", "META", "TSLA"}
    | {"COST", "ORCL", "FOXA", "FOX"}
)

_NAMES_SEED = 20_240_630  # fixed: the member list does not depend on the market's seed


def _letters(word: str) -> str:
    return re.sub(r"[^A-Z]", "", word.upper())


def _ticker_candidates(prefix: str, suffix: str) -> list[str]:
    """Tickers a trader might guess from the name, most natural first (2-4 letters)."""
    p, s = _letters(prefix), _letters(suffix)
    cands = [p[:3] + s[0], p[:2] + s[:2], p[0] + p[2:4] + s[0], p[:2] + s[0], p[:4], p[:3]]
    cands += [p[:2] + s[0] + c for c in "ABCDEFGHJKLMNPRSTUVWXYZ"]
    return [c for c in cands if 2 <= len(c) <= 4]


@functools.cache
def demo_members() -> pd.DataFrame:
    """One row per ticker: ``ticker, name, sector, company, rank`` (rank 1 = largest company).

    Share classes of one company share ``company`` and ``rank``; their names end in
    " (Class X)" like the real data, so `signals.universe.company_key` groups them.
    """
    rng = np.random.default_rng(_NAMES_SEED)
    used: set[str] = set(_RESERVED)
    used |= {t for tickers, *_ in _LEADERS for t in tickers}
    used |= {t for tickers, *_ in _DUAL_CLASS for t in tickers}
    taken_names = {name for _, name, _ in _LEADERS} | {name for _, name, _, _ in _DUAL_CLASS}

    rows: list[tuple[str, str, str, str, int]] = []
    fixed_ranks = set(range(1, len(_LEADERS) + 1)) | {rank for *_, rank in _DUAL_CLASS}
    for rank, (tickers, name, sector) in enumerate(_LEADERS, start=1):
        rows += _classes(tickers, name, sector, rank)
    for tickers, name, sector, rank in _DUAL_CLASS:
        rows += _classes(tickers, name, sector, rank)

    remaining = dict(SECTOR_COUNTS)
    for _, _, sector in _LEADERS:
        remaining[sector] -= 1
    for _, _, sector, _ in _DUAL_CLASS:
        remaining[sector] -= 1
    n_rest = sum(remaining.values())
    free_ranks = np.array(
        [r for r in range(1, n_rest + len(fixed_ranks) + 1) if r not in fixed_ranks]
    )
    sectors = np.repeat(list(remaining), list(remaining.values()))
    # smaller sectors (energy, utilities, real estate, materials) sit lower on average
    tilt = np.array([_SIZE_TILT.get(s, 0.0) for s in sectors])
    order = np.argsort(rng.normal(size=n_rest) * 0.9 + tilt)
    ranks = np.empty(n_rest, dtype=int)
    ranks[order] = free_ranks

    prefixes = rng.permutation(_PREFIXES)
    p = 0
    for sector, rank in zip(sectors, ranks, strict=True):
        suffixes = _SUFFIXES[sector]
        while True:
            name = f"{prefixes[p % len(prefixes)]} {suffixes[rng.integers(len(suffixes))]}"
            p += 1
            if name not in taken_names:
                break
        taken_names.add(name)
        prefix, suffix = name.split(" ", 1)
        ticker = next(c for c in _ticker_candidates(prefix, suffix) if c not in used)
        used.add(ticker)
        rows.append((ticker, name, str(sector), name, int(rank)))
    out = pd.DataFrame(rows, columns=["ticker", "name", "sector", "company", "rank"])
    return out.sort_values(["rank", "ticker"], ignore_index=True)


#: Sector size tilt (negative = larger on average) for the random rank assignment.
_SIZE_TILT: dict[str, float] = {
    "Information Technology": -0.3,
    "Communication Services": -0.2,
    "Health Care": -0.1,
    "Financials": -0.05,
    "Consumer Discretionary": 0.0,
    "Industrials": 0.1,
    "Consumer Staples": 0.1,
    "Energy": 0.25,
    "Materials": 0.35,
    "Utilities": 0.3,
    "Real Estate": 0.35,
}


def _classes(
    tickers: tuple[str, ...], name: str, sector: str, rank: int
) -> list[tuple[str, str, str, str, int]]:
    if len(tickers) == 1:
        return [(tickers[0], name, sector, name, rank)]
    labels = ("A", "C") if name == "Alphabet" else ("A", "B")
    return [
        (t, f"{name} (Class {c})", sector, name, rank) for t, c in zip(tickers, labels, strict=True)
    ]


assert set(SECTOR_COUNTS) == set(SECTOR_ETFS.values())
