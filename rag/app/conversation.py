"""Follow-up questions made standalone: by rule (no LLM needed), or by the chat model when there is one.

Retrieval sees one question at a time, so "And what about Microsoft?" after "Why is
CoreWeave unprofitable?" must become "Why is Microsoft unprofitable?" before it reaches
the retriever, and "What is its capex guidance?" must name the company it means.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from rag.answer.prompt import condense_messages, message_text
from rag.text import terms

log = logging.getLogger(__name__)

_FOLLOW_UP = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+|^\s*(?:and|also|same\s+for|what\s+of)\s+", re.I)
_PRONOUN = re.compile(r"\b(its|their|it|they|them)\b", re.I)
_NAME = re.compile(r"\b[A-Z][\w&-]*(?:\s+[A-Z][\w&-]*)*")
_FILLERS = frozenset({"and", "or", "then", "instead", "too", "also", "now"})
_NOT_NAMES = frozenset("I The A An And What How Why When Where Who Which Is Are Was Were Do Does Did".split())


def surface_names(text: str, *, drop_initial: bool = True) -> list[str]:
    """Capitalised names as written, sentence openers left out:
    'Why is CoreWeave unprofitable?' -> ['CoreWeave']."""
    out = []
    for match in _NAME.finditer(text):
        words = match.group().split()
        before = text[: match.start()].rstrip()
        if drop_initial and (not before or before[-1] in ".?!:"):
            words = words[1:]
        while words and words[0] in _NOT_NAMES:
            words = words[1:]
        if words:
            out.append(" ".join(words).removesuffix("'s").removesuffix("’s"))
    return list(dict.fromkeys(out))


def standalone(question: str, history: Sequence[str]) -> str:
    """Rewrite a follow-up using the previous (already standalone) question.

    ('And what about Microsoft?', ['Why is CoreWeave unprofitable?']) -> 'Why is Microsoft unprofitable?'
    ('What is its capex guidance?', ['Tell me about CoreWeave']) -> "What is CoreWeave's capex guidance?"
    """
    question = question.strip()
    if not history:
        return question
    previous = history[-1]
    old_names = surface_names(previous)
    follow = _FOLLOW_UP.match(question)
    if follow:
        rest = question[follow.end():].strip().rstrip("?.! ")
        new_names = surface_names(rest, drop_initial=False)
        if rest and not new_names and old_names:  # a new aspect of the same subject
            return f"What about {rest} for {' and '.join(old_names)}?"
        if new_names and _only_names(rest, new_names):  # the same question about someone else
            if old_names:
                return _swap_subject(previous, old_names, " and ".join(new_names))
            return f"{previous.rstrip('?.! ')} — {rest}?"
        if new_names:  # names and their own aspect ("Microsoft's capex"): already standalone
            return f"What about {rest}?"
    if old_names and not surface_names(question) and _PRONOUN.search(question):
        subject = " and ".join(old_names)

        def replace(match: re.Match[str]) -> str:
            return f"{subject}'s" if match.group().lower() in {"its", "their"} else subject

        return _PRONOUN.sub(replace, question, count=1)
    return question


def _only_names(text: str, names: Sequence[str]) -> bool:
    """True when `text` is nothing but the names and words joining them:
    'Microsoft and Meta' -> True, "Microsoft's capex" -> False."""
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?:'s|’s)?(?![\w-])", " ", text)
    return not set(re.findall(r"[\w-]+", text.lower())) - _FILLERS


def _swap_subject(previous: str, old_names: Sequence[str], new: str) -> str:
    """Put `new` where the previous question's subject (its first name, with any names joined
    to it by 'and' or commas) was, leaving the rest of the question as written:
    ("How does CoreWeave's P/B compare with Microsoft's?", 'Meta') -> "How does Meta's P/B compare with Microsoft's?"
    """
    alternatives = "|".join(re.escape(n) for n in sorted(old_names, key=len, reverse=True))
    first = re.escape(old_names[0])
    subject = re.compile(rf"(?<![\w-]){first}(?:(?:\s*,\s*|\s+and\s+|\s*&\s*)(?:{alternatives}))*(?![\w-])")
    return subject.sub(lambda _: new, previous, count=1)


_LABEL = re.compile(r"^(?:(?:standalone|rewritten|reformulated)\s+)?(?:follow-up\s+)?question\s*:\s*", re.I)


def condense(chat_model: Any, question: str, history: Sequence[str]) -> str | None:
    """Rewrite a follow-up into a standalone question with the model; None if it fails.

    The reply is accepted only if it reads as a rewrite: one line (a preamble such as
    "Sure, here it is:" is skipped in favour of the line that asks), 3 to 500 characters,
    sharing a content word with the follow-up or the earlier questions.
    """
    if not history:
        return question
    prompt = condense_messages(question, history)
    try:
        text = message_text(chat_model.invoke(prompt).content)
    except Exception as exc:
        log.warning("condensing failed: %s", exc)
        return None
    lines = [_LABEL.sub("", line.strip(" \t*>#`\"“”'")).strip(" \"“”'`") for line in text.splitlines()]
    lines = [line for line in lines if line]
    asking = [line for line in lines if line.endswith("?")]
    line = asking[0] if asking else (lines[0] if len(lines) == 1 else "")
    if not 3 <= len(line) <= 500 or not set(terms(line)) & set(terms(" ".join([question, *history]))):
        log.warning("condensing gave an unusable rewrite: %r", text[:200])
        return None
    return line
