output "table_name" {
  value = aws_dynamodb_table.sessions.name
}

output "bucket_name" {
  value = aws_s3_bucket.archives.bucket
}

output "queue_url" {
  value = aws_sqs_queue.updates.url
}

output "dead_letter_queue_url" {
  value = aws_sqs_queue.updates_dlq.url
}

output "archiver_dead_letter_queue_url" {
  value = aws_sqs_queue.archiver_dlq.url
}

output "event_bus_name" {
  value = aws_cloudwatch_event_bus.cloud_ai.name
}

output "function_names" {
  value = { for k, f in aws_lambda_function.function : k => f.function_name }
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}

output "telegram_token_parameter" {
  value = aws_ssm_parameter.telegram_token.name
}

output "ingress" {
  value = var.ingress
}

output "webhook_url" {
  description = "Where Telegram POSTs updates (ingress = webhook): scripts/stack.sh webhook registers it."
  value       = local.webhook ? "${trimsuffix(aws_apigatewayv2_stage.webhook[0].invoke_url, "/")}/telegram" : ""
}

output "webhook_secret_parameter" {
  value = local.webhook ? aws_ssm_parameter.webhook_secret[0].name : ""
}
