//! The `spark-submit` invocation of a plan on this machine: pure, so what reaches argv, the
//! environment and files can be tested without starting anything. Secret values never pass
//! through here: the runner adds them to the environment or to files it writes itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sparkop_api::SparkApplicationType;
use sparkop_core::plan::{AppFile, LaunchPlan, UI_KEYSTORE_PASSWORD_ENV, UiTlsPlan};

use crate::LocalError;

/// Where the files of a run are.
#[derive(Clone, Debug)]
pub struct Paths {
    /// SPARK_HOME.
    pub spark_home: PathBuf,
    /// SPARK_CONF_DIR (holds log4j2.properties).
    pub conf_dir: PathBuf,
    /// SPARK_WORKER_DIR (executor work dirs and logs).
    pub work_dir: PathBuf,
    /// The 0600 properties file with the RPC secret, when authentication is on.
    pub secret_properties: Option<PathBuf>,
    /// The UI keystore, when sparkop provides it.
    pub keystore: Option<PathBuf>,
    /// Container path prefixes mapped to local directories: the user's `--mount`s and the
    /// directories Secrets were written to.
    pub mounts: Vec<(String, PathBuf)>,
    /// Directory relative application paths are resolved against (the manifest's).
    pub base_dir: PathBuf,
    /// A Python interpreter that can import pyspark.
    pub python: Option<PathBuf>,
    /// JAVA_HOME, when known.
    pub java_home: Option<PathBuf>,
}

/// A `spark-submit` command line and environment, without any secret value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submit {
    /// The program (`$SPARK_HOME/bin/spark-submit`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables (not secret).
    pub env: BTreeMap<String, String>,
    /// The master URL used.
    pub master: String,
}

/// Conf keys whose values are comma-separated application files.
const FILE_LIST_KEYS: &[&str] = &[
    "spark.jars",
    "spark.files",
    "spark.submit.pyFiles",
    "spark.archives",
];

/// The Spark master URL of a single-machine run: one worker JVM per executor, each with the
/// executors' cores and heap (Spark's 1 GiB when none is set).
pub fn local_cluster_master(plan: &LaunchPlan) -> String {
    let cores = plan.executor.cores.unwrap_or(1);
    let mib = plan
        .executor
        .memory_bytes
        .unwrap_or(sparkop_core::plan::DEFAULT_HEAP_BYTES)
        .div_ceil(1 << 20);
    format!(
        "local-cluster[{},{cores},{mib}]",
        plan.executor_instances.max(1)
    )
}

