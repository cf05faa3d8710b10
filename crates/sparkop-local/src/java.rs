//! Finding a Java runtime Spark can use (17 or newer: Spark 4's class files are version 61).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::LocalError;

/// The oldest Java major version Spark 4 runs on.
pub const MIN_JAVA: u32 = 17;

/// A Java runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Java {
    /// The `java` executable.
    pub bin: PathBuf,
    /// `JAVA_HOME`, when known.
    pub home: Option<PathBuf>,
    /// Major version (8, 11, 17, 21, …).
    pub major: u32,
    /// The version string `java -version` printed.
    pub version: String,
}

/// Parses the first `version "…"` of `java -version` output into (major, full text).
pub fn parse_version(output: &str) -> Option<(u32, String)> {
    let start = output.find("version \"")? + "version \"".len();
    let rest = &output[start..];
    let version = &rest[..rest.find('"')?];
    let mut parts = version.split(['.', '-', '+', '_']);
    let first: u32 = parts.next()?.parse().ok()?;
    // Java 8 and older say 1.8.0_…
    let major = if first == 1 {
        parts.next()?.parse().ok()?
    } else {
        first
    };
    Some((major, version.to_owned()))
}

/// Parses `JAVA_VERSION="17.0.15"` from a JDK's `release` file into (major, full text).
pub fn parse_release(text: &str) -> Option<(u32, String)> {
    let line = text.lines().find(|l| l.starts_with("JAVA_VERSION="))?;
    let version = line["JAVA_VERSION=".len()..].trim().trim_matches('"');
    parse_version(&format!("version \"{version}\""))
}

/// Finds `java` through `JAVA_HOME`, else `PATH`, and checks its version. The version comes
/// from the installation's `release` file when there is one (no JVM start: it keeps sparkop's
/// own overhead low), else from `java -version`.
pub fn detect() -> Result<Java, LocalError> {
    let home = std::env::var_os("JAVA_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let bin = match home
        .as_ref()
        .map(|h| h.join("bin/java"))
        .filter(|b| b.exists())
    {
        Some(b) => b,
        None => find_on_path("java").unwrap_or_else(|| PathBuf::from("java")),
    };
    // bin/java -> its installation, through symlinks such as /usr/bin/java -> /etc/alternatives.
    let install = std::fs::canonicalize(&bin)
        .ok()
        .and_then(|real| real.parent()?.parent().map(Path::to_owned));
    if let Some((major, version)) = install
        .as_ref()
        .and_then(|i| std::fs::read_to_string(i.join("release")).ok())
        .and_then(|t| parse_release(&t))
        && major >= MIN_JAVA
    {
        return Ok(Java {
            bin,
            home: home.or(install),
            major,
            version,
        });
    }
    check(&bin, home)
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn check(bin: &Path, home: Option<PathBuf>) -> Result<Java, LocalError> {
    let out = Command::new(bin).arg("-version").output().map_err(|e| {
        LocalError::Java(format!(
            "could not run {} ({e}); install Java {MIN_JAVA} or newer (e.g. `apt-get install \
             openjdk-17-jre-headless`) or set JAVA_HOME",
            bin.display()
        ))
    })?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let (major, version) = parse_version(&text).ok_or_else(|| {
        LocalError::Java(format!(
            "could not read the version of {} from `java -version`",
            bin.display()
        ))
    })?;
    if major < MIN_JAVA {
        return Err(LocalError::Java(format!(
            "{} is Java {version}; Spark needs Java {MIN_JAVA} or newer (e.g. `apt-get install \
             openjdk-17-jre-headless`, then set JAVA_HOME)",
            bin.display()
        )));
    }
    Ok(Java {
        bin: bin.to_owned(),
        home,
        major,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_every_vendor_style_parse() {
        let cases = [
            (
                "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime",
                17,
                "17.0.15",
            ),
            ("java version \"1.8.0_392\"\nJava(TM) SE", 8, "1.8.0_392"),
            ("openjdk version \"21\" 2023-09-19", 21, "21"),
            ("openjdk version \"25.0.3+9-LTS\"", 25, "25.0.3+9-LTS"),
        ];
        for (text, major, version) in cases {
            assert_eq!(
                parse_version(text),
                Some((major, version.to_owned())),
                "{text}"
            );
        }
        assert_eq!(parse_version("no java here"), None);
        assert_eq!(parse_version("version \"x.y\""), None);
    }

    #[test]
    fn release_files_parse() {
        let text =
            "IMPLEMENTOR=\"Debian\"\nJAVA_VERSION=\"17.0.15\"\nJAVA_VERSION_DATE=\"2025-04-15\"\n";
        assert_eq!(parse_release(text), Some((17, "17.0.15".into())));
        assert_eq!(
            parse_release("JAVA_VERSION=\"1.8.0_392\""),
            Some((8, "1.8.0_392".into()))
        );
        assert_eq!(parse_release("nothing"), None);
    }

    #[test]
    fn this_machine_has_a_usable_java() {
        // The test machines have Java 17+ (Spark needs it); detection must find it.
        let java = detect().expect("java");
        assert!(java.major >= MIN_JAVA, "{java:?}");
    }

    #[test]
    fn a_missing_java_says_what_to_install() {
        let err = check(Path::new("/nonexistent/bin/java"), None).expect_err("must fail");
        assert!(
            err.to_string().contains("install Java 17 or newer"),
            "{err}"
        );
    }
}
