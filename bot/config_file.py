"""Reading config.yaml and feeds.yaml: finding the file, `${VAR}` substitution from the environment, and every
problem at once as `file:line: key: message`.

The models themselves, and what each key means, are in bot/config.py.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from yaml.nodes import Node

from bot.config import Config, ConfigError, FeedConfig
from bot.redact import HIDDEN
from bot.yamlkeys import KeyLines
from bot.yamlread import YamlProblem, compose, plain_values

CONFIG_FILE = "config.yaml"
CONFIG_ENV = "NEWSBOT_CONFIG"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class _Problem:
    """One thing wrong in a config or feeds file: the key path as shown (`feeds.2.every`), the message, and
    the path of the value in the YAML text when it differs from the key path (a feeds file that is a list)."""

    key: tuple[int | str, ...]
    message: str
    path: tuple[int | str, ...] | None = None


@dataclass(frozen=True, slots=True)
class _FromEnv:
    """A string value that took text from the environment: where, as written, and as it became."""

    key: tuple[int | str, ...]
    written: str
    value: str
    secrets: tuple[str, ...]
    """The environment values it took."""


def substitute_env(
    value: Any, unset: list[_Problem], where: tuple[int | str, ...] = (), from_env: list[_FromEnv] | None = None
) -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in every string value (not in comments or keys); a variable that
    is not set stays as written and is added to `unset`; each value that took an environment value is added
    to `from_env` (those are secrets: never printed).

    Done after YAML parsing, so an environment value is always plain text, never YAML syntax.
    """
    if isinstance(value, dict):
        return {key: substitute_env(item, unset, (*where, key), from_env) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_env(item, unset, (*where, index), from_env) for index, item in enumerate(value)]
    if not isinstance(value, str):
        return value
    taken: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            taken.append(os.environ[name])
            return os.environ[name]
        if default is not None:
            return default
        unset.append(_Problem(where, f"environment variable {name} is not set"))
        return match.group(0)

    result = _ENV_REF.sub(replace, value)
    if taken and from_env is not None:
        from_env.append(_FromEnv(where, value, result, tuple(taken)))
    return result


def _without_secrets(problem: _Problem, from_env: Sequence[_FromEnv]) -> _Problem:
    """A problem whose message never shows a value taken from the environment (pydantic quotes the value it
    refuses): the whole value at that key, and each environment value anywhere, become ***."""
    message = problem.message
    for found in from_env:
        if problem.key[: len(found.key)] == found.key and found.value:
            message = message.replace(found.value, HIDDEN)
        for secret in found.secrets:
            message = message.replace(secret, HIDDEN) if secret else message
    return _Problem(problem.key, message, problem.path)


def _describe(error: Any, key: tuple[int | str, ...]) -> str:
    if error["type"] == "extra_forbidden":
        return unknown_key(key)
    if error["type"] == "missing":
        return "this key is required"
    return str(error["msg"]).removeprefix("Value error, ")


_INTERNAL = frozenset({"base_dir", "config_file", "from_env"})
"""Config fields the loader sets, not the file."""

_REMOVED = {
    "stories.embeddings": "this key was removed with the MiniLM embeddings it switched on; stories join by "
    "meaning with `stories.meaning` (true by default, false for words, names and entities alone) instead",
}
"""Keys an older config.yaml may still hold (list indexes left out of the path), and what to write instead."""


def unknown_key(key: tuple[int | str, ...]) -> str:
    """Why a key is not taken: what replaced it if it was removed, else the nearest known key ("unknown key;
    did you mean `every`?"), or where a key of that name belongs, or the keys known at that place: a folder
    made by `newsbot init` has no config.example.yaml to check the spelling against."""
    removed = _REMOVED.get(".".join(str(part) for part in key if not isinstance(part, int)))
    if removed is not None:
        return removed
    name, known = str(key[-1]), _keys_at(key[:-1])
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
    if close:
        return f"unknown key; did you mean `{close[0]}`?"
    elsewhere = [path for path in _all_keys(Config, ()) if path.rsplit(".", 1)[-1] == name]
    if elsewhere:
        return f"unknown key here; `{name}` belongs under `{elsewhere[0].rsplit('.', 1)[0]}`"
    return f"unknown key; the keys here are {', '.join(known)}" if known else "unknown key"


def _keys_at(path: Sequence[int | str]) -> list[str]:
    """The keys the config takes at a key path (`feeds.2` -> url, name, every, ...; list indexes skipped)."""
    model: type[BaseModel] | None = Config
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part)) if model else None
        model = _model_in(field.annotation) if field else None
    return [key for key in model.model_fields if key not in _INTERNAL] if model else []


