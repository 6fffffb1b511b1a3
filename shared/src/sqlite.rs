//! The embedded database: one SQLite file (WAL, `synchronous = FULL`) that holds the event
//! store, the live rows, the poller's offset, the update queue and the event bus of the
//! one-process bot. The adapters in `store/sqlite.rs`, `queue/sqlite.rs` and `bus/sqlite.rs` are
//! views on it; each call runs on tokio's blocking pool, one at a time.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

/// The schema, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE user_state (
    user_id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE events (
    user_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    update_id INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    event TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (user_id, version)
) WITHOUT ROWID;
CREATE TABLE receipts (
    user_id INTEGER NOT NULL,
    update_id INTEGER NOT NULL,
    receipt TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, update_id)
) WITHOUT ROWID;
CREATE INDEX receipts_expiry ON receipts (expires_at);
CREATE TABLE sessions (
    user_id INTEGER NOT NULL,
    sk TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    model_name TEXT NOT NULL,
    session_id TEXT NOT NULL,
    is_active INTEGER NOT NULL,
    last_message_ts INTEGER NOT NULL,
    s3_path TEXT NOT NULL,
    message_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, sk)
) WITHOUT ROWID;
CREATE TABLE messages (
    user_id INTEGER NOT NULL,
    sk TEXT NOT NULL,
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, sk)
) WITHOUT ROWID;
CREATE INDEX messages_by_session ON messages (user_id, session_id, seq);
CREATE TABLE poller_offset (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    last_update_id INTEGER NOT NULL
);
CREATE TABLE update_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id INTEGER NOT NULL UNIQUE,
    group_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before_ms INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX update_queue_by_group ON update_queue (group_id, seq);
CREATE TABLE bus_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    detail_type TEXT NOT NULL,
    detail TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before_ms INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (user_id, version)
);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    failed_at TEXT NOT NULL
);
"#,
    // Whether retrying cannot help (an update that cannot be read), so replaying waits for a fix.
    "ALTER TABLE dead_letters ADD COLUMN permanent INTEGER NOT NULL DEFAULT 0;",
    // When each stranger was last refused (no text, no stream: their id and a time).
    "CREATE TABLE refusals (user_id INTEGER PRIMARY KEY, quiet_until INTEGER NOT NULL);
     CREATE TABLE usage_counters (
         user_id INTEGER NOT NULL,
         counter TEXT NOT NULL,
         window_start INTEGER NOT NULL,
         used INTEGER NOT NULL,
         told INTEGER NOT NULL DEFAULT 0,
         PRIMARY KEY (user_id, counter, window_start)
     ) WITHOUT ROWID;",
];

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the database {path} is damaged ({detail}): restore it from a backup, or move it away to start afresh"
    )]
    Damaged { path: PathBuf, detail: String },
    #[error("the database {path} is newer than this program (schema {found}, this knows {known})")]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
}

/// A shared handle on the database file.
#[derive(Clone)]
pub struct Database {
    connection: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Database")
    }
}

impl Database {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Database, DatabaseError> {
        let open_error = |source| DatabaseError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut connection = Connection::open(path).map_err(open_error)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(open_error)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_error)?;
        check_integrity(&connection, path)?;
        migrate(&mut connection, path)?;
        Ok(Database {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// A private database in memory (for tests and benchmarks).
    pub fn in_memory() -> Database {
        let mut connection = Connection::open_in_memory().expect("SQLite opens in memory");
        migrate(&mut connection, Path::new(":memory:")).expect("the schema applies");
        Database {
            connection: Arc::new(Mutex::new(connection)),
        }
    }

    /// Runs `work` on the connection, off the async threads.
    pub async fn call<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let connection = self.connection.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut guard = connection
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            work(&mut guard)
        });
        match task.await {
            Ok(result) => result,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
}

/// `PRAGMA quick_check`: a damaged file is named at start, not met half way through an update.
fn check_integrity(connection: &Connection, path: &Path) -> Result<(), DatabaseError> {
    let damaged = |detail: String| DatabaseError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    let mut statement = connection
        .prepare("PRAGMA quick_check")
        .map_err(|e| damaged(e.to_string()))?;
    let findings: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| damaged(e.to_string()))?;
    match findings.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        _ => Err(damaged(
            findings.into_iter().take(3).collect::<Vec<_>>().join("; "),
        )),
    }
}

