"""Commands of the score_commands area (filled in by its owner)."""
