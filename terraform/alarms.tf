# What the stack tells its operator, on one SNS topic: dead letters, function errors and
# throttles, and a poller that stopped running.
resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  dead_letter_queues = {
    updates  = aws_sqs_queue.updates_dlq.name
    archiver = aws_sqs_queue.archiver_dlq.name
  }
  alarm_actions = [aws_sns_topic.alarms.arn]
}

# Any dead letter is an update or an archive that needs a look (scripts/stack.sh redrive).
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each            = local.dead_letter_queues
  alarm_name          = "${var.name_prefix}-${each.key}-dead-letters"
  alarm_description   = "Messages wait in the ${each.key} dead-letter queue: look at the logs, fix, then scripts/stack.sh redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each            = local.functions
  alarm_name          = "${var.name_prefix}-${each.key}-errors"
  alarm_description   = "The ${each.key} function failed; its log group says why."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.function[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each            = local.functions
  alarm_name          = "${var.name_prefix}-${each.key}-throttles"
  alarm_description   = "The ${each.key} function was throttled: its reserved concurrency is too low for the load."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.function[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The schedule runs the poller every few minutes; no run for 15 minutes means no updates arrive.
resource "aws_cloudwatch_metric_alarm" "poller_stopped" {
  alarm_name          = "${var.name_prefix}-poller-stopped"
  alarm_description   = "The poller has not run for 15 minutes: updates are not being fetched. Check the schedule rule and the function."
  namespace           = "AWS/Lambda"
  metric_name         = "Invocations"
  dimensions          = { FunctionName = aws_lambda_function.function["poller"].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