fn migrate(connection: &mut Connection, path: &Path) -> Result<(), DatabaseError> {
    let open_error = |source| DatabaseError::Open {
        path: path.to_path_buf(),
        source,
    };
    let applied: usize = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(open_error)?;
    if applied > MIGRATIONS.len() {
        return Err(DatabaseError::TooNew {
            path: path.to_path_buf(),
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let transaction = connection.transaction().map_err(open_error)?;
        transaction.execute_batch(migration).map_err(open_error)?;
        transaction
            .pragma_update(None, "user_version", index + 1)
            .map_err(open_error)?;
        transaction.commit().map_err(open_error)?;
    }
    Ok(())
}

/// Milliseconds since the Unix epoch (the queue's and bus's clocks).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The bookkeeping shared by the database's two spools (the update queue and the event bus):
/// a failed entry waits before its next try, and an entry that keeps failing is moved to
/// `dead_letters` with its last error, as SQS and EventBridge move theirs to a dead-letter queue.
pub mod spool {
    use rusqlite::{Connection, params};

    use super::Database;

    /// The spool tables (never user input).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Spool {
        Updates,
        Events,
    }

    impl Spool {
        fn table(self) -> &'static str {
            match self {
                Spool::Updates => "update_queue",
                Spool::Events => "bus_events",
            }
        }

        fn body_column(self) -> &'static str {
            match self {
                Spool::Updates => "body",
                Spool::Events => "detail",
            }
        }
    }

    fn remove(conn: &Connection, spool: Spool, seq: i64) -> rusqlite::Result<()> {
        conn.execute(
            &format!("DELETE FROM {} WHERE seq = ?1", spool.table()),
            [seq],
        )?;
        Ok(())
    }

    /// Counts a failed try and keeps the entry back until `not_before_ms`.
    fn postpone(
        conn: &Connection,
        spool: Spool,
        seq: i64,
        not_before_ms: i64,
        error: &str,
    ) -> rusqlite::Result<()> {
        conn.execute(
            &format!(
                "UPDATE {} SET attempts = attempts + 1, not_before_ms = ?2, last_error = ?3 WHERE seq = ?1",
                spool.table()
            ),
            params![seq, not_before_ms, error],
        )?;
        Ok(())
    }

    /// Moves the entry to `dead_letters`.
    fn bury(
        conn: &mut Connection,
        spool: Spool,
        seq: i64,
        error: &str,
        permanent: bool,
    ) -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO dead_letters (source, body, attempts, last_error, failed_at, permanent)
                 SELECT ?2, {}, attempts + 1, ?3, ?4, ?5 FROM {} WHERE seq = ?1",
                spool.body_column(),
                spool.table()
            ),
            params![
                seq,
                spool.table(),
                error,
                crate::domain::time::rfc3339(chrono::Utc::now().timestamp()),
                permanent
            ],
        )?;
        tx.execute(
            &format!("DELETE FROM {} WHERE seq = ?1", spool.table()),
            [seq],
        )?;
        tx.commit()
    }

    fn len(conn: &Connection, spool: Spool) -> rusqlite::Result<usize> {
        conn.query_row(
            &format!("SELECT COUNT(*) FROM {}", spool.table()),
            [],
            |row| row.get(0),
        )
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the {} failed: SQLite: {source}", spool.table())]
    pub struct SpoolError {
        spool: Spool,
        source: rusqlite::Error,
    }

    /// What becomes of a spool's entries once handed out: each is acknowledged, retried later or
    /// buried.
    #[derive(Clone, Debug)]
    pub struct SpoolEntries {
        db: Database,
        spool: Spool,
    }

    impl SpoolEntries {
        pub fn new(db: Database, spool: Spool) -> SpoolEntries {
            SpoolEntries { db, spool }
        }

        async fn run<T: Send + 'static>(
            &self,
            work: impl FnOnce(&mut Connection, Spool) -> rusqlite::Result<T> + Send + 'static,
        ) -> Result<T, SpoolError> {
            let spool = self.spool;
            self.db
                .call(move |conn| work(conn, spool))
                .await
                .map_err(|source| SpoolError { spool, source })
        }

        /// Done with (handled, or never to succeed): the entry leaves the spool.
        pub async fn acknowledge(&self, seq: i64) -> Result<(), SpoolError> {
            self.run(move |conn, spool| remove(conn, spool, seq)).await
        }

        /// Failed: the entry waits until `not_before_ms` (its chat waits with it).
        pub async fn retry_later(
            &self,
            seq: i64,
            not_before_ms: i64,
            error: String,
        ) -> Result<(), SpoolError> {
            self.run(move |conn, spool| postpone(conn, spool, seq, not_before_ms, &error))
                .await
        }

        /// Failed too often: the entry moves to the dead letters (replayed once things work).
        pub async fn dead_letter(&self, seq: i64, error: String) -> Result<(), SpoolError> {
            self.run(move |conn, spool| bury(conn, spool, seq, &error, false))
                .await
        }

        /// Can never succeed as it is: the entry moves to the dead letters, kept for a person to
        /// look at (replayed only by `cloud-ai redrive`).
        pub async fn dead_letter_for_good(
            &self,
            seq: i64,
            reason: String,
        ) -> Result<(), SpoolError> {
            self.run(move |conn, spool| bury(conn, spool, seq, &reason, true))
                .await
        }

        /// How many entries wait (handed out or not).
        pub async fn waiting(&self) -> Result<usize, SpoolError> {
            self.run(|conn, spool| len(conn, spool)).await
        }
    }
}
