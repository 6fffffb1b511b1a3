# Raw Telegram updates, per chat in order (MessageGroupId) and deduplicated by update id.
resource "aws_sqs_queue" "updates_dlq" {
  name                      = "${var.name_prefix}-updates-dlq.fifo"
  fifo_queue                = true
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "updates" {
  name                       = "${var.name_prefix}-updates.fifo"
  fifo_queue                 = true
  visibility_timeout_seconds = 6 * var.command_timeout
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.updates_dlq.arn
    maxReceiveCount     = 5
  })

  lifecycle {
    # Emulators read the policy back with other whitespace; the JSON is the same.
    ignore_changes = [redrive_policy]
  }
}

# Archived events EventBridge could not deliver to the archiver after its retries.
resource "aws_sqs_queue" "archiver_dlq" {
  name                      = "${var.name_prefix}-archiver-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue_policy" "archiver_dlq" {
  queue_url = aws_sqs_queue.archiver_dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.archiver_dlq.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.archived.arn } }
    }]
  })
}
