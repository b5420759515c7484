"""Calibrate the generative verifier on hand-labelled claims.

    python -m bench.calibrate_verifier [--claims tests/eval/claims.jsonl]

For every claim, records the verifier's signals against its passage with the real
bundled embedder: the lexical check (numbers and names present, share of content words)
and the verifier's similarity, the best cosine between the claim and a span of the
passage (a sentence or a run of its clauses) that agrees with it in negation. Then
searches MIN_OVERLAP and MIN_SIMILARITY for the decision `rag.verify.verify` takes

    lexical check passes (overlap >= MIN_OVERLAP) and (verbatim or similarity >= MIN_SIMILARITY)

maximising precision first (no unsupported claim accepted), then recall. MIN_OVERLAP is
searched on a 0.05 grid and MIN_SIMILARITY at the midpoints between observed cosines, so
the chosen cosine sits in the middle of its gap. Ties go to the higher MIN_OVERLAP (it
also stands alone in `rag eval`'s citation scores, with no cosine behind it), then to the
wider gap. When precision 1.0 cannot be reached, the best F0.5 is chosen and the accepted
unsupported claims are listed. For comparison, the same search is run with the plain
best cosine between the claim and a whole sentence of the passage, negation ignored.
Prints the values for rag/answer/verify.py.

Claims that compute a figure (kind "computed", and the wrong ones: "wrong_step", "wrong_operands",
"wrong_period", "wrong_scale", "wrong_direction", written from pages of the financebench filings with
the chunk's context) are then checked with the whole decision of `verify`, the arithmetic check
included; MIN_COMPUTED_SIMILARITY is searched the same way over the cosines of those whose figures
follow from their passage, and precision is reported per wrong kind.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.paths import ROOT
from rag.answer.verify import MIN_COMPUTED_SIMILARITY, closest_sentences, lexical_check, verify
from rag.app.build import load_model
from rag.chunk import sentence_spans
from rag.config import DEFAULT_BACKEND, EMBEDDING_BACKENDS, Settings
from rag.embed.base import Embedder

OVERLAPS = [round(0.5 + 0.05 * i, 2) for i in range(11)]  # 0.50 .. 1.00
TABLE_SIMILARITIES = [round(0.30 + 0.05 * i, 2) for i in range(14)]  # 0.30 .. 0.95, for the printed table


@dataclass(frozen=True)
class Row:
    id: str
    kind: str
    supported: bool
    hard_fail: str  # a missing number or name: rejected whatever the thresholds
    verbatim: bool
    overlap: float
    similarity: float  # the verifier's: polarity-consistent sentence or clause span (0 if none agrees)
    agrees: bool  # some span agrees with the claim in negation; a verbatim claim needs one too
    sentence_cosine: float  # plain: best whole sentence, negation ignored


def signals(claims: Path, embedder: Embedder) -> list[Row]:
    rows = []
    for line in claims.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        c = json.loads(line)
        lexical = lexical_check(c["claim"], [c["passage"]], min_overlap=0.0)
        closest = closest_sentences(c["claim"], [c["passage"]], embedder)[0]
        sentences = [c["passage"][a:b] for a, b in sentence_spans(c["passage"])]
        vectors = embedder.embed_documents([c["claim"], *sentences])
        plain = float((vectors[1:] @ vectors[0]).max())
        rows.append(Row(c["id"], c["kind"], c["supported"], "" if lexical.supported else lexical.reason,
                        lexical.reason == "verbatim", lexical.overlap,
                        closest[2] if closest else 0.0, closest is not None, plain))
    return rows


def accepted(row: Row, min_overlap: float, min_similarity: float) -> bool:
    if row.hard_fail or row.overlap < min_overlap:
        return False
    return (row.verbatim and row.agrees) or row.similarity >= min_similarity


def scores(rows: list[Row], o: float, s: float) -> tuple[float, float, float]:
    """(precision, recall, F0.5) of accepting claims as supported."""
    tp = sum(r.supported and accepted(r, o, s) for r in rows)
    fp = sum(not r.supported and accepted(r, o, s) for r in rows)
    positives = sum(r.supported for r in rows)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else 0.0
    beta2 = 0.25
    f = (1 + beta2) * precision * recall / (beta2 * precision + recall) if precision + recall else 0.0
    return precision, recall, f


def midpoints(rows: list[Row]) -> list[tuple[float, float]]:
    """(threshold, gap width): the middle of each gap between observed cosines."""
    values = sorted({round(r.similarity, 4) for r in rows if not r.hard_fail and not r.verbatim})
    return [(round((a + b) / 2, 3), b - a) for a, b in itertools.pairwise(values)]


def choose(rows: list[Row]) -> tuple[float, float, tuple[float, float, float]]:
    grid = [(o, s, gap, scores(rows, o, s)) for o in OVERLAPS for s, gap in midpoints(rows)]
    if any(p == 1.0 and r > 0 for *_, (p, r, _) in grid):
        best = max((p, r) for *_, (p, r, _) in grid)
        tied = [g for g in grid if g[3][:2] == best]
    else:
        best_f = max(g[3][2] for g in grid)
        tied = [g for g in grid if g[3][2] == best_f]
    o, s, _, sc = max(tied, key=lambda g: (g[0], g[2]))
    return o, s, sc


COMPUTED_KINDS = ("computed", "wrong_step", "wrong_operands", "wrong_period", "wrong_scale", "wrong_direction")


@dataclass(frozen=True)
class Computed:
    id: str
    kind: str
    supported: bool
    reason: str  # why the decision short of the cosine rejects it ('' if it does not)
    similarity: float
    derivations: tuple[str, ...]


def computed_signals(claims: Path, embedder: Embedder) -> list[Computed]:
    """The verifier's decision on each computed claim with no cosine bound, and the cosine it would face."""
    rows = []
    for line in claims.read_text(encoding="utf-8").splitlines():
        c = json.loads(line) if line.strip() else None
        if c is None or c["kind"] not in COMPUTED_KINDS:
            continue
        check = verify(c["claim"], [c["passage"]], embedder, contexts=[c.get("context", "")],
                       min_computed_similarity=0.0)
        rows.append(Computed(c["id"], c["kind"], c["supported"], "" if check.supported else check.reason,
                             check.similarity or 0.0, tuple(str(d) for d in check.derivations)))
    return rows


