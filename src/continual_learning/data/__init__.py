"""Data that ships with the package (read through :mod:`continual_learning.core.questions`)."""

FACT_SETS = ("shipped", "tuning", "test")
"""The fictional-fact sets, by name; what each is for: ``core/questions.py``."""
