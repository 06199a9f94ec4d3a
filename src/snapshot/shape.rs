//! Every response file against the output shape of its call (botocore's model, as the
//! catalogue names it): each member the model knows must be of the JSON kind the aws CLI
//! prints for it, at every depth. A file that is not the response it is named after (a
//! string where the CLI prints a list, `"8"` or `null` where it prints a number) is refused
//! at load with its place, instead of making a rule compare a string with a number and
//! pass.
//!
//! Members the model does not know are let through (a newer CLI prints what a newer model
//! has); files the catalogue does not describe (a user's own) are not checked.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::catalogue::{self, Call};
use super::model::Model;
use super::path::JsonPath;
use super::value::Value;

/// What the CLI prints for a shape.
#[derive(Debug)]
enum Node {
    /// A document: any JSON.
    Any,
    String,
    /// An IAM policy document: the CLI prints it decoded (an object), or as text when it is
    /// not JSON.
    Policy,
    /// S3's bucket location: botocore's customisation answers `null` for us-east-1 (whose
    /// location XML is empty), and the CLI prints that `null`.
    StringOrNull,
    Bool,
    Integer,
    Number,
    List(usize),
    Map(usize),
    /// Members sorted by name.
    Structure(Vec<(String, usize)>),
}

/// One call's output shape, compiled for checking.
#[derive(Debug)]
struct Checker {
    nodes: Vec<Node>,
    /// Top-level members the CLI prints as `null` when the answer lacks them: a paginated
    /// call's non-aggregate keys (`build_full_result` sets each one, `Prefix` of
    /// `s3api list-buckets`).
    nullable: Vec<String>,
}

impl Checker {
    fn compile(model: &Model, output: &str, nullable: Vec<String>) -> Option<Checker> {
        let mut c = Checker {
            nodes: Vec::new(),
            nullable,
        };
        let mut seen = HashMap::new();
        c.node(model, output, &mut seen)?;
        Some(c)
    }

    /// The index of shape `name`'s node (recursive shapes point back at themselves).
    fn node(
        &mut self,
        model: &Model,
        name: &str,
        seen: &mut HashMap<String, usize>,
    ) -> Option<usize> {
        if let Some(i) = seen.get(name) {
            return Some(*i);
        }
        let shape = model.shapes.get(name)?;
        let index = self.nodes.len();
        self.nodes.push(Node::Any);
        seen.insert(name.to_owned(), index);
        let node = match shape.kind.as_str() {
            "structure" if shape.document => Node::Any,
            "structure" => {
                let mut members = Vec::with_capacity(shape.members.len());
                for (member, r) in &shape.members {
                    if r.location.is_some() {
                        continue;
                    }
                    members.push((member.clone(), self.node(model, &r.shape, seen)?));
                }
                members.sort_by(|a, b| a.0.cmp(&b.0));
                Node::Structure(members)
            }
            "list" => Node::List(self.node(model, &shape.member.as_ref()?.shape, seen)?),
            "map" => Node::Map(self.node(model, &shape.value.as_ref()?.shape, seen)?),
            "boolean" => Node::Bool,
            "integer" | "long" | "short" | "byte" | "biginteger" => Node::Integer,
            "float" | "double" | "bigdecimal" => Node::Number,
            "string" if model.service == "iam" && name == "policyDocumentType" => Node::Policy,
            "string" if model.service == "s3" && name == "BucketLocationConstraint" => {
                Node::StringOrNull
            }
            _ => Node::String,
        };
        self.nodes[index] = node;
        Some(index)
    }

