"""python -m bot: read the settings, start the bot, exit with one clear line on a bad setup.

`python -m bot healthcheck [--data-dir DIR]` exits 0 when the running bot is healthy: its
/healthz answers 200 (metrics server on), or else its heartbeat file is fresh.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import SettingsError, load_settings
from bot.health import HEARTBEAT_FILE, endpoint_healthy, healthz_url, is_healthy
from bot.logs import configure_logging
from bot.wiring import StartupError, run


def serve() -> None:
    """Run the bot until SIGTERM/SIGINT."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(f"claude-slack-bot: {exc}")
    configure_logging(
        settings.log_level,
        settings.log_format,
        secrets=(
            settings.slack_bot_token.get_secret_value(),
            settings.slack_app_token.get_secret_value(),
            settings.anthropic_api_key.get_secret_value(),
        ),
    )
    try:
        asyncio.run(run(settings))
    except StartupError as exc:
        sys.exit(f"claude-slack-bot: {exc}")
    except KeyboardInterrupt:
        pass


def healthcheck(data_dir: Path | None) -> bool:
    """The metrics server's /healthz when it is on, else the heartbeat file under data_dir
    (default: BOT_DATA_DIR)."""
    try:
        settings = load_settings()
    except SettingsError:
        return is_healthy((data_dir or Path(".data")) / HEARTBEAT_FILE)
    if settings.metrics_port is None:
        return is_healthy((data_dir or settings.data_dir) / HEARTBEAT_FILE)
    return endpoint_healthy(healthz_url(settings.metrics_host, settings.metrics_port))


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m bot` and the `claude-slack-bot` console script."""
    parser = argparse.ArgumentParser(prog="claude-slack-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    health = commands.add_parser("healthcheck", help="exit 0 when the running bot is connected")
    health.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "healthcheck":
        sys.exit(0 if healthcheck(args.data_dir) else 1)
    serve()


if __name__ == "__main__":
    main()
