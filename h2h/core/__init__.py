"""Plumbing every phase shares: the user-facing error, params.yaml and its schema, stage
output directories and manifests, progress bars, MLflow tracking and the shape of a stage run.

Importing this package imports nothing: each module is imported where it is used.
"""
