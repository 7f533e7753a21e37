"""The bot's one configuration file (YAML), read into typed, validated values.

Secrets never live here: Slack tokens and the OneBot access token come from the
environment. Every problem names the key and what is wrong with it, and stops
the start; unknown keys are errors too, because a misspelt key silently
ignored is a setting that does not do what its author thinks.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, Optional, get_args, get_origin, get_type_hints

import yaml

from ..matching.types import Thresholds

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PACK_DIR = REPO_ROOT / "knowledge" / "docker-faq"


class ConfigError(ValueError):
    def __init__(self, key: str, problem: str, source: str = ""):
        self.key, self.problem, self.source = key, problem, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}config key '{key}': {problem}")


@dataclass(frozen=True)
class RateLimit:
    per_minute: int = 6  # answers per channel/group per minute
    burst: int = 3


@dataclass(frozen=True)
class Maintainers:
    slack: tuple[str, ...] = ()  # Slack user ids (U…)
    qq: tuple[str, ...] = ()  # QQ numbers, as strings
    qq_group_admins: bool = False  # group owners/admins (sender.role) count as maintainers
    slack_usergroup: str = ""  # a Slack user group id (S…) whose members count as maintainers


@dataclass(frozen=True)
class Learning:
    slack_teach_emoji: str = "books"
    slack_wrong_emoji: str = "x"
    qq_teach_emoji: str = "76"  # QQ face id (76 = 赞 / thumbs up)
    qq_wrong_emoji: str = "123"
    max_question_chars: int = 500
    max_answer_chars: int = 2000
    first_learned_n: int = 1001  # learned entries are numbered from here (or above the packs' highest n)
    remembered_events: int = 1000  # latest gesture keys kept to recognise a redelivered event
    refit_delay_s: float = 2.0  # after a burst of teaching, refit the index in the background (0: at once, in line)
    # a suggested alias/negative (from picks, votes, shares) confirmed by this many distinct people applies by itself
    auto_apply_people: int = 3


@dataclass(frozen=True)
class ChannelPacks:
    """The packs one Slack channel is answered from (pack folder names)."""

    channel: str = ""
    packs: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupPacks:
    """The packs one QQ group is answered from (pack folder names)."""

    group: str = ""
    packs: tuple[str, ...] = ()


def packs_for(table: tuple, where: str) -> Optional[frozenset[str]]:
    """The packs configured for a channel or group; None means every loaded pack."""
    for row in table:
        if str(getattr(row, "channel", "") or getattr(row, "group", "")) == str(where):
            return frozenset(row.packs)
    return None


@dataclass(frozen=True)
class SlackConfig:
    enabled: bool = False
    mode: str = "socket"  # socket | http
    host: str = "0.0.0.0"
    port: int = 3000
    ambient_channels: tuple[str, ...] = ()
    # channels answered from some of the packs only (default: every channel, every pack)
    channel_packs: tuple[ChannelPacks, ...] = ()
    rate_limit: RateLimit = RateLimit()
    # overrides for running against a mock Slack; normally taken from SLACK_API_URL
    api_url: str = ""
    # threads that answer after each ack; Slack API calls block, so a few run at once
    workers: int = 8


@dataclass(frozen=True)
class QQConfig:
    enabled: bool = False
    ws_url: str = ""  # forward WebSocket to the OneBot implementation
    reverse_host: str = ""  # listen for a reverse WebSocket when set
    reverse_port: int = 8081
    command_prefixes: tuple[str, ...] = ("/faq", "#faq")
    ambient_groups: tuple[str, ...] = ()
    # groups answered from some of the packs only (default: every group, every pack)
    group_packs: tuple[GroupPacks, ...] = ()
    rate_limit: RateLimit = RateLimit()
    send_interval_s: float = 1.0  # minimum gap between two messages to one group
    request_timeout_s: float = 10.0
    reconnect_max_s: float = 30.0
    # other bots in the groups (QQ numbers): never answered, so two bots cannot talk in a loop
    ignore_users: tuple[str, ...] = ()
    # how long a "did you mean" list can still be picked from by number
    candidates_ttl_s: float = 600.0
    # replies waiting for one group's send slot beyond this many are dropped (and counted):
    # a flood must not turn into minutes of stale answers, or an unbounded queue
    send_backlog: int = 20


@dataclass(frozen=True)
class HttpConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9090  # /healthz and /metrics


@dataclass(frozen=True)
class LogConfig:
    format: str = "plain"  # plain | json
    level: str = "INFO"


@dataclass(frozen=True)
class DatabaseConfig:
    # empty: SQLite in data_dir; postgresql://user@host/db to share one database between processes.
    # The environment variable FAQBOT_DATABASE_URL wins (it may hold a password).
    url: str = ""
    # how often each process checks whether another one changed the learned knowledge
    poll_interval_s: float = 0.3
    # claim each Slack event / QQ message in the database so one process answers it:
    # auto = when the database is PostgreSQL (shared), always, or never
    claim_events: str = "auto"


@dataclass(frozen=True)
class QuestionLogConfig:
    enabled: bool = True
    retention_days: int = 90  # older questions are deleted (checked hourly)
    keep_user_ids: bool = False  # store who asked (off: the log holds no user ids)
    # an overheard message is logged when its best candidate reaches this confidence but was not answered
    log_ambient_near_misses_above: float = 0.15
    queue_size: int = 10000  # questions waiting for the background writer; beyond this they are dropped and counted


@dataclass(frozen=True)
class StalenessConfig:
    max_age_days: int = 365  # an entry reviewed longer ago than this (or never) is listed for review
    down_ratio: float = 0.5  # ... and so is one whose 👎 share is above this,
    min_votes: int = 3  # once it has at least this many votes


@dataclass(frozen=True)
class WebConfig:
    """The maintainers' page (bot/web): off unless enabled; sign-in token from $FAQBOT_ADMIN_TOKEN."""

    enabled: bool = False
    host: str = "127.0.0.1"  # behind the operator's TLS proxy
    port: int = 8088
    secure_cookies: bool = True  # session cookie only over HTTPS (the proxy); false for plain-HTTP testing
    session_hours: float = 12.0


