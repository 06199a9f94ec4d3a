//! JMESPath over the loaded values, bounded.
//!
//! Expressions are parsed by the jmespath crate, but only after [`check_expression`] has
//! made sure the parser cannot panic or recurse deeply on them (size, nesting, operators,
//! integer literals). They are evaluated here, directly on the snapshot's values (nothing
//! is copied), with a budget: every step and every value a query makes counts, the rule's
//! deadline is checked as it runs, and the depth of evaluation is bounded by the checked
//! expression. A query that exceeds its budget is that rule's error, never the process's.
//!
//! Values of the file keep their place ([`Q::File`]), so results of `query` locate
//! findings like any other value read from the snapshot.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::rc::Rc;

use jmespath::ast::{Ast, Comparator};
use jmespath::Variable;

use crate::snapshot::path::JsonPath;
use crate::snapshot::value::Value;

/// Longest expression accepted, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 2048;
/// Deepest nesting of brackets, parentheses and braces.
pub const MAX_NESTING: usize = 32;
/// Most operators (`.`, `|`, `!`, `&&`, `||`, comparisons, `[`, `(`, `{`, `,`) in one
/// expression: with the nesting, this bounds the parser's and the evaluator's recursion.
pub const MAX_OPERATORS: usize = 256;
/// Steps a query may take (each node evaluated, each value visited or made).
pub const MAX_STEPS: u64 = 50_000_000;
/// Values a query may make (list items, object members), shared ones counted once each
/// time they are put in a new list.
pub const MAX_MADE: u64 = 4_000_000;

/// Why a query did not give a result.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryError {
    /// The expression is refused before parsing (too long, too deep, a number out of range)
    /// or does not parse.
    Invalid(String),
    /// The expression asked something impossible of the data (a function of the wrong
    /// types, an unknown function, a slice step of 0).
    Runtime(String),
    /// The query ran past its budget of steps or values, or the rule's deadline.
    Limit(String),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Invalid(m) => write!(f, "invalid JMESPath expression: {m}"),
            QueryError::Runtime(m) => write!(f, "JMESPath: {m}"),
            QueryError::Limit(m) => write!(f, "JMESPath query stopped: {m}"),
        }
    }
}

type QResult<T> = Result<T, QueryError>;

/// Checks an expression before the jmespath parser sees it: its size, the nesting of its
/// brackets, the number of its operators, and that every integer literal fits in 32 bits
/// (the parser's lexer panics on larger ones).
pub fn check_expression(expr: &str) -> QResult<()> {
    if expr.len() > MAX_EXPRESSION_BYTES {
        return Err(QueryError::Invalid(format!(
            "the expression is {} bytes long; at most {MAX_EXPRESSION_BYTES} are allowed",
            expr.len()
        )));
    }
    let bytes = expr.as_bytes();
    let (mut depth, mut operators) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            // Quoted identifiers, raw strings and JSON literals: skip to the closing quote.
            b'"' | b'\'' | b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'(' | b'{' => {
                depth += 1;
                operators += 1;
                if depth > MAX_NESTING {
                    return Err(QueryError::Invalid(format!(
                        "brackets nest deeper than {MAX_NESTING}"
                    )));
                }
            }
            b']' | b')' | b'}' => depth = depth.saturating_sub(1),
            b'.' | b'|' | b'!' | b'&' | b'<' | b'>' | b'=' | b',' => operators += 1,
            b'0'..=b'9' => {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let in_name = start > 0
                    && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
                if !in_name && expr[start..i].parse::<i32>().is_err() {
                    return Err(QueryError::Invalid(format!(
                        "`{}` is out of range: indexes and slices are 32-bit numbers",
                        &expr[start..i]
                    )));
                }
                continue;
            }
            _ => {}
        }
        if operators > MAX_OPERATORS {
            return Err(QueryError::Invalid(format!(
                "the expression has more than {MAX_OPERATORS} operators"
            )));
        }
        i += 1;
    }
    Ok(())
}

/// Parses a checked expression.
pub fn parse(expr: &str) -> QResult<Ast> {
    check_expression(expr)?;
    jmespath::parse(expr).map_err(|e| QueryError::Invalid(e.to_string()))
}

