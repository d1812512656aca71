//! The `audit_events` table: one row per event, its searchable fields in columns and the
//! whole event as JSON in `record`.

use super::{Database, DbError, Pool, bounded, on_pool};

/// One event as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventRow {
    /// Unique id.
    pub id: String,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    /// The event's stable name (`credentials.issued`, …).
    pub event: String,
    /// The door, for credential events.
    pub door: Option<String>,
    /// The upstream identity provider.
    pub provider: Option<String>,
    /// The subject.
    pub subject: Option<String>,
    /// The role.
    pub role: Option<String>,
    /// The role session's name.
    pub session_name: Option<String>,
    /// The role session's id.
    pub role_session: Option<String>,
    /// The OAuth client.
    pub client_id: Option<String>,
    /// The client's address.
    pub source_ip: Option<String>,
    /// The whole event, as JSON.
    pub record: String,
}

/// Which events to read: every given field must match exactly; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// The subject.
    pub subject: Option<String>,
    /// The role.
    pub role: Option<String>,
    /// The upstream identity provider.
    pub provider: Option<String>,
    /// The event's stable name.
    pub event: Option<String>,
    /// The role session's id.
    pub role_session: Option<String>,
    /// Only events at or after this time (milliseconds since the epoch).
    pub since_ms: Option<i64>,
    /// Only events before this time (milliseconds since the epoch).
    pub until_ms: Option<i64>,
    /// Only events after this one in the newest-first order: its time and id (a page's
    /// cursor, the last event of the page before).
    pub after: Option<(i64, String)>,
    /// At most this many events.
    pub limit: u32,
}

/// A bind value of a filter.
enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

impl EventFilter {
    /// The `SELECT` and its bind values, in `$n` order.
    fn sql(&self) -> (String, Vec<Arg<'_>>) {
        let mut sql = String::from("SELECT record FROM audit_events WHERE 1 = 1");
        let mut args = Vec::new();
        let columns = [
            ("subject", &self.subject),
            ("role", &self.role),
            ("provider", &self.provider),
            ("event", &self.event),
            ("role_session", &self.role_session),
        ];
        for (column, value) in columns {
            if let Some(v) = value {
                args.push(Arg::Text(v));
                sql.push_str(&format!(" AND {column} = ${}", args.len()));
            }
        }
        if let Some(since) = self.since_ms {
            args.push(Arg::Int(since));
            sql.push_str(&format!(" AND time_ms >= ${}", args.len()));
        }
        if let Some(until) = self.until_ms {
            args.push(Arg::Int(until));
            sql.push_str(&format!(" AND time_ms < ${}", args.len()));
        }
        if let Some((time_ms, id)) = &self.after {
            args.push(Arg::Int(*time_ms));
            let t = args.len();
            args.push(Arg::Text(id));
            sql.push_str(&format!(
                " AND (time_ms < ${t} OR (time_ms = ${t} AND id < ${}))",
                args.len()
            ));
        }
        args.push(Arg::Int(i64::from(self.limit)));
        sql.push_str(&format!(
            " ORDER BY time_ms DESC, id DESC LIMIT ${}",
            args.len()
        ));
        (sql, args)
    }
}

/// The head of the one multi-row `INSERT` a batch of events is written with.
const INSERT_HEAD: &str = "INSERT INTO audit_events (id, time_ms, event, door, provider, subject, \
                           role, session_name, role_session, client_id, source_ip, record) ";

/// The most rows one `INSERT` statement carries: 12 bind values each stays far below
/// SQLite's (32,766) and PostgreSQL's (65,535) limits on bind values per statement.
const ROWS_PER_STATEMENT: usize = 512;

const DELETE_BEFORE: &str = "DELETE FROM audit_events WHERE time_ms < $1";

/// One row's `INSERT`, for an event written in the transaction of the change it records
/// ([`insert_event`]).
pub(super) const INSERT_ONE: &str = "INSERT INTO audit_events (id, time_ms, event, door, \
                                     provider, subject, role, session_name, role_session, \
                                     client_id, source_ip, record) \
                                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// The `INSERT` of one [`EventRow`] ([`INSERT_ONE`] with its values bound), for either
/// backend: executed on a write's transaction, it commits or rolls back with the write.
macro_rules! insert_event {
    ($row:expr) => {{
        let row: &EventRow = $row;
        sqlx::query(super::events::INSERT_ONE)
            .bind(row.id.as_str())
            .bind(row.time_ms)
            .bind(row.event.as_str())
            .bind(row.door.as_deref())
            .bind(row.provider.as_deref())
            .bind(row.subject.as_deref())
            .bind(row.role.as_deref())
            .bind(row.session_name.as_deref())
            .bind(row.role_session.as_deref())
            .bind(row.client_id.as_deref())
            .bind(row.source_ip.as_deref())
            .bind(row.record.as_str())
    }};
}
pub(super) use insert_event;

/// The multi-row `INSERT` of `$chunk` (a slice of [`EventRow`]s) as a query builder, for
/// either backend.
macro_rules! insert_rows {
    ($chunk:expr) => {{
        let mut insert = sqlx::QueryBuilder::new(INSERT_HEAD);
        insert.push_values($chunk, |mut values, row| {
            values
                .push_bind(row.id.as_str())
                .push_bind(row.time_ms)
                .push_bind(row.event.as_str())
                .push_bind(row.door.as_deref())
                .push_bind(row.provider.as_deref())
                .push_bind(row.subject.as_deref())
                .push_bind(row.role.as_deref())
                .push_bind(row.session_name.as_deref())
                .push_bind(row.role_session.as_deref())
                .push_bind(row.client_id.as_deref())
                .push_bind(row.source_ip.as_deref())
                .push_bind(row.record.as_str());
        });
        insert
    }};
}

