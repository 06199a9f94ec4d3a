//! Waivers: accepted risks with an owner, a reason and an expiry date
//! (`snapaudit.waivers.toml`, docs/waivers.md).
//!
//! A waived finding is still evaluated and shown as waived; it does not count toward the
//! exit code. Once its waiver has expired (judged at the evaluation time, never the wall
//! clock) the finding counts again and a warning names the waiver.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::diagnostic::{Kind, Problem, SourceFile};
use crate::engine::{Finding, Waived};

/// The file `check` reads from the current directory when `--waivers` is not given.
pub const DEFAULT_FILE: &str = "snapaudit.waivers.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    waiver: Vec<toml::Spanned<Raw>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    rule: String,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    resource_regex: Option<String>,
    #[serde(default)]
    account: Option<String>,
    /// Only in these accounts (12-digit ids).
    #[serde(default)]
    accounts: Option<Vec<String>>,
    /// Only in accounts under these organisational units (`Root/Production`).
    #[serde(default)]
    ous: Option<Vec<String>>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    expires: Option<Expires>,
}

/// `expires = 2027-01-31` (a TOML date) or `expires = "2027-01-31"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Expires {
    Date(toml::value::Datetime),
    Text(String),
}

/// One accepted risk.
#[derive(Debug)]
pub struct Waiver {
    rule: glob::Pattern,
    resource: Option<glob::Pattern>,
    resource_regex: Option<regex::Regex>,
    account: Option<String>,
    accounts: Option<Vec<String>>,
    /// Each OU path split at `/`: matches accounts whose OU path starts with it.
    ous: Option<Vec<Vec<String>>>,
    pub reason: String,
    pub owner: String,
    pub expires: NaiveDate,
    /// 1-based line of the waiver in its file.
    pub line: usize,
    /// Byte span of the waiver, for diagnostics.
    span: (usize, usize),
}

/// A waivers file, parsed.
#[derive(Debug)]
pub struct Waivers {
    pub file: String,
    source: SourceFile,
    pub waivers: Vec<Waiver>,
}

/// Where a finding was made: its account, and in an organisation the account's OU path
/// (`None` for a single snapshot, where no OU is known).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub account: &'a str,
    pub ou_path: Option<&'a [String]>,
}

/// Which waivers matched, over one or several accounts: each waiver's use, and how many
/// findings it would have accepted had it not expired.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    used: Vec<bool>,
    expired: Vec<usize>,
}

impl Usage {
    /// Adds what another account's findings used.
    pub fn add(&mut self, other: &Usage) {
        for (a, b) in self.used.iter_mut().zip(&other.used) {
            *a |= *b;
        }
        for (a, b) in self.expired.iter_mut().zip(&other.expired) {
            *a += *b;
        }
    }
}

/// Whether an account ID is one: exactly 12 ASCII digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

impl Waiver {
    fn matches(&self, finding: &Finding, scope: &Scope) -> bool {
        if !self.rule.matches(&finding.rule.id) {
            return false;
        }
        if let Some(a) = &self.account {
            if a != scope.account {
                return false;
            }
        }
        if let Some(list) = &self.accounts {
            if !list.iter().any(|a| a == scope.account) {
                return false;
            }
        }
        if let Some(ous) = &self.ous {
            let Some(path) = scope.ou_path else {
                return false;
            };
            if !ous.iter().any(|ou| path.starts_with(ou)) {
                return false;
            }
        }
        let r = &finding.resource;
        if let Some(p) = &self.resource {
            if !p.matches(&r.id) && !p.matches(&r.name) {
                return false;
            }
        }
        if let Some(re) = &self.resource_regex {
            if !re.is_match(&r.id) {
                return false;
            }
        }
        true
    }
}

/// Reads and checks a waivers file. Every problem (a missing reason or expiry, a bad
/// pattern or date) points at its waiver's line; any problem refuses the whole file, so a
/// half-read list never hides or shows the wrong findings.
pub fn load(path: &std::path::Path) -> Result<Waivers, Vec<Problem>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![
            Problem::new(Kind::WaiverIo, format!("cannot read waivers `{name}`: {e}"))
                .with_file(name.clone()),
        ]
    })?;
    parse(&text, &name)
}

