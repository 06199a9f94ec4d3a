//! From a value's path to its place in the file: byte span, line and column.
//!
//! serde_json keeps no positions, so a file is scanned a second time, with `jsonc-parser`'s
//! tokenizer, only when something in it has to be shown; all the paths asked of one file
//! are resolved in one pass. The pass builds no tree: it follows the tokens with a stack
//! and looks a value up only where a wanted path can still lie below (a trie of the
//! wanted paths), so locating a few values in a large file costs one tokenization.

use std::collections::HashMap;

use jsonc_parser::tokens::Token;
use jsonc_parser::Scanner;

use super::path::Step;

/// Where a value is: its byte range, and the range of its member name when it is an
/// object member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
    pub key: Option<(usize, usize)>,
}

/// The wanted paths, as a trie.
#[derive(Default)]
struct Trie {
    /// Indices of the paths that end here.
    here: Vec<usize>,
    keys: HashMap<String, Trie>,
    items: HashMap<usize, Trie>,
}

enum Frame<'t> {
    Object {
        node: Option<&'t Trie>,
        key: Option<(String, (usize, usize))>,
    },
    Array {
        node: Option<&'t Trie>,
        index: usize,
    },
}

/// An open container whose span is wanted: where it started, and for which paths.
struct Open<'t> {
    depth: usize,
    start: usize,
    key: Option<(usize, usize)>,
    node: &'t Trie,
}

/// Resolves every path in `paths` against `text`. A path that does not exist in the text
/// (or a text that is not strict JSON) gives `None`. Of repeated member names, the last
/// wins, as in serde_json.
pub fn locate_all(text: &str, paths: &[Vec<Step>]) -> Vec<Option<Span>> {
    let mut trie = Trie::default();
    for (i, steps) in paths.iter().enumerate() {
        let mut node = &mut trie;
        for step in steps {
            node = match step {
                Step::Key(k) => node.keys.entry(k.to_string()).or_default(),
                Step::Index(ix) => node.items.entry(*ix).or_default(),
            };
        }
        node.here.push(i);
    }
    let mut out = vec![None; paths.len()];
    if scan(text, &trie, &mut out).is_none() {
        return vec![None; paths.len()];
    }
    out
}

fn set(out: &mut [Option<Span>], node: &Trie, span: Span) {
    for &i in &node.here {
        out[i] = Some(span);
    }
}

/// Where the array or object whose opening bracket ends at `from` ends (just past its
/// closing bracket): a byte scan that only follows strings and nesting, for the parts of a
/// file that no wanted path goes into. `None` if the text ends first.
fn skip_container(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 1usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// One pass over the tokens. `None` when the text is not well-formed strict JSON.
fn scan(text: &str, root: &Trie, out: &mut [Option<Span>]) -> Option<()> {
    // The tokenizer runs on `text[base..]`: after a skipped container it starts again.
    let mut base = 0;
    let mut scanner = Scanner::new(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut done_root = false;
    while let Some(token) = scanner.scan().ok()? {
        let (start, end) = (base + scanner.token_start(), base + scanner.token_end());
        // The trie node of the value that starts here, and its member name.
        let (node, key) = match stack.last_mut() {
            None => {
                if done_root {
                    return None;
                }
                (Some(root), None)
            }
            Some(Frame::Array { node, index }) => (node.and_then(|n| n.items.get(index)), None),
            Some(Frame::Object { node, key }) => match (&token, key.as_ref()) {
                // A member name, or the colon after it: not a value.
                (Token::String(name), None) => {
                    let name = if node.is_some() {
                        name.to_string()
                    } else {
                        String::new()
                    };
                    *key = Some((name, (start, end - start)));
                    continue;
                }
                (Token::Colon, _) => continue,
                (Token::Comma, _) => {
                    *key = None;
                    continue;
                }
                (Token::CloseBrace, _) => (None, None),
                (_, Some((name, range))) => {
                    (node.and_then(|n| n.keys.get(name.as_str())), Some(*range))
                }
                (_, None) => return None,
            },
        };
        match token {
            Token::OpenBrace | Token::OpenBracket => {
                let wanted_here = node.is_some_and(|n| !n.here.is_empty());
                let below = node.filter(|n| !n.keys.is_empty() || !n.items.is_empty());
                if !wanted_here && below.is_none() {
                    // Nothing wanted in or below it: jump past it.
                    let resume = skip_container(text, end)?;
                    if stack.is_empty() {
                        done_root = true;
                    }
                    base = resume;
                    scanner = Scanner::new(&text[resume..]);
                    continue;
                }
                if let Some(n) = node.filter(|n| !n.here.is_empty()) {
                    open.push(Open {
                        depth: stack.len(),
                        start,
                        key,
                        node: n,
                    });
                }
                stack.push(if token == Token::OpenBrace {
                    Frame::Object {
                        node: below,
                        key: None,
                    }
                } else {
                    Frame::Array {
                        node: below,
                        index: 0,
                    }
                });
            }
            Token::CloseBrace | Token::CloseBracket => {
                stack.pop()?;
                if open.last().is_some_and(|o| o.depth == stack.len()) {
                    if let Some(o) = open.pop() {
                        set(
                            out,
                            o.node,
                            Span {
                                offset: o.start,
                                len: end - o.start,
                                key: o.key,
                            },
                        );
                    }
                }
                if stack.is_empty() {
                    done_root = true;
                }
            }
            Token::Comma => {
                if let Some(Frame::Array { index, .. }) = stack.last_mut() {
                    *index += 1;
                }
            }
            Token::String(_) | Token::Number(_) | Token::Boolean(_) | Token::Null => {
                if let Some(n) = node {
                    set(
                        out,
                        n,
                        Span {
                            offset: start,
                            len: end - start,
                            key,
                        },
                    );
                }
                if stack.is_empty() {
                    done_root = true;
                }
            }
            Token::Colon | Token::Word(_) | Token::CommentLine(_) | Token::CommentBlock(_) => {
                return None
            }
        }
    }
    stack.is_empty().then_some(())
}

/// Resolves one path.
pub fn locate(text: &str, steps: &[Step]) -> Option<Span> {
    locate_all(text, &[steps.to_vec()]).pop().flatten()
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
    fn skipped_containers_do_not_confuse_what_follows() {
        // Brackets and escaped quotes inside strings of containers nobody asks about.
        let text = r#"{"skip": [{"s": "a ] } [ \" {"}, ["x\\", "]"]], "list": [{"k": "}"}, {"k": 2}], "want": {"v": [7]}}"#;
        let wanted = [
            JsonPath::root().key("want").key("v").index(0),
            JsonPath::root().key("list").index(1).key("k"),
        ];
        let steps: Vec<Vec<Step>> = wanted.iter().map(JsonPath::steps).collect();
        let spans = locate_all(text, &steps);
        let texts: Vec<&str> = spans
            .iter()
            .map(|s| s.map_or("", |s| &text[s.offset..s.offset + s.len]))
            .collect();
        assert_eq!(texts, ["7", "2"]);
        // A skip that runs off the end (an unclosed string) locates nothing.
        assert!(locate(
            r#"{"a": ["\"], "b": 1}"#,
            &JsonPath::root().key("b").steps()
        )
        .is_none());
    }

    #[test]
    fn root_is_the_whole_document() {
        let text = " [1,2] ";
        let span = locate(text, &[]).expect("located");
        assert_eq!((span.offset, span.len), (1, 5));
    }
}
