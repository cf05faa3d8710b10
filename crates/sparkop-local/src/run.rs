//! One local run: [`prepare`] writes the run directory (log config, secret files, keystore)
//! and builds the command; [`execute`] runs it in its own process group, streams what it
//! prints as [`Event`]s, and leaves no process behind — on success, failure or [`Stop`].

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use secrecy::ExposeSecret;
use sparkop_core::LaunchPlan;
use sparkop_core::plan::secrets::Resolved;
use sparkop_core::plan::{AppFile, AuthSecret, UI_KEYSTORE_PASSWORD_ENV, UiTlsPlan};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch};
use zeroize::Zeroizing;

use crate::LocalError;
use crate::install::SparkHome;
use crate::java::Java;
use crate::rundir::{RunDir, io};
use crate::submit::{self, Paths, Submit};
use sparkop_core::spark_log::{self, Fact};

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Directory under which the run directory is created.
    pub run_base: PathBuf,
    /// Use exactly this run directory instead (must not exist).
    pub run_dir: Option<PathBuf>,
    /// Show Spark's authentication DEBUG lines.
    pub debug_auth: bool,
    /// Container path prefixes mapped to local directories (`--mount`).
    pub mounts: Vec<(String, PathBuf)>,
    /// Directory relative application paths are resolved against.
    pub base_dir: PathBuf,
}

/// A run ready to start.
pub struct Prepared {
    /// The run directory (its `secrets/` go when this is dropped).
    pub run_dir: RunDir,
    /// The command (no secret value in it).
    pub submit: Submit,
    /// The CA certificate of a generated UI keystore.
    pub ui_ca: Option<PathBuf>,
    /// The plan.
    pub plan: LaunchPlan,
    secret_env: Vec<(String, Zeroizing<String>)>,
    rpc_secret: Option<Zeroizing<String>>,
    debug_auth: bool,
}

impl Prepared {
    /// The RPC secret of this run, for sparkop's own live audit (`run --audit`); never logged.
    pub fn rpc_secret(&self) -> Option<&str> {
        self.rpc_secret.as_deref().map(String::as_str)
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.secret_env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Prepared")
            .field("run_dir", &self.run_dir)
            .field("submit", &self.submit)
            .field("secret_env", &names)
            .finish_non_exhaustive()
    }
}

fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, LocalError> {
    std::str::from_utf8(bytes).map_err(|_| {
        LocalError::Plan(format!(
            "{what} is not UTF-8 text; Spark reads it as a string"
        ))
    })
}

