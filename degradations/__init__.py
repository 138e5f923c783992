"""Degradation models (one per module) and chain presets as YAML data."""
