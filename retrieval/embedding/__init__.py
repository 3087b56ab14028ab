"""Embedding: the model (the offline default or any sentence-transformers model), span pooling,
and vectors kept compact."""
