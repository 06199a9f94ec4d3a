//! An ordered JSON value and the writer that prints it exactly as the aws CLI does
//! (`json.dumps(response, indent=4, ensure_ascii=False)` plus a newline), so that a snapshot
//! file is byte-for-byte what `aws … --output json` prints for the same response.

use std::fmt::Write as _;

use crate::snapshot::catalogue::REDACTED;

/// A JSON value whose objects keep their member order (the order of the service model).
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Out>),
    Obj(Vec<(String, Out)>),
}

impl Out {
    pub fn get(&self, key: &str) -> Option<&Out> {
        match self {
            Out::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Out::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> &[Out] {
        match self {
            Out::List(items) => items,
            _ => &[],
        }
    }

    /// The value with every value at `path` replaced by [`REDACTED`]. A path is members
    /// joined by `.`: `Name[]` is each item of the list `Name`, `*` each member of an object
    /// (`Functions[].Environment.Variables.*`). Parts the answer does not have are skipped.
    pub fn redacted(mut self, path: &str) -> Out {
        let steps: Vec<&str> = path.split('.').collect();
        redact(&mut self, &steps);
        self
    }

    /// The CLI's text: four-space indent, `": "` and `","` separators, a final newline.
    pub fn to_cli_json(&self) -> String {
        let mut out = String::new();
        write_value(self, 0, &mut out);
        out.push('\n');
        out
    }
}

fn redact(value: &mut Out, steps: &[&str]) {
    let Some((step, rest)) = steps.split_first() else {
        *value = Out::Str(REDACTED.to_owned());
        return;
    };
    let Out::Obj(members) = value else { return };
    let (name, each) = match step.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (*step, false),
    };
    for (k, v) in members.iter_mut() {
        if name != "*" && k != name {
            continue;
        }
        match (each, v) {
            (true, Out::List(items)) => items.iter_mut().for_each(|i| redact(i, rest)),
            (true, _) => {}
            (false, v) => redact(v, rest),
        }
    }
}

fn indent(level: usize, out: &mut String) {
    for _ in 0..level {
        out.push_str("    ");
    }
}

fn write_value(v: &Out, level: usize, out: &mut String) {
    match v {
        Out::Null => out.push_str("null"),
        Out::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Out::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Out::Float(f) => out.push_str(&python_float(*f)),
        Out::Str(s) => write_string(s, out),
        Out::List(items) if items.is_empty() => out.push_str("[]"),
        Out::List(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(level + 1, out);
                write_value(item, level + 1, out);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(level, out);
            out.push(']');
        }
        Out::Obj(members) if members.is_empty() => out.push_str("{}"),
        Out::Obj(members) => {
            out.push_str("{\n");
            for (i, (k, item)) in members.iter().enumerate() {
                indent(level + 1, out);
                write_string(k, out);
                out.push_str(": ");
                write_value(item, level + 1, out);
                if i + 1 < members.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(level, out);
            out.push('}');
        }
    }
}

/// A string as Python's `json.dumps(..., ensure_ascii=False)` writes it.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A float as Python's `repr` writes it: the shortest round-trip digits, `.0` for whole
/// numbers, exponents as `e+XX`/`e-XX` outside 1e-4 ≤ |x| < 1e16.
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let abs = f.abs();
    if f == 0.0 || (1e-4..1e16).contains(&abs) {
        let s = format!("{f:?}");
        return s;
    }
    // Scientific: Rust's `{:e}` gives `1.5e-5`; Python gives `1.5e-05`.
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(python_float(10.0), "10.0");
        assert_eq!(python_float(0.5), "0.5");
        assert_eq!(python_float(1e-5), "1e-05");
        assert_eq!(python_float(1.5e20), "1.5e+20");
        assert_eq!(python_float(123456.789), "123456.789");
    }

    #[test]
    fn redacts_every_value_at_a_path_and_nothing_else() {
        let f = |name: &str, vars: Vec<(&str, &str)>| {
            let vars = vars
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Out::Str(v.to_owned())))
                .collect();
            Out::Obj(vec![
                ("FunctionName".into(), Out::Str(name.into())),
                (
                    "Environment".into(),
                    Out::Obj(vec![("Variables".into(), Out::Obj(vars))]),
                ),
            ])
        };
        let answer = Out::Obj(vec![(
            "Functions".into(),
            Out::List(vec![
                f("a", vec![("DB_PASSWORD", "hunter2"), ("MODE", "x")]),
                Out::Obj(vec![("FunctionName".into(), Out::Str("no-env".into()))]),
            ]),
        )]);
        let text = answer
            .redacted("Functions[].Environment.Variables.*")
            .to_cli_json();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("\"DB_PASSWORD\": \"(redacted by snapaudit)\""),
            "{text}"
        );
        assert!(
            text.contains("\"MODE\": \"(redacted by snapaudit)\""),
            "{text}"
        );
        assert!(text.contains("\"FunctionName\": \"a\""), "{text}");
        assert!(text.contains("\"FunctionName\": \"no-env\""), "{text}");
    }

    #[test]
    fn nesting_and_escapes_print_like_the_cli() {
        let v = Out::Obj(vec![
            ("A".into(), Out::List(vec![])),
            ("B".into(), Out::Obj(vec![])),
            (
                "C".into(),
                Out::List(vec![Out::Str("x\"\n\u{1}é".into()), Out::Int(3)]),
            ),
        ]);
        assert_eq!(
            v.to_cli_json(),
            "{\n    \"A\": [],\n    \"B\": {},\n    \"C\": [\n        \"x\\\"\\n\\u0001é\",\n        3\n    ]\n}\n"
        );
    }
}
