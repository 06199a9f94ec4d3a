//! `--format ocsf`: every finding as an OCSF 1.6.0 Detection Finding (class 2004, category
//! 2 "Findings"), in one JSON array: the shape Prowler writes and AWS Security Hub and many
//! SIEMs read natively (docs/output.md, "OCSF").
//!
//! Everything comes from the run, so the same inputs give the same bytes: `time` is the
//! snapshot's evaluation time (never the clock), `finding_info.uid` is built from the
//! account, the rule, the resource and the finding's rank on that resource.

use std::sync::Arc;

use serde::Serialize;

use super::{pretty_json, RenderError};
use crate::audit::Run;
use crate::engine::{CsvCell, Finding, Waived};
use crate::rules::Severity;
use crate::snapshot::catalogue::{self, Scope};
use crate::snapshot::Snapshot;

/// The OCSF schema version the findings follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.6.0";
/// Detection Finding.
pub const CLASS_UID: u32 = 2004;
/// Findings.
pub const CATEGORY_UID: u32 = 2;
/// Create: a finding reported by this run.
pub const ACTIVITY_ID: u32 = 1;
/// `class_uid * 100 + activity_id`.
pub const TYPE_UID: u32 = CLASS_UID * 100 + ACTIVITY_ID;
/// The profiles whose attributes the findings use (`cloud`, and `datetime` for `*_dt`).
pub const PROFILES: [&str; 2] = ["cloud", "datetime"];

/// OCSF `severity_id` and its caption for a severity.
pub fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// Finding `status_id` and its caption: open findings are New, waived ones Suppressed.
pub fn status(waived: bool) -> (u8, &'static str) {
    if waived {
        (3, "Suppressed")
    } else {
        (1, "New")
    }
}

#[derive(Serialize)]
struct DetectionFinding<'a> {
    class_uid: u32,
    class_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    status_code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_detail: Option<String>,
    is_alert: bool,
    time: i64,
    time_dt: Arc<str>,
    timezone_offset: i32,
    message: &'a str,
    metadata: Metadata<'a>,
    finding_info: FindingInfo<'a>,
    cloud: Cloud<'a>,
    resources: [ResourceDetails<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<Remediation<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unmapped: Option<Unmapped<'a>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    version: &'static str,
    product: Product,
    profiles: [&'static str; 2],
    /// The rule id, as Prowler puts its check id here.
    event_code: &'a str,
}

#[derive(Serialize)]
struct Product {
    uid: &'static str,
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    uid: String,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    desc: Option<&'a str>,
    types: Vec<&'static str>,
    created_time: i64,
    created_time_dt: Arc<str>,
    analytic: Analytic<'a>,
}

#[derive(Serialize)]
struct Analytic<'a> {
    uid: &'a str,
    name: &'a str,
    type_id: u8,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Cloud<'a> {
    provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<Account<'a>>,
    #[serde(skip_serializing_if = "no_text")]
    cloud_partition: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
}

#[derive(Serialize)]
struct Account<'a> {
    uid: &'a str,
    /// The account's name, known in an organisation (docs/organizations.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    type_id: u8,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct ResourceDetails<'a> {
    uid: &'a str,
    name: &'a str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "no_text")]
    cloud_partition: &'a str,
    role_id: u8,
    role: &'static str,
}

#[derive(Serialize)]
struct Remediation<'a> {
    desc: &'a str,
    #[serde(skip_serializing_if = "no_items")]
    references: &'a [String],
}

/// What OCSF has no attribute for: where the evidence is, the rule's label and CIS
/// controls, and the waiver.
#[derive(Serialize)]
struct Unmapped<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "no_items")]
    cis: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<LocationOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<&'a Waived>,
}

#[derive(Serialize)]
struct LocationOut<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    csv: Option<&'a CsvCell>,
}

/// Renders every finding, waived ones included, as a JSON array of Detection Findings.
/// A snapshot with no known time (no manifest, no credential report time, no `--as-of`)
/// cannot be rendered: `time` is required and the clock is never read.
pub fn render(run: &Run) -> Result<String, RenderError> {
    pretty_json("ocsf", &findings(run, None)?)
}

