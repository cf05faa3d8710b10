//! Spark from PyPI: `pyspark` installed with pip into a virtual environment in the cache, and a
//! synthetic SPARK_HOME beside it (symlinks to the package's `bin`, `sbin`, `jars`, `python` and
//! `examples`, plus a real `conf/`), so runs never write into the package: local-cluster
//! puts its `work/` directory under SPARK_HOME, and sparkop points that at the run dir anyway.
//!
//! ```text
//! ~/.cache/sparkop/
//!   downloads/pyspark-4.3.0.tar.gz     the sdist (shared with scripts/provision-spark)
//!   spark-home/4.3.0/venv/             python3 -m venv + pip install pyspark==4.3.0
//!   spark-home/4.3.0/home/             the synthetic SPARK_HOME
//!   spark-home/4.3.0/.complete         written last
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sparkop_core::version::SparkVersion;

use crate::LocalError;

/// The oldest Spark release that runs on Java 17.
pub const MIN_RUNNABLE: (u32, u32) = (3, 3);

/// A usable Spark installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparkHome {
    /// SPARK_HOME.
    pub home: PathBuf,
    /// The Spark version, from its spark-core jar.
    pub version: String,
    /// A Python interpreter that can `import pyspark` (for Python applications), when sparkop
    /// installed Spark.
    pub python: Option<PathBuf>,
}

/// A step of an installation, for progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallStep {
    /// Creating the virtual environment.
    CreatingVenv,
    /// Downloading the pyspark sdist (hundreds of MB).
    Downloading {
        /// The version.
        version: String,
    },
    /// pip building and installing the package.
    Installing,
    /// Creating the synthetic SPARK_HOME.
    Linking,
}

/// The cache root: `$SPARKOP_CACHE`, else `~/.cache/sparkop`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SPARKOP_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".cache/sparkop")
}

/// The Spark version of an installation, read from its `spark-core_*.jar` name.
pub fn version_of(home: &Path) -> Option<String> {
    let entries = fs::read_dir(home.join("jars")).ok()?;
    entries.filter_map(Result::ok).find_map(|e| {
        let name = e.file_name().into_string().ok()?;
        let rest = name.strip_prefix("spark-core_")?.strip_suffix(".jar")?;
        // spark-core_2.13-4.3.0.jar
        Some(rest.split_once('-')?.1.to_owned())
    })
}

/// A user-provided `SPARK_HOME`, if set and usable.
pub fn from_env() -> Option<Result<SparkHome, LocalError>> {
    let home = PathBuf::from(std::env::var_os("SPARK_HOME").filter(|h| !h.is_empty())?);
    Some(match version_of(&home) {
        Some(version) if home.join("bin/spark-submit").exists() => Ok(SparkHome {
            home,
            version,
            python: None,
        }),
        _ => Err(LocalError::Install(format!(
            "SPARK_HOME={} has no bin/spark-submit or jars/spark-core_*.jar; unset it to let \
             sparkop install Spark",
            home.display()
        ))),
    })
}

/// Whether `version` is a plausible pyspark release that runs on Java 17.
pub fn runnable(version: &str) -> bool {
    SparkVersion::parse_release(version).is_some_and(|v| (v.major, v.minor) >= MIN_RUNNABLE)
}

/// Where `version` is (or will be) installed: the venv, the synthetic SPARK_HOME and the
/// `.complete` marker live under it.
pub fn dir_of(cache: &Path, version: &str) -> PathBuf {
    cache.join("spark-home").join(version)
}

/// An installation sparkop made earlier, if complete.
pub fn installed(cache: &Path, version: &str) -> Option<SparkHome> {
    let dir = dir_of(cache, version);
    dir.join(".complete").exists().then(|| SparkHome {
        home: dir.join("home"),
        version: version.to_owned(),
        python: Some(dir.join("venv/bin/python")),
    })
}

