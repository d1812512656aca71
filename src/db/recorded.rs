//! The `recorded_sign_ins` table: per provider, the identity (with its raw claims) of the
//! most recent sign-in of each subject, at most a bounded number of subjects per provider,
//! for the trust simulator and change impact.

use super::{Database, DbError, Pool, bounded, on_pool};

/// One recorded sign-in as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRow {
    /// Its id (a new one at every sign-in of the subject).
    pub id: String,
    /// The provider.
    pub provider: String,
    /// The subject at the provider.
    pub subject: String,
    /// When, milliseconds since the epoch.
    pub time_ms: i64,
    /// The identity as JSON text.
    pub identity: String,
}

const UPSERT: &str = "INSERT INTO recorded_sign_ins (id, provider, subject, time_ms, identity) \
                      VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, subject) DO UPDATE \
                      SET id = excluded.id, time_ms = excluded.time_ms, \
                      identity = excluded.identity";

/// Keeps the newest `$2` rows of provider `$1`.
const TRIM: &str = "DELETE FROM recorded_sign_ins WHERE provider = $1 AND id NOT IN \
                    (SELECT id FROM recorded_sign_ins WHERE provider = $1 \
                    ORDER BY time_ms DESC, id DESC LIMIT $2)";

const EXPIRE: &str = "DELETE FROM recorded_sign_ins WHERE time_ms < $1";

const SELECT: &str = "SELECT id, provider, subject, time_ms, identity FROM recorded_sign_ins";

type Tuple = (String, String, String, i64, String);

fn row((id, provider, subject, time_ms, identity): Tuple) -> RecordedRow {
    RecordedRow {
        id,
        provider,
        subject,
        time_ms,
        identity,
    }
}

impl Database {
    /// Records `row` (replacing the subject's previous one), keeps the provider's newest
    /// `keep` rows, and deletes every row older than `expire_before_ms`: one transaction.
    pub async fn record_sign_in(
        &self,
        row: &RecordedRow,
        keep: u32,
        expire_before_ms: i64,
    ) -> Result<(), DbError> {
        self.ready().await?;
        on_pool!(self, p => bounded(async {
            let mut tx = p.begin().await?;
            sqlx::query(UPSERT)
                .bind(row.id.as_str())
                .bind(row.provider.as_str())
                .bind(row.subject.as_str())
                .bind(row.time_ms)
                .bind(row.identity.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(TRIM)
                .bind(row.provider.as_str())
                .bind(i64::from(keep))
                .execute(&mut *tx)
                .await?;
            sqlx::query(EXPIRE).bind(expire_before_ms).execute(&mut *tx).await?;
            tx.commit().await
        })
        .await)
    }

    /// The recorded sign-ins of `provider` (every provider: `None`) at or after
    /// `since_ms`, newest first.
    pub async fn recorded_sign_ins(
        &self,
        provider: Option<&str>,
        since_ms: i64,
    ) -> Result<Vec<RecordedRow>, DbError> {
        self.ready().await?;
        let rows: Vec<Tuple> = on_pool!(self, p => match provider {
            Some(provider) => {
                let sql = format!(
                    "{SELECT} WHERE provider = $1 AND time_ms >= $2 ORDER BY time_ms DESC, id DESC"
                );
                bounded(sqlx::query_as(&sql).bind(provider).bind(since_ms).fetch_all(p)).await
            }
            None => {
                let sql = format!("{SELECT} WHERE time_ms >= $1 ORDER BY time_ms DESC, id DESC");
                bounded(sqlx::query_as(&sql).bind(since_ms).fetch_all(p)).await
            }
        })?;
        Ok(rows.into_iter().map(row).collect())
    }

    /// One recorded sign-in by id, if it is at or after `since_ms`.
    pub async fn recorded_sign_in(
        &self,
        id: &str,
        since_ms: i64,
    ) -> Result<Option<RecordedRow>, DbError> {
        self.ready().await?;
        let sql = format!("{SELECT} WHERE id = $1 AND time_ms >= $2");
        let found: Option<Tuple> = on_pool!(self, p =>
            bounded(sqlx::query_as(&sql).bind(id).bind(since_ms).fetch_optional(p)).await)?;
        Ok(found.map(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Location;

    fn row(subject: &str, time_ms: i64) -> RecordedRow {
        RecordedRow {
            id: format!("{subject}-{time_ms}"),
            provider: "corp".to_owned(),
            subject: subject.to_owned(),
            time_ms,
            identity: "{}".to_owned(),
        }
    }

    #[tokio::test]
    async fn one_row_per_subject_the_newest_kept_and_old_ones_expire() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&Location::Sqlite(dir.path().join("r.db"))).unwrap();
        for i in 0..5 {
            db.record_sign_in(&row(&format!("s{i}"), 100 + i), 3, 0)
                .await
                .unwrap();
        }
        // Bounded to the newest 3 of the provider.
        let subjects = |rows: Vec<RecordedRow>| -> Vec<String> {
            rows.into_iter().map(|r| r.subject).collect()
        };
        let rows = db.recorded_sign_ins(Some("corp"), 0).await.unwrap();
        assert_eq!(subjects(rows), ["s4", "s3", "s2"]);
        // A subject's new sign-in replaces its row (and its id).
        db.record_sign_in(&row("s2", 200), 3, 0).await.unwrap();
        let rows = db.recorded_sign_ins(Some("corp"), 0).await.unwrap();
        assert_eq!(rows[0].id, "s2-200");
        assert_eq!(subjects(rows), ["s2", "s4", "s3"]);
        assert!(db.recorded_sign_in("s2-102", 0).await.unwrap().is_none());
        // Reads skip what is older than the window; the next write deletes it.
        let rows = db.recorded_sign_ins(None, 150).await.unwrap();
        assert_eq!(subjects(rows), ["s2"]);
        db.record_sign_in(&row("s9", 300), 3, 150).await.unwrap();
        let rows = db.recorded_sign_ins(None, 0).await.unwrap();
        assert_eq!(subjects(rows), ["s9", "s2"]);
        db.close().await;
    }
}