/// The findings of one account of an organisation, each naming the account.
pub(crate) fn account_findings(
    run: &Run,
    account_name: &str,
) -> Result<Vec<serde_json::Value>, RenderError> {
    findings(run, Some(account_name).filter(|n| !n.is_empty()))?
        .iter()
        .map(|f| serde_json::to_value(f).map_err(|e| RenderError::new("ocsf", e)))
        .collect()
}

fn findings<'a>(
    run: &'a Run,
    account_name: Option<&'a str>,
) -> Result<Vec<DetectionFinding<'a>>, RenderError> {
    let snapshot = run.snapshot();
    let Some(now) = snapshot.now else {
        return Err(RenderError::new(
            "ocsf",
            "OCSF findings need a time and no evaluation time is known (no manifest, no credential report time): pass --as-of DATE",
        ));
    };
    let millis = now.timestamp_millis();
    let now_dt: Arc<str> = crate::time::format_time(&now).into();
    let global = global_region(&snapshot.partition);
    Ok(run
        .findings
        .iter()
        .zip(super::occurrences(&run.findings))
        .map(|(f, n)| finding(f, n, snapshot, account_name, millis, &now_dt, global))
        .collect())
}

fn finding<'a>(
    f: &'a Finding,
    n: usize,
    snapshot: &'a Snapshot,
    account_name: Option<&'a str>,
    millis: i64,
    now_dt: &Arc<str>,
    global: Option<&'static str>,
) -> DetectionFinding<'a> {
    let (severity_id, severity) = severity(f.severity);
    let (status_id, status) = status(f.waiver.is_some());
    let rule = &f.rule;
    let mut uid = format!(
        "snapaudit|{}|{}|{}",
        snapshot.account_id, rule.id, f.resource.id
    );
    if n > 1 {
        uid.push_str(&format!("|{n}"));
    }
    let mut types = vec!["Software and Configuration Checks"];
    if !rule.cis.is_empty() {
        types.push(
            "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark",
        );
    }
    let kind = resource_type(&f.resource.id);
    let evidence = evidence_path(f).map(place).unwrap_or(Place::Unknown);
    let resource_region = match kind {
        Some((_, Reach::Global)) => None,
        _ => arn_region(&f.resource.id).or(match &evidence {
            Place::Region(r) if kind.is_some() => Some(r.clone()),
            _ => None,
        }),
    };
    let cloud_region = match evidence {
        Place::Region(r) => Some(r),
        Place::Global => global.map(str::to_owned),
        Place::Unknown => resource_region.clone().or(match kind {
            Some((_, Reach::Global)) => global.map(str::to_owned),
            _ => None,
        }),
    };
    let location = f.location.as_ref().map(|l| LocationOut {
        file: &l.file,
        line: l.line,
        column: l.column,
        end_line: l.end_line,
        end_column: l.end_column,
        pointer: l.pointer.as_deref(),
        csv: l.csv.as_ref(),
    });
    let unmapped = Unmapped {
        label: f.label.as_deref(),
        cis: &rule.cis,
        location,
        call: f.call.as_deref(),
        waiver: f.waiver.as_ref(),
    };
    let empty = unmapped.label.is_none()
        && unmapped.cis.is_empty()
        && unmapped.location.is_none()
        && unmapped.call.is_none()
        && unmapped.waiver.is_none();
    DetectionFinding {
        class_uid: CLASS_UID,
        class_name: "Detection Finding",
        category_uid: CATEGORY_UID,
        category_name: "Findings",
        activity_id: ACTIVITY_ID,
        activity_name: "Create",
        type_uid: TYPE_UID,
        type_name: "Detection Finding: Create",
        severity_id,
        severity,
        status_id,
        status,
        status_code: "FAIL",
        status_detail: f.waiver.as_ref().map(|w| {
            if w.owner.is_empty() {
                format!("waived until {}: {}", w.expires, w.reason)
            } else {
                format!("waived until {} by {}: {}", w.expires, w.owner, w.reason)
            }
        }),
        is_alert: f.waiver.is_none(),
        time: millis,
        time_dt: now_dt.clone(),
        timezone_offset: 0,
        message: &f.message,
        metadata: Metadata {
            version: OCSF_VERSION,
            product: Product {
                uid: "snapaudit",
                name: "snapaudit",
                vendor_name: "snapaudit",
                version: env!("CARGO_PKG_VERSION"),
            },
            profiles: PROFILES,
            event_code: &rule.id,
        },
        finding_info: FindingInfo {
            uid,
            title: &rule.title,
            desc: Some(rule.description.as_str()).filter(|d| !d.is_empty()),
            types,
            created_time: millis,
            created_time_dt: now_dt.clone(),
            analytic: Analytic {
                uid: &rule.id,
                name: &rule.title,
                type_id: 1,
                kind: "Rule",
            },
        },
        cloud: Cloud {
            provider: "AWS",
            account: Some(snapshot.account_id.as_str())
                .filter(|a| !a.is_empty())
                .map(|uid| Account {
                    uid,
                    name: account_name,
                    type_id: 10,
                    kind: "AWS Account",
                }),
            cloud_partition: &snapshot.partition,
            region: cloud_region,
        },
        resources: [ResourceDetails {
            uid: &f.resource.id,
            name: &f.resource.name,
            kind: kind.map(|(k, _)| k),
            region: resource_region,
            cloud_partition: &snapshot.partition,
            role_id: 1,
            role: "Target",
        }],
        remediation: Some(rule.remediation.as_str())
            .filter(|d| !d.is_empty())
            .map(|desc| Remediation {
                desc,
                references: &rule.references,
            }),
        unmapped: (!empty).then_some(unmapped),
    }
}

