"""Company-facts documents shaped like data.sec.gov's answers, built from hand-written rows.

The layout is the SEC's: facts -> us-gaap -> concept -> {label, description, units: {USD:
[{start, end, val, accn, fy, fp, form, filed, frame}]}}. A 10-K lists the fiscal year and the
two before it; a 10-Q lists the year to date beside the prior year's same span, and from Q2 on
also the three months of the quarter (which a TTM must not mistake for the year to date).
Figures below are in millions (the documents carry whole dollars, as the SEC does); they are
made up in the order of magnitude of a large oil producer, not copied from a filing.
"""

from __future__ import annotations

from typing import Any

M = 1_000_000

# (start, end, value in millions, accn, fy, fp, form, filed)
Row = tuple[str, str, float, str, int, str, str, str]

K23 = ("0000034088-24-000018", 2023, "FY", "10-K", "2024-02-28")
Q124 = ("0000034088-24-000031", 2024, "Q1", "10-Q", "2024-05-02")
KA23 = ("0000034088-24-000040", 2023, "FY", "10-K/A", "2024-06-10")
Q224 = ("0000034088-24-000047", 2024, "Q2", "10-Q", "2024-08-05")
Q324 = ("0000034088-24-000061", 2024, "Q3", "10-Q", "2024-11-01")
K24 = ("0000034088-25-000010", 2024, "FY", "10-K", "2025-02-19")


def rows(filing: tuple[str, int, str, str, str], *spans: tuple[str, str, float]) -> list[Row]:
    accn, fy, fp, form, filed = filing
    return [(s, e, v, accn, fy, fp, form, filed) for s, e, v in spans]


OCF: list[Row] = [
    *rows(
        K23,
        ("2021-01-01", "2021-12-31", 48_129),
        ("2022-01-01", "2022-12-31", 76_797),
        ("2023-01-01", "2023-12-31", 55_369),
    ),
    *rows(Q124, ("2023-01-01", "2023-03-31", 16_345), ("2024-01-01", "2024-03-31", 14_662)),
    # a 10-K/A restates FY2023 (55,369 -> 55,000)
    *rows(KA23, ("2023-01-01", "2023-12-31", 55_000)),
    *rows(
        Q224,
        ("2023-04-01", "2023-06-30", 9_466),  # three months: not a year to date
        ("2024-04-01", "2024-06-30", 11_214),
        ("2023-01-01", "2023-06-30", 25_811),
        ("2024-01-01", "2024-06-30", 25_876),
    ),
    *rows(
        Q324,
        ("2023-07-01", "2023-09-30", 16_927),
        ("2024-07-01", "2024-09-30", 17_091),
        ("2023-01-01", "2023-09-30", 42_738),
        ("2024-01-01", "2024-09-30", 42_967),
    ),
    *rows(
        K24,
        ("2022-01-01", "2022-12-31", 76_797),
        ("2023-01-01", "2023-12-31", 55_000),
        ("2024-01-01", "2024-12-31", 55_022),
    ),
]

# capex: the Q2 10-Q lacks the prior year's six months (a missing comparative)
CAPEX: list[Row] = [
    *rows(
        K23,
        ("2021-01-01", "2021-12-31", 12_076),
        ("2022-01-01", "2022-12-31", 18_407),
        ("2023-01-01", "2023-12-31", 21_919),
    ),
    *rows(Q124, ("2023-01-01", "2023-03-31", 6_360), ("2024-01-01", "2024-03-31", 5_813)),
    *rows(Q224, ("2024-01-01", "2024-06-30", 12_030)),
    *rows(Q324, ("2023-01-01", "2023-09-30", 15_984), ("2024-01-01", "2024-09-30", 18_140)),
    *rows(
        K24,
        ("2022-01-01", "2022-12-31", 18_407),
        ("2023-01-01", "2023-12-31", 21_919),
        ("2024-01-01", "2024-12-31", 24_306),
    ),
]

NET_INCOME: list[Row] = [
    *rows(
        K23,
        ("2021-01-01", "2021-12-31", 23_040),
        ("2022-01-01", "2022-12-31", 55_740),
        ("2023-01-01", "2023-12-31", 36_010),
    ),
    *rows(Q124, ("2023-01-01", "2023-03-31", 11_430), ("2024-01-01", "2024-03-31", 8_220)),
    *rows(
        Q224,
        ("2023-04-01", "2023-06-30", 7_880),
        ("2024-04-01", "2024-06-30", 9_240),
        ("2023-01-01", "2023-06-30", 19_310),
        ("2024-01-01", "2024-06-30", 17_460),
    ),
]


def _frame(start: str, end: str) -> str:
    days = (int(end[:4]) - int(start[:4])) * 12 + int(end[5:7]) - int(start[5:7]) + 1
    if days == 12:
        return f"CY{start[:4]}"
    if days == 3:
        return f"CY{end[:4]}Q{(int(end[5:7]) + 2) // 3}"
    return ""


def unit_list(table: list[Row]) -> list[dict[str, Any]]:
    out = []
    for start, end, val, accn, fy, fp, form, filed in table:
        fact: dict[str, Any] = {
            "start": start,
            "end": end,
            "val": int(val * M),
            "accn": accn,
            "fy": fy,
            "fp": fp,
            "form": form,
            "filed": filed,
        }
        frame = _frame(start, end)
        if frame:
            fact["frame"] = frame
        out.append(fact)
    return out


LABELS = {
    "NetCashProvidedByUsedInOperatingActivities": "Net Cash Provided by (Used in) Operating "
    "Activities",
    "PaymentsToAcquirePropertyPlantAndEquipment": "Payments to Acquire Property, Plant, and "
    "Equipment",
    "NetIncomeLoss": "Net Income (Loss) Attributable to Parent",
}


def company_facts(cik: int, name: str, concepts: dict[str, list[Row]]) -> dict[str, Any]:
    """A companyfacts document with `concepts` (us-gaap name -> rows) plus a dei share count."""
    gaap = {
        concept: {
            "label": LABELS.get(concept, concept),
            "description": f"The {LABELS.get(concept, concept).lower()}.",
            "units": {"USD": unit_list(table)},
        }
        for concept, table in concepts.items()
    }
    dei = {
        "EntityCommonStockSharesOutstanding": {
            "label": "Entity Common Stock, Shares Outstanding",
            "description": "Indicate number of shares outstanding.",
            "units": {
                "shares": [
                    {
                        "end": "2024-04-26",
                        "val": 3_964_000_000,
                        "accn": Q124[0],
                        "fy": 2024,
                        "fp": "Q1",
                        "form": "10-Q",
                        "filed": "2024-05-02",
                        "frame": "CY2024Q1I",
                    }
                ]
            },
        }
    }
    return {"cik": cik, "entityName": name, "facts": {"dei": dei, "us-gaap": gaap}}


def full_company(cik: int = 34088, name: str = "EXXON MOBIL CORP") -> dict[str, Any]:
    return company_facts(
        cik,
        name,
        {
            "NetCashProvidedByUsedInOperatingActivities": OCF,
            "PaymentsToAcquirePropertyPlantAndEquipment": CAPEX,
            "NetIncomeLoss": NET_INCOME,
        },
    )


def tickers_doc(entries: list[tuple[int, str, str]]) -> dict[str, Any]:
    """company_tickers.json: {"0": {"cik_str": 320193, "ticker": "AAPL", "title": ...}}."""
    return {
        str(i): {"cik_str": cik, "ticker": ticker, "title": title}
        for i, (cik, ticker, title) in enumerate(entries)
    }
