terraform {
  # The webhook's secret is an ephemeral resource written to a write-only argument (value_wo):
  # ephemeral resources need Terraform 1.10, write-only arguments 1.11; in the aws provider,
  # aws_ssm_parameter's value_wo arrived in 5.87.0 (with aws_secretsmanager_random_password
  # already there).
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.87.0, < 7.0"
    }
  }
}
