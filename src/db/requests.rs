//! The `access_requests` and `access_request_decisions` tables: elevation requests with
//! their state and each person's decision. The rules (who may ask, who may decide, how
//! many) are the elevation service's; this keeps the state changes atomic:
//!
//! - a person has at most one open request per role (a partial unique index), and a
//!   request left open past its time is closed as `expired` in the transaction that
//!   would otherwise collide with it;
//! - a decision first bumps the request's version where it is still pending and in time,
//!   which makes concurrent deciders take turns on the row (a row lock in PostgreSQL, the
//!   write lock in SQLite), then records the decision (one per person: the primary key)
//!   and, on the last approval needed, opens the approved window — so two approvals that
//!   race are both counted, and a third finds the request decided.

use sqlx::Row;

use super::{Database, DbError, Pool, bounded, on_pool};

/// A request as stored, with the decisions taken on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    /// Its id.
    pub id: String,
    /// The role asked for.
    pub role: String,
    /// The requester's provider.
    pub provider: String,
    /// The requester's subject at it.
    pub subject: String,
    /// The requester's name, for people reading it.
    pub display_name: String,
    /// Why (may be empty when the role does not ask).
    pub reason: String,
    /// The ticket named (may be empty).
    pub ticket: String,
    /// The window asked for, in seconds.
    pub duration_secs: i64,
    /// How many different people must approve.
    pub approvals_needed: i64,
    /// Whether the requester approved it themself (break-glass).
    pub break_glass: bool,
    /// `pending`, `approved`, `used`, `denied`, `expired` or `revoked`, as stored (see
    /// the elevation service for the state as of a given time).
    pub state: String,
    /// When it was made.
    pub created_ms: i64,
    /// When it expires if nobody decides.
    pub decide_by_ms: i64,
    /// When the approved window opened.
    pub starts_ms: Option<i64>,
    /// When the approved window closes.
    pub ends_ms: Option<i64>,
    /// When the role was first assumed through it.
    pub used_ms: Option<i64>,
    /// When it was denied, revoked or expired.
    pub closed_ms: Option<i64>,
    /// Who denied or revoked it.
    pub closed_by: Option<String>,
    /// Why it was revoked.
    pub close_reason: Option<String>,
    /// Bumped by every change.
    pub version: i64,
    /// The decisions taken on it, oldest first.
    pub decisions: Vec<DecisionRow>,
}

/// One person's decision on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    /// The decider's provider.
    pub provider: String,
    /// The decider's subject at it.
    pub subject: String,
    /// The decider's name.
    pub display_name: String,
    /// `approve` or `deny`.
    pub decision: String,
    /// What they wrote.
    pub comment: String,
    /// When.
    pub time_ms: i64,
}

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// Its id.
    pub id: String,
    /// The role asked for.
    pub role: String,
    /// The requester's provider.
    pub provider: String,
    /// The requester's subject at it.
    pub subject: String,
    /// The requester's name.
    pub display_name: String,
    /// Why.
    pub reason: String,
    /// The ticket named.
    pub ticket: String,
    /// The window asked for, in seconds.
    pub duration_secs: i64,
    /// How many different people must approve.
    pub approvals_needed: i64,
    /// When it is made.
    pub created_ms: i64,
    /// When it expires if nobody decides.
    pub decide_by_ms: i64,
    /// Break-glass: stored approved by the requester at once, this decision included.
    pub break_glass: Option<DecisionRow>,
}

/// Which requests to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only in these stored states (any: empty).
    pub states: Vec<String>,
    /// Only for this role.
    pub role: Option<String>,
    /// Only of this requester (provider, subject).
    pub requester: Option<(String, String)>,
    /// Only made before this time (paging).
    pub before_ms: Option<i64>,
    /// At most this many (capped at 500).
    pub limit: u32,
}

/// Why a request or a decision changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No request has this id.
    #[error("no such access request")]
    NotFound,
    /// The person already has an open request for the role (its id).
    #[error("an open access request for this role exists already")]
    Open(String),
    /// The request is no longer waiting for this: its current row.
    #[error("the access request is {}", .0.state)]
    Closed(Box<RequestRow>),
    /// This person decided on the request already.
    #[error("this person has decided on the access request already")]
    AlreadyDecided,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

const COLUMNS: &str = "id, role, provider, subject, display_name, reason, ticket, \
    duration_secs, approvals_needed, break_glass, state, created_ms, decide_by_ms, \
    starts_ms, ends_ms, used_ms, closed_ms, closed_by, close_reason, version";