pub fn parse(text: &str, name: &str) -> Result<Waivers, Vec<Problem>> {
    let source = SourceFile::new(name, text);
    let help = "each [[waiver]] needs rule, reason and expires (a date); resource, resource_regex, account, accounts, ous and owner are optional; see docs/waivers.md";
    let file: File = toml::from_str(text).map_err(|e| {
        let (o, l) = e
            .span()
            .map(|r| (r.start, r.end - r.start))
            .unwrap_or((0, 0));
        vec![Problem::new(
            Kind::WaiverInvalid,
            format!("`{name}` is not a valid waivers file: {}", e.message()),
        )
        .with_help(help)
        .with_file(name)
        .at(source.clone(), o, l, "here")]
    })?;
    let mut problems = Vec::new();
    let mut waivers = Vec::new();
    for spanned in file.waiver {
        let span = spanned.span();
        let line = source.line_col(span.start).0;
        match waiver(
            spanned.into_inner(),
            line,
            (span.start, span.end - span.start),
        ) {
            Ok(w) => waivers.push(w),
            Err(message) => problems.push(
                Problem::new(Kind::WaiverInvalid, message)
                    .with_help(help)
                    .with_file(name)
                    .at(
                        source.clone(),
                        span.start,
                        span.end - span.start,
                        "this waiver",
                    ),
            ),
        }
    }
    if problems.is_empty() {
        Ok(Waivers {
            file: name.to_owned(),
            source,
            waivers,
        })
    } else {
        Err(problems)
    }
}

/// One `[[waiver]]` entry, checked: a reason, an expiry date, valid patterns.
fn waiver(raw: Raw, line: usize, span: (usize, usize)) -> Result<Waiver, String> {
    let reason = raw.reason.clone().unwrap_or_default();
    if reason.trim().is_empty() {
        return Err(format!(
            "the waiver for `{}` (line {line}) has no reason",
            raw.rule
        ));
    }
    let expires = match &raw.expires {
        None => {
            return Err(format!(
                "the waiver for `{}` (line {line}) has no `expires` date: every accepted risk is reviewed again",
                raw.rule
            ));
        }
        Some(v) => {
            let text = match v {
                Expires::Text(s) => s.clone(),
                Expires::Date(d) => d.to_string(),
            };
            match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                Ok(d) => d,
                Err(_) => {
                    return Err(format!(
                        "the waiver for `{}` (line {line}): `expires = {text}` is not a date (YYYY-MM-DD)",
                        raw.rule
                    ));
                }
            }
        }
    };
    let rule = match glob::Pattern::new(&raw.rule) {
        Ok(p) => p,
        Err(e) => {
            return Err(format!(
                "the waiver at line {line}: `rule = {:?}` is not a glob: {e}",
                raw.rule
            ));
        }
    };
    let resource = match raw.resource.as_deref().map(glob::Pattern::new).transpose() {
        Ok(p) => p,
        Err(e) => {
            return Err(format!(
                "the waiver at line {line}: `resource` is not a glob: {e}"
            ));
        }
    };
    let resource_regex = match raw
        .resource_regex
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
    {
        Ok(r) => r,
        Err(e) => {
            return Err(format!(
                "the waiver at line {line}: `resource_regex` is not a regular expression: {e}"
            ));
        }
    };
    if raw.account.is_some() && raw.accounts.is_some() {
        return Err(format!(
            "the waiver at line {line} has both `account` and `accounts`: use `accounts`"
        ));
    }
    if let Some(list) = &raw.accounts {
        if list.is_empty() {
            return Err(format!(
                "the waiver at line {line}: `accounts = []` applies to no account; leave it out to apply to every account"
            ));
        }
        if let Some(bad) = list.iter().find(|a| !is_account_id(a)) {
            return Err(format!(
                "the waiver at line {line}: `accounts` holds {bad:?}, which is not an account ID (12 digits)"
            ));
        }
    }
    let ous = match &raw.ous {
        None => None,
        Some(list) if list.is_empty() => {
            return Err(format!(
                "the waiver at line {line}: `ous = []` applies to no account; leave it out to apply to every account"
            ));
        }
        Some(list) => {
            let mut paths = Vec::with_capacity(list.len());
            for ou in list {
                let parts: Vec<String> = ou.split('/').map(str::to_owned).collect();
                if parts.iter().any(|p| p.trim().is_empty()) {
                    return Err(format!(
                        "the waiver at line {line}: `ous` holds {ou:?}, which is not an OU path (names joined by `/`, from `Root`)"
                    ));
                }
                paths.push(parts);
            }
            Some(paths)
        }
    };
    Ok(Waiver {
        rule,
        resource,
        resource_regex,
        account: raw.account,
        accounts: raw.accounts,
        ous,
        reason,
        owner: raw.owner.unwrap_or_default(),
        expires,
        line,
        span,
    })
}

