//! The embedded database: one SQLite file (WAL, `synchronous = FULL`) that holds the event
//! store, the live rows, the poller's offset, the update queue and the event bus of the
//! one-process bot. The adapters in `store/sqlite.rs`, `queue/sqlite.rs` and `bus/sqlite.rs` are
//! views on it; each call runs on the database's own thread, one at a time, and what queues up
//! while a commit waits for the disk is committed together.

use std::path::{Path, PathBuf};

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
    // The photo a message came with (its Telegram reference as JSON), for models that see them.
    "ALTER TABLE messages ADD COLUMN image TEXT;",
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

/// A shared handle on the database file: work for it goes to one thread that owns the
/// connection.
///
/// Group commit: what is queued while a commit waits for the disk runs next in one transaction,
/// each piece of work in its own savepoint (its failure undoes only its own writes), and one
/// `COMMIT` (one sync, with `synchronous = FULL`) makes all of it durable. Each caller hears of
/// its work only after that commit, and of a failed commit as its own failure.
#[derive(Clone)]
pub struct Database {
    thread: std::sync::Arc<DatabaseThread>,
}

/// The thread that owns the connection and the way to hand it work.
struct DatabaseThread {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for DatabaseThread {
    /// The last handle waits for the thread to finish its work and close the connection: a
    /// clean close checkpoints the WAL into the database file, as a process exit would not.
    fn drop(&mut self) {
        drop(self.jobs.take());
        // (Dropped by work on the thread itself, it must not wait for itself.)
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

/// Work for the connection, boxed: it runs (unless its group has already failed: `None`), says
/// whether it succeeded, and returns how to hand its result over once the transaction it ran in
/// is committed (or the group's failure).
type Job = Box<dyn FnOnce(Option<&mut Connection>) -> (bool, Handover) + Send>;
type Handover = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;

/// The most pieces of work one commit takes.
const MOST_IN_ONE_COMMIT: usize = 64;

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
        Ok(Database::serving(connection))
    }

    /// A private database in memory (for tests and benchmarks).
    pub fn in_memory() -> Database {
        let mut connection = Connection::open_in_memory().expect("SQLite opens in memory");
        migrate(&mut connection, Path::new(":memory:")).expect("the schema applies");
        Database::serving(connection)
    }

    /// Starts the thread that owns `connection`; it ends when the last handle is dropped.
    fn serving(connection: Connection) -> Database {
        let (jobs, queued) = std::sync::mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("sqlite".into())
            .spawn(move || serve(connection, queued))
            .expect("a thread for the database");
        Database {
            thread: std::sync::Arc::new(DatabaseThread {
                jobs: Some(jobs),
                thread: Some(thread),
            }),
        }
    }