/// A value during a query: one of the file's (borrowed, with its place) or one the query
/// made. Made lists and objects are shared, so `[@, @]` costs two references.
#[derive(Clone, Debug)]
pub enum Q<'a> {
    File(&'a Value, JsonPath),
    Null,
    Bool(bool),
    Number(f64),
    String(Rc<str>),
    List(Rc<Vec<Q<'a>>>),
    /// Members sorted by name.
    Object(Rc<Vec<(Rc<str>, Q<'a>)>>),
    Expref(&'a Ast),
}

/// The JMESPath type of a value, for `type()` and messages.
fn type_name(q: &Q<'_>) -> &'static str {
    match q {
        Q::File(v, _) => match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        },
        Q::Null => "null",
        Q::Bool(_) => "boolean",
        Q::Number(_) => "number",
        Q::String(_) => "string",
        Q::List(_) => "array",
        Q::Object(_) => "object",
        Q::Expref(_) => "expref",
    }
}

/// A view of a value that does not care where it came from.
enum View<'q, 'a> {
    Null,
    Bool(bool),
    Number(f64),
    Str(&'q str),
    List(ListView<'q, 'a>),
    Object(ObjectView<'q, 'a>),
    Expref,
}

#[derive(Clone, Copy)]
enum ListView<'q, 'a> {
    File(&'a [Value], &'q JsonPath),
    Made(&'q [Q<'a>]),
}

#[derive(Clone, Copy)]
enum ObjectView<'q, 'a> {
    File(&'a [(std::sync::Arc<str>, Value)], &'q JsonPath),
    Made(&'q [(Rc<str>, Q<'a>)]),
}

impl<'a> Q<'a> {
    fn view(&self) -> View<'_, 'a> {
        match self {
            Q::File(v, path) => match v {
                Value::Null => View::Null,
                Value::Bool(b) => View::Bool(*b),
                Value::Number(n) => View::Number(n.as_f64().unwrap_or(f64::NAN)),
                Value::String(s) => View::Str(s),
                Value::Array(items) => View::List(ListView::File(items, path)),
                Value::Object(members) => View::Object(ObjectView::File(members, path)),
            },
            Q::Null => View::Null,
            Q::Bool(b) => View::Bool(*b),
            Q::Number(n) => View::Number(*n),
            Q::String(s) => View::Str(s),
            Q::List(items) => View::List(ListView::Made(items)),
            Q::Object(members) => View::Object(ObjectView::Made(members)),
            Q::Expref(_) => View::Expref,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.view(), View::Null)
    }

    fn is_truthy(&self) -> bool {
        match self.view() {
            View::Null => false,
            View::Bool(b) => b,
            View::Number(_) | View::Expref => true,
            View::Str(s) => !s.is_empty(),
            View::List(l) => l.len() > 0,
            View::Object(o) => o.len() > 0,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self.view() {
            View::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<f64> {
        match self.view() {
            View::Number(n) => Some(n),
            _ => None,
        }
    }
}

impl<'q, 'a> ListView<'q, 'a> {
    fn len(&self) -> usize {
        match self {
            ListView::File(items, _) => items.len(),
            ListView::Made(items) => items.len(),
        }
    }

    fn get(&self, i: usize, track: bool) -> Option<Q<'a>> {
        match self {
            ListView::File(items, path) => items.get(i).map(|v| {
                Q::File(
                    v,
                    if track {
                        path.index(i)
                    } else {
                        JsonPath::root()
                    },
                )
            }),
            ListView::Made(items) => items.get(i).cloned(),
        }
    }
}

impl<'q, 'a> ObjectView<'q, 'a> {
    fn len(&self) -> usize {
        match self {
            ObjectView::File(m, _) => m.len(),
            ObjectView::Made(m) => m.len(),
        }
    }

    fn get(&self, key: &str, track: bool) -> Option<Q<'a>> {
        match self {
            ObjectView::File(m, path) => {
                m.binary_search_by(|(k, _)| (**k).cmp(key)).ok().map(|i| {
                    let (k, v) = &m[i];
                    Q::File(
                        v,
                        if track {
                            path.key_shared(k)
                        } else {
                            JsonPath::root()
                        },
                    )
                })
            }
            ObjectView::Made(m) => m
                .binary_search_by(|(k, _)| (**k).cmp(key))
                .ok()
                .map(|i| m[i].1.clone()),
        }
    }

    fn entries(&self, track: bool) -> Vec<(Rc<str>, Q<'a>)> {
        match self {
            ObjectView::File(m, path) => m
                .iter()
                .map(|(k, v)| {
                    let p = if track {
                        path.key_shared(k)
                    } else {
                        JsonPath::root()
                    };
                    (Rc::from(&**k), Q::File(v, p))
                })
                .collect(),
            ObjectView::Made(m) => m.to_vec(),
        }
    }
}

/// Deep equality, as JMESPath compares values (numbers by value, objects by members).
fn equal(a: &Q<'_>, b: &Q<'_>, steps: &mut Budget) -> QResult<bool> {
    steps.step()?;
    Ok(match (a.view(), b.view()) {
        (View::Null, View::Null) => true,
        (View::Bool(x), View::Bool(y)) => x == y,
        (View::Number(x), View::Number(y)) => x == y,
        (View::Str(x), View::Str(y)) => x == y,
        (View::List(x), View::List(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for i in 0..x.len() {
                let (Some(p), Some(q)) = (x.get(i, false), y.get(i, false)) else {
                    return Ok(false);
                };
                if !equal(&p, &q, steps)? {
                    return Ok(false);
                }
            }
            true
        }
        (View::Object(x), View::Object(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (k, v) in x.entries(false) {
                match y.get(&k, false) {
                    Some(w) if equal(&v, &w, steps)? => {}
                    _ => return Ok(false),
                }
            }
            true
        }
        _ => false,
    })
}

/// The query's budget: steps, values made, and the rule's deadline.
pub struct Budget {
    steps: u64,
    made: u64,
    deadline: Option<std::time::Instant>,
}

impl Budget {
    pub fn new(deadline: Option<std::time::Instant>) -> Budget {
        Budget {
            steps: 0,
            made: 0,
            deadline,
        }
    }

    fn step(&mut self) -> QResult<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(QueryError::Limit(format!(
                "more than {MAX_STEPS} steps; narrow the expression"
            )));
        }
        if self.steps % 4096 == 0
            && self
                .deadline
                .is_some_and(|d| std::time::Instant::now() >= d)
        {
            return Err(QueryError::Limit(
                "the rule's time budget ran out during the query".into(),
            ));
        }
        Ok(())
    }

    /// Counts `n` values put into a new list or object.
    pub fn make(&mut self, n: usize) -> QResult<()> {
        self.made += n as u64;
        if self.made > MAX_MADE {
            return Err(QueryError::Limit(format!(
                "the query made more than {MAX_MADE} values; narrow the expression"
            )));
        }
        Ok(())
    }
}

/// Evaluates expressions over one root.
pub struct Eval<'b> {
    /// Whether results need their place in the file (`query`), or only their values
    /// (`tally`).
    pub track: bool,
    pub budget: &'b mut Budget,
}

fn list<'a>(items: Vec<Q<'a>>) -> Q<'a> {
    Q::List(Rc::new(items))
}

