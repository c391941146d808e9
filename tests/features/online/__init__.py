"""Tests of the online store backends."""
