//! Raw changes between two snapshots, per file, keyed by natural ids rather than array
//! positions: a reordered list is not a change.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::snapshot::credential_report::{self, CredentialReport};
use crate::snapshot::value::Value;
use crate::snapshot::{DocStatus, Snapshot};

/// Members that name an item of a list, most specific first. The first one present in
/// every item of a list, with distinct values, keys that list.
pub const NATURAL_IDS: &[&str] = &[
    "InstanceId",
    "NetworkInterfaceId",
    "GroupId",
    "ImageId",
    "VpcId",
    "SubnetId",
    "AccessKeyId",
    "UserName",
    "RoleName",
    "TrailARN",
    "AlarmArn",
    "SerialNumber",
    "PolicyArn",
    "PolicyName",
    "GroupName",
    "ReservationId",
    "AllocationId",
    "Arn",
    "Key",
    "Name",
    "id",
    "checkId",
    "resourceId",
];

/// What happened to one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Added,
    Removed,
    Changed,
}

/// One change in one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Snapshot-relative path of the file.
    pub file: String,
    /// The innermost natural id on the way to the value (`sg-0abc`, `bob`), or the file.
    pub resource: String,
    /// Where in the item: `IpPermissions`, `Tags[Name].Value`, `mfa_active`; empty for a
    /// whole item added or removed.
    pub path: String,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<serde_json::Value>,
}

/// A call whose status differs (`ok` → `AccessDenied`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    pub file: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Default, Serialize)]
pub struct ResourceDiff {
    pub changes: Vec<Change>,
    pub files_added: Vec<String>,
    pub files_removed: Vec<String>,
    pub status_changed: Vec<StatusChange>,
    pub regions_added: Vec<String>,
    pub regions_removed: Vec<String>,
    /// Changes left out because they touch only volatile values.
    pub volatile_hidden: usize,
}

impl ResourceDiff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.files_added.is_empty()
            && self.files_removed.is_empty()
            && self.status_changed.is_empty()
            && self.regions_added.is_empty()
            && self.regions_removed.is_empty()
    }
}

/// Which values are volatile: a pattern is one member (or credential report column) name,
/// or a dotted suffix of member names (`AccessKeyLastUsed.Region`).
pub struct Volatile {
    patterns: Vec<Vec<String>>,
}

impl Volatile {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Volatile {
        Volatile {
            patterns: patterns
                .iter()
                .map(|p| p.as_ref().split('.').map(str::to_owned).collect())
                .collect(),
        }
    }

    pub fn none() -> Volatile {
        Volatile {
            patterns: Vec::new(),
        }
    }

    fn matches(&self, members: &[String]) -> bool {
        self.patterns
            .iter()
            .any(|p| !p.is_empty() && members.ends_with(p))
    }
}

fn status_text(s: &DocStatus) -> String {
    match s {
        DocStatus::Ok => "ok".into(),
        DocStatus::Absent { code, .. } | DocStatus::Failed { code, .. } => code.clone(),
        DocStatus::Malformed { .. } => "malformed".into(),
        DocStatus::NotCollected => "not collected".into(),
    }
}

/// Compares every file of two snapshots.
pub fn diff(old: &Snapshot, new: &Snapshot, volatile: &Volatile) -> ResourceDiff {
    let mut out = ResourceDiff::default();
    let old_paths: BTreeSet<&str> = old.files().map(|f| f.path.as_str()).collect();
    let new_paths: BTreeSet<&str> = new.files().map(|f| f.path.as_str()).collect();
    for path in old_paths.union(&new_paths) {
        let (a, b) = (old.file(path), new.file(path));
        match (old_paths.contains(path), new_paths.contains(path)) {
            (true, false) => out.files_removed.push((*path).to_owned()),
            (false, true) => out.files_added.push((*path).to_owned()),
            _ => {
                if a.status != b.status {
                    let (sa, sb) = (status_text(&a.status), status_text(&b.status));
                    if sa != sb {
                        out.status_changed.push(StatusChange {
                            file: (*path).to_owned(),
                            old: sa,
                            new: sb,
                        });
                    }
                    continue;
                }
                if *path == credential_report::PATH {
                    continue;
                }
                if let (Some(x), Some(y)) = (&a.data, &b.data) {
                    let mut walk = Walk {
                        file: path,
                        volatile,
                        changes: &mut out.changes,
                        hidden: 0,
                    };
                    walk.value(x, y, path, &mut Vec::new(), &mut Vec::new());
                    out.volatile_hidden += walk.hidden;
                }
            }
        }
    }
    if let (Ok(a), Ok(b)) = (&old.credential_report, &new.credential_report) {
        out.volatile_hidden += report_diff(a, b, volatile, &mut out.changes);
    }
    let (ra, rb): (BTreeSet<&String>, BTreeSet<&String>) =
        (old.regions.iter().collect(), new.regions.iter().collect());
    out.regions_added = rb.difference(&ra).map(|r| (*r).clone()).collect();
    out.regions_removed = ra.difference(&rb).map(|r| (*r).clone()).collect();
    out
}

