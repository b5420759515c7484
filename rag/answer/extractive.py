"""Extractive, grounded answering: the sentences that answer the question, quoted verbatim.

The answerer never writes a word of its own into a claim: each answer line is a sentence
of a retrieved passage, followed by its [n] marker, and each citation records the exact
character span it quotes. It abstains when the evidence does not cover the question:
numbers and names in the question must appear in the passages the answer quotes from,
enough of the question's content terms must be covered, and the best sentence must be
semantically close enough. The two thresholds are calibrated by `bench/calibrate.py` on
a question set of answerable and unanswerable questions kept apart from the evaluation
set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.asked import asked, asking
from rag.answer.calculation import (
    asked_calculation,
    compute,
    find_rows,
    operand_queries,
)
from rag.answer.cite import CALCULATION
from rag.answer.reader import Read, header_of, read, with_short
from rag.answer.reader.caption import asks_about_table
from rag.answer.reader.prose import wants_figure
from rag.answer.running import without_running
from rag.answer.scoring import Scoring
from rag.chunk import sentence_spans
from rag.embed.base import CachedEmbedder, Embedder
from rag.packs import Lexicon, Translations
from rag.text import ORDINALS, is_number, is_years, names, terms
from rag.types import Answer, Citation, Hit

NOT_FOUND = "I couldn't find this in the documents."
MIN_COVERAGE = 0.3
"""Abstain when fewer of the question's other content terms are in the quoted passages.
Chosen by bench/calibrate.py on tests/eval/calibration_qa.jsonl (20 answerable, 20 not,
kept apart from the evaluation sets): balanced accuracy 0.95 for thresholds 0.26-0.33. Mixing
in the best sentence's similarity to the question never scored higher at any weight, so
the decision rests on coverage alone."""
SHORTLIST = 10
"""Sentences embedded per answer (twice as many for a "why" question), chosen by their
lexical score; bench/perf/ measures the latency and the evaluation the quality."""
ANSWER_CACHE = 50_000
"""Sentence vectors kept for answering (about 77 MB at 384 dimensions): the passages of a
session's questions many times over, so related questions embed only what is new."""

# Question words that carry no evidence of their own.
_GENERIC = frozenset(terms("company companies document documents mention mentioned describe explain "
                           "discuss article report text passage main key reason reasons th st nd rd "
                           "drove drive drives driven driver drivers caused"))
# Words that ask for a form of answer inside the question itself ("in USD millions", "round to two
# decimal places"), never evidence a passage could hold. The instructions around a question ("Assume that
# you are an analyst.", "Round your answer to two decimal places.") are left out whole by `asking`.
_INSTRUCTION = frozenset(terms("answer answers question questions round rounded decimal decimals unit units "
                               "percent percents usd eur gbp millions billions thousands fy"))
# The rest of a request's wording: how precise the answer should be, and the formula a question
# defines for its metric ("defined as: 365 * (average accounts payable) / COGS"), whose constants
# and operands are asked of the passages only through the metric's own terms.
_PRECISION = re.compile(r"(?i)\b(?:one|two|three|four|\d)\s+decimal\s+places?\b")
_DEFINITION = re.compile(r"(?i)\b(?:is\s+)?defined\s+as\b:?[^?]*?(?:\.(?=\s|$)|\?|$)")
# The arithmetic a question asks for ("the FY2019 fixed asset turnover ratio", "the growth rate"): the
# passages hold the figures it is computed from, not these words, so they are not asked of them.
_CALCULATION = frozenset(terms("ratio ratios average averages change changes growth rate rates increase increased "
                               "decrease decreased percentage proportion difference compare compared turnover "
                               "defined define"))
# An analyst's term counts as covered when the passages use this share of the statements' words for it.
TRANSLATED = 0.5
# A fiscal period as a question writes it; passages and their captions write the year alone.
_FISCAL = re.compile(r"^(?:fy(\d{4}|\d{2})(?:q[1-4])?|q[1-4](\d{4}))$")
_QUARTER_NAMES = {q: name for name, q in ORDINALS.items() if name.isalpha()}  # 3 -> "third"
# "the third quarter of 2023" as a question may write it, "Q3 2023" as it is required of the passages.
_QUARTER_WORDS = re.compile(r"(?i)\b(first|second|third|fourth)[- ]quarter\b")


def _period_term(term: str) -> str:
    """'fy2018' -> '2018', 'fy21' -> '2021', 'fy2023q1' and 'q22023' -> '2023'; other terms unchanged."""
    match = _FISCAL.match(term)
    if not match:
        return term
    year = match.group(1) or match.group(2)
    return year if len(year) == 4 else f"20{year}"
