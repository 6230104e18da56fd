"""Find Kimi / Moonshot AI API keys in git repositories."""

__version__ = "0.1.0"
