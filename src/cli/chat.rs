//! `khaosat chat`: the terminal simulator, driving the real engine and store.

use std::io::IsTerminal;

use anyhow::Result;
use clap::Args;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::tokens::Links;
use super::trial;
use crate::engine::Reply;
use crate::settings::Settings;
use crate::startup;
use crate::survey::{Content, Message, Origin};

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

pub async fn run(settings: &Settings, args: &ChatArgs) -> Result<()> {
    let (survey, store) = startup::open_survey(settings).await?;
    let interactive = std::io::stdin().is_terminal();
    let mut out = tokio::io::stdout();
    if settings.trial && args.token.is_none() && !survey.has_session(CHANNEL, &args.user).await? {
        let links = Links::of(settings);
        let key = startup::key(settings)?;
        let demo =
            trial::demo_tokens(&survey, &store, &key, &settings.database(), &links, false).await?;
        out.write_all(demo.as_bytes()).await?;
    }
    let send = |content: Content| Message {
        channel: CHANNEL.to_string(),
        user: args.user.clone(),
        id: None,
        content,
        origin: Origin::Local,
        successor: None,
        pressed: None,
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
    store.close().await;
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
