"""What a filing is: company, form and period, read from its cover page, never from its file name.

Twenty 10-Ks look alike to a retriever; what tells them apart is on the cover ("FORM 10-K",
"For the fiscal year ended December 31, 2018", "3M COMPANY (Exact name of registrant ...)").
A user's file may be called anything ("doc-01.pdf", "scan (3).pdf"), so the name is not read: a
document is a filing when its first pages say so, and everything else gets no profile at all.
"""

from __future__ import annotations

import re

from rag.text import ORDINALS
from rag.types import Profile

# A form's cover: the Commission's name, then the form ("UNITED STATES SECURITIES AND EXCHANGE COMMISSION
# Washington, D.C. 20549 FORM 10-K"); a release that cites "our Form 10-Q filed with the Securities and
# Exchange Commission" names them the other way round.
_FORM = re.compile(r"(?is)securities\s+and\s+exchange\s+commission.{0,300}?\bform\s+"
                   r"(10-K|10-Q|8-K|20-F|40-F|6-K|11-K|S-1|S-4|DEF\s?14A)\b")
# A results release: "For immediate release", or a company reporting the results of a period ("PepsiCo Reports
# First-Quarter 2023 Results", "announced results for fourth-quarter and full year 2022"); a handbook's "report
# results to their manager" names no period.
_PERIOD_WORD = r"(?:quarter|fiscal|full[- ]year|annual|(?:19|20)\d\d)"
_RELEASE = re.compile(rf"(?i)\bfor immediate release\b|\b(?:reports?|announces?|reported|announced)\b[^\n]{{0,80}}?"
                      rf"(?:{_PERIOD_WORD}[^\n]{{0,40}}?\bresults\b|\bresults\s+for\b[^\n]{{0,40}}?{_PERIOD_WORD})")
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
                           r"(?:\s+(?:and\s+full[- ]year\s+)?(?:of\s+)?(?:fiscal\s+)?((?:19|20)\d\d))?")
_SHORT_QUARTER = re.compile(r"\b(?:([1-4])Q\s?((?:19|20)\d\d)|Q([1-4])\s?((?:19|20)\d\d))\b")
_FISCAL_TEXT = re.compile(r"(?i)\bfiscal\s+((?:19|20)\d\d)\b")
_THREE_MONTHS = re.compile(r"(?i)\bthree\s+months\s+ended")
_SIX_MONTHS = re.compile(r"(?i)\bsix\s+months\s+ended")
_NINE_MONTHS = re.compile(r"(?i)\bnine\s+months\s+ended")
_COVER_CHARS = 3000  # a cover is the first page: a release that cites "our Form 10-Q" later is no 10-Q
_FILE_NUMBER = re.compile(r"(?i)commission\s+file\s+(?:number|no\.?)[:\s]*[\d-]+\s*\n([A-Z0-9][A-Z0-9&.,'’ -]{1,80})\n")
# Accession numbers, word-processor file names and cover banners are not titles.
_JUNK_TITLE = re.compile(
    r"(?i)^(?:\d{10}-\d{2}-\d{6}|microsoft word\b.*|untitled.*|united states securities.*|.{0,3})$"
)


def profile_of(title: str | None, text: str, body: str = "") -> Profile | None:
    """The profile of a document whose first pages read `text`, or None when they do not say it is a filing
    (a form's cover) or a company's results release.

    (None, 'FORM 10-K ... fiscal year ended December 31, 2018 ... 3M COMPANY (Exact name of registrant ...')
    -> Profile(company='3M Company', form='10-K', period='FY2018', pack='finance')
    `body`, the whole text, tells which quarter a 10-Q reports (`quarter_of`).
    """
    cover = text[:_COVER_CHARS]
    match = _FORM.search(cover)
    form = match.group(1).upper().replace("DEF14A", "DEF 14A") if match else None
    if form is None and _RELEASE.search(text[:3000]):
        form = "earnings release"
    if form is None:
        return None
    company, ticker = _company(text)
    titled = _TITLED.match(title or "")
    if titled and (company is None or titled.group(1).lower().startswith(company.lower())):
        company = titled.group(1).strip()  # '10-K - 02/07/2019 - 3M Company' names the registrant
    keep = title if title and not _JUNK_TITLE.match(title.strip()) else None
    period = _period(text, title, form)
    if form == "10-Q" and period and body and (quarter := quarter_of(body)):
        period = f"Q{quarter} {period[-4:]}"  # 'quarter ended July 2, 2023' -> 'Q2 2023'
    return Profile(title=keep, company=company, ticker=ticker, form=form, period=period, pack="finance")


