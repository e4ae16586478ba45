"""Slack as knowledge: client tools that read Slack for the person asking.

- `directory`: channels, people and memberships via the Web API, cached, within the rate tiers.
- `access`: whether a channel may be read for a person (bot in it, allowlist, membership).
- `search`: search_slack over assistant.search.context with the event's action token.
- `read_channel`: recent messages of a channel or thread, attributed, with permalinks.
- `provider`: `SlackKnowledge`, the ToolProvider the composition root builds.
"""
