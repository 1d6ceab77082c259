"""cdk-nag acknowledgments: one helper so every acknowledgment carries a written reason."""

from __future__ import annotations

import os

import aws_cdk as cdk
from constructs import IConstruct


def managed_policy(name: str) -> str:
    """The finding id cdk-nag gives a role that uses the AWS managed policy ``service-role/<name>``."""
    return f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{name}]"


def acknowledge(scope: IConstruct, reasons: dict[str, str]) -> None:
    """Acknowledge AwsSolutions findings on ``scope`` and everything below it."""
    if os.environ.get("MEMOS_NAG_SHOW_ALL"):  # list every finding, acknowledged or not (reviews)
        return
    for rule, reason in reasons.items():
        rule_id = rule if rule.startswith("AwsSolutions-") else f"AwsSolutions-{rule}"
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