fn no_text(s: &&str) -> bool {
    s.is_empty()
}

fn no_items(items: &&[String]) -> bool {
    items.is_empty()
}

/// The region where a partition's global services (IAM, STS, Support) are called, and
/// where findings about global resources are placed.
pub fn global_region(partition: &str) -> Option<&'static str> {
    match partition {
        "aws" => Some("us-east-1"),
        "aws-cn" => Some("cn-north-1"),
        "aws-us-gov" => Some("us-gov-west-1"),
        _ => None,
    }
}

/// Where the evidence of a finding was collected.
enum Place {
    Region(String),
    Global,
    Unknown,
}

/// The snapshot path of a finding's evidence: the call, or the response file (or the
/// credential report). A scanned source file is not a snapshot path.
fn evidence_path(f: &Finding) -> Option<&str> {
    if let Some(call) = &f.call {
        return Some(call);
    }
    let l = f.location.as_ref()?;
    (l.pointer.is_some() || l.csv.is_some()).then_some(l.file.as_str())
}

/// The region of a snapshot path, from the catalogue's call for it.
fn place(rel: &str) -> Place {
    match catalogue::catalogue().find(rel) {
        Some((call, found)) => match &call.scope {
            Scope::Global => Place::Global,
            Scope::Regional => found.region.map_or(Place::Unknown, Place::Region),
            Scope::Region(r) => Place::Region(found.region.unwrap_or_else(|| r.clone())),
        },
        None => Place::Unknown,
    }
}

/// Whether a kind of resource lives in one region or in none.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    Global,
    Regional,
}

