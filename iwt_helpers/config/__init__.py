"""One config package: a pydantic model per YAML file in data/reference, validated at load.

`load(name_or_path, Model)` reads a YAML file and validates it against its model; a file that does not
match raises `errors.ConfigError` naming the file, the key path and the value found. Each model's JSON
Schema is written to `docs/schemas/` by `tools/write_config_schemas.py` and a test fails when a
committed schema differs from the model (see `config.base.schemas`).
"""

from iwt_helpers.config.base import ConfigModel, load, schemas

__all__ = ["ConfigModel", "load", "schemas"]
