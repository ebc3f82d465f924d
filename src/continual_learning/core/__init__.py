"""Mechanics shared by engines and front ends: backbone, documents, datasets, scoring, storage."""
