//! `sparkop secret create` and `sparkop keystore create`: Secret manifests made without kubectl,
//! keytool or openssl. The values go to standard output only (that is the point); nothing is
//! logged or written elsewhere unless asked (`--ca-out`).

use std::io::Write as _;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use crate::cli::{KeystoreCreateArgs, SecretCreateArgs};

/// One key of a Secret being built.
type Entry = (String, Zeroizing<Vec<u8>>);

/// A Secret manifest in the shape `kubectl create secret generic --dry-run=client -o yaml`
/// prints. Strings are written as JSON strings, which YAML reads as double-quoted scalars.
pub fn secret_yaml(name: &str, namespace: Option<&str>, data: &[Entry]) -> Zeroizing<String> {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let mut out = Zeroizing::new(String::from("apiVersion: v1\nkind: Secret\nmetadata:\n"));
    out.push_str(&format!("  name: {}\n", q(name)));
    if let Some(ns) = namespace {
        out.push_str(&format!("  namespace: {}\n", q(ns)));
    }
    out.push_str("type: Opaque\ndata:\n");
    for (key, value) in data {
        let encoded =
            Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(value.as_slice()));
        out.push_str(&format!("  {}: {}\n", q(key), encoded.as_str()));
    }
    out
}

fn problem(p: &sparkop_core::names::NameProblem) -> &'static str {
    match p {
        sparkop_core::names::NameProblem::Placeholder => "it is a documentation placeholder",
        sparkop_core::names::NameProblem::Invalid(why) => why,
    }
}

fn check_name(name: &str) -> anyhow::Result<()> {
    sparkop_core::names::check_subdomain(name)
        .map_err(|e| anyhow::anyhow!("{name:?} is not a valid Secret name: {}", problem(&e)))
}

fn check_key(key: &str) -> anyhow::Result<()> {
    if sparkop_core::names::check_data_key(key).is_err() {
        bail!("{key:?} is not a valid Secret key (letters, digits, '-', '_' and '.', at most 253)");
    }
    Ok(())
}

fn random_hex() -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let secret =
        sparkop_pki::random_rpc_secret().context("no randomness from the operating system")?;
    Ok(Zeroizing::new(secret.as_bytes().to_vec()))
}

/// Runs `sparkop secret create`.
pub fn create(args: &SecretCreateArgs) -> anyhow::Result<i32> {
    check_name(&args.name)?;
    let mut data: Vec<Entry> = Vec::new();
    for lit in &args.from_literal {
        let (k, v) = lit.split_once('=').with_context(|| {
            format!(
                "--from-literal expects KEY=VALUE, found key {:?} without '='",
                lit.split('=').next().unwrap_or("")
            )
        })?;
        data.push((k.to_owned(), Zeroizing::new(v.as_bytes().to_vec())));
    }
    for key in &args.random {
        data.push((key.clone(), random_hex()?));
    }
    for spec in &args.from_file {
        let (key, path) = match spec.split_once('=') {
            Some((k, p)) => (k.to_owned(), std::path::PathBuf::from(p)),
            None => {
                let p = std::path::PathBuf::from(spec);
                let k = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .with_context(|| format!("--from-file {spec:?} has no file name"))?;
                (k, p)
            }
        };
        let bytes = Zeroizing::new(
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
        );
        data.push((key, bytes));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (k, _) in &data {
        check_key(k)?;
        if !seen.insert(k.clone()) {
            bail!("key {k:?} is given twice");
        }
    }
    let yaml = secret_yaml(&args.name, args.namespace.as_deref(), &data);
    std::io::stdout().lock().write_all(yaml.as_bytes())?;
    Ok(0)
}

/// Runs `sparkop keystore create`.
pub fn keystore(args: &KeystoreCreateArgs) -> anyhow::Result<i32> {
    check_name(&args.name)?;
    let req = sparkop_pki::Request {
        common_name: args
            .hosts
            .first()
            .cloned()
            .unwrap_or_else(|| "localhost".into()),
        hosts: args.hosts.clone(),
        days: args.days,
    };
    let m = sparkop_pki::generate(&req)?;
    let pw = |s: &secrecy::SecretString| Zeroizing::new(s.expose_secret().as_bytes().to_vec());
    let data: Vec<Entry> = vec![
        (
            "ca.crt".into(),
            Zeroizing::new(m.ca_pem.as_bytes().to_vec()),
        ),
        ("key-password".into(), pw(&m.keystore_password)),
        ("keystore-password".into(), pw(&m.keystore_password)),
        ("keystore.p12".into(), Zeroizing::new(m.keystore.to_vec())),
        ("truststore-password".into(), pw(&m.truststore_password)),
        (
            "truststore.p12".into(),
            Zeroizing::new(m.truststore.clone()),
        ),
    ];
    if let Some(path) = &args.ca_out {
        std::fs::write(path, m.ca_pem.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let yaml = secret_yaml(&args.name, args.namespace.as_deref(), &data);
    std::io::stdout().lock().write_all(yaml.as_bytes())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkop_api::manifest::{LoadOptions, Object, load_str};

    #[test]
    fn our_secret_yaml_loads_back_through_the_manifest_loader() {
        let data: Vec<Entry> = vec![
            ("secret".into(), Zeroizing::new(b"s3cr3t".to_vec())),
            ("odd.key".into(), Zeroizing::new(vec![0, 255, 10])),
        ];
        let yaml = secret_yaml("spark-secret", Some("team-a"), &data);
        let loaded = load_str("out.yaml", &yaml, LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let Some(Object::Secret(s)) = loaded.documents.first().map(|d| &d.object) else {
            panic!("not a Secret")
        };
        assert_eq!(s.name, "spark-secret");
        assert_eq!(s.namespace.as_deref(), Some("team-a"));
        assert_eq!(s.get("secret").map(|v| v.expose()), Some(&b"s3cr3t"[..]));
        assert_eq!(
            s.get("odd.key").map(|v| v.expose()),
            Some(&[0u8, 255, 10][..])
        );
    }
}
