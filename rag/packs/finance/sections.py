"""Where a filing discusses what an open analyst question asks: the parts Regulation S-K gives every 10-K and
10-Q, and the headings results releases use for the same matters.

A question about risks is answered in Item 1A, about lawsuits in Item 3 or the contingencies note, about
customers in Item 1, about what drove a change in the MD&A's results, about dividends in Item 5 or the
liquidity discussion. Those parts are titled the same way in every filing, so a section title is evidence a
passage discusses the question's matter even where the passage's own words are the company's ("our products
may be subject to recalls"). Each entry is a kind of question and the titles of the parts that answer it.
"""

from __future__ import annotations

import re

# (a kind of open question, as its words show it) -> the titles of the parts of a filing that discuss it.
TOPICS: tuple[tuple[str, str], ...] = (
    # Item 1A, and a 10-Q's Part II Item 1A.
    (r"risks?\b|risky|uncertaint\w*|threats?\b|vulnerab\w*|exposed to",
     r"risk factors|risks? related to|risks? relating to"),
    # Item 3, and the note on commitments and contingencies.
    (r"legal|lawsuits?|litigation|court|sued\b|suits?\b|settlements?|investigations?|antitrust|regulators?",
     r"legal proceedings|litigation|contingenc\w*|legal matters"),
    # Item 1: the business, whom it sells to and how its demand moves.
    (r"customers?|clients?\b|who (?:buys|purchases)|concentrat\w*",
     r"\bbusiness\b|customers?|concentrations?"),
    (r"cyclical\w*|seasonal\w*|cycles?\b",
     r"\bbusiness\b|seasonal\w*|cyclical\w*"),
    # Segments and regions: the segment note and the MD&A's segment results.
    (r"segments?|regions?|regional|geograph\w*|countr(?:y|ies)|international|domestic",
     r"segments?|geograph\w*|region(?:s|al)?\b"),
    # What drove a change: the MD&A's discussion of results.
    (r"drove|drivers?|driven|caused?|reasons?|explain\w*|\bwhy\b|contribut\w*",
     r"management.s discussion|results of operations|overview"),
    # Guidance and outlook.
    (r"guid(?:e|es|ed|ance)\b|outlook|forecast\w*|expects?\b|expectations?|anticipat\w*|next (?:year|quarter|fiscal)",
     r"outlook|guidance"),
    # Capital intensity and liquidity (a capex figure is a statement's, found by its title).
    (r"capital[- ]intensi\w*|liquidity|funding|sources of cash",
     r"capital (?:expenditures|spending|resources)|liquidity|property|investing activities"),
    # Returns to shareholders: Item 5 and the liquidity discussion.
    (r"dividends?|buybacks?|repurchas\w*|return\w* (?:capital|cash) to",
     r"dividends?|repurchases?|market for (?:the )?registrant|shareholder returns?|stockholders.? equity"),
)
_TOPICS = tuple((re.compile(rf"(?i)(?<![\w&]){asked}"), re.compile(rf"(?i){titled}")) for asked, titled in TOPICS)


def topic_titles(question: str) -> list[re.Pattern[str]]:
    """How filings title the parts that discuss the question's matter, to find their sections by.

    'Has the company been sued?' -> [re.compile('legal proceedings|litigation|contingenc...')]
    """
    return [titled for asked, titled in _TOPICS if asked.search(question)]
