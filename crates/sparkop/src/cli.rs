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
