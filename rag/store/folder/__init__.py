"""The folder index: FAISS and BM25 files in crash-safe generations under one folder."""