def report_computed(rows: list[Computed]) -> None:
    """Choose MIN_COMPUTED_SIMILARITY (precision first, then recall, then the widest gap) and report."""
    def accepted(r: Computed, s: float) -> bool:
        return not r.reason and (not r.derivations or r.similarity >= s)

    values = sorted({round(r.similarity, 4) for r in rows if not r.reason and r.derivations})
    grid = [(round((a + b) / 2, 3), b - a) for a, b in itertools.pairwise([0.0, *values, 1.0])]
    def score(s: float) -> tuple[float, float]:
        tp = sum(r.supported and accepted(r, s) for r in rows)
        fp = sum(not r.supported and accepted(r, s) for r in rows)
        return (tp / (tp + fp) if tp + fp else 1.0), tp / max(1, sum(r.supported for r in rows))
    best = max(grid, key=lambda g: (score(g[0]), g[1]))[0]
    print(f"\n{'id':5} {'kind':15} {'cosine':>6}  decision  derivation or reason")
    for r in sorted(rows, key=lambda r: (not r.supported, r.kind, r.id)):
        wrong = " <-- wrong" if accepted(r, best) != r.supported else ""
        print(f"{r.id:5} {r.kind:15} {r.similarity:6.3f}  {'accept' if accepted(r, best) else 'reject':8}  "
              f"{'; '.join(r.derivations) or r.reason}{wrong}")
    precision, recall = score(best)
    shipped = MIN_COMPUTED_SIMILARITY
    p, r = score(shipped)
    print(f"\nwith the shipped MIN_COMPUTED_SIMILARITY = {shipped}: precision {p:.3f}  recall {r:.3f}; "
          "accepted by kind: "
          + ", ".join(f"{k} {sum(accepted(x, shipped) for x in rows if x.kind == k)}/{sum(x.kind == k for x in rows)}"
                      for k in COMPUTED_KINDS))
    print("computed claims, accepted by kind at the chosen bound: " + ", ".join(
        f"{k} {sum(accepted(r, best) for r in rows if r.kind == k)}/{sum(r.kind == k for r in rows)}"
        for k in COMPUTED_KINDS))
    print("precision per wrong kind: " + ", ".join(
        f"{k} {1.0 if not any(accepted(r, best) for r in rows if r.kind == k) else 0.0:.1f}"
        for k in COMPUTED_KINDS[1:]))
    print(f"computed claims: {len(rows)} ({sum(r.supported for r in rows)} correct)")
    print(f"chosen: MIN_COMPUTED_SIMILARITY = {best}  precision {precision:.3f}  recall {recall:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--claims", type=Path, default=ROOT / "tests" / "eval" / "claims.jsonl")
    parser.add_argument("--backend", choices=EMBEDDING_BACKENDS, default=DEFAULT_BACKEND)
    args = parser.parse_args()
    settings = Settings(embedding_backend=args.backend)  # the verifier needs only the embedding model
    embedder = load_model(settings.embedding_model, settings.embed_batch_size, args.backend, settings.model_cache)
    rows = [r for r in signals(args.claims, embedder) if r.kind not in COMPUTED_KINDS]
    if not rows:  # a file of computed claims only (a held-out set): their report alone
        report_computed(computed_signals(args.claims, embedder))
        return
    plain_rows = [dataclasses.replace(r, similarity=r.sentence_cosine, agrees=True) for r in rows]
    po, ps, (pp, pr, pf) = choose(plain_rows)
    plain_misses = [r.id for r in plain_rows if not r.supported and accepted(r, po, ps)]
    o, s, (precision, recall, f) = choose(rows)

    print(f"{'id':5} {'label':5} {'kind':13} {'overlap':>7} {'span':>6} {'sent.':>6}  decision  hard rule")
    for r in sorted(rows, key=lambda r: (not r.supported, r.kind, r.id)):
        verdict = "accept" if accepted(r, o, s) else "reject"
        wrong = " <-- wrong" if accepted(r, o, s) != r.supported else ""
        print(f"{r.id:5} {'yes' if r.supported else 'no':5} {r.kind:13} {r.overlap:7.3f} {r.similarity:6.3f} "
              f"{r.sentence_cosine:6.3f}  "
              f"{verdict:8}  {'verbatim' if r.verbatim else r.hard_fail}{wrong}")

    print("\nverifier similarity: recall at precision 1.0 ('-' where an unsupported claim is accepted)")
    print("overlap \\ cosine " + " ".join(f"{x:5.2f}" for x in TABLE_SIMILARITIES))
    for oo in OVERLAPS:
        cells = []
        for ss in TABLE_SIMILARITIES:
            p, r, _ = scores(rows, oo, ss)
            cells.append(f"{r:5.3f}" if p == 1.0 else "    -")
        print(f"{oo:16.2f} " + " ".join(cells))

    kinds = sorted({r.kind for r in rows})
    print("\naccepted by kind: " + ", ".join(
        f"{k} {sum(accepted(r, o, s) for r in rows if r.kind == k)}/{sum(r.kind == k for r in rows)}" for k in kinds))
    misses = [r.id for r in rows if not r.supported and accepted(r, o, s)]
    print(f"plain sentence cosine, for comparison: MIN_OVERLAP = {po}  MIN_SIMILARITY = {ps}  "
          f"precision {pp:.3f}  recall {pr:.3f}  F0.5 {pf:.3f}"
          + (f"  unsupported accepted: {', '.join(plain_misses)}" if plain_misses else ""))
    fo, fs, (fp, fr, ff) = max(((oo, ss, scores(rows, oo, ss)) for oo in OVERLAPS for ss, _ in midpoints(rows)),
                               key=lambda g: (g[2][2], g[0]))
    print(f"best F0.5, for comparison: MIN_OVERLAP = {fo}  MIN_SIMILARITY = {fs}  "
          f"precision {fp:.3f}  recall {fr:.3f}  F0.5 {ff:.3f}")
    print(f"claims: {len(rows)} ({sum(r.supported for r in rows)} supported)")
    print(f"chosen: MIN_OVERLAP = {o}  MIN_SIMILARITY = {s}")
    print(f"precision {precision:.3f}  recall {recall:.3f}  F0.5 {f:.3f}"
          + (f"  unsupported accepted: {', '.join(misses)}" if misses else ""))
    claims = [json.loads(line) for line in args.claims.read_text(encoding="utf-8").splitlines() if line.strip()]
    plain = [c for c in claims if c["kind"] not in COMPUTED_KINDS]
    taken = [c for c in plain if verify(c["claim"], [c["passage"]], embedder).supported]
    print(f"verify() as shipped, arithmetic included: precision {sum(c['supported'] for c in taken) / len(taken):.3f}"
          f"  recall {sum(c['supported'] for c in taken) / sum(c['supported'] for c in plain):.3f}"
          f"  unsupported accepted: {', '.join(c['id'] for c in taken if not c['supported']) or 'none'}")
    report_computed(computed_signals(args.claims, embedder))


if __name__ == "__main__":
    main()