/// The credential report, row by `user`, cell by column.
fn report_diff(
    a: &CredentialReport,
    b: &CredentialReport,
    volatile: &Volatile,
    changes: &mut Vec<Change>,
) -> usize {
    let file = credential_report::PATH;
    let rows = |r: &CredentialReport| -> BTreeMap<String, BTreeMap<String, String>> {
        r.rows
            .iter()
            .map(|row| {
                let cells = r
                    .header
                    .iter()
                    .cloned()
                    .zip(row.cells.iter().cloned())
                    .collect();
                (row.cells.first().cloned().unwrap_or_default(), cells)
            })
            .collect()
    };
    let (ra, rb) = (rows(a), rows(b));
    let mut hidden = 0;
    for user in ra.keys().chain(rb.keys()).collect::<BTreeSet<_>>() {
        let as_json = |cells: &BTreeMap<String, String>| {
            serde_json::Value::Object(
                cells
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            )
        };
        match (ra.get(user), rb.get(user)) {
            (Some(x), None) => changes.push(Change {
                file: file.into(),
                resource: user.clone(),
                path: String::new(),
                kind: Kind::Removed,
                old: Some(as_json(x)),
                new: None,
            }),
            (None, Some(y)) => changes.push(Change {
                file: file.into(),
                resource: user.clone(),
                path: String::new(),
                kind: Kind::Added,
                old: None,
                new: Some(as_json(y)),
            }),
            (Some(x), Some(y)) => {
                for col in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
                    let (va, vb) = (x.get(col), y.get(col));
                    if va == vb {
                        continue;
                    }
                    if volatile.matches(std::slice::from_ref(col)) {
                        hidden += 1;
                        continue;
                    }
                    changes.push(Change {
                        file: file.into(),
                        resource: user.clone(),
                        path: col.clone(),
                        kind: Kind::Changed,
                        old: va.map(|v| serde_json::Value::String(v.clone())),
                        new: vb.map(|v| serde_json::Value::String(v.clone())),
                    });
                }
            }
            (None, None) => {}
        }
    }
    hidden
}

struct Walk<'a> {
    file: &'a str,
    volatile: &'a Volatile,
    changes: &'a mut Vec<Change>,
    hidden: usize,
}

