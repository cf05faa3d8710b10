//! `sparkop spark install|list|home`, and finding (or installing) the Spark a run needs.

use std::io::Write as _;
use std::time::Duration;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use sparkop_local::install::{self, InstallStep, SparkHome};

use crate::cli::SparkCommand;

/// Runs a `sparkop spark` subcommand.
pub fn run(cmd: &SparkCommand) -> anyhow::Result<i32> {
    let cache = install::cache_dir();
    match cmd {
        SparkCommand::Install { release } => {
            let version = match release {
                Some(v) => v.clone(),
                None => install::newest_available(&python())?,
            };
            let home = install_with_progress(&cache, &version)?;
            writeln!(std::io::stdout().lock(), "{}", home.home.display())?;
        }
        SparkCommand::List => {
            let mut out = std::io::stdout().lock();
            for v in install::list_installed(&cache) {
                if let Some(h) = install::installed(&cache, &v) {
                    writeln!(out, "{v}\t{}", h.home.display())?;
                }
            }
        }
        SparkCommand::Home { release } => {
            let version = match release {
                Some(v) => v.clone(),
                None => match install::list_installed(&cache).into_iter().next() {
                    Some(v) => v,
                    None => bail!("no Spark installed yet; run `sparkop spark install`"),
                },
            };
            match install::installed(&cache, &version) {
                Some(h) => writeln!(std::io::stdout().lock(), "{}", h.home.display())?,
                None => {
                    bail!("Spark {version} is not installed; run `sparkop spark install {version}`")
                }
            }
        }
    }
    Ok(0)
}

fn python() -> String {
    std::env::var("SPARKOP_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Installs `version` with a spinner on stderr that names the step and the time spent.
pub fn install_with_progress(cache: &std::path::Path, version: &str) -> anyhow::Result<SparkHome> {
    if let Some(done) = install::installed(cache, version) {
        return Ok(done);
    }
    eprintln!(
        "sparkop: installing Spark {version} from PyPI (pyspark, ~450 MB, once) into {}",
        install::dir_of(cache, version).display()
    );
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let result = install::install(cache, version, &mut |step| {
        let msg = match step {
            InstallStep::CreatingVenv => "creating a Python virtual environment".to_owned(),
            InstallStep::Downloading { version } => {
                format!("downloading pyspark {version} from PyPI")
            }
            InstallStep::Installing => "installing pyspark (pip builds it locally)".to_owned(),
            InstallStep::Linking => "creating the SPARK_HOME".to_owned(),
        };
        if bar.is_hidden() {
            eprintln!("sparkop: {msg}...");
        }
        bar.set_message(msg);
    });
    bar.finish_and_clear();
    let home = result?;
    eprintln!(
        "sparkop: Spark {version} installed: {}",
        home.home.display()
    );
    Ok(home)
}

/// The Spark a run uses: `--spark-home`/`SPARK_HOME`, else the requested version (installed on
/// first use), else — when that version cannot run here — the newest one, with a warning.
pub fn ensure(spark_home: Option<&std::path::Path>, requested: &str) -> anyhow::Result<SparkHome> {
    if let Some(home) = spark_home {
        let version = install::version_of(home).ok_or_else(|| {
            anyhow::anyhow!(
                "{} has no jars/spark-core_*.jar; is it a Spark installation?",
                home.display()
            )
        })?;
        if version != requested {
            eprintln!(
                "sparkop: warning: spec.sparkVersion is {requested:?} but SPARK_HOME has Spark {version}"
            );
        }
        return Ok(SparkHome {
            home: home.to_owned(),
            version,
            python: None,
        });
    }
    ensure_in(&install::cache_dir(), requested)
}

/// [`ensure`] without `SPARK_HOME`, in a given cache.
fn ensure_in(cache: &std::path::Path, requested: &str) -> anyhow::Result<SparkHome> {
    if install::runnable(requested) {
        if let Some(h) = install::installed(cache, requested) {
            return Ok(h);
        }
        match install_with_progress(cache, requested) {
            Ok(h) => return Ok(h),
            Err(e) if e.to_string().contains("no such pyspark release") => {
                eprintln!(
                    "sparkop: warning: Spark {requested} is not on PyPI; using the newest release instead"
                );
            }
            Err(e) => return Err(e),
        }
    } else {
        eprintln!(
            "sparkop: warning: spec.sparkVersion {requested:?} cannot run locally (sparkop runs \
             Spark {}.{} or newer on Java 17); using the newest release instead",
            install::MIN_RUNNABLE.0,
            install::MIN_RUNNABLE.1
        );
    }
    if let Some(h) = install::list_installed(cache)
        .into_iter()
        .next()
        .and_then(|v| install::installed(cache, &v))
    {
        eprintln!("sparkop: using Spark {} (the newest installed)", h.version);
        return Ok(h);
    }
    let newest = install::newest_available(&python())?;
    install_with_progress(cache, &newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_install(cache: &std::path::Path, version: &str) {
        let dir = install::dir_of(cache, version);
        std::fs::create_dir_all(dir.join("home/jars")).expect("mkdir");
        std::fs::write(dir.join(".complete"), version).expect("write");
    }

    #[test]
    fn the_requested_version_when_runnable_else_the_newest_installed() {
        let cache = tempfile::tempdir().expect("tmp");
        fake_install(cache.path(), "3.5.9");
        fake_install(cache.path(), "4.3.0");
        assert_eq!(
            ensure_in(cache.path(), "3.5.9").expect("3.5.9").version,
            "3.5.9"
        );
        // 3.1.2 cannot run on Java 17: the newest installed release is used (with a warning).
        assert_eq!(
            ensure_in(cache.path(), "3.1.2").expect("newest").version,
            "4.3.0"
        );
        assert_eq!(
            ensure_in(cache.path(), "not-a-version")
                .expect("newest")
                .version,
            "4.3.0"
        );
    }
}
