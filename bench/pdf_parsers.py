"""Speed and text quality of pypdf, pypdfium2, PyMuPDF and the product's PDF loader on real SEC filings.

    python -m bench.pdf_parsers [--corpus DIR] [--repeat N] [--out build/pdf_parsers.json]

Why the loader moved from pypdf to pypdfium2, in figures. Every parser extracts the text of every page of every
filing (default: the 20 filings of financebench-public); a file's time is the median of --repeat runs. The
parsers take turns on each file, in an order rotated every run, so a burst of load on the shared machine lands
on all of them rather than on whichever ran last.

Quality is read from the extracted text (\\r\\n read as \\n, pages joined by a blank line), summed over files:
- control lines: share of non-blank lines holding a control character (U+0000-0008, U+000B-001F, U+007F,
  U+FFFE, U+FFFF) or a soft hyphen (U+00AD). They end up in quotes and in BM25 terms.
- split words: a capital cut from the rest of its word ("T\\nable of \\nContents", as pypdf reads a running
  header; the capital must follow whitespace, so "R&D\\nservices" is not counted), plus hyphenation left
  unjoined ("ac-\\ncount"). Neither word can then be found by its spelling.
- page-number lines: lines that are only 1-3 digits, the page footer, which land mid-sentence in a chunk.
- scattered figures: lines that are only one figure ("(1,577)", "$ 5,363", "12.5%"), excluding page-number
  lines: a table flattened one cell per line, so a figure no longer sits beside its row label.
- rows intact: lines with a text label followed by at least two figures ("Inventories (509) (387) 57"), the
  shape in which a question about a table row can be answered from one line.

Licences, the reason PyMuPDF is measured but not used: pypdf is BSD-3-Clause; pypdfium2 is Apache-2.0 or
BSD-3-Clause, and PDFium itself BSD-3-Clause/Apache-2.0; PyMuPDF (MuPDF) is AGPL-3.0 or a commercial
licence from Artifex, so anyone who deploys a service built on it must release the whole service's source under
the AGPL or buy a licence. The `rag` parser is `rag.load.pdf.load_pdf`, skipped with a note when it does not import.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pymupdf
import pypdf
import pypdfium2

from bench.paths import FINANCE

CORPUS = FINANCE / "corpus"
SEP = "\n\n"  # how the product joins pages (rag.load.base.SEP)

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\xad\ufffe\uffff]")
# A capital at the start of a word: after whitespace, not after "&" ("R&D\nservices" is a whole word).
SPLIT_CAPITAL = re.compile(r"(?<!\S)[A-Z]\n[a-z]")
SPLIT_HYPHEN = re.compile(r"[a-z]-\n[a-z]")
PAGE_NUMBER = re.compile(r"[ \t]*\d{1,3}[ \t]*")
# One figure as a whitespace-separated token: 5,363  (1,577)  $5,363  12.5%  -0.4  .25  and the dash for zero.
# Not "2," so that a date ("July 2, 2023") is not taken for two figures.
FIGURE = re.compile(r"[-–—(]?\$?\(?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)\)?%?\)?|[–—]")
UNIT = frozenset({"$", "%", "(", ")"})  # tokens beside a figure when the layout spaces them off ("$ 5,363")

Extract = Callable[[bytes, str], tuple[str, int]]  # (data, source) -> (text with pages joined by SEP, pages)


def normalise(text: str) -> str:
    r"""Line ends as the measures read them: 'a\r\nb' -> 'a\nb' (a lone \r stays, and counts as control)."""
    return text.replace("\r\n", "\n")


def split_words(text: str) -> int:
    """Words cut across a line end: 'T\\nable of \\nContents and ac-\\ncount' -> 2."""
    return len(SPLIT_CAPITAL.findall(text)) + len(SPLIT_HYPHEN.findall(text))


def is_page_number(line: str) -> bool:
    """'  42 ' -> True; '2018' -> False (four digits are a year more often than a page)."""
    return PAGE_NUMBER.fullmatch(line) is not None


def figures_after_label(line: str) -> tuple[int, bool]:
    """(figures at the end of the line, whether text with a letter comes before them).

    'Inventories (509) (387) 57' -> (3, True); '$ 5,363' -> (1, False); 'Net income' -> (0, True).
    """
    tokens = line.split()
    count = 0
    while tokens and (tokens[-1] in UNIT or FIGURE.fullmatch(tokens[-1])):
        count += tokens.pop() not in UNIT
    return count, any(c.isalpha() for c in " ".join(tokens))


@dataclass
class Quality:
    """Line-level measures of extracted text; they add up over files."""

    lines: int = 0  # non-blank
    control_lines: int = 0
    split_capital: int = 0
    split_hyphen: int = 0
    page_number_lines: int = 0
    scattered_figures: int = 0
    rows_intact: int = 0

    def __iadd__(self, other: Quality) -> Quality:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def split_words(self) -> int:
        return self.split_capital + self.split_hyphen

    @property
    def control_share(self) -> float:
        return self.control_lines / self.lines if self.lines else 0.0


def measure(text: str) -> Quality:
    """The Quality of one file's text, e.g. 'T\\nable\\n12\\n(1,577)\\nInventories (509) (387)' -> 5 lines,
    1 split word, 1 page-number line, 1 scattered figure, 1 row intact."""
    text = normalise(text)
    q = Quality(split_capital=len(SPLIT_CAPITAL.findall(text)), split_hyphen=len(SPLIT_HYPHEN.findall(text)))
    for line in text.split("\n"):
        if not line.strip(" \t\xa0"):
            continue
        q.lines += 1
        q.control_lines += CONTROL.search(line) is not None
        if is_page_number(line):
            q.page_number_lines += 1
            continue
        count, labelled = figures_after_label(line)
        q.scattered_figures += count == 1 and not labelled
        q.rows_intact += count >= 2 and labelled
    return q


def extract_pypdf(data: bytes, source: str) -> tuple[str, int]:
    """What the product's loader did before pypdfium2 (empty-password decryption included)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")
    pages = [page.extract_text() or "" for page in reader.pages]
    return SEP.join(pages), len(pages)


