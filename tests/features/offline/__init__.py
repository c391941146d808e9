"""Tests of the offline store: point-in-time joins."""
