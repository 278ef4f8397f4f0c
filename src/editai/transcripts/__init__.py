"""Transcripts: speech turned into timed words, offline (faster-whisper)."""
