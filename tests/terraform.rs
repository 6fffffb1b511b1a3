//! The Terraform stack: formatted and valid; applied to moto with the machine's provider mirror,
//! then checked through the AWS API (not only the exit code); a second plan shows no change; the
//! whole pipeline runs on the resources it created, each role configured from the environment
//! Terraform gave its Lambda; and destroy is clean.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use cloud_ai_shared::config::Config;
use cloud_ai_shared::handlers::archive_event::handle_archive_event;
use cloud_ai_shared::handlers::poller::PollSettings;
use cloud_ai_shared::handlers::sqs_batch::handle_batch;
use cloud_ai_shared::wiring;
use cloud_ai_tests::bot_process::stdout_of;
use cloud_ai_tests::fake_telegram::FakeTelegram;
use cloud_ai_tests::fixtures::{event_file, text};
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::observed_bus::ObservedBus;
use cloud_ai_tests::original_bot;
use cloud_ai_tests::queues::{drain, sqs_event};
use cloud_ai_tests::terraform::{Workspace, cli_configuration, repository};

const TOKEN: &str = "123456:terraform-test";
const ADA: i64 = 123456789;
/// A user of the original bot, left in the stack's table and bucket.
const ORIGINAL_USER: i64 = 2001;

#[test]
fn the_terraform_is_formatted_and_valid() {
    let workspace = Workspace::new();
    let fmt = workspace.run(&["fmt", "-check", "-diff", "-recursive"]);
    assert!(
        fmt.status.success(),
        "terraform fmt -check:\n{}",
        String::from_utf8_lossy(&fmt.stdout)
    );
    workspace.ok(&["init", "-backend=false", "-no-color"]);
    let validate = workspace.ok(&["validate", "-no-color"]);
    assert!(
        validate.contains("The configuration is valid"),
        "{validate}"
    );
}

