"""Images and documents shared in Slack, turned into content blocks Claude accepts."""
