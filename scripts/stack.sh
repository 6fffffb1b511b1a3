#!/usr/bin/env bash
# One entry point for the deployed stack (LocalStack by default, AWS with AWS_ENDPOINT_URL="").
#   scripts/stack.sh build                 build the Lambda zips (ARCH=x86_64|arm64)
#   scripts/stack.sh ready                 wait until LocalStack serves every service the stack needs
#   scripts/stack.sh deploy                ready, then terraform apply (needs TELEGRAM_TOKEN;
#                                          TF_VAR_ingress=webhook for webhook ingress)
#   scripts/stack.sh webhook               register the stack's webhook URL and secret with Telegram
#   scripts/stack.sh poll                  remove the webhook, so the scheduled poller can poll
#   scripts/stack.sh send <fixture>        queue events/updates/<fixture>.json as the poller would
#   scripts/stack.sh logs <function>       tail poller|command|archiver logs
#   scripts/stack.sh redrive               count the dead letters and move them back to their queue
#   scripts/stack.sh adopt                 cloud-ai adopt on the stack's table and bucket: take over
#                                          every user the original Python bot left data of
#   scripts/stack.sh destroy               terraform destroy
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
endpoint="${AWS_ENDPOINT_URL-http://localhost:4566}"
arch="${ARCH:-x86_64}"
tf_dir="${TF_DIR:-terraform}"   # the Terraform working directory whose state names the stack
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
aws_cli() {
  if [ -n "$endpoint" ]; then
    AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}" \
      aws --endpoint-url "$endpoint" "$@"
  else
    aws "$@"
  fi
}
# The Bot API method $1 with the JSON body $2: the token and the body (which may hold the
# webhook's secret) go through the environment, off any command line. Prints Telegram's answer; fails on ok: false.
bot_api() {
  TELEGRAM_TOKEN="${TELEGRAM_TOKEN:?set TELEGRAM_TOKEN to the bot token}" BODY="$2" python3 - "$1" <<'PY'
import json, os, sys, urllib.error, urllib.request
method, body = sys.argv[1], json.loads(os.environ["BODY"])
base = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/")
request = urllib.request.Request(f"{base}/bot{os.environ['TELEGRAM_TOKEN']}/{method}",
    data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
try:
    answer = json.load(urllib.request.urlopen(request, timeout=30))
except urllib.error.HTTPError as e:
    answer = json.load(e)
except OSError as e:
    sys.exit(f"{method}: cannot reach Telegram: {e}")
if not answer.get("ok"):
    sys.exit(f"{method}: Telegram said {answer.get('error_code')} {answer.get('description')}")
print(json.dumps(answer))
PY
}
# The services the stack uses, as LocalStack's /_localstack/health names them.
localstack_services="dynamodb,s3,sqs,lambda,events,iam,logs,sts,ssm,sns,cloudwatch"
# Waits (LOCALSTACK_WAIT_SECONDS, 120) until LocalStack at $endpoint reports every service the
# stack needs as available or running; otherwise names what is missing, or why nothing answers.
# Nothing to wait for on AWS itself (an empty endpoint).
localstack_ready() {
  [ -n "$endpoint" ] || return 0
  if ENDPOINT="$endpoint" NEEDED="$localstack_services" WAIT="${LOCALSTACK_WAIT_SECONDS:-120}" \
    INGRESS="${TF_VAR_ingress:-poll}" python3 - <<'PY'
import json, os, sys, time, urllib.error, urllib.request
endpoint, needed = os.environ["ENDPOINT"].rstrip("/"), os.environ["NEEDED"].split(",")
wait = float(os.environ["WAIT"])
deadline = time.monotonic() + wait
while True:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=5) as answer:
            health = json.load(answer)
        services = health.get("services", {})
        missing = [s for s in needed if services.get(s) not in ("available", "running")]
        if not missing:
            if os.environ["INGRESS"] == "webhook" and health.get("edition") == "community":
                sys.exit("webhook ingress needs API Gateway v2, which LocalStack serves only with an "
                         "account (its Base plan): set LOCALSTACK_AUTH_TOKEN and LOCALSTACK_IMAGE, or "
                         "deploy with TF_VAR_ingress=poll")
            print(f"LocalStack {health.get('version', '?')} ({health.get('edition', '?')}) at {endpoint} "
                  f"serves {', '.join(needed)}")
            sys.exit(0)
        problem = "not ready: " + ", ".join(f"{s} ({services.get(s, 'not in its SERVICES')})" for s in missing)
        unreachable = False
    except urllib.error.HTTPError as e:
        problem = (f"{endpoint} answers, but not /_localstack/health (HTTP {e.code}): it is not LocalStack; "
                   "for another AWS emulator or AWS run terraform yourself, or set AWS_ENDPOINT_URL=\"\" for AWS")
        unreachable = False
    except (OSError, ValueError) as e:
        problem = f"nothing answers at {endpoint} ({getattr(e, 'reason', e)})"
        unreachable = True
    if time.monotonic() >= deadline:
        print(f"LocalStack at {endpoint} was not ready within {wait:.0f} s: {problem}", file=sys.stderr)
        sys.exit(3 if unreachable else 1)
    time.sleep(2)
PY
  then
    return 0
  else
    status=$?
    [ "$status" = 3 ] && localstack_why_down
    exit 1
  fi
}
# Why the compose file's LocalStack is not answering, when Docker can say: a release after 4.14.0
# started without LOCALSTACK_AUTH_TOKEN exits with code 55 and says so in its log.
localstack_why_down() {
  command -v docker >/dev/null || return 0
  local container=cloud-ai-localstack state
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || {
    echo "Docker is not answering either: start it, then docker compose up -d" >&2
    return 0
  }
  state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$container" 2>/dev/null) || {
    echo "no container $container: start LocalStack with docker compose up -d" >&2
    return 0
  }
  case "$state" in
    running*) return 0 ;;
  esac
  if [ "${state#* }" = 55 ] || docker logs --tail 100 "$container" 2>&1 | grep -qi 'license activation failed\|requires an account'; then
    image=$(docker inspect -f '{{.Config.Image}}' "$container" 2>/dev/null || echo "its image")
    echo "LocalStack refused to start: $image needs an account. Set LOCALSTACK_AUTH_TOKEN (a free account at localstack.cloud gives one) and run docker compose up -d again, or use localstack/localstack:4.14.0, the last release that starts without one (unset LOCALSTACK_IMAGE)." >&2
  else
    echo "the container $container is $state: docker logs $container says why" >&2
  fi
}
tf_vars() {
  printf -- '-var=aws_endpoint_url=%s\n-var=lambda_architecture=%s\n-var=lambda_zip_dir=%s\n' \
    "$endpoint" "$arch" "$LAMBDA_DIR"
}
case "${1:-}" in
  build)
    ARCH="$arch" bash scripts/build-lambdas.sh
    ;;
  ready)
    localstack_ready
    ;;
  deploy)
    : "${TELEGRAM_TOKEN:?set TELEGRAM_TOKEN to the bot token from BotFather}"
    localstack_ready
    [ -f "$LAMBDA_DIR/poller/bootstrap.zip" ] || ARCH="$arch" bash scripts/build-lambdas.sh
    terraform -chdir="$tf_dir" init -input=false
    # The token goes through the environment, never the command line.
    TF_VAR_telegram_token="$TELEGRAM_TOKEN" terraform -chdir="$tf_dir" apply -input=false -auto-approve $(tf_vars)
    ;;
  webhook)
    # The URL and the secret from the stack; the bot handles messages only, so Telegram sends
    # nothing else. A webhook of another program is not replaced without FORCE=1.
    url=$(terraform -chdir="$tf_dir" output -raw webhook_url)
    [ -n "$url" ] || { echo "the stack has no webhook: deploy with TF_VAR_ingress=webhook first" >&2; exit 1; }
    parameter=$(terraform -chdir="$tf_dir" output -raw webhook_secret_parameter)
    current=$(bot_api getWebhookInfo '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["url"])')
    if [ -n "$current" ] && [ "$current" != "$url" ] && [ -z "${FORCE:-}" ]; then
      echo "the token already has a webhook at $current, not this stack's $url: another program receives its updates (FORCE=1 replaces it)" >&2
      exit 1
    fi
    secret=$(aws_cli ssm get-parameter --name "$parameter" --with-decryption --query Parameter.Value --output text)
    body=$(URL="$url" SECRET="$secret" python3 -c 'import json,os; print(json.dumps({"url": os.environ["URL"], "secret_token": os.environ["SECRET"], "allowed_updates": ["message"], "max_connections": int(os.environ.get("MAX_CONNECTIONS", "40"))}))')
    bot_api setWebhook "$body" >/dev/null
    echo "webhook set: Telegram POSTs updates to $url (scripts/stack.sh poll removes it)"
    ;;
  poll)
    # Updates waiting at Telegram are kept: the poller fetches them.
    current=$(bot_api getWebhookInfo '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["url"])')
    bot_api deleteWebhook '{"drop_pending_updates": false}' >/dev/null
    echo "webhook removed${current:+ (it was $current)}: the scheduled poller fetches updates (deploy with TF_VAR_ingress=poll for its schedule)"
    ;;
  send)
    fixture="events/updates/${2:?name a fixture of events/updates, e.g. start}.json"
    queue_url=$(terraform -chdir="$tf_dir" output -raw queue_url)
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
  redrive)
    # SQS moves the dead-letter queue's messages back to the queue they came from
    # (StartMessageMoveTask); the command function handles them again, and the receipts keep
    # whatever was already done from being done twice.
    for output in dead_letter_queue_url archiver_dead_letter_queue_url; do
      dlq_url=$(terraform -chdir="$tf_dir" output -raw "$output")
      count=$(aws_cli sqs get-queue-attributes --queue-url "$dlq_url" \
        --attribute-names ApproximateNumberOfMessages --query 'Attributes.ApproximateNumberOfMessages' --output text)
      echo "$output: $count dead letter(s)"
      [ "$count" = "0" ] && continue
      if [ "$output" = archiver_dead_letter_queue_url ]; then
        echo "  archive events came from EventBridge, which SQS cannot move them back to: replay each with aws events put-events (see the README)"
        continue
      fi
      dlq_arn=$(aws_cli sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn \
        --query 'Attributes.QueueArn' --output text)
      aws_cli sqs start-message-move-task --source-arn "$dlq_arn"
      echo "  moving them back to the update queue"
    done
    ;;
  adopt)
    # The stack's own names, from its state; the one-process binary does the work
    # (CLOUD_AI_BIN, else built with cargo). Safe to run twice, or while the stack runs.
    table=$(terraform -chdir="$tf_dir" output -raw table_name)
    bucket=$(terraform -chdir="$tf_dir" output -raw bucket_name)
    if [ -n "${CLOUD_AI_BIN:-}" ]; then
      adopt=("$CLOUD_AI_BIN" adopt)
    else
      adopt=(cargo run --release --quiet -p cloud-ai --features aws -- adopt)
    fi
    if [ -n "$endpoint" ]; then
      export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" \
        AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
    else
      unset AWS_ENDPOINT_URL
    fi
    STORAGE=aws TABLE_NAME="$table" BUCKET_NAME="$bucket" AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}" \
      "${adopt[@]}"
    ;;
  destroy)
    TF_VAR_telegram_token="${TELEGRAM_TOKEN:-unused}" terraform -chdir="$tf_dir" destroy -input=false -auto-approve $(tf_vars)
    ;;
  *)
    sed -n '2,15p' "$0" >&2
    exit 2
    ;;
esac
