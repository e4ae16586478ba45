"""Real MCP servers (the `mcp` SDK's MCPServer) that tests start and the bot connects to."""
