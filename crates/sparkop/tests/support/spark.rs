//! Real Spark runs for tests: `sparkop run` as a child process with its output collected,
//! the installed test Spark and the MockTaskRunner jar.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const MOCK_TASK_RUNNER: &str =
    include_str!("../../../../examples/mock-task-runner/MockTaskRunner.java");

pub const SPARK: &str = "4.3.0";

pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn sparkop() -> PathBuf {
    assert_cmd::cargo::cargo_bin!("sparkop").to_owned()
}

pub fn e2e_required() -> bool {
    std::env::var("SPARKOP_REQUIRE_E2E").is_ok_and(|v| v == "1")
}

/// SPARK_HOME of the installed test version, or None (skip) when it is not installed.
pub fn spark_home() -> Option<PathBuf> {
    let out = Command::new(sparkop())
        .args(["spark", "home", SPARK])
        .output()
        .ok()?;
    if out.status.success() {
        return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    assert!(
        !e2e_required(),
        "Spark {SPARK} is not installed: run `sparkop spark install {SPARK}`"
    );
    eprintln!("skipping: Spark {SPARK} is not installed (sparkop spark install {SPARK})");
    None
}

/// The MockTaskRunner jar, compiled once per test process into a shared directory.
pub fn mock_jar_dir(home: &Path) -> PathBuf {
    static DIR: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut slot = DIR.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(d) = slot.as_ref() {
        return d.clone();
    }
    let dir = tempfile::Builder::new()
        .prefix("sparkop-mock-")
        .tempdir()
        .expect("tmp")
        .keep();
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("out")).expect("mkdir");
    std::fs::write(src.join("MockTaskRunner.java"), MOCK_TASK_RUNNER).expect("write");
    let cp = format!("{}/jars/*", home.display());
    let ok = Command::new("javac")
        .args(["-nowarn", "-cp", &cp, "-d"])
        .arg(src.join("out"))
        .arg(src.join("MockTaskRunner.java"))
        .status()
        .expect("javac");
    assert!(ok.success(), "javac failed");
    let ok = Command::new("jar")
        .arg("cf")
        .arg(dir.join("mock-task-runner.jar"))
        .arg("-C")
        .arg(src.join("out"))
        .arg(".")
        .status()
        .expect("jar");
    assert!(ok.success(), "jar failed");
    *slot = Some(dir.clone());
    dir
}

/// A running `sparkop run` whose output is collected line by line.
pub struct Run {
    pub child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
    pub run_dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Run {
    /// A run of a manifest whose application is the MockTaskRunner jar (compiled once), with
    /// the image path of the example mapped to it.
    pub fn with_mock(home: &Path, manifest: &str, secrets: &[String], extra: &[&str]) -> Run {
        let mount = format!("/opt/sparkop/examples={}", mock_jar_dir(home).display());
        let mut args = vec!["--mount", mount.as_str()];
        args.extend_from_slice(extra);
        Run::start(manifest, secrets, &args)
    }

    pub fn start(manifest: &str, secrets: &[String], extra: &[&str]) -> Run {
        let tmp = tempfile::tempdir().expect("tmp");
        let app = tmp.path().join("app.yaml");
        std::fs::write(&app, manifest).expect("write");
        let run_dir = tmp.path().join("run");
        let mut cmd = Command::new(sparkop());
        cmd.arg("run")
            .arg(&app)
            .arg("--run-dir")
            .arg(&run_dir)
            .args(extra);
        for (i, s) in secrets.iter().enumerate() {
            let f = tmp.path().join(format!("secret-{i}.yaml"));
            std::fs::write(&f, s).expect("write");
            cmd.arg("-f").arg(f);
        }
        cmd.env("SPARK_LOCAL_IP", "127.0.0.1")
            .env_remove("SPARK_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("sparkop");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        Run {
            child,
            lines,
            run_dir,
            _tmp: tmp,
        }
    }

    pub fn output(&self) -> String {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// Waits (bounded) until the output contains `text`.
    pub fn wait_for(&self, text: &str, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.output().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no {text:?} within {limit:?}; output:\n{}", self.output());
    }

    /// Waits (bounded) for sparkop to exit; returns its exit code.
    pub fn finish(&mut self, limit: Duration) -> i32 {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("wait") {
                std::thread::sleep(Duration::from_millis(200)); // let the readers drain
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!(
            "sparkop did not finish within {limit:?}; output:\n{}",
            self.output()
        );
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal("INT");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
