"""Vietnamese text: normalising and folding, the search analyzer, the 2025 administrative map,
the dates, answer types and subject of a question."""