/// Versions sparkop has installed, newest first.
pub fn list_installed(cache: &Path) -> Vec<String> {
    let mut versions: Vec<String> = fs::read_dir(cache.join("spark-home"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().join(".complete").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(SparkVersion::parse_release(v)));
    versions
}

/// The newest pyspark release on the package index (`pip index versions`).
pub fn newest_available(python: &str) -> Result<String, LocalError> {
    let out = Command::new(python)
        .args(["-m", "pip", "index", "versions", "pyspark"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LocalError::Install(format!("could not run {python} -m pip: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "pyspark (4.3.0)"
    text.lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("pyspark (")?;
            Some(rest.strip_suffix(')')?.to_owned())
        })
        .ok_or_else(|| {
            LocalError::Install(format!(
                "could not list pyspark versions from the package index: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        })
}

/// Installs pyspark `version` into the cache (once) and returns its synthetic SPARK_HOME.
pub fn install(
    cache: &Path,
    version: &str,
    progress: &mut dyn FnMut(InstallStep),
) -> Result<SparkHome, LocalError> {
    if let Some(done) = installed(cache, version) {
        return Ok(done);
    }
    if !runnable(version) {
        return Err(LocalError::Install(format!(
            "Spark {version} is not a release sparkop can run (needs {}.{} or newer, for Java 17)",
            MIN_RUNNABLE.0, MIN_RUNNABLE.1
        )));
    }
    let python = std::env::var("SPARKOP_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = dir_of(cache, version);
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    let log_path = dir.join("install.log");
    let mut log = fs::File::create(&log_path).map_err(io(&log_path))?;
    let venv = dir.join("venv");
    if venv.exists() {
        fs::remove_dir_all(&venv).map_err(io(&venv))?;
    }

    progress(InstallStep::CreatingVenv);
    run_logged(
        Command::new(&python).arg("-m").arg("venv").arg(&venv),
        &mut log,
        &log_path,
    )?;
    let pip = venv.join("bin/pip");

    let downloads = cache.join("downloads");
    fs::create_dir_all(&downloads).map_err(io(&downloads))?;
    let sdist = downloads.join(format!("pyspark-{version}.tar.gz"));
    if !sdist.exists() {
        progress(InstallStep::Downloading {
            version: version.to_owned(),
        });
        let tmp = downloads.join(format!(".tmp-{version}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let result = run_logged(
            Command::new(&pip)
                .args([
                    "download",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    "--progress-bar",
                    "off",
                ])
                .arg(format!("pyspark=={version}"))
                .arg("-d")
                .arg(&tmp),
            &mut log,
            &log_path,
        );
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        fs::rename(tmp.join(format!("pyspark-{version}.tar.gz")), &sdist).map_err(io(&sdist))?;
        let _ = fs::remove_dir_all(&tmp);
    }

    progress(InstallStep::Installing);
    run_logged(
        Command::new(&pip)
            .args(["install", "--no-cache-dir", "--progress-bar", "off"])
            .arg(&sdist),
        &mut log,
        &log_path,
    )?;

    progress(InstallStep::Linking);
    let venv_python = venv.join("bin/python");
    let out = Command::new(&venv_python)
        .args([
            "-c",
            "import os, pyspark; print(os.path.dirname(pyspark.__file__))",
        ])
        .output()
        .map_err(io(&venv_python))?;
    let package = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !out.status.success() || !package.join("jars").is_dir() {
        return Err(LocalError::Install(format!(
            "pyspark {version} installed but its jars were not found (see {})",
            log_path.display()
        )));
    }
    let home = dir.join("home");
    if home.exists() {
        fs::remove_dir_all(&home).map_err(io(&home))?;
    }
    synthesize_home(&package, &home)?;
    let found = version_of(&home);
    if found.as_deref() != Some(version) {
        return Err(LocalError::Install(format!(
            "the installed package is Spark {}, not {version}",
            found.unwrap_or_else(|| "?".into())
        )));
    }
    fs::write(dir.join(".complete"), version).map_err(io(&dir))?;
    Ok(SparkHome {
        home,
        version: version.to_owned(),
        python: Some(venv_python),
    })
}

/// Builds a SPARK_HOME whose code is the package's and whose writable parts are its own.
pub fn synthesize_home(package: &Path, home: &Path) -> Result<(), LocalError> {
    fs::create_dir_all(home.join("conf")).map_err(io(home))?;
    for part in [
        "bin", "sbin", "jars", "python", "examples", "data", "licenses",
    ] {
        let target = package.join(part);
        if target.exists() {
            std::os::unix::fs::symlink(&target, home.join(part)).map_err(io(home))?;
        }
    }
    Ok(())
}

fn run_logged(cmd: &mut Command, log: &mut fs::File, log_path: &Path) -> Result<(), LocalError> {
    let _ = writeln!(log, "$ {cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LocalError::Install(format!("could not run {cmd:?}: {e}")))?;
    let _ = log.write_all(&out.stdout);
    let _ = log.write_all(&out.stderr);
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    let hint = if stderr.contains("No matching distribution")
        || stderr.contains("Could not find a version")
    {
        " (no such pyspark release on the package index)"
    } else if stderr.contains("NewConnectionError") || stderr.contains("Network is unreachable") {
        " (the package index is not reachable: are you offline?)"
    } else {
        ""
    };
    Err(LocalError::Install(format!(
        "{cmd:?} failed{hint}:\n  {}\n(full log: {})",
        tail.join("\n  "),
        log_path.display()
    )))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> LocalError + '_ {
    move |e| LocalError::Io {
        path: path.to_owned(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runnable_versions_are_release_numbers_from_3_3() {
        assert!(runnable("4.3.0") && runnable("3.3.0") && runnable("3.5.9"));
        assert!(!runnable("3.2.4") && !runnable("3.1.2") && !runnable("4.3") && !runnable("x"));
    }

    #[test]
    fn the_version_comes_from_the_spark_core_jar() {
        let dir = tempfile::tempdir().expect("tmp");
        fs::create_dir_all(dir.path().join("jars")).expect("mkdir");
        assert_eq!(version_of(dir.path()), None);
        fs::write(dir.path().join("jars/spark-core_2.13-4.3.0.jar"), b"").expect("write");
        fs::write(dir.path().join("jars/spark-sql_2.13-4.3.0.jar"), b"").expect("write");
        assert_eq!(version_of(dir.path()).as_deref(), Some("4.3.0"));
    }

    #[test]
    fn the_synthetic_home_links_code_and_owns_conf() {
        let dir = tempfile::tempdir().expect("tmp");
        let pkg = dir.path().join("pyspark");
        for part in ["bin", "jars", "python"] {
            fs::create_dir_all(pkg.join(part)).expect("mkdir");
        }
        let home = dir.path().join("home");
        synthesize_home(&pkg, &home).expect("home");
        assert!(
            fs::symlink_metadata(home.join("jars"))
                .expect("jars")
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::symlink_metadata(home.join("conf"))
                .expect("conf")
                .is_dir()
        );
        assert!(!home.join("sbin").exists(), "absent parts are not linked");
    }

    #[test]
    fn installed_versions_list_newest_first() {
        let dir = tempfile::tempdir().expect("tmp");
        for v in ["3.5.9", "4.3.0", "3.10.0", "4.0.0"] {
            let d = dir.path().join("spark-home").join(v);
            fs::create_dir_all(&d).expect("mkdir");
            if v != "4.0.0" {
                fs::write(d.join(".complete"), v).expect("write");
            }
        }
        assert_eq!(list_installed(dir.path()), ["4.3.0", "3.10.0", "3.5.9"]);
    }
}
