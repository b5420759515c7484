"""Answers as HTML for the chat: a short-answer card, [n] links, sources with the quote in its
context, page images.

Kept apart from `ui.py` (the Gradio wiring) because it is pure: an `Answer` in, a string of
HTML out, testable without a server. Document text is data, never markup: it is escaped, and
put on one line so the chat's Markdown pass cannot reinterpret it; the only markup taken from
a document is a Markdown file's own bold and italics, rebuilt here as tags that always nest.
A cited page opens large with no script, which the chat's sanitizer would strip: its picture
sits in a `<details>` summary that the stylesheet turns into a full-window overlay while open,
so one click opens it and the next closes it.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from html import escape

from rag.answer.cite import NOTES, link_markers
from rag.app.workspace import Workspace
from rag.load.pdf.render import render_quote
from rag.types import Answer, Citation, Profile, ShortAnswer

EXAMPLES = [
    "Why is CoreWeave unprofitable?",
    "What is CoreWeave's 2025 capex guidance?",
    "How does CoreWeave's Price/Book multiple compare with Microsoft's?",
]
# The documents EXAMPLES were written for: the shipped corpus/ folder.
SHIPPED_SOURCES = frozenset({"coreweave-vs-microsoft-ai-infrastructure.txt", "microsoft-meta-coreweave-ai-spending.md"})
# Forms whose documents state a company's revenue for a period.
FINANCIAL_FORMS = frozenset({"10-K", "10-Q", "8-K", "20-F", "40-F", "6-K", "earnings release"})
MARKDOWN_SUFFIXES = (".md", ".markdown")
ZOOM_SCALE = 2.0
"""Pixels per PDF point of a cited page's picture. Opened at its own size, a filing's 8-point table
figures are then about 16 px tall and legible; at the workspace's thumbnail scale (1.4) they blur."""


def _text(text: str) -> str:
    """Document text as HTML that no Markdown pass can reinterpret: escaped, and on one line.

    The chat renders Markdown, and a blank line would end the HTML block and turn the text
    after it into Markdown ('**x**' -> bold, '![](url)' -> a remote image); newlines become
    character references instead, which the pre-wrap style still shows as line breaks.
    """
    return escape(text).replace("\r", "&#13;").replace("\n", "&#10;")


def _where(source: str, page: int | None, section: str | None) -> str:
    """Where a passage sits, as a reader looks for it: 'report.pdf · page 2 · Item 8 › Cash Flows'.

    A Markdown heading keeps only its words ('## Risks:' -> 'Risks').
    """
    place = [f"page {page}"] if page else []
    if section and section.strip("*# :"):
        place.append(section.strip("*# :"))
    return " · ".join(_text(part) for part in [source, *place])


# Private-use characters stand in for tags while the text is still escaped plain text, so the
# emphasis rules below see the quote's bounds and can keep every tag properly nested.
_MARK, _UNMARK, _STRONG, _UNSTRONG, _EM, _UNEM = (chr(0xE000 + i) for i in range(6))
_STAND_INS = re.compile(f"[{_MARK}-{_UNEM}]")
_TAGS = {_MARK: "mark", _STRONG: "strong", _EM: "em"}
_CLOSES = {_UNMARK: "mark", _UNSTRONG: "strong", _UNEM: "em"}


def _delimited(delimiter: str, content: str) -> re.Pattern[str]:
    """Emphasis that opens and closes on word boundaries, so snake_case and 2*3*4 are left alone."""
    d = re.escape(delimiter[0])
    run = re.escape(delimiter)
    return re.compile(rf"(?<![\w{d}]){run}(?![\s{d}])({content})(?<![\s{d}]){run}(?![\w{d}])", re.S)


_NO_PARAGRAPH = "(?:(?!\n\n).)+?"  # emphasis never runs across a blank line
_NO_STRONG_EDGE = f"(?:(?!\n\n)[^{_STRONG}{_UNSTRONG}]|{_STRONG}[^{_UNSTRONG}]*{_UNSTRONG})+?"
_EMPHASIS = [(_delimited(d, _NO_PARAGRAPH), _STRONG, _UNSTRONG) for d in ("**", "__")] + [
    (_delimited(d, _NO_STRONG_EDGE), _EM, _UNEM) for d in ("*", "_")]


def emphasis(text: str) -> str:
    """Markdown's bold and italic markers in plain text as HTML, on word boundaries.

    '**Net** revenue in *2024*, not snake_case or 2*3*4' -> '<strong>Net</strong> revenue in
    <em>2024</em>, not snake_case or 2*3*4'
    """
    return _markup(_emphasize(escape(_STAND_INS.sub("", text))))


