"""Console hosting: a private S3 bucket behind CloudFront (origin access control).

The ``console/`` folder is uploaded with BucketDeployment when it has files; that construct
runs the AWS CLI from a Lambda layer shipped inside aws-cdk-lib, so it needs no Docker.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.bundling import REPO_ROOT
from infra.config import EnvConfig
from infra.constructs.acks import acknowledge, managed_policy

CONSOLE_SOURCE = REPO_ROOT / "console"
ASSET_BUCKET = "cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>"  # the default bootstrap bucket


def console_has_files(source: Path = CONSOLE_SOURCE) -> bool:
    return source.is_dir() and any(p.is_file() for p in source.rglob("*"))


class ConsoleHosting(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, construct_id)
        auto_delete = config.removal_policy == RemovalPolicy.DESTROY
        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # CloudFront standard logging writes with ACLs.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=config.removal_policy,
            auto_delete_objects=auto_delete,
        )
        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=config.is_prod,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/",
            removal_policy=config.removal_policy,
            auto_delete_objects=auto_delete,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment=f"MemOS console ({config.name})",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            ),
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
        )
        acknowledge(
            self.distribution,
            {
                "CFR1": "The console is a static operator UI with no regional content rules; geo "
                "restriction is left to the operator.",
                "CFR2": "Static files only; the data it shows comes from the API, which has its own "
                "authorizer, throttling and (prod) WAF.",
                "CFR4": "Uses the default *.cloudfront.net certificate, for which CloudFront fixes the "
                "TLS policy; a custom domain would set TLSv1.2_2021.",
            },
        )
        if console_has_files():
            self._deploy_files()

    def _deploy_files(self) -> None:
        s3deploy.BucketDeployment(
            self,
            "Upload",
            sources=[s3deploy.Source.asset(str(CONSOLE_SOURCE))],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
        )
        stack = Stack.of(self)
        bucket_id = stack.get_logical_id(cast(CfnElement, self.bucket.node.default_child))
        copier = "The aws-cdk-lib BucketDeployment function (stack singleton, AWS CLI in a layer)"
        reasons = {
            managed_policy("AWSLambdaBasicExecutionRole"): f"{copier} writes only its own logs with it.",
            "L1": f"{copier}: its runtime is chosen and maintained by aws-cdk-lib.",
            "IAM5[Resource::*]": f"{copier} creates CloudFront invalidations; those actions accept no "
            "distribution-level resource scoping in the grant CDK generates.",
            f"IAM5[Resource::arn:<AWS::Partition>:s3:::{ASSET_BUCKET}/*]": (
                f"{copier} reads the uploaded console zip from the CDK bootstrap asset bucket."
            ),
            f"IAM5[Resource::<{bucket_id}.Arn>/*]": f"{copier} writes the console files into the site.",
        }
        for action in ("s3:GetBucket*", "s3:GetObject*", "s3:List*", "s3:Abort*", "s3:DeleteObject*"):
            reasons[f"IAM5[Action::{action}]"] = (
                f"{copier}: CDK's grantRead/grantWrite action groups, scoped to the two buckets above."
            )
        for child in stack.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                acknowledge(child, reasons)

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"
