//! The Java properties format Spark reads (`--properties-file`, the driver ConfigMap's
//! `spark.properties`): one place for its escaping, used by both backends.

use std::collections::BTreeMap;

/// A Java properties line (`key=value`) with the escapes `java.util.Properties.load` expects.
pub fn properties_line(key: &str, value: &str) -> String {
    fn escape(text: &str, is_key: bool, out: &mut String) {
        for (i, c) in text.chars().enumerate() {
            match c {
                '\\' => out.push_str("\\\\"),
                '=' | ':' | '#' | '!' => {
                    out.push('\\');
                    out.push(c);
                }
                ' ' if is_key || i == 0 => out.push_str("\\ "),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
    }
    let mut out = String::new();
    escape(key, true, &mut out);
    out.push('=');
    escape(value, false, &mut out);
    out.push('\n');
    out
}

/// A whole properties file, keys sorted.
pub fn properties_file(conf: &BTreeMap<String, String>) -> String {
    conf.iter().map(|(k, v)| properties_line(k, v)).collect()
}
