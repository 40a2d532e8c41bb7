"""Stage 6: scoring decode dirs (PPMC, RMSE, SE metrics), results tables, RESULTS.md and plots.

Modules, in the order data flows through them:

- ``metrics``     the numbers: PPMC (with the constant-track rule), RMSE, SI-SDR, PESQ, STOI
- ``decodes``     finding decode dirs (``exp/<tag>/decode/<set>/``) and what model made them
- ``utt_scores``  one decode dir -> ``scores.tsv`` (per utterance x target) and
                  ``se_scores.tsv`` (per utterance, enhanced and noisy input), cached
- ``aggregate``   filters (set / SNR / noise), grouping, mean PPMC, seeds, relative gain
- ``tables``      plain-text and Markdown tables
- ``results_md``  the ``RESULTS.md`` report
- ``plots``       PPMC-vs-SNR curves and example trajectories
- ``score``       ``sitool score``: all of the above for a list of experiments
"""