/// A machine with the internet and no mirror gets the registry (with a plugin cache), not a
/// refusal; one with a mirror gets the mirror for the aws provider. Terraform reads both
/// configurations without a complaint.
#[test]
fn the_provider_comes_from_a_mirror_when_there_is_one_and_the_registry_otherwise() {
    let scratch =
        std::env::temp_dir().join(format!("cloud-ai-tfrc-{}", uuid::Uuid::new_v4().simple()));
    let mirror = scratch.join("mirror");
    let cache = scratch.join("plugin-cache");
    std::fs::create_dir_all(mirror.join("registry.terraform.io/hashicorp/aws")).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    let registry = cli_configuration(None, &cache);
    assert!(!registry.contains("filesystem_mirror"), "{registry}");
    assert!(registry.contains("direct {}"), "{registry}");
    assert!(
        registry.contains(&cache.display().to_string()),
        "{registry}"
    );
    let mirrored = cli_configuration(Some(&mirror), &cache);
    assert!(
        mirrored.contains(&format!("path    = {:?}", mirror)),
        "{mirrored}"
    );
    for (name, config) in [("registry", registry), ("mirror", mirrored)] {
        let file = scratch.join(format!("{name}.tfrc"));
        std::fs::write(&file, &config).unwrap();
        let output = std::process::Command::new("terraform")
            .arg("version")
            .env("TF_CLI_CONFIG_FILE", &file)
            .output()
            .expect("terraform runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{name}: {said}");
        assert!(
            !said.contains("problems with the CLI configuration"),
            "{name}:\n{config}\n{said}"
        );
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// `<target>/lambda`, where scripts/build-lambdas.sh puts the zips: cargo's target directory
/// (CARGO_TARGET_DIR or the workspace's) is the one this test runs from, `<target>/debug/deps`.
fn zip_dir() -> String {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test runs from <target>/debug/deps");
    let dir = target.join("lambda");
    for function in ["poller", "webhook", "command", "archiver"] {
        let zip = dir.join(function).join("bootstrap.zip");
        assert!(
            zip.is_file(),
            "{} is missing: build the zips first with bash scripts/build-lambdas.sh",
            zip.display()
        );
    }
    dir.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_applies_to_the_emulator_without_drift_runs_the_pipeline_and_destroys_cleanly() {
    let moto = MotoServer::shared();
    let workspace = Workspace::new();
    let vars = [
        format!("-var=telegram_token={TOKEN}"),
        format!("-var=aws_endpoint_url={}", moto.endpoint),
        format!("-var=lambda_zip_dir={}", zip_dir()),
        // moto's event source mappings swallow queue messages without running anything.
        "-var=enable_event_source_mapping=false".to_string(),
        // The pipeline below leaves an archive in the bucket.
        "-var=force_destroy_archives=true".to_string(),
        // No model answers here: the pipeline's chat message is stored (tests/chat.rs answers).
        "-var=model_backend=none".to_string(),
        // Ada, the fixtures' sender.
        "-var=allowed_users=123456789".to_string(),
        // Voice messages go to a keyed speech-to-text server (none runs here).
        "-var=transcribe_url=http://whisper.internal:8000/v1".to_string(),
        format!("-var=transcribe_api_key={TRANSCRIBE_KEY}"),
    ];
    let with_vars = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|a| a.to_string())
            .chain(vars.iter().cloned())
            .collect()
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        workspace.ok(&refs)
    };
    workspace.ok(&["init", "-no-color"]);
    let applied = run(with_vars(&["apply", "-auto-approve", "-no-color"]));
    assert_no_secret(&applied, "apply's output");

    let sdk = moto.sdk_config().await;

    // DynamoDB: the original's keys, both GSIs, TTL, point-in-time recovery.
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = dynamodb
        .describe_table()
        .table_name("chatbot-sessions")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())]
    );
    let types: std::collections::HashMap<String, String> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(types["pk"], "N");
    assert_eq!(types["sk"], "S");
    let mut indexes: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            let keys: Vec<&str> = i.key_schema().iter().map(|k| k.attribute_name()).collect();
            format!("{}({})", i.index_name().unwrap_or_default(), keys.join(","))
        })
        .collect();
    indexes.sort();
    assert_eq!(
        indexes,
        [
            "active_sessions_index(is_active,last_message_ts)",
            "model_index(model_name,session_id)"
        ]
    );
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name("chatbot-sessions")
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description.unwrap();
    assert_eq!(ttl.attribute_name(), Some("ttl"));
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
    let backups = dynamodb
        .describe_continuous_backups()
        .table_name("chatbot-sessions")
        .send()
        .await
        .unwrap();
    let pitr = backups
        .continuous_backups_description
        .unwrap()
        .point_in_time_recovery_description
        .unwrap();
    assert_eq!(
        pitr.point_in_time_recovery_status().map(|s| s.as_str()),
        Some("ENABLED")
    );

    // S3: public access blocked, encryption, versioning, a lifecycle rule.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let block = s3
        .get_public_access_block()
        .bucket("chatbot-conversations")
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration.unwrap();
    assert_eq!(
        (
            block.block_public_acls,
            block.block_public_policy,
            block.ignore_public_acls,
            block.restrict_public_buckets
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    assert_eq!(
        bucket_versioning(&s3, "chatbot-conversations").await,
        "Enabled"
    );
    let encryption = s3
        .get_bucket_encryption()
        .bucket("chatbot-conversations")
        .send()
        .await
        .unwrap();
    let encryption = encryption.server_side_encryption_configuration.unwrap();
    let default = encryption.rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "AES256");
    // Requests without TLS are denied.
    let policy = s3
        .get_bucket_policy()
        .bucket("chatbot-conversations")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let deny = &policy["Statement"][0];
    assert_eq!(deny["Effect"], "Deny", "{policy}");
    assert_eq!(
        deny["Condition"]["Bool"]["aws:SecureTransport"], "false",
        "{policy}"
    );
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket("chatbot-conversations")
        .send()
        .await
        .unwrap();
    assert!(!lifecycle.rules().is_empty());

    // SQS: the FIFO queue of updates with its dead-letter queue and a long enough visibility.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = sqs
        .get_queue_url()
        .queue_name("cloud-ai-updates.fifo")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::FifoQueue], "true");
    assert_eq!(
        attributes[&QueueAttributeName::VisibilityTimeout],
        "360",
        "six times the command timeout"
    );
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with(":cloud-ai-updates-dlq.fifo"),
        "{redrive}"
    );
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "5"
    );

    // Lambda: three functions on provided.al2023; the queue feeds `command` with partial failures.
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    for function in ["poller", "command", "archiver"] {
        let config = lambda
            .get_function_configuration()
            .function_name(format!("cloud-ai-{function}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            config.runtime().map(|r| r.as_str()),
            Some("provided.al2023"),
            "{function}"
        );
        let env = config
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            env.get("TABLE_NAME").map(String::as_str),
            Some("chatbot-sessions"),
            "{function}"
        );
        // The token is a SecureString parameter; the environment only names it.
        assert!(!env.contains_key("TELEGRAM_TOKEN"), "{function}");
        assert_eq!(
            env.get("TELEGRAM_TOKEN_PARAMETER").map(String::as_str),
            Some("/cloud-ai/telegram-token"),
            "{function}"
        );
        assert_no_secret(&format!("{env:?}"), function);
    }
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let parameter = ssm
        .get_parameter()
        .name("/cloud-ai/telegram-token")
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(parameter.r#type().map(|t| t.as_str()), Some("SecureString"));
    assert_ne!(parameter.value(), Some(TOKEN), "read without decryption");

    // The command role may make every DynamoDB call its handler makes: row deletions of
    // /delete (BatchWriteItem) and an admin's /usage (Scan) included.
    let policies = moto.boto3(
        "import boto3, json\n\
         iam = boto3.client('iam')\n\
         role = boto3.client('lambda').get_function_configuration(FunctionName='cloud-ai-command')['Role'].split('/')[-1]\n\
         names = iam.list_role_policies(RoleName=role)['PolicyNames']\n\
         print(json.dumps([iam.get_role_policy(RoleName=role, PolicyName=n)['PolicyDocument'] for n in names]))",
    );
    let table_actions = statement_values(&policies, "Table", "Action");
    // The transcription key is a parameter only the command role reads; the environment names it.
    let command_env = lambda
        .get_function_configuration()
        .function_name("cloud-ai-command")
        .send()
        .await
        .unwrap()
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        command_env.get("TRANSCRIBE_URL").map(String::as_str),
        Some("http://whisper.internal:8000/v1")
    );
    assert!(!command_env.contains_key("TRANSCRIBE_API_KEY"));
    let key_parameter = command_env["TRANSCRIBE_API_KEY_PARAMETER"].clone();
    assert_eq!(key_parameter, "/cloud-ai/transcribe-api-key");
    assert!(
        !applied.contains(TRANSCRIBE_KEY) && !format!("{command_env:?}").contains(TRANSCRIBE_KEY)
    );
    let readable = statement_values(&policies, "Secrets", "Resource");
    assert!(
        readable
            .iter()
            .any(|arn| arn.ends_with(&format!("parameter{key_parameter}"))),
        "the command role cannot read the transcription key: {readable:?}"
    );
    let secrets = cloud_ai_shared::parameters::read_secret_parameters(&sdk, |name| {
        command_env.get(name).cloned()
    })
    .await
    .unwrap();
    assert_eq!(
        secrets.get("TRANSCRIBE_API_KEY").map(String::as_str),
        Some(TRANSCRIBE_KEY)
    );

    for call in [
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "ConditionCheckItem",
        "Query",
        "BatchWriteItem",
        "Scan",
    ] {
        assert!(
            table_actions.contains(&format!("dynamodb:{call}")),
            "the command role lacks dynamodb:{call}: {table_actions:?}"
        );
    }

    // The operator hears of dead letters, errors, throttles and a stopped poller.
    let alarms = moto.boto3(
        "import boto3, json\n\
         alarms = boto3.client('cloudwatch').describe_alarms()['MetricAlarms']\n\
         topics = [t['TopicArn'] for t in boto3.client('sns').list_topics()['Topics']]\n\
         print(json.dumps({'topics': topics, 'alarms': [{'name': a['AlarmName'], 'metric': a['MetricName'], \
         'dimensions': a['Dimensions'], 'actions': a['AlarmActions'], 'missing': a.get('TreatMissingData')} for a in alarms]}))",
    );
    let topic = alarms["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t.as_str().unwrap().ends_with(":cloud-ai-alarms"))
        .expect("the alarms topic")
        .clone();
    let mut watched: Vec<String> = alarms["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["actions"], serde_json::json!([topic]), "{a}");
            format!(
                "{} {} {}",
                a["name"].as_str().unwrap(),
                a["metric"].as_str().unwrap(),
                a["dimensions"][0]["Value"].as_str().unwrap()
            )
        })
        .collect();
    watched.sort();
    assert_eq!(
        watched,
        [
            "cloud-ai-archiver-dead-letters ApproximateNumberOfMessagesVisible cloud-ai-archiver-dlq",
            "cloud-ai-archiver-errors Errors cloud-ai-archiver",
            "cloud-ai-archiver-throttles Throttles cloud-ai-archiver",
            "cloud-ai-command-errors Errors cloud-ai-command",
            "cloud-ai-command-throttles Throttles cloud-ai-command",
            "cloud-ai-poller-errors Errors cloud-ai-poller",
            "cloud-ai-poller-stopped Invocations cloud-ai-poller",
            "cloud-ai-poller-throttles Throttles cloud-ai-poller",
            "cloud-ai-updates-dead-letters ApproximateNumberOfMessagesVisible cloud-ai-updates-dlq.fifo",
        ]
    );
    let stopped = alarms["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "cloud-ai-poller-stopped")
        .unwrap();
    assert_eq!(
        stopped["missing"], "breaching",
        "no runs at all is the worst case"
    );
    let mappings = lambda.list_event_source_mappings().send().await.unwrap();
    let mapping = mappings
        .event_source_mappings()
        .iter()
        .find(|m| {
            m.function_arn()
                .is_some_and(|arn| arn.ends_with(":function:cloud-ai-command"))
        })
        .expect("an event source mapping for the command function");
    assert!(
        mapping
            .event_source_arn()
            .unwrap()
            .ends_with(":cloud-ai-updates.fifo")
    );
    assert_eq!(
        mapping
            .function_response_types()
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>(),
        ["ReportBatchItemFailures"]
    );

    // EventBridge: the schedule runs the poller; Archived events on the bus go to the archiver
    // with retries and a dead-letter queue.
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let poll = events
        .describe_rule()
        .name("cloud-ai-poll")
        .send()
        .await
        .unwrap();
    assert_eq!(poll.schedule_expression(), Some("rate(1 minute)"));
    let poll_targets = events
        .list_targets_by_rule()
        .rule("cloud-ai-poll")
        .send()
        .await
        .unwrap();
    assert!(
        poll_targets.targets()[0]
            .arn()
            .ends_with(":function:cloud-ai-poller")
    );
    let archived = events
        .describe_rule()
        .name("cloud-ai-archived")
        .event_bus_name("cloud-ai")
        .send()
        .await
        .unwrap();
    let pattern: serde_json::Value =
        serde_json::from_str(archived.event_pattern().unwrap()).unwrap();
    assert_eq!(
        pattern,
        serde_json::json!({"source": ["cloud-ai.command"], "detail-type": ["Archived"]})
    );
    let targets = events
        .list_targets_by_rule()
        .rule("cloud-ai-archived")
        .event_bus_name("cloud-ai")
        .send()
        .await
        .unwrap();
    let target = &targets.targets()[0];
    assert!(target.arn().ends_with(":function:cloud-ai-archiver"));
    assert_eq!(
        target
            .retry_policy()
            .and_then(|r| r.maximum_retry_attempts()),
        Some(20)
    );
    assert!(
        target
            .dead_letter_config()
            .and_then(|d| d.arn())
            .unwrap()
            .ends_with(":cloud-ai-archiver-dlq")
    );

    // A second plan finds nothing to change.
    let mut plan = vec![
        "plan".to_string(),
        "-detailed-exitcode".to_string(),
        "-no-color".to_string(),
    ];
    plan.extend(vars.iter().cloned());
    let refs: Vec<&str> = plan.iter().map(String::as_str).collect();
    let output = workspace.run(&refs);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the plan drifts:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_no_secret(&String::from_utf8_lossy(&output.stdout), "plan's output");

    // moto serves plain HTTP, and enforces the TLS-only policy: an archive cannot be written
    // there. The pipeline below runs without the policy (which the destroy does not miss).
    let denied = s3
        .put_object()
        .bucket("chatbot-conversations")
        .key("archives/1/probe.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .expect_err("a request without TLS is denied");
    assert_eq!(
        denied.raw_response().map(|r| r.status().as_u16()),
        Some(403),
        "{denied:?}"
    );
    s3.delete_bucket_policy()
        .bucket("chatbot-conversations")
        .send()
        .await
        .unwrap();

    let outputs: serde_json::Value =
        serde_json::from_str(&workspace.ok(&["output", "-json", "-no-color"])).unwrap();
    an_update_travels_the_deployed_pipeline_to_an_archive(&sdk, &outputs).await;
    stack_sh_adopt_takes_over_the_original_bots_users(&workspace, &outputs);
    the_stack_switches_to_webhook_ingress_and_back(&workspace, &vars, &sdk).await;

    run(with_vars(&["destroy", "-auto-approve", "-no-color"]));
    let tables = dynamodb.list_tables().send().await.unwrap();
    assert!(
        !tables
            .table_names()
            .contains(&"chatbot-sessions".to_string()),
        "destroy removed the table"
    );
}

/// `ingress = "webhook"`: the HTTP API, its route and integration and the webhook function take
/// the schedule's place, the function configured from its environment queues a POST with the
/// generated secret and refuses one without it, a second plan is a no-op, and `poll` comes back.
async fn the_stack_switches_to_webhook_ingress_and_back(
    workspace: &Workspace,
    vars: &[String],
    sdk: &SdkConfig,
) {
    let moto = MotoServer::shared();
    let args = |first: &[&str], ingress: &str| -> Vec<String> {
        first
            .iter()
            .map(|a| a.to_string())
            .chain(vars.iter().cloned())
            .chain([format!("-var=ingress={ingress}")])
            .collect()
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        workspace.run(&refs)
    };
    let applied = run(args(&["apply", "-auto-approve", "-no-color"], "webhook"));
    let applied_text = String::from_utf8_lossy(&applied.stdout).into_owned();
    assert!(
        applied.status.success(),
        "apply with ingress = webhook:\n{applied_text}\n{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let outputs: serde_json::Value =
        serde_json::from_str(&workspace.ok(&["output", "-json", "-no-color"])).unwrap();
    let url = outputs["webhook_url"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.ends_with("/telegram"), "{url}");

    let api = moto.boto3(
        "import boto3, json\n\
         api = boto3.client('apigatewayv2')\n\
         apis = [a for a in api.get_apis()['Items'] if a['Name'] == 'cloud-ai-webhook']\n\
         a = apis[0]['ApiId']\n\
         routes = api.get_routes(ApiId=a)['Items']\n\
         integrations = api.get_integrations(ApiId=a)['Items']\n\
         stages = api.get_stages(ApiId=a)['Items']\n\
         print(json.dumps({'apis': len(apis), 'protocol': apis[0]['ProtocolType'], \
         'routes': [[r['RouteKey'], r.get('Target')] for r in routes], \
         'integrations': [[i['IntegrationId'], i['IntegrationType'], i['IntegrationUri'], i['PayloadFormatVersion']] for i in integrations], \
         'stages': [[s['StageName'], s.get('AutoDeploy'), s.get('AccessLogSettings', {}).get('DestinationArn', ''), \
         s.get('DefaultRouteSettings', {}).get('ThrottlingRateLimit'), s.get('DefaultRouteSettings', {}).get('ThrottlingBurstLimit')] for s in stages]}))",
    );
    assert_eq!(
        (api["apis"].as_i64(), api["protocol"].as_str()),
        (Some(1), Some("HTTP")),
        "{api}"
    );
    let integration = &api["integrations"][0];
    assert_eq!(integration[1], "AWS_PROXY", "{api}");
    assert!(
        integration[2]
            .as_str()
            .unwrap()
            .contains(":function:cloud-ai-webhook"),
        "{api}"
    );
    assert_eq!(integration[3], "2.0", "{api}");
    assert_eq!(
        api["routes"],
        serde_json::json!([[
            "POST /telegram",
            format!("integrations/{}", integration[0].as_str().unwrap())
        ]]),
        "{api}"
    );
    let stage = &api["stages"][0];
    assert_eq!(
        (&stage[0], &stage[1]),
        (&"$default".into(), &true.into()),
        "{api}"
    );
    assert!(
        stage[2]
            .as_str()
            .unwrap()
            .contains(":log-group:/aws/apigateway/cloud-ai-webhook"),
        "access logs: {api}"
    );
    assert_eq!(
        (stage[3].as_f64(), stage[4].as_i64()),
        (Some(50.0), Some(100)),
        "{api}"
    );

    // No schedule: Telegram brings the updates now.
    let events = aws_sdk_eventbridge::Client::new(sdk);
    assert!(
        events
            .describe_rule()
            .name("cloud-ai-poll")
            .send()
            .await
            .is_err(),
        "the poll schedule is gone"
    );

    // The webhook function holds no token and reads only its secret, which never shows.
    let env = function_env(sdk, "cloud-ai-webhook").await;
    assert!(
        !env.contains_key("TELEGRAM_TOKEN_PARAMETER") && !env.contains_key("TABLE_NAME"),
        "{env:?}"
    );
    let secrets =
        cloud_ai_shared::parameters::read_secret_parameters(sdk, |name| env.get(name).cloned())
            .await
            .unwrap();
    let secret = secrets["WEBHOOK_SECRET"].clone();
    assert!(
        secret.len() == 64 && secret.chars().all(|c| c.is_ascii_alphanumeric()),
        "a generated secret Telegram takes: {} characters",
        secret.len()
    );
    assert!(
        !applied_text.contains(&secret),
        "the secret shows in apply's output"
    );
    let config = cloud_ai_shared::config::WebhookConfig::from_lookup(|name| {
        secrets.get(name).or_else(|| env.get(name)).cloned()
    })
    .unwrap();
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let ingress = cloud_ai_shared::handlers::webhook::WebhookIngress::new(
        std::sync::Arc::new(cloud_ai_shared::aws::sqs_update_queue(
            sdk,
            &config.queue_url,
        )),
        config.secret,
    );
    let mut post = event_file("webhook-update.json");
    let stranger: aws_lambda_events::event::apigw::ApiGatewayV2httpRequest =
        serde_json::from_value(post.clone()).unwrap();
    post["headers"]["x-telegram-bot-api-secret-token"] = secret.clone().into();
    let telegram: aws_lambda_events::event::apigw::ApiGatewayV2httpRequest =
        serde_json::from_value(post.clone()).unwrap();
    assert_eq!(ingress.receive_http_api(&stranger).await.status_code, 401);
    assert_eq!(ingress.receive_http_api(&telegram).await.status_code, 200);
    let queued = drain(&sqs, &config.queue_url).await;
    assert_eq!(
        queued.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        [post["body"].as_str().unwrap()],
        "the POST went on the stack's queue"
    );

    let plan = run(args(
        &["plan", "-detailed-exitcode", "-no-color"],
        "webhook",
    ));
    let plan_text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "the webhook plan drifts:\n{plan_text}"
    );
    assert!(
        !plan_text.contains(&secret),
        "the secret shows in plan's output"
    );

    let back = run(args(&["apply", "-auto-approve", "-no-color"], "poll"));
    assert!(
        back.status.success(),
        "back to poll:\n{}\n{}",
        String::from_utf8_lossy(&back.stdout),
        String::from_utf8_lossy(&back.stderr)
    );
    let poll = events
        .describe_rule()
        .name("cloud-ai-poll")
        .send()
        .await
        .unwrap();
    assert_eq!(poll.schedule_expression(), Some("rate(1 minute)"));
    let gone = moto.boto3(
        "import boto3, json\n\
         apis = boto3.client('apigatewayv2').get_apis()['Items']\n\
         print(json.dumps([a['Name'] for a in apis]))",
    );
    assert_eq!(gone, serde_json::json!([]), "the HTTP API is gone");
    assert!(
        aws_sdk_lambda::Client::new(sdk)
            .get_function_configuration()
            .function_name("cloud-ai-webhook")
            .send()
            .await
            .is_err(),
        "the webhook function is gone"
    );
}

/// `scripts/stack.sh adopt` on the deployed stack, with the names from its state: a user the
/// original bot left in the stack's table and bucket is adopted, the pipeline's own user (an
/// archive of ours under their prefix) is left as they are, and a second run writes nothing.
fn stack_sh_adopt_takes_over_the_original_bots_users(
    workspace: &Workspace,
    outputs: &serde_json::Value,
) {
    let output = |name: &str| outputs[name]["value"].as_str().unwrap().to_string();
    original_bot::seed_into(
        &output("table_name"),
        &output("bucket_name"),
        "small",
        Some(ORIGINAL_USER),
    );
    // The one-process binary with the AWS storage: cargo builds it for this test (see
    // functions/cloud-ai/Cargo.toml).
    let binary = env!("CARGO_BIN_EXE_cloud-ai");
    let adopt = || {
        stdout_of(
            std::process::Command::new("bash")
                .arg(repository().join("scripts/stack.sh"))
                .arg("adopt")
                .env("TF_DIR", &workspace.dir)
                .env("TF_CLI_CONFIG_FILE", workspace.cli_config())
                .env("AWS_ENDPOINT_URL", &MotoServer::shared().endpoint)
                .env("CLOUD_AI_BIN", binary)
                .env_remove("STORAGE")
                .env_remove("TABLE_NAME")
                .env_remove("BUCKET_NAME"),
        )
    };
    let first = adopt();
    assert!(
        first.contains(&format!(
            "user {ORIGINAL_USER}: adopted 2 sessions, 6 messages, 1 archives"
        )),
        "{first}"
    );
    assert!(
        first.contains(&format!(
            "user {ADA}: has a cloud-ai stream of its own; left as it is"
        )),
        "{first}"
    );
    let second = adopt();
    assert!(
        second.contains("0 adopted now, 2 already on cloud-ai")
            && second.contains("wrote 0 sessions, 0 messages, 0 archives in 0 events"),
        "{second}"
    );
}

/// The `field` (`Action`, `Resource`) values of the role policies' statements named `sid`; IAM
/// gives one value as a string and several as a list.
fn statement_values(policies: &serde_json::Value, sid: &str, field: &str) -> Vec<String> {
    policies
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|doc| doc["Statement"].as_array().unwrap().clone())
        .filter(|statement| statement["Sid"] == sid)
        .flat_map(|statement| match &statement[field] {
            serde_json::Value::String(one) => vec![one.clone()],
            many => many
                .as_array()
                .unwrap()
                .iter()
                .map(|value| value.as_str().unwrap().to_string())
                .collect(),
        })
        .collect()
}

