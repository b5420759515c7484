"""Follow-up questions made standalone: tables of (question, history) -> what retrieval sees."""

from __future__ import annotations

import pytest

from rag.app.conversation import standalone, surface_names

UNPROFITABLE = "Why is CoreWeave unprofitable?"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (UNPROFITABLE, ["CoreWeave"]),
        ("Tell me about CoreWeave", ["CoreWeave"]),  # the sentence opener is not a name
        ("What is CoreWeave's 2025 capex guidance?", ["CoreWeave"]),  # possessive dropped
        ("Does Microsoft spend more than Meta?", ["Microsoft", "Meta"]),
        ("How does Microsoft Azure compare?", ["Microsoft Azure"]),  # multi-word names stay whole
        ("what is the capex guidance?", []),
        ("", []),
    ],
)
def test_surface_names(text: str, names: list[str]) -> None:
    assert surface_names(text) == names


def test_surface_names_can_keep_the_first_word() -> None:
    assert surface_names("Microsoft and Meta", drop_initial=False) == ["Microsoft", "Meta"]
    assert surface_names("Microsoft and Meta") == ["Meta"]


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        # Another subject, same question.
        ("And what about Microsoft?", [UNPROFITABLE], "Why is Microsoft unprofitable?"),
        ("What about Meta?", [UNPROFITABLE], "Why is Meta unprofitable?"),
        ("how about Microsoft and Meta?", [UNPROFITABLE], "Why is Microsoft and Meta unprofitable?"),
        ("Also Microsoft?", [UNPROFITABLE], "Why is Microsoft unprofitable?"),
        ("And what about Microsoft?", ["What is CoreWeave's 2025 capex guidance?"],
         "What is Microsoft's 2025 capex guidance?"),
        # Only the subject is swapped; the other names in the question stay as written.
        ("And what about Meta?", ["How does CoreWeave's Price/Book multiple compare with Microsoft's?"],
         "How does Meta's Price/Book multiple compare with Microsoft's?"),
        ("What about Meta?", ["Why are CoreWeave and Microsoft spending so much?"],
         "Why are Meta spending so much?"),
        # A new subject with its own aspect is a question of its own.
        ("And what about Microsoft's capex?", [UNPROFITABLE], "What about Microsoft's capex?"),
        # Same subject, another aspect.
        ("And what about the risks?", [UNPROFITABLE], "What about the risks for CoreWeave?"),
        # Pronouns name the previous subject.
        ("What is its capex guidance?", [UNPROFITABLE], "What is CoreWeave's capex guidance?"),
        ("What is its capex guidance?", ["Tell me about CoreWeave"], "What is CoreWeave's capex guidance?"),
        ("Is it profitable?", [UNPROFITABLE], "Is CoreWeave profitable?"),
        ("How much debt do they carry?", [UNPROFITABLE], "How much debt do CoreWeave carry?"),
        # Only the last question counts.
        ("What is its capex guidance?", ["Tell me about Meta", UNPROFITABLE], "What is CoreWeave's capex guidance?"),
        # Not follow-ups: unchanged.
        ("How much did Microsoft invest in AI?", [UNPROFITABLE], "How much did Microsoft invest in AI?"),
        ("What is the boiling point of water on Mars?", [UNPROFITABLE], "What is the boiling point of water on Mars?"),
        ("Is it profitable to run Azure?", [UNPROFITABLE], "Is it profitable to run Azure?"),  # names its subject
        ("What is its capex guidance?", ["what is the weather like?"], "What is its capex guidance?"),  # no subject
        # No history: nothing to resolve against.
        ("And what about Microsoft?", [], "And what about Microsoft?"),
        ("What is its capex guidance?", [], "What is its capex guidance?"),
        ("  Why is CoreWeave unprofitable?  ", [], UNPROFITABLE),
    ],
)
def test_standalone(question: str, history: list[str], expected: str) -> None:
    assert standalone(question, history) == expected


def test_follow_up_keeps_the_subject_when_the_aspect_changes() -> None:
    rewritten = standalone("And what about the risks?", [UNPROFITABLE])
    assert "CoreWeave" in rewritten and "risks" in rewritten