/// Writes the run directory and builds the command for `plan`.
pub fn prepare(
    plan: LaunchPlan,
    resolved: &Resolved<'_>,
    spark: &SparkHome,
    java: &Java,
    opts: &Options,
) -> Result<Prepared, LocalError> {
    if let AppFile::Remote(url) = &plan.main_file {
        check_reachable(url)?;
    }
    let run_dir = match &opts.run_dir {
        Some(dir) => RunDir::create_at(dir.clone())?,
        None => RunDir::create(&opts.run_base, &plan.name)?,
    };
    run_dir.write_file(
        "conf/log4j2.properties",
        submit::log4j_config(opts.debug_auth).as_bytes(),
    )?;

    let mut secret_env: Vec<(String, Zeroizing<String>)> = Vec::new();
    let mut rpc_secret = None;
    let secret_properties = match &plan.auth_secret {
        None => None,
        Some(source) => {
            let value: Zeroizing<String> = match (source, resolved.auth) {
                (AuthSecret::FromSecret(r), Some(v)) => Zeroizing::new(
                    utf8(
                        v.expose(),
                        &format!("Secret {:?} key {:?}", r.secret, r.key),
                    )?
                    .to_owned(),
                ),
                (AuthSecret::FromSecret(r), None) => {
                    return Err(LocalError::Plan(format!(
                        "Secret {:?} key {:?} was not resolved",
                        r.secret, r.key
                    )));
                }
                (AuthSecret::Generated, _) => generate_secret()?,
            };
            let line = Zeroizing::new(submit::properties_line(
                sparkop_api::conf_keys::AUTHENTICATE_SECRET,
                &value,
            ));
            let path = run_dir.write_secret("spark.properties", line.as_bytes())?;
            rpc_secret = Some(value);
            Some(path)
        }
    };

    let mut keystore = None;
    let mut ui_ca = None;
    if let Some(UiTlsPlan::Keystore { from, .. }) = plan.ui.as_ref().and_then(|u| u.tls.as_ref()) {
        let password: Zeroizing<String> = match (from, resolved.keystore) {
            (Some(name), Some((ks, pw))) => {
                keystore = Some(run_dir.write_secret("ui/keystore.p12", ks.expose())?);
                Zeroizing::new(
                    utf8(
                        pw.expose(),
                        &format!("Secret {name:?} key \"keystore-password\""),
                    )?
                    .to_owned(),
                )
            }
            (Some(name), None) => {
                return Err(LocalError::Plan(format!(
                    "Secret {name:?} was not resolved"
                )));
            }
            (None, _) => {
                let m = sparkop_pki::generate(&sparkop_pki::Request::default())
                    .map_err(|e| LocalError::Plan(e.to_string()))?;
                keystore = Some(run_dir.write_secret("ui/keystore.p12", &m.keystore)?);
                ui_ca = Some(run_dir.write_file("ui-ca.crt", m.ca_pem.as_bytes())?);
                Zeroizing::new(m.keystore_password.expose_secret().to_owned())
            }
        };
        secret_env.push((UI_KEYSTORE_PASSWORD_ENV.into(), password));
    }

    let mut mounts = opts.mounts.clone();
    for (i, m) in resolved.mounts.iter().enumerate() {
        let dir = format!("mounts/{i}-{}", m.secret.name);
        for (key, value) in &m.secret.data {
            if key.contains('/') || key == ".." || key == "." {
                return Err(LocalError::Plan(format!(
                    "Secret {:?} has a key that is not a file name: {key:?}",
                    m.secret.name
                )));
            }
            run_dir.write_secret(&format!("{dir}/{key}"), value.expose())?;
        }
        mounts.push((m.path.clone(), run_dir.secrets().join(dir)));
    }
    for (name, value) in resolved.driver_env.iter().chain(&resolved.executor_env) {
        let text = utf8(
            value.expose(),
            &format!("the value of environment variable {name}"),
        )?;
        secret_env.retain(|(k, _)| k != name);
        secret_env.push((name.clone(), Zeroizing::new(text.to_owned())));
    }

    // A SPARK_HOME of the run's own: local-cluster writes executor work dirs and logs under
    // SPARK_HOME/work (it ignores SPARK_WORKER_DIR), and neither the cache nor a user's
    // installation should collect them.
    let home = run_dir.root().join("spark-home");
    crate::install::synthesize_home(&spark.home, &home)?;
    std::os::unix::fs::symlink("../work", home.join("work")).map_err(io(&home))?;
    let paths = Paths {
        spark_home: home,
        conf_dir: run_dir.root().join("conf"),
        work_dir: run_dir.root().join("work"),
        secret_properties,
        keystore,
        mounts,
        base_dir: opts.base_dir.clone(),
        python: spark.python.clone(),
        java_home: java.home.clone(),
    };
    let submit = submit::command(&plan, &paths, &|p| p.exists())?;
    run_dir.write_file(
        "command.txt",
        format!("{}\n", shell_words(&submit)).as_bytes(),
    )?;
    Ok(Prepared {
        run_dir,
        submit,
        ui_ca,
        plan,
        secret_env,
        rpc_secret,
        debug_auth: opts.debug_auth,
    })
}

fn shell_words(s: &Submit) -> String {
    let quote = |w: &str| {
        if w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,[]".contains(c))
        {
            w.to_owned()
        } else {
            format!("'{}'", w.replace('\'', "'\\''"))
        }
    };
    let env: Vec<String> = s
        .env
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect();
    let args: Vec<String> = s.args.iter().map(|a| quote(a)).collect();
    format!(
        "{} {} {}",
        env.join(" "),
        s.program.display(),
        args.join(" ")
    )
}

fn generate_secret() -> Result<Zeroizing<String>, LocalError> {
    sparkop_pki::random_rpc_secret()
        .map_err(|e| LocalError::Process(format!("no randomness from the OS: {e}")))
}

fn check_reachable(url: &str) -> Result<(), LocalError> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let default = if url.starts_with("https") { 443 } else { 80 };
    let target = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:{default}")
    };
    let reachable = target
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok());
    if reachable {
        Ok(())
    } else {
        Err(LocalError::Plan(format!(
            "spec.mainApplicationFile: cannot reach {target} to download {url} (offline?); \
             download the file and use a local path"
        )))
    }
}

/// Which process a log line came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The driver (spark-submit).
    Driver,
    /// An executor, by its id.
    Executor(String),
}

