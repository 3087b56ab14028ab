"""One module per schema revision, oldest first; plain SQL in ``op.execute``."""
