"""Articulatory signal processing for real corpora.

- ``geometry``: sensor positions (EMA / X-ray microbeam pellets) -> tract variables
  (LA, LP, TTCL, TTCD, TBCL, TBCD) in an oriented midsagittal frame.
- ``palate``: the palate trace a constriction degree is measured against (from the corpus,
  or estimated from the upper envelope of the tongue sensors).
- ``resample``: gap filling and anti-aliased resampling of sensor tracks to the target rate.
- ``source``: F0 / periodicity / aperiodicity from audio at the target frame rate.
"""
