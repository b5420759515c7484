"""Query expansion without an LLM: the words financial statements use for what analysts ask.

An analyst asks for "capex", "PP&E", "the income statement" or "the quick ratio"; a filing's
tables say "Purchases of property and equipment", "Property, plant and equipment, net",
"Consolidated Statements of Operations" and list current assets line by line. Neither BM25 nor
a small embedding model bridges that gap, so a question that uses an analyst's term is searched
with the statement's terms as well. Each entry is a term of the trade and the captions and
line items that report it, as they read in US GAAP filings; nothing here is fitted to a question.
"""

from __future__ import annotations

import re

from rag.text import terms

# (what an analyst writes, as a regular expression) -> how the statements word it.
GLOSSARY: tuple[tuple[str, str], ...] = (
    (r"income statements?|statements? of income|p&l|profit and loss",
     "consolidated statements of operations income statement net revenues operating income net income"),
    (r"balance sheets?|statements? of financial position",
     "consolidated balance sheets total assets total liabilities stockholders equity"),
    (r"cash ?flow statements?|statements? of cash ?flows?",
     "consolidated statements of cash flows net cash provided by operating activities investing activities"),
    (r"capex|capital expenditures?|capital spending|capital intensi\w*",
     "purchases of property plant and equipment capital expenditures additions to property and equipment"),
    (r"pp&?ne?\b|pp&e|fixed assets?|property,? plant,? and equipment",
     "property plant and equipment net"),
    (r"revenues?|top[- ]line|sales growth",
     "total net revenues net sales total revenue"),
    (r"cogs|cost of goods sold",
     "cost of sales cost of revenues"),
    (r"working capital|current ratio|quick ratio|liquidity",
     "total current assets total current liabilities cash and cash equivalents accounts receivable"),
    (r"days payable|dpo\b|accounts payable",
     "accounts payable cost of sales"),
    (r"free cash ?flow|fcf\b|cash ?flow conversion",
     "net cash provided by operating activities purchases of property and equipment"),
    (r"operating cash ?flow",
     "net cash provided by operating activities"),
    (r"ebitda",
     "operating income depreciation and amortization"),
    (r"operating margin|operating income|operating profit",
     "operating income total revenue"),
    (r"effective tax rate|tax rate",
     "effective tax rate provision for income taxes income before income taxes"),
    (r"net income|net earnings|earnings per share|eps\b",
     "net income attributable earnings per share diluted"),
    (r"debt|borrowings|leverage",
     "long-term debt short-term borrowings total debt"),
    (r"dividends?",
     "cash dividends declared per share"),
    (r"book value|shareholders'? equity|stockholders'? equity",
     "total stockholders equity book value per share"),
    (r"segments?",
     "segment results net revenue by segment"),
    (r"acquisitions?|acquired",
     "acquisitions business combinations purchase price"),
    # Lawsuits as a filing reports them: Item 3 and the contingencies note speak of proceedings and complaints.
    (r"lawsuits?|sued|suing|litigations?|legal (?:\w+ )?(?:battles?|disputes?|actions?|matters?|issues?|cases?)",
     "legal proceedings litigation complaint filed alleging plaintiffs lawsuit"),
)
# A statement the question names ("relying on the cash flow statement") -> how filings title it, as the
# chunks' section paths carry it ("Item 8 › Consolidated Statements of Cash Flows").
STATEMENTS: tuple[tuple[str, str], ...] = (
    (r"income statements?|statements? of (?:income|operations|earnings)|p&l|profit and loss",
     r"statements? of (?:consolidated )?(?:operations|income|earnings)|income statements?"),
    (r"balance sheets?|statements? of financial (?:position|condition)",
     r"balance sheets?|statements? of financial (?:position|condition)"),
    (r"cash ?flow statements?|statements? of cash ?flows?",
     r"statements? of (?:consolidated )?cash ?flows?|cash ?flow statements?"),
)
_STATEMENTS = tuple((re.compile(rf"(?i)(?<![\w&]){asked}"), re.compile(rf"(?i){titled}"))
                    for asked, titled in STATEMENTS)
_PATTERNS = tuple((re.compile(rf"(?i)(?<![\w&]){pattern}"), words) for pattern, words in GLOSSARY)


def expansions(question: str) -> list[str]:
    """The statement wording for each analyst's term the question uses, in glossary order.

    'What is 3M's FY2018 capex per the cash flow statement?' ->
    ['consolidated statements of cash flows net cash provided by ...', 'purchases of property plant ...']
    """
    return [words for pattern, words in _PATTERNS if pattern.search(question)]


def translations(question: str) -> list[tuple[frozenset[str], frozenset[str]]]:
    """For each glossary entry the question uses: (its terms as the question writes them, the
    statements' terms for them).

    'Is the quick ratio healthy?' -> [({'quick', 'ratio'}, {'total', 'current', 'asset', ...})]
    """
    out = []
    for pattern, wording in _PATTERNS:
        asked = {t for match in pattern.finditer(question) for t in terms(match.group())}
        if asked:
            out.append((frozenset(asked), frozenset(terms(wording))))
    return out


def analyst_terms(question: str) -> set[str]:
    """The question's terms that are an analyst's wording the glossary translates: evidence for them
    is in the statements' words, so an answer cannot be required to repeat them.

    'What is 3M's PPNE and capex?' -> {'ppne', 'capex'}
    """
    return {t for asked, _ in translations(question) for t in asked}


def statement_titles(question: str) -> list[re.Pattern[str]]:
    """How filings title the financial statements the question names, to find their sections by.

    'Using the cash flow statement, what was capex?' -> [re.compile('...statements? of ... cash ?flows?...')]
    """
    return [titled for asked, titled in _STATEMENTS if asked.search(question)]


# An analyst's name for a line item -> the labels statements give that row, for the calculations an analyst
# asks for over statement rows (rag/answer/calculation.py). Only whole labels count, so "Equipment" is not
# "Purchases of property and equipment", nor "Hardware revenue" "total revenue".
LINE_ITEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"capex|capital expenditures?|capital spending",
     ("purchases of property plant and equipment", "purchases of property and equipment", "capital expenditures",
      "additions to property and equipment", "payments for property and equipment")),
    (r"pp&?ne?\b|pp&e|fixed assets?|property,? plant,? and equipment",
     ("property plant and equipment net", "property and equipment net")),
    (r"revenues?|sales", ("total net revenues", "total revenues", "net revenues", "net sales", "total net sales")),
    (r"cogs|cost of goods sold|cost of sales", ("cost of sales", "cost of revenues", "cost of goods sold")),
    (r"cash (?:flows? )?from operations|operating cash ?flows?|cash from operating activities",
     ("net cash provided by operating activities", "cash provided by operating activities")),
    (r"operating income|operating profit", ("operating income", "income from operations")),
    (r"current assets", ("total current assets",)),
    (r"current liabilities", ("total current liabilities",)),
)
_LINE_ITEMS = tuple((re.compile(rf"(?i)(?<![\w&]){asked}"), labels) for asked, labels in LINE_ITEMS)


def line_items(question: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The line items the question names in an analyst's words, as it writes them, with their rows' labels.

    'What is the FY2018 capital expenditure amount for 3M?' -> (('capital expenditure', ('purchases of property
    plant and equipment', ...)),)
    """
    return tuple((m.group(), labels) for pattern, labels in _LINE_ITEMS for m in pattern.finditer(question))
