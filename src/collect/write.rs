//! Writing a snapshot safely: a temporary directory beside the target (0700, files 0600),
//! the manifest last, then one rename. An interrupted or failed run removes the temporary
//! directory, so no snapshot that looks complete is ever left half-written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{CollectError, Done, Outcome};
use crate::snapshot::manifest::{self, Manifest, ToolInfo, SCHEMA_VERSION};

pub struct Meta {
    pub account_id: String,
    pub caller_arn: String,
    pub partition: String,
    pub regions: Vec<String>,
    pub started_at: chrono::DateTime<chrono::Utc>,
}

pub struct Written {
    pub calls: usize,
    pub failed: BTreeMap<String, usize>,
    pub absent: BTreeMap<String, usize>,
    pub bytes: u64,
}

/// The temporary directory a snapshot is written into. Dropped before [`Staging::finish`]
/// renamed it into place (a failure, an interrupt that drops the collection's future), it
/// removes what was written.
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
}

impl Drop for Staging {
    fn drop(&mut self) {
        // After the rename there is nothing at `dir` (a name with our process id).
        if self.dir.exists() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> CollectError {
    CollectError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

use crate::store::{private_dir, private_file};

impl Staging {
    pub fn new(target: &Path) -> Result<Staging, CollectError> {
        if target.exists() {
            return Err(CollectError::Exists(target.display().to_string()));
        }
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        private_dir(parent).map_err(|e| io(parent, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "snapshot".into());
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        // Left by an earlier run that was killed with the same process id (a container's
        // PID 1): never a snapshot, only our own temporary directory.
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
        }
        private_dir(&dir).map_err(|e| io(&dir, e))?;
        Ok(Staging {
            target: target.to_path_buf(),
            dir,
        })
    }

    /// Writes every response and the manifest, then renames the directory into place.
    /// On failure the temporary directory is removed (when `self` is dropped).
    pub fn finish(self, mut done: Vec<Done>, meta: Meta) -> Result<Written, CollectError> {
        let written = self.write_all(&mut done, meta)?;
        std::fs::rename(&self.dir, &self.target).map_err(|e| io(&self.target, e))?;
        Ok(written)
    }

    fn write_all(&self, done: &mut [Done], meta: Meta) -> Result<Written, CollectError> {
        done.sort_by(|a, b| a.path.cmp(&b.path));
        let mut calls = Vec::with_capacity(done.len());
        let mut written = Written {
            calls: done.len(),
            failed: BTreeMap::new(),
            absent: BTreeMap::new(),
            bytes: 0,
        };
        for d in done.iter() {
            match &d.outcome {
                Outcome::Ok(value) => {
                    let text = value.to_cli_json();
                    let path = self.dir.join(&d.path);
                    if let Some(parent) = path.parent() {
                        private_dir(parent).map_err(|e| io(parent, e))?;
                    }
                    private_file(&path, text.as_bytes(), true).map_err(|e| io(&path, e))?;
                    written.bytes += text.len() as u64;
                    calls.push(d.manifest_call(Some(manifest::sha256_hex(text.as_bytes()))));
                }
                Outcome::Failed { code, .. } => {
                    let bucket = if crate::snapshot::catalogue::catalogue().is_absent(&d.path, code)
                    {
                        &mut written.absent
                    } else {
                        &mut written.failed
                    };
                    *bucket.entry(code.clone()).or_default() += 1;
                    calls.push(d.manifest_call(None));
                }
            }
        }
        let mut regions = meta.regions.clone();
        regions.sort();
        let manifest = Manifest {
            schema_version: SCHEMA_VERSION,
            tool: Some(ToolInfo {
                name: "snapaudit".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            }),
            account_id: meta.account_id,
            caller_arn: meta.caller_arn,
            partition: meta.partition,
            regions,
            started_at: meta.started_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            finished_at: Some(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            calls,
        };
        let mut text = serde_json::to_string_pretty(&manifest).map_err(|e| io(&self.dir, e))?;
        text.push('\n');
        let path = self.dir.join(crate::snapshot::load::MANIFEST);
        private_file(&path, text.as_bytes(), true).map_err(|e| io(&path, e))?;
        Ok(written)
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
