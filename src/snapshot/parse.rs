//! Response files to values: serde_json's parser, with one rule more than JSON itself has.
//! A member name repeated in one object is refused, not resolved: which of the two values
//! counts differs between readers (serde_json and Python keep the last, some keep the
//! first), so a file with one can make two tools see two different accounts. The aws CLI
//! never prints one.

use std::collections::BTreeMap;
use std::fmt;

use jmespath::{Rcvar, Variable};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The start of the message of a repeated-key error (see [`parse`]).
pub const DUPLICATE_KEY: &str = "duplicate key";

/// Parses `text` into a value. Errors carry serde_json's line and column: for a repeated
/// member name, the position just after the second occurrence of the name.
pub fn parse(text: &str) -> Result<Variable, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[derive(Clone, Copy)]
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Variable;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Variable, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Variable;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Variable, E> {
        Ok(Variable::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Variable, E> {
        Ok(Variable::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Variable, E> {
        Ok(Variable::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Variable, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Variable::Null, Variable::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Variable, E> {
        Ok(Variable::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Variable, E> {
        Ok(Variable::String(v))
    }

    fn visit_unit<E>(self) -> Result<Variable, E> {
        Ok(Variable::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Variable, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Strict)? {
            items.push(Rcvar::new(item));
        }
        Ok(Variable::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Variable, A::Error> {
        let mut members = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "{DUPLICATE_KEY} `{key}` in one object"
                )));
            }
            let value = map.next_value_seed(Strict)?;
            members.insert(key, Rcvar::new(value));
        }
        Ok(Variable::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_as_jmespath_would() {
        let text = r#"{"a": [1, -2, 2.5, "x", true, null, {"b": {}}]}"#;
        let ours = parse(text).map_err(|e| e.to_string());
        let theirs = serde_json::from_str::<Variable>(text).map_err(|e| e.to_string());
        assert_eq!(ours, theirs);
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
