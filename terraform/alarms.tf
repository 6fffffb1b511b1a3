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
  alarm_actions = [aws_sns_topic.alarms.arn]
  # Alarms that go off at the first occurrence in five minutes.
  any_occurrence_alarms = merge(
    {
      for name, queue in {
        updates  = aws_sqs_queue.updates_dlq.name
        archiver = aws_sqs_queue.archiver_dlq.name
        } : "${name}-dead-letters" => {
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        statistic   = "Maximum"
        dimensions  = { QueueName = queue }
        description = "Messages wait in the ${name} dead-letter queue: look at the logs, fix, then scripts/stack.sh redrive."
      }
    },
    merge([for name in keys(local.functions) : {
      "${name}-errors" = {
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        statistic   = "Sum"
        dimensions  = { FunctionName = aws_lambda_function.function[name].function_name }
        description = "The ${name} function failed; its log group says why."
      }
      "${name}-throttles" = {
        namespace   = "AWS/Lambda"
        metric      = "Throttles"
        statistic   = "Sum"
        dimensions  = { FunctionName = aws_lambda_function.function[name].function_name }
        description = "The ${name} function was throttled: its reserved concurrency is too low for the load."
      }
    }]...),
  )
}

# Any dead letter, function error or throttle.
resource "aws_cloudwatch_metric_alarm" "any_occurrence" {
  for_each            = local.any_occurrence_alarms
  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The schedule runs the poller every few minutes; no run for 15 minutes means no updates arrive.
# (With the webhook, Telegram does the retrying and reports the webhook's last error itself.)
resource "aws_cloudwatch_metric_alarm" "poller_stopped" {
  count               = local.webhook ? 0 : 1
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

moved {
  from = aws_cloudwatch_metric_alarm.poller_stopped
  to   = aws_cloudwatch_metric_alarm.poller_stopped[0]
}
