"""The final model: the search's best candidate retrained, saved as a self-contained directory,
and prediction on new text (``hhnas predict``)."""
