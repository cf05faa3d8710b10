//! Command-line syntax (no IO here).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Run Apache Spark applications on Kubernetes, secure by default.
#[derive(Debug, Parser)]
#[command(name = "sparkop", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check SparkApplication manifests: YAML, schema, validation and security policy.
    ///
    /// Exit status: 0 when nothing is at error level, 1 when something is, 2 when an input
    /// could not be read (missing file, not YAML, not text).
    Lint(LintArgs),
    /// Run a SparkApplication on this machine with real Spark, secure by default.
    ///
    /// The driver and executors run as separate JVMs on 127.0.0.1 with authenticated, encrypted
    /// RPC and a TLS 1.3 web UI (HTTPS on 4440). Secrets referenced by the manifest come from
    /// Secret manifests given with -f. Spark is installed from PyPI on first use. Exit status:
    /// 0 when the application succeeded, 1 when it failed, 2 when it could not start, 130 when
    /// interrupted.
    Run(RunArgs),
    /// Install and list the Spark versions sparkop runs applications with.
    #[command(subcommand)]
    Spark(SparkCommand),
    /// Create Secret manifests (like `kubectl create secret generic --dry-run=client -o yaml`).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Create a TLS keystore and truststore for Spark's web UI, as a Secret manifest.
    #[command(subcommand)]
    Keystore(KeystoreCommand),
    /// Prove what a Spark application accepts: live RPC probes and manifest checks.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Apply SparkApplications (and the Secrets beside them) to the cluster by server-side
    /// apply; with --dry-run, print the objects the operator would create, without a cluster.
    Apply(ApplyArgs),
    /// List SparkApplications: state, attempts, driver pod.
    Get(GetArgs),
    /// One application in detail: state, attempts, error, driver, UI, security posture.
    Status(NameArgs),
    /// Print the current driver's log.
    Logs(LogsArgs),
    /// Delete a SparkApplication (its driver objects go with it).
    Delete(NameArgs),
    /// Open the running driver's web UI on this machine: a port-forward through the API server
    /// to the driver's HTTPS port (replaces `kubectl port-forward ... 4440`).
    ///
    /// Runs until Ctrl-C. The generated UI certificate is valid for 127.0.0.1 and localhost;
    /// --ca-out writes its CA for the browser or curl.
    Ui(UiArgs),
    /// Run the Kubernetes operator (uses the in-cluster ServiceAccount or KUBECONFIG).
    ///
    /// Watches SparkApplications, creates each attempt's driver objects secured, follows the
    /// driver pod and writes the status. Stops gracefully on SIGTERM / Ctrl-C.
    Operator(OperatorArgs),
    /// Print the CustomResourceDefinitions (YAML) generated from sparkop's types.
    Crd,
    /// Print version information.
    Version,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `sparkop run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The manifest holding the SparkApplication (it may also hold Secrets).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// More manifests with Secrets the application references (repeatable).
    #[arg(short = 'f', long = "secrets", value_name = "FILE")]
    pub secrets: Vec<PathBuf>,
    /// Which SparkApplication, when the manifest holds several.
    #[arg(long)]
    pub name: Option<String>,
    /// Map a path inside the container image to a local directory, e.g.
    /// --mount /opt/app=./build (repeatable). `/opt/spark/...` maps to SPARK_HOME by itself.
    #[arg(long = "mount", value_name = "IMAGE_PATH=DIR", value_parser = parse_mount)]
    pub mounts: Vec<(String, PathBuf)>,
    /// Use this SPARK_HOME instead of a Spark sparkop installs.
    #[arg(long, env = "SPARK_HOME", value_name = "DIR")]
    pub spark_home: Option<PathBuf>,
    /// Create the run directory here (it must not exist). Default: a new directory under
    /// ~/.cache/sparkop/runs.
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Show Spark's authentication DEBUG lines (the guide's "check the logs" step).
    #[arg(long)]
    pub debug_auth: bool,
    /// Show every log line, not only warnings, errors and the application's output.
    #[arg(long, short)]
    pub verbose: bool,
    /// Once the executors have registered, audit the running application from the outside:
    /// the driver's RPC port (with the run's secret) and the web UI. Error-level findings make
    /// the run exit 1.
    #[arg(long)]
    pub audit: bool,
    /// Print timings (sparkop's own overhead) as a JSON line on stderr at the end.
    #[arg(long, hide = true)]
    pub timings: bool,
}

fn parse_mount(text: &str) -> Result<(String, PathBuf), String> {
    let (image, dir) = text
        .split_once('=')
        .ok_or_else(|| format!("expected IMAGE_PATH=DIR, found {text:?}"))?;
    if !image.starts_with('/') {
        return Err(format!("the image path must be absolute: {image:?}"));
    }
    if dir.is_empty() {
        return Err("the local directory is empty".into());
    }
    Ok((image.trim_end_matches('/').to_owned(), PathBuf::from(dir)))
}

/// `sparkop apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Manifest files.
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print the objects the operator would create for each application (no cluster needed).
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of --dry-run.
    #[arg(short, long, value_enum, default_value_t = ObjectsOutput::Yaml)]
    pub output: ObjectsOutput,
}

