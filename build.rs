//! Embeds the default rule pack (`policies/**/*.rhai`) in the binary, so that an installed
//! or copied `snapaudit` audits with the full pack wherever it runs, and the frameworks
//! beside it (`policies/frameworks/*.toml`). Writes `$OUT_DIR/pack.rs`: the rules' and the
//! frameworks' paths (as in this repository) and texts, sorted by path.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Every file under `dir` (recursively when `deep`) whose extension is `ext`.
fn files(dir: &Path, ext: &str, deep: bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() && deep {
            files(&path, ext, deep, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|x| x == ext) {
            out.push(path);
        }
    }
    Ok(())
}

/// `pub const NAME: &[(&str, &str)]`: each file's path (relative to `root`) and text.
fn table(
    code: &mut String,
    name: &str,
    root: &Path,
    paths: &[PathBuf],
) -> Result<(), Box<dyn std::error::Error>> {
    writeln!(code, "pub const {name}: &[(&str, &str)] = &[")?;
    for path in paths {
        let rel = path.strip_prefix(root)?;
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        writeln!(
            code,
            "    ({:?}, include_str!({:?})),",
            rel.join("/"),
            path.display().to_string()
        )?;
    }
    code.push_str("];\n");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let pack = root.join("policies");
    println!("cargo::rerun-if-changed=policies");
    let mut rules = Vec::new();
    files(&pack, "rhai", true, &mut rules)?;
    rules.sort();
    let mut frameworks = Vec::new();
    files(&pack.join("frameworks"), "toml", false, &mut frameworks)?;
    frameworks.sort();
    let mut code = String::from(
        "/// The bundled rules: (path in snapaudit's source tree, text), sorted by path.\n",
    );
    table(&mut code, "RULES", &root, &rules)?;
    code.push_str("/// The bundled frameworks (`policies/frameworks/*.toml`), the same way.\n");
    table(&mut code, "FRAMEWORKS", &root, &frameworks)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("pack.rs");
    std::fs::write(out, code)?;
    Ok(())
}
