"""User-facing wording in one place, so every platform says the same thing."""

from __future__ import annotations

from signals.market import SECTOR_ETFS, SECTOR_SIGNAL_ETFS

SIMULATED = "SIMULATED"
SIMULATED_NOTE = "simulated market (demo data, not real prices)"

#: signal id -> (short label, unit). Units: "%" a percentage, "pp" percentage points,
#: "x" a P/E difference, "" a count.
SIGNAL_LABELS: dict[str, tuple[str, str]] = {
    "breadth_200d": ("Members above 200-day average", "%"),
    "breadth_50d": ("Members above 50-day average", "%"),
    "ew_vs_cw": ("Equal weight vs cap weight, 3 m (RSP−SPY)", "pp"),
    "smallcap_rs": ("Small caps vs S&P 500, 3 m (IWM−SPY)", "pp"),
    "top10_share": ("Top-10 companies' share of cap", "%"),
    "mega7_contribution": ("Mega-7 share of YTD return", "%"),
    "valuation": ("P/E gap S&P 500 − Russell 2000", "x"),
    "rotation_regime": ("Broadening conditions met (of 4)", ""),
    "bank_nim": ("US banks' net interest margin", "%"),
    "energy_fcf_yield": ("Energy members' free-cash-flow yield", "%"),
}
for _etf in SECTOR_SIGNAL_ETFS:
    _name = SECTOR_ETFS.get(_etf, {"IWM": "Small caps", "VBR": "Small-cap value"}.get(_etf, _etf))
    SIGNAL_LABELS[f"sector_{_etf}"] = (f"{_etf} {_name} vs XLK, 3 m", "pp")


def signal_label(signal_id: str) -> str:
    return SIGNAL_LABELS.get(signal_id, (signal_id, ""))[0]


def signal_unit(signal_id: str) -> str:
    return SIGNAL_LABELS.get(signal_id, (signal_id, ""))[1]


# --- Alert messages (bot/render/layout.py builds them; each renderer only adds markup) ---
APP_NAME = "rotation-bot"
ICON_APP = "📈"
ICON_SIMULATED = "🧪"
ICON_WARNING = "⚠️"
ICON_INFO = "🔔"
ICON_RESOLVED = "✅"
ICON_DATA = "🩺"
ICON_LATE = "⏰"
ALERT_HEADING_WARNING = "Warning:"
ALERT_HEADING_INFO = "Alert:"
ALERT_HEADING_RESOLVED = "Resolved:"
ALERT_HEADING_DATA = "Data problem:"
ALERT_AS_OF = "as of {date}"
ALERT_VALUE = "value {value}"
ALERT_THRESHOLD = "threshold {threshold}"
ALERT_LABEL = "now {label}"
ALERT_SESSION = "session {date}"
ALERT_RULE = "rule {rule_id}"
ALERT_LATE = "late: from {date}, delivered after downtime"
ALERT_SOURCE = "Source: {source}"
#: transition -> (singular, plural) for the counts in a message's title line
ALERT_COUNT_WORDS: dict[str, tuple[str, str]] = {
    "fired": ("alert", "alerts"),
    "resolved": ("resolved", "resolved"),
    "data_health": ("data problem", "data problems"),
}
#: prefix of each part when a long message is split, e.g. "(2/3)"
PART_OF = "({index}/{total})"

# =============================================================================================
# Chat command replies (bot/commands*.py, bot/middleware.py). Plain text; {placeholders} are
# filled by the commands.
# =============================================================================================

