"""MCP servers as client tools (BOT_MCP_CONFIG).

- `config`: the `mcpServers` file: parse, validate, `${VAR}` expansion, tool names (pure, no SDK).
- `client`: one long-lived session per server, reconnected with backoff (the `mcp` SDK).
- `faults`: states, call failures, the backoff; `tools`: an MCP tool as a `Tool`.
- `results`: an MCP tool result as Claude `tool_result` content (pure).
- `toolbox`: `McpToolbox`, what the composition root builds: `tools()`, `status()`.

This package's `__init__` imports nothing, so `bot.config` can validate the file without
loading the SDK.
"""
