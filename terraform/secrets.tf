# The bot token (and the OpenAI-compatible and transcription keys) as SecureString parameters. The functions'
# environment holds only the parameters' names; each function reads them once per cold start,
# and only its own role may.
resource "aws_ssm_parameter" "telegram_token" {
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS managed key (alias/aws/ssm); only the functions' roles may read the parameter, so a customer key adds cost without a reader to keep out.
  name        = "/${var.name_prefix}/telegram-token"
  description = "The bot token from BotFather."
  type        = "SecureString"
  value       = var.telegram_token
}

resource "aws_ssm_parameter" "openai_api_key" {
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS managed key (alias/aws/ssm); only the command function's role may read the parameter.
  count       = var.model_backend == "openai" && nonsensitive(var.openai_api_key != "") ? 1 : 0
  name        = "/${var.name_prefix}/openai-api-key"
  description = "The OpenAI-compatible server's API key."
  type        = "SecureString"
  value       = var.openai_api_key
}

resource "aws_ssm_parameter" "transcribe_api_key" {
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS managed key (alias/aws/ssm); only the command function's role may read the parameter.
  count       = var.transcribe_url != "" && nonsensitive(var.transcribe_api_key != "") ? 1 : 0
  name        = "/${var.name_prefix}/transcribe-api-key"
  description = "The speech-to-text server's API key."
  type        = "SecureString"
  value       = var.transcribe_api_key
}

locals {
  openai_api_key_parameter     = one(aws_ssm_parameter.openai_api_key[*])
  transcribe_api_key_parameter = one(aws_ssm_parameter.transcribe_api_key[*])
  # What the command function may read besides the bot token.
  command_secret_arns = concat(aws_ssm_parameter.openai_api_key[*].arn, aws_ssm_parameter.transcribe_api_key[*].arn)
}
