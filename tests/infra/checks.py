"""Template checks used by the tests, kept apart so the tests can prove they catch bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_actions(statement: dict[str, Any]) -> list[str]:
    """Actions that grant a whole service or everything: ``*`` or ``service:*`` (and any NotAction)."""
    if statement.get("Effect", "Allow") != "Allow":
        return []
    bad = [f"NotAction:{a}" for a in _as_list(statement.get("NotAction", []))]
    for action in _as_list(statement.get("Action", [])):
        if isinstance(action, str) and (action == "*" or action.endswith(":*")):
            bad.append(action)
    return bad


def policy_statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every identity-policy statement in a template: policies, managed policies, role inline policies."""
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props.get("PolicyDocument", {}))
        if resource["Type"] == "AWS::IAM::Role":
            documents.extend(p.get("PolicyDocument", {}) for p in props.get("Policies", []))
        for document in documents:
            for statement in document.get("Statement", []):
                yield logical_id, statement


def open_ingress(resources: dict[str, Any], group_ids: set[str] | None = None) -> list[str]:
    """Ingress rules from anywhere, inline or standalone; limited to ``group_ids`` if given."""
    found = []
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroup" and (group_ids is None or logical_id in group_ids):
            for rule in props.get("SecurityGroupIngress", []):
                if rule.get("CidrIp") in OPEN_CIDRS or rule.get("CidrIpv6") in OPEN_CIDRS:
                    found.append(logical_id)
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress":
            target = props.get("GroupId", {}).get("Fn::GetAtt", [None])[0]
            if (group_ids is None or target in group_ids) and (
                props.get("CidrIp") in OPEN_CIDRS or props.get("CidrIpv6") in OPEN_CIDRS
            ):
                found.append(logical_id)
    return found
