//! `--format junit`: JUnit XML for CI dashboards. One test suite per service (the rule id's
//! first part); one test case per rule × resource: a failure per open finding, skipped for
//! a waived finding or a skipped rule, an error for a rule error, and one passing case for a
//! rule without findings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::safe;
use crate::audit::Run;
use crate::diagnostic::Problem;
use crate::engine::{Finding, Outcome, RuleResult};

/// XML text or attribute value: specials escaped, control characters (and those XML cannot
/// hold) shown as `\u{…}`; see [`safe::xml`].
fn esc(text: &str) -> String {
    safe::xml(text)
}

enum Case<'a> {
    Pass,
    Failure(&'a Finding),
    Waived(&'a Finding),
    Skipped(&'a str),
    Error(&'a str),
    /// What a rule that ran could not see: skipped, or an error when a call failed.
    Gaps(String, bool),
}

struct TestCase<'a> {
    name: String,
    classname: String,
    case: Case<'a>,
}

fn cases<'a>(r: &'a RuleResult, findings: &[&'a Finding]) -> Vec<TestCase<'a>> {
    let mut out = outcome_cases(r, findings);
    if matches!(r.outcome, Outcome::Fail | Outcome::Pass) && !r.gaps.is_empty() {
        let reasons: Vec<&str> = r.gaps.iter().map(|g| g.reason.as_str()).collect();
        out.push(TestCase {
            name: format!("{} (gaps)", r.meta.id),
            classname: r.meta.id.clone(),
            case: Case::Gaps(
                format!("could not see {}", reasons.join("; ")),
                r.gaps.iter().any(|g| g.is_error()),
            ),
        });
    }
    out
}

fn outcome_cases<'a>(r: &'a RuleResult, findings: &[&'a Finding]) -> Vec<TestCase<'a>> {
    let classname = r.meta.id.clone();
    match &r.outcome {
        Outcome::Skip(reason) => vec![TestCase {
            name: r.meta.id.clone(),
            classname,
            case: Case::Skipped(reason),
        }],
        Outcome::Error(p) => vec![TestCase {
            name: r.meta.id.clone(),
            classname,
            case: Case::Error(&p.message),
        }],
        _ if findings.is_empty() => vec![TestCase {
            name: r.meta.id.clone(),
            classname,
            case: Case::Pass,
        }],
        _ => {
            // Several findings on one resource get numbered names, so that every
            // classname + name pair is unique.
            let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
            findings
                .iter()
                .map(|f| {
                    let n = seen.entry(f.resource.id.as_str()).or_default();
                    *n += 1;
                    let name = if *n == 1 {
                        f.resource.id.clone()
                    } else {
                        format!("{} #{n}", f.resource.id)
                    };
                    let case = if f.waiver.is_some() {
                        Case::Waived(f)
                    } else {
                        Case::Failure(f)
                    };
                    TestCase {
                        name,
                        classname: classname.clone(),
                        case,
                    }
                })
                .collect()
        }
    }
}

/// Renders the run as JUnit XML.
pub fn render(run: &Run) -> String {
    let body = body(run, "");
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"snapaudit {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\">",
        esc(&run.snapshot().display_dir),
        body.tests,
        body.failures,
        body.errors,
        body.skipped
    );
    out.push_str(&body.text);
    out.push_str("</testsuites>\n");
    out
}

/// A run's test suites (each name after `prefix`) and their totals.
pub(crate) struct Body {
    pub text: String,
    pub tests: usize,
    pub failures: usize,
    pub errors: usize,
    pub skipped: usize,
}

/// The suites of a run: one per service, then the diagnostics; `prefix` goes before each
/// suite's name (an account's ID in an organisation).
pub(crate) fn body(run: &Run, prefix: &str) -> Body {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &run.findings {
        by_rule.entry(f.rule.id.as_str()).or_default().push(f);
    }
    let mut suites: BTreeMap<String, Vec<TestCase>> = BTreeMap::new();
    for r in &run.results {
        let service = r.meta.id.split('.').next().unwrap_or(&r.meta.id).to_owned();
        let findings: &[&Finding] = by_rule.get(r.meta.id.as_str()).map_or(&[], Vec::as_slice);
        suites
            .entry(service)
            .or_default()
            .extend(cases(r, findings));
    }
    let count = |cs: &[TestCase], f: fn(&Case) -> bool| cs.iter().filter(|c| f(&c.case)).count();
    let failures = |c: &Case| matches!(c, Case::Failure(_));
    let errors = |c: &Case| matches!(c, Case::Error(_) | Case::Gaps(_, true));
    let skipped = |c: &Case| matches!(c, Case::Skipped(_) | Case::Waived(_) | Case::Gaps(_, false));
    let all: Vec<&TestCase> = suites.values().flatten().collect();
    let total = |f: fn(&Case) -> bool| all.iter().filter(|c| f(&c.case)).count();

    let diagnostics: Vec<&Problem> = run.input_diagnostics().collect();
    let diagnostic_errors = diagnostics.iter().filter(|p| p.is_error()).count();
    let mut out = String::new();
    for (service, cs) in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\">",
            esc(&format!("{prefix}{service}")),
            cs.len(),
            count(cs, failures),
            count(cs, errors),
            count(cs, skipped)
        );
        for c in cs {
            let open = format!(
                "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
                esc(&c.name),
                esc(&c.classname)
            );
            match &c.case {
                Case::Pass => {
                    let _ = writeln!(out, "{open}/>");
                }
                Case::Failure(f) => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <failure message=\"{}\" type=\"{}\">{}\nat {}\nremediation: {}</failure>\n    </testcase>",
                        esc(&f.message),
                        f.severity,
                        esc(&f.message),
                        esc(&super::evidence_text(f)),
                        esc(&f.rule.remediation)
                    );
                }
                Case::Waived(f) => {
                    let w = f.waiver.as_ref();
                    let _ = writeln!(
                        out,
                        "{open}>\n      <skipped message=\"waived until {}: {}\"/>\n    </testcase>",
                        esc(w.map(|w| w.expires.as_str()).unwrap_or("")),
                        esc(w.map(|w| w.reason.as_str()).unwrap_or(""))
                    );
                }
                Case::Skipped(reason) => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        esc(reason)
                    );
                }
                Case::Gaps(message, true) => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <error message=\"{}\" type=\"rule-gap\">{}</error>\n    </testcase>",
                        esc(message),
                        esc(message)
                    );
                }
                Case::Gaps(message, false) => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        esc(message)
                    );
                }
                Case::Error(message) => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <error message=\"{}\" type=\"rule-error\">{}</error>\n    </testcase>",
                        esc(message),
                        esc(message)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str(&diagnostics_suite(
        &diagnostics,
        &format!("{prefix}diagnostics"),
    ));
    Body {
        text: out,
        tests: all.len() + diagnostic_errors,
        failures: total(failures),
        errors: total(errors) + diagnostic_errors,
        skipped: total(skipped),
    }
}

