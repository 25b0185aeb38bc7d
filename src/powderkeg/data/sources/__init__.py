"""Data sources: files, Frictionless packages and live providers."""