# --- chat command replies: generic ----------------------------------------------------------
ERROR_TITLE = "Sorry"
APOLOGY_TITLE = "Sorry, something went wrong"
APOLOGY = "The error was logged (ref {ref}). Please try again in a moment."
NOT_ALLOWED_TITLE = "Not available here"
NOT_ALLOWED = "This bot only answers in chats its operator has allowed."
RATE_LIMITED_TITLE = "Slow down"
RATE_LIMITED = "At most {n} commands a minute. Try again in {seconds} s."
ADMIN_ONLY = "Only the bot's admins can use {command}."
ADMIN_ONLY_GROUP = (
    "In groups and channels only the bot's admins can change subscriptions ({command})."
)
NOT_A_COMMAND = "“{token}” is not a command. Send help for the list."
UNKNOWN_COMMAND = "Unknown command “{name}”."
DID_YOU_MEAN = "Did you mean: {names}?"
#: free text matched to commands by meaning (bot.commands.intents)
NOT_A_COMMAND_MEANT = "“{text}” is not a command. Did you mean: {lines}?"
SEND_HELP = "Send help for the list of commands."
TOO_FEW_ARGS = "{command} needs more: {usage}"
TOO_MANY_ARGS = "{command} takes at most {n} argument(s): {usage}"
USAGE = "Usage: {usage}"
NO_STATE = "Market data is still loading. Try again in a minute."
NO_STORE = "This bot runs without a database, so {command} is not available."
REPLY_SIMULATED = "SIMULATED market: demo data, not real prices."
FRESHNESS = (
    "Data: last session {last}, {stale} stale session(s), coverage {coverage} · source {source}"
)
REFRESH = "Refresh"
#: a market answer's header when the data ends before the session asked for (or run at)
STALE_HEADER = "data to {last}, {stale} session{s} stale"
NO_DATA_HEADER = "no data on or before {date}"
#: DATE arguments (YYYY-MM-DD: the session on or before it)
DATE_HELP = "DATE: YYYY-MM-DD, the session on or before it (default: the latest)."
BAD_DATE = "“{text}” is not a date: use YYYY-MM-DD, e.g. {example}"
DATE_BEFORE_DATA = "No data on or before {date}: the data starts {first}. E.g. {example}"
DATE_IN_FUTURE = "{date} is in the future. E.g. {example}"

# --- help ---------------------------------------------------------------------------------
HELP_TITLE = "Commands"
HELP_FOOTER = "Send help COMMAND for details. End-of-day data; not investment advice."
HELP_ONE_TITLE = "help: {name}"
HELP_ALIASES = "Also: {aliases}"
HELP_ADMIN = "(admins only)"
HELP_ADMIN_GROUP = "(admins only in groups and channels)"

# --- market -------------------------------------------------------------------------------
SNAPSHOT_TITLE = "Market snapshot · {date}"
SNAPSHOT_HEADER = ("", "Now", "1 w", "1 m")
REGIME = "Regime: {label} ({held} of 4 broadening conditions)"
REGIME_UNKNOWN = "Regime: unknown (inputs missing)"
SNAPSHOT_CHART_ALT = "Breadth (200- and 50-day) and RSP/SPY over the last year"
#: short row labels of the snapshot table (phone width); detail paths allowed
SNAPSHOT_ROWS: dict[str, str] = {
    "breadth_200d": "Above 200-day avg",
    "breadth_50d": "Above 50-day avg",
    "ew_vs_cw": "Equal vs cap wt, 3m",
    "smallcap_rs": "Small caps vs SPY, 3m",
    "smallcap_rs.iwm_qqq": "Small caps vs QQQ, 3m",
    "top10_share": "Top-10 share of cap",
    "mega7_contribution": "Mega-7 share of YTD",
    "valuation": "P/E gap SPY−IWM",
    "rotation_regime": "Broadening (of 4)",
}

BREADTH_TITLE = "Breadth · {date}"
BREADTH_HEADER = ("", "Now", "1 w", "1 m", "Above/used")
BREADTH_ROWS: dict[str, str] = {"breadth_200d": "200-day", "breadth_50d": "50-day"}
BREADTH_NOTE = "65% or more above the 200-day average is broad participation; below 50% is narrow."

SECTOR_TITLE = "{etf} {name} · {date}"
SECTOR_HEADER = ("", "{etf}", "vs XLK", "vs SPY")
SECTOR_ROWS: tuple[tuple[str, str, str], ...] = (
    ("1 m return", "ret_21", "%"),
    ("3 m return", "ret_63", "%"),
    ("12 m return", "ret_252", "%"),
    ("Volatility 12 m", "vol_252", "%"),
)
SECTOR_BREADTH = "Members above their 200-day average: {value} of {members} members."
SECTOR_NO_BREADTH = "Member breadth is not computed for {etf} (no member list)."
SECTOR_RANK = "3 m vs XLK: {value}, rank {rank} of {total}."
SECTOR_CHART_TITLE = "{etf} ({name}) vs {bench}: ratio, up = {etf} leads"
SECTOR_CHART_ALT = "{label} rebased to 100 over the last year{breadth}"
SECTOR_CHART_ALT_BREADTH = ", with the members' 200-day breadth"
PICK_SECTOR_TITLE = "Pick a sector"
PICK_SECTOR = "Which sector? Or send sector NAME (e.g. sector banks)."
UNKNOWN_SECTOR = "Unknown sector “{name}”. Closest: {suggestions}."

