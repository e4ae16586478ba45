"""python -m bot: read the settings, start the bot, exit with one clear line on a bad setup.

`python -m bot healthcheck [--data-dir DIR]` exits 0 when the running bot is healthy: its
/healthz answers 200 (metrics server on), or else its heartbeat file is fresh.

`python -m bot new-encryption-key` prints a fresh key for BOT_TOKEN_ENCRYPTION_KEY.

`python -m bot ask-code-context <repo-path> "<question>" [--budget N] [--json]` prints what
/ask-code would put in front of the model for that question, before any tool call.

`python -m bot audit --since 7d [--team T…] [--action thread.forget]` prints the audit log
(admin actions, approvals, forgets, exports) as JSON lines, oldest first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from bot.compose.app import StartupError, run
from bot.config import SettingsError, load_settings
from bot.health import HEARTBEAT_FILE, endpoint_healthy, healthz_url, is_healthy
from bot.logs import configure_logging


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop (less CPU per streamed token, shorter tails under load), unless the
    standard one is asked for or uvloop is not installed (BOT_EVENT_LOOP: auto|uvloop|asyncio)."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            sys.exit("claude-slack-bot: BOT_EVENT_LOOP=uvloop but uvloop is not installed")
        return None
    return uvloop.new_event_loop


def serve() -> None:
    """Run the bot until SIGTERM/SIGINT."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(f"claude-slack-bot: {exc}")
    configure_logging(
        settings.log_level,
        settings.log_format,
        secrets=settings.secrets,
    )
    try:
        with asyncio.Runner(loop_factory=loop_factory(settings.event_loop)) as runner:
            runner.run(run(settings))
    except StartupError as exc:
        sys.exit(f"claude-slack-bot: {exc}")
    except KeyboardInterrupt:
        pass


def healthcheck(data_dir: Path | None) -> bool:
    """The /healthz of the HTTP server (BOT_MODE=http) or of the metrics server when it is on,
    else the heartbeat file under data_dir (default: BOT_DATA_DIR)."""
    try:
        settings = load_settings()
    except SettingsError:
        return is_healthy((data_dir or Path(".data")) / HEARTBEAT_FILE)
    if settings.bot_mode == "http":
        return endpoint_healthy(healthz_url("127.0.0.1", settings.http_port))
    if settings.metrics_port is None:
        return is_healthy((data_dir or settings.data_dir) / HEARTBEAT_FILE)
    return endpoint_healthy(healthz_url(settings.metrics_host, settings.metrics_port))


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m bot` and the `claude-slack-bot` console script."""
    parser = argparse.ArgumentParser(prog="claude-slack-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    health = commands.add_parser("healthcheck", help="exit 0 when the running bot is connected")
    health.add_argument("--data-dir", type=Path, default=None)
    commands.add_parser("new-encryption-key", help="print a key for BOT_TOKEN_ENCRYPTION_KEY")
    code = commands.add_parser(
        "ask-code-context", help="what /ask-code would show the model for a question"
    )
    code.add_argument("repo_path", type=Path)
    code.add_argument("question")
    code.add_argument("--budget", type=int, default=100_000, help="context budget in tokens")
    code.add_argument("--json", action="store_true", help="print JSON")
    audit = commands.add_parser("audit", help="the audit log as JSON lines")
    audit.add_argument("--since", default="7d", help="how far back: 90s, 30m, 12h, 7d, 2w")
    audit.add_argument("--team", action="append", default=[], help="only this workspace")
    audit.add_argument("--action", action="append", default=[], help="only this action")
    args = parser.parse_args(argv)
    if args.command == "audit":
        sys.exit(print_audit(args.since, args.team, args.action))
    if args.command == "healthcheck":
        sys.exit(0 if healthcheck(args.data_dir) else 1)
    if args.command == "new-encryption-key":
        from cryptography.fernet import Fernet  # only this command needs it here

        print(Fernet.generate_key().decode())
        sys.exit(0)
    if args.command == "ask-code-context":
        sys.exit(ask_code_context(args.repo_path, args.question, args.budget, args.json))
    serve()


def ask_code_context(path: Path, question: str, budget: int, as_json: bool) -> int:
    """Print the context report; 0, or 1 with one line when the repository can't be read."""
    from bot.askcode.inspect import inspect_context, render  # only this command needs git
    from bot.conversation.errors import CodeUnavailable

    configure_logging("WARNING", "auto")  # logs to stderr: stdout is the report
    try:
        report = asyncio.run(inspect_context(path, question, budget))
    except CodeUnavailable as exc:
        print(f"claude-slack-bot: {exc}", file=sys.stderr)
        return 1
    print(render(report, as_json))
    return 0


def print_audit(since: str, teams: list[str], actions: list[str]) -> int:
    """Print the audit log's events of the last `since`; 0, or 1 with one line on a problem."""
    from redis.exceptions import RedisError

    from bot.config import StoreSettings
    from bot.governance.cli import audit_lines, parse_since

    configure_logging("WARNING", "auto")  # logs to stderr: stdout is the report
    try:
        seconds = parse_since(since)
        store = StoreSettings()  # type: ignore[call-arg]  # values come from the environment
        lines = asyncio.run(audit_lines(store, seconds, teams, actions))
    except (ValueError, RedisError) as exc:
        print(f"claude-slack-bot: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    main()
