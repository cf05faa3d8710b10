//! `sparkop lint`: load, validate, apply the policy, report.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use sparkop_api::manifest::{self, LoadOptions, Loaded};
use sparkop_api::{Diagnostic, Severity};
use zeroize::Zeroizing;

use crate::cli::{LintArgs, Output};
use crate::report::{self, Source};

/// Runs `lint` and returns the exit status.
pub fn run(args: &LintArgs) -> anyhow::Result<i32> {
    let opts = LoadOptions {
        strict: args.strict,
        max_bytes: args.max_bytes,
    };
    let mut sources = Vec::new();
    let mut unusable = false;
    for path in expand(&args.files)? {
        let source = load_source(&path, opts);
        unusable |= source.loaded.unusable();
        sources.push(source);
    }
    let all: Vec<&Diagnostic> = sources.iter().flat_map(|s| &s.diagnostics).collect();
    let worst = all.iter().map(|d| d.severity).max();
    match args.output {
        Output::Human => report::human(&sources)?,
        Output::Json => report::json(&sources)?,
    }
    Ok(if unusable {
        crate::exit::UNUSABLE
    } else if worst == Some(Severity::Error) {
        crate::exit::FAILED
    } else {
        crate::exit::OK
    })
}

/// Reads and checks one file; a file that cannot be read becomes a located error.
pub(crate) fn load_source(path: &Path, opts: LoadOptions) -> Source {
    let name = path.display().to_string();
    let (text, loaded) = match read(path) {
        Ok(bytes) => {
            let loaded = manifest::load_bytes(&name, &bytes, opts);
            let text = Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
            (text, loaded)
        }
        Err(e) => {
            let mut loaded = Loaded::default();
            loaded.diagnostics.push(
                Diagnostic::error(
                    manifest::rules::NOT_TEXT,
                    format!("cannot read {name}: {e}"),
                )
                .with_hint("check the path"),
            );
            loaded.diagnostics[0].file = Some(name.clone());
            (Zeroizing::new(String::new()), loaded)
        }
    };
    let diagnostics = sparkop_core::check_loaded(&name, &loaded);
    Source {
        name,
        text,
        loaded,
        diagnostics,
    }
}

/// Loads every file and refuses (after printing the located findings) when any has an error:
/// the one rule for commands that act on manifests (`run`, `apply`).
pub(crate) fn load_checked(paths: &[&Path], refusal: &str) -> anyhow::Result<Vec<Source>> {
    let sources: Vec<Source> = paths
        .iter()
        .map(|p| load_source(p, LoadOptions::default()))
        .collect();
    let errors = sources
        .iter()
        .flat_map(|s| &s.diagnostics)
        .filter(|d| d.severity == Severity::Error)
        .count();
    if errors > 0 {
        report::human(&sources)?;
        anyhow::bail!("the manifests have {errors} error(s); {refusal}");
    }
    Ok(sources)
}

fn read(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut buf)?;
    } else {
        std::fs::File::open(path)?.read_to_end(&mut buf)?;
    }
    Ok(buf)
}

/// Files as given, with directories replaced by their YAML files (sorted, recursive).
pub(crate) fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            collect_yaml(p, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}
