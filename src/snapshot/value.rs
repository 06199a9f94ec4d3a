//! The values of a response file, as loaded: compact and shared.
//!
//! A large snapshot holds tens of millions of values, most of them in small objects (tags,
//! IP ranges, group pairs), so the representation decides the audit's memory: a value is
//! 24 bytes inline; arrays and objects are one shared allocation each (cloning a node is a
//! reference count, and its address is its identity); object members are sorted by name
//! (lookups by binary search, iteration in the same order as a sorted map) with names
//! shared across files. JMESPath queries run on a `jmespath::Variable` copy of the part
//! they are asked about ([`Value::to_variable`]).

use std::collections::HashMap;
use std::sync::Arc;

use jmespath::{Rcvar, Variable};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::path::JsonPath;

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

/// What a JMESPath copy was made from: for each copied value (by the copy's address), its
/// path and the value, so that results map back to their place in the file.
pub type Origins = HashMap<usize, (JsonPath, Value)>;

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

    /// A `jmespath::Variable` copy, for a query. With `origins`, every copied value's
    /// address is recorded with its path (below `path`) and the value itself.
    pub fn to_variable(&self, path: &JsonPath, mut origins: Option<&mut Origins>) -> Rcvar {
        let var = match self {
            Value::Null => Variable::Null,
            Value::Bool(b) => Variable::Bool(*b),
            Value::Number(n) => Variable::Number(n.clone()),
            Value::String(s) => Variable::String(s.to_string()),
            Value::Array(items) => Variable::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let child = if origins.is_some() {
                            path.index(i)
                        } else {
                            JsonPath::root()
                        };
                        v.to_variable(&child, origins.as_deref_mut())
                    })
                    .collect(),
            ),
            Value::Object(members) => Variable::Object(
                members
                    .iter()
                    .map(|(k, v)| {
                        let child = if origins.is_some() {
                            path.key_shared(k)
                        } else {
                            JsonPath::root()
                        };
                        (k.to_string(), v.to_variable(&child, origins.as_deref_mut()))
                    })
                    .collect(),
            ),
        };
        let var = Rcvar::new(var);
        if let Some(o) = origins {
            o.insert(Arc::as_ptr(&var) as usize, (path.clone(), self.clone()));
        }
        var
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
