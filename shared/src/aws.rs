//! AWS clients from the standard configuration chain (`AWS_ENDPOINT_URL`, `AWS_REGION`, ...).

use aws_config::{BehaviorVersion, SdkConfig};

use crate::archive::s3::S3ArchiveStore;
use crate::store::dynamodb::DynamoDbStore;

pub async fn load_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

pub fn dynamodb_store(config: &SdkConfig, table: &str) -> DynamoDbStore {
    DynamoDbStore::new(aws_sdk_dynamodb::Client::new(config), table)
}

/// Path-style addressing when an endpoint is set: emulators serve buckets under one host.
pub fn s3_archive_store(config: &SdkConfig, bucket: &str) -> S3ArchiveStore {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    S3ArchiveStore::new(aws_sdk_s3::Client::from_conf(s3_config), bucket)
}

pub fn sqs_update_queue(config: &SdkConfig, queue_url: &str) -> crate::queue::sqs::SqsUpdateQueue {
    crate::queue::sqs::SqsUpdateQueue::new(aws_sdk_sqs::Client::new(config), queue_url)
}

pub fn eventbridge_bus(
    config: &SdkConfig,
    bus_name: &str,
) -> crate::bus::eventbridge::EventBridgeBus {
    crate::bus::eventbridge::EventBridgeBus::new(aws_sdk_eventbridge::Client::new(config), bus_name)
}
