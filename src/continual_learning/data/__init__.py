"""Data that ships with the package (read through :mod:`continual_learning.core.questions`)."""
