"""Training from scratch: recipes, the training loop, exit-policy calibration, checkpoints."""
