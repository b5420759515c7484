"""Milvus as the store: Milvus Lite in one .db for a single machine, or a Milvus server.

Same behaviour as the folder index behind the same protocols: dense search and BM25 (Milvus'
BM25 function over the terms the folder index uses) answered by Milvus, fused by the
retriever; incremental ingest by content hash; the model and chunking check; and a new
state made live only when complete (store.py). What a state holds is in schema.py.
"""