fn runtime<T>(message: impl Into<String>) -> QResult<T> {
    Err(QueryError::Runtime(message.into()))
}

impl Eval<'_> {
    /// The value of `ast` at `data`.
    pub fn eval<'a>(&mut self, ast: &'a Ast, data: &Q<'a>) -> QResult<Q<'a>> {
        self.budget.step()?;
        let track = self.track;
        match ast {
            Ast::Identity { .. } => Ok(data.clone()),
            Ast::Field { name, .. } => Ok(match data.view() {
                View::Object(o) => o.get(name, track).unwrap_or(Q::Null),
                _ => Q::Null,
            }),
            Ast::Subexpr { lhs, rhs, .. } => {
                let left = self.eval(lhs, data)?;
                self.eval(rhs, &left)
            }
            Ast::Literal { value, .. } => self.literal(value),
            Ast::Index { idx, .. } => Ok(match data.view() {
                View::List(l) => {
                    let i = i64::from(*idx);
                    let i = if i < 0 { l.len() as i64 + i } else { i };
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| l.get(i, track))
                        .unwrap_or(Q::Null)
                }
                _ => Q::Null,
            }),
            Ast::Or { lhs, rhs, .. } => {
                let left = self.eval(lhs, data)?;
                if left.is_truthy() {
                    Ok(left)
                } else {
                    self.eval(rhs, data)
                }
            }
            Ast::And { lhs, rhs, .. } => {
                let left = self.eval(lhs, data)?;
                if left.is_truthy() {
                    self.eval(rhs, data)
                } else {
                    Ok(left)
                }
            }
            Ast::Not { node, .. } => Ok(Q::Bool(!self.eval(node, data)?.is_truthy())),
            Ast::Condition {
                predicate, then, ..
            } => {
                if self.eval(predicate, data)?.is_truthy() {
                    self.eval(then, data)
                } else {
                    Ok(Q::Null)
                }
            }
            Ast::Comparison {
                comparator,
                lhs,
                rhs,
                ..
            } => {
                let (a, b) = (self.eval(lhs, data)?, self.eval(rhs, data)?);
                self.compare(comparator, &a, &b)
            }
            Ast::ObjectValues { node, .. } => {
                let subject = self.eval(node, data)?;
                match subject.view() {
                    View::Object(o) => {
                        let values: Vec<Q> = o.entries(track).into_iter().map(|(_, v)| v).collect();
                        self.budget.make(values.len())?;
                        Ok(list(values))
                    }
                    _ => Ok(Q::Null),
                }
            }
            Ast::Projection { lhs, rhs, .. } => {
                let left = self.eval(lhs, data)?;
                let View::List(items) = left.view() else {
                    return Ok(Q::Null);
                };
                let mut out = Vec::new();
                for i in 0..items.len() {
                    let Some(item) = items.get(i, track) else {
                        continue;
                    };
                    let v = self.eval(rhs, &item)?;
                    if !v.is_null() {
                        self.budget.make(1)?;
                        out.push(v);
                    }
                }
                Ok(list(out))
            }
            Ast::Flatten { node, .. } => {
                let subject = self.eval(node, data)?;
                let View::List(items) = subject.view() else {
                    return Ok(Q::Null);
                };
                let mut out = Vec::new();
                for i in 0..items.len() {
                    let Some(item) = items.get(i, track) else {
                        continue;
                    };
                    self.budget.step()?;
                    match item.view() {
                        View::List(inner) => {
                            self.budget.make(inner.len())?;
                            for j in 0..inner.len() {
                                if let Some(x) = inner.get(j, track) {
                                    out.push(x);
                                }
                            }
                        }
                        _ => {
                            self.budget.make(1)?;
                            out.push(item.clone());
                        }
                    }
                }
                Ok(list(out))
            }
            Ast::MultiList { elements, .. } => {
                if data.is_null() {
                    return Ok(Q::Null);
                }
                let mut out = Vec::with_capacity(elements.len());
                for e in elements {
                    out.push(self.eval(e, data)?);
                }
                self.budget.make(out.len())?;
                Ok(list(out))
            }
            Ast::MultiHash { elements, .. } => {
                if data.is_null() {
                    return Ok(Q::Null);
                }
                let mut out: BTreeMap<Rc<str>, Q> = BTreeMap::new();
                for kv in elements {
                    let v = self.eval(&kv.value, data)?;
                    out.insert(Rc::from(kv.key.as_str()), v);
                }
                self.budget.make(out.len())?;
                Ok(Q::Object(Rc::new(out.into_iter().collect())))
            }
            Ast::Function { name, args, .. } => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a, data)?);
                }
                self.function(name, values)
            }
            Ast::Expref { ast, .. } => Ok(Q::Expref(ast)),
            Ast::Slice {
                start, stop, step, ..
            } => {
                let View::List(items) = data.view() else {
                    return Ok(Q::Null);
                };
                if *step == 0 {
                    return runtime("a slice's step cannot be 0");
                }
                let picked = slice(items.len(), *start, *stop, *step);
                self.budget.make(picked.len())?;
                Ok(list(
                    picked
                        .into_iter()
                        .filter_map(|i| items.get(i, track))
                        .collect(),
                ))
            }
        }
    }

    fn compare<'a>(&mut self, c: &Comparator, a: &Q<'a>, b: &Q<'a>) -> QResult<Q<'a>> {
        let order = |x: f64, y: f64| x.partial_cmp(&y);
        Ok(match c {
            Comparator::Equal => Q::Bool(equal(a, b, self.budget)?),
            Comparator::NotEqual => Q::Bool(!equal(a, b, self.budget)?),
            _ => match (a.as_number(), b.as_number()) {
                (Some(x), Some(y)) => {
                    let o = order(x, y);
                    Q::Bool(match c {
                        Comparator::LessThan => o == Some(Ordering::Less),
                        Comparator::LessThanEqual => {
                            matches!(o, Some(Ordering::Less | Ordering::Equal))
                        }
                        Comparator::GreaterThan => o == Some(Ordering::Greater),
                        _ => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
                    })
                }
                _ => Q::Null,
            },
        })
    }

    /// A JSON literal of the expression (`` `"x"` ``, `` `[1, 2]` ``, `'raw'`).
    fn literal<'a>(&mut self, v: &Variable) -> QResult<Q<'a>> {
        self.budget.step()?;
        Ok(match v {
            Variable::Null | Variable::Expref(_) => Q::Null,
            Variable::Bool(b) => Q::Bool(*b),
            Variable::Number(n) => Q::Number(n.as_f64().unwrap_or(f64::NAN)),
            Variable::String(s) => Q::String(Rc::from(s.as_str())),
            Variable::Array(items) => {
                self.budget.make(items.len())?;
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.literal(i)?);
                }
                list(out)
            }
            Variable::Object(members) => {
                self.budget.make(members.len())?;
                let mut out = Vec::with_capacity(members.len());
                for (k, v) in members {
                    out.push((Rc::from(k.as_str()), self.literal(v)?));
                }
                Q::Object(Rc::new(out))
            }
        })
    }

    /// The items of a list argument.
    fn items<'a>(&self, name: &str, q: &Q<'a>) -> QResult<Vec<Q<'a>>> {
        match q.view() {
            View::List(l) => Ok((0..l.len()).filter_map(|i| l.get(i, self.track)).collect()),
            _ => runtime(format!("{name}() expects an array, got {}", type_name(q))),
        }
    }

    fn function<'a>(&mut self, name: &str, args: Vec<Q<'a>>) -> QResult<Q<'a>> {
        let arity = |n: usize| -> QResult<()> {
            if args.len() == n {
                Ok(())
            } else {
                runtime(format!(
                    "{name}() takes {n} argument{}, got {}",
                    if n == 1 { "" } else { "s" },
                    args.len()
                ))
            }
        };
        let wrong = |what: &str, q: &Q<'_>| -> QResult<Q<'a>> {
            runtime(format!("{name}() expects {what}, got {}", type_name(q)))
        };
        match name {
            "abs" | "ceil" | "floor" => {
                arity(1)?;
                let Some(n) = args[0].as_number() else {
                    return wrong("a number", &args[0]);
                };
                Ok(Q::Number(match name {
                    "abs" => n.abs(),
                    "ceil" => n.ceil(),
                    _ => n.floor(),
                }))
            }
            "avg" | "sum" => {
                arity(1)?;
                let items = self.items(name, &args[0])?;
                let mut total = 0.0;
                for i in &items {
                    self.budget.step()?;
                    match i.as_number() {
                        Some(n) => total += n,
                        None => return wrong("an array of numbers", i),
                    }
                }
                Ok(match (name, items.len()) {
                    ("avg", 0) => Q::Null,
                    ("avg", n) => Q::Number(total / n as f64),
                    _ => Q::Number(total),
                })
            }
            "contains" => {
                arity(2)?;
                match args[0].view() {
                    View::Str(s) => match args[1].as_str() {
                        Some(t) => Ok(Q::Bool(s.contains(t))),
                        None => Ok(Q::Bool(false)),
                    },
                    View::List(_) => {
                        for i in self.items(name, &args[0])? {
                            if equal(&i, &args[1], self.budget)? {
                                return Ok(Q::Bool(true));
                            }
                        }
                        Ok(Q::Bool(false))
                    }
                    _ => wrong("an array or a string", &args[0]),
                }
            }
            "starts_with" | "ends_with" => {
                arity(2)?;
                match (args[0].as_str(), args[1].as_str()) {
                    (Some(s), Some(p)) => Ok(Q::Bool(if name == "starts_with" {
                        s.starts_with(p)
                    } else {
                        s.ends_with(p)
                    })),
                    _ => runtime(format!("{name}() expects two strings")),
                }
            }
            "join" => {
                arity(2)?;
                let Some(glue) = args[0].as_str() else {
                    return wrong("a string to join with", &args[0]);
                };
                let items = self.items(name, &args[1])?;
                self.budget.make(items.len())?;
                let mut parts = Vec::with_capacity(items.len());
                for i in &items {
                    match i.as_str() {
                        Some(s) => parts.push(s),
                        None => return wrong("an array of strings", i),
                    }
                }
                Ok(Q::String(Rc::from(parts.join(glue))))
            }
            "keys" | "values" => {
                arity(1)?;
                let View::Object(o) = args[0].view() else {
                    return wrong("an object", &args[0]);
                };
                let entries = o.entries(self.track);
                self.budget.make(entries.len())?;
                Ok(list(
                    entries
                        .into_iter()
                        .map(|(k, v)| if name == "keys" { Q::String(k) } else { v })
                        .collect(),
                ))
            }
            "length" => {
                arity(1)?;
                Ok(Q::Number(match args[0].view() {
                    View::Str(s) => s.chars().count() as f64,
                    View::List(l) => l.len() as f64,
                    View::Object(o) => o.len() as f64,
                    _ => return wrong("a string, an array or an object", &args[0]),
                }))
            }
            "map" => {
                arity(2)?;
                let Q::Expref(ast) = args[0] else {
                    return wrong("an expression (&…) first", &args[0]);
                };
                let mut out = Vec::new();
                for i in self.items(name, &args[1])? {
                    out.push(self.eval(ast, &i)?);
                }
                self.budget.make(out.len())?;
                Ok(list(out))
            }
            "max" | "min" => {
                arity(1)?;
                let items = self.items(name, &args[0])?;
                self.extreme(name, items, None)
            }
            "max_by" | "min_by" => {
                arity(2)?;
                let Q::Expref(ast) = args[1] else {
                    return wrong("an expression (&…) second", &args[1]);
                };
                let items = self.items(name, &args[0])?;
                self.extreme(name, items, Some(ast))
            }
            "merge" => {
                let mut out: BTreeMap<Rc<str>, Q> = BTreeMap::new();
                for a in &args {
                    let View::Object(o) = a.view() else {
                        return wrong("objects", a);
                    };
                    let entries = o.entries(self.track);
                    self.budget.make(entries.len())?;
                    out.extend(entries);
                }
                Ok(Q::Object(Rc::new(out.into_iter().collect())))
            }
            "not_null" => {
                if args.is_empty() {
                    return runtime("not_null() takes at least one argument");
                }
                Ok(args.into_iter().find(|a| !a.is_null()).unwrap_or(Q::Null))
            }
            "reverse" => {
                arity(1)?;
                match args[0].view() {
                    View::Str(s) => Ok(Q::String(Rc::from(s.chars().rev().collect::<String>()))),
                    View::List(_) => {
                        let mut items = self.items(name, &args[0])?;
                        self.budget.make(items.len())?;
                        items.reverse();
                        Ok(list(items))
                    }
                    _ => wrong("an array or a string", &args[0]),
                }
            }
            "sort" | "sort_by" => {
                let by = if name == "sort_by" {
                    arity(2)?;
                    match args[1] {
                        Q::Expref(ast) => Some(ast),
                        _ => return wrong("an expression (&…) second", &args[1]),
                    }
                } else {
                    arity(1)?;
                    None
                };
                let items = self.items(name, &args[0])?;
                self.budget.make(items.len())?;
                let mut keyed = Vec::with_capacity(items.len());
                for i in items {
                    let key = match by {
                        Some(ast) => self.eval(ast, &i)?,
                        None => i.clone(),
                    };
                    keyed.push((sort_key(name, &key)?, i));
                }
                for (k, _) in &keyed {
                    if std::mem::discriminant(k) != std::mem::discriminant(&keyed[0].0) {
                        return runtime(format!(
                            "{name}() needs keys that are all numbers or all strings"
                        ));
                    }
                }
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(list(keyed.into_iter().map(|(_, v)| v).collect()))
            }
            "to_array" => {
                arity(1)?;
                Ok(match args[0].view() {
                    View::List(_) => args[0].clone(),
                    _ => {
                        self.budget.make(1)?;
                        list(vec![args[0].clone()])
                    }
                })
            }
            "to_number" => {
                arity(1)?;
                Ok(match args[0].view() {
                    View::Number(n) => Q::Number(n),
                    View::Str(s) => s.trim().parse::<f64>().map_or(Q::Null, Q::Number),
                    _ => Q::Null,
                })
            }
            "to_string" => {
                arity(1)?;
                match args[0].view() {
                    View::Str(_) => Ok(args[0].clone()),
                    _ => {
                        let text = self.to_json(&args[0])?.to_string();
                        self.budget.make(text.len() / 64)?;
                        Ok(Q::String(Rc::from(text)))
                    }
                }
            }
            "type" => {
                arity(1)?;
                Ok(Q::String(Rc::from(type_name(&args[0]))))
            }
            other => runtime(format!("unknown function {other}()")),
        }
    }

    fn extreme<'a>(
        &mut self,
        name: &str,
        items: Vec<Q<'a>>,
        by: Option<&'a Ast>,
    ) -> QResult<Q<'a>> {
        let mut best: Option<(SortKey, Q<'a>)> = None;
        for i in items {
            let key = match by {
                Some(ast) => self.eval(ast, &i)?,
                None => i.clone(),
            };
            let k = sort_key(name, &key)?;
            let better = match &best {
                None => true,
                Some((b, _)) => {
                    if std::mem::discriminant(b) != std::mem::discriminant(&k) {
                        return runtime(format!(
                            "{name}() needs values that are all numbers or all strings"
                        ));
                    }
                    if name.starts_with("max") {
                        k > *b
                    } else {
                        k < *b
                    }
                }
            };
            if better {
                best = Some((k, i));
            }
        }
        Ok(best.map_or(Q::Null, |(_, v)| v))
    }

    /// A made or file value as plain JSON (for `to_string`), within the budget.
    pub fn to_json(&mut self, q: &Q<'_>) -> QResult<serde_json::Value> {
        self.budget.step()?;
        Ok(match q.view() {
            View::Null | View::Expref => serde_json::Value::Null,
            View::Bool(b) => serde_json::Value::Bool(b),
            View::Number(n) => number_json(n),
            View::Str(s) => serde_json::Value::String(s.to_owned()),
            View::List(l) => {
                self.budget.make(l.len())?;
                let mut out = Vec::with_capacity(l.len());
                for i in 0..l.len() {
                    if let Some(x) = l.get(i, false) {
                        out.push(self.to_json(&x)?);
                    }
                }
                serde_json::Value::Array(out)
            }
            View::Object(o) => {
                let entries = o.entries(false);
                self.budget.make(entries.len())?;
                let mut out = serde_json::Map::new();
                for (k, v) in entries {
                    out.insert(k.to_string(), self.to_json(&v)?);
                }
                serde_json::Value::Object(out)
            }
        })
    }
}

