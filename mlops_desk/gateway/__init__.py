"""OpenAI-compatible HTTP gateway over core (issue 5)."""
