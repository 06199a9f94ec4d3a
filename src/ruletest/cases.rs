//! The `*.test.yaml` format: cases kept beside rules (see docs/rules.md, "Testing a rule").

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::diagnostic::{Kind, Problem, SourceFile};

/// One test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    pub cases: Vec<Case>,
}

/// One case: a small snapshot, optional settings and time, and the expected result per rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// A snapshot directory (relative to the test file) the case starts from.
    #[serde(default)]
    pub fixture: Option<String>,
    /// Response files: snapshot-relative path → JSON (written in the aws CLI's layout), or a
    /// string written as it is (for malformed input).
    #[serde(default)]
    pub files: BTreeMap<String, serde_json::Value>,
    /// The decoded credential report as CSV text; written as
    /// `iam/get-credential-report.json` with base64 content.
    #[serde(default)]
    pub credential_report: Option<String>,
    /// Calls that failed: path → error code, or `{code, message}`.
    #[serde(default)]
    pub errors: BTreeMap<String, ErrorSpec>,
    /// Capture time (manifest `started_at`).
    #[serde(default)]
    pub captured_at: Option<String>,
    /// Evaluation time, as `--as-of`.
    #[serde(default)]
    pub as_of: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// A snapaudit.toml, as TOML text, over the defaults.
    #[serde(default)]
    pub config: Option<String>,
    /// A source tree to scan for access keys, as `check --source` would: relative path →
    /// file text.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Rule id → expected result.
    pub expect: BTreeMap<String, Expect>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ErrorSpec {
    Code(String),
    Full {
        code: String,
        #[serde(default)]
        message: String,
    },
}

impl ErrorSpec {
    pub fn code(&self) -> &str {
        match self {
            ErrorSpec::Code(c) | ErrorSpec::Full { code: c, .. } => c,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ErrorSpec::Code(_) => "",
            ErrorSpec::Full { message, .. } => message,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    Pass,
    Fail,
    Skip,
    Error,
}

impl Expected {
    pub fn as_str(self) -> &'static str {
        match self {
            Expected::Pass => "pass",
            Expected::Fail => "fail",
            Expected::Skip => "skip",
            Expected::Error => "error",
        }
    }
}

/// `pass`, or `{result: fail, resources: [...], ...}`.
#[derive(Debug, Clone)]
pub enum Expect {
    Result(Expected),
    Detailed(Detail),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detail {
    pub result: Expected,
    /// The finding resources' ids, in any order (each finding once).
    #[serde(default)]
    pub resources: Option<Vec<String>>,
    /// Finding locations as `file:line:column`, in any order.
    #[serde(default)]
    pub locations: Option<Vec<String>>,
    /// How many findings.
    #[serde(default)]
    pub count: Option<usize>,
    /// The severity of every finding.
    #[serde(default)]
    pub severity: Option<crate::rules::Severity>,
    /// Texts that must each appear in some finding's message (fail), or in the skip reason
    /// or error message.
    #[serde(default)]
    pub messages: Vec<String>,
    /// What the rule could not see: each gap's file (or, for a gap without a file, a text
    /// in its reason), in any order. Without it, gaps are not checked.
    #[serde(default)]
    pub gaps: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Expect;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a result (pass, fail, skip, error) or a mapping with `result`")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Expect, E> {
                Expected::deserialize(serde::de::value::StrDeserializer::<E>::new(v))
                    .map(Expect::Result)
                    .map_err(|_| {
                        E::custom(format!(
                            "`{v}` is not a result: use pass, fail, skip or error"
                        ))
                    })
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Expect, A::Error> {
                Detail::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Expect::Detailed)
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Expect {
    pub fn detail(&self) -> Detail {
        match self {
            Expect::Result(r) => Detail {
                result: *r,
                resources: None,
                locations: None,
                count: None,
                severity: None,
                messages: Vec::new(),
                gaps: None,
            },
            Expect::Detailed(d) => d.clone(),
        }
    }
}

/// Reads and parses a test file; errors point at the offending line.
pub fn read(path: &Path) -> Result<(CaseFile, SourceFile), Box<Problem>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Box::new(
            Problem::new(Kind::TestIo, format!("cannot read test file `{name}`: {e}"))
                .with_file(name.clone()),
        )
    })?;
    let source = SourceFile::new(name.clone(), text);
    match serde_yaml_ng::from_str::<CaseFile>(&source.text) {
        Ok(file) => Ok((file, source)),
        Err(e) => {
            let message = e.to_string();
            let mut problem = Problem::new(
                Kind::TestInvalid,
                format!("`{name}` is not a valid test file: {message}"),
            )
            .with_help(
                "a test file is `cases:`, a list of {name, files, expect, …}; see docs/rules.md",
            )
            .with_file(name);
            if let Some(loc) = e.location() {
                problem = problem.at(source.clone(), loc.index(), 1, "here");
            }
            Err(Box::new(problem))
        }
    }
}
