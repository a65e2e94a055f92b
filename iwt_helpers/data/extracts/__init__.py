"""Record-level staff extracts: mapping, pseudonymising load, flows and disclosure-controlled
aggregates (``iwt extract``; docs/extracts.md)."""
