//! Rule metadata: the `//!` TOML header at the top of a rule file.

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Kind, Problem, SourceFile};

/// How bad a finding is. Ordered: `info < low < medium < high < critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub remediation: String,
    /// The CIS AWS Foundations controls the rule decides: not written in the rule, but
    /// read from the framework file (`framework::CIS`) when the rules are loaded.
    #[serde(default, skip_deserializing)]
    pub cis: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
}

/// Reads the `//!` header of a rule file. The header is the run of lines at the top that
/// start with `//!` (blank lines before it are allowed).
pub fn parse_header(source: &SourceFile) -> Result<RuleMeta, Box<Problem>> {
    let text = &*source.text;
    let mut header = String::new();
    // For each header line: (offset in `header`, offset in the file) of its content.
    let mut map: Vec<(usize, usize)> = Vec::new();
    let mut offset = 0;
    let mut started = false;
    for line in text.split_inclusive('\n') {
        // A byte order mark before the header is not content.
        let trimmed = line.trim_start_matches('\u{feff}').trim_start();
        if let Some(rest) = trimmed.strip_prefix("//!") {
            started = true;
            let content_start = offset + (line.len() - trimmed.len()) + 3;
            map.push((header.len(), content_start));
            header.push_str(rest.trim_end_matches(['\n', '\r']));
            header.push('\n');
        } else if started || !trimmed.is_empty() {
            break;
        }
        offset += line.len();
    }
    if map.is_empty() {
        return Err(Box::new(
            Problem::new(Kind::RuleMetadata, "rule file has no metadata header")
                .with_help("start the file with `//!` TOML lines: `//! id = \"area.check\"`, `//! title = \"…\"`, `//! severity = \"medium\"`")
                .at(source.clone(), 0, 0, "expected `//! id = …` here"),
        ));
    }
    let meta = toml::from_str::<RuleMeta>(&header).map_err(|e| {
        let (o, l) = e
            .span()
            .map(|r| (to_file(&map, r.start), r.end - r.start))
            .unwrap_or((map[0].1, 0));
        Box::new(
            Problem::new(Kind::RuleMetadata, format!("invalid rule metadata: {}", e.message().trim_end()))
                .with_help("the `//!` header is TOML with keys id, title, severity (info|low|medium|high|critical), description, remediation, references; the CIS controls a rule decides are listed in the framework file (policies/frameworks/cis-aws-7.0.toml), not in the rule")
                .at(source.clone(), o, l, "here"),
        )
    })?;
    if !is_valid_id(&meta.id) {
        let at = header.find("id").map_or(map[0].1, |i| to_file(&map, i));
        return Err(Box::new(
            Problem::new(
                Kind::RuleMetadata,
                format!(
                    "rule id {:?} is not a rule id",
                    meta.id.chars().take(80).collect::<String>()
                ),
            )
            .with_help(format!("a rule id is 1 to {MAX_ID_LEN} letters, digits, `.`, `_` and `-`, starting with a letter or digit (`iam.root.mfa`)"))
            .at(source.clone(), at, 2, "here"),
        ));
    }
    Ok(meta)
}

/// The longest rule id.
pub const MAX_ID_LEN: usize = 128;

/// A rule id: ASCII letters, digits, `.`, `_`, `-`, starting with a letter or digit, at
/// most [`MAX_ID_LEN`] long (ids name files, reports and waivers: no spaces, no control or
/// bidi characters, no `..` or `/`).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !id.contains("..")
}

fn to_file(map: &[(usize, usize)], header_offset: usize) -> usize {
    let i = map
        .partition_point(|(h, _)| *h <= header_offset)
        .saturating_sub(1);
    let (h, f) = map[i];
    f + (header_offset - h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_toml_in_comments() {
        let src = SourceFile::new(
            "r.rhai",
            "//! id = \"a.b\"\n//! title = \"T\"\n//! severity = \"high\"\n//! references = [\"x\"]\nlet x = 1;\n",
        );
        let meta = parse_header(&src).map_err(|e| e.message).expect("parses");
        assert_eq!(meta.id, "a.b");
        assert_eq!(meta.severity, Severity::High);
        assert_eq!(meta.references, vec!["x"]);
        assert!(meta.cis.is_empty(), "CIS ids come from the framework file");
    }

    #[test]
    fn ids_are_validated_and_a_bom_is_not_content() {
        let long = format!("\"{}\"", "a".repeat(1000));
        // As written in the TOML header.
        for bad in [
            "\"\"",
            "\"a b\"",
            "\"a\\nb\"",
            "\"../x\"",
            "\"a..b\"",
            "\"\u{202e}x\"",
            "\".x\"",
            long.as_str(),
        ] {
            let src = SourceFile::new(
                "r.rhai",
                format!("//! id = {bad}\n//! title = \"T\"\n//! severity = \"low\"\n"),
            );
            let err = parse_header(&src).expect_err(bad);
            assert!(
                err.message.contains("is not a rule id"),
                "{bad:?}: {}",
                err.message
            );
        }
        let src = SourceFile::new(
            "r.rhai",
            "\u{feff}//! id = \"a.b-c_d\"\n//! title = \"T\"\n//! severity = \"low\"\n",
        );
        assert_eq!(
            parse_header(&src).map(|m| m.id).ok().as_deref(),
            Some("a.b-c_d")
        );
    }

    #[test]
    fn a_bad_header_points_at_its_line() {
        let src = SourceFile::new(
            "r.rhai",
            "//! id = \"a.b\"\n//! title = \"T\"\n//! severity = \"severe\"\n",
        );
        let err = parse_header(&src).expect_err("refused");
        assert_eq!(err.line_col().map(|(l, _)| l), Some(3), "{}", err.message);
        let src = SourceFile::new("r.rhai", "let x = 1;\n");
        assert!(parse_header(&src).is_err());
    }
}
