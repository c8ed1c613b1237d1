//! What the engine's integration tests share: where the shared data set is.

use std::path::{Path, PathBuf};

/// `sub` (a file or folder) of the shared data set `../shared/data` next to the repository,
/// or of `FLOODTRACE_SHARED_DATA` when set. Missing data fails the test, saying what is
/// missing: these tests never pass without it.
pub fn shared_data(sub: &str) -> PathBuf {
    let dir = std::env::var_os("FLOODTRACE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = dir.join(sub);
    assert!(
        p.exists(),
        "test data missing: {} (the shared data set described in shared/data/SOURCES.md must \
         sit next to the repository, or set FLOODTRACE_SHARED_DATA)",
        p.display()
    );
    p
}
