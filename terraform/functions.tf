locals {
  common_env = {
    RUST_LOG         = "info"
    AWS_ENDPOINT_URL = var.function_aws_endpoint_url
  }
  # The functions that talk to Telegram and the table: all but the webhook, which only queues.
  bot_env = {
    TELEGRAM_TOKEN_PARAMETER = aws_ssm_parameter.telegram_token.name
    TABLE_NAME               = aws_dynamodb_table.sessions.name
  }
  functions = merge({
    poller = {
      # One poller at a time: two concurrent getUpdates calls make Telegram answer 409 Conflict.
      # Deployed with either ingress; only ingress = "poll" schedules it.
      concurrency = 1
      timeout     = var.poller_timeout
      # ADMIN_USERS: the poller sets Telegram's command menus at cold start, the admins' too.
      env = merge(local.bot_env, {
        QUEUE_URL   = aws_sqs_queue.updates.url
        ADMIN_USERS = var.admin_users
      })
    }
    command = {
      concurrency = var.command_concurrency
      timeout     = var.command_timeout
      env = merge(local.bot_env, {
        BUCKET_NAME              = aws_s3_bucket.archives.bucket
        EVENT_BUS_NAME           = aws_cloudwatch_event_bus.cloud_ai.name
        DEFAULT_MODEL            = var.default_model
        BOT_USERNAME             = var.bot_username
        ALLOWED_USERS            = var.allowed_users
        ADMIN_USERS              = var.admin_users
        MODEL_BACKEND            = var.model_backend
        OLLAMA_URL               = var.model_backend == "ollama" ? var.ollama_url : ""
        OPENAI_BASE_URL          = var.model_backend == "openai" ? var.openai_base_url : ""
        OPENAI_API_KEY_PARAMETER = local.openai_api_key_parameter == null ? "" : local.openai_api_key_parameter.name
        SYSTEM_PROMPT            = var.system_prompt
        VISION_MODELS            = var.vision_models
        MAX_ANSWER_TOKENS        = tostring(var.max_answer_tokens)
        TRANSCRIBE_URL           = var.transcribe_url
        TRANSCRIBE_MODEL         = var.transcribe_model
        # Unset (empty) without a key: the service is called without one.
        TRANSCRIBE_API_KEY_PARAMETER = local.transcribe_api_key_parameter == null ? "" : local.transcribe_api_key_parameter.name
      })
    }
    archiver = {
      concurrency = var.archiver_concurrency
      timeout     = var.archiver_timeout
      env         = merge(local.bot_env, { BUCKET_NAME = aws_s3_bucket.archives.bucket })
    }
    }, local.webhook ? {
    webhook = {
      concurrency = var.webhook_concurrency
      # It only checks a header and queues: a few seconds even when SQS is slow.
      timeout = 10
      env = {
        QUEUE_URL                = aws_sqs_queue.updates.url
        WEBHOOK_SECRET_PARAMETER = aws_ssm_parameter.webhook_secret[0].name
      }
    }
  } : {})
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "${var.name_prefix}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:The logs hold ids and outcomes, never message text or the token; they are encrypted at rest by CloudWatch already.
  #checkov:skip=CKV_AWS_338:Retention is kept short on purpose (log_retention_days) so user ids are not kept longer than needed to debug.
  for_each          = local.functions
  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "function" {
  #checkov:skip=CKV_AWS_117:The functions call the public Telegram API and touch no private network resources; a VPC would only add a NAT gateway.
  #checkov:skip=CKV_AWS_116:No function is left without a dead-letter path: command's is its queue's redrive, archiver's is its EventBridge target's DLQ, a failed poll is retried by the next scheduled run, and a webhook request that fails is answered 500 and sent again by Telegram.
  #checkov:skip=CKV_AWS_272:The zips are built by the deployer's own pipeline (scripts/build-lambdas.sh); AWS Signer is not available on LocalStack, the development target.
  #checkov:skip=CKV_AWS_173:Environment variables are encrypted at rest with the AWS managed key and hold no secret (the token, the API key and the webhook secret are SSM SecureString parameters, named here). A customer key adds cost without a reader to keep out.
  #checkov:skip=CKV_AWS_50:Every log line is JSON with the Lambda request id; the functions make few downstream calls, so X-Ray traces would add cost without insight.
  for_each         = local.functions
  function_name    = "${var.name_prefix}-${each.key}"
  role             = aws_iam_role.function[each.key].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  filename         = "${var.lambda_zip_dir}/${each.key}/bootstrap.zip"
  source_code_hash = filebase64sha256("${var.lambda_zip_dir}/${each.key}/bootstrap.zip")
  timeout          = each.value.timeout
  memory_size      = 256

  reserved_concurrent_executions = each.value.concurrency

  environment {
    # Empty values are left out (an empty AWS_ENDPOINT_URL would break the SDK's defaults).
    variables = { for k, v in merge(local.common_env, each.value.env) : k => v if v != "" }
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

# What each function may do, naming only the resources it touches.
data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    sid     = "Secrets"
    actions = ["ssm:GetParameter"]
    # The webhook reads only its secret, never the bot token.
    resources = each.key == "webhook" ? aws_ssm_parameter.webhook_secret[*].arn : concat([aws_ssm_parameter.telegram_token.arn], each.key == "command" ? local.command_secret_arns : [])
  }

  dynamic "statement" {
    for_each = each.key == "webhook" ? [] : [1]
    content {
      sid = "Table"
      # The command role's BatchWriteItem deletes /delete's message rows; its Scan reads the
      # tokens by user for an admin's /usage.
      actions = {
        poller   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        command  = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:Scan"]
        archiver = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:Query"]
      }[each.key]
      resources = [aws_dynamodb_table.sessions.arn]
    }
  }

  dynamic "statement" {
    for_each = contains(["poller", "webhook"], each.key) ? [1] : []
    content {
      sid       = "QueueUpdates"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.updates.arn]
    }
  }

  dynamic "statement" {
    for_each = each.key == "command" ? [1] : []
    content {
      sid       = "ReceiveUpdates"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
      resources = [aws_sqs_queue.updates.arn]
    }
  }

  dynamic "statement" {
    for_each = each.key == "command" ? [1] : []
    content {
      sid       = "PublishEvents"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.cloud_ai.arn]
    }
  }

  dynamic "statement" {
    for_each = contains(["command", "archiver"], each.key) ? [1] : []
    content {
      sid       = "Archives"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${aws_s3_bucket.archives.arn}/archives/*"]
    }
  }

  dynamic "statement" {
    # Without ListBucket, S3 answers a missing archive with 403 instead of 404.
    for_each = contains(["command", "archiver"], each.key) ? [1] : []
    content {
      sid       = "ListArchives"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.archives.arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["archives/*"]
      }
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "${var.name_prefix}-${each.key}"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.function[each.key].json
}

# The updates queue feeds the command function; it reports only the records that failed.
resource "aws_lambda_event_source_mapping" "updates" {
  event_source_arn        = aws_sqs_queue.updates.arn
  function_name           = aws_lambda_function.function["command"].arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
  enabled                 = var.enable_event_source_mapping
}
