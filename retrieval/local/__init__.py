"""The embedded backend: FAISS + BM25 postings in versioned folders under ``data_dir/index``."""
