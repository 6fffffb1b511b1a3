//! The Terraform stack: formatted and valid; applied to moto with the machine's provider mirror,
//! then checked through the AWS API (not only the exit code); a second plan shows no change; and
//! destroy is clean.

use aws_sdk_sqs::types::QueueAttributeName;
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::terraform::{Workspace, repository};

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

fn zip_dir() -> String {
    let dir = repository().join("target/lambda");
    for function in ["poller", "command", "archiver"] {
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
async fn the_stack_applies_to_the_emulator_with_its_settings_and_without_drift() {
    let moto = MotoServer::shared();
    let workspace = Workspace::new();
    let vars = [
        "-var=telegram_token=123456:terraform-test".to_string(),
        format!("-var=aws_endpoint_url={}", moto.endpoint),
        format!("-var=lambda_zip_dir={}", zip_dir()),
        // moto's event source mappings swallow queue messages without running anything.
        "-var=enable_event_source_mapping=false".to_string(),
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
    run(with_vars(&["apply", "-auto-approve", "-no-color"]));

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
        assert!(env.contains_key("TELEGRAM_TOKEN"), "{function}");
    }
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

    run(with_vars(&["destroy", "-auto-approve", "-no-color"]));
    let tables = dynamodb.list_tables().send().await.unwrap();
    assert!(
        !tables
            .table_names()
            .contains(&"chatbot-sessions".to_string()),
        "destroy removed the table"
    );
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
