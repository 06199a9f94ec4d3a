//! The catalogue of calls (`catalogue.toml`): every AWS call snapaudit knows, described
//! once. The collector makes the calls from it, the loader finds each file's call in it
//! (the shape to check, the codes that mean "absent", the region folder), rule test cases
//! record their files under its calls, and docs/collect.md's table is generated from it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::model;

/// Where a call is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Once, in the partition's global region (IAM, STS, Support).
    Global,
    /// Once per collected region.
    Regional,
    /// Once, in this region (billing alarms live in us-east-1).
    Region(String),
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scope, D::Error> {
        let text = String::deserialize(d)?;
        Ok(match text.as_str() {
            "global" => Scope::Global,
            "regional" => Scope::Regional,
            _ => Scope::Region(text),
        })
    }
}

/// One call per value found in another call's file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Each {
    /// The operation whose file holds the values (in the same region).
    pub call: String,
    /// A JMESPath expression over that file; `{region}` stands for the region.
    pub values: String,
    /// The input parameter each value fills.
    pub parameter: String,
}

/// One call for all the values found in another call's file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gather {
    pub call: String,
    pub values: String,
    /// The input, with the string `"$values"` standing for the list of values.
    pub input: toml::Table,
    /// The input when there are no values.
    pub otherwise: toml::Table,
}

/// One call of the catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// The aws CLI's name of the service (`configservice`).
    pub service: String,
    /// botocore's name of the service, where it differs (`config`).
    #[serde(default)]
    pub model: Option<String>,
    pub operation: String,
    /// The file's path pattern: `{region}` and `{Parameter}` are one path segment each.
    pub path: String,
    pub scope: Scope,
    #[serde(default)]
    pub input: toml::Table,
    #[serde(default)]
    pub each: Option<Each>,
    #[serde(default)]
    pub gather: Option<Gather>,
    #[serde(default)]
    pub prepare: Option<String>,
    /// Error codes that mean "there is none": an answer, not a failure.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Paths into the answer whose values are never written (they may be secrets); see
    /// [`REDACTED`].
    #[serde(default)]
    pub redact: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// What a redacted value becomes in a snapshot file.
pub const REDACTED: &str = "(redacted by snapaudit)";

/// An operation the collector calls that writes no file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Helper {
    pub service: String,
    pub operation: String,
    pub why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub call: Vec<Call>,
    #[serde(default)]
    pub helper: Vec<Helper>,
}

/// The catalogue's text, as embedded.
pub const TEXT: &str = include_str!("catalogue.toml");

/// Error codes that mean "absent" for files the catalogue does not describe (a user's own
/// files in a hand-made snapshot): the thing asked about does not exist.
pub fn generic_absence(code: &str) -> bool {
    code == "NoSuchEntity"
        || code == "NoSuchEntityException"
        || code.ends_with(".NotFound")
        || code.ends_with("NotFoundException")
}

/// The catalogue, parsed on first use.
#[expect(
    clippy::expect_used,
    reason = "the catalogue is part of the binary, and a unit test parses and checks it"
)]
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| toml::from_str(TEXT).expect("the embedded catalogue parses"))
}

/// The path segment a value becomes: names from the account (user names, trail names)
/// must not leave their directory.
pub fn safe_segment(s: &str) -> String {
    let safe: String = s
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_owned();
    if safe.is_empty() {
        "_".to_owned()
    } else {
        safe
    }
}