/// Closes, as `expired`, the open requests of one person for one role whose time is up.
const EXPIRE_ONE: &str = "UPDATE access_requests SET state = 'expired', closed_ms = $4, \
    version = version + 1 WHERE provider = $1 AND subject = $2 AND role = $3 AND \
    ((state = 'pending' AND decide_by_ms <= $4) OR \
     (state IN ('approved', 'used') AND ends_ms <= $4))";

const EXPIRE_ALL: &str = "UPDATE access_requests SET state = 'expired', closed_ms = $1, \
    version = version + 1 WHERE \
    (state = 'pending' AND decide_by_ms <= $1) OR \
    (state IN ('approved', 'used') AND ends_ms <= $1) RETURNING id";

const INSERT: &str = "INSERT INTO access_requests (id, role, provider, subject, \
    display_name, reason, ticket, duration_secs, approvals_needed, break_glass, state, \
    created_ms, decide_by_ms, starts_ms, ends_ms, version) VALUES \
    ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1)";

const INSERT_DECISION: &str = "INSERT INTO access_request_decisions (request_id, provider, \
    subject, display_name, decision, comment, time_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)";

const OPEN_ID: &str = "SELECT id FROM access_requests WHERE provider = $1 AND subject = $2 \
    AND role = $3 AND state IN ('pending', 'approved', 'used')";

/// Takes the row for a decision: only while pending and in time.
const TAKE_PENDING: &str = "UPDATE access_requests SET version = version + 1 \
    WHERE id = $1 AND state = 'pending' AND decide_by_ms > $2";

const COUNT_APPROVALS: &str = "SELECT COUNT(*) FROM access_request_decisions \
    WHERE request_id = $1 AND decision = 'approve'";

const APPROVE: &str = "UPDATE access_requests SET state = 'approved', starts_ms = $2, \
    ends_ms = $2 + duration_secs * 1000 WHERE id = $1";

const DENY: &str = "UPDATE access_requests SET state = 'denied', closed_ms = $2, \
    closed_by = $3 WHERE id = $1";

const REVOKE: &str = "UPDATE access_requests SET state = 'revoked', closed_ms = $2, \
    closed_by = $3, close_reason = $4, version = version + 1 \
    WHERE id = $1 AND state IN ('pending', 'approved', 'used')";

const MARK_USED: &str = "UPDATE access_requests SET state = 'used', used_ms = $2, \
    version = version + 1 WHERE id = $1 AND state = 'approved' AND ends_ms > $2";

const DECISIONS: &str = "SELECT provider, subject, display_name, decision, comment, time_ms \
    FROM access_request_decisions WHERE request_id = $1 ORDER BY time_ms, provider, subject";

/// Reads a request row (without its decisions) from a result row of [`COLUMNS`]; a macro
/// so that it compiles for either backend's row type.
macro_rules! request_of {
    ($r:expr) => {{
        let r = $r;
        RequestRow {
            id: r.try_get(0)?,
            role: r.try_get(1)?,
            provider: r.try_get(2)?,
            subject: r.try_get(3)?,
            display_name: r.try_get(4)?,
            reason: r.try_get(5)?,
            ticket: r.try_get(6)?,
            duration_secs: r.try_get(7)?,
            approvals_needed: r.try_get(8)?,
            break_glass: r.try_get::<i64, _>(9)? != 0,
            state: r.try_get(10)?,
            created_ms: r.try_get(11)?,
            decide_by_ms: r.try_get(12)?,
            starts_ms: r.try_get(13)?,
            ends_ms: r.try_get(14)?,
            used_ms: r.try_get(15)?,
            closed_ms: r.try_get(16)?,
            closed_by: r.try_get(17)?,
            close_reason: r.try_get(18)?,
            version: r.try_get(19)?,
            decisions: Vec::new(),
        }
    }};
}

/// Inserts a decision row in the transaction `$tx`; a macro so that it compiles for
/// either backend.
macro_rules! insert_decision {
    ($tx:ident, $id:expr, $d:expr) => {{
        let d: &DecisionRow = $d;
        sqlx::query(INSERT_DECISION)
            .bind($id)
            .bind(d.provider.as_str())
            .bind(d.subject.as_str())
            .bind(d.display_name.as_str())
            .bind(d.decision.as_str())
            .bind(d.comment.as_str())
            .bind(d.time_ms)
            .execute(&mut *$tx)
            .await
            .map(|_| ())
    }};
}

type DecisionTuple = (String, String, String, String, String, i64);