/// Something that happened during the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A line a process printed; `shown` says whether the console should print it by default.
    Log {
        /// Who printed it.
        role: Role,
        /// The line.
        line: String,
        /// Whether to show it.
        shown: bool,
    },
    /// A fact learned from the driver's log.
    Fact(Fact),
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// spark-submit's exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
    /// Whether the run was stopped from outside (Ctrl-C).
    pub interrupted: bool,
    /// From start to the end of the last process.
    pub duration: Duration,
    /// Processes still alive after spark-submit ended that sparkop had to stop.
    pub stragglers_stopped: bool,
}

impl Outcome {
    /// The application succeeded.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.interrupted
    }
}

/// A request to stop the run, e.g. on Ctrl-C.
pub type Stop = watch::Receiver<bool>;

/// Runs a prepared plan to the end.
pub async fn execute(
    prepared: &Prepared,
    events: mpsc::UnboundedSender<Event>,
    mut stop: Stop,
) -> Result<Outcome, LocalError> {
    let started = Instant::now();
    let log_path = prepared.run_dir.root().join("logs/driver.log");
    let log = tokio::fs::File::create(&log_path)
        .await
        .map_err(io(&log_path))?;

    let mut cmd = tokio::process::Command::new(&prepared.submit.program);
    cmd.args(&prepared.submit.args)
        .env_remove("_SPARK_AUTH_SECRET")
        .env_remove("SPARK_CONF_DIR")
        .envs(&prepared.submit.env)
        .envs(
            prepared
                .secret_env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        LocalError::Process(format!(
            "could not start {}: {e}",
            prepared.submit.program.display()
        ))
    })?;
    let pgid = Pid::from_raw(child.id().map(|id| id as i32).unwrap_or(0));

    let (line_tx, mut line_rx) = mpsc::unbounded_channel::<(bool, String)>();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    for (is_stdout, pipe) in [
        (true, stdout.map(Pipe::Out)),
        (false, stderr.map(Pipe::Err)),
    ] {
        let Some(pipe) = pipe else { continue };
        let tx = line_tx.clone();
        tokio::spawn(async move {
            let mut lines = match pipe {
                Pipe::Out(p) => Lines::Out(BufReader::new(p).lines()),
                Pipe::Err(p) => Lines::Err(BufReader::new(p).lines()),
            };
            while let Ok(Some(line)) = lines.next().await {
                if tx.send((is_stdout, line)).is_err() {
                    break;
                }
            }
        });
    }
    drop(line_tx);

    let debug_auth = prepared.debug_auth;
    let events_for_lines = events.clone();
    let writer = tokio::spawn(async move {
        let mut log = tokio::io::BufWriter::new(log);
        let mut visibility = spark_log::Visibility::default();
        while let Some((is_stdout, line)) = line_rx.recv().await {
            let _ = log.write_all(line.as_bytes()).await;
            let _ = log.write_all(b"\n").await;
            let parsed = spark_log::parse(&line);
            if let Some(fact) = (!is_stdout).then(|| spark_log::fact(&parsed)).flatten() {
                let _ = events_for_lines.send(Event::Fact(fact));
            }
            let shown = is_stdout || visibility.shown(&parsed, debug_auth, true);
            let _ = events_for_lines.send(Event::Log {
                role: Role::Driver,
                line,
                shown,
            });
        }
        let _ = log.flush().await;
    });

    let work = prepared.run_dir.root().join("work");
    let mut tail = ExecutorTail::default();
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    let mut interrupted = false;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            _ = tick.tick() => tail.poll(&work, &events, debug_auth),
            changed = stop.changed(), if !interrupted => {
                if changed.is_err() || *stop.borrow() {
                    interrupted = true;
                    let _ = killpg(pgid, Signal::SIGTERM);
                    let deadline = tokio::time::sleep(Duration::from_secs(15));
                    tokio::pin!(deadline);
                    tokio::select! {
                        status = child.wait() => break status,
                        _ = &mut deadline => {
                            let _ = killpg(pgid, Signal::SIGKILL);
                        }
                    }
                }
            }
        }
    }
    .map_err(|e| LocalError::Process(format!("waiting for spark-submit: {e}")))?;
    let stragglers_stopped = stop_group(pgid).await;
    let _ = writer.await;
    tail.poll(&work, &events, debug_auth);
    Ok(Outcome {
        exit_code: status.code(),
        interrupted,
        duration: started.elapsed(),
        stragglers_stopped,
    })
}

enum Pipe {
    Out(tokio::process::ChildStdout),
    Err(tokio::process::ChildStderr),
}

