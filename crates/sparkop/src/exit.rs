//! sparkop's exit codes, the same for every command (documented in the README).

/// Done; nothing to report.
pub const OK: i32 = 0;
/// The command ran and found or met a failure: findings at the failing level (`lint`,
/// `audit`), a failed application (`run`), a lost Lease (`operator`).
pub const FAILED: i32 = 1;
/// The command could not do its job: unusable input, no cluster, a missing tool.
pub const UNUSABLE: i32 = 2;
/// Interrupted by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

/// The process exit status of a command's code.
pub fn status(code: i32) -> std::process::ExitCode {
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
