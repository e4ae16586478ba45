"""The process runtime: supervised background loops, the event-loop lag monitor, start-up probes
of Slack and Claude, and what a restarted process learns about its predecessor."""