/// A `diagnostics` suite: each error diagnostic an erroring test case, warnings in the
/// suite's standard error. Empty when there are none.
pub(crate) fn diagnostics_suite(diagnostics: &[&Problem], name: &str) -> String {
    if diagnostics.is_empty() {
        return String::new();
    }
    let errors: Vec<&&Problem> = diagnostics.iter().filter(|p| p.is_error()).collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"0\" errors=\"{}\" skipped=\"0\" time=\"0\">",
        esc(name),
        errors.len(),
        errors.len()
    );
    for (i, p) in errors.iter().enumerate() {
        let place = match (&p.file, p.line_col()) {
            (Some(f), Some((l, c))) => format!("{f}:{l}:{c}"),
            (Some(f), None) => f.clone(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "    <testcase name=\"{} #{}\" classname=\"diagnostics\" time=\"0\">\n      <error message=\"{}\" type=\"{}\">{}\n{}{}</error>\n    </testcase>",
            esc(p.code()),
            i + 1,
            esc(&p.message),
            esc(p.code()),
            esc(&p.message),
            esc(&place),
            p.help.as_ref().map(|h| format!("\nhelp: {}", esc(h))).unwrap_or_default()
        );
    }
    let warnings: Vec<String> = diagnostics
        .iter()
        .filter(|p| !p.is_error())
        .map(|p| format!("warning[{}]: {}", p.code(), esc(&p.message)))
        .collect();
    if !warnings.is_empty() {
        let _ = writeln!(out, "    <system-err>{}</system-err>", warnings.join("\n"));
    }
    out.push_str("  </testsuite>\n");
    out
}

/// JUnit XML for an audit that could not run: the diagnostics that stopped it.
pub fn render_failure(diagnostics: &[Problem]) -> String {
    let shown: Vec<&Problem> = diagnostics.iter().collect();
    let errors = shown.iter().filter(|p| p.is_error()).count();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"snapaudit\" tests=\"{errors}\" failures=\"0\" errors=\"{errors}\" skipped=\"0\" time=\"0\">\n{}</testsuites>\n",
        diagnostics_suite(&shown, "diagnostics")
    )
}
