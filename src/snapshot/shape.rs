//! What the aws CLI prints at the top of each documented response file: which members, of
//! which JSON kind (docs/snapshot-format.md). A file whose members have the wrong kind (a
//! string where the CLI prints a list, an array where it prints an object) is refused at
//! load with its place, instead of failing deep inside every rule that reads it.
//!
//! Only the top level and the kind of list items are checked: enough to catch a file that
//! is not the response it is named after, at the cost of one look at each list item.

use super::path::JsonPath;
use super::value::Value;

/// The JSON kind of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Bool,
    Object,
    /// An array whose items are objects.
    ListOfObjects,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Bool => "true or false",
            Kind::Object => "an object",
            Kind::ListOfObjects => "a list of objects",
        }
    }
}

use Kind::{Bool, ListOfObjects as Objects, Object, String as Str};

/// Documented paths (`*` is one path segment) and their top-level members. Members may be
/// missing (the CLI leaves out what the service did not send); present ones must match.
const SHAPES: &[(&str, &[(&str, Kind)])] = &[
    (
        "sts/get-caller-identity.json",
        &[("UserId", Str), ("Account", Str), ("Arn", Str)],
    ),
    (
        "iam/get-account-password-policy.json",
        &[("PasswordPolicy", Object)],
    ),
    (
        "iam/get-credential-report.json",
        &[
            ("Content", Str),
            ("ReportFormat", Str),
            ("GeneratedTime", Str),
        ],
    ),
    ("iam/list-users.json", &[("Users", Objects)]),
    ("iam/list-access-keys/*", &[("AccessKeyMetadata", Objects)]),
    (
        "iam/get-access-key-last-used/*",
        &[("UserName", Str), ("AccessKeyLastUsed", Object)],
    ),
    ("iam/list-mfa-devices/*", &[("MFADevices", Objects)]),
    (
        "iam/list-virtual-mfa-devices.json",
        &[("VirtualMFADevices", Objects)],
    ),
    ("iam/get-account-summary.json", &[("SummaryMap", Object)]),
    (
        "iam/get-account-authorization-details.json",
        &[
            ("UserDetailList", Objects),
            ("GroupDetailList", Objects),
            ("RoleDetailList", Objects),
            ("Policies", Objects),
        ],
    ),
    (
        "ec2/*/describe-security-groups.json",
        &[("SecurityGroups", Objects)],
    ),
    (
        "ec2/*/describe-instances.json",
        &[("Reservations", Objects)],
    ),
    (
        "ec2/*/describe-network-interfaces.json",
        &[("NetworkInterfaces", Objects)],
    ),
    ("ec2/*/describe-vpcs.json", &[("Vpcs", Objects)]),
    ("ec2/*/describe-images.json", &[("Images", Objects)]),
    (
        "cloudtrail/*/describe-trails.json",
        &[("trailList", Objects)],
    ),
    ("cloudtrail/*/get-trail-status/*", &[("IsLogging", Bool)]),
    (
        "cloudtrail/*/get-event-selectors/*",
        &[
            ("TrailARN", Str),
            ("EventSelectors", Objects),
            ("AdvancedEventSelectors", Objects),
        ],
    ),
    (
        "cloudwatch/*/describe-alarms.json",
        &[("MetricAlarms", Objects), ("CompositeAlarms", Objects)],
    ),
    (
        "support/describe-trusted-advisor-checks.json",
        &[("checks", Objects)],
    ),
    (
        "support/describe-trusted-advisor-check-result/*",
        &[("result", Object)],
    ),
];

/// A value of the wrong kind: where it is, and what was expected.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub path: JsonPath,
    /// `SecurityGroups is a string; the aws CLI prints a list of objects`.
    pub message: String,
}

fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some("*"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Checks a documented file's top level. Undocumented paths (a user's own files) pass.
pub fn check(rel: &str, root: &Value) -> Option<Mismatch> {
    let (_, members) = SHAPES.iter().find(|(p, _)| matches(p, rel))?;
    let Value::Object(_) = root else {
        return Some(Mismatch {
            path: JsonPath::root(),
            message: format!(
                "the file holds {}; the aws CLI prints an object for this call",
                root.kind_name()
            ),
        });
    };
    for (name, kind) in members.iter() {
        let Some(value) = root.get(name) else {
            continue;
        };
        let wrong = |path: JsonPath, what: &Value, expected: &str| Mismatch {
            path,
            message: format!(
                "`{}` is {}; the aws CLI prints {expected}",
                name,
                what.kind_name()
            ),
        };
        let ok = match (kind, value) {
            (Kind::String, Value::String(_)) | (Kind::Bool, Value::Bool(_)) => true,
            (Kind::Object, Value::Object(_)) => true,
            (Kind::ListOfObjects, Value::Array(items)) => {
                if let Some(i) = items.iter().position(|x| !matches!(x, Value::Object(_))) {
                    let item = &items[i];
                    return Some(Mismatch {
                        path: JsonPath::root().key(name).index(i),
                        message: format!(
                            "item {i} of `{name}` is {}; the aws CLI prints a list of objects",
                            item.kind_name()
                        ),
                    });
                }
                true
            }
            _ => false,
        };
        if !ok {
            return Some(wrong(JsonPath::root().key(name), value, kind.name()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        crate::snapshot::parse::parse(text).unwrap_or(Value::Null)
    }

    #[test]
    fn documented_files_are_checked_and_others_pass() {
        let sg = "ec2/us-east-1/describe-security-groups.json";
        let ptr = |m: Option<Mismatch>| m.map(|m| m.path.pointer());
        assert_eq!(ptr(check(sg, &parse(r#"{"SecurityGroups": [{}]}"#))), None);
        assert_eq!(
            ptr(check(sg, &parse(r#"{}"#))),
            None,
            "a missing member is fine"
        );
        let m = check(sg, &parse(r#"{"SecurityGroups": "oops"}"#));
        assert_eq!(
            m.map(|m| (m.path.pointer(), m.message)),
            Some((
                "/SecurityGroups".into(),
                "`SecurityGroups` is a string; the aws CLI prints a list of objects".into()
            ))
        );
        let m = check(sg, &parse(r#"{"SecurityGroups": [{}, 7]}"#));
        assert_eq!(ptr(m), Some("/SecurityGroups/1".into()));
        let m = check("iam/list-access-keys/bob.json", &parse("[1]"));
        assert_eq!(ptr(m), Some(String::new()));
        assert_eq!(ptr(check("iam/my-own-file.json", &parse("[1]"))), None);
        assert_eq!(
            ptr(check("ec2/a/b/describe-vpcs.json", &parse("[1]"))),
            None
        );
    }
}
