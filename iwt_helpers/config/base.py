"""The base of every config model, the loader, the cached accessors and the JSON Schema registry."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, StringConstraints, ValidationError, field_validator

from iwt_helpers import paths
from iwt_helpers.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

# file name in data/reference -> its model; filled by `register` as the model modules are imported
REGISTRY: dict[str, type[BaseModel]] = {}
SCHEMA_DIR = paths.DOCS / "schemas"
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)     # libyaml's safe loader where PyYAML has it
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class ConfigModel(BaseModel):
    """Strict by default: an unknown key is an error (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def text_problems(cls, text: str) -> list[tuple[int, str, str]]:
        """Problems in the file's text itself (line, what is wrong, the text found), for rules a
        parsed value cannot show (comments count too); none by default."""
        return []


class ConfigRoot(RootModel):
    """A file that is one mapping with keys of its own (e.g. ICB codes), not fixed fields."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def text_problems(cls, text: str) -> list[tuple[int, str, str]]:
        return []


class Invalid(ValueError):
    """Raised by a validator: ``at`` is the key path below the field or model it validates, ``value``
    what was found there (default: looked up along ``at``), ``key`` when the key itself is wrong."""

    def __init__(self, message: str, at: tuple = (), value: Any = ..., key: bool = False):
        super().__init__(message)
        self.at, self.value, self.key = tuple(at), value, key


def register(file_name: str):
    """Class decorator: `file_name` (in data/reference) is validated by this model."""
    def deco(cls: type[M]) -> type[M]:
        REGISTRY[file_name] = cls
        return cls
    return deco


# --------------------------------------------------------------------------- types shared by the models

def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be blank")
    return v


Text = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]
"""A non-blank string (kept as written)."""
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
"""A code as tables hold it: lower case, digits and underscores."""
Number = Annotated[float, AfterValidator(_finite)]
Share = Annotated[float, Field(ge=0, le=1)]
Pct = Annotated[float, Field(ge=0, le=100)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def unique(values, what: str, at_key: str | None = None, at: tuple = ()) -> None:
    """Raise :class:`Invalid` at the second use of a value: ``at`` is the path of the list, ``at_key``
    the field of each entry that holds the value."""
    seen = set()
    for i, v in enumerate(values):
        if v in seen:
            raise Invalid(f"{what} {v!r} is used twice", at=(*at, i, at_key) if at_key else (*at, i), value=v)
        seen.add(v)


def unique_field(field: str, what: str, key: str):
    """A field validator for a model: each entry of the list ``field`` has its own ``key`` (e.g. ``id``);
    the second use of a value is refused at its place (``unique_field("kpis", "KPI id", "id")``)."""
    def check(cls, v: list) -> list:
        unique([getattr(x, key) for x in v], what, key)
        return v
    return field_validator(field)(classmethod(check))


def context(info) -> dict:
    """The validation context (what a caller passed to :func:`validate`), or an empty one."""
    return info.context if isinstance(getattr(info, "context", None), dict) else {}


# --------------------------------------------------------------------------- errors naming file, key and value

def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _dig(value: Any, at: tuple) -> Any:
    for part in at:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(err: dict) -> str:
    loc = tuple(err.get("loc", ()))
    msg, value, key = err["msg"], err.get("input"), False
    if loc and loc[-1] == "[key]":                  # a mapping's key, not its value, is wrong
        loc, key = loc[:-1], True
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, Invalid):
        loc, msg, key = loc + cause.at, str(cause), cause.key
        value = _dig(value, cause.at) if cause.value is ... else cause.value
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    where = _where(loc) + (" (key)" if key else "")
    shown = "(missing)" if err.get("type") == "missing" else _shown(value)
    return f"  {where}: {msg} (found {shown})"


def validate(raw: Any, model: type[M], source: str | Path, context: dict | None = None) -> M:
    """`raw` (already parsed) as `model`, or ConfigError naming source, key path and value.

    ``context`` is passed to the validators (e.g. the item ids a case-study library may tag, where
    a caller checks against other ones than the committed item bank's)."""
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        lines = [_describe(err) for err in exc.errors()[:10]]
        more = f"\n  ... and {exc.error_count() - 10} more" if exc.error_count() > 10 else ""
        raise ConfigError(f"{source}: does not match the expected layout:\n" + "\n".join(lines) + more) from None


def _path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if not path.is_absolute() and path.parent == Path("."):
        path = paths.reference(str(name_or_path))
    return path


def read_yaml(name_or_path: str | Path) -> tuple[Any, str]:
    """(parsed YAML, text) of a file (a bare name is looked up in data/reference), or ConfigError."""
    path = _path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: is not UTF-8 text (byte {exc.start})") from None
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: is not valid YAML ({exc})") from None
    return raw, text


def check_text(text: str, model: type[BaseModel], source: str | Path) -> None:
    problems = getattr(model, "text_problems", lambda _text: [])(text)
    if problems:
        line, what, found = problems[0]
        raise ConfigError(f"{source}, line {line}: {what} (found {_shown(found)})")


def load(name_or_path: str | Path, model: type[M], context: dict | None = None) -> M:
    """Read a YAML file (a bare name is looked up in data/reference) and validate it as `model`."""
    path = _path(name_or_path)
    raw, text = read_yaml(path)
    check_text(text, model, path)
    return validate(raw if raw is not None else {}, model, path, context)


# --------------------------------------------------------------------------- the committed files, cached

@functools.cache
def _committed(file_name: str) -> tuple[Any, BaseModel | None]:
    path = paths.reference(file_name)
    raw, text = read_yaml(path)
    model = REGISTRY.get(file_name)
    if model is None:
        return raw, None
    check_text(text, model, path)
    return raw, validate(raw if raw is not None else {}, model, path)


def get(file_name: str) -> BaseModel:
    """The committed file `file_name` of data/reference, validated by its registered model (cached
    for the process; the models are frozen)."""
    if file_name not in REGISTRY:
        raise KeyError(f"{file_name}: no config model is registered for it")
    return _committed(file_name)[1]


def raw(file_name: str) -> Any:
    """The committed file `file_name`, parsed (cached: treat it as read-only) and, when a model is
    registered for it, validated first, so code that reads the mapping itself still reads a checked file."""
    return _committed(file_name)[0]


def clear_caches() -> None:
    """Forget the files read, the ICB codes included (after a committed file is rewritten in the same process)."""
    from .icbs import icb_index
    _committed.cache_clear()
    icb_index.cache_clear()


# --------------------------------------------------------------------------- JSON Schema

def schema(model: type[BaseModel], file_name: str) -> dict:
    out = {"$schema": JSON_SCHEMA_DIALECT, "$comment": f"data/reference/{file_name}; written by "
           "tools/write_config_schemas.py from its model in iwt_helpers/config, do not edit"}
    return {**out, **model.model_json_schema()}


def schema_text(model: type[BaseModel], file_name: str) -> str:
    return json.dumps(schema(model, file_name), indent=2, ensure_ascii=False) + "\n"


def schemas() -> dict[str, dict]:
    """JSON Schema of every registered model, keyed by the schema's file name in docs/schemas/."""
    return {Path(name).stem + ".schema.json": schema(model, name) for name, model in sorted(REGISTRY.items())}


def schema_texts() -> dict[str, str]:
    """What docs/schemas/ should hold: schema file name -> text."""
    return {Path(name).stem + ".schema.json": schema_text(model, name) for name, model in sorted(REGISTRY.items())}
