//! `khaosat chat`: the terminal simulator, driving the real engine and store.

use std::io::IsTerminal;

use anyhow::Result;
use clap::Args;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::Cli;
use super::tokens::{IssueArgs, issue};
use crate::engine::Reply;
use crate::survey::{Content, Message, Survey};

/// The simulator's channel name.
const CHANNEL: &str = "terminal";

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Token to start with (otherwise type it, or resume where you were).
    #[arg(long)]
    pub token: Option<String>,
    /// Who you are to the simulator; the same name resumes the same conversation.
    #[arg(long, default_value = "local")]
    pub user: String,
}

pub async fn run(cli: &Cli, args: &ChatArgs) -> Result<()> {
    let survey = cli.open_survey().await?;
    let interactive = std::io::stdin().is_terminal();
    let mut out = tokio::io::stdout();
    if cli.trial && args.token.is_none() && !survey.has_session(CHANNEL, &args.user).await? {
        let demo = demo_tokens(&survey, &cli.database()).await?;
        out.write_all(demo.as_bytes()).await?;
    }
    let send = |content: Content| Message {
        channel: CHANNEL.to_string(),
        user: args.user.clone(),
        id: None,
        content,
    };
    let first = survey
        .handle(send(Content::Start(args.token.clone())))
        .await?;
    print(&mut out, &first.replies).await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        if interactive {
            out.write_all(b"> ").await?;
            out.flush().await?;
        }
        let Some(line) = lines.next_line().await? else {
            break;
        };
        let content = match line.trim().strip_prefix("/start") {
            Some(rest) => Content::Start(Some(rest.trim().to_string()).filter(|s| !s.is_empty())),
            None => Content::Text(line),
        };
        let handled = survey.handle(send(content)).await?;
        print(&mut out, &handled.replies).await?;
    }
    survey.store().close().await;
    Ok(())
}

async fn print(out: &mut tokio::io::Stdout, replies: &[Reply]) -> Result<()> {
    for r in replies {
        out.write_all(format!("\n{}\n", r.to_plain_text()).as_bytes())
            .await?;
    }
    out.flush().await?;
    Ok(())
}

/// Trial mode: issue one token per assessment (leaders and citizens) to try with.
async fn demo_tokens(survey: &Survey, database: &str) -> Result<String> {
    let c = survey.campaign();
    let mut text = format!(
        "Chế độ dùng thử (--trial): không áp dụng thời gian khảo sát; dữ liệu lưu riêng trong {database}.\n\
         Mã phiếu dùng thử (gõ một mã để bắt đầu):\n"
    );
    for a in &c.assessments {
        let group = &c.groups[a.group];
        let kind_units: Vec<String> = c
            .units
            .iter()
            .filter(|u| u.kind == a.kind)
            .map(|u| u.id.clone())
            .collect();
        let per_unit = a.dialogue.per_unit;
        let args = IssueArgs {
            group: group.id.clone(),
            units: if per_unit {
                kind_units.clone()
            } else {
                kind_units[..1].to_vec()
            },
            all_units: false,
            kind: None,
            count: 1,
            expires: None,
            out: std::env::temp_dir().join("khaosat-trial-tokens"),
            telegram_bot: None,
            web_url: "http://127.0.0.1:8080".into(),
        };
        let issued = issue(c, survey.store(), &args).await?;
        let units = if per_unit {
            format!("{} đơn vị: {}", kind_units.len(), c.kinds[a.kind].name)
        } else {
            c.unit(&kind_units[0])
                .map(|u| u.name.clone())
                .unwrap_or_default()
        };
        text.push_str(&format!(
            "  {}  {} — {units}\n",
            issued.tokens[0].display(),
            group.name
        ));
    }
    Ok(text)
}