def extract_pypdfium2(data: bytes, source: str) -> tuple[str, int]:
    """PDFium's text layer, page by page; text pages and pages closed as they go, as a loader must."""
    pdf = pypdfium2.PdfDocument(data)
    try:
        pages = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        pdf.close()
    return SEP.join(pages), len(pages)


def extract_pymupdf(data: bytes, source: str) -> tuple[str, int]:
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        pages = [page.get_text() for page in pdf]
    return SEP.join(pages), len(pages)


def rag_parser() -> Extract | None:
    """The product's loader, or None (with the reason printed) while it cannot be imported."""
    try:
        from rag.load.pdf import load_pdf
    except Exception as error:  # a loader being rewritten fails in any way; the other parsers still run
        print(f"note: rag parser skipped, `from rag.load.pdf import load_pdf` failed: {error!r}")
        return None

    def extract_rag(data: bytes, source: str) -> tuple[str, int]:
        loaded = load_pdf(data, source)
        return loaded.text, len(loaded.page_starts)

    return extract_rag


def run(files: list[Path], parsers: dict[str, Extract], repeat: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Per file and parser: pages, the seconds of every run, and the Quality of the text (from the first run)."""
    out: dict[str, dict[str, dict[str, Any]]] = {p.name: {name: {"runs": []} for name in parsers} for p in files}
    names = list(parsers)
    for r in range(repeat):
        order = names[r % len(names):] + names[: r % len(names)]
        for path in files:
            data = path.read_bytes()
            for name in [n for n in order if n in parsers]:
                gc.collect()
                t0 = time.perf_counter()
                try:
                    text, pages = parsers[name](data, path.name)
                except Exception as error:  # the loader being written may fail on one filing: drop it, not the run
                    print(f"note: {name} dropped, it failed on {path.name}: {error!r}")
                    del parsers[name]
                    continue
                seconds = time.perf_counter() - t0
                row = out[path.name][name]
                row["runs"].append(round(seconds, 4))
                if r == 0:
                    row["pages"] = pages
                    row["chars"] = len(text)
                    row["quality"] = measure(text)
                del text
            print(f"run {r + 1}/{repeat} {path.name}: "
                  + ", ".join(f"{n} {out[path.name][n]['runs'][-1]:.2f}s" for n in names if n in parsers), flush=True)
    return {f: {n: row for n, row in rows.items() if n in parsers} for f, rows in out.items()}


def summarise(per_file: dict[str, dict[str, dict[str, Any]]], names: list[str]) -> dict[str, dict[str, Any]]:
    """Totals per parser: seconds (sum of per-file medians), ms/page, speed-up over pypdf, the largest file, Quality."""
    largest = max(per_file, key=lambda f: per_file[f][names[0]]["pages"])
    totals: dict[str, dict[str, Any]] = {}
    for name in names:
        quality = Quality()
        seconds = pages = 0.0
        for row in (per_file[f][name] for f in per_file):
            row["seconds"] = statistics.median(row["runs"])
            seconds += row["seconds"]
            pages += row["pages"]
            quality += row["quality"]
        big = per_file[largest][name]
        totals[name] = {
            "seconds": round(seconds, 3), "pages": int(pages), "ms_per_page": round(1000 * seconds / pages, 2),
            "largest": {"file": largest, "pages": big["pages"], "seconds": round(big["seconds"], 3),
                        "ms_per_page": round(1000 * big["seconds"] / big["pages"], 2)},
            "quality": {**asdict(quality), "split_words": quality.split_words,
                        "control_share": round(quality.control_share, 5)},
        }
    base = totals.get("pypdf")
    for row in totals.values():
        row["speedup_vs_pypdf"] = round(base["seconds"] / row["seconds"], 2) if base else None
    return totals


def table(totals: dict[str, dict[str, Any]]) -> str:
    """The Markdown table bench/RESULTS.md quotes."""
    largest = next(iter(totals.values()))["largest"]
    head = ("| parser | s | ms/page | × pypdf | "
            f"ms/page, largest file ({largest['file']}, {largest['pages']} p.) | control-char lines | split words | "
            "page-number lines | scattered figures | rows intact |")
    lines = [head, "|" + "---|" * (head.count(" | ") + 1)]
    for name, t in totals.items():
        q = t["quality"]
        lines.append(
            f"| {name} | {t['seconds']:.1f} | {t['ms_per_page']:.1f} | {t['speedup_vs_pypdf']:.1f}× | "
            f"{t['largest']['ms_per_page']:.1f} | {100 * q['control_share']:.2f}% ({q['control_lines']:,}) | "
            f"{q['split_words']:,} | {q['page_number_lines']:,} | {q['scattered_figures']:,} | {q['rows_intact']:,} |"
        )
    return "\n".join(lines)


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "pypdf": pypdf.__version__,
            "pypdfium2": pypdfium2.version.PYPDFIUM_INFO.version, "pdfium": str(pypdfium2.version.PDFIUM_INFO),
            "pymupdf": pymupdf.__version__, "mupdf": pymupdf.mupdf_version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("build/pdf_parsers.json"))
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.pdf"))
    if not files:
        parser.error(f"no PDF files in {args.corpus} (set --corpus)")
    parsers: dict[str, Extract] = {"pypdf": extract_pypdf, "pypdfium2": extract_pypdfium2, "pymupdf": extract_pymupdf}
    if (extract_rag := rag_parser()) is not None:
        parsers["rag"] = extract_rag
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    per_file = run(files, parsers, max(1, args.repeat))
    totals = summarise(per_file, list(parsers))
    print(table(totals))
    for row in (r for f in per_file.values() for r in f.values()):
        row["quality"] = asdict(row["quality"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "started": started, "corpus": str(args.corpus), "files": len(files), "repeat": args.repeat,
        "machine": {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine()},
        "versions": versions(), "parsers": totals, "per_file": per_file,
    }, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
