//! Rule files → compiled ASTs with metadata, and the sandbox they run in.

pub mod api;
pub mod context;
pub mod framework;
pub mod helpers;
pub mod meta;
pub mod query;
pub mod sandbox;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::{Dynamic, Engine, Scope, AST};

pub use meta::{RuleMeta, Severity};

use crate::diagnostic::{Kind, Problem, SourceFile};
use crate::scan::SourceScan;
use crate::snapshot::Snapshot;

/// What rules read: the loaded snapshot and, beside it, the source trees scanned for the
/// account's keys (`check --source`). Neither changes while rules run.
#[derive(Debug)]
pub struct Inputs {
    pub snapshot: Arc<Snapshot>,
    pub sources: Option<Arc<SourceScan>>,
}

/// The default pack, built into the binary (`build.rs` embeds `policies/**/*.rhai` and
/// `policies/frameworks/*.toml`).
pub mod bundled {
    include!(concat!(env!("OUT_DIR"), "/pack.rs"));
}

/// Where a rule came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The pack built into the binary (named by its path in snapaudit's source tree).
    Bundled,
    /// A directory of the user's (`--policies DIR`, or `policies` in snapaudit.toml).
    Dir(PathBuf),
}

impl Origin {
    /// How `snapaudit rules` names it.
    pub fn describe(&self) -> String {
        match self {
            Origin::Bundled => "bundled".to_owned(),
            Origin::Dir(dir) => dir.display().to_string(),
        }
    }
}

/// Which rules to load: the bundled pack (unless left out) and the user's directories,
/// whose rules are added to it; a user rule with the id of a bundled rule replaces it.
#[derive(Debug, Clone)]
pub struct Pack {
    pub bundled: bool,
    pub dirs: Vec<PathBuf>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub meta: RuleMeta,
    /// The file as shown to users.
    pub file: String,
    pub source: SourceFile,
    pub ast: AST,
    pub origin: Origin,
    /// The bundled rule (its file) this user rule replaces.
    pub replaces: Option<String>,
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
    /// Problems with the directories themselves, and with the frameworks.
    pub problems: Vec<Problem>,
    /// The frameworks beside the rules (bundled, and the directories' `frameworks/`).
    pub frameworks: Vec<framework::Framework>,
}

/// Every `*.rhai` file under `dir`, sorted by path.
pub fn rule_files(dir: &Path, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        problems.push(
            Problem::new(
                Kind::RuleDirectory,
                format!("policy directory `{}` does not exist", dir.display()),
            )
            .with_help(
                "name an existing directory with --policies, or in `policies` in snapaudit.toml",
            ),
        );
        return files;
    }
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        match entry {
            Ok(e)
                if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rhai") =>
            {
                files.push(e.into_path())
            }
            Ok(_) => {}
            Err(e) => problems.push(Problem::new(
                Kind::RuleIo,
                format!("cannot read policy directory: {e}"),
            )),
        }
    }
    files
}

/// Loads and compiles the rules of `pack`. Broken files are kept as diagnostics; the rest
/// load. The user's rules come first: a bundled rule whose id a user rule (loaded or
/// broken) has is replaced by it.
pub fn load(engine: &Engine, pack: &Pack) -> RuleSet {
    let mut set = RuleSet::default();
    let mut seen: HashMap<String, String> = HashMap::new();
    for dir in &pack.dirs {
        for path in rule_files(dir, &mut set.problems) {
            match compile_file(engine, &path, Origin::Dir(dir.clone())) {
                Ok(rule) => {
                    if let Some(first) = seen.get(&rule.meta.id) {
                        let problem = Problem::new(
                            Kind::RuleDuplicateId,
                            format!("rule id `{}` is already used by `{first}`", rule.meta.id),
                        )
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
                Err(broken) => {
                    if let Some(meta) = &broken.id {
                        seen.entry(meta.id.clone()).or_insert(broken.file.clone());
                    }
                    set.broken.push(*broken)
                }
            }
        }
    }
    if pack.bundled {
        for (file, text) in bundled::RULES {
            match compile_source(engine, SourceFile::new(*file, *text), Origin::Bundled) {
                Ok(rule) => {
                    if seen.contains_key(&rule.meta.id) {
                        if let Some(user) = set.rules.iter_mut().find(|r| r.meta.id == rule.meta.id)
                        {
                            user.replaces = Some(rule.file);
                        }
                        continue;
                    }
                    set.rules.push(rule);
                }
                Err(broken) => set.broken.push(*broken),
            }
        }
    }
    set.rules.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
    set.frameworks = framework::load(&pack.dirs, pack.bundled, &mut set.problems);
    let unknown = framework::unknown_rules(&set.frameworks, |id| {
        set.rules.iter().any(|r| r.meta.id == id)
            || set
                .broken
                .iter()
                .any(|b| b.id.as_ref().is_some_and(|m| m.id == id))
    });
    set.problems.extend(unknown);
    framework::assign_cis(&set.frameworks, &mut set.rules);
    set
}

/// Reads, parses the header of, and compiles one rule file.
pub fn compile_file(engine: &Engine, path: &Path, origin: Origin) -> Result<Rule, Box<BrokenRule>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Box::new(BrokenRule {
            id: None,
            file: file.clone(),
            problem: Problem::new(Kind::RuleIo, format!("cannot read rule `{file}`: {e}"))
                .with_file(file.clone()),
        })
    })?;
    compile_source(engine, SourceFile::new(file, text), origin)
}

/// Compiles a rule from its text.
pub fn compile_source(
    engine: &Engine,
    source: SourceFile,
    origin: Origin,
) -> Result<Rule, Box<BrokenRule>> {
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
            origin,
            replaces: None,
        }),
        Err(e) => {
            let (line, col) = (e.1.line().unwrap_or(1), e.1.position().unwrap_or(1));
            let offset = miette::SourceOffset::from_location(&*source.text, line, col).offset();
            let problem = Problem::new(
                Kind::RuleSyntax,
                format!("rule `{}` does not compile: {}", meta.id, e.0),
            )
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
