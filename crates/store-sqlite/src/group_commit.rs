//! Group commit: concurrent writes share one transaction and one trip to the disk.
//!
//! SQLite has one writer, and with `synchronous = FULL` every commit waits for an
//! fsync, so committing each write on its own caps writes at the disk's flush rate.
//! Here writes run one after another on the writer connection, each inside its own
//! savepoint of a shared transaction, and a committer task commits that transaction
//! whenever it gets the connection: every write that finished while the previous
//! commit was on its way to disk rides on the next one. A write is acknowledged (its
//! `commit` returns `Ok`) only once the commit holding it is durable, so no
//! acknowledged request is ever lost; a write that fails, or whose caller goes away
//! half-way, is rolled back to its savepoint and takes nothing else with it.
//!
//! A caller can go away at any `.await` (a client that disconnects drops its request).
//! So every statement that opens or closes the transaction or a savepoint runs in a
//! task of its own, which finishes whatever happens to the caller, and [`State`]
//! records what SQLite did only once SQLite has done it: the flags never disagree with
//! the connection.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Weak};

use domain::StoreError;
use domain::store::StoreResult;
use sqlx::sqlite::{SqliteArguments, SqliteQueryResult};
use sqlx::{Connection, Executor, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, oneshot};

use crate::{backend, unavailable};

/// The writer connection and the transaction its writes share. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    inner: Arc<Inner>,
}

/// The writer connection's state, for metrics.
pub(crate) struct WriterUsage {
    pub(crate) open: u32,
    pub(crate) idle: u32,
}

#[derive(Debug)]
struct Inner {
    /// Where the writer connection comes from (and what migrations run on).
    pool: SqlitePool,
    state: Arc<Mutex<State>>,
    /// Wakes the committer after a write joined the open transaction.
    wake: Arc<Notify>,
}

#[derive(Debug, Default)]
struct State {
    /// Opened on first use, so a store can be made outside of async code.
    conn: Option<SqliteConnection>,
    /// A shared transaction is open.
    open: bool,
    /// A write's savepoint is open. While a [`Write`] holds the lock it is that write's;
    /// once the lock is free again it belongs to a write whose caller went away, and
    /// is undone before anything else runs.
    savepoint: bool,
    /// Writes in the open transaction, each waiting to hear how its commit went.
    waiting: Vec<oneshot::Sender<StoreResult<()>>>,
    closed: bool,
}

/// Runs `step` with the lock in a task of its own, so that it runs to its end even if
/// the caller is dropped half-way; the caller gets the lock back with the outcome.
async fn to_the_end<T, F>(
    state: OwnedMutexGuard<State>,
    step: impl FnOnce(OwnedMutexGuard<State>) -> F,
) -> StoreResult<T>
where
    F: Future<Output = StoreResult<T>> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(step(state))
        .await
        .unwrap_or_else(|error| Err(StoreError::corrupt(format!("a transaction step did not finish: {error}"))))
}

impl GroupCommit {
    /// Writes through `pool`'s connections. Must be called inside a Tokio runtime: it
    /// starts the committer task, which ends when the last clone is dropped.
    pub(crate) fn new(pool: SqlitePool) -> Self {
        let wake = Arc::new(Notify::new());
        let inner = Arc::new(Inner { pool, state: Arc::default(), wake: wake.clone() });
        tokio::spawn(commit_when_woken(Arc::downgrade(&inner), wake));
        Self { inner }
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.inner.pool
    }

    /// Starts a write: waits for the connection, then opens a savepoint for it in the
    /// shared transaction. Finish it with [`Write::commit`]; dropping it undoes it.
    pub(crate) async fn begin(&self) -> StoreResult<Write> {
        let state = Arc::clone(&self.inner.state).lock_owned().await;
        let pool = self.inner.pool.clone();
        let state = to_the_end(state, |mut state| async move {
            state.open_savepoint(&pool).await?;
            Ok(state)
        })
        .await?;
        Ok(Write { state, wake: Arc::clone(&self.inner.wake) })
    }

