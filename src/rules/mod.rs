//! Rule files → compiled ASTs with metadata, and the sandbox they run in.

pub mod api;
pub mod context;
pub mod meta;
pub mod sandbox;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rhai::{Dynamic, Engine, Scope, AST};

pub use meta::{RuleMeta, Severity};

use crate::snapshot::{Problem, SourceFile};

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub meta: RuleMeta,
    /// The file as shown to users.
    pub file: String,
    pub source: SourceFile,
    pub ast: AST,
}

/// Names rules see as globals.
pub const GLOBALS: [&str; 3] = ["snapshot", "config", "rule"];

/// A rule file that could not be loaded: its diagnostic, and its id when the header was
/// readable (so the run can report that rule as `error`).
#[derive(Debug, Clone)]
pub struct BrokenRule {
    pub id: Option<RuleMeta>,
    pub file: String,
    pub problem: Problem,
}

#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub broken: Vec<BrokenRule>,
    /// Problems with the directories themselves.
    pub problems: Vec<Problem>,
}

/// Every `*.rhai` file under `dirs`, sorted by path.
pub fn rule_files(dirs: &[PathBuf], problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            problems.push(
                Problem::error(
                    "rule::directory",
                    format!("policy directory `{}` does not exist", dir.display()),
                )
                .with_help("pass an existing directory with --policies"),
            );
            continue;
        }
        for entry in walkdir::WalkDir::new(dir)
            .follow_links(false)
            .sort_by_file_name()
        {
            match entry {
                Ok(e)
                    if e.file_type().is_file()
                        && e.path().extension().is_some_and(|x| x == "rhai") =>
                {
                    files.push(e.into_path())
                }
                Ok(_) => {}
                Err(e) => problems.push(Problem::error(
                    "rule::io",
                    format!("cannot read policy directory: {e}"),
                )),
            }
        }
    }
    files
}

/// Loads and compiles every rule under `dirs`. Broken files are kept as diagnostics; the
/// rest load.
pub fn load(engine: &Engine, dirs: &[PathBuf]) -> RuleSet {
    let mut set = RuleSet::default();
    let files = rule_files(dirs, &mut set.problems);
    let mut seen: HashMap<String, String> = HashMap::new();
    for path in files {
        match compile_file(engine, &path) {
            Ok(rule) => {
                if let Some(first) = seen.get(&rule.meta.id) {
                    let problem = Problem::error(
                        "rule::duplicate-id",
                        format!("rule id `{}` is already used by `{first}`", rule.meta.id),
                    )
                    .with_help("rule ids must be unique across all policy directories")
                    .with_file(rule.file.clone());
                    set.broken.push(BrokenRule {
                        id: None,
                        file: rule.file,
                        problem,
                    });
                    continue;
                }
                seen.insert(rule.meta.id.clone(), rule.file.clone());
                set.rules.push(rule);
            }
            Err(broken) => set.broken.push(*broken),
        }
    }
    set.rules.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
    set
}

/// Reads, parses the header of, and compiles one rule file.
pub fn compile_file(engine: &Engine, path: &Path) -> Result<Rule, Box<BrokenRule>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Box::new(BrokenRule {
            id: None,
            file: file.clone(),
            problem: Problem::error("rule::io", format!("cannot read rule `{file}`: {e}"))
                .with_file(file.clone()),
        })
    })?;
    compile_source(engine, SourceFile::new(file, text))
}

/// Compiles a rule from its text.
pub fn compile_source(engine: &Engine, source: SourceFile) -> Result<Rule, Box<BrokenRule>> {
    let file = source.name.clone();
    let meta = meta::parse_header(&source).map_err(|p| {
        Box::new(BrokenRule {
            id: None,
            file: file.clone(),
            problem: p.with_file(file.clone()),
        })
    })?;
    let mut scope = Scope::new();
    for g in GLOBALS {
        scope.push(g, Dynamic::UNIT);
    }
    match engine.compile_with_scope(&scope, &*source.text) {
        Ok(ast) => Ok(Rule {
            meta,
            file,
            source,
            ast,
        }),
        Err(e) => {
            let (line, col) = (e.1.line().unwrap_or(1), e.1.position().unwrap_or(1));
            let offset = miette::SourceOffset::from_location(&*source.text, line, col).offset();
            let problem = Problem::error(
                "rule::syntax",
                format!("rule `{}` does not compile: {}", meta.id, e.0),
            )
            .with_help("fix the rule; the other rules still run")
            .with_file(file.clone())
            .at(source, offset, 1, "here");
            Err(Box::new(BrokenRule {
                id: Some(meta),
                file,
                problem,
            }))
        }
    }
}
