//! The values of a response file, as loaded: compact and shared.
//!
//! A large snapshot holds tens of millions of values, most of them in small objects (tags,
//! IP ranges, group pairs), so the representation decides the audit's memory: a value is
//! 24 bytes inline; arrays and objects are one shared allocation each (cloning a node is a
//! reference count, and its address is its identity); object members are sorted by name
//! (lookups by binary search, iteration in the same order as a sorted map) with names
//! shared across files. JMESPath queries run on these values directly (`rules::query`).

use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// An object member's name, shared by every object that has it.
pub type Key = Arc<str>;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Box<str>),
    Array(Arc<[Value]>),
    /// Members sorted by name, names unique.
    Object(Arc<[(Key, Value)]>),
}

impl Value {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.member(key).map(|(_, v)| v)
    }

    /// The member `key` of an object, with its shared name.
    pub fn member(&self, key: &str) -> Option<&(Key, Value)> {
        match self {
            Value::Object(members) => members
                .binary_search_by(|(k, _)| (**k).cmp(key))
                .ok()
                .map(|i| &members[i]),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_container(&self) -> bool {
        matches!(self, Value::Array(_) | Value::Object(_))
    }

    /// Number of items or members (0 for a scalar).
    pub fn len(&self) -> usize {
        match self {
            Value::Array(items) => items.len(),
            Value::Object(members) => members.len(),
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// "a string", "a list", …: for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::String(_) => "a string",
            Value::Bool(_) => "true or false",
            Value::Number(_) => "a number",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        }
    }

    /// The same value as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(t) => s.serialize_str(t),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members.iter() {
                    map.serialize_entry(&**k, v)?;
                }
                map.end()
            }
        }
    }
}
