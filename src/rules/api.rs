//! The host API rules see: `snapshot`, documents, JSON nodes, credential report rows, time
//! helpers, `query`, `report` and `skip` (documented in docs/rules.md).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::snapshot::value::Value;
use chrono::{DateTime, Utc};
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};

use super::context::{self, Evidence, Gap, RawFinding, Resource};
use super::meta::Severity;
use super::query;
use super::Inputs;
use crate::config::closest;
use crate::snapshot::credential_report::CredentialReport;
use crate::snapshot::path::JsonPath;
use crate::snapshot::{DocStatus, SnapFile};
use crate::time::{format_time, parse_time};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// Ends a rule early with a result other than pass/fail.
#[derive(Debug, Clone)]
pub enum Abort {
    /// The data is not there (not collected, or absent): the rule cannot decide.
    Skip(String),
    /// The data is there but unusable (the call failed, the file is malformed).
    Error(String),
    /// A host call ran out of its budget (a query too large or too slow).
    Limit(String),
}

/// Ends the rule with `a`. Thrown as a termination, which Rhai's `try … catch` cannot
/// catch: a read of missing data can never be turned into a pass.
fn abort<T>(a: Abort) -> RhaiResult<T> {
    Err(Box::new(EvalAltResult::ErrorTerminated(
        Dynamic::from(a),
        Position::NONE,
    )))
}

fn fail<T>(message: impl Into<String>) -> RhaiResult<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(message.into()),
        Position::NONE,
    )))
}

/// `snapshot`: the loaded snapshot (and the scanned sources beside it).
#[derive(Clone)]
pub struct SnapshotApi(pub Arc<Inputs>);

/// `snapshot.json(path)`: one response, whatever happened to its call.
#[derive(Clone)]
pub struct Doc(pub Arc<SnapFile>);

/// An object or array from a response file (cloning one shares it).
#[derive(Clone)]
pub struct Node {
    file: Arc<SnapFile>,
    value: Value,
    path: JsonPath,
}

/// A row of the decoded credential report.
#[derive(Clone)]
pub struct Row {
    report: Arc<CredentialReport>,
    index: usize,
}

/// `N/A`, `not_supported`, `no_information` in the credential report.
#[derive(Clone, Debug, PartialEq)]
pub struct NoValue(pub ImmutableString);

/// A point in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time(pub DateTime<Utc>);

/// `config`: the organisation's settings.
#[derive(Clone)]
pub struct ConfigApi(pub Arc<BTreeMap<String, toml::Value>>);

impl Doc {
    /// The root value; reading it ends the rule when the document is not `ok`.
    pub(crate) fn root(&self) -> RhaiResult<Node> {
        let file = &self.0;
        match (&file.status, &file.data) {
            (DocStatus::Ok, Some(data)) => Ok(Node {
                file: file.clone(),
                value: data.clone(),
                path: JsonPath::root(),
            }),
            (DocStatus::Absent { code, .. }, _) => {
                abort(Abort::Skip(format!("absent: {} ({code})", file.path)))
            }
            (DocStatus::Failed { code, message }, _) => abort(Abort::Error(format!(
                "{code}: {} could not be collected: {message}",
                file.path
            ))),
            (DocStatus::Malformed { message }, _) => {
                abort(Abort::Error(format!("malformed: {}: {message}", file.path)))
            }
            _ => abort(Abort::Skip(format!("not collected: {}", file.path))),
        }
    }
}

/// Turns a value of `file` at `path` into a Rhai value: objects and arrays become nodes,
/// scalars native values tagged with their place.
fn wrap(file: &Arc<SnapFile>, value: &Value, path: JsonPath) -> Dynamic {
    if value.is_container() {
        return Dynamic::from(Node {
            file: file.clone(),
            value: value.clone(),
            path,
        });
    }
    context::tag(
        plain(value),
        Evidence::Json {
            file: file.clone(),
            path,
        },
    )
}

/// [`wrap`] for a value inside a loaded object or array (its address is its identity for as
/// long as the snapshot is loaded): a scalar read again is the same tagged value, so a rule
/// that reads one value in a loop neither copies it nor grows its evidence each time.
fn wrap_member(file: &Arc<SnapFile>, value: &Value, path: impl FnOnce() -> JsonPath) -> Dynamic {
    if value.is_container() {
        return wrap(file, value, path());
    }
    let key = value as *const Value as usize;
    if let Some(Some(known)) = context::current(|c| c.values.get(&key).cloned()) {
        return known;
    }
    let tagged = wrap(file, value, path());
    context::current(|c| c.values.insert(key, tagged.clone()));
    tagged
}