SECTORS_TITLE = "Sectors vs tech · {date}"
SECTORS_HEADER = ("#", "ETF", "Sector", "3m vs XLK", "1m vs XLK", ">200d")
SECTORS_NOTE = "Ranked by 3-month return minus XLK's, in percentage points."
SECTORS_CHART_TITLE = "3-month return vs XLK (pp)"
SECTORS_CHART_ALT = "Bars: each sector's 3-month return minus XLK's"

CHART_TITLE = "{label} · {date}"
CHART_ALT = "{label} rebased to 100 over the last year, with its 50-day average"
UNKNOWN_TICKER = "Unknown ticker “{name}”."
CLOSEST = "Closest: {suggestions}."
NO_PRICES = "No prices for {ticker} in the last year."
SAME_TICKER = "Pick two different tickers, e.g. chart RSP vs SPY."
CHART_USAGE = "chart SUBJECT [vs SUBJECT] [WINDOW] [log]"
CHART_WINDOWS = "3m 6m 1y 3y 5y 10y max"
CHART_CHANGE = "{label}: {change} over {window} ({start} to {end})."
CHART_SIGNAL_NOW = "{label}: {value} now, {then} at the window's start ({start})."
CHART_ALT_PRICE = "{label} adjusted close over {window}, with its 50- and 200-day averages"
CHART_ALT_RATIO = "Ratio {label} over {window}, with its 50- and 200-day averages"
CHART_ALT_SIGNALS = "{label} over {window}"
CHART_ALT_CONCENTRATION = (
    "Top-10 and Mega-7 share of member cap over {window}, cap coverage under 90% shaded"
)
CHART_ALT_MEGA7 = (
    "Year-to-date return of all members and the Mega-7's part of it, in points, over {window}"
)
CHART_MEGA7_NOW = (
    "Mega-7: {pp} of the members' {ytd} year-to-date return on {date} (share {share});"
    " the year starts again from zero each January."
)
CHART_BAD_WINDOW = "Unknown window “{word}”: use one of {windows}, e.g. {example}"
CHART_BAD_WORD = "Unknown ticker or signal “{name}”."
CHART_THIN_CAPS = (
    "Caps cover under 90% of companies on {n} of {of} sessions shown (shaded; last {last}):"
    " read those shares as approximate."
)
CHART_TOO_MANY = "chart takes at most 2 subjects, e.g. chart RSP vs SPY 5y"
CHART_EXAMPLE = "Try e.g. chart RSP vs SPY 5y, or chart breadth 3y."
CHART_MIXED = "Chart a ticker against a ticker or a signal against a signal, e.g. {example}"
CHART_SIGNAL_NAMES = (
    "Signals: breadth, breadth50, top10 (concentration), mega7, ew, smallcaps, regime"
)
BREADTH_CHART_ALT_WINDOW = (
    "Members above their 200- and 50-day averages over {window}, with SPY's price beneath"
)
BREADTH_TWO_DATES = "breadth takes one DATE and one WINDOW at most, e.g. {example}"

