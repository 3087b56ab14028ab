"""Articles: the corpus file format, importers, sentences and passages with exact offsets,
page furniture, and taking new files into the corpus folder."""
