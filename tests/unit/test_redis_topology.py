"""REDIS_URL names one server, a cluster or a Sentinel group (parsed in one place), and every Lua
script of the bot names its keys in KEYS (a script that builds a key name cannot run on a
Redis Cluster: the key may live on another node)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.storage.connect import RedisUrlError, parse_redis_url

ROOT = Path(__file__).resolve().parents[2]


def test_single_server_urls_keep_their_options() -> None:
    """redis:// and rediss:// are one server; TLS options pass to redis-py."""
    target = parse_redis_url("rediss://:pw@cache.internal:6380/2?ssl_ca_certs=/ca.pem")
    assert (target.kind, target.tls, target.hosts) == ("single", True, (("cache.internal", 6380),))
    assert target.options["db"] == 2
    assert target.options["ssl_ca_certs"] == "/ca.pem"
    assert "pw" not in target.describe()


def test_cluster_urls_name_seed_nodes() -> None:
    """redis+cluster:// takes several seed nodes; BOT_REDIS_CLUSTER makes redis:// a cluster."""
    target = parse_redis_url("rediss+cluster://u:p%40ss@a:7000,b:7001,[::1]:7002")
    assert target.kind == "cluster"
    assert target.tls
    assert target.hosts == (("a", 7000), ("b", 7001), ("::1", 7002))
    assert (target.options["username"], target.options["password"]) == ("u", "p@ss")
    assert parse_redis_url("redis://clustercfg.example:6379", cluster=True).kind == "cluster"


def test_sentinel_urls_name_the_service_and_the_sentinels_password() -> None:
    """redis+sentinel://…/<service>/<db>: the password is the primary's, sentinel_password the
    Sentinels' own; the default Sentinel port is 26379."""
    target = parse_redis_url(
        "redis+sentinel://:primary@s1,s2:26380/mymaster/3?sentinel_password=sp&socket_timeout=2"
    )
    assert target.kind == "sentinel"
    assert target.hosts == (("s1", 26379), ("s2", 26380))
    assert target.service == "mymaster"
    assert target.options["db"] == 3
    assert target.options["password"] == "primary"
    assert target.options["socket_timeout"] == 2.0
    assert target.sentinel_auth == {"sentinel_password": "sp"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://x", "must start with"),
        ("redis://a:1,b:2", "several hosts"),
        ("redis+sentinel://s1:26379", "service name"),
        ("redis+cluster://a:1/3", "only database 0"),
        ("redis://secret-pass@:bad:port", "malformed host"),
    ],
)
def test_unusable_urls_are_refused_without_echoing_secrets(url: str, message: str) -> None:
    """A REDIS_URL the bot cannot use is refused with a message that says why."""
    with pytest.raises(RedisUrlError, match=message) as caught:
        parse_redis_url(url)
    assert "secret-pass" not in str(caught.value)


CALL = re.compile(r"redis\.call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?")
KEYLESS = {"TIME"}
DECLARED = re.compile(r"KEYS\[\d+\]|key")  # holds.py's helpers take `key`, given KEYS[n]


def lua_scripts() -> list[tuple[str, str]]:
    """Every string constant under bot/ that holds Lua calling Redis: (where, text)."""
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and "redis.call(" in node.value:
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


def test_every_lua_script_names_its_keys_in_KEYS() -> None:
    """Each redis.call in the bot's Lua takes its key from KEYS[n] (or a local function's
    parameter that callers fill from KEYS), never a name built from ARGV, a string or `..`, so
    every key is declared (and must share the script's hash slot)."""
    scripts = lua_scripts()
    assert len(scripts) >= 8  # locks, journal, budget, holds, batch leader: all found
    built = [
        f"{where}: {command} {key}"
        for where, text in scripts
        for command, key in CALL.findall(text)
        if command.upper() not in KEYLESS and not DECLARED.fullmatch(key.strip())
    ]
    assert built == []