# --- returns over a period: return, compare, mega7 (bot/commands/returns.py) --------------
PERIOD_HELP = (
    "PERIOD: ytd (default), qtd, mtd; a year 2025; a quarter 2025q4; a month 2025-11; "
    "a range 2025-03-01..2025-06-30; or the last 1w 1m 3m 6m 1y 3y 5y 10y, or max. "
    "A period's return runs from the close on the last session before it to the close on "
    "its last session, as of the latest session."
)
BAD_PERIOD = "{error}. E.g. {example}"
PERIOD_CUT = "{period} runs past the data: cut at {end}."
RETURN_TITLE = "Return · {period} · {span}"
RETURN_HEADER = ("Ticker", "Return", "From close", "To close")
RETURN_MISSING = "{message}."
NEED_TICKER = "Name a ticker, e.g. {example}"
TOO_MANY_TICKERS = "At most {n} tickers at once, e.g. {example}"
COMPARE_TITLE = "{a} vs {b} · {period} · {span}"
COMPARE_SPREAD = "{a} vs {b}: {spread} ({a} {ra}, {b} {rb})"
COMPARE_NEEDS_TWO = "Name two tickers, e.g. {example}"
MEGA7_TITLE = "Mega-7 · {period} · {span}"
MEGA7_HEADER = ("Company", "Ticker", "Weight", "Return", "Contribution")
MEGA7_INDEX = "Index (members, cap-weighted): {index}. The seven: {pp}, {share} of it."
MEGA7_NO_SHARE = (
    "Index (members, cap-weighted): {index}. The seven: {pp}; no share: the index moved "
    "less than {min_pp} pp."
)
MEGA7_WEIGHTS = "Weights: company caps on {base}; returns of the class with the larger cap."
MEGA7_NO_CAPS = "No market caps on {base} to weigh the Mega-7 by. E.g. {example}"
SPAN = "{base} → {end}"

# --- concentration and valuation (bot/commands/concentration.py) ---------------------------
TOP10_TITLE = "Top-10 share · {date}"
ONE_DATE = "{command} takes at most one DATE (YYYY-MM-DD), e.g. {example}"
TOP10_SHARE = "The ten largest companies hold {share} of the members' cap."
TOP10_HEADER = ("#", "Company", "Weight")
TOP10_NONE = "No top ten on {date}: no member company has a market cap (no --shares snapshots)."
#: the cap coverage line of every concentration and Mega-7 answer
CAPS_LINE = "caps: {used} of {companies} companies ({coverage}), oldest cap snapshot {oldest}"
CAPS_NONE = "caps: none of {companies} companies have a market cap"
CAPS_WARNING = "Warning: partial caps, the figure may be off: {reasons}."
CAPS_WARN_COVERAGE = "only {coverage} of companies have a cap"
CAPS_WARN_AGE = "the oldest cap snapshot ({oldest}) is {days} days old"
CAPS_WARN_JOIN = "; "
#: a snapshot row's note when the caps behind it are partial
CAPS_PARTIAL_NOTE = "{label}: {line}. {warning}"
#: cap coverage below this, or an oldest snapshot older than this many days, is warned of
CAPS_MIN_COVERAGE = 0.9
CAPS_MAX_AGE_DAYS = 365

VALUATION_TITLE = "Valuation · {date}"
VALUATION_HEADER = ("", "Trailing P/E", "Forward P/E", "As of")
#: (label, ticker prefix of the valuation detail columns)
VALUATION_ROWS: tuple[tuple[str, str], ...] = (
    ("S&P 500 (SPY)", "spy"),
    ("Russell 2000 (IWM)", "iwm"),
)
VALUATION_SOURCE = "Source: {source}, the ETFs' P/E ratios; {gap}"
VALUATION_GAP = "trailing P/E gap S&P 500 − Russell 2000: {gap}."
VALUATION_NO_GAP = "no trailing P/E gap (a ratio is missing)."
VALUATION_NONE = (
    "No P/E on or before {date}: the {source} data carries no valuation snapshots "
    "(only the yahoo source fetches them); none is invented."
)
#: source name -> how a valuation answer names it
VALUATION_SOURCES: dict[str, str] = {
    "yahoo": "Yahoo Finance (trailingPE, forwardPE)",
    "demo": "simulated demo data",
    "files": "price files",
}

