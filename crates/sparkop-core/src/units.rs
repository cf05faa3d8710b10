//! Spark's size notation and Kubernetes quantities — two notations that look alike and differ:
//! `512m` is 512 MiB to Spark and 0.512 bytes to Kubernetes.

use thiserror::Error;

const MIB: u64 = 1024 * 1024;

/// Why a Spark size string is invalid.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SizeError {
    /// Empty text.
    #[error("empty size")]
    Empty,
    /// A fraction such as `1.5g`.
    #[error("fractional sizes are not accepted by Spark")]
    Fraction,
    /// A negative size.
    #[error("size must not be negative")]
    Negative,
    /// A Kubernetes suffix such as `Mi`.
    #[error("`{0}` is a Kubernetes suffix, not Spark notation")]
    KubernetesSuffix(String),
    /// An unknown suffix.
    #[error("unknown size suffix `{0}`")]
    UnknownSuffix(String),
    /// Larger than 2^64 bytes.
    #[error("size overflows")]
    Overflow,
    /// No digits.
    #[error("not a number")]
    NotANumber,
}

/// Parses a Spark memory string (`512m`, `2g`, `1024k`, `4096` = MiB) to bytes, as Spark's
/// `JavaUtils.byteStringAs` does with MiB as the default unit.
pub fn parse_spark_memory(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(SizeError::Empty);
    }
    if t.starts_with('-') {
        return Err(SizeError::Negative);
    }
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(digits_end);
    if suffix.starts_with('.') {
        return Err(SizeError::Fraction);
    }
    if digits.is_empty() {
        return Err(SizeError::NotANumber);
    }
    let n: u64 = digits.parse().map_err(|_| SizeError::Overflow)?;
    let unit: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "m" | "mb" => MIB,
        "b" => 1,
        "k" | "kb" => 1024,
        "g" | "gb" => MIB * 1024,
        "t" | "tb" => MIB * 1024 * 1024,
        "p" | "pb" => MIB * 1024 * 1024 * 1024,
        _ if matches!(suffix, "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei") => {
            return Err(SizeError::KubernetesSuffix(suffix.to_owned()));
        }
        _ => return Err(SizeError::UnknownSuffix(suffix.to_owned())),
    };
    n.checked_mul(unit).ok_or(SizeError::Overflow)
}

/// Spark notation for a Kubernetes-style size (`512Mi` → `512m`), for hints.
pub fn spark_notation_for(text: &str) -> Option<String> {
    let t = text.trim();
    let (num, suffix) = t.split_at(t.find(|c: char| !c.is_ascii_digit())?);
    let unit = match suffix {
        "Ki" => "k",
        "Mi" => "m",
        "Gi" => "g",
        "Ti" => "t",
        "Pi" => "p",
        _ => return None,
    };
    (!num.is_empty()).then(|| format!("{num}{unit}"))
}

/// Whether `text` is a valid Kubernetes quantity (`1`, `500m`, `1.5`, `2Gi`, `1e3`).
pub fn is_kubernetes_quantity(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(num_end);
    let mut parts = num.split('.');
    let int = parts.next().unwrap_or_default();
    let frac = parts.next();
    if parts.next().is_some() || (int.is_empty() && frac.is_none_or(str::is_empty)) {
        return false;
    }
    match suffix {
        "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti"
        | "Pi" | "Ei" => true,
        s => {
            let exp = s
                .strip_prefix(['e', 'E'])
                .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e));
            exp.is_some_and(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()))
        }
    }
}

/// Human form of a byte count (`512 MiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spark_memory_in_every_form() {
        let cases = [
            ("512m", 512 * MIB),
            ("512M", 512 * MIB),
            ("512mb", 512 * MIB),
            ("512MB", 512 * MIB),
            ("512", 512 * MIB),
            ("2g", 2048 * MIB),
            ("2GB", 2048 * MIB),
            ("1t", 1024 * 1024 * MIB),
            ("1p", 1024 * 1024 * 1024 * MIB),
            ("1048576k", 1024 * MIB),
            ("1048576kb", 1024 * MIB),
            ("536870912b", 512 * MIB),
            (" 1g ", 1024 * MIB),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_spark_memory(text), Ok(bytes), "{text}");
        }
        assert_eq!(parse_spark_memory("1.5g"), Err(SizeError::Fraction));
        assert_eq!(parse_spark_memory("-1g"), Err(SizeError::Negative));
        assert_eq!(
            parse_spark_memory("512Mi"),
            Err(SizeError::KubernetesSuffix("Mi".into()))
        );
        assert_eq!(
            parse_spark_memory("1Gi"),
            Err(SizeError::KubernetesSuffix("Gi".into()))
        );
        assert_eq!(
            parse_spark_memory("12x"),
            Err(SizeError::UnknownSuffix("x".into()))
        );
        assert_eq!(parse_spark_memory("g"), Err(SizeError::NotANumber));
        assert_eq!(parse_spark_memory(""), Err(SizeError::Empty));
        assert_eq!(
            parse_spark_memory("99999999999999999999g"),
            Err(SizeError::Overflow)
        );
        assert_eq!(parse_spark_memory("17179869184p"), Err(SizeError::Overflow));
        assert_eq!(spark_notation_for("512Mi").as_deref(), Some("512m"));
    }

    #[test]
    fn kubernetes_quantities() {
        for ok in ["1", "500m", "1.5", "2Gi", "1e3", "0.5", "100Mi", "+1", ".5"] {
            assert!(is_kubernetes_quantity(ok), "{ok}");
        }
        for bad in ["", "1.2.3", "5 cores", "1gb", "m", "1e"] {
            assert!(!is_kubernetes_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(512 * MIB), "512 MiB");
        assert_eq!(human_bytes(1536 * MIB), "1.5 GiB");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = parse_spark_memory(&s);
            let _ = is_kubernetes_quantity(&s);
            let _ = spark_notation_for(&s);
        }

        #[test]
        fn mebibytes_round_trip(n in 0u64..1_000_000) {
            prop_assert_eq!(parse_spark_memory(&format!("{n}m")), Ok(n * MIB));
        }
    }
}
