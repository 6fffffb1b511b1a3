locals {
  # With an endpoint (LocalStack, moto) every service goes there, with the emulator's dummy
  # credentials; without one, this is plain AWS with the usual credential chain.
  emulated = var.aws_endpoint_url != ""
  endpoint = local.emulated ? var.aws_endpoint_url : null
}

provider "aws" {
  region                      = var.aws_region
  access_key                  = local.emulated ? "test" : null
  secret_key                  = local.emulated ? "test" : null
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_requesting_account_id  = local.emulated
  s3_use_path_style           = local.emulated

  endpoints {
    apigatewayv2   = local.endpoint
    cloudwatch     = local.endpoint
    cloudwatchlogs = local.endpoint
    dynamodb       = local.endpoint
    events         = local.endpoint
    iam            = local.endpoint
    lambda         = local.endpoint
    s3             = local.endpoint
    secretsmanager = local.endpoint
    sns            = local.endpoint
    sqs            = local.endpoint
    ssm            = local.endpoint
    sts            = local.endpoint
  }

  default_tags {
    tags = { project = "cloud-ai" }
  }
}
