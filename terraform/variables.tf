variable "telegram_token" {
  description = "The bot token from BotFather."
  type        = string
  sensitive   = true
}

variable "aws_region" {
  type    = string
  default = "us-east-1"
}

variable "aws_endpoint_url" {
  description = "An emulator's endpoint (LocalStack: http://localhost:4566). Empty for real AWS."
  type        = string
  default     = ""
}

variable "function_aws_endpoint_url" {
  description = "AWS_ENDPOINT_URL for the functions themselves. Leave empty on AWS and on LocalStack (it injects its own into Lambda containers)."
  type        = string
  default     = ""
}

variable "name_prefix" {
  description = "Prefix of the queue, bus, rule, function and role names."
  type        = string
  default     = "cloud-ai"
}

variable "table_name" {
  type    = string
  default = "chatbot-sessions"
}

variable "bucket_name" {
  description = "The archive bucket (S3 names are global: on real AWS add bucket_suffix)."
  type        = string
  default     = "chatbot-conversations"
}

variable "force_destroy_archives" {
  description = "Let terraform destroy delete the archive bucket with the users' archives in it (otherwise destroy stops at a non-empty bucket)."
  type        = bool
  default     = false
}

variable "bucket_suffix" {
  description = "Appended to bucket_name as -<suffix> when set, for a globally unique name."
  type        = string
  default     = ""
}

