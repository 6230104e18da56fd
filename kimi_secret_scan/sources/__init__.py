"""Sources yield pieces of content with their location (or say what they could not read)."""
