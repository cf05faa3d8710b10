//! Read access to an application's `sparkConf`, with Spark's boolean parsing.

use std::collections::BTreeMap;

use sparkop_api::SparkApplicationSpec;

/// A boolean Spark setting as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfBool {
    /// Not set.
    Absent,
    /// `true` (any case, as Spark accepts).
    True,
    /// `false` (any case).
    False,
    /// Set to something Spark would reject.
    Invalid,
}

/// `sparkConf` of one application.
#[derive(Clone, Copy, Debug)]
pub struct Conf<'a> {
    map: Option<&'a BTreeMap<String, String>>,
}

impl<'a> Conf<'a> {
    /// The `sparkConf` of `spec`.
    pub fn new(spec: &'a SparkApplicationSpec) -> Self {
        Self {
            map: spec.spark_conf.as_ref(),
        }
    }

    /// A value.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.map.and_then(|m| m.get(key)).map(String::as_str)
    }

    /// A boolean value, parsed like Spark's `String.toBoolean`.
    pub fn bool(&self, key: &str) -> ConfBool {
        match self.get(key).map(str::trim) {
            None => ConfBool::Absent,
            Some(v) if v.eq_ignore_ascii_case("true") => ConfBool::True,
            Some(v) if v.eq_ignore_ascii_case("false") => ConfBool::False,
            Some(_) => ConfBool::Invalid,
        }
    }

    /// All entries.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.map
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
