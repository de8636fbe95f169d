"""The runinput command."""