def _all_keys(model: type[BaseModel], prefix: tuple[str, ...]) -> list[str]:
    """Every key path of the config (`telegram.token`, `feeds.every` ...), outer keys first."""
    found = []
    for key, field in model.model_fields.items():
        if key in _INTERNAL:
            continue
        found.append(".".join((*prefix, key)))
        inner = _model_in(field.annotation)
        if inner is not None:
            found += _all_keys(inner, (*prefix, key))
    return found


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds: itself, or inside a list or an optional."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        if (inner := _model_in(argument)) is not None:
            return inner
    return None


def _key_path(location: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def _validation_problems(
    error: ValidationError, key: tuple[int | str, ...] = (), path: tuple[int | str, ...] = ()
) -> list[_Problem]:
    return [
        _Problem((*key, *found["loc"]), _describe(found, (*key, *found["loc"])), (*path, *found["loc"]))
        for found in error.errors()
    ]


def _config_error(source: object, root: Node | None, problems: Sequence[_Problem]) -> ConfigError:
    """Every problem as `file:line: key: message`, in the order of their lines."""
    lines = KeyLines(root)
    located = [(lines.line(p.key if p.path is None else p.path), p) for p in problems]
    located.sort(key=lambda found: found[0] or 0)
    return ConfigError(
        *(f"{source}{f':{line}' if line else ''}: {_key_path(p.key)}: {p.message}" for line, p in located)
    )


def _read_yaml(source: object, text: str) -> tuple[Node | None, Any]:
    """The composed document and its plain values; a YAML mistake, a hostile nesting or a "billion laughs"
    is one ConfigError at the line of its cause, as rule files have them (bot/yamlread.py)."""
    try:
        root = compose(text)
        return root, plain_values(root)
    except YamlProblem as exc:
        raise ConfigError(f"{source}:{exc.line}: {exc.message}") from None


def parse_config(text: str, source: str, base_dir: Path) -> Config:
    """Validate config text; every problem at once, each naming the source, its line and the key path."""
    root, loaded = _read_yaml(source, text)
    loaded = {} if loaded is None else loaded
    if not isinstance(loaded, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level")
    unset: list[_Problem] = []
    from_env: list[_FromEnv] = []
    raw = substitute_env(loaded, unset, (), from_env)
    problems = list(unset)
    for internal in sorted(_INTERNAL):
        if internal in raw:
            problems.append(_Problem((internal,), unknown_key((internal,))))
    taken = tuple((found.written, found.value, found.secrets) for found in from_env)
    raw.update(base_dir=base_dir, config_file=Path(source), from_env=taken)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        # A value still holding an unset ${VAR} is reported as that, not as whatever it fails to be.
        problems += [p for p in _validation_problems(exc) if not any(p.key[: len(u.key)] == u.key for u in unset)]
    if problems:
        raise _config_error(source, root, [_without_secrets(p, from_env) for p in problems])
    feeds_file = config.feeds_file_path
    if feeds_file is not None and (config.feeds_file is not None or feeds_file.exists()):
        extra = load_feeds_file(feeds_file)
        config = config.model_copy(update={"feeds": config.feeds + extra})
    return config


def load_feeds_file(path: Path) -> list[FeedConfig]:
    """Read a separate feeds.yaml: a list of feed entries, as under `feeds:` in the config."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the feeds file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    root, raw = _read_yaml(path, text)
    raw = [] if raw is None else raw
    under_key = isinstance(raw, dict)  # `feeds:` as in the config, or a plain list
    items = raw.get("feeds", []) if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a list of feeds")
    feeds, problems = [], []
    for index, item in enumerate(items):
        try:
            feeds.append(FeedConfig.model_validate(item))
        except ValidationError as exc:
            problems += _validation_problems(exc, ("feeds", index), ("feeds", index) if under_key else (index,))
    if problems:
        raise _config_error(path, root, problems)
    return feeds


def find_config(explicit: Path | None) -> Path | None:
    """The config file to read: `-c FILE`; else `config.yaml` in the current folder; else the file that
    $NEWSBOT_CONFIG names. None when there is none of them (the embedded defaults apply)."""
    if explicit is not None:
        return explicit
    here = Path(CONFIG_FILE)
    if here.is_file():
        return here
    named = os.environ.get(CONFIG_ENV, "").strip()
    if not named:
        return None
    path = Path(named).expanduser()
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file (${CONFIG_ENV} names it)")
    return path


def where_config_was_sought() -> str:
    """Where find_config looked, for a message saying that no config file was found."""
    return f"no -c FILE, no {Path.cwd() / CONFIG_FILE}, and ${CONFIG_ENV} is not set"


def load_config(path: Path | None) -> Config:
    """Load a config file, or the embedded defaults when no file is given."""
    if path is None:
        return Config(base_dir=Path.cwd())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the config file as UTF-8") from None
    return parse_config(text, str(path), path.resolve().parent)
