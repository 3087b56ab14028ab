"""The answer engine: articles -> sentences and passages -> a FAISS + bm25s index -> answers
that quote exact sentences with their citations. Imports no other package of hoptac; its entry
point is :class:`retrieval.engine.LocalEngine`, configured by :class:`retrieval.config.EngineConfig`.
"""