impl Waivers {
    /// Marks the findings the waivers accept. A waiver is valid through its `expires` date:
    /// it has expired when the evaluation day is after it. Returns warnings for expired and
    /// unused waivers.
    pub fn apply(
        &self,
        findings: &mut [Finding],
        account: &str,
        now: Option<DateTime<Utc>>,
    ) -> Vec<Problem> {
        let scope = Scope {
            account,
            ou_path: None,
        };
        match self.mark(findings, &scope, now) {
            Ok(usage) => self.report(&usage),
            Err(p) => vec![*p],
        }
    }

    /// Nothing used yet: the start of [`Usage::add`] over several accounts.
    pub fn unused(&self) -> Usage {
        Usage {
            used: vec![false; self.waivers.len()],
            expired: vec![0; self.waivers.len()],
        }
    }

    /// Marks the findings of one account the waivers accept, and says which waivers
    /// matched; without an evaluation time none applies (the warning).
    pub fn mark(
        &self,
        findings: &mut [Finding],
        scope: &Scope,
        now: Option<DateTime<Utc>>,
    ) -> Result<Usage, Box<Problem>> {
        let Some(now) = now else {
            // Without an evaluation time no waiver can be judged current: none applies.
            return Err(Box::new(Problem::new(Kind::WaiverNoTime,
                format!("the snapshot has no capture time, so the waivers of `{}` cannot be checked for expiry and none is applied", self.file),
            )
            .with_help("pass `--as-of DATE`")
            .with_file(self.file.clone())));
        };
        let today = now.date_naive();
        let Usage {
            mut used,
            mut expired,
        } = self.unused();
        for f in findings.iter_mut() {
            // The first current waiver that matches; an expired one only when no current
            // one does, so a renewed waiver further down the file still applies.
            let mut first_expired = None;
            let mut current = None;
            for (i, w) in self.waivers.iter().enumerate() {
                if !w.matches(f, scope) {
                    continue;
                }
                if today > w.expires {
                    first_expired.get_or_insert(i);
                } else {
                    current = Some(i);
                    break;
                }
            }
            match (current, first_expired) {
                (Some(i), _) => {
                    used[i] = true;
                    let w = &self.waivers[i];
                    f.waiver = Some(Waived {
                        reason: w.reason.clone(),
                        owner: w.owner.clone(),
                        expires: w.expires.format("%Y-%m-%d").to_string(),
                        file: self.file.clone(),
                        line: w.line,
                    });
                }
                (None, Some(i)) => {
                    used[i] = true;
                    expired[i] += 1;
                }
                (None, None) => {}
            }
        }
        Ok(Usage { used, expired })
    }

    /// Warnings for the waivers that expired with findings still matching, and for those
    /// that matched nothing.
    pub fn report(&self, usage: &Usage) -> Vec<Problem> {
        let expired = |i: usize| usage.expired.get(i).copied().unwrap_or(0);
        let used = |i: usize| usage.used.get(i).copied().unwrap_or(false);
        let mut problems = Vec::new();
        for (i, w) in self.waivers.iter().enumerate() {
            if expired(i) > 0 {
                problems.push(
                    Problem::new(Kind::WaiverExpired,
                        format!(
                            "the waiver for `{}` (line {}, owner {}) expired on {}: its {} finding(s) count again",
                            w.rule.as_str(),
                            w.line,
                            if w.owner.is_empty() { "unnamed" } else { &w.owner },
                            w.expires,
                            expired(i)
                        ),
                    )
                    .with_help("fix the findings, or review the risk and move `expires` forward")
                    .with_file(self.file.clone())
                    .at(self.source.clone(), w.span.0, w.span.1, "expired"),
                );
            } else if !used(i) {
                problems.push(
                    Problem::new(Kind::WaiverUnused,
                        format!("the waiver for `{}` (line {}) matches no finding", w.rule.as_str(), w.line),
                    )
                    .with_help("the risk may be gone: delete the waiver, or check its rule and resource patterns")
                    .with_file(self.file.clone())
                    .at(self.source.clone(), w.span.0, w.span.1, "unused"),
                );
            }
        }
        problems
    }
}
