"""Slack's own method specs, the app manifest and the events list, loaded once and cached.

Validation of call arguments against a method spec also lives here.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from testing.paths import SHARED

SPECS_ROOT = Path(os.environ.get("FAKE_SLACK_SPECS_DIR", SHARED / "slack"))
# Specs of methods shared/ lacks (conversations.members), in the same format; shared/ wins.
EXTRA_SPECS = Path(__file__).resolve().parent / "specs"
MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.yml"
HTTP_MANIFEST_PATH = MANIFEST_PATH.with_name("manifest.http.yml")

ANY = "any"
BOOL_STRINGS = frozenset({"true", "false", "1", "0"})
_INT_RE = re.compile(r"-?\d+")
CONVERSATION_FAMILIES = frozenset({"channels", "groups", "im", "mpim"})
# Accepted by every method: slack_sdk sends `team_id` as a default param (org-wide apps).
GLOBAL_ARGS = frozenset({"team_id"})


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """The JSON types a method argument may take; `json_encoded` = a JSON value sent as text."""

    kinds: frozenset[str]
    json_encoded: bool


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    required: tuple[str, ...]
    args: Mapping[str, ArgSpec]
    bot_scopes: tuple[str, ...]
    json_input: bool
    errors: frozenset[str]
    tier: str

    def error(self, *preferred: str, fallback: str = "invalid_arguments") -> str:
        """The first of `preferred` this method documents, else `fallback`."""
        return next((code for code in preferred if code in self.errors), fallback)


@dataclass(frozen=True, slots=True)
class AppManifest:
    bot_scopes: frozenset[str]
    bot_events: frozenset[str]
    commands: frozenset[str]
    shortcuts: frozenset[tuple[str, str]] = frozenset()  # (callback_id, "message" | "global")
    socket_mode: bool = True
    request_url: str | None = None  # where Slack posts events in HTTP mode


def _kinds(prop: Mapping[str, Any]) -> frozenset[str]:
    if "type" in prop:
        kind = prop["type"]
        return frozenset(kind if isinstance(kind, list) else [kind])
    if "anyOf" in prop or "oneOf" in prop:
        union: set[str] = set()
        for sub in prop.get("anyOf") or prop.get("oneOf") or []:
            union |= _kinds(sub)
        return frozenset({ANY}) if ANY in union or not union else frozenset(union)
    if "allOf" in prop:
        narrowed = [k for k in (_kinds(sub) for sub in prop["allOf"]) if ANY not in k]
        return narrowed[0] if narrowed else frozenset({ANY})
    return frozenset({ANY})


def _arg_spec(prop: Mapping[str, Any]) -> ArgSpec:
    desc = str(prop.get("desc", ""))
    return ArgSpec(kinds=_kinds(prop), json_encoded="JSON" in desc or "json" in desc)


def _method_spec(name: str, raw: Mapping[str, Any]) -> MethodSpec:
    args = raw.get("args") or {}
    props = args.get("properties") or {}
    return MethodSpec(
        name=name,
        required=tuple(a for a in args.get("required") or [] if a != "token"),
        args={key: _arg_spec(prop) for key, prop in props.items()},
        bot_scopes=tuple((raw.get("scope") or {}).get("bot") or []),
        json_input=bool(raw.get("json_input_supported")),
        errors=frozenset((raw.get("errors") or {}).keys()),
        tier=str(raw.get("rate_limits", "")),
    )


# Methods ../shared lacks, written down from Slack's reference (each file names its source).
LOCAL_SPECS_ROOT = EXTRA_SPECS  # specs shared/ lacks (conversations.members, oauth.v2.access)


@functools.cache
def load_specs(root: Path = SPECS_ROOT) -> Mapping[str, MethodSpec]:
    """Every `<method>.json` under root/methods (and the local additions), keyed by name."""
    specs: dict[str, MethodSpec] = {}
    for folder in (EXTRA_SPECS, root):
        for path in sorted((folder / "methods").glob("*.json")):
            name = path.name.removesuffix(".json")
            specs[name] = _method_spec(name, json.loads(path.read_text(encoding="utf-8")))
    return specs


@functools.cache
def load_event_scopes(root: Path = SPECS_ROOT) -> Mapping[str, tuple[str, ...]]:
    """Event name (e.g. `message.im`, `app_mention`) to the scopes it needs."""
    raw = json.loads((root / "events" / "events.json").read_text(encoding="utf-8"))
    return {e["name"]: tuple(e.get("scopes") or []) for e in raw}


@functools.cache
def load_manifest(path: Path = MANIFEST_PATH) -> AppManifest:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    scopes = ((raw.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    settings = raw.get("settings") or {}
    subscriptions = settings.get("event_subscriptions") or {}
    commands = (raw.get("features") or {}).get("slash_commands") or []
    shortcuts = (raw.get("features") or {}).get("shortcuts") or []
    return AppManifest(
        bot_scopes=frozenset(scopes),
        bot_events=frozenset(subscriptions.get("bot_events") or []),
        commands=frozenset(c["command"] for c in commands),
        shortcuts=frozenset((s["callback_id"], s["type"]) for s in shortcuts),
        socket_mode=bool(settings.get("socket_mode_enabled")),
        request_url=subscriptions.get("request_url"),
    )


def scope_granted(scope: str, granted: frozenset[str]) -> bool:
    # events.json spells one scope `app_mentions.read`; the real scope is `app_mentions:read`.
    return scope in granted or scope.replace(".", ":") in granted


def missing_scope(spec: MethodSpec, granted: frozenset[str], family: str | None) -> dict[str, str]:
    """Empty when allowed; else the extra fields of a `missing_scope` error."""
    needed = spec.bot_scopes
    if not needed:
        return {}
    if family is not None and all(s.split(":")[0] in CONVERSATION_FAMILIES for s in needed):
        needed = tuple(s for s in needed if s.split(":")[0] == family) or needed
    if any(s in granted for s in needed):
        return {}
    return {"needed": ",".join(needed), "provided": ",".join(sorted(granted))}


def argument_problems(
    spec: MethodSpec, args: Mapping[str, Any], json_keys: frozenset[str]
) -> list[str]:
    """Unknown arguments and values of the wrong type (tolerated, reported as violations)."""
    problems: list[str] = []
    for key, value in args.items():
        arg = spec.args.get(key)
        if arg is None and key in GLOBAL_ARGS:
            continue
        if arg is None:
            problems.append(f"{spec.name}: unknown argument {key!r}")
        elif not _type_ok(arg, value, key in json_keys):
            problems.append(
                f"{spec.name}: argument {key!r}={value!r:.80} is not of type {sorted(arg.kinds)}"
            )
    return problems


def missing_required(spec: MethodSpec, args: Mapping[str, Any]) -> list[str]:
    return [key for key in spec.required if args.get(key) is None]


def _type_ok(arg: ArgSpec, value: Any, from_json: bool) -> bool:
    if ANY in arg.kinds:
        return True
    if from_json:
        return _json_value_ok(arg, value)
    return isinstance(value, str) and _text_value_ok(arg, value)


def _text_value_ok(arg: ArgSpec, value: str) -> bool:
    kinds = arg.kinds
    if "string" in kinds:
        return True
    if "boolean" in kinds and value.lower() in BOOL_STRINGS:
        return True
    if ("integer" in kinds or "number" in kinds) and _is_number(value, "integer" not in kinds):
        return True
    if "array" in kinds:
        return isinstance(_try_json(value), list) or bool(value.strip())
    return "object" in kinds and isinstance(_try_json(value), dict)


def _json_value_ok(arg: ArgSpec, value: Any) -> bool:
    kinds = arg.kinds
    if value is None:
        return "null" in kinds
    if isinstance(value, bool):
        return "boolean" in kinds
    if isinstance(value, int | float):
        return "number" in kinds or ("integer" in kinds and isinstance(value, int))
    if isinstance(value, str):
        return _text_value_ok(arg, value)
    encoded_ok = arg.json_encoded and "string" in kinds
    if isinstance(value, list):
        return "array" in kinds or encoded_ok
    if isinstance(value, dict):
        return "object" in kinds or encoded_ok
    return False


def _is_number(value: str, allow_float: bool) -> bool:
    if _INT_RE.fullmatch(value):
        return True
    if not allow_float:
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _try_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return None
