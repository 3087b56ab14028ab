"""The answer engine: articles -> sentences and passages -> a search index -> answers that
quote exact sentences with their citations. Imports no other package of hoptac.

    engine.py        what every engine shares: the Engine protocol, IndexStatus, IngestReport, errors
    config.py        EngineConfig: folders, the model, answer length (built by the application)
    models.py        the domain: Article, Sentence, Passage, Citation, Answer
    preparation.py   articles -> sentences, passages and their vectors, for either backend
    vietnamese/      text (NFC, folding), the search analyzer, the 2025 map, question dates and types
    articles/        the corpus file format, importers, sentence and passage splitting, furniture
    embedding/       the model (offline default or sentence-transformers), span pooling, compact vectors
    answering/       the search interface, fusion, sentence choice, the found decision, confidence
    local/           the embedded backend: LocalEngine over FAISS + BM25 postings in data_dir/index
    milvus/          the cluster backend: MilvusEngine over Milvus collections
    crash_points.py  named points where the fault tests kill the process (HOPTAC_TEST_KILL_AT)

docs/architecture.md draws the layers; ``lint-imports`` keeps them.
"""