def quarter_of(text: str) -> int | None:
    """Which fiscal quarter a 10-Q reports, from its year-to-date columns: a second- or third-quarter report
    prints "six" or "nine months ended" beside nearly every "three months ended"; a first-quarter report has
    none of its own. None when the text has no such columns.

    'Three Months Ended July 2, 2023 ... Six Months Ended July 2, 2023' -> 2
    """
    three = len(_THREE_MONTHS.findall(text))
    if not three:
        return None
    for quarter, months in ((3, _NINE_MONTHS), (2, _SIX_MONTHS)):
        if len(months.findall(text)) * 2 >= three:
            return quarter
    return 1


def _company(text: str) -> tuple[str | None, str | None]:
    listed = _LISTED.search(text)
    symbol = _SYMBOL.search(text)
    ticker = listed.group(2) if listed else symbol.group(1) if symbol else None
    registrant = _REGISTRANT.search(text)
    if registrant:
        name = registrant.group(1).strip(" _-\t")
        name = re.split(r"_{3,}|\s{3,}", name)[-1].strip(" _")
        if name:
            return _cased(name), ticker
    filed = _FILE_NUMBER.search(text)  # a cover without the label names the registrant under its file number
    if filed:
        return _cased(filed.group(1).strip()), ticker
    if listed:
        return listed.group(1).strip(), ticker
    reports = _REPORTS.search(text[:2000])
    return (reports.group(1).strip() if reports else None), ticker


def _cased(name: str) -> str:
    """'GENERAL MILLS, INC.' -> 'General Mills, Inc.'; '3M COMPANY' -> '3M Company'; mixed case kept."""
    if any(c.islower() for c in name):
        return name
    return " ".join(w if any(c.isdigit() for c in w) or len(w) <= 1 else w[0] + w[1:].lower() for w in name.split())


def _period(text: str, title: str | None, form: str | None) -> str | None:
    if form in ("10-K", "20-F", "40-F"):
        fiscal = _FISCAL.search(text)
        if fiscal:
            year = int(fiscal.group(2))
            # A 52/53-week year that ends in the first days of January is the year before's
            # ("fiscal year ended January 1, 2023" is fiscal 2022).
            early = re.match(r"(?i)january\s+([1-7])\b", fiscal.group(1))
            return f"FY{year - 1 if early else year}"
    if form == "10-Q":
        quarterly = _QUARTERLY.search(text)
        if quarterly:
            return f"quarter ended {' '.join(quarterly.group(1).split())}"
    if form == "8-K":
        event = _EVENT.search(text)
        if event:
            return " ".join(event.group(1).split())
    if form == "earnings release":
        short = _SHORT_QUARTER.search(f"{title or ''}\n{text[:3000]}")
        if short:
            return f"Q{short.group(1) or short.group(3)} {short.group(2) or short.group(4)}"
        quarter = _QUARTER_TEXT.search(text[:3000])
        if quarter and (quarter.group(1) or quarter.group(3)):
            return f"Q{ORDINALS[quarter.group(2).lower()]} {quarter.group(1) or quarter.group(3)}"
        fiscal_text = _FISCAL_TEXT.search(text[:3000])
        if fiscal_text:
            return f"FY{fiscal_text.group(1)}"
    return None
