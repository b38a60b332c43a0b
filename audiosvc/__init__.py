"""audiosvc: transcription, translation and speech for recordings of any length."""

__version__ = "0.1.0"
