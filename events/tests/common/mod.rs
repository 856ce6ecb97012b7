//! Helpers shared by the integration tests: where the shared corpus lives.

use std::path::PathBuf;

/// `$TPC_SHARED` if set, else `<repo root>/../shared`.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("TPC_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join("shared"),
    }
}

/// Every file of the Tetragon event corpus, sorted. Panics when the folder is
/// missing or empty, so a missing corpus fails the tests instead of passing
/// them vacuously.
pub fn corpus_files() -> Vec<PathBuf> {
    let dir = shared_dir().join("corpus").join("tetragon-events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read the event corpus {}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "the event corpus {} is empty",
        dir.display()
    );
    files
}

/// Every JSON value in a text, parsed independently of tpc-events.
pub fn json_values(text: &str) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .unwrap()
}
