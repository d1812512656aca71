//! The `sp_keys` table: the SP key pair of each SAML provider kept in the database, so that
//! every instance is the same SP towards the IdP (a key pair per instance would give the
//! IdP as many certificates as instances, and every instance but one would be refused).

use super::{Database, DbError, Pool, bounded, on_pool};
use crate::secret::Secret;

/// One provider's SP key pair as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SpKeyRow {
    /// The provider's id.
    pub provider: String,
    /// The private key, PEM (PKCS#8).
    pub key_pem: Secret,
    /// The self-signed certificate, PEM.
    pub cert_pem: String,
}

/// Keeps the first pair written for a provider: two instances generating at once both
/// read back the one that won.
const INSERT: &str = "INSERT INTO sp_keys (provider, key_pem, cert_pem, created_ms) \
                      VALUES ($1, $2, $3, $4) ON CONFLICT (provider) DO NOTHING";

const SELECT_ALL: &str = "SELECT provider, key_pem, cert_pem FROM sp_keys ORDER BY provider";

const SELECT_ONE: &str = "SELECT provider, key_pem, cert_pem FROM sp_keys WHERE provider = $1";

type Tuple = (String, String, String);

fn row((provider, key_pem, cert_pem): Tuple) -> SpKeyRow {
    SpKeyRow {
        provider,
        key_pem: Secret::new(key_pem),
        cert_pem,
    }
}

impl Database {
    /// Every stored SP key pair, by provider id.
    pub async fn sp_keys(&self) -> Result<Vec<SpKeyRow>, DbError> {
        self.ready().await?;
        let rows: Vec<Tuple> =
            on_pool!(self, p => bounded(sqlx::query_as(SELECT_ALL).fetch_all(p)).await)?;
        Ok(rows.into_iter().map(row).collect())
    }

    /// The SP key pair of `provider`, if one is stored.
    pub async fn sp_key(&self, provider: &str) -> Result<Option<SpKeyRow>, DbError> {
        self.ready().await?;
        let found: Option<Tuple> = on_pool!(self, p =>
            bounded(sqlx::query_as(SELECT_ONE).bind(provider).fetch_optional(p)).await)?;
        Ok(found.map(row))
    }

    /// Stores `pair` unless the provider has one, and answers the provider's pair: `pair`,
    /// or the one another instance stored first.
    pub async fn keep_sp_key(&self, pair: &SpKeyRow, now_ms: i64) -> Result<SpKeyRow, DbError> {
        self.ready().await?;
        let found: Tuple = on_pool!(self, p => bounded(async {
            let mut tx = p.begin().await?;
            sqlx::query(INSERT)
                .bind(pair.provider.as_str())
                .bind(pair.key_pem.expose_secret())
                .bind(pair.cert_pem.as_str())
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            let found = sqlx::query_as(SELECT_ONE)
                .bind(pair.provider.as_str())
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(found)
        })
        .await)?;
        Ok(row(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Location;

    fn pair(provider: &str, key: &str) -> SpKeyRow {
        SpKeyRow {
            provider: provider.to_owned(),
            key_pem: Secret::new(key),
            cert_pem: format!("certificate of {provider}"),
        }
    }

    #[tokio::test]
    async fn the_first_pair_stored_stays() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&Location::Sqlite(dir.path().join("k.db"))).unwrap();
        assert!(db.sp_keys().await.unwrap().is_empty());
        assert!(db.sp_key("idp").await.unwrap().is_none());
        let kept = db.keep_sp_key(&pair("idp", "first"), 1).await.unwrap();
        assert_eq!(db.sp_key("idp").await.unwrap(), Some(pair("idp", "first")));
        assert_eq!(kept, pair("idp", "first"));
        // A second instance's pair loses to the first; it reads the first back.
        let kept = db.keep_sp_key(&pair("idp", "second"), 2).await.unwrap();
        assert_eq!(kept, pair("idp", "first"));
        db.keep_sp_key(&pair("other", "third"), 3).await.unwrap();
        let all = db.sp_keys().await.unwrap();
        assert_eq!(all, [pair("idp", "first"), pair("other", "third")]);
        assert!(!format!("{:?}", all[0]).contains("first"));
        db.close().await;
    }
}
