//! The results handed to staff on Zalo and the web chat: once the survey
//! has closed, `báo cáo` computes the final report (the ballot box emptied
//! into the chain first) and answers with a link; the workbook and the page
//! are kept in memory for a day under an unguessable id and served by the
//! web chat at `/bao-cao/<id>/<file>`. (Telegram sends the files instead.)
//! The results are meant to be published: the id keeps them from being
//! found before the district announces them, not secret after.

use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, TimeDelta, Utc};

use super::Survey;
use crate::report::{PAGE_HTML, WORKBOOK, staff_files};

/// How long a link works.
pub const KEPT: TimeDelta = TimeDelta::hours(24);

/// One file of a published report.
#[derive(Debug, Clone)]
pub struct PublishedFile {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: Arc<Vec<u8>>,
}

/// A report made for a staff member's link.
#[derive(Debug, Clone)]
pub(super) struct Published {
    files: Vec<PublishedFile>,
    until: DateTime<Utc>,
}

impl Survey {
    /// Computes the final report and keeps it for [`KEPT`]; returns its id.
    pub(super) async fn publish_report(&self) -> Result<String> {
        self.mix(true).await?;
        let now = self.now();
        let (_, files) = staff_files(&self.store, &self.campaign, now).await?;
        let files = files
            .into_iter()
            .map(|(name, bytes)| PublishedFile {
                name,
                content_type: if name == WORKBOOK {
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                } else {
                    "text/html; charset=utf-8"
                },
                bytes: Arc::new(bytes),
            })
            .collect();
        let id = crate::hex::random::<16>();
        self.published.retain(|_, p| p.until > now);
        self.published.insert(
            id.clone(),
            Published {
                files,
                until: now + KEPT,
            },
        );
        Ok(id)
    }

    /// A file of a published report, while its link works.
    pub fn published_file(&self, id: &str, name: &str) -> Option<PublishedFile> {
        let published = self.published.get(id)?;
        if published.until <= self.now() {
            return None;
        }
        published.files.iter().find(|f| f.name == name).cloned()
    }

    /// The links to a published report's page and workbook.
    pub(super) fn report_links(&self, id: &str) -> (String, String) {
        let base = self.public_url.get().map_or("", String::as_str);
        (
            format!("{base}/bao-cao/{id}/{PAGE_HTML}"),
            format!("{base}/bao-cao/{id}/{WORKBOOK}"),
        )
    }

    /// Before a staff member's `báo cáo` is stepped: once the results are
    /// published, the report is computed here, outside the step's
    /// transaction (it reads the whole chain), and the step answers with
    /// its links. Telegram sends files instead (`/baocao`).
    pub(super) async fn prepare_report_link(
        &self,
        respondent: &str,
        message: &super::Message,
    ) -> Result<()> {
        let super::Content::Text(text) = &message.content else {
            return Ok(());
        };
        if message.channel == "telegram"
            || super::staff::StaffCommand::parse(text) != Some(super::staff::StaffCommand::Report)
            || !self.results_published()
            || !self.is_staff(&message.channel, &message.user).await?
        {
            return Ok(());
        }
        // A report that cannot be made leaves an empty id: the step says so.
        let id = self.publish_report().await.unwrap_or_else(|e| {
            tracing::error!(error = format!("{e:#}"), "a report for a staff link failed");
            String::new()
        });
        self.report_ids.insert(respondent.to_string(), id);
        Ok(())
    }

    /// The report prepared for this respondent's step, if any.
    pub(super) fn take_report_id(&self, respondent: &str) -> Option<String> {
        self.report_ids.remove(respondent).map(|(_, id)| id)
    }

    /// The address people reach the service at (the web chat's), for links.
    pub fn set_public_url(&self, url: &str) {
        let _ = self.public_url.set(url.trim_end_matches('/').to_string());
    }
}