@dataclass(frozen=True)
class Config:
    packs: tuple[str, ...] = (str(DEFAULT_PACK_DIR),)
    data_dir: str = "data"
    thresholds: Thresholds = Thresholds()
    maintainers: Maintainers = Maintainers()
    learning: Learning = Learning()
    slack: SlackConfig = SlackConfig()
    qq: QQConfig = QQConfig()
    http: HttpConfig = HttpConfig()
    log: LogConfig = LogConfig()
    database: DatabaseConfig = DatabaseConfig()
    question_log: QuestionLogConfig = QuestionLogConfig()
    staleness: StalenessConfig = StalenessConfig()
    web: WebConfig = WebConfig()
    reload: bool = True  # watch pack folders and reload on change
    shutdown_grace_s: float = 10.0


_CHOICES = {"database.claim_events": ("auto", "always", "never"), "slack.mode": ("socket", "http"), "log.format": ("plain", "json")}


def _coerce(value: Any, hint: Any, key: str, source: str) -> Any:
    origin = get_origin(hint)
    if is_dataclass(hint):
        return _build(hint, value, key, source)
    if origin is tuple:
        if value is None:
            return ()
        if isinstance(value, (str, int)):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(key, f"must be a list, not {type(value).__name__}", source)
        inner = get_args(hint)[0]
        return tuple(_coerce(v, inner, f"{key}[{i}]", source) for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, not {value!r}", source)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be a whole number, not {value!r}", source)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"must be a number, not {value!r}", source)
        return float(value)
    if hint is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(key, f"must be text, not {type(value).__name__}", source)
        return str(value)
    return value


