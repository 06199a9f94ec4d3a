//! Where snapshots are kept: a local directory, or an S3 prefix (`s3://bucket/prefix`) for
//! workers without a shared disk (docs/organizations.md).
//!
//! An S3 snapshot holds the same files under the prefix as a local one holds under its
//! directory, byte for byte. `check` and `diff` read it by fetching the prefix into a
//! private temporary directory ([`fetch`]) and loading that: everything after the fetch is
//! the offline engine, and every path shown to the user names the `s3://` location, not
//! the temporary directory ([`origin::shown`]). The S3 side needs the `s3` feature (part of
//! `collect`); without it an `s3://` location is a clear error.

#[cfg(feature = "s3")]
pub mod s3;

use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{Kind, Problem};
use crate::snapshot::origin;

/// The scheme of an S3 location.
pub const S3_SCHEME: &str = "s3://";

/// An S3 bucket and key prefix, parsed from `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// Without a trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl S3Url {
    /// `s3://bucket[/prefix]`. The bucket must be a valid S3 bucket name; the prefix has no
    /// empty, `.` or `..` parts (a key prefix, not a path to walk out of).
    pub fn parse(text: &str) -> Result<S3Url, String> {
        let rest = text
            .strip_prefix(S3_SCHEME)
            .ok_or_else(|| format!("`{text}` does not start with {S3_SCHEME}"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && !bucket.starts_with(['.', '-'])
            && !bucket.ends_with(['.', '-']);
        if !bucket_ok {
            return Err(format!(
                "`{bucket}` is not an S3 bucket name (3 to 63 lowercase letters, digits, `.` and `-`)"
            ));
        }
        if !prefix.is_empty() && !prefix.split('/').all(safe_part) {
            return Err(format!(
                "the key prefix `{prefix}` has an empty, `.` or `..` part or a control character"
            ));
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The key of `rel` (a `/`-separated path) under the prefix.
    pub fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// The prefix every key of this location starts with (`prefix/`, or nothing).
    pub fn key_prefix(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }

    /// The location of `rel` under this one.
    pub fn join(&self, rel: &str) -> S3Url {
        S3Url {
            bucket: self.bucket.clone(),
            prefix: self.key(rel),
        }
    }

    /// The local path a key under this location becomes, relative to the fetched
    /// directory; `None` for a key that is not a plain relative path (`..`, empty parts, a
    /// folder marker), which a hostile bucket could use to write outside the directory.
    pub fn relative_path(&self, key: &str) -> Option<PathBuf> {
        let rel = key.strip_prefix(&self.key_prefix())?;
        if rel.is_empty() || !rel.split('/').all(safe_part) {
            return None;
        }
        let path = PathBuf::from(rel);
        path.components()
            .all(|c| matches!(c, Component::Normal(_)))
            .then_some(path)
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{S3_SCHEME}{}", self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

/// A key part that is a plain file or folder name.
fn safe_part(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && !part.contains('\\')
        && !part.chars().any(char::is_control)
}

/// Where a snapshot (or an organisation directory) is: a local path or an S3 prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3(S3Url),
}

impl Location {
    /// An argument as the user gave it: `s3://…` is S3, anything else a local path.
    pub fn parse(arg: &Path) -> Result<Location, Box<Problem>> {
        match arg.to_str() {
            Some(text) if text.starts_with(S3_SCHEME) => S3Url::parse(text)
                .map(Location::S3)
                .map_err(|e| Box::new(Problem::new(Kind::StoreLocation, e))),
            _ => Ok(Location::Local(arg.to_path_buf())),
        }
    }
}

/// A snapshot ready to be loaded from the local disk: the directory itself, or the private
/// temporary copy of an S3 prefix (removed when this is dropped).
#[derive(Debug)]
pub struct Fetched {
    pub dir: PathBuf,
    /// The temporary copy, registered for [`shown`] while it lives.
    temp: Option<tempfile::TempDir>,
}

impl Drop for Fetched {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            origin::forget(temp.path());
        }
    }
}

/// Makes `arg` loadable: a local path as it is; an S3 prefix fetched whole into a private
/// temporary directory.
pub fn fetch(arg: &Path) -> Result<Fetched, Box<Problem>> {
    match Location::parse(arg)? {
        Location::Local(dir) => Ok(Fetched { dir, temp: None }),
        Location::S3(url) => fetch_s3(&url),
    }
}

#[cfg(feature = "s3")]
fn fetch_s3(url: &S3Url) -> Result<Fetched, Box<Problem>> {
    let temp = tempfile::Builder::new()
        .prefix("snapaudit-s3-")
        .tempdir()
        .map_err(|e| {
            Problem::new(
                Kind::StoreFetch,
                format!("cannot make a temporary directory to fetch {url} into: {e}"),
            )
        })?;
    s3::fetch_blocking(url, temp.path())?;
    origin::register(temp.path(), &url.to_string());
    Ok(Fetched {
        dir: temp.path().to_path_buf(),
        temp: Some(temp),
    })
}

#[cfg(not(feature = "s3"))]
fn fetch_s3(url: &S3Url) -> Result<Fetched, Box<Problem>> {
    Err(Box::new(
        Problem::new(
            Kind::StoreNoS3,
            format!("cannot read {url}: this snapaudit was built without S3 support"),
        )
        .with_help(format!(
            "build it with `--features s3` (or `collect`), or copy the snapshot first: `aws s3 sync {url} DIR` and check DIR"
        )),
    ))
}

/// Creates `path` and its missing parents, readable by the owner only: snapshots hold the
/// account's configuration.
#[cfg(unix)]
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

/// Writes a new file readable by the owner only; `sync`: and waits until it is on disk
/// (a snapshot being written, not a temporary copy).
pub fn private_file(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    if sync {
        f.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_locations_parse_and_bad_ones_are_refused() {
        let u = S3Url::parse("s3://audit-snapshots/org/2026-12/").unwrap();
        assert_eq!(u.bucket, "audit-snapshots");
        assert_eq!(u.prefix, "org/2026-12");
        assert_eq!(u.to_string(), "s3://audit-snapshots/org/2026-12");
        assert_eq!(u.key("manifest.json"), "org/2026-12/manifest.json");
        let root = S3Url::parse("s3://audit-snapshots").unwrap();
        assert_eq!(root.key("a/b.json"), "a/b.json");
        assert_eq!(root.to_string(), "s3://audit-snapshots");
        for bad in [
            "s3://",
            "s3://ab",
            "s3://Upper/x",
            "s3://b_x/y",
            "s3://bucket/a//b",
            "s3://bucket/a/../b",
            "s3://bucket/./b",
        ] {
            assert!(S3Url::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            Location::parse(Path::new("snapshots/example")).unwrap(),
            Location::Local(PathBuf::from("snapshots/example"))
        );
        assert!(Location::parse(Path::new("s3://x")).is_err());
    }

    #[test]
    fn keys_that_would_leave_the_directory_are_not_paths() {
        let u = S3Url::parse("s3://bucket/org").unwrap();
        assert_eq!(
            u.relative_path("org/111122223333/iam/list-users.json"),
            Some(PathBuf::from("111122223333/iam/list-users.json"))
        );
        for bad in [
            "org/../x.json",
            "org/a/../../x.json",
            "org//x.json",
            "org/",
            "org/a/",
            "other/x.json",
            "orgx/y.json",
            "org/a\\..\\x",
            "org/a\u{1b}[31m",
        ] {
            assert_eq!(u.relative_path(bad), None, "{bad:?}");
        }
    }
}
