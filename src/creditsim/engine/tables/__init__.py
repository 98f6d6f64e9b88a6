"""The shard's outputs, built by the last stages of the pipeline: the per-citizen columns, the
time series (counts per period and cell), the score histograms and the additive tallies (counts
per stratum: region, group and income band), which add up exactly across shards."""
