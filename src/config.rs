//! `snapaudit.toml`: organisation settings read by rules, and the sandbox limits.
//!
//! Every setting has a built-in default (`src/config_defaults.toml`, documented in
//! docs/config.md); a user's file overrides them key by key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::diagnostic::{Kind, Problem, SourceFile};

pub const DEFAULTS: &str = include_str!("config_defaults.toml");

/// Settings (`[settings]`) as rules see them, and limits (`[limits]`).
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Arc<BTreeMap<String, toml::Value>>,
    pub limits: Limits,
    /// `[diff] volatile`: values `diff` leaves out of resource changes; `None` = the
    /// built-in list.
    pub volatile: Option<Vec<String>>,
    /// `policies = [...]`: rule directories added to the bundled pack (relative to the
    /// config file's directory).
    pub policies: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffSection {
    #[serde(default)]
    volatile: Option<Vec<String>>,
}

/// The range each limit may be set to (inclusive). Rules run on threads with a large stack
/// (`engine::RULE_STACK_BYTES`); within these bounds no rule can overflow it (a tested
/// guarantee: tests/failure_modes.rs), exhaust the machine's memory or hang the run.
/// `max_expr_depth = 0` would mean "unlimited" to Rhai, so it is refused.
pub const LIMIT_CAPS: &[(&str, i64, i64)] = &[
    ("max_operations", 1, 10_000_000_000),
    ("max_call_levels", 1, 256),
    ("max_expr_depth", 1, 512),
    ("max_string_size", 1, 256 << 20),
    ("max_array_size", 1, 20_000_000),
    ("max_map_size", 1, 20_000_000),
    ("timeout_ms", 1, 600_000),
    ("max_findings", 1, 10_000_000),
    ("max_snapshot_file_mb", 1, 16_384),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    pub timeout_ms: u64,
    pub max_findings: u64,
    pub max_snapshot_file_mb: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    policies: Vec<PathBuf>,
    #[serde(default)]
    settings: BTreeMap<String, toml::Value>,
    #[serde(default)]
    limits: Option<toml::Table>,
    #[serde(default)]
    diff: Option<DiffSection>,
}

impl Limits {
    /// How a snapshot is loaded under these limits.
    pub fn load_options(
        &self,
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    ) -> crate::snapshot::load::LoadOptions {
        crate::snapshot::load::LoadOptions {
            as_of,
            max_file_bytes: self.max_snapshot_file_mb.saturating_mul(1 << 20),
        }
    }
}

impl Config {
    /// The built-in defaults.
    #[expect(
        clippy::expect_used,
        reason = "the defaults are part of the binary, and a unit test parses them"
    )]
    pub fn defaults() -> Config {
        parse(DEFAULTS, "<built-in defaults>", None).expect("the built-in defaults parse")
    }

    /// Loads `path` over the defaults; its `policies` are relative to its directory.
    pub fn load(path: &Path) -> Result<Config, Box<Problem>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Box::new(Problem::new(
                Kind::ConfigIo,
                format!("cannot read config `{}`: {e}", path.display()),
            ))
        })?;
        let mut config = Config::from_text(&text, &path.display().to_string())?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in &mut config.policies {
            *p = dir.join(&*p);
        }
        Ok(config)
    }

    /// Parses a config file's text (named `name` in diagnostics) over the defaults.
    pub fn from_text(text: &str, name: &str) -> Result<Config, Box<Problem>> {
        parse(text, name, Some(&Config::defaults()))
    }
}