/// Builds the command that runs `plan` with driver and executors as separate JVMs
/// (`local-cluster`), bound to loopback.
pub fn command(
    plan: &LaunchPlan,
    paths: &Paths,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<Submit, LocalError> {
    let master = local_cluster_master(plan);
    let mut conf = plan.conf.clone();
    for (k, v) in [
        ("spark.driver.host", "127.0.0.1"),
        ("spark.driver.bindAddress", "127.0.0.1"),
        ("spark.ui.showConsoleProgress", "false"),
        ("spark.master.rest.enabled", "false"),
    ] {
        conf.insert(k.into(), v.into());
    }
    if let Some(UiTlsPlan::Keystore { .. }) = plan.ui.as_ref().and_then(|u| u.tls.as_ref()) {
        let ks = paths
            .keystore
            .as_ref()
            .ok_or_else(|| LocalError::Plan("the UI keystore was not written".into()))?;
        conf.insert("spark.ssl.keyStore".into(), ks.display().to_string());
    }
    // Values that point into mounted Secrets or the image are rewritten to local paths.
    for (key, value) in conf.iter_mut() {
        if FILE_LIST_KEYS.contains(&key.as_str()) {
            let mapped: Result<Vec<String>, LocalError> = value
                .split(',')
                .map(|item| local_file(&AppFile::classify(item.trim()), paths, exists, key))
                .collect();
            *value = mapped?.join(",");
        } else if value.starts_with('/')
            && let Some(mapped) = map_mount(value, &paths.mounts)
        {
            *value = mapped.display().to_string();
        }
    }

    let mut args = vec![
        "--master".to_owned(),
        master.clone(),
        "--deploy-mode".into(),
        "client".into(),
    ];
    if let Some(props) = &paths.secret_properties {
        args.push("--properties-file".into());
        args.push(props.display().to_string());
    }
    if matches!(
        plan.app_type,
        SparkApplicationType::Java | SparkApplicationType::Scala
    ) {
        let class = plan.main_class.as_ref().ok_or_else(|| {
            LocalError::Plan("spec.mainClass is required for a Java or Scala application".into())
        })?;
        args.push("--class".into());
        args.push(class.clone());
    }
    for (k, v) in &conf {
        args.push("--conf".into());
        args.push(format!("{k}={v}"));
    }
    args.push(local_file(
        &plan.main_file,
        paths,
        exists,
        "spec.mainApplicationFile",
    )?);
    args.extend(plan.arguments.iter().cloned());

    let mut env: BTreeMap<String, String> = plan.driver.env.clone();
    let dirs = [
        ("SPARK_HOME", &paths.spark_home),
        ("SPARK_CONF_DIR", &paths.conf_dir),
        ("SPARK_WORKER_DIR", &paths.work_dir),
    ];
    for (k, v) in dirs {
        env.insert(k.into(), v.display().to_string());
    }
    env.insert("SPARK_LOCAL_IP".into(), "127.0.0.1".into());
    if let Some(h) = &paths.java_home {
        env.insert("JAVA_HOME".into(), h.display().to_string());
    }
    if let Some(py) = &paths.python {
        env.insert("PYSPARK_PYTHON".into(), py.display().to_string());
        env.insert("PYSPARK_DRIVER_PYTHON".into(), py.display().to_string());
    }
    debug_assert!(!env.contains_key(UI_KEYSTORE_PASSWORD_ENV));
    Ok(Submit {
        program: paths.spark_home.join("bin/spark-submit"),
        args,
        env,
        master,
    })
}

fn map_mount(path: &str, mounts: &[(String, PathBuf)]) -> Option<PathBuf> {
    mounts
        .iter()
        .filter_map(|(prefix, dir)| {
            let prefix = prefix.trim_end_matches('/');
            let rest = path.strip_prefix(prefix)?;
            (rest.is_empty() || rest.starts_with('/'))
                .then(|| (prefix.len(), dir.join(rest.trim_start_matches('/'))))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, p)| p)
}

/// The local form of an application file, or an error that says how to make it available.
pub fn local_file(
    file: &AppFile,
    paths: &Paths,
    exists: &dyn Fn(&Path) -> bool,
    field: &str,
) -> Result<String, LocalError> {
    let found = |p: PathBuf, hint: String| {
        if exists(&p) {
            Ok(p.display().to_string())
        } else {
            Err(LocalError::Plan(format!(
                "{field}: {} does not exist{hint}",
                p.display()
            )))
        }
    };
    match file {
        AppFile::Image(p) => {
            if let Some(mapped) = map_mount(p, &paths.mounts) {
                return found(mapped, String::new());
            }
            if let Some(rest) = p.strip_prefix("/opt/spark/") {
                return found(
                    paths.spark_home.join(rest),
                    " in this Spark installation".into(),
                );
            }
            let dir = Path::new(p)
                .parent()
                .map_or("/".into(), |d| d.display().to_string());
            found(
                PathBuf::from(p),
                format!(
                    ": local://{p} is a path inside the container image; map its directory to a \
                     local one with --mount {dir}=LOCAL_DIR"
                ),
            )
        }
        AppFile::Path(p) => {
            let path = Path::new(p);
            let full = if path.is_absolute() {
                path.to_owned()
            } else {
                paths.base_dir.join(path)
            };
            found(full, String::new())
        }
        AppFile::Remote(url) | AppFile::OtherUri(url) => Ok(url.clone()),
    }
}

pub use sparkop_core::plan::log4j_config;
pub use sparkop_core::plan::properties_line;

#[cfg(test)]
mod tests {
    use super::*;
    use sparkop_api::manifest::{LoadOptions, Object, load_str};

    fn plan_of(text: &str) -> LaunchPlan {
        let l = load_str("t.yaml", text, LoadOptions::default());
        match l.documents.into_iter().next().map(|d| d.object) {
            Some(Object::SparkApplication(a)) => sparkop_core::plan(&a).expect("plan"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_worker_per_executor_with_its_cores_and_heap() {
        let p = plan_of(&SECURE_PI.replace(
            "  executor:\n    cores: 1\n    instances: 2\n",
            "  executor:\n    cores: 2\n    instances: 3\n",
        ));
        assert_eq!(local_cluster_master(&p), "local-cluster[3,2,512]");
        let no_heap = plan_of(&SECURE_PI.replace("    memory: \"512m\"\n", ""));
        assert!(
            local_cluster_master(&no_heap).ends_with(",1024]"),
            "Spark's 1 GiB default"
        );
    }

    fn paths() -> Paths {
        Paths {
            spark_home: "/cache/home".into(),
            conf_dir: "/run/conf".into(),
            work_dir: "/run/work".into(),
            secret_properties: Some("/run/secrets/spark.properties".into()),
            keystore: Some("/run/secrets/ui/keystore.p12".into()),
            mounts: vec![
                ("/opt/sparkop/examples".into(), "/build/jars".into()),
                (
                    "/tmp/spark/ssl".into(),
                    "/run/secrets/mounts/ssl-secrets".into(),
                ),
            ],
            base_dir: "/manifests".into(),
            python: Some("/cache/venv/bin/python".into()),
            java_home: None,
        }
    }

    const SECURE_PI: &str = include_str!("../../../examples/secure-pi.yaml");
    const AUTH: &str = include_str!("../../../examples/auth-encryption.yaml");
    const UI_TLS: &str = include_str!("../../../examples/ui-tls.yaml");

    #[test]
    fn the_secure_example_runs_in_local_cluster_with_a_properties_file() {
        let s = command(&plan_of(SECURE_PI), &paths(), &|_| true).expect("command");
        assert_eq!(s.master, "local-cluster[2,1,512]");
        let argv = s.args.join(" ");
        assert!(argv.starts_with("--master local-cluster[2,1,512] --deploy-mode client --properties-file /run/secrets/spark.properties"), "{argv}");
        assert!(argv.contains("--conf spark.ssl.keyStore=/run/secrets/ui/keystore.p12"));
        assert!(argv.contains("--conf spark.driver.bindAddress=127.0.0.1"));
        assert!(
            argv.ends_with("/cache/home/examples/src/main/python/pi.py 10"),
            "{argv}"
        );
        assert!(!argv.contains("--class"));
        assert_eq!(s.env["SPARK_WORKER_DIR"], "/run/work");
        assert_eq!(s.env["PYSPARK_PYTHON"], "/cache/venv/bin/python");
        assert_eq!(s.program, Path::new("/cache/home/bin/spark-submit"));
    }

    #[test]
    fn image_paths_map_through_mounts_or_say_how() {
        let s = command(&plan_of(AUTH), &paths(), &|_| true).expect("command");
        assert!(
            s.args
                .contains(&"/build/jars/mock-task-runner.jar".to_owned())
        );
        assert!(
            s.args
                .windows(2)
                .any(|w| w == ["--class", "MockTaskRunner"])
        );
        let mut p = paths();
        p.mounts.clear();
        let err = command(&plan_of(AUTH), &p, &|_| false)
            .expect_err("must fail")
            .to_string();
        assert!(
            err.contains("--mount /opt/sparkop/examples=LOCAL_DIR"),
            "{err}"
        );
    }

    #[test]
    fn conf_paths_into_mounted_secrets_are_rewritten() {
        let s = command(&plan_of(UI_TLS), &paths(), &|_| true).expect("command");
        assert!(
            s.args.contains(
                &"spark.ssl.keyStore=/run/secrets/mounts/ssl-secrets/keystore.p12".to_owned()
            ),
            "{:?}",
            s.args
        );
        assert!(
            s.args.contains(
                &"spark.ssl.keyStorePassword=${env:SPARK_SSL_KEYSTOREPASSWORD}".to_owned()
            )
        );
    }

    #[test]
    fn properties_lines_escape_what_java_would_misread() {
        assert_eq!(
            properties_line("spark.authenticate.secret", "abc"),
            "spark.authenticate.secret=abc\n"
        );
        assert_eq!(
            properties_line("k", " a=b:c#\\\n"),
            "k=\\ a\\=b\\:c\\#\\\\\\n\n"
        );
        assert_eq!(properties_line("k", "é"), "k=\\u00e9\n");
    }
}