def _emphasize(text: str) -> str:
    """Bold and italic spans of escaped text as stand-ins; italics never straddle a bold span,
    so the tags they become nest."""
    for pattern, opening, closing in _EMPHASIS:
        text = pattern.sub(f"{opening}\\1{closing}", text)
    return text


def _markup(text: str) -> str:
    """Stand-ins to tags, emphasis closed before the quote's <mark> opens or closes and reopened
    after it, so a bold sentence cut by the quote's edge still nests; then _text's line rule."""
    out: list[str] = []
    open_tags: list[str] = []
    for piece in re.split(f"({_STAND_INS.pattern})", text):
        if piece in (_MARK, _UNMARK):
            out += [f"</{tag}>" for tag in reversed(open_tags)]
            out.append("<mark>" if piece == _MARK else "</mark>")
            out += [f"<{tag}>" for tag in open_tags]
        elif piece in _TAGS:
            open_tags.append(_TAGS[piece])
            out.append(f"<{_TAGS[piece]}>")
        elif piece in _CLOSES:
            open_tags.pop()
            out.append(f"</{_CLOSES[piece]}>")
        else:
            out.append(piece)
    return "".join(out).replace("\r", "&#13;").replace("\n", "&#10;")


def _passage(before: str, quote: str, after: str, source: str) -> str:
    """A quote highlighted in its context, as _text does it; Markdown emphasis is rendered for
    Markdown files, where '**' is formatting the author never meant a reader to see."""
    pieces = [escape(_STAND_INS.sub("", part)) for part in (before, quote, after)]
    text = (f"{pieces[0]}{_MARK}{pieces[1]}{_UNMARK}" if quote else pieces[0]) + pieces[2]
    return _markup(_emphasize(text) if source.lower().endswith(MARKDOWN_SUFFIXES) else text)


def _page_image(workspace: Workspace, citation: Citation) -> tuple[int, bytes] | None:
    """(page, PNG) of the cited PDF page with the quote highlighted, drawn at ZOOM_SCALE; None for
    other formats and for a file that can no longer be read or drawn."""
    document = workspace.document(citation.source)
    if document is None or not document.lines:
        return None
    return render_quote(workspace.corpus / citation.source, document.lines, citation.start, citation.end,
                        scale=ZOOM_SCALE)


def _picture(source: str, shown: tuple[int, bytes]) -> str:
    """The page as an <img>, inline as a data: URI.

    Inline, the image travels inside the chat message itself: Gradio's HTML sanitizer keeps
    data: images, the picture needs no route of its own (which would sit outside the app's
    auth and need its files cleaned up), and a message stays whole when the chat re-renders
    it. The price is message size, which is why only citations get one, never the
    abstention's closest passages.
    """
    page, png = shown
    alt = _text(f"page {page} of {source}, quoted passage highlighted")
    return f'<img class="rag-page" alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _zoomable(summary: str, picture: str, kind: str) -> str:
    """`summary` and a page picture that a click opens over the whole window and a second click closes.

    The picture sits inside the <summary>, so it takes the click that closes it; `kind` is
    'rag-thumb' (the picture shown small until opened) or 'rag-card' (hidden until opened).
    """
    return (f'<details class="rag-zoom {kind}"><summary title="Click to see the page large; click again to close">'
            f'{summary}<span class="rag-zoom-view">{picture}</span></summary></details>')


def short_card(short: ShortAnswer, turn: int, cited: set[int], picture: str = "") -> str:
    """The answer in a few words, as a card above the quotes: the value large, then what names it
    (row, period, unit), how it was computed, and where it stands, linked to its sources.

    With the cited page's `picture` (a PDF), clicking the card opens that page large.
    """
    how = {"computed": "Computed", "compare": "Compared"}.get(short.kind, "From")
    unit = " ".join(p for p in (short.unit, short.scale) if p)
    facts = [("Row", short.row), ("Period", short.column), ("Unit", unit), (how, short.derivation)]
    shown = "".join(f'<span class="rag-fact"><span class="rag-fact-name">{name}</span> {_text(value)}</span>'
                    for name, value in facts if value)
    links = "".join(f' <a class="rag-cite" href="#src-{turn}-{n}">[{n}]</a>' for n in short.citations if n in cited)
    if short.source:
        shown += (f'<span class="rag-fact rag-card-source"><span class="rag-fact-name">Source</span> '
                  f"{_where(short.source, short.page, None)}{links}</span>")
    body = f'<span class="rag-card-value">{_text(short.value)}</span>{shown}'
    if not picture:
        return f'<div class="rag-card">{body}</div>'
    return _zoomable(f'{body}<span class="rag-card-hint">Click to see the page</span>', picture, "rag-card")


