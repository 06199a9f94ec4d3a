//! Frameworks: a benchmark's controls and the rules that decide each, as data beside the
//! pack (`policies/frameworks/<id>.toml`, and `frameworks/*.toml` in a user's policy
//! directory). `check --compliance ID` reads them, and a rule's CIS ids come from the
//! framework named [`CIS`]. The format is in docs/compliance.md.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::{meta, Origin, Rule};
use crate::diagnostic::{Kind, Problem, SourceFile};

/// The framework whose control ids are a rule's `cis` ids in every output.
pub const CIS: &str = "cis-aws-7.0";

/// The folder of a policy directory (and of the pack) that holds framework files.
pub const DIR: &str = "frameworks";

/// How CIS marks a control: decided by checking configuration, or by a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Assessment {
    Automated,
    Manual,
}

impl Assessment {
    pub fn as_str(self) -> &'static str {
        match self {
            Assessment::Automated => "automated",
            Assessment::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: toml::Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub section: String,
    pub assessment: Assessment,
    /// The rules that decide the control: it passes when all of them pass.
    #[serde(default)]
    pub rules: Vec<toml::Spanned<String>>,
    /// For the reviewer of a control no rule decides: what the snapshot shows.
    #[serde(default)]
    pub review: String,
}

impl Control {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }

    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.get_ref().as_str())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub title: String,
    #[serde(rename = "control", default)]
    pub controls: Vec<Control>,
    /// The file, as shown to users.
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub source: Option<SourceFile>,
    #[serde(skip)]
    pub origin: Option<Origin>,
}

/// Parses and checks one framework file: a valid id, every control id once, rule ids that
/// could be rule ids.
pub fn parse(source: SourceFile, origin: Origin) -> Result<Framework, Box<Problem>> {
    let invalid = |message: String, at: Option<std::ops::Range<usize>>| {
        let p = Problem::new(Kind::FrameworkInvalid, message).with_file(source.name.clone());
        Box::new(match at {
            Some(r) => p.at(source.clone(), r.start, r.end - r.start, "here"),
            None => p,
        })
    };
    let mut framework: Framework = toml::from_str(&source.text).map_err(|e| {
        invalid(
            format!(
                "invalid framework file `{}`: {}",
                source.name,
                e.message().trim_end()
            ),
            e.span(),
        )
    })?;
    if !meta::is_valid_id(&framework.id) {
        return Err(invalid(
            format!(
                "framework id {:?} is not an id",
                framework.id.chars().take(80).collect::<String>()
            ),
            None,
        ));
    }
    let mut seen = HashSet::new();
    for control in &framework.controls {
        if !seen.insert(control.id()) {
            return Err(invalid(
                format!("control `{}` is listed twice", control.id()),
                Some(control.id.span()),
            ));
        }
        if let Some(bad) = control
            .rules
            .iter()
            .find(|r| !meta::is_valid_id(r.get_ref()))
        {
            return Err(invalid(
                format!("{:?} is not a rule id", bad.get_ref()),
                Some(bad.span()),
            ));
        }
    }
    framework.file = source.name.clone();
    framework.origin = Some(origin);
    framework.source = Some(source);
    Ok(framework)
}

/// The framework files of a policy directory (`DIR/frameworks/*.toml`), sorted by name.
pub fn files(dir: &Path, problems: &mut Vec<Problem>) -> Vec<std::path::PathBuf> {
    let dir = dir.join(DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            problems.push(Problem::new(
                Kind::FrameworkInvalid,
                format!("cannot read `{}`: {e}", dir.display()),
            ));
            return Vec::new();
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        match entry.and_then(|e| Ok((e.file_type()?, e.path()))) {
            Ok((kind, path)) if kind.is_file() && path.extension().is_some_and(|x| x == "toml") => {
                files.push(path)
            }
            Ok(_) => {}
            Err(e) => problems.push(Problem::new(
                Kind::FrameworkInvalid,
                format!("cannot read `{}`: {e}", dir.display()),
            )),
        }
    }
    files.sort();
    files
}

/// Loads the frameworks: the user's directories first (a file with the id of a bundled
/// framework replaces it; two user files with one id: the first stays), then the bundled
/// ones. Sorted by id.
pub fn load(
    dirs: &[std::path::PathBuf],
    bundled: bool,
    problems: &mut Vec<Problem>,
) -> Vec<Framework> {
    let mut found: BTreeMap<String, Framework> = BTreeMap::new();
    let mut add =
        |result: Result<Framework, Box<Problem>>, problems: &mut Vec<Problem>| match result {
            Ok(f) => match found.get(&f.id) {
                Some(first) if f.origin != Some(Origin::Bundled) => problems.push(
                    Problem::new(
                        Kind::FrameworkInvalid,
                        format!(
                            "framework id `{}` is already used by `{}`",
                            f.id, first.file
                        ),
                    )
                    .with_file(f.file.clone()),
                ),
                Some(_) => {}
                None => {
                    found.insert(f.id.clone(), f);
                }
            },
            Err(p) => problems.push(*p),
        };
    for dir in dirs {
        for path in files(dir, problems) {
            let result = std::fs::read_to_string(&path)
                .map_err(|e| {
                    Box::new(Problem::new(
                        Kind::FrameworkInvalid,
                        format!("cannot read `{}`: {e}", path.display()),
                    ))
                })
                .and_then(|text| {
                    parse(
                        SourceFile::new(path.display().to_string(), text),
                        Origin::Dir(dir.clone()),
                    )
                });
            add(result, problems);
        }
    }
    if bundled {
        for (file, text) in super::bundled::FRAMEWORKS {
            add(
                parse(SourceFile::new(*file, *text), Origin::Bundled),
                problems,
            );
        }
    }
    found.into_values().collect()
}

/// Warnings for the controls that name a rule that is not loaded (`known` says which are).
pub fn unknown_rules(frameworks: &[Framework], known: impl Fn(&str) -> bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    for framework in frameworks {
        for control in &framework.controls {
            for rule in control.rules.iter().filter(|r| !known(r.get_ref())) {
                let p = Problem::new(
                    Kind::FrameworkUnknownRule,
                    format!(
                        "control {} of `{}` names rule `{}`, which is not loaded",
                        control.id(),
                        framework.id,
                        rule.get_ref()
                    ),
                )
                .with_file(framework.file.clone());
                problems.push(match &framework.source {
                    Some(source) => p.at(
                        source.clone(),
                        rule.span().start,
                        rule.span().len(),
                        "this rule",
                    ),
                    None => p,
                });
            }
        }
    }
    problems
}

/// Gives each rule its CIS ids: the controls of [`CIS`] that name it.
pub fn assign_cis(frameworks: &[Framework], rules: &mut [Rule]) {
    let Some(cis) = frameworks.iter().find(|f| f.id == CIS) else {
        return;
    };
    for rule in rules {
        rule.meta.cis = cis
            .controls
            .iter()
            .filter(|c| c.rule_ids().any(|r| r == rule.meta.id))
            .map(|c| c.id().to_owned())
            .collect();
    }
}
