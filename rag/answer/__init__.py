"""Answer: passages -> a cited answer, quoted (extractive) or generated and verified."""