_NEGATION = ("un", "non", "in", "dis")
_EXPECTS_NUMBER = re.compile(
    r"\b(how (many|much|large|big|fast)|what (percentage|share|size|amount|multiple)|by what percentage)\b", re.I)
_EXPECTS_DATE = re.compile(r"\b(when|what year|which year|what date)\b", re.I)
_DATE = re.compile(r"\b(1[5-9]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|"
                   r"october|november|december|century|decade)\b", re.I)
# A sentence opening that refers back to the subject of the sentence before it.
_ANAPHORA = re.compile(r"(?:the (?:company|firm|group|stock|deal|agreement)|it|its|this|these|they|their|he|she)\b",
                       re.I)


@dataclass(frozen=True)
class Candidate:
    hit_index: int
    start: int  # offsets into the document
    end: int
    text: str
    score: float = 0.0
    similarity: float = 0.0
    lead: str = ""  # the previous sentence, when this one refers back to it ("The company ...")


def question_terms(question: str, translations: Translations = ()) -> tuple[list[str], set[str]]:
    """Content terms of a question, and the required ones (numbers and names).

    'Who is the CEO of CoreWeave in 2024?' -> (['ceo', 'coreweav', '2024'], {'ceo', 'coreweav', '2024'})
    """
    asked = _QUARTER_WORDS.sub(lambda m: f"Q{ORDINALS[m.group(1).lower()]}", _PRECISION.sub(" ", asking(question)))
    content = [t for t in dict.fromkeys(_period_term(t) for t in terms(asked))
               if t not in _GENERIC and t not in _INSTRUCTION]
    undefined = _DEFINITION.sub(" ", asked)
    # "FY" goes with a year; a term a domain pack translates (an analyst's "PPNE", "EPS") is in the documents'
    # own words: neither can be required verbatim.
    required = {_period_term(t) for t in terms(undefined) if is_number(t)} | {_period_term(t) for t in names(undefined)}
    required -= {"fy"} | {t for asked, _ in translations for t in asked}
    return content, required & set(content)


def translated(wordings: Translations, vocabulary: set[str]) -> set[str]:
    """The analyst's terms whose statement wording the vocabulary mostly uses (`TRANSLATED`).

    ([({'capex'}, {'purchas', 'properti', 'plant', 'equip'})], {'purchas', 'properti', 'plant', 'net'}) -> {'capex'}
    """
    return {t for asked, wording in wordings if len(wording & vocabulary) >= TRANSLATED * len(wording) for t in asked}


def covers(term: str, vocabulary: set[str]) -> bool:
    """'unprofit' is covered by 'profit': a negated form asks about the same thing; 'q3' by 'third'
    and 'quarter', as filings write it."""
    if term in vocabulary:
        return True
    if len(term) == 2 and term[0] == "q" and term[1] in "1234":
        return {_QUARTER_NAMES[int(term[1])], "quarter"} <= vocabulary
    return any(term.startswith(p) and len(term) - len(p) >= 4 and term[len(p):] in vocabulary for p in _NEGATION)


def _read_candidates(found: Read, hits: list[Hit]) -> list[Candidate]:
    """The spans the reader's short answer rests on (rows, sentences), as sentences to quote."""
    return [Candidate(i, start, end, hits[i].chunk.quote(start, end)) for i, start, end in found.cited()]


def is_why(question: str) -> bool:
    """Whether the question asks for reasons, read from its question sentences: "Does Corning have positive
    working capital? If it is not a useful metric, explain why." asks for a figure."""
    q = asking(question).lower()
    return bool(re.search(r"\b(why|reasons?|how come|drivers?|explain|risks?|challenges?|"
                          r"what (?:\w+ )?(?:makes|made|drives|drove|explains|explained|caused))\b", q))