variable "lambda_architecture" {
  description = "x86_64 or arm64: must match the zips built by scripts/build-lambdas.sh."
  type        = string
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "lambda_zip_dir" {
  description = "Where cargo-lambda put the zips: <dir>/<function>/bootstrap.zip (scripts/stack.sh passes <cargo's target directory>/lambda, which follows CARGO_TARGET_DIR)."
  type        = string
  default     = "../target/lambda"
}

variable "poll_schedule" {
  description = "How often the poller runs (it polls for most of its timeout each time)."
  type        = string
  default     = "rate(1 minute)"
}

variable "poller_timeout" {
  description = "Seconds; the poller long-polls until about this long."
  type        = number
  default     = 55
}

variable "command_timeout" {
  type    = number
  default = 60
}

variable "command_concurrency" {
  description = "Most command functions at once (one chat's updates are in order whatever this is)."
  type        = number
  default     = 10
}

variable "archiver_concurrency" {
  type    = number
  default = 5
}

variable "archiver_timeout" {
  type    = number
  default = 60
}

variable "log_retention_days" {
  type    = number
  default = 14
}

variable "default_model" {
  type    = string
  default = "llama3"
}

variable "allowed_users" {
  description = "Who may use the bot: user ids and/or @usernames, comma-separated; * for everyone. Empty: only the admins (a stranger is told their id once an hour)."
  type        = string
  default     = ""
}

variable "admin_users" {
  description = "The bot's admins (user ids and/or @usernames, comma-separated): they may use it, /allow, /deny and /users, and manage a group's sessions."
  type        = string
  default     = ""
}

variable "bot_username" {
  description = "The bot's username, to tell /cmd@other_bot apart in groups (optional)."
  type        = string
  default     = ""
}

variable "enable_event_source_mapping" {
  description = "Off only on emulators that swallow queue messages without running the function (moto)."
  type        = bool
  default     = true
}

variable "model_backend" {
  description = "What answers chat messages: ollama, openai (any OpenAI-compatible server) or none (messages are only stored)."
  type        = string
  default     = "ollama"
  validation {
    condition     = contains(["ollama", "openai", "none"], var.model_backend)
    error_message = "model_backend must be ollama, openai or none."
  }
}

variable "ollama_url" {
  description = "Ollama's base URL as the command function reaches it (on LocalStack: http://host.docker.internal:11434)."
  type        = string
  default     = "http://host.docker.internal:11434"
}

variable "openai_base_url" {
  description = "An OpenAI-compatible server's base URL up to /v1, for model_backend = openai."
  type        = string
  default     = ""
}

variable "openai_api_key" {
  description = "The OpenAI-compatible server's API key, if it needs one."
  type        = string
  default     = ""
  sensitive   = true
}

variable "system_prompt" {
  description = "Sent first in every conversation (optional)."
  type        = string
  default     = ""
}

variable "max_answer_tokens" {
  description = "The most tokens an answer may take (sent as num_predict to Ollama, max_tokens to OpenAI-compatible servers); a cut answer says so."
  type        = number
  default     = 1024
  validation {
    condition     = var.max_answer_tokens >= 1 && floor(var.max_answer_tokens) == var.max_answer_tokens
    error_message = "max_answer_tokens must be a whole number of at least 1."
  }
}

variable "vision_models" {
  description = "Models that see photos, separated by commas (e.g. \"llava,gpt-4o\"). Empty: Ollama's /api/show capabilities decide; an OpenAI-compatible server's models get captions only."
  type        = string
  default     = ""
}

variable "transcribe_url" {
  description = "An OpenAI-compatible speech-to-text server, up to /v1 (OpenAI, whisper.cpp's server, faster-whisper servers, LocalAI), for voice messages. Empty: voice messages get a polite reply."
  type        = string
  default     = ""
  validation {
    condition     = var.transcribe_url == "" || can(regex("^https?://", var.transcribe_url))
    error_message = "transcribe_url must be empty or an http(s) URL."
  }
}

variable "transcribe_model" {
  description = "The speech-to-text model (OpenAI: whisper-1)."
  type        = string
  default     = "whisper-1"
}

variable "transcribe_api_key" {
  description = "The speech-to-text server's API key, if it needs one (kept in an SSM SecureString parameter)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "alarm_email" {
  description = "An e-mail address subscribed to the alarms topic (it must confirm the subscription). Empty: subscribe yourself to the topic."
  type        = string
  default     = ""
}

variable "messages_per_minute" {
  description = "Per user: messages a minute the bot takes; past it the user is told once and the rest are skipped until the minute ends."
  type        = number
  default     = 20
}

variable "tokens_per_day" {
  description = "Per user: model tokens a day (as the backend reports them); past it chat messages are not sent to the model until midnight UTC."
  type        = number
  default     = 200000
}

variable "ingress" {
  description = "How updates arrive: poll (a scheduled poller long-polls getUpdates) or webhook (Telegram POSTs each update to an API Gateway HTTP API; run scripts/stack.sh webhook after apply to register it)."
  type        = string
  default     = "poll"
  validation {
    condition     = contains(["poll", "webhook"], var.ingress)
    error_message = "ingress must be poll or webhook."
  }
}

variable "webhook_secret" {
  description = "The webhook's secret_token (1 to 256 of A-Z, a-z, 0-9, _ and -). Empty: one is generated and kept in SSM (never in the state). It is written when the parameter is created and when webhook_secret_version changes; then run scripts/stack.sh webhook."
  type        = string
  default     = ""
  sensitive   = true
  validation {
    condition     = var.webhook_secret == "" || can(regex("^[A-Za-z0-9_-]{1,256}$", var.webhook_secret))
    error_message = "webhook_secret takes 1 to 256 characters of A-Z, a-z, 0-9, _ and -."
  }
}

variable "webhook_secret_version" {
  description = "Raise it to write webhook_secret (or a newly generated secret) to the parameter again, then run scripts/stack.sh webhook."
  type        = number
  default     = 1
}

variable "webhook_concurrency" {
  description = "Most webhook functions at once (Telegram sends at most setWebhook's max_connections requests at a time)."
  type        = number
  default     = 10
}

variable "webhook_throttle_rate" {
  description = "Requests a second the webhook's API stage accepts in steady state (Telegram retries what is refused)."
  type        = number
  default     = 50
}

variable "webhook_throttle_burst" {
  description = "Requests the webhook's API stage accepts at once."
  type        = number
  default     = 100
}
