"""Document routing: which documents a question is about, from the company, period and kind of report it names.

Twenty 10-Ks share their vocabulary and their table shapes, so a question's words alone find
"the cash-flow statement" of any of them. What tells its filing apart is the company the
question names ("3M", "JnJ", "Block (formerly known as Square)") and the period ("FY2018",
"Q2'2023"). Both are matched against each document's profile (read from its cover, never its file
name: a user's "doc-01.pdf" is no company); the retriever
then searches the best-matching documents a second time on their own, so their passages
rise in the fusion. A prior, never a filter: a question that names no company in the corpus
routes nowhere and is searched as before, and a routed search still competes with the global one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from rag.numbers import Period, first_period, periods_in
from rag.text import terms
from rag.types import Profile

# Words that end a company's legal name and are never how people call it.
_LEGAL = frozenset({"inc", "incorporated", "corp", "corporation", "co", "company", "plc", "ltd", "limited", "llc",
                    "lp", "sa", "ag", "nv", "se", "the", "group", "holdings", "com"})
# A first word too common to name a company on its own ("General Mills" is not "general").
_GENERIC = frozenset({"american", "general", "united", "first", "international", "national", "global", "new",
                      "royal", "southern", "northern", "western", "eastern", "bank", "financial", "capital", "energy",
                      "systems", "communications", "technologies", "the", "us"})
_WORD = re.compile(r"[A-Za-z0-9&]+")
NGRAM = 4  # the longest company name, in words, that is matched ("American International Group Inc")
# A question about what a company expects, plans or guides: answered by a report made before the period.
FORWARD = re.compile(r"(?i)\b(?:expect\w*|guid(?:e|es|ed|ance)|outlook|forecast\w*|anticipat\w*|project(?:s|ed|ions?)|"
                     r"plan(?:s|ned)?\s+to|targets?)\b")
# The kind of report a question says it asks of ("according to its 2019 annual report", "this 10K"), as the
# profiles name forms: among one company's filings, those of that form fit it better.
FORMS: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(r"(?i)\b10-?K\b|\bannual\s+report\b"), frozenset({"10-K", "20-F", "40-F"})),
    (re.compile(r"(?i)\b10-?Q\b|\bquarterly\s+report\b"), frozenset({"10-Q"})),
    (re.compile(r"(?i)\b8-?K\b"), frozenset({"8-K"})),
    (re.compile(r"(?i)\b(?:earnings|press|results)\s+release\b"), frozenset({"earnings release"})),
)
FORM_FIT = 0.5
"""What naming a document's form adds to its fit: as much as naming its quarter (`period_score`)."""


def _words(text: str) -> list[str]:
    """The words names are matched by, as written; possessives, '.com' and dots dropped:
    "JnJ's Amazon.com" -> ['JnJ', 'Amazon']."""
    text = re.sub(r"(?i)\.com\b", "", text)
    return _WORD.findall(re.sub(r"(?i)['’]s\b", "", text).replace(".", ""))


def _runs(words: Sequence[str], longest: int) -> Iterator[Sequence[str]]:
    """Every run of one to `longest` consecutive words."""
    return (words[i:j] for i in range(len(words)) for j in range(i + 1, min(len(words), i + longest) + 1))


def name_keys(company: str | None, ticker: str | None) -> frozenset[str]:
    """How a question may name a company, as space-less lower-case keys.

    ('Johnson & Johnson', 'JNJ') -> {'johnson&johnson', 'johnsonjohnson', 'jnj', 'j&j', 'johnson', 'jojo'}:
    the name without its legal ending, with and without '&', its first word when distinctive, its
    initials as 'J&J' and 'JnJ', and the ticker.
    """
    keys: set[str] = set()
    if company:
        words = [w for w in (w.lower() for w in _words(company)) if w not in _LEGAL]
        words = [w for w in words if w != "&"] if len(words) > 1 else words
        if words:
            keys.add("".join(words))
            if "&" in company or " and " in company.lower():
                keys.add("&".join(words))
            if len(words) > 1:
                if words[0] not in _GENERIC and len(words[0]) >= 3:
                    keys.add(words[0])
                initials = [w[0] for w in words]
                if len(initials) == 2:
                    keys |= {"&".join(initials), "n".join(initials), words[0][:2] + words[1][:2]}
            elif len(words[0]) >= 2:
                keys.add(words[0])
    if ticker and len(ticker) >= 3:
        keys.add(ticker.lower())
    return frozenset(k for k in keys if len(k) >= 2)


def question_keys(question: str, longest: int = NGRAM) -> frozenset[str]:
    """Every run of up to `longest` words of the question, joined without spaces, lower case.

    "What is JnJ's EPS?" -> {'what', 'is', 'jnj', 'eps', 'whatis', 'isjnj', 'jnjeps', ...};
    'J&J' stays one word: 'j&j'.
    """
    return frozenset("".join(run).lower() for run in _runs(_words(question), longest))


