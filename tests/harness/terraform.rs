//! Runs the repository's Terraform against moto: the `hashicorp/aws` provider comes from a
//! filesystem mirror (`TF_PROVIDER_MIRROR`, or found on the machine), through a CLI
//! configuration written for the test; the configuration is copied to a scratch folder so state
//! never lands in the repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROVIDER: &str = "registry.terraform.io/hashicorp/aws";

pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository")
}

/// The folder holding `registry.terraform.io/hashicorp/aws/...`.
pub fn provider_mirror() -> PathBuf {
    if let Ok(dir) = std::env::var("TF_PROVIDER_MIRROR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join(PROVIDER).is_dir(),
            "TF_PROVIDER_MIRROR={} has no {PROVIDER}",
            dir.display()
        );
        return dir;
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let roots = [
        "/opt".to_string(),
        "/usr/local/share".to_string(),
        "/usr/share".to_string(),
        format!("{home}/.terraform.d"),
        format!("{home}/.local/share"),
    ];
    for root in roots {
        if let Some(found) = find_mirror(Path::new(&root), 4) {
            return found;
        }
    }
    panic!(
        "no filesystem mirror of the {PROVIDER} provider was found: set TF_PROVIDER_MIRROR to the folder \
         holding {PROVIDER}/<version>/<os_arch>/, or run `terraform providers mirror <folder>` where the \
         registry can be reached"
    );
}

fn find_mirror(dir: &Path, depth: usize) -> Option<PathBuf> {
    if dir.join(PROVIDER).is_dir() {
        return Some(dir.to_path_buf());
    }
    if depth == 0 {
        return None;
    }
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .find_map(|e| find_mirror(&e.path(), depth - 1))
}

/// A scratch copy of `terraform/` with its own CLI configuration.
pub struct Workspace {
    pub dir: PathBuf,
    cli_config: PathBuf,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir =
            std::env::temp_dir().join(format!("cloud-ai-tf-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(repository().join("terraform")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "tf") {
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        let cli_config = dir.join("cli.tfrc");
        let mirror = provider_mirror();
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = {mirror:?}\n    include = [\"{PROVIDER}\"]\n  }}\n  direct {{\n    exclude = [\"{PROVIDER}\"]\n  }}\n}}\n"
            ),
        )
        .unwrap();
        Workspace { dir, cli_config }
    }

    /// The CLI configuration that points Terraform at the provider mirror.
    pub fn cli_config(&self) -> &std::path::Path {
        &self.cli_config
    }

    /// Runs `terraform <args>` in the workspace; the output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("terraform")
            .args(args)
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run terraform ({e}): install Terraform 1.5 or newer")
            })
    }

    /// Runs and insists on success.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "terraform {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Default for Workspace {
    fn default() -> Workspace {
        Workspace::new()
    }
}
