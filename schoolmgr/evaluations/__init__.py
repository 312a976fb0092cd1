"""Evaluation and follow-up surveys of editions."""
