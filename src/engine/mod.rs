//! Rules × snapshot → one result per rule (pass, fail, skip, error) and its findings, then
//! the findings' places in the files ([`findings`]).
//!
//! Rules run in parallel, one rule per task; each task has its own evaluation context
//! (`rules::context`), so rules cannot see each other's state.

pub mod findings;

pub use findings::{locate_findings, CsvCell, Finding, Location, Waived};

use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rhai::{Dynamic, Engine, EvalAltResult, Map, Position, Scope};

use crate::config::Config;
use crate::diagnostic::{Kind, Problem};
use crate::rules::api::{Abort, ConfigApi, SnapshotApi};
use crate::rules::context::{self, Context, Gap, RawFinding};
use crate::rules::{Inputs, Rule, RuleMeta, RuleSet, Severity};

/// How a rule ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Pass,
    Fail,
    Skip(String),
    Error(Box<Problem>),
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip(_) => "skip",
            Outcome::Error(_) => "error",
        }
    }
}

/// One rule's result.
#[derive(Debug, Clone)]
pub struct RuleResult {
    pub meta: Arc<RuleMeta>,
    pub file: String,
    pub outcome: Outcome,
    pub findings: Vec<RawFinding>,
    /// What the rule could not see (regions without their files, a `skip` after findings):
    /// a `fail` with gaps is a partial answer.
    pub gaps: Vec<Gap>,
}

/// Runs every rule of `set` over `snapshot`. Rules that did not load are results too
/// (`error`, with their diagnostic), so the run accounts for every rule file.
pub fn evaluate(
    engine: &Engine,
    set: &RuleSet,
    inputs: &Arc<Inputs>,
    config: &Config,
) -> Vec<RuleResult> {
    let timeout = Duration::from_millis(config.limits.timeout_ms);
    let run = |rule: &Rule| guarded(rule, || run_rule(engine, rule, inputs, config, timeout));
    let mut results: Vec<RuleResult> = match rule_threads() {
        Ok(pool) => pool.install(|| set.rules.par_iter().map(run).collect()),
        Err(message) => set
            .rules
            .iter()
            .map(|rule| {
                let problem =
                    Problem::new(Kind::RuleSandbox, message.clone()).with_file(rule.file.clone());
                rule_result(rule, Outcome::Error(Box::new(problem)), Vec::new())
            })
            .collect(),
    };
    for broken in &set.broken {
        let meta = broken.id.clone().unwrap_or_else(|| RuleMeta {
            id: format!("<{}>", broken.file),
            title: "rule file that could not be loaded".into(),
            severity: Severity::High,
            description: String::new(),
            remediation: String::new(),
            cis: Vec::new(),
            references: Vec::new(),
        });
        results.push(RuleResult {
            meta: Arc::new(meta),
            file: broken.file.clone(),
            outcome: Outcome::Error(Box::new(broken.problem.clone())),
            findings: Vec::new(),
            gaps: Vec::new(),
        });
    }
    results.sort_by(|a, b| a.meta.id.cmp(&b.meta.id).then_with(|| a.file.cmp(&b.file)));
    results
}

/// The stack of a thread rules run on. Rhai recurses for nested calls, expressions and
/// values (comparing or printing a nested array); the limits a config may set
/// (`config::LIMIT_CAPS`) keep that recursion well inside this stack, which is reserved, not
/// committed: only the pages a rule touches use memory.
pub const RULE_STACK_BYTES: usize = 1 << 30;