def _build(cls: Any, data: Any, prefix: str, source: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(prefix or "(top level)", "must be a mapping", source)
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    for key in data:
        if key not in names:
            full = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(full, f"unknown key (known: {', '.join(sorted(names))})", source)
    values = {}
    for name in data:
        full = f"{prefix}.{name}" if prefix else name
        values[name] = _coerce(data[name], hints[name], full, source)
        if full in _CHOICES and values[name] not in _CHOICES[full]:
            raise ConfigError(full, f"must be one of {', '.join(_CHOICES[full])}, not {values[name]!r}", source)
    return cls(**values)


def _check(config: Config, source: str) -> None:
    t = config.thresholds
    for name in ("reply", "ambient", "suggest", "margin", "decisive"):
        value = getattr(t, name)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"thresholds.{name}", f"must be between 0 and 1, not {value}", source)
    if t.suggest > t.reply:
        raise ConfigError("thresholds.suggest", f"must not be above thresholds.reply ({t.reply})", source)
    if t.ambient < t.reply:
        raise ConfigError("thresholds.ambient", f"must not be below thresholds.reply ({t.reply}): ambient answers must be surer", source)
    if not 1 <= t.max_candidates <= 10:
        raise ConfigError("thresholds.max_candidates", "must be between 1 and 10", source)
    if not config.packs:
        raise ConfigError("packs", "needs at least one pack folder", source)
    for port_key, port in (("slack.port", config.slack.port), ("qq.reverse_port", config.qq.reverse_port), ("http.port", config.http.port)):
        if not 0 <= port <= 65535:
            raise ConfigError(port_key, f"must be a TCP port (0-65535), not {port}", source)
    for key, rl in (("slack.rate_limit", config.slack.rate_limit), ("qq.rate_limit", config.qq.rate_limit)):
        if rl.per_minute < 1 or rl.burst < 1:
            raise ConfigError(key, "per_minute and burst must be at least 1", source)
    if config.qq.enabled and not (config.qq.ws_url or config.qq.reverse_host):
        raise ConfigError("qq.ws_url", "QQ is enabled but neither qq.ws_url nor qq.reverse_host is set", source)
    if config.database.poll_interval_s <= 0:
        raise ConfigError("database.poll_interval_s", "must be above 0", source)
    ql = config.question_log
    if ql.retention_days < 1 or ql.queue_size < 1 or not 0.0 <= ql.log_ambient_near_misses_above <= 1.0:
        raise ConfigError("question_log", "retention_days and queue_size must be at least 1, "
                          "log_ambient_near_misses_above between 0 and 1", source)
    if config.qq.ws_url and not config.qq.ws_url.startswith(("ws://", "wss://")):
        raise ConfigError("qq.ws_url", f"must start with ws:// or wss://, not {config.qq.ws_url!r}", source)
    _check_pack_tables(config, source)
    _check_ranges(config, source)


def _check_pack_tables(config: Config, source: str) -> None:
    """slack.channel_packs / qq.group_packs name loaded packs by folder name, once per channel."""
    loaded = {Path(p).name for p in config.packs}
    for key, table, where in (("slack.channel_packs", config.slack.channel_packs, "channel"), ("qq.group_packs", config.qq.group_packs, "group")):
        seen: set[str] = set()
        for i, row in enumerate(table):
            name = str(getattr(row, where))
            if not name:
                raise ConfigError(f"{key}[{i}].{where}", f"needs the {where} id", source)
            if name in seen:
                raise ConfigError(f"{key}[{i}].{where}", f"{name} is listed twice", source)
            seen.add(name)
            unknown = [p for p in row.packs if p not in loaded]
            if not row.packs or unknown:
                raise ConfigError(
                    f"{key}[{i}].packs", f"must name loaded packs by folder name ({', '.join(sorted(loaded))}), not {unknown or 'nothing'}", source
                )


# settings that break the bot outside these ranges: a timeout of 0 never connects, a
# negative grace period makes the exit code a race, a NaN compares false with everything
_POSITIVE = (
    "qq.request_timeout_s", "qq.reconnect_max_s", "qq.candidates_ttl_s", "qq.send_backlog", "slack.workers",
    "learning.max_question_chars", "learning.max_answer_chars", "learning.remembered_events", "learning.auto_apply_people",
    "web.session_hours", "staleness.max_age_days", "staleness.min_votes",
)
_NOT_NEGATIVE = ("shutdown_grace_s", "qq.send_interval_s", "learning.refit_delay_s", "learning.first_learned_n")
_FRACTIONS = ("staleness.down_ratio",)