fn decision_of(
    (provider, subject, display_name, decision, comment, time_ms): DecisionTuple,
) -> DecisionRow {
    DecisionRow {
        provider,
        subject,
        display_name,
        decision,
        comment,
        time_ms,
    }
}

/// Whether `e` is a unique-constraint violation.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Database {
    /// Stores a new request, first closing as `expired` the person's open request for the
    /// role whose time is up. [`DecideError::Open`] when one is still open. A break-glass
    /// request is stored approved, its window open from `created_ms`, with its decision.
    pub async fn insert_access_request(&self, new: &NewRequest) -> Result<RequestRow, DecideError> {
        self.ready().await?;
        let inserted: Result<(), DbError> = on_pool!(self, p => bounded(async {
            let mut tx = p.begin().await?;
            sqlx::query(EXPIRE_ONE)
                .bind(new.provider.as_str())
                .bind(new.subject.as_str())
                .bind(new.role.as_str())
                .bind(new.created_ms)
                .execute(&mut *tx)
                .await?;
            let (state, starts, ends) = match &new.break_glass {
                Some(_) => (
                    "approved",
                    Some(new.created_ms),
                    Some(new.created_ms + new.duration_secs * 1000),
                ),
                None => ("pending", None, None),
            };
            sqlx::query(INSERT)
                .bind(new.id.as_str())
                .bind(new.role.as_str())
                .bind(new.provider.as_str())
                .bind(new.subject.as_str())
                .bind(new.display_name.as_str())
                .bind(new.reason.as_str())
                .bind(new.ticket.as_str())
                .bind(new.duration_secs)
                .bind(new.approvals_needed)
                .bind(i64::from(new.break_glass.is_some()))
                .bind(state)
                .bind(new.created_ms)
                .bind(new.decide_by_ms)
                .bind(starts)
                .bind(ends)
                .execute(&mut *tx)
                .await?;
            if let Some(d) = &new.break_glass {
                insert_decision!(tx, new.id.as_str(), d)?;
            }
            tx.commit().await
        })
        .await);
        match inserted {
            Ok(()) => {}
            Err(DbError::Query(e)) if is_unique_violation(&e) => {
                let open: Option<(String,)> = on_pool!(self, p => bounded(
                    sqlx::query_as(OPEN_ID)
                        .bind(new.provider.as_str())
                        .bind(new.subject.as_str())
                        .bind(new.role.as_str())
                        .fetch_optional(p),
                )
                .await)?;
                return Err(DecideError::Open(open.map(|(id,)| id).unwrap_or_default()));
            }
            Err(e) => return Err(e.into()),
        }
        self.access_request(&new.id)
            .await?
            .ok_or(DecideError::NotFound)
    }

    /// One request with its decisions.
    pub async fn access_request(&self, id: &str) -> Result<Option<RequestRow>, DbError> {
        self.ready().await?;
        let sql = format!("SELECT {COLUMNS} FROM access_requests WHERE id = $1");
        on_pool!(self, p => bounded(async {
            let Some(r) = sqlx::query(&sql).bind(id).fetch_optional(p).await? else {
                return Ok(None);
            };
            let mut row = request_of!(&r);
            let decisions: Vec<DecisionTuple> =
                sqlx::query_as(DECISIONS).bind(id).fetch_all(p).await?;
            row.decisions = decisions.into_iter().map(decision_of).collect();
            Ok(Some(row))
        })
        .await)
    }

    /// The requests `filter` selects, newest first, each with its decisions.
    pub async fn access_requests(
        &self,
        filter: &RequestFilter,
    ) -> Result<Vec<RequestRow>, DbError> {
        self.ready().await?;
        let mut sql = format!("SELECT {COLUMNS} FROM access_requests WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if !filter.states.is_empty() {
            let marks: Vec<String> = filter.states.iter().map(|_| next()).collect();
            sql.push_str(&format!(" AND state IN ({})", marks.join(", ")));
        }
        if filter.role.is_some() {
            sql.push_str(&format!(" AND role = {}", next()));
        }
        if filter.requester.is_some() {
            let (a, b) = (next(), next());
            sql.push_str(&format!(" AND provider = {a} AND subject = {b}"));
        }
        if filter.before_ms.is_some() {
            sql.push_str(&format!(" AND created_ms < {}", next()));
        }
        let limit = filter.limit.clamp(1, 500);
        sql.push_str(&format!(" ORDER BY created_ms DESC, id DESC LIMIT {limit}"));
        on_pool!(self, p => bounded(async {
            let mut q = sqlx::query(&sql);
            for s in &filter.states {
                q = q.bind(s.as_str());
            }
            if let Some(role) = &filter.role {
                q = q.bind(role.as_str());
            }
            if let Some((provider, subject)) = &filter.requester {
                q = q.bind(provider.as_str()).bind(subject.as_str());
            }
            if let Some(before) = filter.before_ms {
                q = q.bind(before);
            }
            let rows = q.fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut row = request_of!(r);
                let decisions: Vec<DecisionTuple> =
                    sqlx::query_as(DECISIONS).bind(row.id.as_str()).fetch_all(p).await?;
                row.decisions = decisions.into_iter().map(decision_of).collect();
                out.push(row);
            }
            Ok(out)
        })
        .await)
    }

    /// Records `decision` on the pending request `id` at `now_ms`: a `deny` closes it; an
    /// `approve` that makes `approvals_needed` different approvers opens its window from
    /// `now_ms`. Refused when the request is not pending or its decision time is up
    /// ([`DecideError::Closed`]), or this person decided already.
    pub async fn decide_access_request(
        &self,
        id: &str,
        decision: &DecisionRow,
        now_ms: i64,
    ) -> Result<RequestRow, DecideError> {
        self.ready().await?;
        let outcome: Result<Result<(), DecideError>, DbError> = on_pool!(self, p => bounded(async {
            let mut tx = p.begin().await?;
            let taken = sqlx::query(TAKE_PENDING)
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if taken == 0 {
                tx.rollback().await?;
                return Ok(Err(DecideError::NotFound));
            }
            match insert_decision!(tx, id, decision) {
                Ok(()) => {}
                Err(e) if is_unique_violation(&e) => {
                    tx.rollback().await?;
                    return Ok(Err(DecideError::AlreadyDecided));
                }
                Err(e) => return Err(e),
            }
            if decision.decision == "deny" {
                sqlx::query(DENY)
                    .bind(id)
                    .bind(now_ms)
                    .bind(format!("{}:{}", decision.provider, decision.subject))
                    .execute(&mut *tx)
                    .await?;
            } else {
                let (approvals,): (i64,) =
                    sqlx::query_as(COUNT_APPROVALS).bind(id).fetch_one(&mut *tx).await?;
                let needed: (i64,) = sqlx::query_as(
                    "SELECT approvals_needed FROM access_requests WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                if approvals >= needed.0 {
                    sqlx::query(APPROVE).bind(id).bind(now_ms).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(Ok(()))
        })
        .await);
        match outcome? {
            Ok(()) => self.access_request(id).await?.ok_or(DecideError::NotFound),
            Err(DecideError::NotFound) => match self.access_request(id).await? {
                // Not pending, or pending past its time: closed for deciding.
                Some(row) => Err(DecideError::Closed(Box::new(row))),
                None => Err(DecideError::NotFound),
            },
            Err(e) => Err(e),
        }
    }

    /// Revokes the open request `id` (pending, approved or used) at `now_ms`, by `by`,
    /// for `reason`.
    pub async fn revoke_access_request(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<RequestRow, DecideError> {
        self.ready().await?;
        let changed = on_pool!(self, p => bounded(
            sqlx::query(REVOKE).bind(id).bind(now_ms).bind(by).bind(reason).execute(p),
        )
        .await
        .map(|r| r.rows_affected()))?;
        let row = self
            .access_request(id)
            .await?
            .ok_or(DecideError::NotFound)?;
        if changed == 0 {
            return Err(DecideError::Closed(Box::new(row)));
        }
        Ok(row)
    }

    /// Marks the approved request `id` as used at `now_ms` (the first assumption through
    /// it); whether this call was the one that did.
    pub async fn mark_access_request_used(&self, id: &str, now_ms: i64) -> Result<bool, DbError> {
        self.ready().await?;
        let changed = on_pool!(self, p => bounded(
            sqlx::query(MARK_USED).bind(id).bind(now_ms).execute(p),
        )
        .await
        .map(|r| r.rows_affected()))?;
        Ok(changed > 0)
    }

    /// Closes as `expired` every request whose time is up at `now_ms`; their ids.
    pub async fn expire_access_requests(&self, now_ms: i64) -> Result<Vec<String>, DbError> {
        self.ready().await?;
        let ids: Vec<(String,)> = on_pool!(self, p => bounded(
            sqlx::query_as(EXPIRE_ALL).bind(now_ms).fetch_all(p),
        )
        .await)?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }
}
