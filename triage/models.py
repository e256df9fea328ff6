"""Triage stores its tags on the posts; its own models (trained classifiers) come with the
scikit-learn pipeline."""
