# Webhook ingress (ingress = "webhook"): Telegram POSTs each update to an API Gateway HTTP API
# whose one route runs the webhook function, which checks Telegram's secret header and queues
# the update on the same FIFO queue the poller fills. scripts/stack.sh webhook registers the URL
# and the secret with Telegram; scripts/stack.sh poll removes them again.
locals {
  webhook = var.ingress == "webhook"
}

# Only the aws provider is at hand (no random provider): Secrets Manager makes the secret, as an
# ephemeral value written to the parameter write-only, so it is in neither the plan nor the state
# (the data source of the same name would print it as its id). Telegram's secret_token takes
# letters, digits, _ and -, so no punctuation.
ephemeral "aws_secretsmanager_random_password" "webhook_secret" {
  count               = local.webhook && nonsensitive(var.webhook_secret == "") ? 1 : 0
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_ssm_parameter" "webhook_secret" {
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS managed key (alias/aws/ssm); only the webhook function's role may read the parameter.
  count       = local.webhook ? 1 : 0
  name        = "/${var.name_prefix}/webhook-secret"
  description = "The webhook's secret_token: Telegram sends it in X-Telegram-Bot-Api-Secret-Token."
  type        = "SecureString"
  value_wo    = nonsensitive(var.webhook_secret == "") ? ephemeral.aws_secretsmanager_random_password.webhook_secret[0].random_password : var.webhook_secret
  # Written when the parameter is created and whenever this number changes (a new secret).
  value_wo_version = var.webhook_secret_version
}

resource "aws_apigatewayv2_api" "webhook" {
  count         = local.webhook ? 1 : 0
  name          = "${var.name_prefix}-webhook"
  description   = "Telegram's webhook for the bot: POST /telegram."
  protocol_type = "HTTP"
}

resource "aws_cloudwatch_log_group" "webhook_access" {
  #checkov:skip=CKV_AWS_158:The access log holds request ids, addresses and statuses, never update text; CloudWatch encrypts it at rest already.
  #checkov:skip=CKV_AWS_338:Retention is kept short on purpose (log_retention_days), as for the functions' logs.
  count             = local.webhook ? 1 : 0
  name              = "/aws/apigateway/${var.name_prefix}-webhook"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "webhook" {
  count       = local.webhook ? 1 : 0
  api_id      = aws_apigatewayv2_api.webhook[0].id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.webhook_access[0].arn
    format = jsonencode({
      requestId        = "$context.requestId"
      sourceIp         = "$context.identity.sourceIp"
      requestTime      = "$context.requestTime"
      routeKey         = "$context.routeKey"
      status           = "$context.status"
      responseLength   = "$context.responseLength"
      integrationError = "$context.integrationErrorMessage"
    })
  }

  default_route_settings {
    throttling_rate_limit  = var.webhook_throttle_rate
    throttling_burst_limit = var.webhook_throttle_burst
  }
}

resource "aws_apigatewayv2_integration" "webhook" {
  count                  = local.webhook ? 1 : 0
  api_id                 = aws_apigatewayv2_api.webhook[0].id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.function["webhook"].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 10000
}

resource "aws_apigatewayv2_route" "webhook" {
  #checkov:skip=CKV_AWS_309:Telegram cannot sign requests or send a token API Gateway checks; the function compares Telegram's secret header (X-Telegram-Bot-Api-Secret-Token) in constant time and refuses with 401.
  count              = local.webhook ? 1 : 0
  api_id             = aws_apigatewayv2_api.webhook[0].id
  route_key          = "POST /telegram"
  authorization_type = "NONE"
  target             = "integrations/${aws_apigatewayv2_integration.webhook[0].id}"
}

resource "aws_lambda_permission" "webhook" {
  count         = local.webhook ? 1 : 0
  statement_id  = "AllowWebhookApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["webhook"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.webhook[0].execution_arn}/*/*/telegram"
}
