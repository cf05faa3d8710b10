//! Kubernetes name rules, and the documentation placeholders (`<namespace>`) people copy.

/// Why a name is invalid.
#[derive(Debug, PartialEq, Eq)]
pub enum NameProblem {
    /// Copied from documentation and never replaced, e.g. `<namespace>`.
    Placeholder,
    /// Breaks the DNS rules, with the reason.
    Invalid(&'static str),
}

/// Whether a value is a documentation placeholder such as `<namespace>` or `<app-name>`.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.len() > 2 && v.starts_with('<') && v.ends_with('>')
}

/// Checks an RFC 1123 label (namespaces, Service names): ≤ 63 lowercase alphanumerics or `-`,
/// starting and ending alphanumeric.
pub fn check_label(value: &str) -> Result<(), NameProblem> {
    check(value, 63, false)
}

/// Checks an RFC 1123 subdomain (most object names): ≤ 253 characters, labels joined by `.`.
pub fn check_subdomain(value: &str) -> Result<(), NameProblem> {
    check(value, 253, true)
}

fn check(value: &str, max: usize, dots: bool) -> Result<(), NameProblem> {
    if is_placeholder(value) {
        return Err(NameProblem::Placeholder);
    }
    if value.is_empty() {
        return Err(NameProblem::Invalid("must not be empty"));
    }
    if value.len() > max {
        return Err(NameProblem::Invalid(if max == 63 {
            "must be at most 63 characters"
        } else {
            "must be at most 253 characters"
        }));
    }
    let parts: Vec<&str> = if dots {
        value.split('.').collect()
    } else {
        vec![value]
    };
    for part in parts {
        if part.is_empty() {
            return Err(NameProblem::Invalid(
                "must not contain empty parts between dots",
            ));
        }
        if !part
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(NameProblem::Invalid(if dots {
                "may contain only lowercase letters, digits, '-' and '.'"
            } else {
                "may contain only lowercase letters, digits and '-'"
            }));
        }
        if part.starts_with('-') || part.ends_with('-') {
            return Err(NameProblem::Invalid(
                "must start and end with a letter or digit",
            ));
        }
    }
    Ok(())
}

/// Checks a key inside a Secret or ConfigMap: `[-._a-zA-Z0-9]+`, at most 253 characters.
pub fn check_data_key(value: &str) -> Result<(), NameProblem> {
    if is_placeholder(value) {
        return Err(NameProblem::Placeholder);
    }
    if value.is_empty() || value.len() > 253 {
        return Err(NameProblem::Invalid("must be 1 to 253 characters"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(NameProblem::Invalid(
            "may contain only letters, digits, '-', '.' and '_'",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(check_label("<namespace>"), Err(NameProblem::Placeholder));
        assert!(check_label("data-team").is_ok());
        assert!(check_label("Data").is_err());
        assert!(check_label("-x").is_err());
        assert!(check_label(&"a".repeat(64)).is_err());
        assert!(check_subdomain("spark.example-1").is_ok());
        assert!(check_subdomain("a..b").is_err());
        assert!(check_subdomain("my_app").is_err());
        assert!(check_data_key("key-password").is_ok());
        assert!(check_data_key("a/b").is_err());
    }
}
