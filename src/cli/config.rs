//! `khaosat config check`: every option, where its value came from, and
//! what a real campaign still needs.

use anyhow::Result;
use clap::Subcommand;

use super::Cli;
use crate::startup;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show what is set (secrets shown only as set or not) and what is missing.
    Check,
}

pub fn run(cmd: &ConfigCommand, cli: &Cli) -> Result<()> {
    let ConfigCommand::Check = cmd;
    let settings = &cli.settings;
    match &cli.config {
        Some(path) => say!("Tệp cấu hình: {}", path.display()),
        None => say!("Tệp cấu hình: không có (chỉ dòng lệnh và biến môi trường)"),
    }
    for (name, source) in &cli.sources {
        say!("  {name:<26} {source}");
    }
    let mut missing = Vec::new();
    if let Err(e) = startup::load_campaign(settings) {
        missing.push(format!(
            "đợt khảo sát có lỗi (sửa tệp rồi chạy `khaosat check`): {e:#}"
        ));
    }
    if !settings.trial && startup::key(settings).is_err() {
        missing.push(
            "chưa có khóa bí mật: `khaosat secret new --out TỆP`, rồi đặt KHAOSAT_SECRET_FILE=TỆP"
                .into(),
        );
    }
    if settings
        .web_url
        .as_deref()
        .is_none_or(|u| !u.starts_with("https://"))
        && !settings.trial
    {
        missing.push("chưa có địa chỉ công khai https:// (web-url): mã QR trên phiếu in sẽ không mở được trên điện thoại".into());
    }
    if settings.telegram.token.is_none() {
        missing.push("Telegram đang tắt (đặt TELOXIDE_TOKEN để bật)".into());
    }
    if settings.zalo.app_id.is_none() {
        missing.push("Zalo đang tắt (đặt zalo-app-id và các khóa KHAOSAT_ZALO_* để bật)".into());
    }
    if missing.is_empty() {
        say!("Đủ cấu hình.");
    } else {
        say!("Cần xem lại:");
        for m in &missing {
            say!("  - {m}");
        }
    }
    Ok(())
}
