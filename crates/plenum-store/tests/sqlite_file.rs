//! SQLite file handling in `Store::open`: what is created, what is refused, and that a refused
//! file is never modified.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use plenum_store::{Backend, NewConference, Page, ServiceKind, Store, StoreError};
use uuid::Uuid;

fn conference() -> NewConference {
    NewConference {
        id: Uuid::new_v4(),
        service_name: "Room".into(),
        service_kind: ServiceKind::TestCall,
        alias: "test@example.com".into(),
        started_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    }
}

/// The files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn plain_path_creates_a_wal_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plenum.db");
    let store = Store::open(path.to_str().expect("utf-8 path"))
        .await
        .expect("open");
    assert_eq!(store.backend(), Backend::Sqlite);
    store
        .conference_started(&conference())
        .await
        .expect("write");
    let header = std::fs::read(&path).expect("read db");
    assert!(header.starts_with(b"SQLite format 3\0"));
    // Bytes 18 and 19 of the header are 2 in WAL mode (1 for the rollback journal).
    assert_eq!(&header[18..20], [2, 2], "journal mode is WAL");
    assert!(dir.path().join("plenum.db-wal").exists());
    store.close().await;
}

#[tokio::test]
async fn an_empty_existing_file_becomes_a_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plenum.db");
    std::fs::write(&path, b"").expect("create empty file");
    let store = Store::open(&format!("sqlite:{}", path.display()))
        .await
        .expect("open");
    assert_eq!(store.count_conferences().await.expect("count"), 0);
    store.close().await;
}

#[tokio::test]
async fn reopening_a_file_keeps_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("plenum.db").display());
    let conf = conference();
    let store = Store::open(&url).await.expect("open");
    store.conference_started(&conf).await.expect("write");
    store.close().await;
    let store = Store::open(&url).await.expect("reopen");
    let history = store
        .conference_history(Page::first(5))
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, conf.id);
    assert_eq!(history[0].service_kind, ServiceKind::TestCall);
    store.close().await;
}

/// Writes `bytes` as the database file, checks that opening it fails with `Corrupt` naming the
/// file, and that the file is unchanged and nothing was created beside it.
async fn assert_refused_as_corrupt(bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plenum.db");
    std::fs::write(&path, bytes).expect("write garbage");
    let modified = std::fs::metadata(&path)
        .expect("metadata")
        .modified()
        .expect("mtime");

    let err = Store::open(path.to_str().expect("utf-8 path"))
        .await
        .expect_err("a corrupt file must not open");
    assert!(
        matches!(&err, StoreError::Corrupt { path: p, .. } if *p == path),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a valid sqlite database"), "{message}");
    assert!(message.contains("restore it from a backup"), "{message}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the cause is kept"
    );

    assert_eq!(
        std::fs::read(&path).expect("read back"),
        bytes,
        "file bytes unchanged"
    );
    assert_eq!(
        std::fs::metadata(&path)
            .expect("metadata")
            .modified()
            .expect("mtime"),
        modified
    );
    assert_eq!(
        files_in(dir.path()),
        ["plenum.db"],
        "no -wal/-shm or other files created"
    );
}

#[tokio::test]
async fn a_garbage_file_is_refused_and_left_alone() {
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_refused_as_corrupt(&garbage).await;
    assert_refused_as_corrupt(b"x").await;
    assert_refused_as_corrupt(b"{\"not\": \"a database\"}\n").await;
}

#[tokio::test]
async fn a_file_with_a_sqlite_header_but_garbage_after_it_is_refused_and_left_alone() {
    // Passes the header check, so it is SQLite itself that must recognise the damage.
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..4080u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8));
    assert_refused_as_corrupt(&bytes).await;
}

/// Opening `path` fails with `Unwritable` naming it and explaining what to check.
async fn assert_unwritable(path: &Path) {
    let err = Store::open(path.to_str().expect("utf-8 path"))
        .await
        .expect_err("must not open");
    assert!(
        matches!(&err, StoreError::Unwritable { path: p, .. } if p == path),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("cannot open sqlite database"),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("directory exists"), "{message}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the cause is kept"
    );
}

#[tokio::test]
async fn unwritable_locations_give_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Tests run as root, which ignores permission bits: use paths no one can create instead.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write file");
    assert_unwritable(&file.join("plenum.db")).await;
    assert_unwritable(&dir.path().join("missing-dir").join("plenum.db")).await;
    let subdir = dir.path().join("a-dir");
    std::fs::create_dir(&subdir).expect("mkdir");
    assert_unwritable(&subdir).await;
    assert_eq!(std::fs::read(&file).expect("read"), b"not a directory");
    assert_eq!(files_in(dir.path()), ["a-dir", "a-file"], "nothing created");
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    let err = Store::open("mysql://plenum:secret@db/plenum")
        .await
        .expect_err("mysql");
    assert!(matches!(err, StoreError::UnsupportedUrl { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
async fn an_unreachable_postgres_server_gives_a_connect_error() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let err = Store::open("postgres://plenum:secret@127.0.0.1:1/plenum")
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("postgres://plenum:***@127.0.0.1:1/plenum"),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test]
async fn in_memory_databases_work() {
    for url in [":memory:", "sqlite::memory:"] {
        let store = Store::open(url).await.expect("open");
        store
            .conference_started(&conference())
            .await
            .expect("write");
        assert_eq!(store.count_conferences().await.expect("count"), 1, "{url}");
        store.close().await;
    }
}
