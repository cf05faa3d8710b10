//! The private directory of one run: logs, the generated CA certificate, Spark's `work/`
//! (executor logs), and a `secrets/` subdirectory that exists only while the run does.
//!
//! ```text
//! RUN/            0700   kept after the run
//!   conf/                SPARK_CONF_DIR (log4j2.properties)
//!   logs/driver.log      everything the driver printed
//!   spark-home/          the run's SPARK_HOME: links to the installation, work -> ../work
//!   work/app-…/N/        executor stdout/stderr
//!   ui-ca.crt            CA of the generated UI certificate (trust it with curl --cacert)
//!   secrets/      0700   removed at exit (files 0600)
//! ```

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::LocalError;

/// A run directory. Dropping it removes `secrets/`.
#[derive(Debug)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Creates `base/NAME-TIMESTAMP-PID` (0700) with its subdirectories.
    pub fn create(base: &Path, name: &str) -> Result<RunDir, LocalError> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let root = base.join(format!("{name}-{stamp}-{}", std::process::id()));
        Self::create_at(root)
    }

    /// Creates the run directory at exactly `root`, which must not exist yet.
    pub fn create_at(root: PathBuf) -> Result<RunDir, LocalError> {
        if let Some(parent) = root.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&root)
            .map_err(io(&root))?;
        let dir = RunDir { root };
        for sub in ["conf", "logs", "work"] {
            let p = dir.root.join(sub);
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&p)
                .map_err(io(&p))?;
        }
        let secrets = dir.secrets();
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&secrets)
            .map_err(io(&secrets))?;
        Ok(dir)
    }

    /// The run directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `secrets/`.
    pub fn secrets(&self) -> PathBuf {
        self.root.join("secrets")
    }

    /// Writes a secret file under `secrets/` with mode 0600 (never replacing a file).
    pub fn write_secret(&self, relative: &str, bytes: &[u8]) -> Result<PathBuf, LocalError> {
        let path = self.secrets().join(relative);
        if let Some(parent) = path.parent() {
            fs::DirBuilder::new()
                .mode(0o700)
                .recursive(true)
                .create(parent)
                .map_err(io(parent))?;
        }
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(bytes).map_err(io(&path))?;
        Ok(path)
    }

    /// Writes a non-secret file in the run directory.
    pub fn write_file(&self, relative: &str, bytes: &[u8]) -> Result<PathBuf, LocalError> {
        let path = self.root.join(relative);
        fs::write(&path, bytes).map_err(io(&path))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(io(&path))?;
        Ok(path)
    }

    /// Overwrites and removes every secret file. Safe to call more than once.
    pub fn remove_secrets(&self) -> Result<(), LocalError> {
        let secrets = self.secrets();
        if !secrets.exists() {
            return Ok(());
        }
        scrub(&secrets);
        fs::remove_dir_all(&secrets).map_err(io(&secrets))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = self.remove_secrets();
    }
}

/// Best effort: zero the contents before unlinking, so the bytes do not linger in free blocks
/// of simple filesystems.
fn scrub(dir: &Path) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => scrub(&path),
            Ok(t) if t.is_file() => {
                if let Ok(len) = entry.metadata().map(|m| m.len())
                    && let Ok(mut f) = OpenOptions::new().write(true).open(&path)
                {
                    let _ = f.write_all(&vec![0u8; len as usize]);
                    let _ = f.sync_all();
                }
            }
            _ => {}
        }
    }
}

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> LocalError + '_ {
    move |e| LocalError::Io {
        path: path.to_owned(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn secrets_are_private_and_gone_after_drop() {
        let base = tempfile::tempdir().expect("tmp");
        let dir = RunDir::create(base.path(), "app").expect("create");
        let root = dir.root().to_owned();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&dir.secrets()), 0o700);
        let f = dir.write_secret("auth/secret", b"hunter2").expect("write");
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(f.parent().expect("parent")), 0o700);
        assert!(
            dir.write_secret("auth/secret", b"again").is_err(),
            "never replaced"
        );
        drop(dir);
        assert!(!root.join("secrets").exists());
        assert!(root.join("logs").is_dir(), "logs are kept");
    }

    #[test]
    fn removing_twice_is_fine() {
        let base = tempfile::tempdir().expect("tmp");
        let dir = RunDir::create_at(base.path().join("r")).expect("create");
        dir.write_secret("x", b"1").expect("write");
        dir.remove_secrets().expect("first");
        dir.remove_secrets().expect("second");
    }
}