class ExtractiveAnswerer:
    def __init__(self, embedder: Embedder, *, min_coverage: float = MIN_COVERAGE, cache_size: int = ANSWER_CACHE,
                 shortlist: int = SHORTLIST, scoring: Scoring | None = None,
                 lexicon: Callable[[str], Lexicon] | None = None,
                 running: Callable[[str], frozenset[str]] | None = None) -> None:
        """`lexicon` gives what the domain packs the indexed documents switched on know of a question's words
        (`rag.packs.lexicon`: a trade's terms with the documents' wording, line items with their rows' labels);
        None: no pack's. `running` gives a document's running lines (`rag.answer.running`), which are not
        quoted; None: none known."""
        # Sentence vectors by their text in context: the same passages come back for related
        # questions, and embedding their sentences is most of the cost of answering.
        self.embedder = embedder if isinstance(embedder, CachedEmbedder) else CachedEmbedder(embedder, cache_size)
        self.min_coverage = min_coverage
        self.shortlist = shortlist
        self.scoring = scoring or Scoring()
        self.lexicon = lexicon or (lambda question: Lexicon())
        self.running = running or (lambda source: frozenset())

    def candidates(self, hits: list[Hit]) -> list[Candidate]:
        """Answer-worthy sentences of the hits: no headings, no questions, no page's running footer, each
        quoted once."""
        seen: set[tuple[str, int]] = set()
        out = []
        for i, hit in enumerate(hits):
            chunk = hit.chunk
            running = self.running(chunk.source)
            previous = ""
            for a, b in sentence_spans(chunk.text):
                text = chunk.text[a:b]
                key = (chunk.source, chunk.start + a)
                lead = previous if _ANAPHORA.match(text) else ""
                previous = text
                if key in seen or text.rstrip().endswith("?") or len(re.findall(r"\w+", text)) < 5:
                    continue
                if is_years(text) and not text.rstrip().endswith("."):  # a table's column header says nothing
                    continue
                if running and len(re.findall(r"[\w#]+", without_running(text, running))) < 5:
                    continue
                seen.add(key)
                out.append(Candidate(i, chunk.start + a, chunk.start + b, text, lead=lead))
        return out

    @staticmethod
    def _in_context(candidate: Candidate, hits: list[Hit]) -> str:
        section = hits[candidate.hit_index].chunk.section
        return f"{section.strip('*# :')}: {candidate.text}" if section else candidate.text

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        lexicon = self.lexicon(question)
        content, required = question_terms(question, lexicon.translations)
        cands = self.candidates(hits)
        why = is_why(question)
        if why:  # a table row gives figures, never their causes: reasons are quoted from prose when there is any
            prose = [c for c in cands if not any(t.start <= c.start < t.end for t in hits[c.hit_index].chunk.tables)]
            cands = prose or cands
        if not content:  # "What does the table show?": no words to weigh, but a table the reader may name
            return self._cell_or_abstain(question, hits, lexicon, {"coverage": 0.0, "similarity": 0.0,
                                                                   "confidence": 0.0})
        if not cands:  # no sentence to weigh ("Other | 16 | 29" is too short to be one)
            return self._cell_or_abstain(question, hits, lexicon, {"coverage": 0.0, "similarity": 0.0,
                                                                   "confidence": 0.0})
        w = self.scoring
        weights = {t: (w.required if t in required else 1.0) for t in content}
        total = sum(weights.values())
        contexts = [set(terms(h.chunk.text)) | set(terms(h.chunk.section or "")) for h in hits]
        prior: list[float] = []
        for c in cands:
            vocab = set(terms(c.text)) | set(terms(c.lead))
            context = contexts[c.hit_index]
            lexical = sum(weight * (1.0 if covers(t, vocab) else w.context_credit if covers(t, context) else 0.0)
                          for t, weight in weights.items()) / total
            prior.append(w.lexical * lexical + w.rank_prior / (1 + c.hit_index))
        # Embedding sentences is what an answer costs; only the lexically best few can win
        # (the lexical part is nearly half the score), so only they are embedded.
        shortlist = sorted(range(len(cands)), key=lambda i: -prior[i])
        shortlist = shortlist[: self.shortlist * (2 if why else 1)]
        cands = [cands[i] for i in shortlist]
        # A sentence is embedded under its section heading: "The company is highly indebted"
        # is about CoreWeave only through the heading "CoreWeave's Challenges" above it.
        vectors = self.embedder.embed_documents([self._in_context(c, hits) for c in cands])
        sims = vectors @ self.embedder.embed_query(question)
        scored = []
        for i, c, sim in zip(shortlist, cands, sims, strict=True):
            score = w.similarity * float(sim) + prior[i]
            scored.append(Candidate(c.hit_index, c.start, c.end, c.text, score, float(sim), c.lead))
        chosen = self._select(question, scored, vectors, [h.chunk.source for h in hits])
        signals = self.signals(question, content, required, chosen, hits, lexicon.translations)
        signals["confidence"] = signals["coverage"]
        if signals["missing_required"] or signals["wrong_type"] or signals["coverage"] < self.min_coverage:
            return self._cell_or_abstain(question, hits, lexicon, signals)
        notes: list[str] = []
        asked = asked_calculation(question)
        # A "why" question asks for causes, which a line item's statement row never gives.
        items = lexicon.items() if asked is None and not why else ()
        if items:
            # A line item the question names ("the FY2018 capital expenditure amount"): its statement row first.
            rows = find_rows(items, hits, lexicon)
            quoted = {(c.hit_index, c.start) for c in chosen}
            chosen = [Candidate(r.hit_index, r.start, r.end, r.text) for r in rows
                      if (r.hit_index, r.start) not in quoted] + chosen
            chosen = chosen[: max(len(rows), self.scoring.fact_sentences)]
        if asked is not None:
            # Arithmetic over reported figures: quote the rows that hold the operands, say which calculation,
            # and give the result when it is one step over figures of the asked year.
            rows = list({(r.hit_index, r.start): r for r in find_rows(asked.operands, hits, lexicon)}.values())
            if rows:
                chosen = [Candidate(r.hit_index, r.start, r.end, r.text) for r in rows]
            notes.append(f"{CALCULATION} {asked.name} = {asked.formula}.")
            result = compute(asked, rows)
            if result:
                notes.append(result)
        found = read(question, hits, lexicon)
        if found is not None:
            # The reader's rows are quoted first: every part of the short answer is a cited cell.
            read_rows = _read_candidates(found, hits)
            quoted = {(r.hit_index, r.start) for r in read_rows}
            chosen = read_rows + [c for c in chosen if (c.hit_index, c.start) not in quoted]
        answer = self._compose(question, hits, chosen, signals, notes)
        return with_short(answer, found) if found is not None else answer

    def _cell_or_abstain(self, question: str, hits: list[Hit], lexicon: Lexicon, signals: dict[str, float]) -> Answer:
        """Where the sentences do not cover the question, a table may: a cell the reader names by its row and
        column, with the period asked, or the sentence introducing the table a question is about, is an answer
        the coverage of words cannot see; else the answer abstains."""
        found = read(question, hits, lexicon)
        if found is None or (found.table is None and not asks_about_table(question)):
            return self._abstain(question, hits, signals)
        return with_short(self._compose(question, hits, _read_candidates(found, hits), signals | {"read": 1.0}),
                          found)

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        """The answer's lines, then the Answer: an extractive answer is ready all at once."""
        answer = self.answer(question, hits)
        yield from answer.text.splitlines()
        yield answer

    def signals(
        self, question: str, content: list[str], required: set[str], chosen: list[Candidate], hits: list[Hit],
        translations: Translations = (),
    ) -> dict[str, float]:
        """The evidence the abstention decision rests on.

        - missing_required: numbers, and the name of a single-subject question, must be in
          the passage of the best sentence; every name must be in some quoted passage.
        - wrong_type: a "how many" question needs a figure, a "when" question a date.
        - coverage: share of the other content terms found in the quoted passages.
        - similarity: cosine of the question and the best sentence.
        """
        def vocab(hit: Hit) -> set[str]:
            # The chunk's context says whose document it is, which period and which table: "3M" and
            # "FY2018" are evidence for a row of 3M's FY2018 cash-flow statement that names neither.
            chunk = hit.chunk
            words = set(terms(f"{chunk.text} {chunk.section or ''} {chunk.context} {chunk.source}"))
            # A period as the question's terms are read: the profile's 'FY2015' is evidence for '2015'.
            return words | {_period_term(t) for t in words} | hit.named

        top = vocab(hits[chosen[0].hit_index])
        evidence = set().union(*(vocab(hits[c.hit_index]) for c in chosen))
        figures = {t for t in required if any(ch.isdigit() for ch in t)}
        names = required - figures
        need_top = figures | (names if len(names) <= 1 else set())
        missing = {t for t in need_top if not covers(t, top)} | {t for t in required if not covers(t, evidence)}
        # An analyst's term ("capex", "quick ratio") is found when the passages use the statements' words for it.
        found = evidence | translated(translations, evidence)
        others = [t for t in content if t not in required and t not in _CALCULATION]
        coverage = sum(covers(t, found) for t in others) / len(others) if others else 1.0
        quoted = " ".join(c.text for c in chosen)
        wrong_type = (_EXPECTS_NUMBER.search(question) and not re.search(r"\d", quoted)) or (
            _EXPECTS_DATE.search(question) and not _DATE.search(quoted)
        )
        return {
            "coverage": round(coverage, 4),
            "similarity": round(max(c.similarity for c in chosen), 4),
            "missing_required": len(missing),
            "wrong_type": float(bool(wrong_type)),
        }

    def queries_for(self, question: str) -> list[str]:
        """Further searches the answer needs: one per operand of a calculation the question asks for."""
        return operand_queries(question)

    def reads_tables(self, question: str) -> bool:
        """A figure, a period's value or a computed step is read from a table where one holds it."""
        if is_why(question):
            return False
        ask = asked(question)
        return ask.operation != "lookup" or bool(ask.periods) or wants_figure(question)

    def passages_for(self, question: str, k: int) -> int:
        """A "why" question's reasons, and a calculation's operands (a ratio of a cash-flow figure to a
        balance-sheet one), are spread over more passages than a fact is."""
        return 2 * k if is_why(question) or asked_calculation(question) is not None else k

    def _select(self, question: str, scored: list[Candidate], vectors: np.ndarray, sources: list[str]
                ) -> list[Candidate]:
        """Maximal marginal relevance: the best sentences that say different things, preferring a second
        document when it has a good one.

        A "why" question gets up to five reasons; a factual one, one or two sentences.
        """
        w = self.scoring
        # A "why" answer takes its reasons however they score against the best; a factual one only a close second.
        limit, floor = (w.why_sentences, 0.0) if is_why(question) else (w.fact_sentences, w.fact_floor)
        order = sorted(range(len(scored)), key=lambda i: -scored[i].score)
        top = scored[order[0]].score
        picked: list[int] = [order[0]]
        while len(picked) < limit:
            best_i, best_val = -1, -1e9
            for i in order:
                if i in picked or scored[i].score < floor * top:
                    continue
                redundancy = max(float(vectors[i] @ vectors[j]) for j in picked)
                new_source = sources[scored[i].hit_index] not in {sources[scored[j].hit_index] for j in picked}
                value = (1 - w.novelty) * scored[i].score - w.novelty * redundancy + (w.new_source if new_source else 0)
                if value > best_val:
                    best_i, best_val = i, value
            if best_i < 0:
                break
            picked.append(best_i)
        return [scored[i] for i in self._cover_names(question, scored, order, picked)]

    @staticmethod
    def _cover_names(question: str, scored: list[Candidate], order: list[int], picked: list[int]) -> list[int]:
        """A question that names several subjects ("How does CoreWeave's multiple compare with
        Microsoft's?") gets, for each subject no chosen sentence mentions, the best sentence
        that does."""
        subjects = {t for t in names(question) if not is_number(t)}
        if len(subjects) < 2:
            return picked

        def mentions(i: int) -> set[str]:
            return set(terms(scored[i].text)) | set(terms(scored[i].lead))

        aspects = set(terms(question)) - subjects  # what is asked of each subject
        for subject in sorted(subjects):
            if any(subject in mentions(i) for i in picked):
                continue
            options = [i for i in order if i not in picked and subject in mentions(i)]
            if options:
                picked.append(max(options, key=lambda i: (len(aspects & mentions(i)), scored[i].score)))
        return picked

    def _compose(self, question: str, hits: list[Hit], chosen: list[Candidate], signals: dict[str, float],
                 notes: Sequence[str] = ()) -> Answer:
        """Lines grouped by source (best source first), in document order within a source."""
        best_by_source: dict[str, float] = {}
        for c in chosen:
            src = hits[c.hit_index].chunk.source
            best_by_source[src] = max(best_by_source.get(src, -1e9), c.score)
        ordered = chosen
        if is_why(question):  # reasons read best grouped by document, in document order
            ordered = sorted(chosen, key=lambda c: (-best_by_source[hits[c.hit_index].chunk.source], c.start))
        citations = []
        lines = []
        for n, c in enumerate(ordered, start=1):
            chunk = hits[c.hit_index].chunk
            citations.append(Citation(n, chunk.source, chunk.page, c.start, c.end, c.text, chunk.section,
                                      header_of(chunk, c.start, c.end)))
            lines.append(f"{c.text} [{n}]")
        text = "\n".join([lines[0] if len(lines) == 1 else "\n".join(f"- {line}" for line in lines), *notes])
        return Answer(question, text, False, "extractive", tuple(citations), tuple(hits), signals=signals)

    def _abstain(self, question: str, hits: list[Hit], signals: dict[str, float]) -> Answer:
        return Answer(question, NOT_FOUND, True, "extractive", (), tuple(hits), signals=signals)

