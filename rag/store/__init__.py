"""Store: where chunks, their vectors and their terms live, and how they are searched."""
