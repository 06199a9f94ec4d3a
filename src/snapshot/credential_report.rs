//! The IAM credential report: `iam/get-credential-report.json` holds the CSV as base64 in
//! `Content`; decoded, each row and cell keeps its place in the CSV text so findings can
//! point at a cell.

use std::sync::Arc;

use base64::Engine as _;

use crate::diagnostic::{Kind, Problem, SourceFile};

pub const PATH: &str = "iam/get-credential-report.json";

/// Columns a report must have for snapaudit to read it.
pub const REQUIRED_COLUMNS: &[&str] = &["user", "arn"];

#[derive(Debug)]
pub struct CredentialReport {
    /// The decoded CSV, shown as a virtual file in diagnostics.
    pub source: SourceFile,
    pub header: Vec<String>,
    pub rows: Vec<ReportRow>,
    /// `GeneratedTime` as the file has it.
    pub generated_time: Option<String>,
}

#[derive(Debug)]
pub struct ReportRow {
    /// 1-based line in the decoded CSV.
    pub line: usize,
    pub cells: Vec<String>,
    /// Byte ranges of the cells in the decoded CSV.
    pub spans: Vec<(usize, usize)>,
}

impl CredentialReport {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// Why a report could not be read, located in the JSON file or in the decoded CSV.
#[derive(Debug)]
pub struct DecodeError(pub Box<Problem>);

/// Decodes the `Content` of a credential report response.
///
/// `json_name` is the response file's displayed name; `content_at` gives that file's text
/// and the span of its `Content` string, and is only called when there is an error to show.
pub fn decode(
    content: Option<&str>,
    generated_time: Option<&str>,
    json_name: &str,
    content_at: impl Fn() -> Option<(SourceFile, usize, usize)>,
) -> Result<CredentialReport, DecodeError> {
    let locate_err = |problem: Problem, label: &str| match content_at() {
        Some((source, o, l)) => problem.at(source, o, l, label),
        None => problem,
    };
    let content =
        match content {
            Some(c) => c,
            None => return Err(DecodeError(Box::new(locate_err(
                Problem::new(
                    Kind::SnapshotCredentialReport,
                    "credential report has no `Content` string",
                )
                .with_help(
                    "the file must be the output of `aws iam get-credential-report --output json`",
                ),
                "expected here",
            )))),
        };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content.trim())
        .map_err(|e| {
            DecodeError(Box::new(locate_err(
                Problem::new(Kind::SnapshotCredentialReport,
                    format!("credential report `Content` is not valid base64: {e}"),
                )
                .with_help("the aws CLI prints the report as base64; re-run `aws iam get-credential-report --output json`"),
                "bad base64",
            )))
        })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        DecodeError(Box::new(locate_err(
            Problem::new(
                Kind::SnapshotCredentialReport,
                format!(
                    "decoded credential report is not UTF-8 text (byte {})",
                    e.utf8_error().valid_up_to()
                ),
            ),
            "decodes to binary",
        )))
    })?;
    let source = SourceFile::new(
        format!("{json_name} (decoded Content)"),
        Arc::<str>::from(text),
    );
    parse_csv(source, generated_time.map(str::to_owned)).map_err(DecodeError)
}

fn parse_csv(
    source: SourceFile,
    generated_time: Option<String>,
) -> Result<CredentialReport, Box<Problem>> {
    let text = source.text.clone();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => return Err(Box::new(csv_problem(&source, &e, "unreadable header"))),
    };
    // A column named twice: readers disagree on which cell counts (as with a member name
    // twice in a JSON object), and AWS never writes one.
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            let line_len = text.find('\n').unwrap_or(text.len());
            return Err(Box::new(
                Problem::new(
                    Kind::SnapshotCredentialReport,
                    format!("credential report header names the column `{name}` twice"),
                )
                .with_help(
                    "the report was edited or not made by IAM; rules that read it report `error`",
                )
                .at(source.clone(), 0, line_len, "header"),
            ));
        }
    }
    for required in REQUIRED_COLUMNS {
        if !header.iter().any(|h| h == required) {
            let line_len = text.find('\n').unwrap_or(text.len());
            return Err(Box::new(
                Problem::new(
                    Kind::SnapshotCredentialReport,
                    format!("credential report header has no `{required}` column"),
                )
                .with_help(
                    "the first line must be the report's header: user,arn,user_creation_time,…",
                )
                .at(source.clone(), 0, line_len, "header"),
            ));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Box::new(csv_problem(&source, &e, "here")))?;
        let (mut line, mut start) = match record.position() {
            Some(p) => (p.line() as usize, p.byte() as usize),
            None => (0, 0),
        };
        // The reader skips blank lines; the record starts after them.
        while let Some(b) = text
            .as_bytes()
            .get(start)
            .filter(|b| matches!(b, b'\n' | b'\r'))
        {
            if *b == b'\n' {
                line += 1;
            }
            start += 1;
        }
        let spans = cell_spans(&text, start, record.len());
        rows.push(ReportRow {
            line,
            cells: record.iter().map(str::to_owned).collect(),
            spans,
        });
    }
    Ok(CredentialReport {
        source,
        header,
        rows,
        generated_time,
    })
}

