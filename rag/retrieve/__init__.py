"""Retrieve: a question -> the passages to answer from."""
