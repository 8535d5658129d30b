"""Commands of the agent_commands area (filled in by its owner)."""