/// The resource type (CloudFormation's `AWS::Service::Type` names; AWS Config's
/// `AWS::::Account` for the account) of a resource id: an ARN or an id with a known
/// prefix. `None` when the id says nothing certain.
fn resource_type(id: &str) -> Option<(&'static str, Reach)> {
    if let Some(rest) = id.strip_prefix("arn:") {
        let mut parts = rest.splitn(5, ':');
        let (_partition, service, _region, _account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let kind = resource.split(['/', ':']).next().unwrap_or_default();
        let global = |t| Some((t, Reach::Global));
        let regional = |t| Some((t, Reach::Regional));
        return match (service, kind) {
            ("iam", "root") => global("AWS::::Account"),
            ("iam", "user") => global("AWS::IAM::User"),
            ("iam", "role") => global("AWS::IAM::Role"),
            ("iam", "group") => global("AWS::IAM::Group"),
            ("iam", "policy") => global("AWS::IAM::Policy"),
            ("s3", _) if !resource.contains('/') => global("AWS::S3::Bucket"),
            ("cloudtrail", "trail") => regional("AWS::CloudTrail::Trail"),
            ("cloudwatch", "alarm") => regional("AWS::CloudWatch::Alarm"),
            ("kms", "key") => regional("AWS::KMS::Key"),
            ("ec2", "instance") => regional("AWS::EC2::Instance"),
            ("ec2", "security-group") => regional("AWS::EC2::SecurityGroup"),
            ("ec2", "vpc") => regional("AWS::EC2::VPC"),
            ("ec2", "subnet") => regional("AWS::EC2::Subnet"),
            ("ec2", "volume") => regional("AWS::EC2::Volume"),
            ("ec2", "network-interface") => regional("AWS::EC2::NetworkInterface"),
            _ => None,
        };
    }
    let hex_after = |prefix: &str| {
        id.strip_prefix(prefix)
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
    };
    let regional = [
        ("sg-", "AWS::EC2::SecurityGroup"),
        ("i-", "AWS::EC2::Instance"),
        ("vpc-", "AWS::EC2::VPC"),
        ("subnet-", "AWS::EC2::Subnet"),
        ("vol-", "AWS::EC2::Volume"),
        ("eni-", "AWS::EC2::NetworkInterface"),
    ];
    if let Some((_, t)) = regional.iter().find(|(p, _)| hex_after(p)) {
        return Some((t, Reach::Regional));
    }
    let access_key = id.len() == 20
        && (id.starts_with("AKIA") || id.starts_with("ASIA"))
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    access_key.then_some(("AWS::IAM::AccessKey", Reach::Global))
}

/// The region field of an ARN, when it has one.
fn arn_region(id: &str) -> Option<String> {
    let rest = id.strip_prefix("arn:")?;
    let region = rest.split(':').nth(2)?;
    (!region.is_empty()).then(|| region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_come_from_arns_and_id_prefixes() {
        let t = |id| resource_type(id).map(|(t, _)| t);
        assert_eq!(t("arn:aws:iam::111122223333:root"), Some("AWS::::Account"));
        assert_eq!(
            t("arn:aws:iam::111122223333:user/bob"),
            Some("AWS::IAM::User")
        );
        assert_eq!(
            t("arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/t"),
            Some("AWS::CloudTrail::Trail")
        );
        assert_eq!(t("sg-0a00000000000002"), Some("AWS::EC2::SecurityGroup"));
        assert_eq!(t("i-0eee0000000000001"), Some("AWS::EC2::Instance"));
        assert_eq!(t("AKIAEXAMPLEDAVE00001"), Some("AWS::IAM::AccessKey"));
        assert_eq!(t("alice/key1"), None);
        assert_eq!(t("i-not-hex"), None);
        assert_eq!(t("arn:aws:lambda:eu-west-1:1:function:f"), None);
        assert_eq!(t("account"), None);
    }

    #[test]
    fn regions_come_from_arns_and_the_catalogue() {
        assert_eq!(
            arn_region("arn:aws:cloudtrail:eu-west-1:1:trail/t").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(arn_region("arn:aws:iam::1:root"), None);
        assert!(
            matches!(place("ec2/eu-west-1/describe-instances.json"), Place::Region(r) if r == "eu-west-1")
        );
        assert!(matches!(
            place("iam/get-credential-report.json"),
            Place::Global
        ));
        assert!(
            matches!(place("cloudwatch/us-east-1/describe-alarms.json"), Place::Region(r) if r == "us-east-1")
        );
        assert!(matches!(place("src/config.py"), Place::Unknown));
        assert_eq!(global_region("aws-us-gov"), Some("us-gov-west-1"));
        assert_eq!(global_region("aws-iso"), None);
    }

    #[test]
    fn severities_and_statuses_map_to_ocsf_ids() {
        let ids: Vec<u8> = Severity::ALL.iter().map(|s| severity(*s).0).collect();
        assert_eq!(ids, [5, 4, 3, 2, 1]);
        assert_eq!(status(false), (1, "New"));
        assert_eq!(status(true), (3, "Suppressed"));
        assert_eq!(TYPE_UID, 200_401);
    }
}