def _setting(config: Config, key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part, None)
    return value


def _check_ranges(config: Config, source: str) -> None:
    for keys, ok, rule in (
        (_POSITIVE, lambda v: v > 0, "must be above 0"),
        (_NOT_NEGATIVE, lambda v: v >= 0, "must not be negative"),
        (_FRACTIONS, lambda v: 0 <= v <= 1, "must be between 0 and 1"),
    ):
        for key in keys:
            value = _setting(config, key)
            if value is None:  # a setting this version does not have
                continue
            if not math.isfinite(value) or not ok(value):
                raise ConfigError(key, f"{rule}, not {value}", source)


def check_data_dir(config: Config) -> None:
    """Refuse, at start, a data directory the bot cannot write: otherwise the first
    teach fails, long after the operator looked. Creates it when missing."""
    folder = Path(config.data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".faqbot-write-check-"):
            pass
    except OSError as exc:
        raise ConfigError("data_dir", f"cannot write to {folder}: {exc.strerror or exc}") from exc


def parse_config(data: Any, source: str = "", base_dir: Optional[Path] = None) -> Config:
    config = _build(Config, data, "", source)
    if base_dir is not None:
        # relative paths in a config file are relative to that file, not to the working directory
        packs = tuple(str((base_dir / p).resolve()) if not Path(p).is_absolute() else p for p in config.packs)
        data_dir = config.data_dir if Path(config.data_dir).is_absolute() else str((base_dir / config.data_dir).resolve())
        config = Config(**{**{f.name: getattr(config, f.name) for f in fields(Config)}, "packs": packs, "data_dir": data_dir})
    _check(config, source)
    return config


CONFIG_ENV = "FAQBOT_CONFIG"
DEFAULT_CONFIG_FILE = "faqbot.yaml"


class ConfigFileError(ConfigError):
    """The configuration file itself cannot be used: missing, unreadable or not YAML."""

    def __init__(self, message: str, source: str):
        self.key, self.problem, self.source = "(file)", message, source
        ValueError.__init__(self, message)


def find_config(given: Optional[str | Path] = None) -> Optional[str]:
    """Which file every command reads: --config, else $FAQBOT_CONFIG, else ./faqbot.yaml
    when there is one, else None (the built-in defaults)."""
    if given:
        return str(given)
    if os.environ.get(CONFIG_ENV):
        return os.environ[CONFIG_ENV]
    return DEFAULT_CONFIG_FILE if Path(DEFAULT_CONFIG_FILE).is_file() else None


def load_config(path: Optional[str | Path] = None) -> Config:
    """Read the configuration the way every command does (see find_config)."""
    path = find_config(path)
    if not path:
        config = Config()
        _check(config, "")
        return config
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigFileError(f"config file not found: {path}", str(path)) from exc
    except OSError as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc.strerror or exc}", str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ConfigFileError(f"{path}: bad YAML{line}: {getattr(exc, 'problem', exc)}", str(path)) from exc
    return parse_config(data or {}, str(path), path.parent)


def with_thresholds(config: Config, **changes: float) -> Config:
    """`config` with some thresholds overridden (ask/eval's --threshold and --ambient),
    each checked as the configuration's own would be (0–1; nan is not a number)."""
    values = {f.name: getattr(config.thresholds, f.name) for f in fields(Thresholds)}
    for name, value in changes.items():
        if value is not None and not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
            raise ConfigError(f"thresholds.{name}", f"must be between 0 and 1, not {value}", "command line")
    values.update({k: v for k, v in changes.items() if v is not None})
    return Config(**{**{f.name: getattr(config, f.name) for f in fields(Config)}, "thresholds": Thresholds(**values)})