impl Walk<'_> {
    fn push(
        &mut self,
        kind: Kind,
        resource: &str,
        shown: &[String],
        old: Option<&Value>,
        new: Option<&Value>,
    ) {
        self.changes.push(Change {
            file: self.file.to_owned(),
            resource: resource.to_owned(),
            path: shown.join("."),
            kind,
            old: old.map(to_json),
            new: new.map(to_json),
        });
    }

    /// `shown` is the display path below `resource`; `members` the member names from the
    /// file's root, for volatile matching.
    fn value(
        &mut self,
        a: &Value,
        b: &Value,
        resource: &str,
        shown: &mut Vec<String>,
        members: &mut Vec<String>,
    ) {
        if a == b {
            return;
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: BTreeSet<&str> = x.iter().chain(y.iter()).map(|(k, _)| &**k).collect();
                for key in keys {
                    members.push(key.to_owned());
                    shown.push(key.to_owned());
                    match (a.get(key), b.get(key)) {
                        (Some(va), Some(vb)) => self.value(va, vb, resource, shown, members),
                        (va, vb) => self.one_side(resource, shown, members, va, vb),
                    }
                    shown.pop();
                    members.pop();
                }
            }
            (Value::Array(x), Value::Array(y)) => self.array(x, y, resource, shown, members),
            _ => {
                if self.volatile.matches(members) {
                    self.hidden += 1;
                } else {
                    self.push(Kind::Changed, resource, shown, Some(a), Some(b));
                }
            }
        }
    }

    fn array<'v>(
        &mut self,
        x: &'v [Value],
        y: &'v [Value],
        resource: &str,
        shown: &[String],
        members: &mut Vec<String>,
    ) {
        if let Some(key) = natural_key(x, y) {
            let index = |items: &'v [Value]| -> BTreeMap<String, &'v Value> {
                items
                    .iter()
                    .filter_map(|v| id_of(v, key).map(|id| (id, v)))
                    .collect()
            };
            let (ia, ib) = (index(x), index(y));
            for id in ia.keys().chain(ib.keys()).collect::<BTreeSet<_>>() {
                // A `Key`-keyed list is a tag list: show it as `Tags[Name]` under the resource.
                let (inner_resource, mut inner_shown) = if key == "Key" {
                    let mut s = shown.to_vec();
                    if let Some(last) = s.last_mut() {
                        last.push_str(&format!("[{id}]"));
                    }
                    (resource.to_owned(), s)
                } else {
                    // An item that only groups others (a reservation of instances) is
                    // named with theirs too: `r-0abc (i-0def)`.
                    let inner = ia
                        .get(id)
                        .or(ib.get(id))
                        .map(|v| child_ids(v))
                        .unwrap_or_default();
                    if inner.is_empty() {
                        (id.clone(), Vec::new())
                    } else {
                        (format!("{id} ({})", inner.join(", ")), Vec::new())
                    }
                };
                match (ia.get(id).copied(), ib.get(id).copied()) {
                    (Some(va), Some(vb)) => {
                        self.value(va, vb, &inner_resource, &mut inner_shown, members)
                    }
                    (va, vb) => self.one_side(&inner_resource, &inner_shown, members, va, vb),
                }
            }
            return;
        }
        // No natural id: compare as multisets, so order does not matter.
        let count = |items: &'v [Value]| -> BTreeMap<String, (usize, &'v Value)> {
            let mut m: BTreeMap<String, (usize, &'v Value)> = BTreeMap::new();
            for v in items {
                m.entry(canonical(v)).or_insert((0, v)).0 += 1;
            }
            m
        };
        let (ca, cb) = (count(x), count(y));
        for (k, (n, v)) in &ca {
            let m = cb.get(k).map(|e| e.0).unwrap_or(0);
            for _ in m..*n {
                self.one_side(resource, shown, members, Some(*v), None);
            }
        }
        for (k, (n, v)) in &cb {
            let m = ca.get(k).map(|e| e.0).unwrap_or(0);
            for _ in m..*n {
                self.one_side(resource, shown, members, None, Some(*v));
            }
        }
    }

    /// A value present on one side only: added or removed, unless it is volatile.
    fn one_side(
        &mut self,
        resource: &str,
        shown: &[String],
        members: &[String],
        old: Option<&Value>,
        new: Option<&Value>,
    ) {
        if self.volatile.matches(members) {
            self.hidden += 1;
            return;
        }
        let kind = if old.is_some() {
            Kind::Removed
        } else {
            Kind::Added
        };
        self.push(kind, resource, shown, old, new);
    }
}

/// The natural ids of the items of an object's lists, when its lists are keyed by
/// instance ids (reservations).
fn child_ids(v: &Value) -> Vec<String> {
    let Some(Value::Array(items)) = v.get("Instances") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| id_of(i, "InstanceId"))
        .collect()
}

fn id_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        Some(Value::String(s)) => Some(s.to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The natural id that keys both lists: present in every item, distinct within each list.
fn natural_key(x: &[Value], y: &[Value]) -> Option<&'static str> {
    if x.is_empty() && y.is_empty() {
        return None;
    }
    NATURAL_IDS.iter().copied().find(|key| {
        [x, y].iter().all(|items| {
            let mut seen = BTreeSet::new();
            items
                .iter()
                .all(|v| id_of(v, key).is_some_and(|id| seen.insert(id)))
        })
    })
}

/// A value's text with object members and array items sorted, for multiset matching: two
/// items that differ only in the order of a nested list are the same item.
fn canonical(v: &Value) -> String {
    match v {
        // Members are sorted by name.
        Value::Object(m) => {
            let members: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", canonical(v)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => {
            let mut texts: Vec<String> = items.iter().map(canonical).collect();
            texts.sort_unstable();
            format!("[{}]", texts.join(","))
        }
        other => other.to_json().to_string(),
    }
}

fn to_json(v: &Value) -> serde_json::Value {
    v.to_json()
}
