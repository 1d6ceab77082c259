"""Data: Aurora PostgreSQL 16 Serverless v2 (pgvector) behind RDS Proxy, and ElastiCache
Serverless (Valkey, TLS-only). Neither is reachable from outside the functions' security group."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import EnvConfig
from infra.constructs.acks import acknowledge
from infra.constructs.network import Network

POSTGRES_PORT = 5432
VALKEY_PORTS = (6379, 6380)  # 6380 is the serverless cache's reader endpoint
DATABASE_NAME = "memos"


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, network: Network) -> None:
        super().__init__(scope, construct_id)
        vpc, lambda_sg = network.vpc, network.lambda_sg

        self.db_sg = ec2.SecurityGroup(
            self, "DatabaseSg", vpc=vpc, description="Aurora: only from RDS Proxy", allow_all_outbound=False
        )
        self.proxy_sg = ec2.SecurityGroup(
            self,
            "ProxySg",
            vpc=vpc,
            description="RDS Proxy: only from MemOS functions",
            allow_all_outbound=False,
        )
        self.cache_sg = ec2.SecurityGroup(
            self,
            "CacheSg",
            vpc=vpc,
            description="Valkey: only from MemOS functions",
            allow_all_outbound=False,
        )
        pg = ec2.Port.tcp(POSTGRES_PORT)
        self.proxy_sg.add_ingress_rule(lambda_sg, pg, "PostgreSQL from MemOS functions")
        lambda_sg.add_egress_rule(self.proxy_sg, pg, "PostgreSQL to RDS Proxy")
        self.db_sg.add_ingress_rule(self.proxy_sg, pg, "PostgreSQL from RDS Proxy")
        self.proxy_sg.add_egress_rule(self.db_sg, pg, "PostgreSQL to Aurora")
        for port in VALKEY_PORTS:
            self.cache_sg.add_ingress_rule(lambda_sg, ec2.Port.tcp(port), "Valkey (TLS) from MemOS functions")
            lambda_sg.add_egress_rule(self.cache_sg, ec2.Port.tcp(port), "Valkey (TLS)")

        # RDS writes its logs here; creating the group first gives it a retention without the
        # LogRetention custom-resource Lambda.
        cluster_id = f"memos-{config.name}"
        db_logs = logs.LogGroup(
            self,
            "AuroraLogs",
            log_group_name=f"/aws/rds/cluster/{cluster_id}/postgresql",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Aurora",
            cluster_identifier=cluster_id,
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.VER_16_8
            ),
            credentials=rds.Credentials.from_generated_secret(
                "memos_admin", exclude_characters=" %+~`#$&*()|[]{}:;<>?!'/@\"\\"
            ),
            default_database_name=DATABASE_NAME,
            writer=rds.ClusterInstance.serverless_v2("writer", enable_performance_insights=True),
            readers=[
                rds.ClusterInstance.serverless_v2(
                    f"reader{i + 1}", scale_with_writer=True, enable_performance_insights=True
                )
                for i in range(config.aurora_readers)
            ],
            serverless_v2_min_capacity=config.aurora_min_acu,
            serverless_v2_max_capacity=config.aurora_max_acu,
            vpc=vpc,
            vpc_subnets=network.subnets,
            security_groups=[self.db_sg],
            storage_encrypted=True,
            iam_authentication=True,
            deletion_protection=config.deletion_protection,
            removal_policy=config.database_removal_policy,
            backup=rds.BackupProps(retention=Duration.days(config.backup_retention_days)),
            cloudwatch_logs_exports=["postgresql"],
            parameters={"rds.force_ssl": "1"},
        )
        self.cluster.node.add_dependency(db_logs)
        assert self.cluster.secret is not None  # generated credentials always create one
        self.secret: secretsmanager.ISecret = self.cluster.secret
        self.rotation = self.cluster.add_rotation_single_user(
            automatically_after=Duration.days(config.secret_rotation_days),
            vpc_subnets=network.subnets,
            endpoint=network.secrets_endpoint,
        )
        self.proxy = self.cluster.add_proxy(
            "Proxy",
            secrets=[self.secret],
            vpc=vpc,
            vpc_subnets=network.subnets,
            security_groups=[self.proxy_sg],
            require_tls=True,
            debug_logging=False,
        )

        self.cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            engine="valkey",
            major_engine_version="8",
            serverless_cache_name=f"memos-{config.name}",
            description="MemOS L1 session windows",
            security_group_ids=[self.cache_sg.security_group_id],
            subnet_ids=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    unit="GB", maximum=config.cache_max_storage_gb
                ),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(
                    maximum=config.cache_max_ecpu_per_second
                ),
            ),
            snapshot_retention_limit=config.cache_snapshot_retention_days or None,
        )
        # L1 is a cache that can be rebuilt from L2 (SPEC §3), so it follows the general policy.
        self.cache.apply_removal_policy(config.removal_policy)

        acknowledge(
            self.cluster,
            {}
            if config.deletion_protection
            else {"RDS10": f"{config.name} is a disposable environment; prod enables deletion protection."},
        )

    @property
    def redis_url(self) -> str:
        return f"rediss://{self.cache.attr_endpoint_address}:{self.cache.attr_endpoint_port}"
