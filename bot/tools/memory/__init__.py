"""Per-channel and per-person memory: Anthropic's memory tool (`memory_20250818`), run by the bot
over Redis.

- `paths`: /memories/channel/…, /memories/you/… checked strictly (pure).
- `files`: the tool's commands over one scope's files, with the size caps (pure).
- `store`: one Redis hash per scope (channel or person, public or private), atomic changes.
- `privacy`: private or public conversation (ids, conversations.info), cached.
- `tool`: the memory tool of one answer; `provider`: which scopes a conversation may use.
"""
