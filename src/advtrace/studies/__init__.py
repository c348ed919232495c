"""Companion-paper studies, one package each (advtrace.stages)."""
