"""Tool providers: client tools Claude may call during an answer (MCP servers, …).

Each provider turns its source into `bot.conversation.tools.Tool`s; the composition root hands
them to the agent loop.
"""
