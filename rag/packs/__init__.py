"""Domain packs: what a kind of document knows beyond plain text search, switched on by the documents.

A pack recognises its documents by what their text says they are (a filing's cover: "FORM 10-K", "For the
fiscal year ended ...") and keeps what it read there as the document's `Profile`. For a question it says
which of its documents the question names, how those documents word the question's terms, and which of
their sections hold what it asks for: priors the retriever adds to its plain search, never a filter; and,
for the answer step, what it knows of the question's words (`Lexicon`). The core never imports a pack.
Packs are found through the `rag.packs` entry-point group (as simonw/llm finds its plugins), and a corpus
no pack recognises is searched and answered exactly as with no pack installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Protocol

from rag.types import Document, Profile

GROUP = "rag.packs"

# The terms a question writes (an analyst's "capex") paired with the documents' terms for them ("purchases
# of property and equipment"): evidence in the documents' words answers the question's.
Translations = tuple[tuple[frozenset[str], frozenset[str]], ...]
# The line items a question names in a trade's words, as it writes them, with the labels documents give their
# rows: ("capital expenditure", ("purchases of property plant and equipment", ...)).
LineItems = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Lexicon:
    """What the packs the documents switched on know of one question's words, for the answer step."""

    translations: Translations = ()
    line_items: LineItems = ()

    def items(self) -> tuple[str, ...]:
        """The line items the question names, as it writes them: ('capital expenditure',)."""
        return tuple(dict.fromkeys(phrase for phrase, _ in self.line_items))

    def labels(self, operand: str) -> tuple[str, ...]:
        """The row labels of the line items an operand of the question names ('total revenue' -> 'net sales' ...)."""
        text = operand.lower()
        return tuple(label for phrase, labels in self.line_items if phrase.lower() in text for label in labels)


@dataclass(frozen=True)
class Steer:
    """What the packs add to one question's search: empty but for `among` (their documents) when they have
    nothing to say of it."""

    routed: frozenset[str] = frozenset()
    """Documents the question names (its company and period): searched again on their own."""
    named: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """For each routed document, the question's words that name it."""
    wording: tuple[str, ...] = ()
    """How the routed documents word the question's terms: added to its search inside them."""
    sections: tuple[re.Pattern[str], ...] = ()
    """Titles of the sections that hold what is asked (a statement the question names: "Consolidated Statements
    of Cash Flows" for "using the cash flow statement")."""
    topics: tuple[re.Pattern[str], ...] = ()
    """Titles of the parts of a document that discuss the matter an open question asks about (its risks: "Risk
    Factors"; its lawsuits: "Legal Proceedings"). Where none of the passages found comes from one of the routed
    documents' such parts, the best passage of one takes the last place: a part the question is about is read,
    and the plain search keeps the others."""
    among: frozenset[str] = frozenset()
    """Every document of the pack. A question that names none of them (a user asking one 10-K "What are the main
    risks?") is searched as theirs among the documents it is asked of (a chosen filing)."""


Steering = Callable[[str], Steer]
NO_LEXICON = Lexicon()  # no pack switched on: nothing known beyond the words


class Pack(Protocol):
    """A domain's knowledge, behind three calls."""

    name: str

    def recognise(self, doc: Document) -> Profile | None:
        """What the document is, read from its own text; None when it is not one of the pack's."""

    def steering(self, profiles: Mapping[str, Profile], *, whole: bool = False) -> Steering:
        """The steer for questions over these documents (all recognised by this pack), by source; `whole`: they
        are every document indexed."""

    def lexicon(self, question: str) -> Lexicon:
        """The question's terms of the trade paired with the documents' wording for them, and the line items it
        names with their rows' labels."""


def installed(names: Collection[str] | None = None) -> tuple[Pack, ...]:
    """The packs installed under the `rag.packs` entry points: all of them, or those `names` lists (in
    that order). A name no installed pack has is an error naming it and the ones there are."""
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    if names is None:
        return tuple(found[name].load() for name in sorted(found))
    unknown = [name for name in names if name not in found]
    if unknown:
        raise ValueError(f"setting packs / RAG_PACKS: no pack named {', '.join(map(repr, unknown))} "
                         f"(installed: {', '.join(sorted(found)) or 'none'})")
    return tuple(found[name].load() for name in names)


def recognise(packs: Iterable[Pack], doc: Document) -> Profile | None:
    """The profile the first pack that recognises the document gives it; None when none does."""
    for pack in packs:
        profile = pack.recognise(doc)
        if profile is not None:
            return profile
    return None


def steering(packs: Iterable[Pack], profiles: Mapping[str, Profile | None]) -> Steering | None:
    """One steer over every pack whose documents are in the index; None when no document switches one on,
    so a corpus of articles is searched as if no pack were installed."""
    active = [(pack, {s: p for s, p in profiles.items() if p is not None and p.pack == pack.name})
              for pack in packs]
    steers = [pack.steering(own, whole=len(own) == len(profiles)) for pack, own in active if own]
    if not steers:
        return None

    def steer(question: str) -> Steer:
        parts = [s(question) for s in steers]
        return Steer(routed=frozenset().union(*(p.routed for p in parts)),
                     named={k: v for p in parts for k, v in p.named.items()},
                     wording=tuple(w for p in parts for w in p.wording),
                     sections=tuple(t for p in parts for t in p.sections),
                     topics=tuple(t for p in parts for t in p.topics),
                     among=frozenset().union(*(p.among for p in parts)))

    return steer


def lexicon(packs: Iterable[Pack], profiles: Mapping[str, Profile | None]) -> Callable[[str], Lexicon]:
    """The lexicon of the packs switched on by these documents; an empty one when no pack is."""
    on = {p.pack for p in profiles.values() if p is not None}
    active = [pack for pack in packs if pack.name in on]

    def of(question: str) -> Lexicon:
        parts = [pack.lexicon(question) for pack in active]
        return Lexicon(tuple(t for p in parts for t in p.translations), tuple(i for p in parts for i in p.line_items))

    return of
