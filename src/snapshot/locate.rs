//! From a value's path to its place in the file: byte span, line and column.
//!
//! serde_json keeps no positions, so a file is parsed a second time with `jsonc-parser`
//! (strict JSON options) only when something in it has to be shown, and all the paths asked
//! of one file are resolved in one parse.

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};

use super::path::Step;

/// Where a value is: its byte range, and the range of its member name when it is an
/// object member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
    pub key: Option<(usize, usize)>,
}

fn strict() -> ParseOptions {
    ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
    }
}

/// Resolves every path in `paths` against `text`. A path that does not exist in the text
/// (or a text that does not parse) gives `None`.
pub fn locate_all(text: &str, paths: &[Vec<Step>]) -> Vec<Option<Span>> {
    let parsed = jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &strict());
    let root = match parsed {
        Ok(result) => result.value,
        Err(_) => None,
    };
    paths
        .iter()
        .map(|steps| root.as_ref().and_then(|r| walk(r, steps)))
        .collect()
}

/// Resolves one path.
pub fn locate(text: &str, steps: &[Step]) -> Option<Span> {
    locate_all(text, &[steps.to_vec()]).pop().flatten()
}

fn walk(root: &Value<'_>, steps: &[Step]) -> Option<Span> {
    let mut cur = root;
    let mut key = None;
    for step in steps {
        match (cur, step) {
            (Value::Object(obj), Step::Key(k)) => {
                // The last member of a name wins, as in serde_json.
                let prop = obj
                    .properties
                    .iter()
                    .rev()
                    .find(|p| prop_name(&p.name) == k.as_ref())?;
                let r = prop.name.range();
                key = Some((r.start, r.end - r.start));
                cur = &prop.value;
            }
            (Value::Array(arr), Step::Index(i)) => {
                cur = arr.elements.get(*i)?;
                key = None;
            }
            _ => return None,
        }
    }
    let r = cur.range();
    Some(Span {
        offset: r.start,
        len: r.end - r.start,
        key,
    })
}

fn prop_name<'a>(name: &'a ObjectPropName<'_>) -> &'a str {
    match name {
        ObjectPropName::String(s) => s.value.as_ref(),
        ObjectPropName::Word(w) => w.value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::path::JsonPath;

    #[test]
    fn finds_values_keys_and_elements() {
        let text = "{\n  \"a\": {\"b\": [1, \"é\", {\"c\": true}]}\n}";
        let p = JsonPath::root().key("a").key("b").index(2).key("c");
        let span = locate(text, &p.steps()).expect("located");
        assert_eq!(&text[span.offset..span.offset + span.len], "true");
        let (ko, kl) = span.key.expect("key");
        assert_eq!(&text[ko..ko + kl], "\"c\"");
        let p = JsonPath::root().key("a").key("b").index(1);
        let span = locate(text, &p.steps()).expect("located");
        assert_eq!(&text[span.offset..span.offset + span.len], "\"é\"");
        assert!(locate(text, &JsonPath::root().key("zz").steps()).is_none());
        assert!(locate(text, &JsonPath::root().key("a").index(0).steps()).is_none());
    }

    #[test]
    fn root_is_the_whole_document() {
        let text = " [1,2] ";
        let span = locate(text, &[]).expect("located");
        assert_eq!((span.offset, span.len), (1, 5));
    }
}
