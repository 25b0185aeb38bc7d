"""The powderkeg command-line interface."""
