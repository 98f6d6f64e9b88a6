"""The model's stages as steps of a shard's run, population to sanctions: each a function of the
shard's state behind the contract of `engine/stage.py`, calling the model's own modules
(`population.py`, `behaviours.py`, `channels/`, ...). `engine/pipeline.py` puts them in order."""
