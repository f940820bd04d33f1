//! `khaosat backup --out FILE`: a consistent copy of the SQLite database,
//! taken while the service runs, and checked with `verify` before it is
//! called a backup.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::verify::check_in_pages;
use crate::settings::Settings;
use crate::store::{Backend, Store};
use crate::verify::Verdict;

pub async fn run(settings: &Settings, out: &Path) -> Result<()> {
    if out.exists() {
        bail!(
            "{} đã có: chọn tên tệp mới cho bản sao lưu (không ghi đè).",
            out.display()
        );
    }
    let store = crate::startup::open_store(settings).await?;
    if store.backend() != Backend::Sqlite {
        store.close().await;
        bail!(
            "Cơ sở dữ liệu là PostgreSQL: sao lưu bằng pg_dump (xem README, mục PostgreSQL). \
             (khaosat backup copies SQLite databases; use pg_dump for PostgreSQL.)"
        );
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("tạo thư mục {}", dir.display()))?;
    }
    store.copy_into(out).await?;
    store.close().await;
    // A backup is only as good as its chain: check the copy itself.
    let copy = Store::open(&out.display().to_string()).await?;
    let verdict = check_in_pages(&copy).await;
    copy.close().await;
    match verdict? {
        Verdict::Intact { ballots, head } => {
            say!(
                "Đã sao lưu vào {}: {ballots} phiếu, chuỗi băm khớp; mã băm cuối chuỗi: {head}",
                out.display()
            );
            Ok(())
        }
        Verdict::Broken { seq, problem } => bail!(
            "phiếu số {seq} của bản sao không khớp: {problem}. Chính cơ sở dữ liệu có thể đã hỏng: chạy `khaosat verify`"
        ),
    }
}
