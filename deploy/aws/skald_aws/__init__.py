"""Skald on AWS: a CDK app (MSK, ECS Fargate, RDS, OpenSearch), one construct per module."""