    /// One statement as a write of its own.
    pub(crate) async fn execute<'q>(
        &self,
        query: sqlx::query::Query<'q, Sqlite, SqliteArguments>,
    ) -> StoreResult<SqliteQueryResult> {
        let mut write = self.begin().await?;
        let result = query.execute(&mut *write).await.map_err(backend)?;
        write.commit().await?;
        Ok(result)
    }

    /// Whether the writer connection is open (1) and, if so, idle (1): a write or a
    /// commit in progress holds it.
    pub(crate) fn usage(&self) -> WriterUsage {
        match self.inner.state.try_lock() {
            Ok(state) => {
                let open = u32::from(state.conn.is_some());
                WriterUsage { open, idle: open }
            }
            Err(_busy) => WriterUsage { open: 1, idle: 0 },
        }
    }

    /// Commits what is pending and closes the writer connection; later writes fail.
    pub(crate) async fn close(&self) {
        let mut state = self.inner.state.lock().await;
        state.commit().await;
        state.closed = true;
        if let Some(conn) = state.conn.take() {
            let _ = conn.close().await;
        }
        drop(state);
        self.inner.pool.close().await;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Lets the committer see that the store is gone and stop.
        self.wake.notify_one();
    }
}

async fn commit_when_woken(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        let Some(inner) = inner.upgrade() else { return };
        // Writers queued for the lock before the committer go first (the lock is
        // fair), so one commit takes everything that arrived while the last was flushing.
        inner.state.lock().await.commit().await;
    }
}

impl State {
    fn conn(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("the writer connection is opened before any write")
    }

    /// Undoes an abandoned write, opens the shared transaction if none is open, and
    /// a savepoint for the next write in it.
    async fn open_savepoint(&mut self, pool: &SqlitePool) -> StoreResult<()> {
        self.settle_abandoned().await;
        if self.closed {
            return Err(StoreError::corrupt("the store is closed"));
        }
        if self.conn.is_none() {
            self.conn = Some(pool.acquire().await.map_err(backend)?.detach());
        }
        if !self.open {
            // IMMEDIATE takes the file's write lock now (waiting out `busy_timeout`), so
            // another process on the same file cannot make this transaction fail later.
            self.conn().execute("BEGIN IMMEDIATE").await.map_err(backend)?;
            self.open = true;
        }
        self.conn().execute("SAVEPOINT write").await.map_err(backend)?;
        self.savepoint = true;
        Ok(())
    }

    /// Rolls back the savepoint of a write whose caller went away. If that fails, the
    /// shared transaction cannot be trusted and every write in it fails.
    async fn settle_abandoned(&mut self) {
        if !self.savepoint {
            return;
        }
        let undone = self.conn().execute("ROLLBACK TO write; RELEASE write").await;
        self.savepoint = false;
        if let Err(error) = undone {
            tracing::error!(%error, "could not undo an abandoned write; failing the writes that share its transaction");
            let _ = self.conn().execute("ROLLBACK").await;
            self.answer(Err(error));
        }
    }

    /// Commits the shared transaction, if one is open, and answers every write in it.
    async fn commit(&mut self) {
        self.settle_abandoned().await;
        if !self.open {
            return;
        }
        let committed = self.conn().execute("COMMIT").await;
        if committed.is_err() {
            // A failed COMMIT can leave the transaction open; nothing of it is kept.
            let _ = self.conn().execute("ROLLBACK").await;
        }
        self.answer(committed.map(drop));
    }

    fn answer(&mut self, outcome: Result<(), sqlx::Error>) {
        self.open = false;
        let failure = outcome.err().map(|error| (unavailable(&error), format!("commit failed: {error}")));
        for waiting in self.waiting.drain(..) {
            let answer = match &failure {
                None => Ok(()),
                Some((true, why)) => Err(StoreError::Unavailable(why.clone().into())),
                Some((false, why)) => Err(StoreError::corrupt(why.clone())),
            };
            // A caller that went away no longer needs its answer.
            let _ = waiting.send(answer);
        }
    }
}

/// One write in progress: the writer connection, inside this write's savepoint.
/// Dropping it leaves the savepoint open, and the next user of the connection undoes it.
pub(crate) struct Write {
    state: OwnedMutexGuard<State>,
    wake: Arc<Notify>,
}

impl Write {
    /// Keeps the write and waits until the commit that holds it is durable.
    pub(crate) async fn commit(self) -> StoreResult<()> {
        let Self { state, wake } = self;
        let (answer, answered) = oneshot::channel();
        to_the_end(state, |mut state| async move {
            state.conn().execute("RELEASE write").await.map_err(backend)?;
            state.savepoint = false;
            state.waiting.push(answer);
            drop(state);
            wake.notify_one();
            Ok(())
        })
        .await?;
        answered.await.unwrap_or_else(|_| Err(StoreError::corrupt("the writer stopped before committing")))
    }
}

