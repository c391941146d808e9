"""Tests of the feature store."""
