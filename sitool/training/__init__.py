"""Stage 4: training the model family (``sitool train``)."""