    /// Runs `work` on the connection, off the async threads; its result once it is durable.
    pub async fn call<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        let (deliver, delivered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let result = connection.map(|connection| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(connection)))
            });
            let succeeded = matches!(result, Some(Ok(Ok(_))));
            let handover: Handover = Box::new(move |group_failure| {
                let result = match (result, group_failure) {
                    (Some(Ok(Ok(_))) | None, Some(failure)) => {
                        Ok(Err(E::from(copy_error(failure))))
                    }
                    (Some(result), _) => result,
                    // Not run only when the group failed.
                    (None, None) => unreachable!("work is skipped only in a failed group"),
                };
                let _ = deliver.send(result);
            });
            (succeeded, handover)
        });
        self.thread
            .jobs
            .as_ref()
            .expect("present until the last handle is dropped")
            .send(job)
            .expect("the database thread lives as long as its handles");
        match delivered
            .await
            .expect("the database thread hands every result over")
        {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// The database thread: runs what is queued, in groups of what queued up meanwhile.
fn serve(mut connection: Connection, queued: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = queued.recv() {
        let mut group = vec![first];
        while group.len() < MOST_IN_ONE_COMMIT {
            match queued.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        // Immediate: the write lock is taken before anything is read, so no other process's
        // commit can come between. If it cannot begin, each piece of work runs on its own (in
        // its own transaction, if it takes one) and meets the trouble itself.
        let grouped = connection.execute_batch("BEGIN IMMEDIATE").is_ok();
        let mut failure = None;
        let mut handovers = Vec::with_capacity(group.len());
        for job in group {
            if grouped && failure.is_none() {
                failure = connection.execute_batch("SAVEPOINT work").err();
            }
            // Once the group has failed (SQLite may have rolled it all back), the rest is not
            // run: it would commit on its own while its caller is told it failed.
            if grouped && failure.is_some() {
                handovers.push(job(None).1);
                continue;
            }
            let (succeeded, handover) = job(Some(&mut connection));
            if grouped {
                let end = if succeeded {
                    "RELEASE work"
                } else {
                    "ROLLBACK TO work; RELEASE work"
                };
                if let Err(e) = connection.execute_batch(end) {
                    failure = Some(e);
                }
            }
            handovers.push(handover);
        }
        if grouped {
            if failure.is_none() {
                failure = connection.execute_batch("COMMIT").err();
            }
            if failure.is_some() && !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
        }
        for handover in handovers {
            handover(failure.as_ref());
        }
    }
}

/// The same failure again (a commit's failure is each grouped caller's).
fn copy_error(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
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
        let tx = conn.savepoint()?;
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

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::Database;

    /// A scratch file of its own, removed at the end.
    struct ScratchFile(std::path::PathBuf);

    impl Drop for ScratchFile {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    fn scratch() -> ScratchFile {
        ScratchFile(std::env::temp_dir().join(format!("cloud-ai-{}.db", uuid::Uuid::new_v4())))
    }

    async fn note(db: &Database, n: i64, fail: bool) -> Result<(), rusqlite::Error> {
        db.call(move |conn| {
            conn.execute("INSERT INTO notes (n) VALUES (?1)", [n])?;
            if fail {
                // Written, then failed: the write must not be kept.
                return Err(rusqlite::Error::InvalidQuery);
            }
            Ok(())
        })
        .await
    }

    /// Work that holds the database thread until `release` is sent, and is running when this
    /// returns: what is handed over meanwhile queues behind it and makes the next group, whatever
    /// the machine's speed.
    async fn holding_the_thread<T: Send + 'static>(
        db: &Database,
        work: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> (
        std::pin::Pin<Box<impl Future<Output = Result<T, rusqlite::Error>>>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (started, has_started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let mut held = Box::pin(db.call(move |conn| {
            started.send(()).unwrap();
            released.recv().unwrap();
            work(conn)
        }));
        hand_over(&mut held).await;
        tokio::task::block_in_place(|| has_started.recv().unwrap());
        (held, release)
    }

    /// Polls `work` once: a [`Database::call`] hands its job to the thread on its first poll.
    async fn hand_over<F: Future + Unpin>(work: &mut F) {
        assert!(
            futures::poll!(work).is_pending(),
            "waits behind the held thread"
        );
    }

    /// The work queued behind a slow commit shares one transaction; one caller's failure (or
    /// panic) undoes only its own writes, and everyone else's writes are there after a reopen.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_committed_together_fails_alone_and_lasts() {
        let file = scratch();
        let db = Database::open(&file.0).unwrap();
        db.call(|conn| conn.execute_batch("CREATE TABLE notes (n INTEGER PRIMARY KEY)"))
            .await
            .unwrap();

        // The first piece holds the thread while the rest queue up behind it.
        let (slow, release) = holding_the_thread(&db, |conn| {
            conn.execute("INSERT INTO notes (n) VALUES (0)", [])
        })
        .await;
        let mut queued: Vec<_> = (1..=40).map(|n| Box::pin(note(&db, n, n == 7))).collect();
        for work in &mut queued {
            hand_over(work).await;
        }
        let mut panicking = Box::pin({
            let db = db.clone();
            async move {
                db.call(|conn| -> Result<(), rusqlite::Error> {
                    conn.execute("INSERT INTO notes (n) VALUES (99)", [])?;
                    panic!("a bug in one piece of work");
                })
                .await
            }
        });
        hand_over(&mut panicking).await;
        let panicking = tokio::spawn(panicking);
        release.send(()).unwrap();
        let queued = futures::future::join_all(queued);
        let (slow, queued) = tokio::join!(slow, queued);
        slow.unwrap();
        for (i, result) in queued.iter().enumerate() {
            let n = i + 1;
            assert_eq!(result.is_err(), n == 7, "note {n}: {result:?}");
        }
        assert!(panicking.await.unwrap_err().is_panic());
        drop(db);

        let reopened = Database::open(&file.0).unwrap();
        let kept: Vec<i64> = reopened
            .call(|conn| {
                let mut query = conn.prepare("SELECT n FROM notes ORDER BY n")?;
                let rows = query.query_map([], |row| row.get(0))?;
                rows.collect::<Result<Vec<i64>, rusqlite::Error>>()
            })
            .await
            .unwrap();
        let expected: Vec<i64> = (0..=40).filter(|n| *n != 7).collect();
        assert_eq!(kept, expected);
    }

    /// A commit that fails is every grouped caller's failure, not a silent success.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_is_each_callers_failure() {
        let db = Database::in_memory();
        db.call(|conn| {
            conn.execute_batch(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE child (id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);",
            )
        })
        .await
        .unwrap();
        let (slow, release) = holding_the_thread(&db, |_| Ok(())).await;
        // A deferred foreign key (enforced by default in the bundled SQLite) is checked at
        // COMMIT: this piece makes the whole commit fail.
        let mut dangling =
            Box::pin(db.call(|conn| conn.execute("INSERT INTO child (id) VALUES (5)", [])));
        let mut innocent =
            Box::pin(db.call(|conn| conn.execute("INSERT INTO parent (id) VALUES (1)", [])));
        hand_over(&mut dangling).await;
        hand_over(&mut innocent).await;
        release.send(()).unwrap();
        let queued = async { tokio::join!(dangling, innocent) };
        let (slow, (dangling, innocent)) = tokio::join!(slow, queued);
        assert!(
            slow.is_ok(),
            "committed on its own before the others queued"
        );
        assert!(dangling.is_err());
        assert!(
            innocent.is_err(),
            "told of the failed commit it was part of"
        );
        let parents: i64 = db
            .call(|conn| conn.query_row("SELECT count(*) FROM parent", [], |row| row.get(0)))
            .await
            .unwrap();
        assert_eq!(parents, 0, "nothing of the failed commit is kept");
    }
}