def _header_line(header: str | None) -> str:
    """A quoted table row's column headers, shown above it: '2019 | 2018 | 2017' makes its figures readable."""
    return f'<span class="rag-header" title="the columns of the table this row is from">{_text(header)}</span>' \
        if header else ""


def render_answer(answer: Answer, turn: int, workspace: Workspace | None = None, query: str | None = None,
                  show_retrieved: bool = False) -> str:
    """An answer as HTML: [n] markers link to numbered sources, each quote highlighted in
    its surrounding text; an abstention is marked as such with the closest passages. A short
    answer comes first, as a card; a quoted table row has its column headers above it."""
    parts = []
    pages: dict[int, tuple[int, bytes] | None] = {}  # each cited page drawn once, for the card and its source

    def picture(c: Citation) -> str:
        if workspace is None:
            return ""
        if c.id not in pages:
            pages[c.id] = _page_image(workspace, c)
        shown = pages[c.id]
        return _picture(c.source, shown) if shown else ""

    if answer.short and not answer.abstained:
        first = next((c for c in answer.citations if c.id in answer.short.citations), None)
        parts.append(short_card(answer.short, turn, {c.id for c in answer.citations},
                                picture(first) if first else ""))
    if query:
        parts.append(f'<div class="rag-query">Searched for: {_text(query)}</div>')
    if answer.abstained:
        parts.append('<div class="rag-abstain">Not found in the documents.</div>'
                     f"<p>{_text(answer.text)} The closest passages:</p>")
        parts.append(_generation(answer))
        parts.append('<div class="rag-sources">')
        for i, hit in enumerate(answer.hits[:3], start=1):
            ch = hit.chunk
            where = _where(ch.source, ch.page, ch.section)
            parts.append(f'<details class="rag-src" id="src-{turn}-{i}"><summary>{where}'
                         f"</summary><blockquote>{_passage(ch.text, '', '', ch.source)}</blockquote></details>")
        parts.append("</div>")
        return "".join(parts)

    cited = {c.id for c in answer.citations}

    def link(n: int, marker: str) -> str:
        if n not in cited:  # "[99]" quoted from a document is text, not a citation
            return marker
        return f'<a class="rag-cite" href="#src-{turn}-{n}">[{n}]</a>'

    # A sentence quoted from a Markdown file shows its emphasis as the file's reader would.
    markdown = {c.id for c in answer.citations if c.source.lower().endswith(MARKDOWN_SUFFIXES)}

    def shown(line: str) -> str:
        quoted_from = {int(n) for n in re.findall(r"\[(\d+)\]", line)}
        text = emphasis(line) if quoted_from & markdown else _text(line)
        headers = dict.fromkeys(c.header for c in answer.citations
                                if c.id in quoted_from and c.header and c.quote and c.quote in line)
        return "".join(_header_line(h) for h in headers) + text

    lines = [re.sub(r"^- ", "", line) for line in answer.text.splitlines() if line.strip()]
    # The answerer's own labelled lines (the calculation asked, a result computed from quoted figures) are set
    # apart from the quotes, so a reader never takes them for the documents' words.
    notes = [line for line in lines if line.startswith(NOTES)]
    items = [_computed_marks(link_markers(shown(line), link), answer) for line in lines if not line.startswith(NOTES)]
    listed = "".join(f"<li>{i}</li>" for i in items)
    if items:
        parts.append(f"<p>{items[0]}</p>" if len(items) == 1 else f"<ul>{listed}</ul>")
    parts += [f'<p class="rag-note">{_text(note)}</p>' for note in notes]
    parts.append(_generation(answer))
    parts.append('<div class="rag-sources"><b>Sources</b>')
    for c in answer.citations:
        before, quote, after = workspace.passage_context(c.source, c.start, c.end) if workspace else ("", "", "")
        body = f"…{_passage(before, quote or c.quote, after, c.source)}…"
        image = picture(c)
        parts.append(f'<details class="rag-src" id="src-{turn}-{c.id}"><summary>[{c.id}] '
                     f"{_where(c.source, c.page, c.section)}, chars {c.start}–{c.end}</summary>"
                     f"{_header_line(c.header)}<blockquote>{body}</blockquote>"
                     f"{_zoomable('', image, 'rag-thumb') if image else ''}</details>")
    parts.append("</div>")
    if show_retrieved:
        rows = "".join(f"<li>{_text(h.chunk.source)} ({h.score:.4f}): {_text(h.chunk.text[:300])}…</li>"
                       for h in answer.hits)
        parts.append(f"<details><summary>Retrieved passages ({len(answer.hits)})</summary><ol>{rows}</ol></details>")
    return "".join(parts)