    /// The first value that is not of its shape's kind, depth first in file order.
    fn check(&self, at: usize, value: &Value, path: &JsonPath) -> Option<Mismatch> {
        let node = &self.nodes[at];
        let ok = match (node, value) {
            (Node::Any, _) => true,
            (Node::String, Value::String(_)) => true,
            (Node::Policy, Value::String(_) | Value::Object(_)) => true,
            (Node::StringOrNull, Value::String(_) | Value::Null) => true,
            (Node::Bool, Value::Bool(_)) => true,
            (Node::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (Node::Number, Value::Number(_)) => true,
            // botocore keeps a JSON service's null list items and map values (Trusted
            // Advisor's metadata has them); structure members are never null.
            (Node::List(item), Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    if matches!(v, Value::Null) {
                        continue;
                    }
                    if let Some(m) = self.check(*item, v, &path.index(i)) {
                        return Some(m);
                    }
                }
                true
            }
            (Node::Map(item), Value::Object(members)) => {
                for (k, v) in members.iter() {
                    if matches!(v, Value::Null) {
                        continue;
                    }
                    if let Some(m) = self.check(*item, v, &path.key_shared(k)) {
                        return Some(m);
                    }
                }
                true
            }
            (Node::Structure(known), Value::Object(members)) => {
                for (k, v) in members.iter() {
                    if at == 0
                        && matches!(v, Value::Null)
                        && self.nullable.iter().any(|n| n.as_str() == &**k)
                    {
                        continue;
                    }
                    if let Ok(i) = known.binary_search_by(|(name, _)| name.as_str().cmp(k)) {
                        if let Some(m) = self.check(known[i].1, v, &path.key_shared(k)) {
                            return Some(m);
                        }
                    }
                }
                true
            }
            _ => false,
        };
        if ok {
            return None;
        }
        let message = match path.pointer() {
            p if p.is_empty() => format!(
                "the file holds {}; the aws CLI prints {} for this call",
                value.kind_name(),
                self.expected(node)
            ),
            p => format!(
                "`{}` is {}; the aws CLI prints {}",
                p.trim_start_matches('/').replace('/', "."),
                value.kind_name(),
                self.expected(node)
            ),
        };
        Some(Mismatch {
            path: path.clone(),
            message,
        })
    }

    fn expected(&self, node: &Node) -> &'static str {
        match node {
            Node::Any => "anything",
            Node::String => "a string",
            Node::Policy => "a policy document",
            Node::StringOrNull => "a string or null",
            Node::Bool => "true or false",
            Node::Integer => "a whole number",
            Node::Number => "a number",
            Node::List(item) if matches!(self.nodes[*item], Node::Structure(_)) => {
                "a list of objects"
            }
            Node::List(_) => "a list",
            Node::Map(_) | Node::Structure(_) => "an object",
        }
    }
}

/// A value of the wrong kind: where it is, and what was expected.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub path: JsonPath,
    /// `` `SecurityGroups` is a string; the aws CLI prints a list ``.
    pub message: String,
}

/// The compiled output shape of every call of the catalogue, by (service, operation).
fn checkers() -> &'static HashMap<(String, String), Checker> {
    static CHECKERS: OnceLock<HashMap<(String, String), Checker>> = OnceLock::new();
    CHECKERS.get_or_init(|| {
        catalogue::catalogue()
            .call
            .iter()
            .filter_map(|c| Some(((c.service.clone(), c.operation.clone()), compile(c)?)))
            .collect()
    })
}

fn compile(call: &Call) -> Option<Checker> {
    let model = call.model()?;
    let operation = model.operations.get(&call.operation)?;
    let nullable = operation
        .paginator
        .as_ref()
        .map(|p| p.non_aggregate_keys.clone())
        .unwrap_or_default();
    Checker::compile(model, operation.output.as_deref()?, nullable)
}

