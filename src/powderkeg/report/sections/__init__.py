"""Report sections, one module per section; each exposes ``section(ctx) -> Section | None``."""
