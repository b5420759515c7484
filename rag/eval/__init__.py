"""Eval: question sets, metric functions, the runner and its reports."""