/// The transcription server's key (Terraform keeps it in a parameter).
const TRANSCRIBE_KEY: &str = "sk-whisper-not-in-any-output";

/// The token's secret part must not show in what Terraform prints or the functions carry.
fn assert_no_secret(text: &str, place: &str) {
    let secret = TOKEN.split(':').nth(1).unwrap();
    assert!(!text.contains(secret), "the bot token shows in {place}");
}

/// The bucket's versioning status. moto answers `GetBucketVersioning` with the root element
/// `GetBucketVersioningResponse` where S3 sends `VersioningConfiguration`, which the SDK's decoder
/// refuses; then the status is read from the same raw answer.
async fn bucket_versioning(s3: &aws_sdk_s3::Client, bucket: &str) -> String {
    match s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(output) => output
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        Err(error) => {
            let body = error
                .raw_response()
                .and_then(|r| r.body().bytes())
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_else(|| panic!("GetBucketVersioning failed: {error:?}"));
            assert!(
                body.contains("<GetBucketVersioningResponse"),
                "GetBucketVersioning failed: {error:?}"
            );
            let status = body
                .split("<Status>")
                .nth(1)
                .and_then(|rest| rest.split("</Status>").next());
            status.unwrap_or_default().to_string()
        }
    }
}

/// The environment Terraform gave the Lambda `function_name`.
async fn function_env(
    sdk: &SdkConfig,
    function_name: &str,
) -> std::collections::HashMap<String, String> {
    aws_sdk_lambda::Client::new(sdk)
        .get_function_configuration()
        .function_name(function_name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{function_name}: {e:?}"))
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default()
}

/// The configuration a role gets from the environment Terraform gave its Lambda, with only the
/// Telegram API moved to the fake (the SDK reaches moto through the test's own configuration).
async fn role_config(sdk: &SdkConfig, function_name: &str, telegram: &FakeTelegram) -> Config {
    let env = function_env(sdk, function_name).await;
    // The function reads its secrets from the parameters its environment names, as at a cold start.
    let secrets =
        cloud_ai_shared::parameters::read_secret_parameters(sdk, |name| env.get(name).cloned())
            .await
            .unwrap_or_else(|e| panic!("{function_name}'s secrets: {e}"));
    assert_eq!(
        secrets.get("TELEGRAM_TOKEN").map(String::as_str),
        Some(TOKEN)
    );
    Config::from_lookup(|name| match name {
        "TELEGRAM_API_URL" => Some(telegram.base_url.clone()),
        _ => secrets.get(name).or_else(|| env.get(name)).cloned(),
    })
    .unwrap_or_else(|e| panic!("{function_name}'s environment: {e}"))
}

/// Fixture updates served by the fake Telegram → poller → the stack's FIFO queue → command role
/// (as its event source mapping would call it) → the stack's bus, whose `Archived` rule delivers
/// to the archiver role → the stack's bucket and table. The test plays the parts moto does not
/// run: the Lambdas (in-process, on the library) and the rule's Lambda target (swapped for a
/// queue after the drift check, since moto's `PutEvents` fails when a rule targets a Lambda).
async fn an_update_travels_the_deployed_pipeline_to_an_archive(
    sdk: &SdkConfig,
    outputs: &serde_json::Value,
) {
    let output = |name: &str| outputs[name]["value"].clone();
    let function = |role: &str| output("function_names")[role].as_str().unwrap().to_string();
    let telegram = FakeTelegram::start(TOKEN).await;
    let poller_config = role_config(sdk, &function("poller"), &telegram).await;
    let command_config = role_config(sdk, &function("command"), &telegram).await;
    let archiver_config = role_config(sdk, &function("archiver"), &telegram).await;
    let bus_name = output("event_bus_name");
    let archived = ObservedBus::redirect(
        sdk,
        bus_name.as_str().unwrap(),
        "cloud-ai-archived",
        "archiver",
    )
    .await;

    let poller = wiring::poller_with(
        &poller_config,
        sdk,
        PollSettings {
            long_poll: Duration::from_secs(1),
            reserve: Duration::ZERO,
            min_interval: Duration::from_millis(100),
        },
    )
    .unwrap();
    let command = wiring::publishing_command_handler(&command_config, sdk).unwrap();
    let archiver = wiring::command_handler(&archiver_config, sdk);

    // Ada starts, chats, and archives her session.
    for fixture in ["start", "chat"] {
        telegram.queue_update(event_file(&format!("updates/{fixture}.json")));
    }
    telegram.queue_update(text(100_100, ADA, ADA, "/archive 1"));
    let report = poller
        .run(tokio::time::Instant::now() + Duration::from_millis(1500))
        .await
        .unwrap();
    assert_eq!(report.queued, 3);

    // The event source mapping: the stack's queue, in order, as one SqsEvent.
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let messages = drain(&sqs, output("queue_url").as_str().unwrap()).await;
    let records: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| (m.message_id.as_str(), m.body.as_str()))
        .collect();
    assert_eq!(records.len(), 3, "the poller queued on the stack's queue");
    let response = handle_batch(&command, &sqs_event(&records)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let texts = telegram.texts();
    assert_eq!(
        texts.len(),
        2,
        "greeting and chat; the archive confirmation waits for the archiver: {texts:?}"
    );
    assert!(texts[0].starts_with("Hello, Ada!"), "{texts:?}");
    assert!(texts[1].starts_with("Saved to session 1."), "{texts:?}");

    // The stack's rule matches the command role's Archived event; the archiver finishes the job.
    let delivered = archived.take().await;
    let kinds: Vec<&str> = delivered.iter().map(|e| e.detail_type.as_str()).collect();
    assert_eq!(kinds, ["Archived"]);
    for event in &delivered {
        handle_archive_event(&archiver, event).await.unwrap();
    }
    assert_eq!(
        telegram.last_text(),
        "Archived session 1 \"What is an event store?\" (llama3, 1 message). It is archive 1 in /listarchives."
    );
    assert_eq!(telegram.texts().len(), 3);

    // The archive is in the stack's bucket, in the original's layout, and the live rows are gone.
    let bucket = output("bucket_name");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    let listed = s3
        .list_objects_v2()
        .bucket(bucket.as_str().unwrap())
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with(&format!("archives/{ADA}/")), "{keys:?}");
    let table = output("table_name");
    let items = aws_sdk_dynamodb::Client::new(sdk)
        .query()
        .table_name(table.as_str().unwrap())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::N(ADA.to_string()),
        )
        .send()
        .await
        .unwrap();
    let sort_keys: Vec<&str> = items
        .items()
        .iter()
        .filter_map(|item| item.get("sk")?.as_s().ok().map(String::as_str))
        .collect();
    assert!(
        sort_keys.contains(&"STATE"),
        "Ada's stream is in the stack's table: {sort_keys:?}"
    );
    assert!(
        !sort_keys
            .iter()
            .any(|sk| sk.starts_with("MODEL#") || sk.starts_with("MSG#")),
        "the live session rows are gone: {sort_keys:?}"
    );
    archived.delete().await;
}
