//! Trial mode: tokens to try the shipped campaign with, today.

use std::path::PathBuf;

use anyhow::Result;

use super::tokens::{IssueArgs, Links, mint};
use crate::key::Key;
use crate::store::Store;
use crate::survey::Survey;

/// Issues one token per assessment (leaders and citizens) and describes
/// them; with `web_url`, as links to the web chat.
pub async fn demo_tokens(
    survey: &Survey,
    store: &Store,
    key: &Key,
    database: &str,
    links: &Links,
    as_links: bool,
) -> Result<String> {
    let c = survey.campaign();
    let mut text = format!(
        "Chế độ dùng thử (--trial): không áp dụng thời gian khảo sát; dữ liệu lưu riêng trong {database}.\n\
         Mã phiếu dùng thử{}:\n",
        if as_links {
            " (mở một đường dẫn để bắt đầu)"
        } else {
            " (gõ một mã để bắt đầu)"
        }
    );
    for a in c.assessments() {
        let group = &c.groups()[a.group];
        let kind_units: Vec<String> = c
            .units()
            .iter()
            .filter(|u| u.kind == a.kind)
            .map(|u| u.id.clone())
            .collect();
        let per_unit = a.dialogue.per_unit();
        let args = IssueArgs {
            all: false,
            spare: 0,
            group: Some(group.id.clone()),
            units: if per_unit {
                kind_units.clone()
            } else {
                kind_units[..1].to_vec()
            },
            all_units: false,
            kind: None,
            count: 1,
            expires: None,
            out: PathBuf::new(),
        };
        let batch = mint(c, store, key, &args).await?;
        let units = if per_unit {
            format!("{} đơn vị: {}", kind_units.len(), c.kinds()[a.kind].name)
        } else {
            c.unit(&kind_units[0])
                .map(|u| u.name.clone())
                .unwrap_or_default()
        };
        let token = &batch.tokens[0];
        let shown = if as_links {
            links.web(token)
        } else {
            token.display()
        };
        text.push_str(&format!("  {shown}  {} — {units}\n", group.name));
    }
    Ok(text)
}
