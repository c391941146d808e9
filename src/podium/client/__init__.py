"""HTTP clients implementing the area interfaces against a podium server (remote mode)."""
