"""The span reader: what a sentence says a thing is, includes or relates to, for a question asking that.

"What does order intake represent?" is answered by "Order intake represents commitments from customers to
purchase goods and/or services ...": the sentence that names what the question names, and in it the words
after that name and its linking verb ("represents", "consists of", "relates to"). The short answer is
that span, verbatim, citing its sentence. A sentence that names the thing but goes on without such a
verb ("CYCLADES was a French network designed and directed by Louis Pouzin", asked "What network was
designed by the French?") says something else of it: no span. A question asking an amount, a period's
figure or a reason is not this reader's: the table and prose readers answer figures, and a "why" gets no
short answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.asked import Asked, label_terms
from rag.answer.reader.base import Read
from rag.answer.reader.prose import MIN_PROSE_MATCH, prose_sentences, wants_figure
from rag.types import Hit

# A question asking what a thing is, holds or relates to: "What does X include?", "Which countries ...?",
# "Where are X disclosed?", "When are losses not recognised?". "How much", "how many" ask amounts.
_ASKS_SPAN = re.compile(r"(?i)^\s*(?:what|which|who|whom|where|when)\b")
# A question about a table itself, or about several periods at once, asks for figures, not a phrase.
_NOT_A_SPAN = re.compile(r"(?i)\b(?:table|respectively)\b")
# The words that join a named thing to what the sentence says of it: a copula or a verb of relation with
# its preposition, and the adverbs and pronouns standing between ("is primarily", "we are paid", "that").
_LINK = re.compile(
    r"(?i)^\W*(?:(?:is|are|was|were|be|been|being|will|would|also|has|have|had|includ(?:es|ed|e|ing)|"
    r"consist(?:s|ed|ing)?\s+of|compris(?:es|ed|e|ing)(?:\s+of)?|represent(?:s|ed|ing)?|refer(?:s|red)?\s+to|"
    r"relat(?:es|ed|e|ing)\s+to|result(?:s|ed)?\s+from|means|reflect(?:s|ed)?|primarily|mainly|"
    r"principally|largely|generally|mostly|that|which|as|of|by|to|on|in|for|the|a|an|we|our|it|its)\b\W*)*")
# The verbs in that link that say what a thing is: without one, what follows the name is not said of it.
_RELATION = re.compile(r"(?i)\b(?:is|are|was|were|includ\w*|consist\w*|compris\w*|represent\w*|refers?|relat\w*|"
                       r"result\w*|means|reflects?)\b")
_BARE = re.compile(r"(?i)^\s*what\s+(?:is|are)\s+(?:the\s+|an?\s+)?(?P<thing>[^?]+?)\s*\?*\s*$")
_NOT_A_NAME = re.compile(r"(?i)in|to|by|for|from|of|on|at|with|when|if|during|between|as|under|\w+ed|\w+ing")
_WORD = re.compile(r"[\w'’-]+")
_NAME_WORDS = 6  # a line item's or a term's name is a few words; a longer "what is ..." says more than a name


def read_span(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """The span of the best sentence that says what the question asks of the thing it names, or None when
    the question asks a figure or a reason, or no sentence outside a table names the thing (holds at
    least `MIN_PROSE_MATCH` of its words)."""
    if ask.why or ask.operation not in ("lookup", "components") or ask.periods or not _ASKS_SPAN.search(question):
        return None
    amount = wants_figure(question)  # "What is the hurdle rate?" may ask a figure; "What are tax fees?" may not
    if (amount and not _defines(question)) or _NOT_A_SPAN.search(question):
        return None
    item = set(ask.item)
    if not item:
        return None
    best: tuple[float, int, int, int] | None = None
    for i, a, b in prose_sentences(hits):
        held = len(item & set(label_terms(hits[i].chunk.text[a:b]))) / len(item)
        if best is None or held > best[0]:
            best = (held, i, a, b)
    if best is None or best[0] < MIN_PROSE_MATCH:
        return None
    _, i, a, b = best
    sentence = hits[i].chunk.text[a:b]
    span = _said_of(sentence, item, whole=_defines(question))
    if span is None or (amount and any(ch.isdigit() for ch in span)):
        return None  # a figure, had one been asked, is the table's or the prose reader's to state
    start = hits[i].chunk.start
    return Read(span, "span", (), None, sentences=((i, start + a, start + b),))


def _defines(question: str) -> bool:
    """Whether the question asks what a thing is, naming only the thing: 'What are distribution customers?'
    (no verb or preposition after it, as 'What is included in X?' has)."""
    match = _BARE.match(question)
    if match is None:
        return False
    named = match.group("thing").split()
    return len(named) <= _NAME_WORDS and not any(_NOT_A_NAME.fullmatch(w) for w in named)


def _said_of(sentence: str, item: set[str], whole: bool = False) -> str | None:
    """What the sentence says of the thing whose words are `item`: the words after the shortest opening that
    holds all of them the sentence holds, less the linking words, up to the sentence's end; None when no
    copula or verb of relation stands at that join. 'Under cost-plus contracts, we are paid our allowable
    costs plus a profit.' of {'cost', 'plus', 'contract', 'paid'} -> 'our allowable costs plus a profit'.
    `whole`: the question asks what the thing is, and a sentence that opens with its name and says what it
    is, includes or means is its definition: the whole sentence is the answer."""
    wanted = item & set(label_terms(sentence))
    seen: set[str] = set()
    for word in _WORD.finditer(sentence):
        seen |= set(label_terms(word.group())) & wanted
        if seen >= wanted:
            rest = sentence[word.end():]
            link = _LINK.match(rest).group()  # type: ignore[union-attr]
            if not _RELATION.search(" ".join(sentence[:word.end()].split()[-3:]) + " " + link):
                return None  # the sentence goes on to something else than what the thing is
            defined = whole and set(label_terms(sentence[:word.end()])) <= wanted  # it opens with the name
            rest = sentence.strip() if defined else rest[len(link):].rstrip()
            rest = rest[:-1].rstrip() if rest.endswith(".") else rest
            return rest or None
    return None

