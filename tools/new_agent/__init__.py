"""Scaffolds a complete agent (code, targets, resolve, pipeline, service, image, tests, model card)."""
