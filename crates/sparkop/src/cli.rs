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
    /// Prove what a Spark application accepts: live RPC probes and manifest checks.
    #[command(subcommand)]
    Audit(AuditCommand),
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
    /// Check manifests with the security policy and deployment-level rules, with a score.
    Manifest(AuditManifestArgs),
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
    /// The endpoint, e.g. 127.0.0.1:7078.
    #[arg(value_name = "HOST:PORT")]
    pub endpoint: String,
    /// File holding the application's secret string (the value of spark.authenticate.secret;
    /// a trailing newline is ignored).
    #[arg(long, value_name = "FILE", conflicts_with = "spark_secret_file")]
    pub secret_file: Option<PathBuf>,
    /// A file given to Spark as spark.authenticate.secret.{driver,executor}.file: Spark's
    /// secret is the base64 of its raw bytes, trailing newline included.
    #[arg(long, value_name = "FILE")]
    pub spark_secret_file: Option<PathBuf>,
    /// App id for the handshake (`sparkSaslUser` for RpcEnv endpoints; the application id for
    /// block-transfer and external-shuffle endpoints).
    #[arg(long, default_value = "sparkSaslUser")]
    pub app_id: String,
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
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
