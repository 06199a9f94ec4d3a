//! Raw response bodies → the aws CLI's JSON, driven by botocore's output shapes
//! (`src/snapshot/models/`, pruned by `scripts/prune-models.py`).
//!
//! The SDK's Rust types do not serialize to the CLI's shape (member names, order, merged
//! pages, timestamps). So the collector keeps each raw body and converts it the way
//! botocore's parsers and the CLI do: XML (query, ec2 and rest-xml protocols), JSON (json
//! and rest-json) and CBOR (smithy-rpc-v2-cbor) are walked along the output shape, members
//! come out in the model's order, timestamps as ISO 8601 (`cli_timestamp_format =
//! iso8601`), blobs as base64, and pages are merged as `build_full_result` merges them.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::Deserialize;

use super::out::Out;
use crate::snapshot::model::{MemberRef, Model, ModelError, Shape};

/// A body that does not fit the model.
#[derive(Debug)]
pub struct ConvertError(pub String);

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConvertError {}

fn err<T>(message: impl Into<String>) -> Result<T, ConvertError> {
    Err(ConvertError(message.into()))
}

impl From<ModelError> for ConvertError {
    fn from(e: ModelError) -> Self {
        ConvertError(e.0)
    }
}

impl Model {
    /// Converts one response body of `operation` (one page).
    pub fn convert(&self, operation: &str, body: &[u8]) -> Result<Out, ConvertError> {
        let op = self.operation(operation)?;
        let Some(output) = &op.output else {
            return Ok(Out::Obj(Vec::new()));
        };
        let shape = self.shape(output)?;
        match self.protocol.as_str() {
            "query" | "ec2" => {
                let text = std::str::from_utf8(body)
                    .map_err(|e| ConvertError(format!("response is not UTF-8: {e}")))?;
                let doc = roxmltree::Document::parse(text)
                    .map_err(|e| ConvertError(format!("response is not XML: {e}")))?;
                let mut start = doc.root_element();
                if let Some(wrapper) = &op.result_wrapper {
                    match children(start)
                        .into_iter()
                        .find(|c| c.tag_name().name() == wrapper)
                    {
                        Some(c) => start = c,
                        None => return err(format!("no <{wrapper}> in the {operation} response")),
                    }
                }
                self.xml_structure(shape, &[start])
            }
            "rest-xml" => self.rest_xml(operation, shape, body),
            "json" | "rest-json" => {
                let raw: Raw = serde_json::from_slice(body)
                    .map_err(|e| ConvertError(format!("response is not JSON: {e}")))?;
                self.raw(shape, &raw)
            }
            "smithy-rpc-v2-cbor" => {
                let raw: Raw = ciborium::from_reader(body)
                    .map_err(|e| ConvertError(format!("response is not CBOR: {e}")))?;
                self.raw(shape, &raw)
            }
            other => err(format!("protocol `{other}` is not supported")),
        }
    }

    /// Merges the pages of a paginated call as the CLI's `build_full_result` does: result
    /// keys first (lists concatenated), then the non-aggregate keys; tokens dropped.
    pub fn merge_pages(&self, operation: &str, pages: Vec<Out>) -> Result<Out, ConvertError> {
        let op = self.operation(operation)?;
        let Some(p) = &op.paginator else {
            return Ok(pages.into_iter().next().unwrap_or(Out::Obj(Vec::new())));
        };
        let mut result: Vec<(String, Out)> = Vec::new();
        for page in &pages {
            for key in &p.result_keys {
                let Some(value) = page.get(key) else { continue };
                match result.iter_mut().find(|(k, _)| k == key) {
                    None => result.push((key.clone(), value.clone())),
                    Some((_, Out::List(existing))) => {
                        existing.extend(value.as_list().iter().cloned())
                    }
                    Some(_) => {}
                }
            }
        }
        // The first page's non-aggregate keys, null where it has none
        // (`_record_non_aggregate_key_values`).
        if let Some(first) = pages.first() {
            for key in &p.non_aggregate_keys {
                let v = first.get(key).cloned().unwrap_or(Out::Null);
                result.push((key.clone(), v));
            }
        }
        Ok(Out::Obj(result))
    }

    // ---- XML (rest-xml: S3) ----

