//! Embeds the default rule pack (`policies/**/*.rhai`) in the binary, so that an installed
//! or copied `snapaudit` audits with the full pack wherever it runs. Writes
//! `$OUT_DIR/pack.rs`: the rules' paths (as in this repository) and texts, sorted by path.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn rule_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            rule_files(&path, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|x| x == "rhai") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let pack = root.join("policies");
    println!("cargo::rerun-if-changed=policies");
    let mut files = Vec::new();
    rule_files(&pack, &mut files)?;
    files.sort();
    let mut code = String::from(
        "/// The bundled rules: (path in snapaudit's source tree, text), sorted by path.\n\
         pub const RULES: &[(&str, &str)] = &[\n",
    );
    for path in &files {
        let rel = path.strip_prefix(&root)?;
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
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("pack.rs");
    std::fs::write(out, code)?;
    Ok(())
}
