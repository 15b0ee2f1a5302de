"""What the training recipes share: examples from a snapshot, the label space, the frames models
predict, the run around a recipe's loop, and the model folder (honkdata/recipes/ holds the loops)."""
