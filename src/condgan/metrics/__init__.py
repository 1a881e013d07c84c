"""Offline quality metrics for conditional generators."""