/// The threads rules run on (one per core, each with [`RULE_STACK_BYTES`] of stack).
fn rule_threads() -> Result<&'static rayon::ThreadPool, String> {
    static POOL: std::sync::OnceLock<Result<rayon::ThreadPool, String>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(RULE_STACK_BYTES)
            .thread_name(|i| format!("snapaudit-rule-{i}"))
            .build()
            .map_err(|e| format!("cannot start the threads rules run on: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Runs one rule so that a panic inside it (a host function's bug, a library's) is that
/// rule's error and the other rules and the report go on.
fn guarded(rule: &Rule, run: impl FnOnce() -> RuleResult) -> RuleResult {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "an internal error".to_owned());
            let problem = Problem::new(
                Kind::RuleRuntime,
                format!("rule `{}` stopped on an internal error: {what}", rule.meta.id),
            )
            .with_help("this is a bug in snapaudit, not in the rule: please report it with the rule; the other rules still ran")
            .with_file(rule.file.clone());
            rule_result(rule, Outcome::Error(Box::new(problem)), Vec::new())
        }
    }
}

fn rule_result(rule: &Rule, outcome: Outcome, findings: Vec<RawFinding>) -> RuleResult {
    RuleResult {
        meta: Arc::new(rule.meta.clone()),
        file: rule.file.clone(),
        outcome,
        findings,
        gaps: Vec::new(),
    }
}

fn run_rule(
    engine: &Engine,
    rule: &Rule,
    inputs: &Arc<Inputs>,
    config: &Config,
    timeout: Duration,
) -> RuleResult {
    let mut scope = Scope::new();
    scope.push_constant("snapshot", SnapshotApi(inputs.clone()));
    scope.push_constant("config", ConfigApi(config.settings.clone()));
    let mut meta = Map::new();
    meta.insert("id".into(), Dynamic::from(rule.meta.id.clone()));
    meta.insert("title".into(), Dynamic::from(rule.meta.title.clone()));
    meta.insert(
        "severity".into(),
        Dynamic::from(rule.meta.severity.as_str()),
    );
    scope.push_constant("rule", meta);

    let ctx = Context {
        inputs: inputs.clone(),
        now: inputs.snapshot.now,
        severity: rule.meta.severity,
        evidence: Vec::new(),
        strings: Default::default(),
        kept: Vec::new(),
        values: Default::default(),
        max_findings: usize::try_from(config.limits.max_findings).unwrap_or(usize::MAX),
        findings: Vec::new(),
        gaps: Vec::new(),
        gap_set: Default::default(),
        deadline: Instant::now() + timeout,
    };
    let (result, ctx) =
        context::with_context(ctx, || engine.run_ast_with_scope(&mut scope, &rule.ast));
    let (findings, mut gaps) = (ctx.findings, ctx.gaps);
    let outcome = match result {
        Ok(()) => settle(rule, !findings.is_empty(), &gaps),
        Err(err) => classify(rule, &err, timeout, !findings.is_empty(), &mut gaps),
    };
    let mut r = rule_result(rule, outcome, findings);
    r.gaps = gaps;
    r
}

