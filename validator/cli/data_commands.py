"""Commands of the data_commands area (filled in by its owner)."""
