//! Snapshots at an S3 prefix, with the SDK's S3 client: the same credential chain
//! (profiles, SSO, environment, instance and task roles) and HTTP client as the collector.
//!
//! Writing uploads a finished local snapshot file by file, `manifest.json` last, so a reader
//! never sees a manifest whose files are still missing. Reading lists the prefix and fetches
//! every object into a local directory; an object whose key is not a plain relative path
//! stops the fetch (a hostile bucket must not write outside the directory).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{private_dir, private_file, S3Url};
use crate::aws::{failure, Failure};
use crate::diagnostic::{Kind, Problem};
use crate::snapshot::load::MANIFEST;

/// Objects transferred at once.
const IN_FLIGHT: usize = 16;

/// The header S3 names a bucket's region in, on every answer about the bucket.
const BUCKET_REGION_HEADER: &str = "x-amz-bucket-region";

/// An S3 prefix and a client in its bucket's region.
#[derive(Clone, Debug)]
pub struct Remote {
    client: Client,
    pub url: S3Url,
}

/// Why an S3 operation failed: what was done, and the service's code and message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}: {code}: {message}")]
pub struct StoreError {
    pub what: String,
    pub code: String,
    pub message: String,
}

impl StoreError {
    fn new(what: impl Into<String>, (code, message): Failure) -> StoreError {
        StoreError {
            what: what.into(),
            code,
            message,
        }
    }

    fn local(what: impl Into<String>, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            what: what.into(),
            code: "LocalIo".into(),
            message: e.to_string(),
        }
    }
}

fn client_in(base: &aws_config::SdkConfig, region: Option<String>) -> Client {
    let mut config = aws_sdk_s3::config::Builder::from(base)
        // Plain bodies: every S3-compatible server takes them, and S3 needs no checksum
        // for these calls.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired);
    if let Some(region) = region {
        config = config.region(Region::new(region));
    }
    Client::from_conf(config.build())
}

