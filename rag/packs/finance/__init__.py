"""The finance pack: SEC filings (10-K, 10-Q, 8-K, 20-F ...) and companies' results releases.

It switches on for a document whose first pages say it is one (`profile`), routes a question to the
filings of the company and period it names (`route`), words an analyst's terms as the statements do, finds
the statement a question names among the filing's sections, and knows the rows of the line items an analyst's
calculations name (`glossary`).
Installed as the `finance` entry point of the `rag.packs` group; the core never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping

from rag.answer.asked import asking
from rag.packs import Lexicon, Steer, Steering
from rag.packs.finance.glossary import expansions, line_items, statement_titles, translations
from rag.packs.finance.profile import profile_of
from rag.packs.finance.route import Router
from rag.packs.finance.sections import topic_titles
from rag.types import Document, Profile

COVER_PAGES = 3  # what a filing is, is said on its cover; a release says it in its first lines
COVER_CHARS = 20000


class Finance:
    name = "finance"

    def recognise(self, doc: Document) -> Profile | None:
        pages = doc.page_starts
        first = doc.text[: pages[COVER_PAGES]] if len(pages) > COVER_PAGES else doc.text
        return profile_of(doc.title, first[:COVER_CHARS], doc.text)

    def steering(self, profiles: Mapping[str, Profile], *, whole: bool = False) -> Steering:
        router = Router.from_profiles(profiles)
        filings = frozenset(profiles)
        # A folder of one company's filings and nothing else: a question need not name the company.
        everyone = dict.fromkeys(router.names, frozenset[str]()) if whole and router.one_company() else {}

        def steer(question: str) -> Steer:
            named = router.named(question) or everyone  # the question's name keys, read once for both
            routed = router.route(question, named)
            return Steer(routed=routed, named=named, wording=tuple(expansions(question)),
                         sections=tuple(statement_titles(question)), topics=tuple(topic_titles(asking(question))),
                         among=filings)

        return steer

    def lexicon(self, question: str) -> Lexicon:
        return Lexicon(tuple(translations(question)), line_items(question))


PACK = Finance()
