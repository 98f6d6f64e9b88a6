"""The array layer under every stage: NumPy or CuPy (`backend`), and random streams keyed by the
seed, the shard and the purpose of a draw (`streams`). It imports nothing of creditsim's own."""