/// How a rule that ran to its end did: findings make it fail (with its gaps, a partial
/// answer); without findings, what it could not see makes it skip (data not there) or
/// error (a failed call, a malformed file); with neither, it passes.
fn settle(rule: &Rule, has_findings: bool, gaps: &[Gap]) -> Outcome {
    if has_findings {
        return Outcome::Fail;
    }
    if gaps.is_empty() {
        return Outcome::Pass;
    }
    let reasons = gaps
        .iter()
        .map(|g| g.reason.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    if gaps.iter().any(Gap::is_error) {
        let problem = Problem::new(
            Kind::RuleData,
            format!(
                "rule `{}` could not read what it needs: {reasons}",
                rule.meta.id
            ),
        )
        .with_file(rule.file.clone());
        Outcome::Error(Box::new(problem))
    } else {
        Outcome::Skip(reasons)
    }
}

/// The innermost error of a chain of script function calls, and the best position for it.
fn innermost(err: &EvalAltResult) -> (&EvalAltResult, Position) {
    let mut cur = err;
    let mut pos = err.position();
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = cur {
        if !inner.position().is_none() {
            pos = inner.position();
        }
        cur = inner;
    }
    (cur, pos)
}

fn classify(
    rule: &Rule,
    err: &EvalAltResult,
    timeout: Duration,
    has_findings: bool,
    gaps: &mut Vec<Gap>,
) -> Outcome {
    let (inner, pos) = innermost(err);
    let (kind, message, help) = match inner {
        EvalAltResult::ErrorRuntime(value, _) => (
            Kind::RuleRuntime,
            format!("rule `{}` failed: {}", rule.meta.id, value),
            None,
        ),
        EvalAltResult::ErrorTerminated(token, _) if token.is::<Abort>() => {
            match token.clone_cast::<Abort>() {
                // Findings already reported stand: the rule failed, and what stopped it is
                // a gap of its answer.
                Abort::Skip(reason) if has_findings => {
                    gaps.push(Gap {
                        file: None,
                        status: "skipped",
                        code: None,
                        reason,
                    });
                    return Outcome::Fail;
                }
                Abort::Error(reason) if has_findings => {
                    gaps.push(Gap {
                        file: None,
                        status: "error",
                        code: None,
                        reason,
                    });
                    return Outcome::Fail;
                }
                Abort::Skip(reason) => return Outcome::Skip(reason),
                Abort::Error(reason) => (Kind::RuleData, reason, None),
                Abort::Limit(reason) => (
                    Kind::RuleLimit,
                    format!("rule `{}`: {reason}", rule.meta.id),
                    Some("[limits] in snapaudit.toml bound what one rule may do: narrow the rule (a smaller query, fewer findings), or raise the limit if the rule is right"),
                ),
            }
        }
        EvalAltResult::ErrorTerminated(_, _) => (
            Kind::RuleLimit,
            format!("rule `{}` ran past its time budget of {} ms and was stopped", rule.meta.id, timeout.as_millis()),
            Some("a loop that never ends? raise [limits] timeout_ms in snapaudit.toml if the rule is right"),
        ),
        EvalAltResult::ErrorTooManyOperations(_) => (
            Kind::RuleLimit,
            format!("rule `{}` exceeded its operation budget and was stopped", rule.meta.id),
            Some("raise [limits] max_operations in snapaudit.toml if the rule is right"),
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            Kind::RuleLimit,
            format!("rule `{}` nested function calls too deeply", rule.meta.id),
            Some("unbounded recursion? [limits] max_call_levels bounds it"),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            Kind::RuleLimit,
            format!("rule `{}` built a value that is too large: {what}", rule.meta.id),
            Some("[limits] max_string_size, max_array_size and max_map_size bound values"),
        ),
        EvalAltResult::ErrorTooManyModules(_) | EvalAltResult::ErrorModuleNotFound(..) => (
            Kind::RuleSandbox,
            format!("rule `{}` tried to import a module; rules cannot read files", rule.meta.id),
            None,
        ),
        EvalAltResult::ErrorFunctionNotFound(signature, _) => (
            Kind::RuleRuntime,
            format!("rule `{}` called a function that does not exist: {signature}", rule.meta.id),
            Some("rules can call Rhai's built-ins and the snapshot API (docs/rules.md); there is no function to read files, run programs or reach the network"),
        ),
        other => (
            Kind::RuleRuntime,
            format!("rule `{}` failed: {}", rule.meta.id, strip_position(&other.to_string())),
            None,
        ),
    };
    let mut problem = Problem::new(kind, message).with_file(rule.file.clone());
    if let Some(help) = help {
        problem = problem.with_help(help);
    }
    if let (Some(line), col) = (pos.line(), pos.position().unwrap_or(1)) {
        let offset = miette::SourceOffset::from_location(&*rule.source.text, line, col).offset();
        problem = problem.at(rule.source.clone(), offset, 1, "here");
    }
    Outcome::Error(Box::new(problem))
}

/// Rhai appends ` (line 3, position 5)` to messages; the span says it better.
fn strip_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}
