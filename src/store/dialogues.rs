//! `dialogue_versions`: the source of every dialogue version a session or
//! ballot refers to.

use anyhow::{Context, Result};

use super::sql::query;
use super::{Store, Tx};

impl Store {
    /// Remembers a dialogue version's source (idempotent).
    pub async fn record_dialogue(&self, id: &str, version: &str, source: &str) -> Result<()> {
        query(
            "INSERT INTO dialogue_versions (dialogue_id, version, source) VALUES ($1, $2, $3) \
             ON CONFLICT (dialogue_id, version) DO NOTHING",
        )
        .bind(id)
        .bind(version)
        .bind(source)
        .execute(self)
        .await
        .with_context(|| format!("recording dialogue {id} version {version}"))?;
        Ok(())
    }
}

impl Tx {
    /// The source of a recorded dialogue version.
    pub async fn dialogue_source(&mut self, id: &str, version: &str) -> Result<Option<String>> {
        let row =
            query("SELECT source FROM dialogue_versions WHERE dialogue_id = $1 AND version = $2")
                .bind(id)
                .bind(version)
                .fetch_optional(&mut *self)
                .await
                .with_context(|| format!("loading dialogue {id} version {version}"))?;
        row.map(|r| r.try_get(0)).transpose()
    }
}
