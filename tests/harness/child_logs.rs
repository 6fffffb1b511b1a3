//! What a child process writes to stderr, collected as it comes, for assertions and for failure
//! messages.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::process::ChildStderr;

/// Copies `pipe` into the returned text until the process closes it (the task ends then). Past
/// `keep` bytes the oldest half is dropped: the tail is what explains a failure.
pub fn collect(
    mut pipe: ChildStderr,
    keep: usize,
) -> (Arc<Mutex<String>>, tokio::task::JoinHandle<()>) {
    let logs = Arc::new(Mutex::new(String::new()));
    let sink = logs.clone();
    let reader = tokio::spawn(async move {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            let mut logs = sink.lock().unwrap();
            logs.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if logs.len() > keep {
                let cut = (logs.len() - keep / 2..logs.len())
                    .find(|i| logs.is_char_boundary(*i))
                    .unwrap_or(logs.len());
                logs.drain(..cut);
            }
        }
    });
    (logs, reader)
}
