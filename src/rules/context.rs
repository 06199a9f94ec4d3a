//! The state of the rule running on this thread: the snapshot, where each value a rule has
//! read came from, the findings it reported, and its deadline.
//!
//! Rhai values carry a 32-bit tag that survives copies. A value read from the snapshot is
//! tagged with an index into this thread's evidence table, so `report(value, …)` can say
//! where the value came from without any cost to values that are never reported.
//!
//! Rhai drops the tag of a string stored with `let` (it re-wraps strings to intern them),
//! so strings are also known by the address of their shared text: interning is off in
//! the sandbox, the text stays shared, and the context keeps each string alive while the
//! rule runs so that no other string can take its address.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use rhai::{Dynamic, ImmutableString};

use super::meta::Severity;
use super::Inputs;
use crate::snapshot::path::JsonPath;
use crate::snapshot::SnapFile;

/// Where a reported value came from.
#[derive(Debug, Clone)]
pub enum Evidence {
    /// No location (a computed value).
    None,
    /// A value (or the root) of a response file.
    Json { file: Arc<SnapFile>, path: JsonPath },
    /// A response that has no file (absent, failed, not collected): its manifest entry.
    Call { file: Arc<SnapFile> },
    /// A row of the decoded credential report.
    ReportRow { row: usize },
    /// A cell of the decoded credential report.
    ReportCell { row: usize, column: usize },
    /// An access key ID found in a source tree (or, with `secret`, the secret-looking
    /// string next to it).
    Source { hit: usize, secret: bool },
}

/// The resource a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Resource {
    pub id: String,
    pub name: String,
}

/// What a rule could not see: a file it needed for part of its answer (a region), and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Gap {
    /// The snapshot path, when the gap is a file.
    pub file: Option<String>,
    /// `not_collected`, `absent`, `error`, `malformed`, or `skipped` (the rule said why).
    pub status: &'static str,
    /// The API's error code, when the call failed.
    pub code: Option<String>,
    pub reason: String,
}

impl Gap {
    /// A gap that makes the audit incomplete (a failed call, a malformed file), as opposed
    /// to data that is simply not there.
    pub fn is_error(&self) -> bool {
        matches!(self.status, "error" | "malformed")
    }
}

/// A finding as the rule reported it, before its location is resolved.
#[derive(Debug, Clone)]
pub struct RawFinding {
    pub severity: Severity,
    pub resource: Resource,
    pub message: String,
    pub label: Option<String>,
    /// The benchmark controls the finding is about (report option `controls`); empty when
    /// the rule did not say, and then the finding is about every control naming the rule.
    pub controls: Vec<String>,
    pub evidence: Evidence,
}

pub struct Context {
    pub inputs: Arc<Inputs>,
    pub now: Option<DateTime<Utc>>,
    pub severity: Severity,
    pub evidence: Vec<Evidence>,
    /// Strings read from the snapshot, by text address → 1-based evidence index.
    pub strings: HashMap<usize, i32>,
    /// Keeps those strings alive (and their addresses unique) until the rule ends.
    pub kept: Vec<ImmutableString>,
    /// Scalars already read, by the address of the loaded value: read again, the same tagged
    /// value is handed out (no copy, no new evidence).
    pub values: HashMap<usize, Dynamic>,
    pub findings: Vec<RawFinding>,
    /// What the rule could not see, in the order it found out, each once.
    pub gaps: Vec<Gap>,
    /// The gaps already recorded (a rule may meet the same one many times).
    pub gap_set: std::collections::HashSet<Gap>,
    /// `[limits] max_findings`.
    pub max_findings: usize,
    pub deadline: Instant,
}

thread_local! {
    static CURRENT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Runs `f` with `ctx` installed as this thread's context, and gives the context back.
#[expect(
    clippy::expect_used,
    reason = "the context is installed here and only taken here, on this thread"
)]
pub fn with_context<R>(ctx: Context, f: impl FnOnce() -> R) -> (R, Context) {
    CURRENT.with(|c| *c.borrow_mut() = Some(ctx));
    let r = f();
    let ctx = CURRENT
        .with(|c| c.borrow_mut().take())
        .expect("with_context installed the context and nothing else takes it");
    (r, ctx)
}

/// Calls `f` with the current context, if a rule is running on this thread.
pub fn current<R>(f: impl FnOnce(&mut Context) -> R) -> Option<R> {
    CURRENT.with(|c| c.borrow_mut().as_mut().map(f))
}

/// Tags `value` with `evidence` so a later `report(value, …)` can locate it.
pub fn tag(mut value: Dynamic, evidence: Evidence) -> Dynamic {
    let tag = current(|ctx| {
        if ctx.evidence.len() >= i32::MAX as usize - 1 {
            return 0;
        }
        ctx.evidence.push(evidence);
        let tag = ctx.evidence.len() as i32;
        if let Some(s) = value.read_lock::<ImmutableString>() {
            ctx.strings.insert(s.as_str().as_ptr() as usize, tag);
            ctx.kept.push(s.clone());
        }
        tag
    })
    .unwrap_or(0);
    value.set_tag(tag);
    value
}

/// The evidence of a value: by its tag, else (strings) by its text's address.
pub fn evidence_of_value(value: &Dynamic) -> Evidence {
    let mut tag = value.tag();
    if tag <= 0 {
        if let Some(s) = value.read_lock::<ImmutableString>() {
            let key = s.as_str().as_ptr() as usize;
            tag = current(|ctx| ctx.strings.get(&key).copied())
                .flatten()
                .unwrap_or(0);
        }
    }
    evidence_of_tag(tag)
}

/// The evidence behind a tag.
pub fn evidence_of_tag(tag: i32) -> Evidence {
    if tag <= 0 {
        return Evidence::None;
    }
    current(|ctx| ctx.evidence.get(tag as usize - 1).cloned())
        .flatten()
        .unwrap_or(Evidence::None)
}

/// True once the running rule is past its wall-time budget.
pub fn past_deadline() -> bool {
    current(|ctx| Instant::now() >= ctx.deadline).unwrap_or(false)
}