impl Deref for Write {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.state.conn.as_ref().expect("the writer connection is opened before any write")
    }
}

impl DerefMut for Write {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.state.conn()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn names(pool: &SqlitePool) -> Vec<String> {
        sqlx::query_scalar("SELECT name FROM t ORDER BY name").fetch_all(pool).await.unwrap()
    }

    async fn with_table(pool: &SqlitePool) -> GroupCommit {
        sqlx::query("CREATE TABLE t (name TEXT PRIMARY KEY)").execute(pool).await.unwrap();
        GroupCommit::new(pool.clone())
    }

    #[sqlx::test(migrations = false)]
    async fn concurrent_writes_are_each_kept_once_acknowledged(pool: SqlitePool) {
        let writer = with_table(&pool).await;
        let writes = (0..64).map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer.execute(sqlx::query("INSERT INTO t VALUES (?1)").bind(format!("{i:02}"))).await
            })
        });
        for write in writes {
            assert_eq!(write.await.unwrap().unwrap().rows_affected(), 1);
        }
        assert_eq!(names(&pool).await, (0..64).map(|i| format!("{i:02}")).collect::<Vec<_>>());
    }

    #[sqlx::test(migrations = false)]
    async fn a_failing_write_takes_nothing_else_with_it(pool: SqlitePool) {
        let writer = with_table(&pool).await;
        let insert = |name: &'static str| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut write = writer.begin().await?;
                sqlx::query("INSERT INTO t VALUES (?1)").bind(name).execute(&mut *write).await.map_err(backend)?;
                write.commit().await
            })
        };
        // The second "a" breaks the primary key in the middle of the others.
        let outcomes = [insert("a"), insert("b"), insert("a"), insert("c")];
        let mut conflicts = 0;
        for outcome in outcomes {
            match outcome.await.unwrap() {
                Ok(()) => {}
                Err(StoreError::Conflict) => conflicts += 1,
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(conflicts, 1);
        assert_eq!(names(&pool).await, ["a", "b", "c"]);
    }

    #[sqlx::test(migrations = false)]
    async fn a_write_dropped_half_way_is_undone(pool: SqlitePool) {
        let writer = with_table(&pool).await;
        let mut write = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES ('dropped')").execute(&mut *write).await.unwrap();
        drop(write);
        writer.execute(sqlx::query("INSERT INTO t VALUES ('kept')")).await.unwrap();
        assert_eq!(names(&pool).await, ["kept"]);
    }

    /// Callers dropped at every possible point of a write (the way a client that
    /// disconnects drops its request) never leave the writer unable to write.
    #[sqlx::test(migrations = false)]
    async fn writes_dropped_at_any_await_leave_the_writer_working(pool: SqlitePool) {
        let writer = with_table(&pool).await;
        let mut kept = Vec::new();
        for i in 0..400_u32 {
            let name = format!("{i:03}");
            let write = writer.execute(sqlx::query("INSERT INTO t VALUES (?1)").bind(name.clone()));
            let give_up_after = async {
                for _ in 0..(i * 37) % 4000 {
                    tokio::task::yield_now().await;
                }
            };
            tokio::select! {
                biased;
                outcome = write => {
                    outcome.unwrap();
                    kept.push(name);
                }
                () = give_up_after => {}
            }
        }
        writer.execute(sqlx::query("INSERT INTO t VALUES ('last')")).await.unwrap();
        let names = names(&pool).await;
        assert!(kept.iter().all(|name| names.contains(name)), "an acknowledged write was lost");
        assert!(names.contains(&"last".to_owned()));
    }

    #[sqlx::test(migrations = false)]
    async fn close_commits_then_refuses_writes(pool: SqlitePool) {
        let writer = with_table(&pool).await;
        writer.execute(sqlx::query("INSERT INTO t VALUES ('before')")).await.unwrap();
        let file = sqlx::query_scalar::<_, String>("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&pool)
            .await
            .unwrap();
        writer.close().await;
        assert!(writer.execute(sqlx::query("INSERT INTO t VALUES ('after')")).await.is_err());
        let reopened = SqlitePool::connect(&format!("sqlite://{file}")).await.unwrap();
        assert_eq!(names(&reopened).await, ["before"]);
    }
}
