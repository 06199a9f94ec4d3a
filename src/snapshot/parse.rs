//! Response files to values: serde_json's parser, with one rule more than JSON itself has.
//! A member name repeated in one object is refused, not resolved: which of the two values
//! counts differs between readers (serde_json and Python keep the last, some keep the
//! first), so a file with one can make two tools see two different accounts. The aws CLI
//! never prints one.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::value::{Key, Value};

/// The start of the message of a repeated-key error (see [`parse`]).
pub const DUPLICATE_KEY: &str = "duplicate key";

/// Parses `text` into a value. Errors carry serde_json's line and column: for a repeated
/// member name, the position just after the second occurrence of the name.
pub fn parse(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Member names seen by this thread, shared by every object that uses them (AWS responses
/// repeat a few hundred names millions of times). Bounded: past the cap, names are not
/// shared, only allocated.
const MAX_SHARED_KEYS: usize = 1 << 16;

thread_local! {
    static KEYS: RefCell<HashSet<Key>> = RefCell::new(HashSet::new());
}

fn key(name: &str) -> Key {
    KEYS.with(|k| {
        let mut keys = k.borrow_mut();
        if let Some(found) = keys.get(name) {
            return found.clone();
        }
        let key: Key = Arc::from(name);
        if keys.len() < MAX_SHARED_KEYS {
            keys.insert(key.clone());
        }
        key
    })
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(key(v))
    }
}

#[derive(Clone, Copy)]
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v.into_boxed_str()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Strict)? {
            items.push(item);
        }
        Ok(Value::Array(items.into()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members: Vec<(Key, Value)> = Vec::new();
        // Names already seen, kept only for large objects (small ones are scanned).
        let mut seen: Option<HashSet<Key>> = None;
        while let Some(name) = map.next_key_seed(KeySeed)? {
            let repeated = match &mut seen {
                Some(set) => !set.insert(name.clone()),
                None => {
                    let found = members.iter().any(|(k, _)| *k == name);
                    if members.len() >= 32 {
                        let mut set: HashSet<Key> =
                            members.iter().map(|(k, _)| k.clone()).collect();
                        set.insert(name.clone());
                        seen = Some(set);
                    }
                    found
                }
            };
            if repeated {
                return Err(de::Error::custom(format_args!(
                    "{DUPLICATE_KEY} `{name}` in one object"
                )));
            }
            let value = map.next_value_seed(Strict)?;
            members.push((name, value));
        }
        members.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(Value::Object(members.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_as_serde_json_would() {
        let text =
            r#"{"z": 0, "a": [1, -2, 2.5, "x", true, null, {"b": {}, "B": "\u00e9"}], "m": {}}"#;
        let ours = parse(text).map(|v| v.to_json()).map_err(|e| e.to_string());
        let theirs = serde_json::from_str::<serde_json::Value>(text).map_err(|e| e.to_string());
        assert_eq!(ours, theirs);
        let v = parse(text).unwrap_or(Value::Null);
        assert_eq!(v.get("a").map(Value::len), Some(7));
        assert_eq!(v.get("m").map(Value::len), Some(0));
        assert!(v.get("q").is_none());
    }

    #[test]
    fn a_repeated_key_in_a_large_object_is_refused() {
        let mut text: String = (0..100).map(|i| format!("\"k{i}\": {i}, ")).collect();
        text = format!("{{{text}\"k77\": 0}}");
        let e = parse(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("duplicate key `k77`"), "{e}");
    }

    #[test]
    fn a_repeated_key_is_refused_where_it_repeats() {
        let e = parse("{\n  \"Users\": [],\n  \"Users\": [{\"UserName\": \"x\"}]\n}")
            .err()
            .map(|e| (e.to_string(), e.line()));
        let (message, line) = e.unwrap_or_default();
        assert!(
            message.starts_with("duplicate key `Users` in one object"),
            "{message}"
        );
        assert_eq!(line, 3);
        // The same name in two different objects is fine.
        assert!(parse(r#"[{"a": 1}, {"a": 2}]"#).is_ok());
    }

    #[test]
    fn trailing_text_and_deep_nesting_are_errors() {
        assert!(parse("{} {}").is_err());
        let deep = "[".repeat(100_000);
        let e = parse(&deep)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("recursion limit exceeded"), "{e}");
    }
}
