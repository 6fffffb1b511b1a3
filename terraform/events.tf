# With ingress = "poll", the poller runs on a schedule (default bus) and polls for most of its
# timeout each time. With ingress = "webhook" there is no schedule: Telegram POSTs updates.
resource "aws_cloudwatch_event_rule" "poll" {
  count               = local.webhook ? 0 : 1
  name                = "${var.name_prefix}-poll"
  description         = "Runs the poller, which long-polls Telegram."
  schedule_expression = var.poll_schedule
}

resource "aws_cloudwatch_event_target" "poll" {
  count     = local.webhook ? 0 : 1
  rule      = aws_cloudwatch_event_rule.poll[0].name
  target_id = "poller"
  arn       = aws_lambda_function.function["poller"].arn
}

resource "aws_lambda_permission" "poll" {
  count         = local.webhook ? 0 : 1
  statement_id  = "AllowSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["poller"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.poll[0].arn
}

# The schedule's resources became optional (ingress); a stack deployed before keeps them.
moved {
  from = aws_cloudwatch_event_rule.poll
  to   = aws_cloudwatch_event_rule.poll[0]
}

moved {
  from = aws_cloudwatch_event_target.poll
  to   = aws_cloudwatch_event_target.poll[0]
}

moved {
  from = aws_lambda_permission.poll
  to   = aws_lambda_permission.poll[0]
}

# The command function publishes every event here (source cloud-ai.command,
# detail-type = the event's name).
resource "aws_cloudwatch_event_bus" "cloud_ai" {
  name = var.name_prefix
}

resource "aws_cloudwatch_event_rule" "archived" {
  name           = "${var.name_prefix}-archived"
  description    = "Archived events go to the archiver."
  event_bus_name = aws_cloudwatch_event_bus.cloud_ai.name
  event_pattern = jsonencode({
    source        = ["cloud-ai.command"]
    "detail-type" = ["Archived"]
  })
}

resource "aws_cloudwatch_event_target" "archived" {
  rule           = aws_cloudwatch_event_rule.archived.name
  event_bus_name = aws_cloudwatch_event_bus.cloud_ai.name
  target_id      = "archiver"
  arn            = aws_lambda_function.function["archiver"].arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 20
  }

  dead_letter_config {
    arn = aws_sqs_queue.archiver_dlq.arn
  }
}

resource "aws_lambda_permission" "archived" {
  statement_id  = "AllowArchivedEvents"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["archiver"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.archived.arn
}
