//! The JSON-lines sink: one event per line, to a file (appended, synced to disk before the
//! write counts) or to standard output (flushed).

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{AuditError, AuditEvent, AuditSink};

/// Where JSON lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFile {
    /// Standard output (`file = "-"`).
    Stdout,
    /// A file, created (mode 0600) when missing and appended to.
    Path(PathBuf),
}

enum Output {
    Stdout,
    File(File),
}

/// Events as JSON lines.
pub struct JsonLinesSink {
    output: Arc<Mutex<Output>>,
}

impl std::fmt::Debug for JsonLinesSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesSink").finish_non_exhaustive()
    }
}

impl JsonLinesSink {
    /// Opens the sink (creating the file and its directory when missing).
    pub fn open(target: &AuditFile) -> Result<Self, AuditError> {
        let output = match target {
            AuditFile::Stdout => Output::Stdout,
            AuditFile::Path(path) => Output::File(open_append(path).map_err(|e| AuditError {
                sink: "file",
                message: format!("cannot open {}: {e}", path.display()),
            })?),
        };
        Ok(Self {
            output: Arc::new(Mutex::new(output)),
        })
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[async_trait::async_trait]
impl AuditSink for JsonLinesSink {
    fn name(&self) -> &'static str {
        "file"
    }

    async fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let fail = |message: String| AuditError {
            sink: "file",
            message,
        };
        let mut line = serde_json::to_vec(event).map_err(|e| fail(e.to_string()))?;
        line.push(b'\n');
        let output = Arc::clone(&self.output);
        // Writing and syncing block; the lock keeps lines whole and in order.
        tokio::task::spawn_blocking(move || {
            let mut output = output
                .lock()
                .map_err(|_| "an earlier write failed midway".to_owned())?;
            let written = match &mut *output {
                Output::Stdout => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&line).and_then(|()| out.flush())
                }
                Output::File(file) => file.write_all(&line).and_then(|()| file.sync_data()),
            };
            written.map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| fail(e.to_string()))?
        .map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Door, EventKind};

    #[tokio::test]
    async fn events_are_appended_one_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/audit.jsonl");
        let sink = JsonLinesSink::open(&AuditFile::Path(path.clone())).unwrap();
        let mut first = AuditEvent::new(EventKind::CredentialsIssued, 1_000);
        first.door = Some(Door::StsWebIdentity);
        first.role = Some("deployer".into());
        let second = AuditEvent::new(EventKind::KeyRotated, 2_000);
        sink.write(&first).await.unwrap();
        sink.write(&second).await.unwrap();
        // A second sink on the same file appends, it does not truncate.
        let again = JsonLinesSink::open(&AuditFile::Path(path.clone())).unwrap();
        again.write(&second).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<AuditEvent> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, vec![first, second.clone(), second]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_unwritable_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "").unwrap();
        let err = JsonLinesSink::open(&AuditFile::Path(file.join("audit.jsonl"))).unwrap_err();
        assert!(err.message.contains("cannot open"), "{err}");
    }
}