/// The audit writer's own connection to a SQLite trail ([`Database::insert_events_with`]):
/// empty until the first write, and again after a failed one.
#[derive(Default)]
pub struct EventWriter {
    conn: Option<sqlx::SqliteConnection>,
}

impl std::fmt::Debug for EventWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventWriter")
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

impl EventWriter {
    /// A writer without a connection yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Database {
    /// Inserts one event; `Ok` once the insert is committed.
    pub async fn insert_event(&self, row: &EventRow) -> Result<(), DbError> {
        self.insert_events(std::slice::from_ref(row)).await
    }

    /// Inserts `rows` atomically (one commit, one sync to disk); `Ok` once it is
    /// committed, and then every row is kept; on `Err` none is.
    ///
    /// Up to [`ROWS_PER_STATEMENT`] rows go in one multi-row `INSERT`, which commits on its
    /// own (a statement is atomic in both databases): one round trip to the database per
    /// batch, where `BEGIN`, `INSERT` and `COMMIT` would take three. The group-committing
    /// writer waits for this call, so each round trip saved is latency every waiting caller
    /// saves. Longer lists are written in one transaction, a statement per chunk.
    pub async fn insert_events(&self, rows: &[EventRow]) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.ready().await?;
        on_pool!(self, p => bounded(async {
            if rows.len() <= ROWS_PER_STATEMENT {
                return insert_rows!(rows).build().execute(p).await.map(|_| ());
            }
            let mut tx = p.begin().await?;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                insert_rows!(chunk).build().execute(&mut *tx).await?;
            }
            tx.commit().await
        })
        .await)
    }

    /// [`Database::insert_events`] through `writer`'s own connection to a SQLite file,
    /// made on first use and kept: a pooled connection costs, per batch, a hand-off to a
    /// task that returns it to the pool and a ping to its worker thread on the way back,
    /// as much again as the `INSERT` itself. A failed or interrupted write drops the
    /// connection (it may be left inside a transaction); the next one makes a new one.
    /// PostgreSQL goes through the pool as before, which checks a connection before use
    /// (a server restart must not fail a batch).
    pub async fn insert_events_with(
        &self,
        writer: &mut EventWriter,
        rows: &[EventRow],
    ) -> Result<(), DbError> {
        let Pool::Sqlite(pool) = &self.pool else {
            return self.insert_events(rows).await;
        };
        if rows.is_empty() {
            return Ok(());
        }
        self.ready().await?;
        let written = bounded(async {
            let conn = match &mut writer.conn {
                Some(conn) => conn,
                held @ None => held.insert(pool.acquire().await?.detach()),
            };
            if rows.len() <= ROWS_PER_STATEMENT {
                return insert_rows!(rows)
                    .build()
                    .execute(&mut *conn)
                    .await
                    .map(|_| ());
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                insert_rows!(chunk).build().execute(&mut *tx).await?;
            }
            tx.commit().await
        })
        .await;
        if written.is_err() {
            writer.conn = None;
        }
        written
    }

    /// The `record` of every event that `filter` matches, newest first.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<String>, DbError> {
        self.ready().await?;
        let (sql, args) = filter.sql();
        on_pool!(self, p => {
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for arg in &args {
                query = match arg {
                    Arg::Text(s) => query.bind(*s),
                    Arg::Int(i) => query.bind(*i),
                };
            }
            bounded(query.fetch_all(p)).await
        })
    }

    /// Deletes every event older than `time_ms`; returns how many went.
    pub async fn delete_events_before(&self, time_ms: i64) -> Result<u64, DbError> {
        self.ready().await?;
        on_pool!(self, p => bounded(sqlx::query(DELETE_BEFORE).bind(time_ms).execute(p))
            .await
            .map(|r| r.rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_binds_each_given_field_in_order() {
        let filter = EventFilter {
            subject: Some("alice".into()),
            event: Some("credentials.issued".into()),
            since_ms: Some(42),
            limit: 10,
            ..EventFilter::default()
        };
        let (sql, args) = filter.sql();
        assert_eq!(
            sql,
            "SELECT record FROM audit_events WHERE 1 = 1 AND subject = $1 AND event = $2 \
             AND time_ms >= $3 ORDER BY time_ms DESC, id DESC LIMIT $4"
        );
        assert!(matches!(
            args[..],
            [
                Arg::Text("alice"),
                Arg::Text("credentials.issued"),
                Arg::Int(42),
                Arg::Int(10)
            ]
        ));
        let page = EventFilter {
            until_ms: Some(99),
            after: Some((50, "e-1".into())),
            limit: 2,
            ..EventFilter::default()
        };
        let (sql, args) = page.sql();
        assert_eq!(
            sql,
            "SELECT record FROM audit_events WHERE 1 = 1 AND time_ms < $1 \
             AND (time_ms < $2 OR (time_ms = $2 AND id < $3)) \
             ORDER BY time_ms DESC, id DESC LIMIT $4"
        );
        assert_eq!(args.len(), 4);
        let empty = EventFilter::default();
        let (sql, args) = empty.sql();
        assert!(sql.ends_with("WHERE 1 = 1 ORDER BY time_ms DESC, id DESC LIMIT $1"));
        assert_eq!(args.len(), 1);
    }
}