/// A plain Rhai copy of a JSON value, without locations.
pub(crate) fn plain(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from(*b),
        Value::String(s) => Dynamic::from(ImmutableString::from(&**s)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from(i),
            None => Dynamic::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::Array(items) => Dynamic::from_array(items.iter().map(plain).collect()),
        Value::Object(members) => Dynamic::from_map(
            members
                .iter()
                .map(|(k, v)| ((&**k).into(), plain(v)))
                .collect::<Map>(),
        ),
    }
}

impl Node {
    fn member(&self, key: &str) -> Dynamic {
        match self.value.member(key) {
            Some((k, v)) => wrap_member(&self.file, v, || self.path.key_shared(k)),
            None => Dynamic::UNIT,
        }
    }

    fn element(&self, index: i64) -> Dynamic {
        match &self.value {
            Value::Array(items) => {
                let i = if index < 0 {
                    items.len() as i64 + index
                } else {
                    index
                };
                match usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i).map(|v| (i, v)))
                {
                    Some((i, v)) => wrap_member(&self.file, v, || self.path.index(i)),
                    None => Dynamic::UNIT,
                }
            }
            _ => Dynamic::UNIT,
        }
    }

    fn len(&self) -> i64 {
        self.value.len() as i64
    }

    fn children(&self) -> Vec<Dynamic> {
        match &self.value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| wrap_member(&self.file, v, || self.path.index(i)))
                .collect(),
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| wrap_member(&self.file, v, || self.path.key_shared(k)))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn contains(&self, needle: &Dynamic) -> bool {
        match &self.value {
            Value::Object(_) => needle
                .read_lock::<ImmutableString>()
                .is_some_and(|k| self.value.get(k.as_str()).is_some()),
            Value::Array(items) => items.iter().any(|v| same_scalar(v, needle)),
            _ => false,
        }
    }

    fn json(&self) -> String {
        self.value.to_json().to_string()
    }
}

/// What the helpers (`rules::helpers`) read of a node: values as rules read them, so
/// they keep their place.
impl Node {
    /// A member of an object; `()` when absent (or for an array).
    pub(crate) fn get(&self, key: &str) -> Dynamic {
        self.member(key)
    }

    /// The elements of an array; `None` for an object.
    pub(crate) fn elements(&self) -> Option<Vec<Dynamic>> {
        matches!(self.value, Value::Array(_)).then(|| self.children())
    }