enum Lines {
    Out(tokio::io::Lines<BufReader<tokio::process::ChildStdout>>),
    Err(tokio::io::Lines<BufReader<tokio::process::ChildStderr>>),
}

impl Lines {
    async fn next(&mut self) -> std::io::Result<Option<String>> {
        match self {
            Lines::Out(l) => l.next_line().await,
            Lines::Err(l) => l.next_line().await,
        }
    }
}

/// Whether any process of the group is alive.
fn group_alive(pgid: Pid) -> bool {
    killpg(pgid, None).is_ok()
}

/// Stops whatever is left of the process group (executors outliving the driver): SIGTERM,
/// then SIGKILL after 10 s. Returns whether anything was left.
async fn stop_group(pgid: Pid) -> bool {
    if pgid.as_raw() <= 1 || !group_alive(pgid) {
        return false;
    }
    // Executors exit by themselves shortly after the driver; give them a moment first.
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if !group_alive(pgid) {
            return false;
        }
    }
    let _ = killpg(pgid, Signal::SIGTERM);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !group_alive(pgid) {
            return true;
        }
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !group_alive(pgid) {
            break;
        }
    }
    true
}

/// Follows executor logs (`work/app-*/ID/{stdout,stderr}`) as Spark writes them.
#[derive(Default)]
struct ExecutorTail {
    offsets: BTreeMap<PathBuf, (u64, String, spark_log::Visibility)>,
}

impl ExecutorTail {
    fn poll(&mut self, work: &Path, events: &mpsc::UnboundedSender<Event>, debug_auth: bool) {
        let apps = std::fs::read_dir(work).into_iter().flatten().flatten();
        for app in apps {
            for exec in std::fs::read_dir(app.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let id = exec.file_name().to_string_lossy().into_owned();
                for name in ["stdout", "stderr"] {
                    let path = exec.path().join(name);
                    if path.is_file() {
                        self.read_new(&path, &id, name == "stdout", events, debug_auth);
                    }
                }
            }
        }
    }

    fn read_new(
        &mut self,
        path: &Path,
        id: &str,
        is_stdout: bool,
        events: &mpsc::UnboundedSender<Event>,
        debug_auth: bool,
    ) {
        let (offset, partial, visibility) = self.offsets.entry(path.to_owned()).or_default();
        let Ok(mut f) = std::fs::File::open(path) else {
            return;
        };
        if f.seek(SeekFrom::Start(*offset)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        let Ok(n) = f.take(4 << 20).read_to_end(&mut buf) else {
            return;
        };
        *offset += n as u64;
        partial.push_str(&String::from_utf8_lossy(&buf));
        while let Some(pos) = partial.find('\n') {
            let line: String = partial.drain(..=pos).collect();
            let line = line.trim_end_matches(['\n', '\r']).to_owned();
            let parsed = spark_log::parse(&line);
            // Spark writes its launch command at the top of stderr: not news to the user.
            let shown = (is_stdout || visibility.shown(&parsed, debug_auth, false))
                && !line.starts_with("Spark Executor Command:")
                && !line.starts_with("========================================");
            let _ = events.send(Event::Log {
                role: Role::Executor(id.to_owned()),
                line,
                shown,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn an_unreachable_download_says_so_before_anything_starts() {
        // Port 1 on loopback is closed on any sane machine.
        let err = check_reachable("http://127.0.0.1:1/jobs/app.py").expect_err("closed");
        let text = err.to_string();
        assert!(
            text.contains("cannot reach 127.0.0.1:1") && text.contains("use a local path"),
            "{text}"
        );
    }

    #[test]
    fn executor_lines_split_across_polls_come_out_whole() {
        let work = tempfile::tempdir().expect("tmp");
        let dir = work.path().join("app-1/0");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("stderr");
        let mut f = std::fs::File::create(&path).expect("create");
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut tail = ExecutorTail::default();
        f.write_all(b"first line\nsecond ha").expect("write");
        tail.poll(work.path(), &tx, false);
        f.write_all(b"lf\nthird").expect("write");
        tail.poll(work.path(), &tx, false);
        f.write_all(b"\n").expect("write");
        tail.poll(work.path(), &tx, false);
        tail.poll(work.path(), &tx, false);
        let mut lines = Vec::new();
        while let Ok(Event::Log { line, role, .. }) = rx.try_recv() {
            assert_eq!(role, Role::Executor("0".into()));
            lines.push(line);
        }
        assert_eq!(lines, ["first line", "second half", "third"]);
    }
}
