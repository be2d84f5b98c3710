"""The few rules that are genuinely procedural: PartiQL by statement verb, DynamoDB transactions
per item, API Gateway management calls as HTTP verbs on resource paths.

Each procedure returns the actions the event used, or None when the event does not carry what
the rule needs (the caller then reports the event as unknown, with why).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.mapping.arns import Context, compile_path, values_at
from trailwise.pipeline.mapping.model import ActionUse
from trailwise.pipeline.mapping.rules import rules

Procedure = Callable[[Context, str], "tuple[ActionUse, ...] | None"]

_PARTIQL_VERBS = {
    "SELECT": "dynamodb:PartiQLSelect",
    "EXISTS": "dynamodb:PartiQLSelect",
    "INSERT": "dynamodb:PartiQLInsert",
    "UPDATE": "dynamodb:PartiQLUpdate",
    "DELETE": "dynamodb:PartiQLDelete",
}
_NAME = r'(?:"(?P<q>[^"]+)"|(?P<n>[A-Za-z0-9_.-]+))'
_INDEX = r'(?:\."?(?P<index>[A-Za-z0-9_.-]+)"?)?'
_PARTIQL_TABLE = {
    "SELECT": re.compile(r"\bFROM\s+" + _NAME + _INDEX, re.IGNORECASE),
    "EXISTS": re.compile(r"\bFROM\s+" + _NAME, re.IGNORECASE),
    "INSERT": re.compile(r"\bINTO\s+" + _NAME, re.IGNORECASE),
    "UPDATE": re.compile(r"^\s*UPDATE\s+" + _NAME, re.IGNORECASE),
    "DELETE": re.compile(r"\bFROM\s+" + _NAME, re.IGNORECASE),
}
_STATEMENT_PATHS = tuple(
    compile_path(p)
    for p in ("statement", "statements[].statement", "transactStatements[].statement")
)
_TRANSACT_ITEMS = compile_path("transactItems[]")
_TRANSACT_KINDS = {
    "put": "dynamodb:PutItem",
    "update": "dynamodb:UpdateItem",
    "delete": "dynamodb:DeleteItem",
    "conditioncheck": "dynamodb:ConditionCheckItem",
    "get": "dynamodb:GetItem",
}
_ROUTE_VARIABLE = re.compile(r"\{([^}]+)\}")


def _table_arn(ctx: Context, table: str | None, index: str | None = None) -> str | None:
    if not table:
        return None
    if table.startswith("arn:"):
        return table if index is None else f"{table}/index/{index}"
    if not (ctx.region and ctx.account):
        return None
    arn = f"arn:{ctx.partition}:dynamodb:{ctx.region}:{ctx.account}:table/{table}"
    return arn if index is None else f"{arn}/index/{index}"


def _use(action: str, arn: str | None, inferred_from: str) -> ActionUse:
    canonical = catalogue.canonical(action)
    if canonical is None:  # a rule naming a non-catalogue action is a bug in the data
        msg = f"procedure emitted {action!r}, which is not in the catalogue"
        raise ValueError(msg)
    return ActionUse(canonical, arn, inferred_from)


def dynamodb_partiql(ctx: Context, name: str) -> tuple[ActionUse, ...] | None:
    """ExecuteStatement / BatchExecuteStatement / ExecuteTransaction: one action per verb."""
    statements = [
        s for path in _STATEMENT_PATHS for s in values_at(ctx.params, path) if isinstance(s, str)
    ]
    uses: list[ActionUse] = []
    for i, statement in enumerate(statements):
        words = statement.split(None, 1)
        verb = words[0].upper() if words else ""
        action = _PARTIQL_VERBS.get(verb)
        if action is None:
            continue
        m = _PARTIQL_TABLE[verb].search(statement)
        table = (m.group("q") or m.group("n")) if m else None
        index = m.groupdict().get("index") if m else None
        origin = "event" if i == 0 else f"{name} statement {i + 1}"
        uses.append(_use(action, _table_arn(ctx, table, index), origin))
    return tuple(dict.fromkeys(uses)) or None


def dynamodb_transact(ctx: Context, name: str) -> tuple[ActionUse, ...] | None:
    """TransactWriteItems / TransactGetItems: the per-item action on each item's table."""
    uses: list[ActionUse] = []
    for i, item in enumerate(values_at(ctx.params, _TRANSACT_ITEMS)):
        if not isinstance(item, dict):
            continue
        for key, body in item.items():
            action = _TRANSACT_KINDS.get(key.lower())
            if action is None or not isinstance(body, dict):
                continue
            table = values_at(body, compile_path("tableName"))
            arn = _table_arn(ctx, str(table[0]) if table else None)
            uses.append(_use(action, arn, "event" if i == 0 else f"{name} item {i + 1}"))
    return tuple(dict.fromkeys(uses)) or None


def apigateway(ctx: Context, name: str) -> tuple[ActionUse, ...] | None:
    """API Gateway management: apigateway:<HTTP verb> on arn:...:apigateway:<region>::<path>."""
    variants = rules().apigateway_routes.get(name)
    if not variants:
        return None
    params = ctx.params
    for method, route in variants:
        wanted = _ROUTE_VARIABLE.findall(route)
        values: dict[str, str] = {}
        for var in wanted:
            found = values_at(params, compile_path(var))
            if not found or not isinstance(found[0], str | int):
                break
            values[var] = quote(str(found[0]), safe="")
        else:
            path = _fill_route(route, values)
            arn = f"arn:{ctx.partition}:apigateway:{ctx.region}::{path}" if ctx.region else None
            return (_use(f"apigateway:{method}", arn, "event"),)
    method = variants[0][0]
    return (_use(f"apigateway:{method}", None, "event"),)


def _fill_route(route: str, values: dict[str, str]) -> str:
    return _ROUTE_VARIABLE.sub(lambda m: values[m.group(1)], route)


PROCEDURES: dict[str, Procedure] = {
    "apigateway": apigateway,
    "dynamodb_partiql": dynamodb_partiql,
    "dynamodb_transact": dynamodb_transact,
}