    /// A rest-xml body: the output's payload member (a string payload is the whole body; a
    /// structure payload is the body's root element), or the output's members as children
    /// of the root. Header members are not in these outputs (the catalogue's S3 calls have
    /// none).
    fn rest_xml(&self, operation: &str, shape: &Shape, body: &[u8]) -> Result<Out, ConvertError> {
        let text = std::str::from_utf8(body)
            .map_err(|e| ConvertError(format!("response is not UTF-8: {e}")))?;
        if let Some(payload) = &shape.payload {
            let Some((name, r)) = shape.members.iter().find(|(n, _)| n == payload) else {
                return err(format!(
                    "the payload `{payload}` is not a member of the output"
                ));
            };
            let target = self.shape(&r.shape)?;
            if target.kind != "structure" {
                return Ok(Out::Obj(vec![(name.clone(), Out::Str(text.to_owned()))]));
            }
            if text.trim().is_empty() {
                return Ok(Out::Obj(Vec::new()));
            }
            let doc = roxmltree::Document::parse(text)
                .map_err(|e| ConvertError(format!("response is not XML: {e}")))?;
            let value = self.xml_structure(target, &[doc.root_element()])?;
            return Ok(Out::Obj(vec![(name.clone(), value)]));
        }
        if text.trim().is_empty() {
            return Ok(Out::Obj(Vec::new()));
        }
        let doc = roxmltree::Document::parse(text)
            .map_err(|e| ConvertError(format!("response is not XML: {e}")))?;
        let root = doc.root_element();
        if self.service == "s3" && operation == "GetBucketLocation" {
            // botocore's `parse_get_bucket_location`: the root element's own text is the
            // constraint; us-east-1 answers an empty element, printed as null.
            let constraint = root
                .first_child()
                .filter(|c| c.is_text())
                .and_then(|c| c.text())
                .map_or(Out::Null, |t| Out::Str(t.to_owned()));
            return Ok(Out::Obj(vec![(
                "LocationConstraint".to_owned(),
                constraint,
            )]));
        }
        self.xml_structure(shape, &[root])
    }

    // ---- XML (query, ec2) ----

