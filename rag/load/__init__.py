"""Load: files -> Document, one module per format; no chunking here."""