# --- fundamentals (bot/commands/fundamentals.py) -------------------------------------------
#: how an answer names a fundamentals source (an observation's `source`)
FUNDAMENTAL_SOURCES: dict[str, str] = {
    "fred": "FRED USNIM",
    "sec": "SEC company facts",
    "file": "fundamentals file",
    "simulated": "simulated",
}
NIM_LINE = "Bank net interest margin: {value} ({quarter}, published {published}; {source})."
NIM_NONE = (
    "Bank net interest margin: none published on or before {date} from this source "
    "(FRED on the yahoo source, or a fundamentals file with series bank_nim)."
)
FCF_LINE = (
    "Energy FCF yield: {value}, {covered} of {members} Energy members "
    "(latest quarter {quarter}, published {published}; {source})."
)
FCF_FILE_LINE = "Energy FCF yield: {value} ({quarter}, published {published}; {source})."
FCF_NONE = "Energy FCF yield: none on or before {date} ({why}); none is invented."
FCF_WHY_NO_SOURCE = (
    "no company figures: the SEC on the yahoo source with data.sec_user_agent, "
    "or a fundamentals file with series energy_fcf_yield"
)
FCF_WHY_NO_COVER = "no Energy member has a market cap and every trailing figure in force"
#: a bottom-up figure on partial data says so
PARTIAL_MEMBERS = (
    "Partial: {left} of the {members} members left out (no cap or no filing in force)."
)
#: a published figure older than this many days is flagged as old
FUNDAMENTAL_MAX_AGE_DAYS = 200
FUNDAMENTAL_OLD = "Warning: the newest {what} was published {days} days before this session."
PE_BOTTOM_UP_ROW = "S&P 500 bottom-up"
PE_BOTTOM_UP_LINE = (
    "Bottom-up trailing P/E: Σ member caps ÷ Σ trailing-12-month net income of {covered} of "
    "{members} members (latest filing {published}; {source})."
)
PE_BOTTOM_UP_FILE = "Bottom-up trailing P/E: {source}, published {published}."
PE_FORWARD_FILE = "Bottom-up forward P/E: {source}, published {published}."
PE_BOTTOM_UP_NONE = "Bottom-up trailing P/E: none ({why}); none is invented."
PE_WHY_NO_SOURCE = (
    "no company earnings: the SEC on the yahoo source with data.sec_user_agent, "
    "or a fundamentals file with series sp500_pe_bottom_up"
)
PE_WHY_NO_COVER = (
    "no member has a market cap and a trailing net income in force, or their sum is not positive"
)
VALUATION_NO_ETF = (
    "No ETF P/E on or before {date} in the {source} data (only yahoo and the demo carry them)."
)

# --- rules, status ------------------------------------------------------------------------
SIGNALS_TITLE = "Alert rules · {date}"
SIGNALS_HEADER = ("Rule", "Holds now", "State", "Trigger", "Last change")
NO_RULES = "No alert rules are configured."
RULES_NO_STATE = "No rule states stored yet: they appear after the first evaluation."
RULES_SUMMARY = "{firing} firing · {pending} pending · {ok} ok"
STATE_UNKNOWN = "—"
TRIGGER_ABOVE = "≥ {threshold}"
TRIGGER_BELOW = "≤ {threshold}"
TRIGGER_CLEAR = " (clears {op} {clear})"
TRIGGER_CHANGES = "label changes"
TRIGGER_ALL = "all {n} hold"
TRIGGER_ANY = "any of {n}"
CONDITIONS_HELD = "{held} of {n}"
#: holds now (the condition on the latest session) and the firing state, per rule
HOLDS_YES = "yes · {value}"
HOLDS_NO = "no · {value}"
HOLDS_NO_DATA = "no data"
HOLDS_NOT_APPLICABLE = "n/a · {value}"
RULES_HOLD = "{held} of {n} conditions hold now ({date})"
PHASE_FIRING = "firing since {date}"
PHASE_PENDING = "pending {streak}/{confirm}"
PHASE_COOLING = "cooling down, {n} more session{s}"
PHASE_ARMED = "armed"
PHASE_WAITING = "waiting to clear"
PHASE_WAITING_LEVEL = "waiting to clear ({op} {clear})"
PHASE_NEW = "not started"
HOLDS_NOT_FIRING = (
    "Holds but does not fire: {rules}. It already held at the first evaluation or since its "
    "last firing, and a rule fires only when its condition starts to hold: after it clears."
)
IN_FORCE_HOLDS = "Conditions that hold now ({date}): {rules}."
IN_FORCE_NONE_HOLD = "No rule's condition holds now ({date})."
IN_FORCE_FIRING = "Firing now: {rules}."
IN_FORCE_NONE_FIRING = "No rule is firing now."
IN_FORCE_NO_DATA = "Market data is still loading: what holds now shows once it is in."
IN_FORCE_ITEM = "{rule} ({detail})"
IN_FORCE_SINCE = "{rule} (since {date})"
STARTUP_HOLDS = "holds now: {rules}"
STARTUP_FIRING = "firing now: {rules}"
STARTUP_NOTHING = "nothing"
STARTUP_NO_DATA = "no market data yet"
UNKNOWN_RULE = "Unknown rule “{name}”."
HISTORY_TITLE = "History: {rule} · {date}"
HISTORY_HEADER = ("Fired", "Value", "SPY 1m", "SPY 3m", "RSP 3m", "IWM 3m")
#: forward-return columns of the history table: (ticker, sessions)
HISTORY_COLUMNS: tuple[tuple[str, int], ...] = (("SPY", 21), ("SPY", 63), ("RSP", 63), ("IWM", 63))
HISTORY_COUNTS = (
    "Fired {fired} time(s) from {start} to {end} ({per_year:.1f} a year), resolved {resolved}."
)
HISTORY_NONE = "It never fired from {start} to {end}."
HISTORY_SHOWN = "The last {n} firings, newest first; returns in % over the next 1 and 3 months."
HISTORY_VERSUS = (
    "{ticker} over the next 3 months: median {median} after a firing ({share} up, {n} firings) "
    "vs {base_median} over all sessions ({base_share} up)."
)
HISTORY_TRIGGER = "Fires when: {signal} {trigger}."
HISTORY_CAVEAT = "What followed past signals; not a forecast."

