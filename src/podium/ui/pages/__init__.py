"""The UI pages, one module per area; ``common`` has what every page does first."""
