//! Spark versions and what is known to be broken in them (see
//! `reference/spark-wire-protocol.md` §2.4 and §3.3).

use std::fmt;

/// A Spark release version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SparkVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch (0 when not given).
    pub patch: u32,
}

impl fmt::Display for SparkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

const fn v(major: u32, minor: u32, patch: u32) -> SparkVersion {
    SparkVersion {
        major,
        minor,
        patch,
    }
}

impl SparkVersion {
    /// Parses `3.5.9`, `3.5`, `v4.0.0` (a suffix such as `-SNAPSHOT` is ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().trim_start_matches(['v', 'V']);
        let core = t.split(['-', '+', '_']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(v(major, minor, patch))
    }

    /// A release number exactly as PyPI and Maven publish it: `MAJOR.MINOR.PATCH`, digits only
    /// (what `sparkop spark install` accepts and its cache directories are named by).
    pub fn parse_release(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let mut next = || -> Option<u32> {
            let p = parts.next()?;
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        };
        let (major, minor, patch) = (next()?, next()?, next()?);
        parts.next().is_none().then(|| v(major, minor, patch))
    }

    /// The Spark version named in an image tag, e.g. `apache/spark:3.5.9-scala2.12` or
    /// `mesosphere/spark:spark-3.0.0-hadoop-2.9-k8s`: the first `x.y.z` in the tag.
    pub fn from_image(image: &str) -> Option<Self> {
        let tag = image
            .rsplit_once(':')
            .map(|(_, t)| t)
            .filter(|t| !t.contains('/'))?;
        let bytes = tag.as_bytes();
        (0..bytes.len())
            .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()))
            .find_map(|i| {
                let rest = &tag[i..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                let candidate = rest[..end].trim_end_matches('.');
                (candidate.matches('.').count() == 2)
                    .then(|| Self::parse(candidate))
                    .flatten()
            })
    }

    /// Uses the legacy PBKDF2 auth protocol whose key exchange is broken (CVE-2021-38296).
    pub fn has_broken_key_exchange(self) -> bool {
        self < v(3, 1, 3)
    }

    /// Offers AES-GCM for RPC at all (SPARK-47172: 3.4.4, 3.5.2, 4.0.0 and later).
    pub fn offers_gcm(self) -> bool {
        (self >= v(3, 4, 4) && self < v(3, 5, 0)) || self >= v(3, 5, 2)
    }

    /// AES-GCM is offered but only the first message decrypts.
    pub fn has_broken_gcm(self) -> bool {
        self.offers_gcm()
            && ((self.major, self.minor) == (3, 4)
                || (self >= v(3, 5, 2) && self <= v(3, 5, 8))
                || (self >= v(4, 0, 0) && self <= v(4, 0, 3))
                || (self >= v(4, 1, 0) && self <= v(4, 1, 2)))
    }

    /// AES-GCM for RPC works.
    pub fn gcm_usable(self) -> bool {
        self.offers_gcm() && !self.has_broken_gcm()
    }

    /// RPC over TLS (`spark.ssl.rpc.*`) exists (Spark 4).
    pub fn offers_rpc_tls(self) -> bool {
        self.major >= 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_exactly_three_numbers() {
        assert_eq!(SparkVersion::parse_release("4.3.0"), Some(v(4, 3, 0)));
        for bad in ["4.3", "4.3.0.1", "v4.3.0", "4.3.0-rc1", "4.x.0", "", "4..0"] {
            assert_eq!(SparkVersion::parse_release(bad), None, "{bad}");
        }
        let mut vs = ["3.5.9", "4.3.0", "3.10.1"].map(SparkVersion::parse_release);
        vs.sort();
        assert_eq!(vs[2], Some(v(4, 3, 0)));
        assert_eq!(vs[1], Some(v(3, 10, 1)), "numeric, not textual, order");
    }

    #[test]
    fn parses_versions_and_image_tags() {
        assert_eq!(SparkVersion::parse("3.5.9"), Some(v(3, 5, 9)));
        assert_eq!(SparkVersion::parse("v4.0"), Some(v(4, 0, 0)));
        assert_eq!(SparkVersion::parse("3.5.1-SNAPSHOT"), Some(v(3, 5, 1)));
        assert_eq!(SparkVersion::parse("three"), None);
        assert_eq!(SparkVersion::parse("1.2.3.4"), None);
        let img = |s| SparkVersion::from_image(s);
        assert_eq!(
            img("mesosphere/spark:spark-3.0.0-hadoop-2.9-k8s"),
            Some(v(3, 0, 0))
        );
        assert_eq!(
            img("apache/spark:3.5.9-scala2.12-java17-ubuntu"),
            Some(v(3, 5, 9))
        );
        assert_eq!(img("registry:5000/spark:v4.3.0"), Some(v(4, 3, 0)));
        assert_eq!(img("registry:5000/spark"), None);
        assert_eq!(img("spark:latest"), None);
    }

    #[test]
    fn known_breakage_matches_the_protocol_reference() {
        let p = |s| SparkVersion::parse(s).expect("version");
        for s in ["2.4.8", "3.0.0", "3.0.3", "3.1.2"] {
            assert!(p(s).has_broken_key_exchange(), "{s}");
        }
        for s in ["3.1.3", "3.2.0", "3.5.9", "4.3.0"] {
            assert!(!p(s).has_broken_key_exchange(), "{s}");
        }
        for s in [
            "3.4.4", "3.5.2", "3.5.8", "4.0.0", "4.0.3", "4.1.0", "4.1.2",
        ] {
            assert!(p(s).has_broken_gcm(), "{s}");
        }
        for s in [
            "3.5.9", "4.0.4", "4.0.5", "4.1.3", "4.1.4", "4.2.0", "4.2.1", "4.3.0",
        ] {
            assert!(p(s).gcm_usable(), "{s}");
        }
        for s in ["3.3.4", "3.4.3", "3.5.0", "3.5.1"] {
            assert!(!p(s).offers_gcm(), "{s}");
        }
    }
}