/// How `apply --dry-run` prints objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ObjectsOutput {
    /// Multi-document YAML.
    Yaml,
    /// A JSON list.
    Json,
}

/// `sparkop get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Namespace (default: the kubeconfig's).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// All namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

/// An application by name.
#[derive(Debug, clap::Args)]
pub struct NameArgs {
    /// The SparkApplication.
    pub name: String,
    /// Namespace (default: the kubeconfig's).
    #[arg(short, long)]
    pub namespace: Option<String>,
}

/// `sparkop ui`.
#[derive(Debug, clap::Args)]
pub struct UiArgs {
    /// The application.
    #[command(flatten)]
    pub app: NameArgs,
    /// Local port (on 127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 4440)]
    pub port: u16,
    /// Write the UI certificate's CA (PEM, from the keystore Secret's ca.crt) to this file.
    #[arg(long, value_name = "FILE")]
    pub ca_out: Option<PathBuf>,
}

/// `sparkop logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The application.
    #[command(flatten)]
    pub app: NameArgs,
    /// Keep following the log.
    #[arg(short, long)]
    pub follow: bool,
}

/// `sparkop operator`.
#[derive(Debug, clap::Args)]
pub struct OperatorArgs {
    /// A namespace to watch (repeatable); all namespaces when none is given.
    #[arg(long = "namespace", short, conflicts_with = "namespace_selector")]
    pub namespaces: Vec<String>,
    /// Watch only namespaces with these labels, e.g. `spark=enabled` (followed live: labelling
    /// a namespace brings its applications in). Needs list/watch on namespaces.
    #[arg(long, value_name = "SELECTOR")]
    pub namespace_selector: Option<String>,
    /// Serve /metrics, /healthz and /readyz here.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub metrics_addr: std::net::SocketAddr,
    /// At most this many reconciles at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: u16,
    /// Fail an attempt whose driver has not started after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub submitted_timeout: u64,
    /// Read each running driver's log this often (seconds) for connections it refused
    /// (reported as ConnectionRefused Warning Events); 0 turns it off. Needs get on pods/log.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub driver_log_interval: u64,
    /// Act only while holding a Lease (for more than one replica).
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the Lease (default: $POD_NAMESPACE, else sparkop-system).
    #[arg(long)]
    pub lease_namespace: Option<String>,
    /// Seconds a Lease stays valid without renewal.
    #[arg(long, default_value_t = 15)]
    pub lease_seconds: u64,
    /// Log lines as JSON (one object a line) or text; the level comes from RUST_LOG.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

/// How the operator writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object a line.
    Json,
    /// Human-readable lines.
    Text,
}

/// `sparkop spark` subcommands.
#[derive(Debug, Subcommand)]
pub enum SparkCommand {
    /// Install pyspark VERSION from PyPI into the cache (default: the newest release).
    Install {
        /// A Spark release, e.g. 4.3.0.
        #[arg(value_name = "VERSION")]
        release: Option<String>,
    },
    /// List the Spark versions sparkop has installed.
    List,
    /// Print the SPARK_HOME of an installed version (default: the newest installed).
    Home {
        /// A Spark release, e.g. 4.3.0.
        #[arg(value_name = "VERSION")]
        release: Option<String>,
    },
}

/// `sparkop secret` subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Print a Secret manifest. Pipe it to a file or to `kubectl apply -f -`.
    Create(SecretCreateArgs),
}

