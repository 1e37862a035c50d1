"""The organization tree (six-level linkage) and the dual report."""
