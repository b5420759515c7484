"""Benchmarks: what each measures. Run from the repository root as `python -m bench.NAME` (or the make target).

Quality, through the product's own pipeline (`rag.app.build`), on the question sets in ../shared/benchmarks:
- `finance` (make bench-finance): financebench-public end to end, what each retrieval technique adds, and the
  LangChain tutorial on the same filings.
- `names` (make bench-names): the same filings under their real names and as doc-01.pdf ...: routing must come
  from the documents, not their names.
- `combined` (make bench-combined): the filings, the shipped articles and squad2-public in one index, each
  question set beside its own index's figures.
- `finance_short`: how often the short answer is the analyst's figure (reads a `rag eval --out` report).
- `sweep_answer`: each answer and retrieval constant moved one at a time, on held-out halves.
- `calibrate`: the extractive answerer's abstention threshold; `calibrate_verifier`: the generative verifier's.

Speed and memory (medians, beside baselines measured in the same run):
- `perf` (make bench): ingest throughput, re-ingest, query latency and recall from 1k to 1M chunks, cold start.
- `pdf_parsers`, `pdf_pages` (make bench-pdf): PDF loaders side by side; `stores` (make bench-stores): the folder
  index beside Milvus Lite; `models_pull` (make bench-models): `rag models pull` through a loopback Hub.

Shared paths are in `paths`; figures are written under build/ and summarised in RESULTS.md.
"""
