"""Tools put together for the composition root: the server tools BOT_TOOLS turns on (and, with
code execution, its files brought back into threads), the MCP servers of BOT_MCP_CONFIG
(connected once, shared by every answer), and the agent loop's limits."""

from __future__ import annotations

from contextlib import AsyncExitStack

import structlog

from bot.claude.files import AnthropicOutputFiles
from bot.compose.clients import Clients
from bot.compose.profiles import McpServersOfProfile
from bot.config import Settings
from bot.conversation.agent import LoopLimits
from bot.conversation.kit import NoServerTools, ServerTools
from bot.conversation.ports import Clock, NoResultFiles, ResultFiles
from bot.conversation.profiles import Profiles
from bot.conversation.tools import ToolProvider
from bot.slack.api.uploads import SlackThreadUploads
from bot.storage.redis_store import RedisMarks
from bot.tools.code_files import CodeFilesBack

log = structlog.get_logger("bot")


def loop_limits(settings: Settings) -> LoopLimits:
    """Rounds and wall time of an answer's tool use; a client tool's timeout and result cap."""
    return LoopLimits(
        max_rounds=settings.tool_max_rounds,
        max_seconds=settings.tool_max_seconds,
        tool_timeout_seconds=settings.mcp_call_timeout_seconds + 5,  # MCP's own timeout first
        max_result_chars=settings.mcp_max_result_chars,
    )


def server_tools(settings: Settings) -> ServerTools:
    """Web search, web fetch and code execution as BOT_TOOLS says (none by default)."""
    tools = settings.server_tools()
    if not tools.names:
        return NoServerTools()
    log.info("tools.server", tools=list(tools.names))
    return tools


def code_files_back(settings: Settings, clients: Clients, clock: Clock) -> ResultFiles:
    """With code execution on: the files it makes, downloaded from Claude's Files API (on the
    shared client) and posted into the answer's thread (with its workspace's client), each
    once."""
    if "code_execution" not in settings.server_tools().names:
        return NoResultFiles()
    return CodeFilesBack(
        AnthropicOutputFiles(clients.claude),
        SlackThreadUploads(clients.workspaces, clock),
        RedisMarks(clients.redis),
        max_bytes=settings.code_file_max_bytes,
    )


async def tool_providers(
    settings: Settings, stack: AsyncExitStack, profiles: Profiles
) -> tuple[ToolProvider, ...]:
    """The client tool providers: the MCP servers when BOT_MCP_CONFIG names some (a server that
    is down at start is left out and retried in the background), narrowed per channel by its
    profile."""
    servers = settings.mcp_servers
    if not servers:
        return ()
    from bot.tools.mcp.toolbox import McpToolbox  # the mcp SDK is heavy: loaded only when used

    toolbox = McpToolbox(
        servers,
        call_timeout_seconds=settings.mcp_call_timeout_seconds,
        max_result_chars=settings.mcp_max_result_chars,
        stderr_dir=settings.data_dir / "mcp",
        preapproved=settings.preapproved_tools,
    )
    await toolbox.start()
    stack.push_async_callback(toolbox.aclose)
    for status in toolbox.status():
        log.info("mcp.server", server=status.name, state=status.state, tools=status.tools)
    return (McpServersOfProfile(toolbox, profiles),)