STATUS_TITLE = "Status"
STATUS_VERSION = "rotation-bot {version}"
STATUS_MARKET = "Market data: as of {date}, source {source}{simulated}."
STATUS_NO_MARKET = "Market data: still loading."
STATUS_RUN = "Last evaluation: {as_of}, {outcome}{reason}, finished {finished}."
STATUS_RUN_DATA = "Its data: last session {last}, {stale} stale session(s), coverage {coverage}."
STATUS_NO_RUN = "Last evaluation: none yet."
STATUS_NEXT = "Next run: {when}."
STATUS_NOT_SCHEDULED = "Next run: not scheduled in this mode."
STATUS_QUEUE_HEADER = ("Deliveries", "Count")
STATUS_DEAD = "Dead letters: {n}."
STATUS_DEAD_ITEM = "• #{id} {platform} {chat}: {error}"
STATUS_DISABLED = "Disabled destinations: {n}."
STATUS_DISABLED_ITEM = "• {platform} {chat}: {reason}"

# --- subscriptions ------------------------------------------------------------------------
SUBSCRIBED_TITLE = "Subscribed"
SUBSCRIBED_ALL = "This chat now gets alerts for all rules."
SUBSCRIBED_SOME = "This chat now gets alerts for: {rules}."
SUBSCRIBED_HINTS = (
    "settings shows the message levels; mute 1d pauses alerts; unsubscribe stops them."
)
UNSUBSCRIBED_TITLE = "Unsubscribed"
UNSUBSCRIBED = "This chat gets no more alerts. subscribe starts them again."
NOT_SUBSCRIBED = "This chat is not subscribed. Send subscribe to get alerts."
FROM_CONFIG = (
    "This chat's subscription comes from the bot's config file; change it there "
    "(a change made here would be undone at the next start)."
)
MUTED_TITLE = "Muted"
MUTED = "Alerts to this chat are paused until {until}."
UNMUTED_TITLE = "Unmuted"
UNMUTED = "Alerts to this chat are on again."
BAD_DURATION = "“{text}” is not a duration. Use e.g. 30m, 2h, 3d, 1w, or off."
TOO_LONG = "At most {days} days. Use unsubscribe to stop alerts for good."
SETTINGS_TITLE = "Settings for this chat"
SETTINGS_HEADER = ("Message kind", "Level")
SETTINGS_RULES = "Rules: {rules}."
SETTINGS_MUTED = "Muted until {until}."
SETTINGS_HINT = "Change one with: settings KIND LEVEL (levels: on, silent, off)."
SETTINGS_SET = "{kind} messages are now {level}."
SETTINGS_BAD_KIND = "Unknown message kind “{kind}”. Kinds: {kinds}."
SETTINGS_BAD_LEVEL = "Unknown level “{level}”. Levels: on, silent, off."
ALL_RULES = "all"

# --- chat front-ends (bot/platforms/*/chat.py) -------------------------------------------
REFRESHED = "Updated"
UP_TO_DATE = "Up to date"
CHART_NOT_POSTED = "The chart could not be posted here ({error}); invite the bot to this channel."