def written_keys(question: str, longest: int = NGRAM) -> frozenset[str]:
    """The keys of the runs of words the question writes as a name: each word holding a capital or a digit.

    "Which region did best for MGM and J&J?" -> {'which', 'mgm', 'j&j'}
    """
    return frozenset("".join(run).lower() for run in _runs(_words(question), longest)
                     if all(w == "&" or any(ch.isupper() or ch.isdigit() for ch in w) for w in run))


def profile_period(profile: Profile | None) -> tuple[int | None, int | None]:
    """(year, quarter) of a profile's period: 'FY2018' -> (2018, None); 'Q4 2023' -> (2023, 4);
    'May 26, 2023' -> (2023, None); None -> (None, None)."""
    if profile is None or not profile.period:
        return None, None
    return first_period(profile.period)


def forms_named(question: str) -> frozenset[str]:
    """The forms of the reports a question says it asks of: "in this 10K report" -> {'10-K', '20-F', '40-F'}."""
    return frozenset(form for pattern, forms in FORMS if pattern.search(question) for form in forms)


def period_score(asked: Period, year: int | None, quarter: int | None) -> float:
    """How well a document's period fits the periods asked about, 0 to 1.5.

    A filing reports its own period and restates the one or two before it, so the document of
    the latest year asked about fits best (1), one of an earlier year asked about half as well,
    and the next year's (which restates it) a quarter; a matching quarter adds 0.5.
    Years {2015, 2016}: a 2016 filing 1.0, 2015 0.5, 2017 0.25, 2022 0.
    """
    if year is None or not asked.years:
        return 0.0
    latest = max(asked.years)
    score = 1.0 if year == latest else 0.5 if year in asked.years else 0.25 if year == latest + 1 else 0.0
    if quarter is not None and (year, quarter) in asked.quarters:
        score += 0.5
    return score


@dataclass(frozen=True)
class Router:
    """Each indexed document's name keys and period, ready to score questions against."""

    names: Mapping[str, frozenset[str]]
    periods: Mapping[str, tuple[int | None, int | None]]
    forms: Mapping[str, str | None]

    @classmethod
    def from_profiles(cls, profiles: Mapping[str, Profile | None]) -> Router:
        # Only documents known to be a company's (a profile: a filing, a release) are routed to.
        known = {s: p for s, p in profiles.items() if p is not None and p.company}
        return cls({s: name_keys(p.company, p.ticker) for s, p in known.items()},
                   {s: profile_period(p) for s, p in known.items()}, {s: p.form for s, p in known.items()})

    def one_company(self) -> bool:
        """Whether every document is one company's: all share a name key ('adobe' of "Adobe Systems
        Incorporated" and of "Adobe Inc.")."""
        keys = list(self.names.values())
        return bool(keys) and bool(frozenset.intersection(*keys))

    def named(self, question: str) -> dict[str, frozenset[str]]:
        """For each document the question names, the question's terms that name it.

        "Is JnJ's EPS up?" -> {'JOHNSON_JOHNSON_2022Q4_EARNINGS.pdf': {'jnj'}}
        """
        keys = question_keys(question)
        found = {s: k & keys for s, k in self.names.items() if k & keys}
        # Where the question writes some of the names it matches as names ("MGM"), a match it writes in lower
        # case is a word ("the best region" is not Best Buy's).
        written = written_keys(question)
        if any(k & written for k in found.values()):
            found = {s: k for s, k in found.items() if k & written}
        return {s: frozenset(t for key in k for t in terms(key)) for s, k in found.items()}

    def scores(self, question: str, named: Mapping[str, frozenset[str]] | None = None) -> dict[str, float]:
        """Documents whose company the question names, scored 1 + how well their period fits; `named` is
        `self.named(question)` when the caller has it already.

        Empty when it names no company of the corpus: a period alone ("in FY2022") fits too many
        filings to route by.
        """
        named = self.named(question) if named is None else named
        if not named:
            return {}
        asked = periods_in(question)
        # What a company expects of a year it states in the report of the year before ("What did Amazon guide
        # for Q1 2018?" is answered by its 2017 10-K), so that report fits as the year's own does.
        before = Period(frozenset(y - 1 for y in asked.years)) if FORWARD.search(question) else None
        forms = forms_named(question)
        return {s: 1.0 + max(period_score(asked, *self.periods[s]),
                             period_score(before, *self.periods[s]) if before else 0.0)
                + (FORM_FIT if self.forms.get(s) in forms else 0.0) for s in named}

    def route(self, question: str, named: Mapping[str, frozenset[str]] | None = None) -> frozenset[str]:
        """The best-scoring documents for the question (ties all kept); empty when none is named."""
        scores = self.scores(question, named)
        if not scores:
            return frozenset()
        best = max(scores.values())
        return frozenset(s for s, v in scores.items() if v == best)
