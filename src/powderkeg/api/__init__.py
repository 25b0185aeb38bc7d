"""The JSON API and the browser dashboard."""
