//! Where a snapshot directory came from, for what the user is shown: a directory fetched
//! from S3 into a temporary copy (the store module) is shown as its `s3://` location, in
//! every message and output, never as the temporary path.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The fetched temporary directories and the `s3://` locations they hold.
fn registry() -> &'static Mutex<Vec<(PathBuf, String)>> {
    static FETCHED: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
    &FETCHED
}

/// Records that `dir` holds a copy of `location` (until [`forget`]).
pub fn register(dir: &Path, location: &str) {
    // A poisoned lock only means a panic elsewhere while it was held; the list itself is
    // whole (each change is one push or retain).
    registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((dir.to_path_buf(), location.to_owned()));
}

/// `dir` is no longer a copy of anything (it was removed).
pub fn forget(dir: &Path) {
    registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|(d, _)| d != dir);
}

/// How a directory is shown to the user: a fetched copy (or a folder in it) as its
/// location, any other path as it was given.
pub fn shown(dir: &Path) -> String {
    match remote_of(dir) {
        Some(url) => url,
        None => dir.display().to_string(),
    }
}

/// The location a fetched directory, or a folder in it, is a copy of.
pub fn remote_of(dir: &Path) -> Option<String> {
    let fetched = registry().lock().unwrap_or_else(PoisonError::into_inner);
    fetched.iter().find_map(|(root, url)| {
        let rest = dir.strip_prefix(root).ok()?;
        let mut shown = url.clone();
        for part in rest.components() {
            shown.push('/');
            shown.push_str(&part.as_os_str().to_string_lossy());
        }
        Some(shown)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetched_copy_is_shown_as_its_location() {
        let temp = std::env::temp_dir().join("snapaudit-origin-test-copy");
        register(&temp, "s3://b/p");
        assert_eq!(shown(&temp), "s3://b/p");
        assert_eq!(shown(&temp.join("123456789012")), "s3://b/p/123456789012");
        assert_eq!(shown(Path::new("snapshots/example")), "snapshots/example");
        forget(&temp);
        assert_eq!(shown(&temp), temp.display().to_string());
    }
}
