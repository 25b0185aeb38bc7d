"""Compute and energy economics: Bitcoin mining versus AI compute."""
