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
    #[serde(default)]
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
        let trimmed = line.trim_start();
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
    toml::from_str::<RuleMeta>(&header).map_err(|e| {
        let (o, l) = e
            .span()
            .map(|r| (to_file(&map, r.start), r.end - r.start))
            .unwrap_or((map[0].1, 0));
        Box::new(
            Problem::new(Kind::RuleMetadata, format!("invalid rule metadata: {}", e.message().trim_end()))
                .with_help("the `//!` header is TOML with keys id, title, severity (info|low|medium|high|critical), description, remediation, cis, references")
                .at(source.clone(), o, l, "here"),
        )
    })
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
            "//! id = \"a.b\"\n//! title = \"T\"\n//! severity = \"high\"\n//! cis = [\"2.8\"]\nlet x = 1;\n",
        );
        let meta = parse_header(&src).map_err(|e| e.message).expect("parses");
        assert_eq!(meta.id, "a.b");
        assert_eq!(meta.severity, Severity::High);
        assert_eq!(meta.cis, vec!["2.8"]);
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
