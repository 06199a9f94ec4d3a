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

/// Why a text is not a response: not JSON, or JSON with a member name given twice in one
/// object. Both carry serde_json's line and column: for a repeated name, the position just
/// after its second occurrence.
#[derive(Debug)]
pub enum ParseError {
    Syntax(serde_json::Error),
    DuplicateKey {
        name: Key,
        error: serde_json::Error,
    },
    /// The values would take more memory than the limit (in bytes).
    TooLarge {
        limit: u64,
        error: serde_json::Error,
    },
}

impl ParseError {
    /// The position-free message (`expected value`, `duplicate key `Users` in one object`).
    pub fn message(&self) -> String {
        let e = self.json_error();
        let text = e.to_string();
        match text.rfind(" at line ") {
            Some(i) => text[..i].to_owned(),
            None => text,
        }
    }

    /// serde_json's error, with its line and column.
    pub fn json_error(&self) -> &serde_json::Error {
        match self {
            ParseError::Syntax(e)
            | ParseError::DuplicateKey { error: e, .. }
            | ParseError::TooLarge { error: e, .. } => e,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.json_error(), f)
    }
}

thread_local! {
    /// The repeated name that stopped this thread's parse, if one did (serde's error type
    /// carries only text, so the kind travels beside it).
    static REPEATED: RefCell<Option<Key>> = const { RefCell::new(None) };
    /// The memory this thread's parse may still use, in bytes, and whether it ran out.
    static BUDGET: std::cell::Cell<(u64, bool)> = const { std::cell::Cell::new((0, false)) };
}

/// What a value costs in memory, beyond its slot in its parent: the slot itself (24
/// bytes), a string's text, an object member's name reference.
const SLOT: u64 = 24;
const MEMBER: u64 = 16;

/// Takes `bytes` from this thread's budget; false when it is exhausted.
fn spend(bytes: u64) -> bool {
    BUDGET.with(|b| {
        let (left, _) = b.get();
        match left.checked_sub(bytes) {
            Some(rest) => {
                b.set((rest, false));
                true
            }
            None => {
                b.set((0, true));
                false
            }
        }
    })
}

/// Parses `text` into a value (with no memory limit beyond the machine's).
pub fn parse(text: &str) -> Result<Value, ParseError> {
    parse_within(text, u64::MAX)
}

/// Parses `text` into a value whose parts take at most `limit` bytes of memory.
pub fn parse_within(text: &str, limit: u64) -> Result<Value, ParseError> {
    REPEATED.with(|r| r.borrow_mut().take());
    BUDGET.with(|b| b.set((limit, false)));
    let typed = |error: serde_json::Error| {
        if BUDGET.with(|b| b.get().1) {
            return ParseError::TooLarge { limit, error };
        }
        match REPEATED.with(|r| r.borrow_mut().take()) {
            Some(name) => ParseError::DuplicateKey { name, error },
            None => ParseError::Syntax(error),
        }
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict.deserialize(&mut de).map_err(typed)?;
    de.end().map_err(typed)?;
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

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        if !spend(v.len() as u64) {
            return Err(E::custom("the file's values take too much memory"));
        }
        Ok(Value::String(v.into()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        if !spend(v.len() as u64) {
            return Err(E::custom("the file's values take too much memory"));
        }
        Ok(Value::String(v.into_boxed_str()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Strict)? {
            if !spend(SLOT) {
                return Err(de::Error::custom("the file's values take too much memory"));
            }
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
                let message = format!("duplicate key `{name}` in one object");
                REPEATED.with(|r| *r.borrow_mut() = Some(name));
                return Err(de::Error::custom(message));
            }
            let value = map.next_value_seed(Strict)?;
            if !spend(SLOT + MEMBER) {
                return Err(de::Error::custom("the file's values take too much memory"));
            }
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
        match parse(&text) {
            Err(ParseError::DuplicateKey { name, .. }) => assert_eq!(&*name, "k77"),
            other => panic!("expected a duplicate key, got {other:?}"),
        }
    }

    #[test]
    fn a_repeated_key_is_refused_where_it_repeats() {
        let e = parse("{\n  \"Users\": [],\n  \"Users\": [{\"UserName\": \"x\"}]\n}");
        let Err(e @ ParseError::DuplicateKey { .. }) = e else {
            panic!("expected a duplicate key, got {e:?}");
        };
        assert_eq!(e.message(), "duplicate key `Users` in one object");
        assert_eq!(e.json_error().line(), 3);
        // The same name in two different objects is fine.
        assert!(parse(r#"[{"a": 1}, {"a": 2}]"#).is_ok());
    }

    #[test]
    fn trailing_text_and_deep_nesting_are_errors() {
        assert!(parse("{} {}").is_err());
        let deep = "[".repeat(100_000);
        match parse(&deep) {
            Err(e @ ParseError::Syntax(_)) => {
                assert_eq!(e.message(), "recursion limit exceeded")
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }
}
