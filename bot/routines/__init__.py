"""Routines: scheduled digests and prompts (/claude-routine), run by exactly one replica."""
