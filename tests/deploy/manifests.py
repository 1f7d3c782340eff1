"""Validation of rendered Kubernetes objects, offline.

* Built-in kinds: the strict JSON schemas PyPI `kubernetes-validate` ships (unknown fields are
  errors), one validator per kind kept for the session (the package's own `validate()` reloads
  the 1.5 MB definitions file on every call). The first error of each object is reported.
* Custom resources (Istio, Prometheus Operator): each CRD's `openAPIV3Schema`, by
  (group/version, kind), from the shared schemas beside the repository
  (../shared/schemas/istio/crd-all-1.30.3.yaml, ../shared/schemas/prometheus-operator/); read at
  test time, never copied. A CRD schema allows unknown fields, so `additionalProperties: false`
  is added wherever an object lists its properties and does not preserve unknown fields;
  `nullable` becomes a null type.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED_SCHEMAS = REPO.parent / "shared" / "schemas"
ISTIO_CRDS = SHARED_SCHEMAS / "istio" / "crd-all-1.30.3.yaml"
PROMETHEUS_OPERATOR_CRDS = SHARED_SCHEMAS / "prometheus-operator"
KUBERNETES_VERSIONS = ("1.27.0", "1.37.0")  # the chart's oldest (Chart.yaml kubeVersion) and the newest known
CRD_GROUPS = ("networking.istio.io", "security.istio.io", "telemetry.istio.io", "monitoring.coreos.com")

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_all(text: str) -> list[dict]:
    return [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc]


def describe(obj: dict) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


# -- built-in kinds -----------------------------------------------------------------------------------


def _schema_dir(version: str) -> Path:
    import kubernetes_validate

    root = Path(kubernetes_validate.__file__).resolve().parent / "kubernetes-json-schema"
    folder = root / f"v{version}-local-strict"
    if not folder.is_dir():
        raise FileNotFoundError(f"kubernetes-validate has no schemas for Kubernetes {version} ({folder})")
    return folder


@lru_cache(maxsize=4)
def _registry(version: str):
    from referencing import Registry, Resource

    definitions = json.loads((_schema_dir(version) / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


@lru_cache(maxsize=256)
def _kubernetes_validator(version: str, api_version: str, kind: str):
    from referencing import Resource

    group_version = api_version.split("/")
    # kubernetes-validate's file names: apps/v1 -> apps-v1, policy/v1 -> policy-v1, v1 -> v1,
    # autoscaling/v2 -> autoscaling-v2, rbac.authorization.k8s.io/v1 -> rbac-v1.
    suffix = api_version if len(group_version) == 1 else f"{group_version[0].split('.')[0]}-{group_version[1]}"
    path = _schema_dir(version) / f"{kind.lower()}-{suffix}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    registry = Resource.from_contents(schema) @ _registry(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def kubernetes_errors(obj: dict, version: str) -> list[str]:
    """[] when valid; else the first error. A kind without a schema here is reported too."""
    validator = _kubernetes_validator(version, obj.get("apiVersion", ""), obj.get("kind", ""))
    if validator is None:
        return [f"{describe(obj)}: no Kubernetes {version} schema for {obj.get('apiVersion')} {obj.get('kind')}"]
    error = next(iter(validator.iter_errors(obj)), None)
    if error is None:
        return []
    return [f"{describe(obj)} (Kubernetes {version}): {'.'.join(map(str, error.absolute_path)) or '<root>'}: "
            f"{error.message[:300]}"]


def is_builtin(obj: dict) -> bool:
    group = obj.get("apiVersion", "").rpartition("/")[0]
    return group not in CRD_GROUPS


# -- custom resources ---------------------------------------------------------------------------------


def _closed(schema):
    """A copy of an OpenAPI v3 CRD schema that refuses unknown fields and knows `nullable`."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _closed(value) for key, value in schema.items()}
    if result.pop("nullable", False) and "type" in result:
        result["type"] = [result["type"], "null"] if isinstance(result["type"], str) else [*result["type"], "null"]
    if ("properties" in result and "additionalProperties" not in result
            and not result.get("x-kubernetes-preserve-unknown-fields")):
        result["additionalProperties"] = False
    return result


@lru_cache(maxsize=1)
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(group/version, kind) -> closed openAPIV3Schema, for the Istio and Prometheus Operator CRDs."""
    files = [ISTIO_CRDS, *sorted(PROMETHEUS_OPERATOR_CRDS.glob("*.yaml"))]
    missing = [str(f) for f in files if not f.is_file()]
    if missing or not PROMETHEUS_OPERATOR_CRDS.is_dir():
        raise FileNotFoundError("CRD schemas missing (expected beside the repository): "
                                f"{missing or PROMETHEUS_OPERATOR_CRDS}")
    schemas = {}
    for path in files:
        for crd in load_all(path.read_text()):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema:
                    schema = copy.deepcopy(schema)
                    # The API server adds these to every CRD; Istio's schemas list only spec and status.
                    properties = schema.setdefault("properties", {})
                    group_version = f"{spec['group']}/{version['name']}"
                    properties.setdefault("apiVersion", {"type": "string", "enum": [group_version]})
                    properties.setdefault("kind", {"type": "string", "enum": [spec["names"]["kind"]]})
                    properties.setdefault("metadata", {"type": "object",
                                                       "x-kubernetes-preserve-unknown-fields": True})
                    schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = _closed(schema)
    return schemas


@lru_cache(maxsize=64)
def _crd_validator(api_version: str, kind: str):
    schema = crd_schemas().get((api_version, kind))
    return None if schema is None else jsonschema.Draft7Validator(schema)


def crd_errors(obj: dict) -> list[str]:
    validator = _crd_validator(obj.get("apiVersion", ""), obj.get("kind", ""))
    if validator is None:
        return [f"{describe(obj)}: no CRD schema for {obj.get('apiVersion')} {obj.get('kind')}"]
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{describe(obj)}: {'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
            for e in errors[:3]]


def schema_errors(objects: list[dict]) -> list[str]:
    """Every object against its schema: built-in kinds for each of KUBERNETES_VERSIONS, CRDs once."""
    problems = []
    for obj in objects:
        if is_builtin(obj):
            for version in KUBERNETES_VERSIONS:
                problems += kubernetes_errors(obj, version)
        else:
            problems += crd_errors(obj)
    return problems