    /// The members of an object with their names, sorted by name; `None` for an array.
    pub(crate) fn members(&self) -> Option<Vec<(ImmutableString, Dynamic)>> {
        match &self.value {
            Value::Object(m) => Some(
                m.iter()
                    .map(|(k, v)| {
                        let value = wrap_member(&self.file, v, || self.path.key_shared(k));
                        (ImmutableString::from(&**k), value)
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
}

fn same_scalar(v: &Value, d: &Dynamic) -> bool {
    match v {
        Value::String(s) => d
            .read_lock::<ImmutableString>()
            .is_some_and(|x| x.as_str() == &**s),
        Value::Bool(b) => d.as_bool().is_ok_and(|x| x == *b),
        Value::Number(n) => match (n.as_i64(), d.as_int(), d.as_float()) {
            (Some(i), Ok(x), _) => i == x,
            (_, _, Ok(f)) => n.as_f64() == Some(f),
            _ => false,
        },
        Value::Null => d.is_unit(),
        _ => false,
    }
}

impl IntoIterator for Node {
    type Item = Dynamic;
    type IntoIter = std::vec::IntoIter<Dynamic>;
    fn into_iter(self) -> Self::IntoIter {
        self.children().into_iter()
    }
}

impl Row {
    fn cell(&self, column: &str) -> RhaiResult<Dynamic> {
        let Some(c) = self.report.column(column) else {
            let hint = closest(column, self.report.header.iter())
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            return fail(format!(
                "the credential report has no column `{column}`{hint}"
            ));
        };
        let text = self.report.rows[self.index]
            .cells
            .get(c)
            .map(String::as_str)
            .unwrap_or("");
        Ok(context::tag(
            typed_cell(text),
            Evidence::ReportCell {
                row: self.index,
                column: c,
            },
        ))
    }

    fn user(&self) -> &str {
        self.report.rows[self.index]
            .cells
            .first()
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// One access key ID found by `check --source DIR`: its properties (`key_id`, `kind`,
/// `file`, `line`, `column`, `example`, `secret`) are read on demand, so a scan with tens of
/// thousands of hits costs a rule no string memory until it reads them.
#[derive(Clone)]
pub struct SourceHit {
    scan: Arc<crate::scan::SourceScan>,
    index: usize,
}

impl SourceHit {
    fn hit(&self) -> &crate::scan::Hit {
        &self.scan.hits[self.index]
    }

    /// `key_id`, tagged so that a finding reported at it points at the key in its file.
    fn key_id(&mut self) -> Dynamic {
        context::tag(
            Dynamic::from(self.hit().key_id.clone()),
            Evidence::Source {
                hit: self.index,
                secret: false,
            },
        )
    }

    /// `secret`: the masked secret-looking string next to the key (a finding reported at
    /// it points at it, never showing it), or `()`.
    fn secret(&mut self) -> Dynamic {
        match self.hit().secret {
            Some(sp) => context::tag(
                Dynamic::from("*".repeat(sp.len)),
                Evidence::Source {
                    hit: self.index,
                    secret: true,
                },
            ),
            None => Dynamic::UNIT,
        }
    }

    fn file(&mut self) -> String {
        let h = self.hit();
        self.scan
            .files
            .get(h.file)
            .map(|f| f.display.clone())
            .unwrap_or_default()
    }
}

/// `snapshot.source_hits()`: the access key IDs found by `check --source DIR`. Without
/// `--source` the rule ends with `skip`.
fn source_hits(s: &mut SnapshotApi) -> RhaiResult<Array> {
    let Some(scan) = &s.0.sources else {
        return abort(Abort::Skip(
            "no source tree was scanned: pass --source DIR to check".into(),
        ));
    };
    Ok((0..scan.hits.len())
        .map(|index| {
            Dynamic::from(SourceHit {
                scan: scan.clone(),
                index,
            })
        })
        .collect())
}

/// Records what the running rule could not see, once each. A rule records at most
/// `[limits] max_findings` gaps, as it reports at most that many findings: past that, it
/// ends with a limit error.
fn record_gap(gap: Gap) -> RhaiResult<()> {
    let full = context::current(|c| {
        if c.gap_set.contains(&gap) {
            return None;
        }
        if c.gaps.len() >= c.max_findings {
            return Some(c.max_findings);
        }
        c.gap_set.insert(gap.clone());
        c.gaps.push(gap);
        None
    })
    .flatten();
    match full {
        Some(max) => abort(Abort::Limit(format!(
            "recorded more than {max} gaps ([limits] max_findings)"
        ))),
        None => Ok(()),
    }
}

/// Why a document cannot be read, as a gap.
fn gap_of(file: &SnapFile) -> Gap {
    let (code, reason) = match &file.status {
        DocStatus::Ok => (None, format!("{} was read", file.path)),
        DocStatus::Absent { code, .. } => (
            Some(code.clone()),
            format!("absent: {} ({code})", file.path),
        ),
        DocStatus::Failed { code, message } => (
            Some(code.clone()),
            format!("{code}: {} could not be collected: {message}", file.path),
        ),
        DocStatus::Malformed { message } => (None, format!("malformed: {}: {message}", file.path)),
        DocStatus::NotCollected => (None, format!("not collected: {}", file.path)),
    };
    Gap {
        file: Some(file.path.clone()),
        status: file.status.name(),
        code,
        reason,
    }
}

/// `snapshot.regions_with("ec2/{region}/describe-instances.json")` (or a list of such
/// paths): the snapshot's regions whose files are all there and readable. Every other
/// region is recorded as a gap of the rule, which goes on with the regions it can see: its
/// findings stand, and its result says what it could not see. (`snapshot.regions()` is for
/// a rule that needs every region: reading a missing file ends it.)
fn regions_with(s: &mut SnapshotApi, templates: &[Dynamic]) -> RhaiResult<Array> {
    let mut paths = Vec::with_capacity(templates.len());
    for t in templates {
        let Some(t) = t.read_lock::<ImmutableString>() else {
            return fail(format!(
                "regions_with takes paths with {{region}}, not {}",
                t.type_name()
            ));
        };
        if !t.contains("{region}") {
            return fail(format!("`{}` has no {{region}} to fill in", t.as_str()));
        }
        paths.push(t.to_string());
    }
    let snapshot = &s.0.snapshot;
    let mut out = Array::new();
    for region in &snapshot.regions {
        let mut readable = true;
        for template in &paths {
            let path = template.replace("{region}", region);
            let file = snapshot.file(&path);
            if file.status != DocStatus::Ok {
                readable = false;
                record_gap(gap_of(&file))?;
            }
        }
        if readable {
            out.push(Dynamic::from(region.clone()));
        }
    }
    Ok(out)
}

/// The typed value of a credential report cell.
pub fn typed_cell(text: &str) -> Dynamic {
    match text {
        "true" => Dynamic::from(true),
        "false" => Dynamic::from(false),
        "N/A" | "not_supported" | "no_information" => Dynamic::from(NoValue(text.into())),
        _ => match parse_time(text).filter(|_| text.contains('T')) {
            Some(t) => Dynamic::from(Time(t)),
            None => Dynamic::from(ImmutableString::from(text)),
        },
    }
}

fn now() -> RhaiResult<Time> {
    match context::current(|c| c.now).flatten() {
        Some(t) => Ok(Time(t)),
        None => abort(Abort::Error(
            "no evaluation time: the snapshot has no manifest or credential report time; pass --as-of".into(),
        )),
    }
}

/// A time from a timestamp, an RFC 3339 string or epoch seconds; `None` for no value.
fn time_of(value: &Dynamic) -> RhaiResult<Option<Time>> {
    if value.is_unit() || value.is::<NoValue>() {
        return Ok(None);
    }
    if let Some(t) = value.read_lock::<Time>() {
        return Ok(Some(*t));
    }
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return match parse_time(s.as_str()) {
            Some(t) => Ok(Some(Time(t))),
            None => fail(format!(
                "`{}` is not a time (expected RFC 3339, e.g. 2026-11-02T09:00:00Z)",
                s.as_str()
            )),
        };
    }
    if let Ok(secs) = value.as_int() {
        return match DateTime::from_timestamp(secs, 0) {
            Some(t) => Ok(Some(Time(t))),
            None => fail(format!("{secs} is out of range for a time")),
        };
    }
    if let Ok(secs) = value.as_float() {
        return match DateTime::from_timestamp_millis((secs * 1000.0) as i64) {
            Some(t) => Ok(Some(Time(t))),
            None => fail(format!("{secs} is out of range for a time")),
        };
    }
    fail(format!("a {} is not a time", value.type_name()))
}

fn since(value: Dynamic, unit_secs: i64) -> RhaiResult<Dynamic> {
    let Some(t) = time_of(&value)? else {
        return Ok(Dynamic::UNIT);
    };
    let now = now()?;
    Ok(Dynamic::from(
        (now.0 - t.0).num_seconds().div_euclid(unit_secs),
    ))
}

fn toml_to_dynamic(v: &toml::Value) -> Dynamic {
    match v {
        toml::Value::String(s) => Dynamic::from(s.clone()),
        toml::Value::Integer(i) => Dynamic::from(*i),
        toml::Value::Float(f) => Dynamic::from(*f),
        toml::Value::Boolean(b) => Dynamic::from(*b),
        toml::Value::Datetime(d) => match parse_time(&d.to_string()) {
            Some(t) => Dynamic::from(Time(t)),
            None => Dynamic::from(d.to_string()),
        },
        toml::Value::Array(a) => Dynamic::from_array(a.iter().map(toml_to_dynamic).collect()),
        toml::Value::Table(t) => Dynamic::from_map(
            t.iter()
                .map(|(k, v)| (k.as_str().into(), toml_to_dynamic(v)))
                .collect::<Map>(),
        ),
    }
}

/// The evidence behind the first argument of `report`.
fn evidence_of(at: &Dynamic) -> Evidence {
    if let Some(node) = at.read_lock::<Node>() {
        return Evidence::Json {
            file: node.file.clone(),
            path: node.path.clone(),
        };
    }
    if let Some(doc) = at.read_lock::<Doc>() {
        return match (&doc.0.status, &doc.0.data) {
            (DocStatus::Ok, Some(_)) => Evidence::Json {
                file: doc.0.clone(),
                path: JsonPath::root(),
            },
            _ => Evidence::Call {
                file: doc.0.clone(),
            },
        };
    }
    if let Some(row) = at.read_lock::<Row>() {
        return Evidence::ReportRow { row: row.index };
    }
    context::evidence_of_value(at)
}

fn resource_of(value: &Dynamic) -> RhaiResult<Resource> {
    if let Some(map) = value.read_lock::<Map>() {
        let get = |k: &str| map.get(k).map(|v| v.to_string()).unwrap_or_default();
        let id = get("id");
        if id.is_empty() {
            return fail("a resource map needs an `id`");
        }
        let name = map
            .get("name")
            .map(|v| v.to_string())
            .unwrap_or_else(|| id.clone());
        return Ok(Resource { id, name });
    }
    let id = value.to_string();
    Ok(Resource {
        name: id.clone(),
        id,
    })
}

/// The account, as the resource of a finding that names none. Outside a rule (no context)
/// the account is unknown.
fn account_resource() -> Resource {
    let (partition, account) = context::current(|c| {
        let s = &c.inputs.snapshot;
        (s.partition.clone(), s.account_id.clone())
    })
    .unwrap_or_else(|| ("aws".to_owned(), String::new()));
    let id = if account.is_empty() {
        "account".to_owned()
    } else {
        format!("arn:{partition}:iam::{account}:root")
    };
    Resource {
        id,
        name: if account.is_empty() {
            "account".into()
        } else {
            format!("account {account}")
        },
    }
}

/// The report option `controls`: a control id, or an array of them (`"5.3"`,
/// `["5.1", "5.2"]`), each a non-empty string; kept in the order given, once each.
fn controls_of(value: &Dynamic) -> RhaiResult<Vec<String>> {
    fn id(v: &Dynamic) -> RhaiResult<String> {
        match v.read_lock::<ImmutableString>() {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(_) => fail("report option `controls`: a control id cannot be empty"),
            None => fail(format!(
                "report option `controls` takes a control id or an array of them, not {}",
                v.type_name()
            )),
        }
    }
    let mut out: Vec<String> = Vec::new();
    let items = match value.read_lock::<Array>() {
        Some(a) => a.iter().map(id).collect::<RhaiResult<Vec<_>>>()?,
        None => vec![id(value)?],
    };
    for c in items {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

fn push_finding(
    at: Dynamic,
    resource: Resource,
    message: ImmutableString,
    options: Option<Map>,
) -> RhaiResult<()> {
    let mut severity = context::current(|c| c.severity).unwrap_or(Severity::Medium);
    let mut label = None;
    let mut controls = Vec::new();
    if let Some(opts) = options {
        for (k, v) in opts {
            match k.as_str() {
                "severity" => {
                    let s = v.to_string();
                    severity = match Severity::parse(&s) {
                        Some(s) => s,
                        None => {
                            return fail(format!(
                                "unknown severity `{s}`: use info, low, medium, high or critical"
                            ))
                        }
                    }
                }
                "label" => label = Some(v.to_string()),
                "controls" => controls = controls_of(&v)?,
                other => {
                    return fail(format!(
                        "unknown report option `{other}`: use `severity`, `label` or `controls`"
                    ))
                }
            }
        }
    }
    let finding = RawFinding {
        severity,
        resource,
        message: message.to_string(),
        label,
        controls,
        evidence: evidence_of(&at),
    };
    let full = context::current(|c| {
        if c.findings.len() >= c.max_findings {
            return Some(c.max_findings);
        }
        c.findings.push(finding);
        None
    })
    .flatten();
    if let Some(max) = full {
        return abort(Abort::Limit(format!(
            "reported more than {max} findings ([limits] max_findings)"
        )));
    }
    Ok(())
}

/// Comparing values of different kinds is an error, not `false`: a number from the
/// snapshot compared with a string from a config (or the other way round) must not make a
/// rule pass. Comparing anything with `()` (a missing member) stays allowed, and so do
/// integers with floats, strings with characters, and `N/A` cells with strings.
fn register_comparisons(engine: &mut Engine) {
    fn mismatch(a: &str, b: &str) -> RhaiResult<bool> {
        fail(format!(
            "cannot compare {a} with {b}: convert one of them first (to_int, to_string, timestamp)"
        ))
    }
    macro_rules! refuse {
        ($a:ty: $an:literal, $b:ty: $bn:literal) => {
            for op in ["==", "!=", "<", "<=", ">", ">="] {
                engine.register_fn(op, |_: $a, _: $b| mismatch($an, $bn));
                engine.register_fn(op, |_: $b, _: $a| mismatch($bn, $an));
            }
        };
    }
    type S = ImmutableString;
    refuse!(i64: "a number", S: "a string");
    refuse!(f64: "a number", S: "a string");
    refuse!(i64: "a number", bool: "true or false");
    refuse!(f64: "a number", bool: "true or false");
    refuse!(S: "a string", bool: "true or false");
    refuse!(char: "a character", i64: "a number");
    refuse!(char: "a character", bool: "true or false");
    refuse!(Time: "a timestamp", S: "a string");
    refuse!(Time: "a timestamp", i64: "a number");
    refuse!(Time: "a timestamp", f64: "a number");
    refuse!(Time: "a timestamp", bool: "true or false");
    refuse!(NoValue: "an empty report cell", i64: "a number");
    refuse!(NoValue: "an empty report cell", f64: "a number");
    refuse!(NoValue: "an empty report cell", bool: "true or false");
    refuse!(NoValue: "an empty report cell", Time: "a timestamp");
}

/// Registers the host API on `engine`.
pub fn register(engine: &mut Engine) {
    register_comparisons(engine);
    register_types(engine);
    register_snapshot(engine);
    register_documents(engine);
    register_nodes(engine);
    register_report_rows(engine);
    register_time(engine);
    register_config(engine);
    register_queries(engine);
    super::helpers::register(engine);
}

/// The host types, by the names rules see in errors.
fn register_types(engine: &mut Engine) {
    engine
        .register_type_with_name::<SnapshotApi>("snapshot")
        .register_type_with_name::<Doc>("document")
        .register_type_with_name::<Node>("node")
        .register_type_with_name::<Row>("row")
        .register_type_with_name::<NoValue>("no_value")
        .register_type_with_name::<Time>("timestamp")
        .register_type_with_name::<ConfigApi>("config")
        .register_type_with_name::<Abort>("abort");
}

/// `snapshot`: its files, regions, credential report, scanned sources, account.
fn register_snapshot(engine: &mut Engine) {
    engine
        .register_fn("json", |s: &mut SnapshotApi, path: &str| -> RhaiResult<Doc> {
            if !crate::snapshot::load::is_safe_path(path) {
                return Err(format!(
                    "`{path}` is not a snapshot path: paths are relative to the snapshot, with `/` and no `.`, `..` or empty parts"
                )
                .into());
            }
            Ok(Doc(s.0.snapshot.file(path)))
        })
        .register_fn("regions", |s: &mut SnapshotApi| -> Array {
            s.0.snapshot.regions
                .iter()
                .map(|r| Dynamic::from(r.clone()))
                .collect()
        })
        .register_fn("regions_with", |s: &mut SnapshotApi, template: &str| {
            regions_with(s, &[template.into()])
        })
        .register_fn("regions_with", |s: &mut SnapshotApi, templates: Array| {
            regions_with(s, &templates)
        })
        .register_fn("files", |s: &mut SnapshotApi, prefix: &str| -> Array {
            s.0.snapshot.paths_under(prefix)
                .map(|p| Dynamic::from(p.to_owned()))
                .collect()
        })
        .register_fn(
            "credential_report",
            |s: &mut SnapshotApi| -> RhaiResult<Array> {
                match &s.0.snapshot.credential_report {
                    Ok(report) => Ok((0..report.rows.len())
                        .map(|index| {
                            Dynamic::from(Row {
                                report: report.clone(),
                                index,
                            })
                        })
                        .collect()),
                    Err(status) => Doc(Arc::new(crate::snapshot::load::placeholder(
                        crate::snapshot::credential_report::PATH,
                        status.clone(),
                    )))
                    .root()
                    .map(|_| Array::new()),
                }
            },
        )
        .register_fn("source_hits", source_hits)
        .register_type_with_name::<SourceHit>("source_hit")
        .register_get("key_id", SourceHit::key_id)
        .register_get("secret", SourceHit::secret)
        .register_get("file", SourceHit::file)
        .register_get("kind", |h: &mut SourceHit| h.hit().kind())
        .register_get("line", |h: &mut SourceHit| h.hit().at.line as i64)
        .register_get("column", |h: &mut SourceHit| h.hit().at.column as i64)
        .register_get("example", |h: &mut SourceHit| h.hit().example)
        .register_get("account_id", |s: &mut SnapshotApi| s.0.snapshot.account_id.clone())
        .register_get("partition", |s: &mut SnapshotApi| s.0.snapshot.partition.clone());
}

/// Documents (`snapshot.json(path)`): status, and members of the root.
fn register_documents(engine: &mut Engine) {
    engine
        .register_fn("status", |d: &mut Doc| d.0.status.name())
        .register_fn("is_ok", |d: &mut Doc| d.0.status == DocStatus::Ok)
        .register_fn("is_missing", |d: &mut Doc| {
            matches!(d.0.status, DocStatus::Absent { .. })
        })
        .register_fn("error_code", |d: &mut Doc| {
            d.0.status.error_code().to_owned()
        })
        .register_fn("path", |d: &mut Doc| d.0.path.clone())
        .register_indexer_get(|d: &mut Doc, key: &str| -> RhaiResult<Dynamic> {
            Ok(d.root()?.member(key))
        })
        .register_fn("to_string", |d: &mut Doc| {
            format!("document {} ({})", d.0.path, d.0.status.name())
        })
        .register_fn("to_debug", |d: &mut Doc| {
            format!("document {} ({})", d.0.path, d.0.status.name())
        });
}

/// JSON nodes: members, elements, length, keys, iteration.
fn register_nodes(engine: &mut Engine) {
    engine
        .register_indexer_get(|n: &mut Node, key: &str| n.member(key))
        .register_indexer_get(|n: &mut Node, index: i64| n.element(index))
        .register_fn("len", |n: &mut Node| n.len())
        .register_fn("is_empty", |n: &mut Node| n.len() == 0)
        .register_fn("has", |n: &mut Node, key: &str| n.value.get(key).is_some())
        .register_fn("contains", |n: &mut Node, needle: Dynamic| {
            n.contains(&needle)
        })
        .register_fn("keys", |n: &mut Node| -> Array {
            match &n.value {
                Value::Object(m) => m
                    .iter()
                    .map(|(k, _)| Dynamic::from(ImmutableString::from(&**k)))
                    .collect(),
                _ => Array::new(),
            }
        })
        .register_fn("is_array", |n: &mut Node| {
            matches!(&n.value, Value::Array(_))
        })
        .register_fn("is_object", |n: &mut Node| {
            matches!(&n.value, Value::Object(_))
        })
        .register_fn("pointer", |n: &mut Node| n.path.pointer())
        .register_fn("to_value", |n: &mut Node| plain(&n.value))
        .register_fn("to_string", |n: &mut Node| n.json())
        .register_fn("to_debug", |n: &mut Node| n.json())
        .register_iterator::<Node>();
}

/// Credential report rows and their cells (typed values, `N/A` and friends).
fn register_report_rows(engine: &mut Engine) {
    engine
        .register_indexer_get(|r: &mut Row, column: &str| r.cell(column))
        .register_fn("is_root", |r: &mut Row| r.user() == "<root_account>")
        .register_fn("to_string", |r: &mut Row| {
            format!("credential report row for {}", r.user())
        })
        .register_fn("to_debug", |r: &mut Row| {
            format!("credential report row for {}", r.user())
        })
        .register_fn("to_string", |v: &mut NoValue| v.0.to_string())
        .register_fn("to_debug", |v: &mut NoValue| v.0.to_string())
        .register_fn("==", |a: NoValue, b: ImmutableString| a.0 == b)
        .register_fn("!=", |a: NoValue, b: ImmutableString| a.0 != b)
        .register_fn("==", |a: NoValue, b: NoValue| a == b)
        .register_fn("!=", |a: NoValue, b: NoValue| a != b);
}

/// Time: `now()`, timestamps, ages from the evaluation time.
fn register_time(engine: &mut Engine) {
    engine
        .register_fn("now", now)
        .register_fn("timestamp", |s: &str| -> RhaiResult<Time> {
            match parse_time(s) {
                Some(t) => Ok(Time(t)),
                None => fail(format!(
                    "`{s}` is not a time (expected RFC 3339, e.g. 2026-11-02T09:00:00Z)"
                )),
            }
        })
        .register_fn("days_since", |v: Dynamic| since(v, 86_400))
        .register_fn("hours_since", |v: Dynamic| since(v, 3_600))
        .register_fn("has_value", |v: Dynamic| {
            !(v.is_unit() || v.is::<NoValue>())
        })
        .register_fn("to_string", |t: &mut Time| format_time(&t.0))
        .register_fn("to_debug", |t: &mut Time| format_time(&t.0))
        .register_fn("==", |a: Time, b: Time| a == b)
        .register_fn("!=", |a: Time, b: Time| a != b)
        .register_fn("<", |a: Time, b: Time| a < b)
        .register_fn("<=", |a: Time, b: Time| a <= b)
        .register_fn(">", |a: Time, b: Time| a > b)
        .register_fn(">=", |a: Time, b: Time| a >= b);
}

/// `config`: the organisation's settings.
fn register_config(engine: &mut Engine) {
    engine.register_indexer_get(|c: &mut ConfigApi, key: &str| -> RhaiResult<Dynamic> {
        match c.0.get(key) {
            Some(v) => Ok(toml_to_dynamic(v)),
            None => {
                let hint = closest(key, c.0.keys())
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                fail(format!("unknown config setting `{key}`{hint}"))
            }
        }
    });
    // A rule's own optional setting: `config.get("x_max_days", 7)`.
    engine
        .register_fn("get", |c: &mut ConfigApi, key: &str, default: Dynamic| {
            c.0.get(key).map(toml_to_dynamic).unwrap_or(default)
        })
        .register_fn("has", |c: &mut ConfigApi, key: &str| c.0.contains_key(key));
}

/// JMESPath queries, helpers, and `report` / `skip`.
fn register_queries(engine: &mut Engine) {
    engine
        .register_fn("tally", |d: Doc, expr: &str| -> RhaiResult<Map> {
            tally(&d.root()?, expr)
        })
        .register_fn("tally", |n: Node, expr: &str| tally(&n, expr))
        .register_fn("query", |d: Doc, expr: &str| -> RhaiResult<Dynamic> {
            query(&d.root()?, expr)
        })
        .register_fn("query", |n: Node, expr: &str| query(&n, expr))
        .register_fn(
            "glob_match",
            |pattern: &str, text: &str| -> RhaiResult<bool> {
                match glob::Pattern::new(pattern) {
                    Ok(p) => Ok(p.matches(text)),
                    Err(e) => fail(format!("`{pattern}` is not a valid glob: {e}")),
                }
            },
        )
        .register_fn("skip", |reason: &str| -> RhaiResult<()> {
            abort(Abort::Skip(reason.to_owned()))
        })
        .register_fn("gap", |reason: &str| {
            record_gap(Gap {
                file: None,
                status: "skipped",
                code: None,
                reason: reason.to_owned(),
            })
        })
        .register_fn("gap", |d: Doc| record_gap(gap_of(&d.0)))
        .register_fn("report", |at: Dynamic, message: ImmutableString| {
            push_finding(at, account_resource(), message, None)
        })
        .register_fn(
            "report",
            |at: Dynamic, message: ImmutableString, options: Map| {
                push_finding(at, account_resource(), message, Some(options))
            },
        )
        .register_fn(
            "report",
            |at: Dynamic, resource: Dynamic, message: ImmutableString| {
                push_finding(at, resource_of(&resource)?, message, None)
            },
        )
        .register_fn(
            "report",
            |at: Dynamic, resource: Dynamic, message: ImmutableString, options: Map| {
                push_finding(at, resource_of(&resource)?, message, Some(options))
            },
        );
}

// JMESPath: expressions are checked and parsed once per thread (`rules::query`), then
// evaluated on the node's own values within a budget; results that are the file's values
// keep their place.

thread_local! {
    static COMPILED: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<jmespath::ast::Ast>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The parsed expression, from this thread's cache.
fn compiled(expr: &str) -> RhaiResult<std::rc::Rc<jmespath::ast::Ast>> {
    if let Some(found) = COMPILED.with(|c| c.borrow().get(expr).cloned()) {
        return Ok(found);
    }
    let ast = std::rc::Rc::new(query::parse(expr).or_else(|e| fail(e.to_string()))?);
    COMPILED.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() < 1024 {
            cache.insert(expr.to_owned(), ast.clone());
        }
    });
    Ok(ast)
}

/// A query's error as the rule's: a budget ran out (a limit), or the expression is wrong.
fn query_error<T>(e: query::QueryError) -> RhaiResult<T> {
    match e {
        query::QueryError::Limit(_) => abort(Abort::Limit(e.to_string())),
        _ => fail(e.to_string()),
    }
}

/// Runs `expr` on `node` and hands the result to `then`, within the query's budget.
fn with_result<R>(
    node: &Node,
    expr: &str,
    track: bool,
    then: impl FnOnce(&mut query::Eval<'_>, query::Q<'_>) -> Result<R, query::QueryError>,
) -> RhaiResult<R> {
    let ast = compiled(expr)?;
    let deadline = context::current(|c| c.deadline);
    let mut budget = query::Budget::new(deadline);
    let mut eval = query::Eval {
        track,
        budget: &mut budget,
    };
    let root = query::Q::File(&node.value, node.path.clone());
    let result = eval.eval(&ast, &root).and_then(|q| then(&mut eval, q));
    result.or_else(query_error)
}

/// `tally(doc, "NetworkInterfaces[].Groups[].GroupId")`: how many times each value of the
/// expression's result list occurs, as a map (computed in Rust: an index for joins over
/// large lists, without a Rhai loop).
fn tally(node: &Node, expr: &str) -> RhaiResult<Map> {
    with_result(node, expr, false, |eval, result| {
        let mut counts: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        let items = match eval.to_json(&result)? {
            serde_json::Value::Array(items) => items,
            serde_json::Value::Null => Vec::new(),
            other => vec![other],
        };
        for v in items {
            let key = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            *counts.entry(key).or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|(k, v)| (k.into(), Dynamic::from(v)))
            .collect())
    })
}

fn query(node: &Node, expr: &str) -> RhaiResult<Dynamic> {
    with_result(node, expr, true, |eval, result| {
        to_rhai(&node.file, &node.value, eval, &result)
    })
}

/// A query's result as Rhai values: the file's own values keep their place; made lists
/// and objects are built within the query's budget (a result that shares its parts, like
/// `[@, @]`, is counted as often as it is expanded).
fn to_rhai(
    file: &Arc<SnapFile>,
    root: &Value,
    eval: &mut query::Eval<'_>,
    q: &query::Q<'_>,
) -> Result<Dynamic, query::QueryError> {
    use query::Q;
    Ok(match q {
        // The query's root is the node's own copy; values below it are the file's.
        Q::File(v, path) if std::ptr::eq(*v, root) => wrap(file, v, path.clone()),
        Q::File(v, path) => wrap_member(file, v, || path.clone()),
        Q::Null | Q::Expref(_) => Dynamic::UNIT,
        Q::Bool(b) => Dynamic::from(*b),
        Q::Number(n) => match query::as_integer(*n) {
            Some(i) => Dynamic::from(i),
            None => Dynamic::from(*n),
        },
        Q::String(s) => Dynamic::from(ImmutableString::from(&**s)),
        Q::List(items) => {
            eval.budget.make(items.len())?;
            let mut out = Array::with_capacity(items.len());
            for i in items.iter() {
                out.push(to_rhai(file, root, eval, i)?);
            }
            Dynamic::from_array(out)
        }
        Q::Object(members) => {
            eval.budget.make(members.len())?;
            let mut out = Map::new();
            for (k, v) in members.iter() {
                out.insert((&**k).into(), to_rhai(file, root, eval, v)?);
            }
            Dynamic::from_map(out)
        }
    })
}
