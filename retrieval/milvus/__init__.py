"""The cluster backend: Milvus as the search engine (``HOPTAC_SEARCH_URL``)."""
