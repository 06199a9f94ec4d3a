//! Paths of values inside a JSON document, shared cheaply between values.

use std::fmt::Write as _;
use std::sync::Arc;

/// One step from a JSON value to one of its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(Arc<str>),
    Index(usize),
}

#[derive(Debug)]
struct Link {
    parent: JsonPath,
    step: Step,
}

/// A path from a document's root to a value: a persistent list, so a child's path is one
/// allocation that shares its parent's.
#[derive(Debug, Clone, Default)]
pub struct JsonPath(Option<Arc<Link>>);

impl JsonPath {
    pub fn root() -> Self {
        JsonPath(None)
    }

    pub fn child(&self, step: Step) -> Self {
        JsonPath(Some(Arc::new(Link {
            parent: self.clone(),
            step,
        })))
    }

    pub fn key(&self, key: &str) -> Self {
        self.child(Step::Key(Arc::from(key)))
    }

    /// A member step with a name that is already shared (a loaded object's member name).
    pub fn key_shared(&self, key: &Arc<str>) -> Self {
        self.child(Step::Key(key.clone()))
    }

    pub fn index(&self, index: usize) -> Self {
        self.child(Step::Index(index))
    }

    /// The steps from the root, in order.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        let mut cur = &self.0;
        while let Some(link) = cur {
            steps.push(link.step.clone());
            cur = &link.parent.0;
        }
        steps.reverse();
        steps
    }

    /// The last step, if any.
    pub fn last(&self) -> Option<&Step> {
        self.0.as_ref().map(|l| &l.step)
    }

    /// RFC 6901 JSON pointer (`/SecurityGroups/3/GroupId`).
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for step in self.steps() {
            out.push('/');
            match step {
                Step::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
                Step::Index(i) => {
                    let _ = write!(out, "{i}");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_escapes_rfc6901() {
        let p = JsonPath::root().key("a/b").index(3).key("m~n");
        assert_eq!(p.pointer(), "/a~1b/3/m~0n");
        assert_eq!(JsonPath::root().pointer(), "");
    }
}
