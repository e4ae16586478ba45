"""Settings, read once from the environment. Nothing else in the bot reads os.environ."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, MultiFernet
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.askcode.repos import RepoConfigError, RepoSpec, parse_repos, with_links
from bot.conversation.tiers import TIER_NAMES, TIER_TABLE, TIERS, Effort
from bot.profiles import Known, ProfileError, load_profiles
from bot.settings_rules import (
    HOST_NAME,
    TierSource,
    is_slack_host,
    parse_prompts,
    require_https,
    variable_of,
)
from bot.storage.connect import RedisUrlError, parse_redis_url
from bot.tools.mcp.config import ConfigError, ServerConfig, load_config
from bot.tools.server import (
    ConfiguredServerTools,
    ServerToolsError,
    WebOptions,
    parse_domains,
    parse_location,
    parse_names,
)

DEFAULT_SYSTEM_PROMPT = (
    "You are Claude, an AI assistant made by Anthropic, answering in a Slack workspace. "
    "Each Slack thread is one conversation. Messages from people other than the one asking may "
    "appear as context, attributed to their authors. Answer clearly and concisely, in the "
    "language of the question. Use Markdown sparingly: short paragraphs, lists, `code` and fenced "
    "code blocks render well in Slack; tables and deep nesting do not. If you are unsure, say so."
)

# Suggested prompts of the agent/assistant surfaces: "Title: message" entries separated by "|".
DEFAULT_PROMPTS = (
    "Explain a concept: Explain how OAuth 2.0 works, in plain words."
    " | Draft a message: Help me write a friendly reminder about tomorrow's deadline."
    " | Summarise: Summarise the channel I'm looking at in five bullet points."
    " | Brainstorm: Give me ten name ideas for an internal tool that tracks deploys."
)
README_SETTINGS = "see README.md, section Settings"


SLACK_TOOL_NAMES = frozenset({"search_slack", "read_channel"})


class Settings(BaseSettings):
    """Everything the bot can be configured with; see README.md for the table."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # One workspace: SLACK_BOT_TOKEN. Many (OAuth): SLACK_CLIENT_ID & co., tokens from installs.
    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    bot_mode: Literal["socket", "http"] = Field("socket", alias="BOT_MODE")
    http_port: int = Field(3000, ge=1, le=65_535, alias="PORT")
    http_host: str = Field("0.0.0.0", alias="BOT_HTTP_HOST")  # noqa: S104  # Slack must reach it
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_client_id: str | None = Field(None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, alias="SLACK_CLIENT_SECRET")
    slack_state_secret: SecretStr | None = Field(None, alias="SLACK_STATE_SECRET")
    token_encryption_key: SecretStr | None = Field(None, alias="BOT_TOKEN_ENCRYPTION_KEY")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    slack_file_hosts: str = Field("files.slack.com", alias="SLACK_FILE_HOSTS")
    file_max_mb: float = Field(30, gt=0, le=500, alias="BOT_FILE_MAX_MB")

    anthropic_api_key: SecretStr = Field(alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, alias="ANTHROPIC_BASE_URL")
    claude_max_retries: int = Field(2, ge=0, le=10, alias="BOT_CLAUDE_MAX_RETRIES")
    claude_timeout_seconds: float = Field(120.0, gt=0, alias="BOT_CLAUDE_TIMEOUT_SECONDS")
    claude_transport: Literal["aiohttp", "httpx"] = Field("aiohttp", alias="BOT_CLAUDE_TRANSPORT")

    # CLAUDE_MODEL_<TIER> and BOT_THINKING_<TIER> for each row of the tier table (TierSource)
    tier_models: dict[str, str] = Field(
        default_factory=lambda: {spec.name: spec.default_model for spec in TIER_TABLE}
    )
    tier_thinking: dict[str, Effort] = Field(
        default_factory=lambda: {spec.name: spec.thinking for spec in TIER_TABLE}
    )
    system_prompt: str = Field(DEFAULT_SYSTEM_PROMPT, alias="BOT_SYSTEM_PROMPT")
    max_tokens: int = Field(8192, ge=1, le=128_000, alias="BOT_MAX_TOKENS")
    max_input_tokens: int = Field(150_000, ge=1000, alias="BOT_MAX_INPUT_TOKENS")
    show_thinking: bool = Field(False, alias="BOT_SHOW_THINKING")

    redis_url: str | None = Field(None, alias="REDIS_URL")
    redis_cluster: bool = Field(False, alias="BOT_REDIS_CLUSTER")
    redis_allow_eviction: bool = Field(False, alias="BOT_REDIS_ALLOW_EVICTION")
    data_dir: Path = Field(Path(".data"), alias="BOT_DATA_DIR")
    history_ttl_days: float = Field(30, gt=0, alias="BOT_HISTORY_TTL_DAYS")
    audit_retention_days: float = Field(365, gt=0, alias="BOT_AUDIT_RETENTION_DAYS")
    memory: bool = Field(False, alias="BOT_MEMORY")
    memory_file_chars: int = Field(4000, ge=100, le=100_000, alias="BOT_MEMORY_FILE_CHARS")
    memory_scope_chars: int = Field(20_000, ge=100, le=1_000_000, alias="BOT_MEMORY_SCOPE_CHARS")
    memory_ttl_days: float = Field(180, gt=0, alias="BOT_MEMORY_TTL_DAYS")
    pii_redaction: bool = Field(False, alias="BOT_PII_REDACTION")
    pii_region: str = Field("US", pattern=r"^[A-Z]{2}$", alias="BOT_PII_REGION")

    slack_updates_per_minute: float = Field(50, gt=0, alias="BOT_SLACK_UPDATES_PER_MINUTE")
    slack_update_burst: int = Field(5, ge=1, alias="BOT_SLACK_UPDATE_BURST")
    lock_ttl_seconds: float = Field(30, gt=0, alias="BOT_LOCK_TTL_SECONDS")
    heartbeat_seconds: float = Field(30, gt=0, alias="BOT_HEARTBEAT_SECONDS")
    shutdown_grace_seconds: float = Field(20, ge=0, alias="BOT_SHUTDOWN_GRACE_SECONDS")
    turn_deadline_seconds: float = Field(600, gt=0, alias="BOT_TURN_DEADLINE_SECONDS")
    claude_stall_seconds: float = Field(90, gt=0, alias="BOT_CLAUDE_STALL_SECONDS")
    edit_interval_seconds: float = Field(1.0, ge=0, alias="BOT_EDIT_INTERVAL_SECONDS")
    first_words_interval_seconds: float = Field(
        0.25, ge=0, alias="BOT_FIRST_WORDS_INTERVAL_SECONDS"
    )
    placeholder_delay_seconds: float = Field(1.0, ge=0, alias="BOT_PLACEHOLDER_DELAY_SECONDS")
    edit_policy: Literal["time", "every_delta", "every_20_deltas"] = Field(
        "time", alias="BOT_EDIT_POLICY"
    )
    message_chars: int = Field(3500, ge=500, le=12_000, alias="BOT_MESSAGE_CHARS")

    allowed_users: str = Field("", alias="BOT_ALLOWED_USERS")
    allowed_channels: str = Field("", alias="BOT_ALLOWED_CHANNELS")
    allow_external_users: bool = Field(False, alias="BOT_ALLOW_EXTERNAL_USERS")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="BOT_LOG_LEVEL")
    log_format: Literal["auto", "json", "console"] = Field("auto", alias="BOT_LOG_FORMAT")
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field("auto", alias="BOT_EVENT_LOOP")
    log_message_bodies: bool = Field(False, alias="BOT_LOG_MESSAGE_BODIES")

    ask_code_repos: str = Field("", alias="ASK_CODE_REPOS")
    ask_code_links: str = Field("", alias="ASK_CODE_LINKS")
    ask_code_context_tokens: int = Field(
        100_000, ge=1_000, le=900_000, alias="ASK_CODE_CONTEXT_TOKENS"
    )
    ask_code_refresh_minutes: float = Field(10, ge=0, alias="ASK_CODE_REFRESH_MINUTES")
    ask_code_max_repo_mb: float = Field(200, gt=0, alias="ASK_CODE_MAX_REPO_MB")
    ask_code_max_file_kb: float = Field(256, gt=0, alias="ASK_CODE_MAX_FILE_KB")
    ask_code_git_timeout_seconds: float = Field(120, gt=0, alias="ASK_CODE_GIT_TIMEOUT_SECONDS")
    ask_code_max_tool_rounds: int = Field(8, ge=1, le=50, alias="ASK_CODE_MAX_TOOL_ROUNDS")
    ask_code_cache_mb: float = Field(64, gt=0, alias="ASK_CODE_CACHE_MB")

    tools: str = Field("", alias="BOT_TOOLS")  # server tools: web_search, web_fetch, code_execution
    web_search_max_uses: int = Field(5, ge=1, le=50, alias="BOT_WEB_SEARCH_MAX_USES")
    web_fetch_max_uses: int = Field(5, ge=1, le=50, alias="BOT_WEB_FETCH_MAX_USES")
    web_fetch_max_content_tokens: int = Field(
        25_000, ge=1_000, alias="BOT_WEB_FETCH_MAX_CONTENT_TOKENS"
    )
    web_allowed_domains: str = Field("", alias="BOT_WEB_ALLOWED_DOMAINS")
    web_blocked_domains: str = Field("", alias="BOT_WEB_BLOCKED_DOMAINS")
    web_search_location: str = Field("", alias="BOT_WEB_SEARCH_LOCATION")
    code_file_max_mb: float = Field(25, gt=0, le=1000, alias="BOT_CODE_FILE_MAX_MB")
    tool_max_rounds: int = Field(8, ge=1, le=50, alias="BOT_TOOL_MAX_ROUNDS")
    tool_max_seconds: float = Field(300, gt=0, alias="BOT_TOOL_MAX_SECONDS")
    channel_profiles: Path | None = Field(None, alias="BOT_CHANNEL_PROFILES")
    mcp_config: Path | None = Field(None, alias="BOT_MCP_CONFIG")
    mcp_call_timeout_seconds: float = Field(60, gt=0, alias="BOT_MCP_CALL_TIMEOUT_SECONDS")
    mcp_max_result_chars: int = Field(100_000, ge=1_000, alias="BOT_MCP_MAX_RESULT_CHARS")
    tool_approval_seconds: float = Field(300, gt=0, le=3600, alias="BOT_TOOL_APPROVAL_SECONDS")
    tools_preapproved: str = Field("", alias="BOT_TOOLS_PREAPPROVED")  # "server__tool,…"

    slack_tools: str = Field("search_slack,read_channel", alias="BOT_SLACK_TOOLS")
    slack_read_max_messages: int = Field(500, ge=10, le=5_000, alias="BOT_SLACK_READ_MAX_MESSAGES")
    routines_per_user: int = Field(10, ge=0, le=100, alias="BOT_ROUTINES_PER_USER")

    budget_user_daily_usd: float | None = Field(None, gt=0, alias="BOT_BUDGET_USER_DAILY_USD")
    budget_channel_monthly_usd: float | None = Field(
        None, gt=0, alias="BOT_BUDGET_CHANNEL_MONTHLY_USD"
    )
    admin_users: str = Field("", alias="BOT_ADMIN_USERS")
    max_answers_in_flight_per_user: int = Field(
        3, ge=0, le=1000, alias="BOT_MAX_ANSWERS_IN_FLIGHT_PER_USER"
    )
    metrics_port: int | None = Field(None, ge=1, le=65_535, alias="BOT_METRICS_PORT")
    metrics_host: str = Field("127.0.0.1", alias="BOT_METRICS_HOST")

    native_streaming: Literal["off", "dm", "all"] = Field("dm", alias="BOT_NATIVE_STREAMING")
    suggested_prompts: str = Field(DEFAULT_PROMPTS, alias="BOT_SUGGESTED_PROMPTS")

    batch_tier: str = Field("haiku", alias="BOT_BATCH_TIER")
    batch_max_rows: int = Field(10_000, ge=1, le=1_000_000, alias="BOT_BATCH_MAX_ROWS")
    batch_max_tokens: int = Field(1024, ge=1, le=128_000, alias="BOT_BATCH_MAX_TOKENS")
    batch_requests_per_batch: int = Field(
        100_000, ge=1, le=100_000, alias="BOT_BATCH_REQUESTS_PER_BATCH"
    )
    batch_poll_seconds: float = Field(30, gt=0, alias="BOT_BATCH_POLL_SECONDS")
    batch_poll_max_seconds: float = Field(300, gt=0, alias="BOT_BATCH_POLL_MAX_SECONDS")

    @field_validator(
        "budget_user_daily_usd",
        "budget_channel_monthly_usd",
        "metrics_port",
        "anthropic_base_url",
        "mcp_config",
        "channel_profiles",
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "slack_client_id",
        "slack_client_secret",
        "slack_state_secret",
        "token_encryption_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, plus the per-tier variables the tier table names."""
        return (init_settings, env_settings, TierSource(settings_cls), file_secret_settings)

    @field_validator("batch_tier")
    @classmethod
    def _tier_is_known(cls, value: str) -> str:
        if value not in TIERS:
            raise ValueError(f"must be one of {', '.join(TIER_NAMES)}")
        return value

    @field_validator("suggested_prompts")
    @classmethod
    def _prompts_parse(cls, value: str) -> str:
        parse_prompts(value)
        return value

    @field_validator("ask_code_repos")
    @classmethod
    def _repos_parse(cls, value: str) -> str:
        try:
            parse_repos(value)
        except RepoConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _server_tools_parse(self) -> Settings:
        try:
            self.server_tools()
        except ServerToolsError as exc:
            raise ValueError(f"BOT_TOOLS / BOT_WEB_*: {exc}") from None
        return self

    def server_tools(self) -> ConfiguredServerTools:
        """The server tools BOT_TOOLS turns on, with the web tools' settings."""
        web = WebOptions(
            search_max_uses=self.web_search_max_uses,
            fetch_max_uses=self.web_fetch_max_uses,
            allowed_domains=parse_domains(self.web_allowed_domains),
            blocked_domains=parse_domains(self.web_blocked_domains),
            location=parse_location(self.web_search_location),
            fetch_max_content_tokens=self.web_fetch_max_content_tokens,
        )
        return ConfiguredServerTools(parse_names(self.tools), web)

    @model_validator(mode="after")
    def _profiles_load(self) -> Settings:
        if self.channel_profiles is not None:
            try:
                load_profiles(self.channel_profiles, self.profile_names())
            except ProfileError as exc:
                raise ValueError(str(exc)) from None
        return self

    def profile_names(self) -> Known:
        """What channel profiles may name: tiers, BOT_TOOLS, MCP servers, /ask-code repos."""
        return Known(
            tiers=TIER_NAMES,
            tools=parse_names(self.tools),
            mcp_servers=tuple(server.name for server in self.mcp_servers),
            repos=tuple(self.code_repos),
        )

    @field_validator("mcp_config")
    @classmethod
    def _mcp_config_loads(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                load_config(value, os.environ)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("slack_tools")
    @classmethod
    def _slack_tools_known(cls, value: str) -> str:
        names = {part.strip() for part in value.split(",") if part.strip()}
        unknown = names - SLACK_TOOL_NAMES
        if unknown:
            known = ", ".join(sorted(SLACK_TOOL_NAMES))
            raise ValueError(f"unknown Slack tool(s) {', '.join(sorted(unknown))}; known: {known}")
        return value

    @model_validator(mode="after")
    def _links_parse(self) -> Settings:
        try:
            with_links(parse_repos(self.ask_code_repos), self.ask_code_links)
        except RepoConfigError as exc:
            raise ValueError(f"ASK_CODE_LINKS: {exc}") from None
        return self

    @field_validator("redis_url")
    @classmethod
    def _redis_url_parses(cls, value: str | None) -> str | None:
        if value:
            try:
                parse_redis_url(value)  # BOT_REDIS_CLUSTER's own check is at connect time
            except RedisUrlError as exc:
                raise ValueError(str(exc).removeprefix("REDIS_URL ")) from None
        return value or None

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp- (Socket Mode)")
        return value

    @field_validator("token_encryption_key")
    @classmethod
    def _encryption_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            token_cipher(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _transport_is_complete(self) -> Settings:
        """The variables the chosen transport and token source need are all set."""
        for variable in missing_for_transport(self):
            raise ValueError(f"{variable} is not set ({README_SETTINGS}).")
        if self.oauth and self.slack_bot_token is not None:
            raise ValueError(
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set: one workspace uses the bot "
                f"token, many use OAuth installs; unset one ({README_SETTINGS})."
            )
        if self.oauth and self.bot_mode != "http":
            raise ValueError(
                "SLACK_CLIENT_ID needs BOT_MODE=http: the install pages are served over HTTP "
                f"({README_SETTINGS})."
            )
        return self

    @property
    def oauth(self) -> bool:
        """Many workspaces: installs through OAuth, tokens from the installation store."""
        return self.slack_client_id is not None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every configured secret, for the log filter."""
        values = (
            self.slack_bot_token,
            self.slack_app_token,
            self.anthropic_api_key,
            self.slack_signing_secret,
            self.slack_client_secret,
            self.slack_state_secret,
            self.token_encryption_key,
        )
        return tuple(value.get_secret_value() for value in values if value is not None)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_is_slack(cls, value: str) -> str:
        require_https(value)
        host = urlsplit(value).hostname or ""
        if not is_slack_host(host):
            raise ValueError("must be Slack's API (slack.com): the bot token is only sent there")
        return value if value.endswith("/") else value + "/"

    @field_validator("anthropic_base_url")
    @classmethod
    def _base_url_is_https(cls, value: str | None) -> str | None:
        return None if value is None else require_https(value)

    @field_validator("slack_file_hosts")
    @classmethod
    def _file_hosts_are_slack(cls, value: str) -> str:
        for entry in (h.strip() for h in value.split(",")):
            if entry and not (HOST_NAME.fullmatch(entry) and is_slack_host(entry)):
                raise ValueError(
                    "must list Slack's file host names (files.slack.com), comma-separated, "
                    "without scheme, port or wildcard: the bot token is sent to them"
                )
        return value

    @property
    def file_hosts(self) -> frozenset[str]:
        """The hosts that may receive the bot token when downloading a shared file."""
        return frozenset(h.strip().lower() for h in self.slack_file_hosts.split(",") if h.strip())

    @property
    def file_max_bytes(self) -> int:
        """The largest shared file the bot downloads, in bytes."""
        return int(self.file_max_mb * 1024 * 1024)

    @property
    def code_file_max_bytes(self) -> int:
        """The largest file code execution made that is brought back into a thread, in bytes."""
        return int(self.code_file_max_mb * 1024 * 1024)

    @property
    def history_ttl_seconds(self) -> int:
        """The thread history's time to live in Redis, in whole seconds."""
        return int(self.history_ttl_days * 86_400)

    @property
    def thinking_by_tier(self) -> dict[str, str | None]:
        """The thinking effort of each tier; None where thinking is off."""
        return {t: None if effort == "off" else effort for t, effort in self.tier_thinking.items()}

    @property
    def code_repos(self) -> dict[str, RepoSpec]:
        """The /ask-code repositories by name (empty: the feature is off)."""
        return with_links(parse_repos(self.ask_code_repos), self.ask_code_links)

    @property
    def slack_tool_names(self) -> frozenset[str]:
        """The Slack tools BOT_SLACK_TOOLS turns on (empty: none)."""
        return frozenset(part.strip() for part in self.slack_tools.split(",") if part.strip())

    @property
    def mcp_servers(self) -> tuple[ServerConfig, ...]:
        """The MCP servers of BOT_MCP_CONFIG, `${VAR}`s expanded (empty: none configured)."""
        return () if self.mcp_config is None else load_config(self.mcp_config, os.environ)

    @property
    def models_by_tier(self) -> dict[str, str]:
        """The model id configured for each tier."""
        return dict(self.tier_models)

    @property
    def prompts(self) -> tuple[tuple[str, str], ...]:
        """The suggested prompts, as (title, message) pairs."""
        return parse_prompts(self.suggested_prompts)

    @property
    def preapproved_tools(self) -> frozenset[str]:
        """Tools (as Claude sees them, `server__tool`) that run without asking the person."""
        return frozenset(t.strip() for t in self.tools_preapproved.split(",") if t.strip())

    @property
    def admins(self) -> frozenset[str]:
        """Slack user ids of the bot's admins (no budget; /claude-usage shows them everyone)."""
        return frozenset(u.strip() for u in self.admin_users.split(",") if u.strip())


def missing_for_transport(settings: Settings) -> list[str]:
    """The variables BOT_MODE and the token source need that are not set (pure)."""
    needed = {
        "SLACK_BOT_TOKEN": not settings.oauth and settings.slack_bot_token is None,
        "SLACK_APP_TOKEN": settings.bot_mode == "socket" and settings.slack_app_token is None,
        "SLACK_SIGNING_SECRET": settings.bot_mode == "http"
        and settings.slack_signing_secret is None,
        "SLACK_CLIENT_SECRET": settings.oauth and settings.slack_client_secret is None,
        "SLACK_STATE_SECRET": settings.oauth and settings.slack_state_secret is None,
        "BOT_TOKEN_ENCRYPTION_KEY": settings.oauth and settings.token_encryption_key is None,
    }
    return [variable for variable, missing in needed.items() if missing]


def required(value: SecretStr | str | None, variable: str) -> str:
    """A setting the validators already required (its value); SettingsError if it is unset."""
    if value is None:
        raise SettingsError(f"{variable} is not set ({README_SETTINGS}).")
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def token_cipher(keys: str) -> MultiFernet:
    """Fernet over BOT_TOKEN_ENCRYPTION_KEY's comma-separated keys: the first encrypts, every one
    decrypts (so a key can be rotated); ValueError for a key that is not a Fernet key."""
    parts = [part.strip() for part in keys.split(",") if part.strip()]
    if not parts:
        raise ValueError("must hold at least one Fernet key")
    try:
        return MultiFernet([Fernet(part) for part in parts])
    except (ValueError, TypeError):
        raise ValueError(
            "must be Fernet keys (32 url-safe base64-encoded bytes each), comma-separated; "
            "make one with `python -m bot new-encryption-key`"
        ) from None


class SettingsError(Exception):
    """The environment does not hold a usable configuration; the message is one clear line."""


class StoreSettings(BaseSettings):
    """Just where the data is: what `python -m bot audit` needs (no tokens)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    redis_url: str | None = Field(None, alias="REDIS_URL")
    data_dir: Path = Field(Path(".data"), alias="BOT_DATA_DIR")


def load_settings() -> Settings:
    """Read the settings from the environment, or raise SettingsError naming the variable."""
    try:
        return Settings()  # type: ignore[call-arg]  # values come from the environment
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, naming the environment variable, never echoing its value."""
    lines = []
    for error in exc.errors():
        variable = variable_of(error["loc"])
        if not error["loc"]:  # a check across variables: its message names them
            lines.append(str((error.get("ctx") or {}).get("error") or error["msg"]))
        elif error["type"] == "missing":
            lines.append(f"{variable} is not set ({README_SETTINGS}).")
        else:
            lines.append(f"{variable} is invalid: {error['msg']} ({README_SETTINGS}).")
    return "\n".join(lines)