/// A whole number that fits an integer exactly, as one.
pub fn as_integer(n: f64) -> Option<i64> {
    (n.fract() == 0.0 && n.abs() < 9.0e15).then_some(n as i64)
}

/// A number as JSON: whole numbers as integers.
pub fn number_json(n: f64) -> serde_json::Value {
    match as_integer(n) {
        Some(i) => serde_json::Value::from(i),
        None => serde_json::Number::from_f64(n)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
    }
}

/// What `sort`, `min` and `max` order by: numbers or strings, never a mix.
#[derive(Debug)]
enum SortKey {
    Number(f64),
    Text(String),
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (SortKey::Number(_), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Number(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

fn sort_key(name: &str, q: &Q<'_>) -> QResult<SortKey> {
    match q.view() {
        View::Number(n) => Ok(SortKey::Number(n)),
        View::Str(s) => Ok(SortKey::Text(s.to_owned())),
        _ => runtime(format!(
            "{name}() compares numbers or strings, got {}",
            type_name(q)
        )),
    }
}

/// The indexes a slice picks from a list of `len` items (Python's rules, in 64 bits).
fn slice(len: usize, start: Option<i32>, stop: Option<i32>, step: i32) -> Vec<usize> {
    let len = len as i64;
    let step = i64::from(step);
    let adjust = |v: i64| {
        if v < 0 {
            let v = v + len;
            if v >= 0 {
                v
            } else if step < 0 {
                -1
            } else {
                0
            }
        } else if v < len {
            v
        } else if step < 0 {
            len - 1
        } else {
            len
        }
    };
    let a = match start {
        Some(s) => adjust(i64::from(s)),
        None if step < 0 => len - 1,
        None => 0,
    };
    let b = match stop {
        Some(s) => adjust(i64::from(s)),
        None if step < 0 => -1,
        None => len,
    };
    let mut out = Vec::new();
    let mut i = a;
    while (step > 0 && i < b) || (step < 0 && i > b) {
        if let Ok(u) = usize::try_from(i) {
            out.push(u);
        }
        i += step;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &str, expr: &str) -> QResult<serde_json::Value> {
        let value =
            crate::snapshot::parse::parse(data).map_err(|e| QueryError::Invalid(e.to_string()))?;
        let ast = parse(expr)?;
        let mut budget = Budget::new(None);
        let mut e = Eval {
            track: true,
            budget: &mut budget,
        };
        let root = Q::File(&value, JsonPath::root());
        let q = e.eval(&ast, &root)?;
        e.to_json(&q)
    }

    /// Differential check against the jmespath crate's own interpreter, on expressions
    /// both accept.
    #[test]
    fn results_agree_with_the_jmespath_crate() {
        let data = r#"{"Users": [{"UserName": "alice", "Age": 3, "Tags": [{"Key": "a", "Value": "1"}], "Groups": ["x", "y"]},
                      {"UserName": "bob", "Age": 1, "Tags": [], "Groups": []},
                      {"UserName": "carol", "Age": 2, "Groups": ["y"]}],
                      "Map": {"k1": {"v": 1}, "k2": {"v": 2}}, "N": null, "S": "text"}"#;
        let exprs = [
            "Users[].UserName",
            "Users[?Age > `1`].UserName",
            "Users[?contains(Groups, 'y')].UserName",
            "Users[*].Tags[].Key",
            "Users[].Groups[]",
            "Users[0].UserName",
            "Users[-1].UserName",
            "Users[::-1].UserName",
            "Users[1:].UserName",
            "Map.*.v",
            "keys(Map)",
            "values(Map)[].v",
            "length(Users)",
            "sort_by(Users, &Age)[].UserName",
            "max_by(Users, &Age).UserName",
            "min_by(Users, &Age).UserName",
            "sort(Users[].UserName)",
            "join(', ', Users[].UserName)",
            "Users[?!Tags].UserName",
            "Users[?Tags && length(Tags) > `0`].UserName",
            "{names: Users[].UserName, n: length(Users)}",
            "[Users[0].UserName, S]",
            "N || S",
            "S && N",
            "type(Map)",
            "to_string(Users[0].Age)",
            "to_number('42')",
            "not_null(N, S)",
            "sum(Users[].Age)",
            "avg(Users[].Age)",
            "Users | [0]",
            "Users[].[UserName, Age]",
            "map(&UserName, Users)",
            "merge(Map, `{\"k3\": 3}`)",
            "reverse(S)",
            "starts_with(S, 'te')",
            "Users[?UserName == 'bob'].Age | [0]",
            "Users[?Age >= `2` && Age <= `3`] | length(@)",
            "nope.nope",
            "Users[10]",
        ];
        for expr in exprs {
            let ours = run(data, expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            let theirs = jmespath::compile(expr)
                .and_then(|c| c.search(jmespath::Variable::from_json(data).unwrap()))
                .unwrap();
            let theirs: serde_json::Value = serde_json::to_value(&*theirs).unwrap();
            // The crate prints whole floats as 3.0; numbers compare by value.
            let same = serde_json::to_string(&ours).unwrap().replace(".0", "")
                == serde_json::to_string(&theirs).unwrap().replace(".0", "");
            assert!(same, "{expr}: ours {ours}, theirs {theirs}");
        }
    }

    #[test]
    fn hostile_expressions_are_refused_before_parsing() {
        for bad in [
            "Users[2147483648]".to_owned(),
            "Users[-2147483649]".to_owned(),
            "Users[:99999999999]".to_owned(),
            format!("Users{}", "[?a]".repeat(3000)),
            "(".repeat(5000),
            "!".repeat(5000),
            ".a".repeat(5000),
            "a|".repeat(5000),
        ] {
            assert!(
                matches!(parse(&bad), Err(QueryError::Invalid(_))),
                "{}",
                &bad[..bad.len().min(40)]
            );
        }
        assert!(parse("Users[2147483647]").is_ok());
        assert!(parse("a123.b_456").is_ok());
        assert!(
            parse("'99999999999999'").is_ok(),
            "digits inside a raw string"
        );
    }

    #[test]
    fn queries_that_blow_up_stop_at_their_budget() {
        let data = r#"{"Users": [1, 2, 3, 4]}"#;
        let doubling = format!("Users{}", " | [@, @] | []".repeat(40));
        assert!(matches!(run(data, &doubling), Err(QueryError::Limit(_))));
        // Sharing keeps a chain of multiselects cheap; rendering it is bounded too.
        let shared = format!("Users{}", " | [@, @]".repeat(27));
        assert!(matches!(run(data, &shared), Err(QueryError::Limit(_))));
    }
}