#: separates the parts of one line (a heading's source and date, a table row's cells)
SEP = " · "


# --- Alerts of one's own (bot/commands/own_alerts.py) ----------------------------------------
OWN_EXAMPLE = "alert breadth crosses above 70 confirm 2"
OWN_USAGE = "alert SUBJECT OP VALUE [confirm N] [clear V] [cooldown N]"
OWN_OPS = "above, below, crosses above or crosses below"
OWN_BAD_OP = "“{word}” is not a comparison (use " + OWN_OPS + "), e.g. {example}"
OWN_NO_OP = "No comparison in “{text}”: use " + OWN_OPS + ", e.g. {example}"
OWN_BAD_SUBJECT = "“{word}” is no signal or ticker here{close}, e.g. {example}"
OWN_BAD_WINDOW = "“{word}” is not a window (use 1w 1m 3m 6m 1y 3y 5y 10y), e.g. {example}"
OWN_BAD_PAIR = "“{text}” is not A vs B [WINDOW] with two tickers, e.g. alert XLE vs XLK above 5"
OWN_NO_VALUE = "No number after {op}, e.g. {example}"
OWN_BAD_NUMBER = "“{word}” is not a number, e.g. {example}"
OWN_BAD_OPTION = "“{word}” is not an option (confirm N, clear V, cooldown N), e.g. {example}"
OWN_BAD_COUNT = "{name} “{word}”: a whole number {low} or more, e.g. {example}"
OWN_TWICE = "{name} is given twice, e.g. {example}"
OWN_BAD_CLEAR = "clear {value}: {why}, e.g. {example}"
OWN_LIMIT = (
    "This chat already holds {limit} alerts, the most it may: delete one first "
    "(alerts lists them, alert delete ID)."
)
OWN_NOT_ALLOWED_GROUP = "Only the bot's admins may change this chat's alerts."
OWN_NOT_ALLOWED = "You are not allowed to change alerts here (ask the bot's operator)."
OWN_BAD_ID = "“{word}” is not an alert id of this chat (alerts lists them), e.g. alert {verb} 1"
OWN_NO_SUCH = "This chat has no alert #{number} (alerts lists them)."
OWN_CREATED_TITLE = "Alert #{number} set"
OWN_CREATED = (
    "{text} — checked after each close; it fires in this chat only, and says when it resolves."
)
OWN_HOLDS = "Now ({date}): {subject} is {value}: the condition holds (no alert for that; {when})."
OWN_HOLDS_WHEN_LEVEL = "it fires when it next starts to hold"
OWN_HOLDS_WHEN_CROSS = "it fires on the next crossing"
OWN_NOT_HOLDS = "Now ({date}): {subject} is {value}: the condition does not hold."
OWN_NO_DATA_NOW = "Now ({date}): {subject} has no value."
OWN_BACKTEST = (
    "On the history here ({start} – {end}) it would have fired {n} time{s} ({per_year:.1f} a "
    "year){last}."
)
OWN_BACKTEST_LAST = ", last on {date}"
OWN_FORWARD = "SPY {horizon} after a firing: median {median} (all sessions: {base})."
OWN_CREATED_HINT = "alerts lists this chat's alerts; alert pause {number}, alert delete {number}."
OWN_LIST_TITLE = "This chat's alerts"
OWN_LIST_EMPTY = "No alerts of this chat's own yet. Make one: " + OWN_EXAMPLE
OWN_LIST_HEADER = ("id", "rule", "now", "state")
OWN_LIST_HINT = "alert delete|pause|resume ID; signals lists the bot's configured rules."
OWN_DELETED = "Alert #{number} deleted: {text}"
OWN_PAUSED = "Alert #{number} paused: {text} (alert resume {number} starts it again)"
OWN_RESUMED = (
    "Alert #{number} resumed: {text} — it starts afresh, silently, at the next evaluation."
)
OWN_DONE_TITLE = "Alert #{number}"
OWN_STATE_PAUSED = "paused"
OWN_STATE_NEW = "starts at the next evaluation"
OWN_STATE_FIRING = "firing since {date}"
OWN_STATE_PENDING = "pending ({streak} of {confirm})"
OWN_STATE_ARMED = "armed"
OWN_STATE_WAITING = "waits to clear"
OWN_HOLDS_MARK = "holds now"
