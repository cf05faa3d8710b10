//! A certificate's validity end, read with `x509-parser` (the field's DER/X.509 parser). A
//! certificate that does not parse gives `None`, never a panic.

/// The notAfter of an X.509 certificate (DER), as Unix seconds.
pub(crate) fn not_after(cert: &[u8]) -> Option<i64> {
    let (_, c) = x509_parser::parse_x509_certificate(cert).ok()?;
    Some(c.validity().not_after.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_generated_certificate_reports_its_validity() {
        let m = sparkop_pki::generate(&sparkop_pki::Request {
            days: 10,
            ..Default::default()
        })
        .expect("generate");
        let pem = m
            .ca_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(pem)
            .expect("b64");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let end = not_after(&der).expect("notAfter");
        assert!((end - now - 10 * 86_400).abs() < 600, "{end} vs {now}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = not_after(&bytes);
        }
    }
}