/// The kebab-case CLI command of an operation (`ListMFADevices` → `list-mfa-devices`).
pub fn cli_name(operation: &str) -> String {
    let chars: Vec<char> = operation.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev_lower = chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev_lower || (chars[i - 1].is_ascii_uppercase() && next_lower) {
                out.push('-');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

impl Call {
    /// The file's path for a region and the values of the path's parameters.
    pub fn path_for(&self, region: &str, values: &BTreeMap<String, String>) -> String {
        self.path
            .split('/')
            .map(|seg| {
                let Some(name) = seg.strip_prefix('{').and_then(|s| s.split_once('}')) else {
                    return safe_segment(seg);
                };
                let (name, rest) = name;
                let value = if name == "region" {
                    region
                } else {
                    values.get(name).map_or("", String::as_str)
                };
                safe_segment(&format!("{value}{rest}"))
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Whether `rel` is a file of this call: the region (if the path has one) and the
    /// path parameters' values.
    pub fn match_path(&self, rel: &str) -> Option<PathMatch> {
        let mut pattern = self.path.split('/');
        let mut parts = rel.split('/');
        let mut found = PathMatch::default();
        loop {
            match (pattern.next(), parts.next()) {
                (None, None) => return Some(found),
                (Some(p), Some(seg)) => {
                    if let Some((name, rest)) = p.strip_prefix('{').and_then(|s| s.split_once('}'))
                    {
                        let value = seg.strip_suffix(rest)?;
                        if value.is_empty() {
                            return None;
                        }
                        if name == "region" {
                            if !looks_like_region(value) {
                                return None;
                            }
                            found.region = Some(value.to_owned());
                        } else {
                            found.values.insert(name.to_owned(), value.to_owned());
                        }
                    } else if p != seg {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }

    /// The constant input parameters, as the aws CLI's `--cli-input-json` takes them.
    pub fn input_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.input
            .iter()
            .map(|(k, v)| (k.clone(), toml_json(v)))
            .collect()
    }

    /// Whether the API's `code` answers "there is none" for this call.
    pub fn is_absent(&self, code: &str) -> bool {
        self.absent.iter().any(|a| a == code)
    }

    /// The botocore model of the call's service.
    pub fn model(&self) -> Option<&'static model::Model> {
        model::model(self.model.as_deref().unwrap_or(&self.service))
    }
}

/// A TOML value of the catalogue as JSON.
pub fn toml_json(v: &toml::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_json(v))).collect())
        }
    }
}

/// A file's place in a call's path pattern.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PathMatch {
    pub region: Option<String>,
    pub values: BTreeMap<String, String>,
}

/// A region name: lowercase letters, digits and dashes, ending with a digit.
pub fn looks_like_region(s: &str) -> bool {
    s.contains('-')
        && s.ends_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Catalogue {
    /// The call that writes `rel`, with the place of the file in its pattern.
    pub fn find(&self, rel: &str) -> Option<(&Call, PathMatch)> {
        self.call
            .iter()
            .find_map(|c| c.match_path(rel).map(|m| (c, m)))
    }

    /// The call of `service`'s `operation`.
    pub fn call(&self, service: &str, operation: &str) -> Option<&Call> {
        self.call
            .iter()
            .find(|c| c.service == service && c.operation == operation)
    }

    /// Whether the API's `code` for the file `rel` means "there is none".
    pub fn is_absent(&self, rel: &str, code: &str) -> bool {
        match self.find(rel) {
            Some((call, _)) => call.is_absent(code),
            None => generic_absence(code),
        }
    }

    /// The services of the catalogue, in order of first appearance.
    pub fn services(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.call {
            if !out.contains(&c.service.as_str()) {
                out.push(&c.service);
            }
        }
        out
    }

    /// The docs table of docs/collect.md (between its `catalogue` markers).
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| call | path | where | follows from, input, notes | pages | absent when |\n|---|---|---|---|---|---|\n",
        );
        for c in &self.call {
            let scope = match &c.scope {
                Scope::Global => "global".to_owned(),
                Scope::Regional => "each region".to_owned(),
                Scope::Region(r) => format!("`{r}`"),
            };
            let mut about = Vec::new();
            match (&c.each, &c.gather) {
                (Some(e), _) => about.push(format!("each `{}` of `{}`", e.values, e.call)),
                (None, Some(g)) => about.push(format!("all `{}` of `{}`", g.values, g.call)),
                (None, None) => {}
            }
            if !c.input.is_empty() {
                about.push(format!(
                    "input `{}`",
                    serde_json::Value::Object(c.input_json())
                ));
            }
            if !c.note.is_empty() {
                about.push(c.note.clone());
            }
            let from = about.join("; ");
            let pages = c
                .model()
                .and_then(|m| m.operations.get(&c.operation))
                .and_then(|o| o.paginator.as_ref())
                .map_or("one", |_| "all, merged");
            let absent = c
                .absent
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(
                "| `{} {}` | `{}` | {} | {} | {} | {} |\n",
                c.service,
                cli_name(&c.operation),
                c.path,
                scope,
                from.replace('|', "\\|"),
                pages,
                absent
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_parses_and_every_call_is_in_its_model() {
        let cat = catalogue();
        assert!(cat.call.len() >= 20);
        for c in &cat.call {
            let m = c
                .model()
                .unwrap_or_else(|| panic!("no model for service {}", c.service));
            let op = m
                .operations
                .get(&c.operation)
                .unwrap_or_else(|| panic!("{} {} is not in its model", c.service, c.operation));
            assert!(op.output.is_some(), "{}: no output shape", c.operation);
            for from in [
                c.each.as_ref().map(|e| &e.call),
                c.gather.as_ref().map(|g| &g.call),
            ]
            .into_iter()
            .flatten()
            {
                assert!(
                    cat.call(&c.service, from).is_some(),
                    "{} follows {from}, which is not a call of {}",
                    c.operation,
                    c.service
                );
            }
            // A path parameter is filled by `each`, and a region folder by the scope.
            for seg in c.path.split('/') {
                if let Some(name) = seg.strip_prefix('{').and_then(|s| s.split_once('}')) {
                    match name.0 {
                        "region" => assert_ne!(c.scope, Scope::Global, "{}", c.path),
                        p => assert_eq!(
                            c.each.as_ref().map(|e| e.parameter.as_str()),
                            Some(p),
                            "{}",
                            c.path
                        ),
                    }
                }
            }
            // Two calls never share a file.
            let values = c
                .each
                .iter()
                .map(|e| (e.parameter.clone(), "x".to_owned()))
                .collect();
            let example = c.path_for("us-east-1", &values);
            let owners: Vec<&str> = cat
                .call
                .iter()
                .filter(|o| o.match_path(&example).is_some())
                .map(|o| o.operation.as_str())
                .collect();
            assert_eq!(owners, vec![c.operation.as_str()], "{example}");
        }
        for h in &cat.helper {
            let m = model::model(&h.service).expect("model");
            assert!(m.operations.contains_key(&h.operation), "{}", h.operation);
        }
    }

    #[test]
    fn paths_are_made_and_matched_one_segment_per_placeholder() {
        let cat = catalogue();
        let keys = cat.call("iam", "ListAccessKeys").expect("call");
        let values = BTreeMap::from([("UserName".to_owned(), "../evil/x".to_owned())]);
        let path = keys.path_for("us-east-1", &values);
        assert_eq!(path, "iam/list-access-keys/_evil_x.json");
        let (found, m) = cat.find(&path).expect("found");
        assert_eq!(found.operation, "ListAccessKeys");
        assert_eq!(m.values["UserName"], "_evil_x");
        // A trail's files are named by its ARN (an organisation trail answers a member
        // account only by its ARN), `/` written `_`.
        let status = cat.call("cloudtrail", "GetTrailStatus").expect("call");
        let arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/main";
        let values = BTreeMap::from([("Name".to_owned(), arn.to_owned())]);
        let path = status.path_for("eu-west-1", &values);
        assert_eq!(
            path,
            "cloudtrail/eu-west-1/get-trail-status/arn:aws:cloudtrail:eu-west-1:111122223333:trail_main.json"
        );
        let (found, m) = cat.find(&path).expect("found");
        assert_eq!(found.operation, "GetTrailStatus");
        assert_eq!(m.region.as_deref(), Some("eu-west-1"));
        assert!(cat.find("ec2/not_a_region/describe-vpcs.json").is_none());
        assert!(cat.find("ec2/us-east-1/x/describe-vpcs.json").is_none());
        assert!(cat.is_absent("iam/get-account-password-policy.json", "NoSuchEntity"));
        assert!(!cat.is_absent("iam/get-account-password-policy.json", "AccessDenied"));
        assert!(cat.is_absent("mine/own.json", "ThingNotFoundException"));
    }

    #[test]
    fn operations_become_cli_commands() {
        assert_eq!(cli_name("ListMFADevices"), "list-mfa-devices");
        assert_eq!(
            cli_name("GetAccountAuthorizationDetails"),
            "get-account-authorization-details"
        );
        assert_eq!(
            cli_name("DescribeTrustedAdvisorChecks"),
            "describe-trusted-advisor-checks"
        );
        assert_eq!(
            cli_name("ListVirtualMFADevices"),
            "list-virtual-mfa-devices"
        );
    }
}
