"""Network: an isolated VPC (no NAT), VPC endpoints for the AWS APIs the functions call,
and the security groups that say who may talk to whom."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import EnvConfig

HTTPS = ec2.Port.tcp(443)


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=config.max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
        )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=config.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

        # Every function runs with this group; egress is opened explicitly, target by target.
        self.lambda_sg = ec2.SecurityGroup(
            self, "LambdaSg", vpc=self.vpc, description="MemOS Lambda functions", allow_all_outbound=False
        )
        self.endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSg",
            vpc=self.vpc,
            description="MemOS interface endpoints",
            allow_all_outbound=False,
        )
        self.endpoint_sg.add_ingress_rule(self.lambda_sg, HTTPS, "HTTPS from MemOS functions")
        self.lambda_sg.add_egress_rule(self.endpoint_sg, HTTPS, "AWS APIs through interface endpoints")

        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for name, service in (
            ("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS),
            ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
            ("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS),
            ("XRay", ec2.InterfaceVpcEndpointAwsService.XRAY),
            ("BedrockRuntime", ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME),
        ):
            self.endpoints[name] = self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.subnets,
                security_groups=[self.endpoint_sg],
                open=False,
                private_dns_enabled=True,
            )
        self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
        )

    @property
    def secrets_endpoint(self) -> ec2.InterfaceVpcEndpoint:
        return self.endpoints["SecretsManager"]
