"""Answering, on any search backend: passage search and fusion, sentence choice, the found
decision and the confidence."""
