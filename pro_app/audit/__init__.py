"""Audit of outcomes by timepoint and de-identified exports for registries."""
