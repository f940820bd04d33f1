//! `khaosat secret new [--out FILE]`: a new secret key for the service.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Subcommand;

use crate::key::{self, Key};

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Make a new key: into FILE (readable by its owner only), or printed.
    New {
        /// The file to create; refused if it exists (a key is never replaced).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(cmd: &SecretCommand) -> Result<()> {
    let SecretCommand::New { out } = cmd;
    let key = Key::generate();
    let Some(path) = out else {
        say!("{}", key.to_hex());
        return Ok(());
    };
    if path.exists() {
        bail!(
            "{} đã có: không ghi đè một khóa (mất khóa thì các mã phiếu đã phát không dùng được nữa). \
             Chọn tệp khác, hoặc xóa tệp cũ nếu chắc chắn nó không còn dùng. \
             ({} exists; a key is never overwritten.)",
            path.display(),
            path.display()
        );
    }
    key::write_new(path, &key)?;
    say!(
        "Đã tạo khóa bí mật trong {} (chỉ chủ tệp đọc được).",
        path.display()
    );
    say!(
        "Đặt KHAOSAT_SECRET_FILE={} cho dịch vụ, và sao lưu tệp này riêng, ngoài cơ sở dữ liệu.",
        path.display()
    );
    Ok(())
}
