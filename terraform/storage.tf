# The original's table: pk N = Telegram user id, sk S; GSIs model_index and
# active_sessions_index; TTL on `ttl` (update receipts expire through it).
resource "aws_dynamodb_table" "sessions" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed KMS key (server_side_encryption); a customer key is an option for AWS, not for LocalStack.
  name         = var.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "N"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "model_name"
    type = "S"
  }
  attribute {
    name = "session_id"
    type = "S"
  }
  attribute {
    name = "is_active"
    type = "N"
  }
  attribute {
    name = "last_message_ts"
    type = "N"
  }

  global_secondary_index {
    name            = "model_index"
    hash_key        = "model_name"
    range_key       = "session_id"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "active_sessions_index"
    hash_key        = "is_active"
    range_key       = "last_message_ts"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

locals {
  bucket = var.bucket_suffix == "" ? var.bucket_name : "${var.bucket_name}-${var.bucket_suffix}"
}

# Archives at archives/{user_id}/{session_id}.json.
resource "aws_s3_bucket" "archives" {
  #checkov:skip=CKV_AWS_18:Access to archives is only through the functions' roles, whose calls CloudTrail records; a second log bucket would hold little more.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket notifications; archive writes are announced by the Archived event on the bus.
  #checkov:skip=CKV_AWS_144:One region holds the stack; versioning and the lifecycle rule cover recovery. Replication is a deployer's choice for AWS.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts every object; KMS would add a per-request cost without a reader to keep out.
  bucket        = local.bucket
  force_destroy = var.force_destroy_archives
}

resource "aws_s3_bucket_public_access_block" "archives" {
  bucket                  = aws_s3_bucket.archives.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "archives" {
  bucket = aws_s3_bucket.archives.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "archives" {
  bucket = aws_s3_bucket.archives.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "archives" {
  bucket = aws_s3_bucket.archives.id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {
      prefix = "archives/"
    }
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
  }
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.archives]
}

# Every request to the archives must use TLS.
data "aws_iam_policy_document" "archives_tls_only" {
  statement {
    sid       = "DenyWithoutTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.archives.arn, "${aws_s3_bucket.archives.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "archives" {
  bucket     = aws_s3_bucket.archives.id
  policy     = data.aws_iam_policy_document.archives_tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.archives]
}