/// Checks a file against the output shape of its call. Files the catalogue does not
/// describe pass.
pub fn check(rel: &str, root: &Value) -> Option<Mismatch> {
    let (call, _) = catalogue::catalogue().find(rel)?;
    let checker = checkers().get(&(call.service.clone(), call.operation.clone()))?;
    checker.check(0, root, &JsonPath::root())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        crate::snapshot::parse::parse(text).unwrap_or(Value::Null)
    }

    fn mismatch(rel: &str, text: &str) -> Option<(String, String)> {
        check(rel, &parse(text)).map(|m| (m.path.pointer(), m.message))
    }

    #[test]
    fn every_call_of_the_catalogue_has_a_compiled_shape() {
        for c in &catalogue::catalogue().call {
            assert!(
                checkers().contains_key(&(c.service.clone(), c.operation.clone())),
                "{} {}",
                c.service,
                c.operation
            );
        }
    }

    #[test]
    fn documented_files_are_checked_at_every_depth_and_others_pass() {
        let sg = "ec2/us-east-1/describe-security-groups.json";
        assert_eq!(mismatch(sg, r#"{"SecurityGroups": [{}]}"#), None);
        assert_eq!(mismatch(sg, "{}"), None, "a missing member is fine");
        assert_eq!(
            mismatch(sg, r#"{"SecurityGroups": "oops"}"#),
            Some((
                "/SecurityGroups".into(),
                "`SecurityGroups` is a string; the aws CLI prints a list of objects".into()
            ))
        );
        assert_eq!(
            mismatch(sg, r#"{"SecurityGroups": [{}, 7]}"#).map(|m| m.0),
            Some("/SecurityGroups/1".into())
        );
        let deep =
            r#"{"SecurityGroups": [{"IpPermissions": [{"FromPort": "22", "IpProtocol": "tcp"}]}]}"#;
        assert_eq!(
            mismatch(sg, deep),
            Some((
                "/SecurityGroups/0/IpPermissions/0/FromPort".into(),
                "`SecurityGroups.0.IpPermissions.0.FromPort` is a string; the aws CLI prints a whole number".into()
            ))
        );
        let policy = "iam/get-account-password-policy.json";
        for bad in ["\"8\"", "null", "true", "8.5"] {
            let text = format!(r#"{{"PasswordPolicy": {{"MinimumPasswordLength": {bad}}}}}"#);
            assert_eq!(
                mismatch(policy, &text).map(|m| m.0),
                Some("/PasswordPolicy/MinimumPasswordLength".into()),
                "{bad}"
            );
        }
        assert_eq!(
            mismatch(
                policy,
                r#"{"PasswordPolicy": {"MinimumPasswordLength": 8, "Newer": "x"}}"#
            ),
            None,
            "members the model does not know pass"
        );
        assert_eq!(
            mismatch("iam/list-access-keys/bob.json", "[1]").map(|m| m.0),
            Some(String::new())
        );
        assert_eq!(mismatch("iam/my-own-file.json", "[1]"), None);
        assert_eq!(mismatch("ec2/a/b/describe-vpcs.json", "[1]"), None);
        // IAM policy documents: the CLI prints them decoded.
        let auth = "iam/get-account-authorization-details.json";
        let doc =
            r#"{"Policies": [{"PolicyVersionList": [{"Document": {"Version": "2012-10-17"}}]}]}"#;
        assert_eq!(mismatch(auth, doc), None);
        // A paginated call's missing non-aggregate key: null, as the CLI prints it; not
        // deeper, and not other members.
        assert_eq!(
            mismatch("s3/list-buckets.json", r#"{"Buckets": [], "Prefix": null}"#),
            None
        );
        assert!(mismatch("s3/list-buckets.json", r#"{"Buckets": null}"#).is_some());
        // S3's location of a us-east-1 bucket: null; any other kind is still refused.
        let location = "s3/get-bucket-location/b.json";
        assert_eq!(mismatch(location, r#"{"LocationConstraint": null}"#), None);
        assert_eq!(
            mismatch(location, r#"{"LocationConstraint": "eu-west-1"}"#),
            None
        );
        assert_eq!(
            mismatch(location, r#"{"LocationConstraint": 3}"#).map(|m| m.0),
            Some("/LocationConstraint".into())
        );
    }
}