    fn xml_value(&self, r: &MemberRef, nodes: &[roxmltree::Node]) -> Result<Out, ConvertError> {
        let shape = self.shape(&r.shape)?;
        match shape.kind.as_str() {
            "structure" => self.xml_structure(shape, nodes),
            "list" => {
                let member = shape
                    .member
                    .as_ref()
                    .ok_or_else(|| ConvertError(format!("list `{}` has no member", r.shape)))?;
                let items: Vec<roxmltree::Node> = if r.flattened || shape.flattened {
                    nodes.to_vec()
                } else {
                    nodes.first().map(|n| children(*n)).unwrap_or_default()
                };
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.xml_value(member, &[item])?);
                }
                Ok(Out::List(out))
            }
            "map" => {
                let (Some(k), Some(v)) = (&shape.key, &shape.value) else {
                    return err(format!("map `{}` has no key or value", r.shape));
                };
                let key_name = k.name.as_deref().unwrap_or("key");
                let value_name = v.name.as_deref().unwrap_or("value");
                let entries: Vec<roxmltree::Node> = if r.flattened || shape.flattened {
                    nodes.to_vec()
                } else {
                    nodes.first().map(|n| children(*n)).unwrap_or_default()
                };
                let mut out: Vec<(String, Out)> = Vec::new();
                for entry in entries {
                    let mut key = None;
                    let mut value = None;
                    for c in children(entry) {
                        if c.tag_name().name() == key_name {
                            key = Some(text(c));
                        } else if c.tag_name().name() == value_name {
                            value = Some(self.xml_value(v, &[c])?);
                        }
                    }
                    if let (Some(key), Some(value)) = (key, value) {
                        match out.iter_mut().find(|(k, _)| *k == key) {
                            Some(slot) => slot.1 = value,
                            None => out.push((key, value)),
                        }
                    }
                }
                Ok(Out::Obj(out))
            }
            _ => {
                let node = nodes
                    .first()
                    .ok_or_else(|| ConvertError("empty node list".into()))?;
                let text = text(*node);
                if self.service == "iam" && r.shape == "policyDocumentType" {
                    return Ok(policy_document(&text));
                }
                Ok(scalar_from_text(&shape.kind, &text))
            }
        }
    }

    fn xml_structure(&self, shape: &Shape, nodes: &[roxmltree::Node]) -> Result<Out, ConvertError> {
        let Some(node) = nodes.first() else {
            return Ok(Out::Obj(Vec::new()));
        };
        // Children by tag; repeated tags keep every node (flattened lists).
        let mut by_name: BTreeMap<&str, Vec<roxmltree::Node>> = BTreeMap::new();
        for c in children(*node) {
            by_name.entry(c.tag_name().name()).or_default().push(c);
        }
        let mut out = Vec::new();
        for (name, r) in &shape.members {
            if r.location.is_some() {
                continue;
            }
            let target = self.shape(&r.shape)?;
            if r.xml_attribute {
                // `xsi:type`: matched on the local name, as the namespace prefix varies.
                let wanted = r.name.as_deref().unwrap_or(name);
                let local = wanted.rsplit(':').next().unwrap_or(wanted);
                if let Some(a) = node.attributes().find(|a| a.name() == local) {
                    out.push((name.clone(), scalar_from_text(&target.kind, a.value())));
                }
                continue;
            }
            let xml_name = if target.kind == "list" && (r.flattened || target.flattened) {
                target
                    .member
                    .as_ref()
                    .and_then(|m| m.name.clone())
                    .or_else(|| r.name.clone())
                    .unwrap_or_else(|| name.clone())
            } else {
                r.name.clone().unwrap_or_else(|| name.clone())
            };
            if let Some(found) = by_name.get(xml_name.as_str()) {
                out.push((name.clone(), self.xml_value(r, found)?));
            }
        }
        Ok(Out::Obj(out))
    }

    // ---- JSON and CBOR ----

    fn raw(&self, shape: &Shape, value: &Raw) -> Result<Out, ConvertError> {
        match (shape.kind.as_str(), value) {
            (_, Raw::Null) => Ok(Out::Null),
            ("structure", _) if shape.document => Ok(value.plain()),
            ("structure", Raw::Map(entries)) => {
                let mut out = Vec::new();
                for (name, r) in &shape.members {
                    if r.location.is_some() {
                        continue;
                    }
                    let wire = r.name.as_deref().unwrap_or(name);
                    if let Some((_, v)) = entries.iter().find(|(k, _)| k == wire) {
                        if matches!(v, Raw::Null) {
                            continue;
                        }
                        out.push((name.clone(), self.raw(self.shape(&r.shape)?, v)?));
                    }
                }
                Ok(Out::Obj(out))
            }
            ("list", Raw::List(items)) => {
                let member = shape
                    .member
                    .as_ref()
                    .ok_or_else(|| ConvertError("list without member".into()))?;
                let m = self.shape(&member.shape)?;
                items
                    .iter()
                    .map(|i| self.raw(m, i))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Out::List)
            }
            ("map", Raw::Map(entries)) => {
                let v = shape
                    .value
                    .as_ref()
                    .ok_or_else(|| ConvertError("map without value".into()))?;
                let vs = self.shape(&v.shape)?;
                let mut out = Vec::new();
                for (k, val) in entries {
                    out.push((k.clone(), self.raw(vs, val)?));
                }
                Ok(Out::Obj(out))
            }
            ("timestamp", Raw::Int(i)) => Ok(Out::Str(iso_from_epoch(*i as f64))),
            ("timestamp", Raw::Float(f)) => Ok(Out::Str(iso_from_epoch(*f))),
            ("timestamp", Raw::Str(s)) => Ok(Out::Str(iso_from_text(s))),
            ("blob", Raw::Bytes(b)) => Ok(Out::Str(
                base64::engine::general_purpose::STANDARD.encode(b),
            )),
            _ => Ok(value.plain()),
        }
    }
}

fn children<'a, 'input>(node: roxmltree::Node<'a, 'input>) -> Vec<roxmltree::Node<'a, 'input>> {
    node.children().filter(|c| c.is_element()).collect()
}

/// An element's text; an empty element is `""` (botocore's `_text_content`).
fn text(node: roxmltree::Node) -> String {
    node.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect()
}

/// IAM policy documents arrive URL-encoded; the CLI (botocore's `json_decode_policies`)
/// prints them decoded, as JSON with their members in the document's order. Text that is
/// not a JSON document stays as it is.
fn policy_document(text: &str) -> Out {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    match serde_json::from_str::<Raw>(&decoded) {
        Ok(raw) => raw.plain(),
        Err(_) => Out::Str(text.to_owned()),
    }
}