fn csv_problem(source: &SourceFile, e: &csv::Error, label: &str) -> Problem {
    let (offset, detail) = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => (
            pos.as_ref().map(|p| p.byte() as usize),
            format!("a row has {len} cells, the header has {expected_len}"),
        ),
        _ => (e.position().map(|p| p.byte() as usize), e.to_string()),
    };
    let problem = Problem::new(
        Kind::SnapshotCredentialReport,
        format!("credential report CSV is malformed: {detail}"),
    )
    .with_help("every row must have as many cells as the header");
    match offset {
        Some(o) => {
            let len = source.text[o.min(source.text.len())..]
                .find('\n')
                .unwrap_or(source.text.len() - o.min(source.text.len()));
            problem.at(source.clone(), o, len, label)
        }
        None => problem,
    }
}

/// Byte ranges of the cells of the record starting at `start` (RFC 4180 quoting).
fn cell_spans(text: &str, start: usize, count: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::with_capacity(count);
    let mut i = start;
    for _ in 0..count {
        let cell_start = i;
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            while i < bytes.len() {
                if bytes[i] == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
        }
        while i < bytes.len() && !matches!(bytes[i], b',' | b'\n' | b'\r') {
            i += 1;
        }
        spans.push((cell_start, i - cell_start));
        if bytes.get(i) == Some(&b',') {
            i += 1;
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_before_a_row_do_not_shift_its_cells() {
        // Found by the credential_report fuzz target.
        let csv = "user,arn,user_cd\n\n\n\nr,arn,usr\n\n\n";
        let report = decode(Some(&encode(csv)), None, "x.json", || None).expect("decodes");
        let row = &report.rows[0];
        assert_eq!(row.line, 5);
        for (cell, (o, l)) in row.cells.iter().zip(&row.spans) {
            assert_eq!(&report.source.text[*o..*o + *l], cell);
        }
    }

    fn encode(csv: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(csv)
    }

    fn dec(content: &str) -> Result<CredentialReport, Box<Problem>> {
        decode(Some(content), None, "r.json", || None).map_err(|e| e.0)
    }

    #[test]
    fn rows_keep_their_cells_places() {
        let csv =
            "user,arn,mfa_active\n<root_account>,arn:aws:iam::1:root,false\nbob,\"arn:x,y\",true\n";
        let report = dec(&encode(csv)).map_err(|e| e.message).expect("decodes");
        assert_eq!(report.rows.len(), 2);
        let bob = &report.rows[1];
        assert_eq!(bob.line, 3);
        assert_eq!(bob.cells[1], "arn:x,y");
        let (o, l) = bob.spans[2];
        assert_eq!(&report.source.text[o..o + l], "true");
        let (o, l) = bob.spans[1];
        assert_eq!(&report.source.text[o..o + l], "\"arn:x,y\"");
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        let twice = encode("user,arn,mfa_active,mfa_active\nbob,arn,false,true\n");
        let err = dec(&twice).expect_err("refused");
        assert!(
            err.message.contains("`mfa_active` twice"),
            "{}",
            err.message
        );
    }

    #[test]
    fn bad_base64_and_short_rows_are_errors() {
        let err = dec("!!!not base64")
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(err.contains("not valid base64"), "{err}");
        let short = encode("user,arn,mfa_active\nbob,arn\n");
        let err = dec(&short).expect_err("fails");
        assert!(
            err.message.contains("2 cells, the header has 3"),
            "{}",
            err.message
        );
        assert_eq!(err.line_col(), Some((2, 1)));
        let nouser = encode("name,arn\nbob,arn\n");
        let err = dec(&nouser).err().map(|e| e.message).unwrap_or_default();
        assert!(err.contains("no `user` column"), "{err}");
    }
}
