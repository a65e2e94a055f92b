"""The base of every config model, the loader and the JSON Schema registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from iwt_helpers import paths
from iwt_helpers.errors import ConfigError

M = TypeVar("M", bound="ConfigModel")

# file name in data/reference -> its model; filled by `register` as the model modules are imported
REGISTRY: dict[str, type[ConfigModel]] = {}


class ConfigModel(BaseModel):
    """Strict by default: an unknown key is an error (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def register(file_name: str):
    """Class decorator: `file_name` (in data/reference) is validated by this model."""
    def deco(cls: type[M]) -> type[M]:
        REGISTRY[file_name] = cls
        return cls
    return deco


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _value(raw: Any, loc: tuple) -> Any:
    cur = raw
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return "(missing)"
    return cur


def validate(raw: Any, model: type[M], source: str | Path) -> M:
    """`raw` (already parsed) as `model`, or ConfigError naming source, key path and value."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors()[:10]:
            loc = tuple(err.get("loc", ()))
            value = _value(raw, loc) if err.get("type") != "missing" else "(missing)"
            shown = repr(value)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            lines.append(f"  {_where(loc)}: {err['msg']} (found {shown})")
        more = f"\n  ... and {exc.error_count() - 10} more" if exc.error_count() > 10 else ""
        raise ConfigError(f"{source}: does not match the expected layout:\n" + "\n".join(lines) + more) from None


def load(name_or_path: str | Path, model: type[M]) -> M:
    """Read a YAML file (a bare name is looked up in data/reference) and validate it as `model`."""
    path = Path(name_or_path)
    if not path.is_absolute() and path.parent == Path("."):
        path = paths.reference(str(name_or_path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: is not valid YAML ({exc})") from None
    return validate(raw if raw is not None else {}, model, path)


def schemas() -> dict[str, dict]:
    """JSON Schema of every registered model, keyed by the schema's file name in docs/schemas/."""
    return {Path(name).stem + ".schema.json": model.model_json_schema() for name, model in sorted(REGISTRY.items())}
