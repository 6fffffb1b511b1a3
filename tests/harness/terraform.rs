//! Runs the repository's Terraform against moto. The `hashicorp/aws` provider comes from a
//! filesystem mirror when the machine has one (`TF_PROVIDER_MIRROR`, or found in the usual
//! places), else from the registry as on any machine with the internet, cached between runs in
//! Terraform's plugin cache. The configuration is copied to a scratch folder so state never lands
//! in the repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROVIDER: &str = "registry.terraform.io/hashicorp/aws";

pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository")
}

/// The folder holding `registry.terraform.io/hashicorp/aws/...`, if the machine has one.
/// `TF_PROVIDER_MIRROR` names it (and must hold the provider); otherwise a few usual places are
/// searched.
pub fn provider_mirror() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("TF_PROVIDER_MIRROR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join(PROVIDER).is_dir(),
            "TF_PROVIDER_MIRROR={} has no {PROVIDER}",
            dir.display()
        );
        return Some(dir);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let roots = [
        "/opt".to_string(),
        "/usr/local/share".to_string(),
        "/usr/share".to_string(),
        format!("{home}/.terraform.d"),
        format!("{home}/.local/share"),
    ];
    roots
        .iter()
        .find_map(|root| find_mirror(Path::new(root), 4))
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

/// The CLI configuration for a provider source: the mirror for the aws provider (and the
/// registry for nothing else), or the registry with a plugin cache, so a machine downloads the
/// provider once rather than once per workspace.
pub fn cli_configuration(mirror: Option<&Path>, plugin_cache: &Path) -> String {
    match mirror {
        Some(mirror) => format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {mirror:?}\n    include = [\"{PROVIDER}\"]\n  }}\n  direct {{\n    exclude = [\"{PROVIDER}\"]\n  }}\n}}\n"
        ),
        None => format!(
            "plugin_cache_dir = {plugin_cache:?}\nprovider_installation {{\n  direct {{}}\n}}\n"
        ),
    }
}

/// Terraform's plugin cache for registry downloads: `TF_PLUGIN_CACHE_DIR`, else
/// `~/.terraform.d/plugin-cache` (created, since Terraform will not create it).
fn plugin_cache() -> PathBuf {
    let dir = std::env::var_os("TF_PLUGIN_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into()))
                .join(".terraform.d/plugin-cache")
        });
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create the plugin cache {}: {e}", dir.display()));
    dir
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
            cli_configuration(mirror.as_deref(), &plugin_cache()),
        )
        .unwrap();
        Workspace { dir, cli_config }
    }

    /// The CLI configuration that tells Terraform where the provider comes from.
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
                panic!("cannot run terraform ({e}): install Terraform 1.11 or newer")
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
