"""Labels, datasets, walk-forward training, evaluation and the model artifact format."""
