"""What a filing is: company, form and period, read from its cover page and its file name.

Twenty 10-Ks look alike to a retriever; what tells them apart is on the cover ("FORM 10-K",
"For the fiscal year ended December 31, 2018", "3M COMPANY (Exact name of registrant ...)")
and often in the name a user gave the file ("3M_2018_10K.pdf"). The cover is trusted first;
the file name fills what the cover does not say, and gives the quarter, which a 10-Q's cover
states only as a date that need not match the company's fiscal calendar.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from rag.text import ORDINALS
from rag.types import Profile

_FORM = re.compile(r"\bFORM\s+(10-K|10-Q|8-K|20-F|40-F|6-K|11-K|S-1|S-4|DEF\s?14A)\b", re.I)
_NAME_FORM = {"10K": "10-K", "10Q": "10-Q", "8K": "8-K", "20F": "20-F", "EARNINGS": "earnings release"}
_RELEASE = re.compile(r"(?i)\bfor immediate release\b|\b(?:reports?|announces?|reported)\b[^\n]{0,80}\bresults\b")
_REGISTRANT = re.compile(r"([^\n]{2,120}?)[\s_]*\(\s*Exact name of registrant", re.I)
_LISTED = re.compile(r"((?:[A-Z][\w.'’-]*|&)(?:,?\s+(?:[A-Z][\w.'’-]*|&|and|of)){0,4})\s*"
                     r"\((?:NYSE|NASDAQ|Nasdaq|ASX|NYSE American)\s*:\s*([A-Z.]{1,6})\)")
_TITLED = re.compile(r"^(?:10-K|10-Q|8-K|20-F)\b.*\s-\s+(.+)$")
_REPORTS = re.compile(r"(?:^|\n)([A-Z][\w.&'’-]*(?: [A-Z][\w.&'’-]*){0,3}) (?:reports|announces|reported)\b", re.I)
_SYMBOL = re.compile(r"\b([A-Z]{1,5})\s+(?:The\s+)?(?:NASDAQ|Nasdaq|New York Stock Exchange|NYSE)\b")
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_FISCAL = re.compile(rf"(?i)fiscal\s+year\s+ended\s+({_MONTH}\s+\d{{1,2}},?\s+((?:19|20)\d\d))")
_QUARTERLY = re.compile(rf"(?i)quarterly\s+period\s+ended\D{{0,40}}?({_MONTH}\s+\d{{1,2}},?\s+(?:19|20)\d\d)")
_EVENT = re.compile(rf"(?i)date\s+of\s+report[^:\n]{{0,60}}:\s*({_MONTH}\s+\d{{1,2}},?\s+(?:19|20)\d\d)")
_QUARTER_TEXT = re.compile(r"(?i)\b(?:((?:19|20)\d\d)\s+)?(first|second|third|fourth|1st|2nd|3rd|4th)[- ]quarter"
                           r"(?:\s+(?:of\s+)?(?:fiscal\s+)?((?:19|20)\d\d))?")
_FISCAL_TEXT = re.compile(r"(?i)\bfiscal\s+((?:19|20)\d\d)\b")
_NAME_PERIOD = re.compile(r"(?<!\d)((?:19|20)\d\d)(?:[ _-]?Q([1-4]))?(?!\d)")
# Accession numbers, word-processor file names and cover banners are not titles.
_JUNK_TITLE = re.compile(
    r"(?i)^(?:\d{10}-\d{2}-\d{6}|microsoft word\b.*|untitled.*|united states securities.*|.{0,3})$"
)


def profile_of(source: str, title: str | None, text: str) -> Profile:
    """The profile of a document whose first pages read `text`.

    ('3M_2018_10K.pdf', None, 'FORM 10-K ... fiscal year ended December 31, 2018 ... 3M COMPANY
    (Exact name of registrant ...') -> Profile(company='3M Company', form='10-K', period='FY2018')
    """
    stem = PurePosixPath(source).stem
    name_form = next((form for key, form in _NAME_FORM.items() if re.search(rf"(?i)(?:^|[_\W]){key}(?:$|[_\W])",
                                                                             stem)), None)
    match = _FORM.search(text)
    form = match.group(1).upper().replace("DEF14A", "DEF 14A") if match else None
    if name_form == "earnings release" or (form is None and _RELEASE.search(text[:3000])):
        form = "earnings release"
    form = form or name_form
    company, ticker = _company(text, stem)
    titled = _TITLED.match(title or "")
    if titled and (company is None or titled.group(1).lower().startswith(company.lower())):
        company = titled.group(1).strip()  # '10-K - 02/07/2019 - 3M Company' names the registrant
    period = _period(text, stem, form)
    keep = title if title and not _JUNK_TITLE.match(title.strip()) else None
    return Profile(title=keep, company=company, ticker=ticker, form=form, period=period)


def _company(text: str, stem: str) -> tuple[str | None, str | None]:
    listed = _LISTED.search(text)
    symbol = _SYMBOL.search(text)
    ticker = listed.group(2) if listed else symbol.group(1) if symbol else None
    registrant = _REGISTRANT.search(text)
    if registrant:
        name = registrant.group(1).strip(" _-\t")
        name = re.split(r"_{3,}|\s{3,}", name)[-1].strip(" _")
        if name:
            return _cased(name), ticker
    if listed:
        return listed.group(1).strip(), ticker
    reports = _REPORTS.search(text[:2000])
    if reports:
        return reports.group(1).strip(), ticker
    head = re.split(r"[_\W]*(?:19|20)\d\d", stem)[0]
    words = [w for w in re.split(r"[_\s]+", head) if w and not w.isdigit()]
    return (" ".join(w.capitalize() if w.isupper() and len(w) > 3 else w for w in words) or None), ticker


def _cased(name: str) -> str:
    """'GENERAL MILLS, INC.' -> 'General Mills, Inc.'; '3M COMPANY' -> '3M Company'; mixed case kept."""
    if any(c.islower() for c in name):
        return name
    return " ".join(w if any(c.isdigit() for c in w) or len(w) <= 1 else w[0] + w[1:].lower() for w in name.split())


def _period(text: str, stem: str, form: str | None) -> str | None:
    named = _NAME_PERIOD.search(stem)
    name_year, name_quarter = (named.group(1), named.group(2)) if named else (None, None)
    if name_quarter:
        return f"Q{name_quarter} {name_year}"
    if form in ("10-K", "20-F", "40-F"):
        fiscal = _FISCAL.search(text)
        if fiscal:
            return f"FY{fiscal.group(2)}"
    if form == "10-Q":
        quarterly = _QUARTERLY.search(text)
        if quarterly:
            return f"quarter ended {' '.join(quarterly.group(1).split())}"
    if form == "8-K":
        event = _EVENT.search(text)
        if event:
            return " ".join(event.group(1).split())
    if form == "earnings release":
        quarter = _QUARTER_TEXT.search(text[:3000])
        if quarter and (quarter.group(1) or quarter.group(3)):
            return f"Q{ORDINALS[quarter.group(2).lower()]} {quarter.group(1) or quarter.group(3)}"
        fiscal_text = _FISCAL_TEXT.search(text[:3000])
        if fiscal_text:
            return f"FY{fiscal_text.group(1)}"
    if name_year:
        return f"FY{name_year}" if form in ("10-K", "20-F", "40-F", None) else name_year
    return None
