"""One config package: a pydantic model per YAML file in data/reference, validated at load.

Each accessor below (``config.kpis()``, ``config.vocabulary()``, ...) returns its committed file
parsed and validated, once per process; the models are frozen. `load(name_or_path, Model)` reads any
YAML file against a model, and a file that does not match raises `errors.ConfigError` naming the
file, the key path and the value found. `raw(name)` gives a committed file's mapping itself, validated
first, for code that reads it as a mapping (``vocab.load_yaml`` is that function).

Each model's JSON Schema is written to `docs/schemas/` by `tools/write_config_schemas.py` and a test
fails when a committed schema differs from the model (see `config.base.schemas`).

The package is in the base layer: it imports nothing of iwt outside that layer, and every
layer may import it. It reads the ICB codes a file may name from `icb.csv` itself (`config.icbs`).
"""

import importlib
import pkgutil

from iwt_helpers.config.ambulance_areas import AmbulanceTrusts, ambulance_trusts
from iwt_helpers.config.base import (
    REGISTRY,
    ConfigModel,
    ConfigRoot,
    clear_caches,
    get,
    load,
    raw,
    schema_texts,
    schemas,
    validate,
)
from iwt_helpers.config.calibration import DemoCalibration, demo_calibration
from iwt_helpers.config.case_library import CaseStudyLibrary, case_studies
from iwt_helpers.config.disclosure_rules import Disclosure, disclosure
from iwt_helpers.config.item_bank import ReadinessItems, readiness_items
from iwt_helpers.config.kpi_framework import KpiFramework, KpiTargets, kpi_targets, kpis
from iwt_helpers.config.peer_weights import PeerIndicators, peer_indicators
from iwt_helpers.config.vocabularies import Vocabulary, vocabulary

# Every other module of this package (e.g. the scenarios model) is imported too, so that its models
# are in REGISTRY whoever imports what first.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "AmbulanceTrusts", "CaseStudyLibrary", "ConfigModel", "ConfigRoot", "DemoCalibration",
           "Disclosure", "KpiFramework", "KpiTargets", "PeerIndicators", "ReadinessItems", "Vocabulary",
           "ambulance_trusts", "case_studies", "clear_caches", "demo_calibration", "disclosure", "get",
           "kpi_targets", "kpis", "load", "peer_indicators", "raw", "readiness_items", "schema_texts", "schemas",
           "validate", "vocabulary"]
