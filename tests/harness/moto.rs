//! Starts moto's server (`harness/moto_server.py`) once per test process, on a free port, and
//! stops it when the process ends (it watches its standard input for the end of the process).

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, Region};

const INSTALL_HINT: &str =
    "run scripts/setup.sh, which installs moto[server]==5.* into the project's .venv/tools";

/// Ends moto with the test process, however it ends: the wrapper kills moto when its standard
/// input, held by the test process, closes; and the kernel kills moto if the wrapper dies (Linux's
/// PR_SET_PDEATHSIG, which follows the wrapper's only thread; it is not set on the wrapper itself,
/// since it would follow the test thread that happened to start it, not the test process).
const WRAPPER: &str = r#"import ctypes, signal, subprocess, sys
def die_with_parent():
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except Exception:
        pass
p = subprocess.Popen([sys.executable, sys.argv[2], sys.argv[1]],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
sys.stdin.read()
p.kill()
"#;

pub struct MotoServer {
    pub endpoint: String,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

/// `MOTO_PYTHON`, else the project's own environment (scripts/setup.sh), else `python3`.
pub fn python() -> String {
    if let Ok(python) = std::env::var("MOTO_PYTHON") {
        return python;
    }
    let project =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/tools/bin/python");
    if project.exists() {
        return project.display().to_string();
    }
    "python3".to_string()
}

/// moto's server with each DynamoDB request run alone (see the script for why).
fn server_script() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("harness/moto_server.py")
        .display()
        .to_string()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl MotoServer {
    /// The process's moto server, started on first use.
    pub fn shared() -> &'static MotoServer {
        static SERVER: OnceLock<MotoServer> = OnceLock::new();
        SERVER.get_or_init(MotoServer::start)
    }

    fn start() -> MotoServer {
        let python = python();
        let check = Command::new(&python)
            .args(["-c", "import moto.server, flask"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python} to start moto ({e}); {INSTALL_HINT}"));
        assert!(
            check.status.success(),
            "moto's server is not installed for {python}; {INSTALL_HINT}\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let port = free_port();
        let mut child = Command::new(&python)
            .args(["-c", WRAPPER, &port.to_string(), &server_script()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto's server: {e}"));
        let stdin = child.stdin.take().expect("stdin is piped");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .map(|mut e| e.read_to_string(&mut stderr));
                panic!("moto's server exited ({status}) before it listened: {stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "moto's server did not listen on {address} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        MotoServer {
            endpoint: format!("http://{address}"),
            _child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        }
    }

    /// Runs a boto3 `script` (boto3 comes with moto) against this server and parses what it
    /// prints as JSON: for the services the tests have no Rust SDK crate for (CloudWatch, SNS).
    pub fn boto3(&self, script: &str) -> serde_json::Value {
        self.python(&["-c".to_string(), script.to_string()])
    }

    /// Runs moto's Python with `args` against this server and parses what it prints as JSON.
    pub fn python(&self, args: &[String]) -> serde_json::Value {
        let output = Command::new(python())
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .expect("run boto3");
        assert!(
            output.status.success(),
            "the Python script failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "the Python script printed no JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// Stores `value` as a fresh SecureString parameter, as the stack keeps the bot token;
    /// returns its name (for `TELEGRAM_TOKEN_PARAMETER`).
    pub async fn secure_parameter(&self, value: &str) -> String {
        let name = format!("/cloud-ai-test/{}/secret", uuid::Uuid::new_v4().simple());
        aws_sdk_ssm::Client::new(&self.sdk_config().await)
            .put_parameter()
            .name(&name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("store the parameter");
        name
    }

    /// An SDK configuration aimed at this server, with the emulator's dummy credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .load()
            .await
    }
}
