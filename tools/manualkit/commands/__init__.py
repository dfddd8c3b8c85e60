"""The verbs of the CLI: each returns data or text; none prints."""