/// `sparkop secret create`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("data").required(true).multiple(true)))]
pub struct SecretCreateArgs {
    /// The Secret's name.
    pub name: String,
    /// Its namespace.
    #[arg(long, short)]
    pub namespace: Option<String>,
    /// A key and a literal value, KEY=VALUE (repeatable). Prefer --random for secrets: a
    /// literal lands in your shell history.
    #[arg(long, value_name = "KEY=VALUE", group = "data")]
    pub from_literal: Vec<String>,
    /// A key whose value is 32 random bytes, hex-encoded (repeatable), e.g. --random secret
    /// for spark.authenticate.
    #[arg(long, value_name = "KEY", group = "data")]
    pub random: Vec<String>,
    /// A key read from a file, [KEY=]PATH (repeatable; the key defaults to the file name).
    #[arg(long, value_name = "[KEY=]PATH", group = "data")]
    pub from_file: Vec<String>,
}

/// `sparkop keystore` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeystoreCommand {
    /// Print a Secret with a PKCS12 keystore (a key and a certificate signed by a new CA), a
    /// truststore holding the CA, their passwords and the CA certificate (`ca.crt`).
    ///
    /// Keys: keystore.p12, keystore-password, key-password, truststore.p12,
    /// truststore-password, ca.crt — what spec.security.ui.tls.keystoreSecret and the guide's
    /// TLS example expect. Replaces the guide's keytool steps.
    Create(KeystoreCreateArgs),
}

/// `sparkop keystore create`.
#[derive(Debug, clap::Args)]
pub struct KeystoreCreateArgs {
    /// The Secret's name.
    pub name: String,
    /// Its namespace.
    #[arg(long, short)]
    pub namespace: Option<String>,
    /// DNS names or IP addresses the certificate is valid for (repeatable).
    #[arg(long = "host", value_name = "NAME_OR_IP", default_values_t = ["localhost".to_owned(), "127.0.0.1".to_owned()])]
    pub hosts: Vec<String>,
    /// Days the certificates are valid.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Also write the CA certificate (PEM) to this file, to give to browsers or curl.
    #[arg(long, value_name = "FILE")]
    pub ca_out: Option<PathBuf>,
}

/// `sparkop audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Probe a Spark RPC endpoint (driver, executor, standalone master/worker, shuffle service).
    ///
    /// Reports whether it accepts unauthenticated RPCs, which auth protocol it speaks (legacy
    /// CVE-2021-38296, current X25519, SASL), whether SASL fallback is open, and — with the
    /// secret — which cipher protects the session. Exit status: 1 when a finding reaches
    /// --fail-on, 0 otherwise.
    Rpc(AuditRpcArgs),
    /// Probe a Spark web UI: TLS versions and suite, certificate chain, host name and expiry
    /// against a CA, whether the HTTP port only redirects, whether a standalone REST
    /// submission port is open. Exit status as for `audit rpc`.
    Ui(AuditUiArgs),
    /// Check manifests with the security policy and deployment-level rules, with a score.
    Manifest(AuditManifestArgs),
    /// Audit a running application in the cluster: its driver's RPC port (with the
    /// application's secret) and web UI (against the CA of its keystore Secret), reached by
    /// port-forwards through the API server.
    ///
    /// Needs get on the SparkApplication, its driver pod and Secrets, and create on
    /// pods/portforward. Exit status as for the other audits.
    App(AuditAppArgs),
}

/// `sparkop audit app`.
#[derive(Debug, clap::Args)]
pub struct AuditAppArgs {
    /// The application.
    #[command(flatten)]
    pub app: NameArgs,
    /// Seconds each probe may take.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// The image of the pod that probes the executors from inside the cluster (its entrypoint
    /// must be the sparkop binary; scripts/build-sparkop-image builds one).
    #[arg(long, value_name = "IMAGE", default_value = crate::cluster::probe_pod::DEFAULT_IMAGE)]
    pub probe_image: String,
    /// Output options.
    #[command(flatten)]
    pub out: AuditOutputArgs,
}

/// Audit output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditOutput {
    /// A readable table.
    Table,
    /// JSON.
    Json,
    /// SARIF 2.1.0 for code-scanning UIs.
    Sarif,
}

/// Lowest severity that makes `audit` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding at error level.
    Error,
    /// Warnings and errors.
    Warning,
    /// Any finding at all.
    Info,
    /// Never fail.
    Never,
}