fn scalar_from_text(kind: &str, text: &str) -> Out {
    match kind {
        "boolean" => Out::Bool(text == "true"),
        "integer" | "long" => text
            .trim()
            .parse()
            .map(Out::Int)
            .unwrap_or_else(|_| Out::Str(text.into())),
        "float" | "double" => text
            .trim()
            .parse()
            .map(Out::Float)
            .unwrap_or_else(|_| Out::Str(text.into())),
        "timestamp" => Out::Str(iso_from_text(text)),
        _ => Out::Str(text.into()),
    }
}

/// Python's `datetime.isoformat()` for a UTC or fixed-offset time.
fn isoformat(t: &DateTime<FixedOffset>) -> String {
    let micros = t.timestamp_subsec_micros();
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    };
    let secs = t.offset().local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!(
        "{base}{frac}{sign}{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// A timestamp string from the wire as the CLI prints it with `cli_timestamp_format =
/// iso8601`; text that is not a time is kept as it is.
pub fn iso_from_text(s: &str) -> String {
    let trimmed = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        return isoformat(&t);
    }
    if let Ok(n) = trimmed.parse::<f64>() {
        return iso_from_epoch(n);
    }
    s.to_owned()
}

/// Epoch seconds as the CLI prints them (in UTC: tests and collection run with TZ=UTC).
pub fn iso_from_epoch(secs: f64) -> String {
    let whole = secs.floor();
    let mut micros = ((secs - whole) * 1e6).round() as i64;
    let mut whole = whole as i64;
    if micros >= 1_000_000 {
        whole += 1;
        micros -= 1_000_000;
    }
    match Utc.timestamp_opt(whole, (micros as u32) * 1000).single() {
        Some(t) => isoformat(&t.fixed_offset()),
        None => format!("{secs}"),
    }
}

/// A response body's data before the shape is applied: JSON or CBOR, members in order.
#[derive(Debug, Clone)]
pub enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Raw>),
    Map(Vec<(String, Raw)>),
}

impl Raw {
    /// The value as it is, for members the model says nothing more about.
    fn plain(&self) -> Out {
        match self {
            Raw::Null => Out::Null,
            Raw::Bool(b) => Out::Bool(*b),
            Raw::Int(i) => Out::Int(*i),
            Raw::Float(f) => Out::Float(*f),
            Raw::Str(s) => Out::Str(s.clone()),
            Raw::Bytes(b) => Out::Str(base64::engine::general_purpose::STANDARD.encode(b)),
            Raw::List(items) => Out::List(items.iter().map(Raw::plain).collect()),
            Raw::Map(m) => Out::Obj(m.iter().map(|(k, v)| (k.clone(), v.plain())).collect()),
        }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON or CBOR value")
            }
            fn visit_unit<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_none<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                Raw::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
                Ok(i64::try_from(v)
                    .map(Raw::Int)
                    .unwrap_or(Raw::Float(v as f64)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Str(v))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Raw, E> {
                Ok(Raw::Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Raw, E> {
                Ok(Raw::Bytes(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Raw>()? {
                    items.push(item);
                }
                Ok(Raw::List(items))
            }
            /// A CBOR tag (1: epoch seconds): the tagged value; the shape says what it is.
            fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Raw, A::Error> {
                use serde::de::VariantAccess;
                let (_tag, variant): (serde::de::IgnoredAny, _) = data.variant()?;
                variant.newtype_variant::<Raw>()
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<Raw, Raw>()? {
                    let key = match k {
                        Raw::Str(s) => s,
                        Raw::Int(i) => i.to_string(),
                        other => format!("{other:?}"),
                    };
                    entries.push((key, v));
                }
                Ok(Raw::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_like_python_isoformat() {
        assert_eq!(
            iso_from_text("2026-11-30T12:54:02.426716Z"),
            "2026-11-30T12:54:02.426716+00:00"
        );
        assert_eq!(
            iso_from_text("2026-11-30T12:54:02Z"),
            "2026-11-30T12:54:02+00:00"
        );
        assert_eq!(
            iso_from_text("2026-11-30T12:54:02.400Z"),
            "2026-11-30T12:54:02.400000+00:00"
        );
        assert_eq!(
            iso_from_text("2026-11-30T13:54:02+01:00"),
            "2026-11-30T13:54:02+01:00"
        );
        assert_eq!(
            iso_from_epoch(1764507242.5),
            "2025-11-30T12:54:02.500000+00:00"
        );
        assert_eq!(iso_from_epoch(1764507242.0), "2025-11-30T12:54:02+00:00");
    }
}
