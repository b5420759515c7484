"""Generative answers whose every shown sentence is verified against its citations.

The chat model sees numbered, fenced passages and must cite [n] after each sentence.
Its output is cut into sentences as it streams; each sentence is shown only once the
passages it cites support it (`rag.verify.verify`: numbers and names present, enough
of its words, close in meaning to a sentence or clause of the passage that agrees with it
in negation). Citations to passages that do not exist are dropped. If nothing verifiable
survives, or the model fails, the extractive answer is given instead and the answer says so.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rag.answer.cite import MARKER, Numbering, split_markers
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.prompt import NOT_FOUND, build_messages, message_text
from rag.answer.reader import attach_short
from rag.answer.verify import MIN_SIMILARITY, Check, verify
from rag.chunk import sentence_spans
from rag.config import LLM_ANSWER_TOKENS, LLM_CONTEXT
from rag.embed.base import CachedEmbedder, Embedder
from rag.types import Answer, Hit, Sentence

log = logging.getLogger(__name__)

_ABSTAIN = re.compile(r"NOT_FOUND|(?:do(?:es)? not|don't|doesn't) (?:contain|mention|say|provide|include)|"
                      r"not (?:found|mentioned|stated) in the (?:passages|documents)", re.I)


def complete_sentences(buffer: str, final: bool) -> tuple[list[str], str]:
    """Cut finished sentences, with their [n] markers, off a streaming buffer.

    ('A rose. [1] B fe', False) -> (['A rose. [1]'], 'B fe'); the last sentence stays in
    the buffer until more text (or the end of the stream) shows it is complete, and a
    marker still arriving ('A rose. [') does not count as that text.
    """
    merged: list[tuple[int, str]] = []  # (offset in buffer, sentence with its markers)
    for a, b in sentence_spans(buffer):
        piece = buffer[a:b]
        lead = _LEADING_MARKERS.match(piece)
        if lead and merged:  # markers written after the full stop belong to the sentence before
            start, text = merged[-1]
            merged[-1] = (start, text + " " + lead.group(1).strip())
            a, piece = a + lead.end(), piece[lead.end():]
        if piece.strip():
            merged.append((a, piece))
    if final:
        return [text for _, text in merged], ""
    if merged and _PARTIAL_MARKER.fullmatch(merged[-1][1]):
        merged.pop()  # 'A rose. [' : the markers of the sentence before, still arriving
    if len(merged) <= 1:
        return [], buffer
    return [text for _, text in merged[:-1]], buffer[merged[-1][0]:]


_LEADING_MARKERS = re.compile(r"^((?:\s*" + MARKER + r")+)\s*")
_PARTIAL_MARKER = re.compile(r"\s*\[[\d,\s]*")


class GenerativeAnswerer:
    def __init__(self, chat_model: Any, embedder: Embedder, fallback: ExtractiveAnswerer, *,
                 count_tokens: Callable[[str], int], context_tokens: int = LLM_CONTEXT,
                 answer_tokens: int = LLM_ANSWER_TOKENS,
                 unverified: str = "remove", label: str = "llm") -> None:
        self.chat_model = chat_model
        self.embedder = embedder
        self.fallback = fallback
        self.count = count_tokens
        self.budget = max(512, context_tokens - answer_tokens)
        self.unverified = unverified
        self.label = label
        # The sentences of one answer cite the same few passages: embed their spans once.
        self._verifier_embedder = CachedEmbedder(embedder, 20_000)

    def passages_for(self, question: str, k: int) -> int:
        return self.fallback.passages_for(question, k)

    def queries_for(self, question: str) -> list[str]:
        return self.fallback.queries_for(question)

    def reads_tables(self, question: str) -> bool:
        return self.fallback.reads_tables(question)

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        final = None
        for item in self.stream(question, hits):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        """Yields each verified sentence as soon as it is checked, then the final Answer.

        The yielded pieces joined with " " are the final answer's text. A model that fails
        before any sentence is shown gives the extractive answer instead, with a note.
        """
        messages, passages = build_messages(question, hits, self.count, self.budget)
        state = _State(passages)
        raw = ""
        failure: str | None = None
        try:
            buffer = ""
            for piece in self.chat_model.stream(messages):
                text = message_text(piece.content)
                raw += text
                buffer += text
                sentences, buffer = complete_sentences(buffer, final=False)
                for sentence in sentences:
                    shown = self._judge(sentence, state)
                    if shown:
                        yield shown
            sentences, _ = complete_sentences(buffer, final=True)
            for sentence in sentences:
                shown = self._judge(sentence, state)
                if shown:
                    yield shown
        except Exception as exc:  # a down, slow, rate-limited or broken server: answer anyway
            log.warning("language model failed: %s", exc)
            failure = _describe(exc)
        if not state.shown:
            if failure:
                yield from self._fallback(question, hits, f"The language model {self.label} failed ({failure})",
                                          state.sentences)
            elif _ABSTAIN.search(raw):
                yield self.fallback_text()  # streamed like any answer text, so a stream shows it too
                yield Answer(question, self.fallback_text(), True, "generative", (), tuple(hits),
                             sentences=tuple(state.sentences), note=f"{self.label} found no answer in the passages",
                             model=self.label)
            elif not raw.strip():
                yield from self._fallback(question, hits, f"{self.label} returned an empty answer", state.sentences)
            else:
                yield from self._fallback(question, hits, f"No sentence {self.label} generated could be verified "
                                                          "against the documents", state.sentences)
            return
        notes = []
        if failure:
            notes.append(f"The language model {self.label} failed part-way ({failure}); the answer may be "
                         "incomplete.")
        unverified = [s for s in state.sentences if not s.supported]
        if unverified:
            why = Counter(s.reason for s in unverified)
            how = "are marked [unverified]" if self.unverified == "mark" else "were left out"
            notes.append(f"{len(unverified)} of {len(state.sentences)} generated sentences could not be verified "
                         f"against the passages they cite and {how} "
                         f"({', '.join(f'{n} {reason}' for reason, n in why.most_common())}).")
        answer = Answer(question, " ".join(state.shown), False, "generative", tuple(state.numbering.citations),
                        tuple(hits), sentences=tuple(state.sentences), note=" ".join(notes) or None, model=self.label)
        # The figure a table gives, read with what the packs the documents switched on know (the fallback's).
        yield attach_short(answer, question, hits, self.fallback.lexicon(question))

    @staticmethod
    def fallback_text() -> str:
        from rag.answer.extractive import NOT_FOUND as TEXT

        return TEXT

    def _fallback(self, question: str, hits: list[Hit], reason: str,
                  sentences: Sequence[Sentence] = ()) -> Iterator[str | Answer]:
        answer = self.fallback.answer(question, hits)
        if answer.abstained:
            note = f"{reason}, and no sentence of the documents answers the question."
        else:
            note = f"{reason}; showing quoted sentences from the documents instead."
        yield from answer.text.splitlines()
        yield dataclasses.replace(answer, note=note, sentences=tuple(sentences))

    def _judge(self, sentence: str, state: _State) -> str | None:
        """Verify one generated sentence; return what to show, or None to drop it."""
        text, ids = split_markers(sentence)
        text = text.strip()
        if not re.search(r"\w", text) or NOT_FOUND in text:
            return None
        # Citations to passages the model was not given are dropped.
        valid = list(dict.fromkeys(i for i in ids if 1 <= i <= len(state.passages)))
        score = 0.0
        located: list[tuple[Hit, tuple[int, int]]] = []
        check = None
        if valid:
            check, located = self._support(text, [state.passages[i - 1] for i in valid])
            score = check.similarity if check.similarity is not None else check.overlap
        numbers = list(dict.fromkeys(state.numbering.number(hit.chunk, hit.chunk.start + a, hit.chunk.start + b)
                                     for hit, (a, b) in located))
        supported = bool(numbers)
        reason, detail = "", ""
        if not supported:
            reason = "no citation" if check is None else ("wrong figure" if check.wrong_figure else "unsupported")
            detail = "it cites no passage it was given" if check is None else check.reason
        derivations = tuple(str(d) for d in check.derivations) if check is not None and supported else ()
        state.sentences.append(Sentence(text, tuple(numbers), supported, round(score, 4), derivations, reason, detail))
        if supported:
            shown = f"{text} " + "".join(f"[{n}]" for n in numbers)
        elif self.unverified == "mark":
            shown = f"{text} [unverified]"
        else:
            return None
        state.shown.append(shown)
        return shown

    def _support(self, claim: str, cited: list[Hit]) -> tuple[Check, list[tuple[Hit, tuple[int, int]]]]:
        """`rag.verify.verify` on the cited passages together; if the claim is supported,
        the spans to cite: the lines holding the figures it computes from, and each cited
        passage's closest sentence when it is close enough, else the single closest one."""
        check = verify(claim, [h.chunk.text for h in cited], self._verifier_embedder,
                       contexts=[h.chunk.context for h in cited])
        if not check.supported:
            return check, []
        operands = [(cited[i], (a, b)) for d in check.derivations for i, a, b in d.lines]
        close = [(hit, c) for hit, c in zip(cited, check.closest, strict=True) if c is not None]
        located = [(hit, (a, b)) for hit, (a, b, sim) in close if sim >= MIN_SIMILARITY]
        if operands:
            return check, list(dict.fromkeys([*operands, *located]))
        if not located and close:
            hit, (a, b, _) = max(close, key=lambda pair: pair[1][2])
            located = [(hit, (a, b))]
        return check, located


class _State:
    """Sentences shown so far, and the spans they cite, numbered in order of first use."""

    def __init__(self, passages: list[Hit]) -> None:
        self.passages = passages
        self.shown: list[str] = []
        self.sentences: list[Sentence] = []
        self.numbering = Numbering()


def _describe(exc: Exception) -> str:
    name = type(exc).__name__
    message = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{name}: {message}" if message else name