impl Remote {
    /// A client for `url`'s bucket, in the bucket's own region (asked with HeadBucket, which
    /// names it even when refusing a request sent to another region).
    pub async fn connect(url: &S3Url, profile: Option<&str>) -> Remote {
        // A stalled transfer must not hang `check`: each attempt is bounded, with the SDK's
        // standard retries.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(crate::aws::http::client())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .read_timeout(Duration::from_secs(60))
                    .operation_attempt_timeout(Duration::from_secs(300))
                    .build(),
            );
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let base = loader.load().await;
        let region = base
            .region()
            .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string());
        let client = client_in(&base, Some(region.clone()));
        let asked = client.head_bucket().bucket(&url.bucket).send().await;
        let bucket_region = match &asked {
            Ok(out) => out.bucket_region().map(str::to_owned),
            Err(e) => e
                .raw_response()
                .and_then(|r| r.headers().get(BUCKET_REGION_HEADER))
                .map(str::to_owned),
        };
        // HeadBucket may be refused (a policy that grants only a prefix): then the calls
        // themselves say what is wrong.
        let client = match bucket_region {
            Some(r) if r != region => client_in(&base, Some(r)),
            _ => client,
        };
        Remote {
            client,
            url: url.clone(),
        }
    }

    /// The same bucket, another prefix.
    pub fn at(&self, url: S3Url) -> Remote {
        Remote {
            client: self.client.clone(),
            url,
        }
    }

    /// Every key under the prefix (`prefix/…`), in S3's order.
    pub async fn keys(&self) -> Result<Vec<String>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.url.bucket)
            .prefix(self.url.key_prefix())
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                StoreError::new(format!("s3 ListObjectsV2 {}", self.url), failure(e))
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// The object at `rel` under the prefix; `None` when there is none. Whether it exists
    /// is asked by listing (a policy that grants `s3:ListBucket` only on the prefix makes
    /// S3 answer a missing key's GetObject with AccessDenied, not NoSuchKey).
    pub async fn get(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.url.key(rel);
        if self.first_key(&key).await?.as_deref() != Some(key.as_str()) {
            return Ok(None);
        }
        self.get_key(&key).await
    }

    /// Whether the prefix holds any object at all.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.first_key(&self.url.key_prefix()).await?.is_none())
    }

    /// The first key, in S3's order, that starts with `prefix`.
    async fn first_key(&self, prefix: &str) -> Result<Option<String>, StoreError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.url.bucket)
            .prefix(prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| StoreError::new(format!("s3 ListObjectsV2 {}", self.url), failure(e)))?;
        Ok(page
            .contents()
            .first()
            .and_then(|o| o.key())
            .map(str::to_owned))
    }

    /// Writes `bytes` at `rel` under the prefix.
    pub async fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let key = self.url.key(rel);
        let bucket = &self.url.bucket;
        self.client
            .put_object()
            .bucket(bucket)
            .key(&key)
            .content_type(if key.ends_with(".json") {
                "application/json"
            } else {
                "application/octet-stream"
            })
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError::new(format!("s3 PutObject s3://{bucket}/{key}"), failure(e)))
    }

    /// The object `key` of the bucket; `None` when S3 says there is no such key.
    async fn get_key(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let bucket = &self.url.bucket;
        let what = || format!("s3 GetObject s3://{bucket}/{key}");
        match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let body = out.body.collect().await.map_err(|e| StoreError {
                    what: what(),
                    code: "ResponseError".into(),
                    message: e.to_string(),
                })?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(StoreError::new(what(), failure(e))),
        }
    }

    /// Uploads the files of the local directory `dir` under the prefix, byte for byte, its
    /// `manifest.json` last. Returns the number of objects written.
    pub async fn upload_dir(&self, dir: &Path) -> Result<usize, StoreError> {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry
                .map_err(|e| StoreError::local(format!("cannot read {}", dir.display()), e))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(dir)
                .map_err(|e| StoreError::local(format!("cannot read {}", dir.display()), e))?;
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((entry.path().to_path_buf(), rel.join("/")));
        }
        let (manifest, rest): (Vec<_>, Vec<_>) =
            files.into_iter().partition(|(_, rel)| rel == MANIFEST);
        let count = rest.len() + manifest.len();
        bounded(rest, |(path, rel)| {
            let remote = self.clone();
            async move { remote.upload_file(&path, &rel).await }
        })
        .await?;
        for (path, rel) in manifest {
            self.upload_file(&path, &rel).await?;
        }
        Ok(count)
    }

    async fn upload_file(&self, path: &Path, rel: &str) -> Result<(), StoreError> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| StoreError::local(format!("cannot read {}", path.display()), e))?;
        self.put(rel, bytes).await
    }

    /// Removes every object under the prefix (what an interrupted upload left).
    pub async fn delete_all(&self) -> Result<(), StoreError> {
        let keys = self.keys().await?;
        for batch in keys.chunks(1000) {
            let objects = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::local("cannot name the objects to delete", e))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| StoreError::local("cannot name the objects to delete", e))?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.url.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| {
                    StoreError::new(format!("s3 DeleteObjects {}", self.url), failure(e))
                })?;
            // S3 answers 200 and lists the objects it could not delete.
            if let Some(first) = out.errors().first() {
                return Err(StoreError {
                    what: format!(
                        "s3 DeleteObjects {}: {} of {} objects were not deleted, {} among them",
                        self.url,
                        out.errors().len(),
                        batch.len(),
                        crate::report::safe::terminal(first.key().unwrap_or("?"))
                    ),
                    code: first.code().unwrap_or("Unknown").to_owned(),
                    message: first.message().unwrap_or("").to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Fetches every object under the prefix into `dest` (files 0600, folders 0700).
    /// Returns the number of objects.
    pub async fn download(&self, dest: &Path) -> Result<usize, Box<Problem>> {
        let fetch_error = |e: StoreError| {
            Box::new(Problem::new(
                Kind::StoreFetch,
                format!("cannot read {}: {e}", self.url),
            ))
        };
        let keys = self.keys().await.map_err(fetch_error)?;
        let mut wanted: Vec<(String, PathBuf)> = Vec::with_capacity(keys.len());
        for key in keys {
            // A folder marker written by a console or a sync tool holds nothing.
            if key.ends_with('/') {
                continue;
            }
            match self.url.relative_path(&key) {
                Some(rel) => wanted.push((key, dest.join(rel))),
                None => {
                    return Err(Box::new(Problem::new(
                        Kind::StoreUnsafeKey,
                        format!(
                            "s3://{}/{} is not a plain relative path under {}; nothing was audited",
                            self.url.bucket,
                            crate::report::safe::terminal(&key),
                            self.url
                        ),
                    )))
                }
            }
        }
        if wanted.is_empty() {
            return Err(Box::new(
                Problem::new(
                    Kind::StoreFetch,
                    format!("there are no objects under {}", self.url),
                )
                .with_help("name the prefix `collect --out` wrote to: s3://bucket/prefix"),
            ));
        }
        let count = wanted.len();
        bounded(wanted, |(key, path)| {
            let remote = self.clone();
            async move {
                let bytes = remote.get_key(&key).await?.ok_or_else(|| StoreError {
                    what: format!("s3 GetObject s3://{}/{key}", remote.url.bucket),
                    code: "NoSuchKey".into(),
                    message: "the object was removed while it was fetched".into(),
                })?;
                let write = |path: &Path| -> std::io::Result<()> {
                    if let Some(parent) = path.parent() {
                        private_dir(parent)?;
                    }
                    // A throwaway copy: written, not synced.
                    private_file(path, &bytes, false)
                };
                write(&path)
                    .map_err(|e| StoreError::local(format!("cannot write {}", path.display()), e))
            }
        })
        .await
        .map_err(fetch_error)?;
        Ok(count)
    }
}

/// Runs `task` for every item, [`IN_FLIGHT`] at a time; the first failure is the result.
async fn bounded<T, F, Fut>(items: Vec<T>, task: F) -> Result<(), StoreError>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut set = JoinSet::new();
    for item in items {
        let (slots, work) = (slots.clone(), task(item));
        set.spawn(async move {
            let _slot = slots.acquire_owned().await;
            work.await
        });
    }
    while let Some(done) = set.join_next().await {
        done.map_err(|e| StoreError::local("a transfer task failed", e))??;
    }
    Ok(())
}

/// Fetches `url` into `dest` from synchronous code (`check`, `diff`).
pub fn fetch_blocking(url: &S3Url, dest: &Path) -> Result<usize, Box<Problem>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Problem::new(
                Kind::StoreFetch,
                format!("cannot start the async runtime to read {url}: {e}"),
            )
        })?;
    runtime.block_on(async { Remote::connect(url, None).await.download(dest).await })
}
