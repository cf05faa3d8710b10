//! The `sparkop` command.

mod audit;
mod cli;
mod cluster;
mod cluster_cmd;
mod exit;
mod lint;
mod operator_cmd;
mod report;
mod rt;
mod run_cmd;
mod secret_cmd;
mod spark_cmd;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => exit::status(code),
        Err(e) => {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return exit::status(exit::OK);
            }
            let _ = writeln!(anstream::stderr(), "sparkop: error: {e:#}");
            exit::status(exit::UNUSABLE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Lint(args) => lint::run(&args),
        Command::Run(args) => run_cmd::run(&args),
        Command::Spark(cmd) => spark_cmd::run(&cmd),
        Command::Secret(cli::SecretCommand::Create(args)) => secret_cmd::create(&args),
        Command::Keystore(cli::KeystoreCommand::Create(args)) => secret_cmd::keystore(&args),
        Command::Audit(cli::AuditCommand::Rpc(args)) => audit::rpc(&args),
        Command::Audit(cli::AuditCommand::Ui(args)) => audit::ui(&args),
        Command::Operator(args) => operator_cmd::run(&args),
        Command::Apply(args) => cluster_cmd::apply(&args),
        Command::Get(args) => cluster_cmd::get(&args),
        Command::Status(args) => cluster_cmd::status(&args),
        Command::Logs(args) => cluster_cmd::logs(&args),
        Command::Delete(args) => cluster_cmd::delete(&args),
        Command::Audit(cli::AuditCommand::Manifest(args)) => audit::manifest(&args),
        Command::Audit(cli::AuditCommand::App(args)) => audit::app(&args),
        Command::Ui(args) => cluster_cmd::ui(&args),
        Command::Crd => {
            std::io::stdout()
                .lock()
                .write_all(sparkop_api::crd::yaml()?.as_bytes())?;
            Ok(0)
        }
        Command::Version => {
            writeln!(
                std::io::stdout().lock(),
                "sparkop {} (API {})",
                env!("CARGO_PKG_VERSION"),
                sparkop_api::manifest::API_VERSION
            )?;
            Ok(0)
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "sparkop",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
    }
}