fn parse(text: &str, name: &str, base: Option<&Config>) -> Result<Config, Box<Problem>> {
    let source = || SourceFile::new(name, text);
    let file: File = toml::from_str(text).map_err(|e| {
        let (o, l) = e.span().map(|r| (r.start, r.end - r.start)).unwrap_or((0, 0));
        Box::new(
            Problem::new(Kind::ConfigInvalid, format!("`{name}` is not a valid snapaudit config: {}", e.message()))
                .with_help("keys: policies (rule directories added to the pack); sections: [settings] (values rules read), [limits] (sandbox limits) and [diff] (volatile values); see docs/config.md")
                .at(source(), o, l, "here"),
        )
    })?;
    let mut settings = match base {
        Some(b) => (*b.settings).clone(),
        None => BTreeMap::new(),
    };
    // Where a key is written: the line that starts with it, for diagnostics.
    let key_at = |k: &str| {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let t = line.trim_start();
            if t.strip_prefix(k)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
            {
                return offset + (line.len() - t.len());
            }
            offset += line.len();
        }
        0
    };
    for (k, v) in file.settings {
        if let Some(default) = base.and_then(|b| b.settings.get(&k)) {
            // A value of another type than the default would make a rule's comparison
            // silently false (a number is never less than a string).
            if default.type_str() != v.type_str() {
                return Err(Box::new(
                    Problem::new(
                        Kind::ConfigWrongType,
                        format!(
                            "setting `{k}` must be {}, like its default `{default}`",
                            article(default.type_str())
                        ),
                    )
                    .at(
                        source(),
                        key_at(&k),
                        k.len(),
                        format!("this is {}", article(v.type_str())),
                    ),
                ));
            }
            // The items of a list too: `admin_ports = ["22"]` would never match a port.
            if let (Some(want), Some(items)) = (
                default
                    .as_array()
                    .and_then(|d| d.first())
                    .map(toml::Value::type_str),
                v.as_array(),
            ) {
                if let Some((i, item)) =
                    items.iter().enumerate().find(|(_, x)| x.type_str() != want)
                {
                    return Err(Box::new(
                        Problem::new(
                            Kind::ConfigWrongType,
                            format!(
                                "setting `{k}` must be a list of {want}s, like its default `{default}`; item {} is {}",
                                i + 1,
                                article(item.type_str())
                            ),
                        )
                        .at(source(), key_at(&k), k.len(), "here"),
                    ));
                }
            }
        }
        if let Some(b) = base {
            if !b.settings.contains_key(&k) && !k.starts_with("x_") {
                // Unknown keys are allowed for the user's own rules, but a near-miss of a
                // known key is almost always a typo.
                if let Some(near) = closest(&k, b.settings.keys()) {
                    return Err(Box::new(
                        Problem::new(Kind::ConfigUnknownSetting, format!("unknown setting `{k}`"))
                            .with_help(format!("did you mean `{near}`?"))
                            .at(source(), key_at(&k), k.len(), "not a known setting"),
                    ));
                }
            }
        }
        settings.insert(k, v);
    }
    let mut limits_table = match base {
        Some(_) => default_limits(),
        None => toml::Table::new(),
    };
    if let Some(user) = file.limits {
        for (k, v) in user {
            limits_table.insert(k, v);
        }
    }
    for (key, min, max) in LIMIT_CAPS {
        let Some(v) = limits_table.get(*key).and_then(toml::Value::as_integer) else {
            continue;
        };
        if v < *min || v > *max {
            return Err(Box::new(
                Problem::new(
                    Kind::ConfigInvalid,
                    format!("`{name}` [limits]: `{key} = {v}` is outside {min}..={max}"),
                )
                .with_help("past these bounds a rule could overflow its thread's stack, exhaust the machine's memory or hang the run (docs/config.md#limits)")
                .at(source(), key_at(key), key.len(), "here"),
            ));
        }
    }
    let limits: Limits = toml::Value::Table(limits_table).try_into().map_err(|e: toml::de::Error| {
        Box::new(
            Problem::new(Kind::ConfigInvalid, format!("`{name}` [limits]: {}", e.message()))
                .with_help("limits: max_operations, max_call_levels, max_expr_depth, max_string_size, max_array_size, max_map_size, timeout_ms, max_findings, max_snapshot_file_mb")
                .at(source(), text.find("[limits]").unwrap_or(0), 8, "here"),
        )
    })?;
    Ok(Config {
        policies: file.policies,
        settings: Arc::new(settings),
        limits,
        volatile: file
            .diff
            .and_then(|d| d.volatile)
            .or_else(|| base.and_then(|b| b.volatile.clone())),
    })
}

/// The `[limits]` table of the built-in defaults.
#[expect(
    clippy::expect_used,
    reason = "the defaults are part of the binary, and a unit test parses them"
)]
fn default_limits() -> toml::Table {
    toml::from_str::<File>(DEFAULTS)
        .expect("the built-in defaults parse")
        .limits
        .expect("the built-in defaults have a [limits] table")
}

fn article(toml_type: &str) -> String {
    match toml_type {
        "integer" | "array" => format!("an {toml_type}"),
        other => format!("a {other}"),
    }
}

/// The closest name by edit distance, when close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    candidates
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_user_values_override() {
        let d = Config::defaults();
        assert_eq!(
            d.settings
                .get("min_password_length")
                .and_then(|v| v.as_integer()),
            Some(14)
        );
        assert_eq!(d.limits.timeout_ms, 10_000);
        let c = parse(
            "[settings]\nmin_password_length = 16\n[limits]\ntimeout_ms = 50\n",
            "t.toml",
            Some(&d),
        )
        .map_err(|e| e.message)
        .expect("parses");
        assert_eq!(
            c.settings
                .get("min_password_length")
                .and_then(|v| v.as_integer()),
            Some(16)
        );
        assert_eq!(
            c.settings
                .get("access_key_max_age_days")
                .and_then(|v| v.as_integer()),
            Some(90)
        );
        assert_eq!(c.limits.timeout_ms, 50);
        assert_eq!(c.limits.max_call_levels, 64);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused() {
        let err = parse(
            "# min_password_length\n[settings]\nmin_password_length = \"16\"\n",
            "t.toml",
            Some(&Config::defaults()),
        )
        .expect_err("refused");
        assert_eq!(
            err.message,
            "setting `min_password_length` must be an integer, like its default `14`"
        );
        assert_eq!(err.line_col(), Some((3, 1)));
    }

    #[test]
    fn list_items_of_the_wrong_type_are_refused() {
        let err = parse(
            "[settings]\nadmin_ports = [22, \"3389\"]\n",
            "t.toml",
            Some(&Config::defaults()),
        )
        .expect_err("refused");
        assert!(
            err.message.contains("item 2 is a string"),
            "{}",
            err.message
        );
        assert_eq!(err.line_col(), Some((2, 1)));
        assert!(parse(
            "[settings]\nadmin_ports = [22, 3389, 5432]\n",
            "t.toml",
            Some(&Config::defaults())
        )
        .is_ok());
    }

    #[test]
    fn typos_are_refused_with_a_suggestion() {
        let err = parse(
            "[settings]\nmin_pasword_length = 16\n",
            "t.toml",
            Some(&Config::defaults()),
        )
        .expect_err("refused");
        assert_eq!(
            err.help.as_deref(),
            Some("did you mean `min_password_length`?")
        );
        assert_eq!(err.line_col(), Some((2, 1)));
        let err = parse("[setings]\n", "t.toml", Some(&Config::defaults())).expect_err("refused");
        assert!(err.message.contains("unknown field"), "{}", err.message);
    }
}
