"""Domain packs: what a kind of document knows beyond plain text search."""