/// Options shared by the audit subcommands.
#[derive(Debug, clap::Args)]
pub struct AuditOutputArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = AuditOutput::Table)]
    pub output: AuditOutput,
    /// Lowest severity that makes the command exit 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
}

/// `sparkop audit rpc`.
#[derive(Debug, clap::Args)]
pub struct AuditRpcArgs {
    /// The endpoints, e.g. 127.0.0.1:7078 (one report for all of them).
    #[arg(value_name = "HOST:PORT", required = true)]
    pub endpoints: Vec<String>,
    /// File holding the application's secret string (the value of spark.authenticate.secret;
    /// a trailing newline is ignored).
    #[arg(long, value_name = "FILE", conflicts_with = "spark_secret_file")]
    pub secret_file: Option<PathBuf>,
    /// A file given to Spark as spark.authenticate.secret.{driver,executor}.file: Spark's
    /// secret is the base64 of its raw bytes, trailing newline included.
    #[arg(long, value_name = "FILE")]
    pub spark_secret_file: Option<PathBuf>,
    /// App id for the handshake (Spark's drivers, executors and block managers accept the
    /// default; an external shuffle service may expect the application id).
    #[arg(long, default_value = "sparkSaslUser")]
    pub app_id: String,
    /// Seconds each probe may take.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// Output options.
    #[command(flatten)]
    pub out: AuditOutputArgs,
}

/// `sparkop audit ui`.
#[derive(Debug, clap::Args)]
pub struct AuditUiArgs {
    /// The UI, e.g. https://127.0.0.1:4440 (or an http:// URL to check for plain HTTP).
    pub url: String,
    /// CA certificate (PEM) the UI's certificate must verify against, e.g. a run's ui-ca.crt.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// TLS 1.2 is intended to be accepted (otherwise accepting it is a finding).
    #[arg(long)]
    pub allow_tls12: bool,
    /// The plain-HTTP port to check (default: the HTTPS port - 400, as Spark lays them out).
    #[arg(long, value_name = "PORT")]
    pub http_port: Option<u16>,
    /// The standalone REST submission port to check.
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 6066,
        conflicts_with = "no_rest"
    )]
    pub rest_port: u16,
    /// Do not check a REST submission port.
    #[arg(long)]
    pub no_rest: bool,
    /// Seconds each probe may take.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// Output options.
    #[command(flatten)]
    pub out: AuditOutputArgs,
}

/// `sparkop audit manifest`.
#[derive(Debug, clap::Args)]
pub struct AuditManifestArgs {
    /// Manifest files or directories.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub out: AuditOutputArgs,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Readable text with source excerpts (colored on a terminal).
    Human,
    /// One JSON document for tools.
    Json,
}

/// `sparkop lint`.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Manifest files or directories (searched for *.yaml and *.yml); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Human)]
    pub output: Output,
    /// Treat unknown fields as errors instead of warnings.
    #[arg(long)]
    pub strict: bool,
    /// Refuse files larger than this many bytes.
    #[arg(long, default_value_t = sparkop_api::manifest::DEFAULT_MAX_BYTES, value_name = "BYTES")]
    pub max_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lint_flags() {
        let cli = Cli::try_parse_from(["sparkop", "lint", "a.yaml", "b", "--strict", "-o", "json"])
            .expect("parses");
        let Command::Lint(args) = cli.command else {
            panic!("lint")
        };
        assert_eq!(args.files.len(), 2);
        assert!(args.strict);
        assert_eq!(args.output, Output::Json);
        assert!(Cli::try_parse_from(["sparkop", "lint"]).is_err());
    }

    #[test]
    fn parses_run_mounts_and_refuses_bad_ones() {
        let cli = Cli::try_parse_from([
            "sparkop",
            "run",
            "app.yaml",
            "-f",
            "s.yaml",
            "--mount",
            "/opt/app/=./build",
        ])
        .expect("parses");
        let Command::Run(args) = cli.command else {
            panic!("run")
        };
        assert_eq!(
            args.mounts,
            [("/opt/app".to_owned(), PathBuf::from("./build"))]
        );
        assert_eq!(args.secrets, [PathBuf::from("s.yaml")]);
        for bad in ["relative=./x", "/opt/app", "/opt/app="] {
            assert!(
                Cli::try_parse_from(["sparkop", "run", "a.yaml", "--mount", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(
            Cli::try_parse_from(["sparkop", "secret", "create", "s"]).is_err(),
            "needs data"
        );
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
