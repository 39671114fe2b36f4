"""evtgen's configuration files: a platform team's defaults without flags.

Two files, both optional, both the same shape:
- per user: $EVTGEN_CONFIG, else $XDG_CONFIG_HOME/evtgen/config.yml
  (else ~/.config/evtgen/config.yml);
- per repo: the nearest `.evtgen.yml` in the working directory or above it.

Precedence, strongest first: the command line, the repo file, the user file, the
template's own defaults. `answers` merge key by key.

`trusted` (which templates may run code on this machine) is read from the user's
file only: a repo file arrives with a clone or sits in a shared parent directory, so
its `trusted:` would let whoever wrote it run code as the user. It is ignored, and
said so (`Config.ignored`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtgen.errors import InputProblems

REPO_FILE = ".evtgen.yml"
KEYS = ("template", "vcs_ref", "answers", "trusted", "compatibility", "subject_strategy")


@dataclass(frozen=True)
class Config:
    template: str | None = None  # the default --template
    vcs_ref: str | None = None  # the default --vcs-ref
    answers: dict[str, Any] = field(default_factory=dict)  # default answers, as --data
    trusted: tuple[str, ...] = ()  # template sources allowed to run their own code
    compatibility: str | None = None  # the default --mode of `schema check` and `schema register`
    subject_strategy: str | None = None  # the default --subject-strategy of the registry commands
    files: tuple[str, ...] = ()  # the files read, weakest first
    origins: dict[str, str] = field(default_factory=dict)  # setting -> the file it came from
    ignored: tuple[str, ...] = ()  # what a file said that was not honoured, and why

    def trusts(self, source: str) -> bool:
        """Copier's rule: an entry ending in `/` trusts everything under it; any other
        entry trusts exactly that source."""
        return any(
            source.startswith(entry) if entry.endswith("/") else source == entry
            for entry in self.trusted
        )


def user_config_path() -> Path:
    if explicit := os.environ.get("EVTGEN_CONFIG"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "evtgen" / "config.yml"


def repo_config_path(start: Path) -> Path | None:
    for directory in [start.absolute(), *start.absolute().parents]:
        if (directory / REPO_FILE).is_file():
            return directory / REPO_FILE
    return None


def load_config(start: Path | None = None) -> Config:
    """The user file, then the repo file nearest to `start` (default: the cwd)."""
    config = Config()
    user = user_config_path()
    if user.is_file():
        config = _layer(config, user, trusted_file=True)
    repo = repo_config_path(start or Path.cwd())
    if repo is not None and repo.resolve() != user.resolve():
        config = _layer(config, repo, trusted_file=False)
    return config


def _layer(base: Config, path: Path, *, trusted_file: bool) -> Config:
    from evtgen.yamllines import LineMap, YamlSyntaxError, load, plain

    try:
        data = load(path.read_text(encoding="utf-8"))
    except YamlSyntaxError as err:
        raise InputProblems(f"{path}:{err.line}: {err.message}; fix the YAML") from err
    except (OSError, UnicodeDecodeError) as err:
        raise InputProblems(f"{path}: cannot read it: {err}") from err
    if data is None:
        return base
    if not isinstance(data, LineMap):
        raise InputProblems(f"{path}:1: expected a mapping with keys {', '.join(KEYS)}")
    problems = [
        f"{path}:{data.line_of(key)}: unknown key {key!r}; known keys: {', '.join(KEYS)}"
        for key in data
        if key not in KEYS
    ]
    for key in ("template", "vcs_ref"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{path}:{data.line_of(key)}: `{key}` must be a string")
    answers = data.get("answers", {})
    if not isinstance(answers, dict) or not all(isinstance(k, str) for k in answers):
        problems.append(f"{path}:{data.line_of('answers')}: `answers` must map names to values")
    trusted = data.get("trusted", [])
    if not isinstance(trusted, list) or not all(isinstance(t, str) for t in trusted):
        problems.append(f"{path}:{data.line_of('trusted')}: `trusted` must list template sources")
    problems += _schema_keys(data, path)
    if problems:
        raise InputProblems("\n".join(problems))
    ignored = base.ignored
    if trusted and not trusted_file:
        ignored += (
            f"{path}:{data.line_of('trusted')}: `trusted` is read only from your own "
            f"config ({user_config_path()}) or --trust, never from a repo's or a parent "
            "directory's .evtgen.yml; ignored",
        )
        trusted = []
    origins = dict(base.origins)
    for key in KEYS:
        if key in data and (key != "trusted" or trusted):
            origins[key] = str(path)
    return Config(
        template=data.get("template", base.template),
        vcs_ref=data.get("vcs_ref", base.vcs_ref),
        answers={**base.answers, **plain(answers)},
        trusted=base.trusted + tuple(_expand(t) for t in trusted),
        compatibility=_mode(data.get("compatibility")) or base.compatibility,
        subject_strategy=data.get("subject_strategy", base.subject_strategy),
        files=(*base.files, str(path)),
        origins=origins,
        ignored=ignored,
    )


def _mode(value: Any) -> str | None:
    return value.strip().upper().replace("-", "_") if isinstance(value, str) else None


def _schema_keys(data: Any, path: Path) -> list[str]:
    from evtgen.commands.schema_check import MODES
    from evtgen.registry import STRATEGIES

    problems = []
    if "compatibility" in data and _mode(data["compatibility"]) not in MODES:
        problems.append(
            f"{path}:{data.line_of('compatibility')}: `compatibility` must be one of "
            + ", ".join(MODES)
        )
    if "subject_strategy" in data and data["subject_strategy"] not in STRATEGIES:
        problems.append(
            f"{path}:{data.line_of('subject_strategy')}: `subject_strategy` must be one of "
            + ", ".join(STRATEGIES)
        )
    return problems


def _expand(source: str) -> str:
    return os.path.expanduser(source) if source.startswith("~") else source