def _computed_marks(html: str, answer: Answer) -> str:
    """Each figure a generated sentence computed, marked where it is shown with its derivation on hover.

    ('… about 63% … [1]', a sentence derived '63%: 14.2 / 22.4 = 63.39%') -> '… about <abbr
    class="rag-computed" title="computed: 14.2 / 22.4 = 63.39%">63%</abbr> … [1]'
    """
    pieces = re.split(r"(<[^>]*>)", html)  # text and tags: a figure is marked in text only
    for sentence in answer.sentences:
        for derivation in sentence.derivations if sentence.supported else ():
            number, _, how = derivation.partition(": ")
            shown = _text(number)
            mark = f'<abbr class="rag-computed" title="computed: {_text(how)}">{shown}</abbr>'
            for i, piece in enumerate(pieces):
                if not piece.startswith("<") and shown in piece:
                    pieces[i] = piece.replace(shown, mark, 1)
                    pieces = re.split(r"(<[^>]*>)", "".join(pieces))
                    break
    return "".join(pieces)


def _generation(answer: Answer) -> str:
    """What a generated answer owes its reader besides its text: the model that wrote it, the figures it
    computed and how, the answer's note, and the generated sentences that were not verified and why,
    expandable to read them marked as such."""
    parts = []
    if answer.model:
        parts.append(f'<div class="rag-model">Written by {_text(answer.model)}; every sentence shown was checked '
                     "against the passages it cites.</div>")
    derived = [d for s in answer.sentences if s.supported for d in s.derivations]
    if derived:
        rows = "".join(f"<li>{_text(d)}</li>" for d in derived)
        parts.append(f'<details class="rag-derived"><summary>Computed figures ({len(derived)})</summary>'
                     f"<ul>{rows}</ul></details>")
    if answer.note:
        parts.append(f'<p class="rag-note">{_text(answer.note)}</p>')
    dropped = [s for s in answer.sentences if not s.supported]
    if dropped:
        why = Counter(s.reason or "unsupported" for s in dropped)
        summary = (f"{len(dropped)} of {len(answer.sentences)} generated sentences not verified ("
                   + ", ".join(f"{n} {reason}" for reason, n in why.most_common()) + ")")
        rows = "".join(f'<li><span class="rag-unverified">not verified</span> {_text(s.text)} '
                       f'<span class="rag-why">({_text(s.reason or "unsupported")}: {_text(s.detail)})</span></li>'
                       for s in dropped)
        parts.append(f'<details class="rag-removed"><summary>{summary}</summary><ul>{rows}</ul></details>')
    return "".join(parts)


def example_questions(profiles: dict[str, Profile | None]) -> list[str]:
    """Example questions the served documents can answer, from their sources and profiles.

    The CoreWeave questions only for the shipped corpus, which they were written for; else one
    revenue question per company with a dated financial filing, at most three; else none.
    {"3m-2018-10k.pdf": Profile(company="3M Company", form="10-K", period="FY2018"), "notes.txt": None}
    -> ["What was 3M Company's total revenue in FY2018?"]
    """
    if set(profiles) == SHIPPED_SOURCES:
        return list(EXAMPLES)
    questions: dict[str, str] = {}
    for _, profile in sorted(profiles.items()):
        if profile is None or not (profile.company and profile.period) or profile.form not in FINANCIAL_FORMS:
            continue
        if profile.company.casefold() not in questions and len(questions) < 3:
            questions[profile.company.casefold()] = _revenue_question(profile.company, profile.period)
    return list(questions.values())


def _revenue_question(company: str, period: str) -> str:
    """'FY2018' and 'Q3 2024' read 'in …'; 'quarter ended June 30, 2024' reads 'for the …'; an
    8-K's report date reads 'reported on …'."""
    owner = f"{company}'" if company.endswith("s") else f"{company}'s"
    if period.startswith("quarter"):
        return f"What was {owner} total revenue for the {period}?"
    if re.fullmatch(r"(?:FY|Q[1-4] )?\d{4}", period):
        return f"What was {owner} total revenue in {period}?"
    return f"What total revenue did {company} report on {period}?"
