"""Framework-free post-processing of model outputs (numpy only)."""
