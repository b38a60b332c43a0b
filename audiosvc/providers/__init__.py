"""Speech providers: the local engine and OpenAI-compatible HTTP servers (Groq, OpenAI)."""
