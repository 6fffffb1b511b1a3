#!/usr/bin/env bash
# One entry point for the deployed stack (LocalStack by default, AWS with AWS_ENDPOINT_URL="").
#   scripts/stack.sh build                 build the Lambda zips (ARCH=x86_64|arm64)
#   scripts/stack.sh deploy                terraform apply (needs TELEGRAM_TOKEN)
#   scripts/stack.sh send <fixture>        queue events/updates/<fixture>.json as the poller would
#   scripts/stack.sh logs <function>       tail poller|command|archiver logs
#   scripts/stack.sh destroy               terraform destroy
set -euo pipefail
cd "$(dirname "$0")/.."
endpoint="${AWS_ENDPOINT_URL-http://localhost:4566}"
arch="${ARCH:-x86_64}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
aws_cli() {
  if [ -n "$endpoint" ]; then
    AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}" \
      aws --endpoint-url "$endpoint" "$@"
  else
    aws "$@"
  fi
}
tf_vars() {
  printf -- '-var=aws_endpoint_url=%s\n-var=lambda_architecture=%s\n' "$endpoint" "$arch"
}
case "${1:-}" in
  build)
    ARCH="$arch" bash scripts/build-lambdas.sh
    ;;
  deploy)
    : "${TELEGRAM_TOKEN:?set TELEGRAM_TOKEN to the bot token from BotFather}"
    [ -f target/lambda/poller/bootstrap.zip ] || ARCH="$arch" bash scripts/build-lambdas.sh
    terraform -chdir=terraform init -input=false
    # The token goes through the environment, never the command line.
    TF_VAR_telegram_token="$TELEGRAM_TOKEN" terraform -chdir=terraform apply -input=false -auto-approve $(tf_vars)
    ;;
  send)
    fixture="events/updates/${2:?name a fixture of events/updates, e.g. start}.json"
    queue_url=$(terraform -chdir=terraform output -raw queue_url)
    update_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["update_id"])' "$fixture")
    # The message group the poller would give it (shared/src/queue/mod.rs, group_for).
    group=$(python3 - "$fixture" <<'PY'
import json, sys
update = json.load(open(sys.argv[1]))
payload = next((v for k, v in update.items() if k != "update_id" and isinstance(v, dict)), None)
chat = None if payload is None else (payload.get("chat") or payload.get("message", {}).get("chat") or {}).get("id")
user = None if payload is None else (payload.get("from") or {}).get("id")
print(f"chat{chat}" if chat is not None else f"user{user}" if user is not None else "updates")
PY
)
    aws_cli sqs send-message --queue-url "$queue_url" --message-body "file://$fixture" \
      --message-group-id "$group" --message-deduplication-id "$update_id"
    echo "queued $fixture (update $update_id); the command function answers it"
    ;;
  logs)
    aws_cli logs tail "/aws/lambda/cloud-ai-${2:?name a function: poller, command or archiver}" --follow
    ;;
  destroy)
    TF_VAR_telegram_token="${TELEGRAM_TOKEN:-unused}" terraform -chdir=terraform destroy -input=false -auto-approve $(tf_vars)
    ;;
  *)
    sed -n '2,7p' "$0" >&2
    exit 2
    ;;
esac
