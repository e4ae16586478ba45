"""python -m bot: read the settings, start the bot, exit with one clear line on a bad setup."""

from __future__ import annotations

import asyncio
import sys

from bot.config import SettingsError, load_settings
from bot.logs import configure_logging
from bot.wiring import StartupError, run


def main() -> None:
    """Entry point of `python -m bot` and the `claude-slack-bot` console script."""
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


if __name__ == "__main__":
    main()
