//! `khaosat staff add|list|remove`: who may run the campaign from a chat.
//! `add` prints a one-time staff token; sending it to the bot on Telegram,
//! Zalo or the web chat enrols that account (kept as a keyed hash).

use anyhow::{Result, bail};
use clap::Subcommand;

use crate::settings::Settings;
use crate::startup;
use crate::survey::staff;
use crate::token::Token;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff member: prints their one-time staff token.
    Add {
        /// Who it is for, to tell staff apart in `staff list` (e.g. "Chị Lan, Phòng Nội vụ").
        #[arg(long)]
        name: String,
    },
    /// Every staff member: enrolled or not, on which channel, removed.
    List,
    /// Remove a staff member (their token and account stop working at once).
    Remove {
        /// The number `staff list` shows.
        id: i64,
    },
}

pub async fn run(settings: &Settings, cmd: &StaffCommand) -> Result<()> {
    let store = startup::open_store(settings).await?;
    let now = settings.clock.now();
    let c = startup::load_campaign(settings)?;
    let result = async {
        match cmd {
            StaffCommand::Add { name } => {
                let name = name.trim();
                if name.is_empty() {
                    bail!("ghi tên người nhận mã bằng --name, ví dụ --name \"Chị Lan, Phòng Nội vụ\"");
                }
                let key = startup::key(settings)?;
                let token = Token::generate(&mut rand::rng());
                let id = store.add_staff(name, &token.hash(&key), now.timestamp()).await?;
                say!("Mã cán bộ số {id} ({name}): {}", staff::display(&token));
                say!(
                    "Người nhận gửi mã này một lần cho khaosat trên Zalo, Telegram hoặc trang web; \
                     từ đó tài khoản ấy dùng được các lệnh: tiến độ, đóng khảo sát, mở lại, báo cáo. \
                     Mã chỉ in ra lần này (cơ sở dữ liệu chỉ giữ mã băm); thu hồi bằng: khaosat staff remove {id}"
                );
            }
            StaffCommand::List => {
                let all = store.staff().await?;
                if all.is_empty() {
                    say!("Chưa có cán bộ phụ trách nào. Thêm bằng: khaosat staff add --name \"…\"");
                }
                for m in all {
                    let at = |t: i64| {
                        chrono::DateTime::from_timestamp(t, 0)
                            .map(|t| c.local_time(t))
                            .unwrap_or_default()
                    };
                    let state = match (m.removed_at, m.enrolled_at, &m.channel) {
                        (Some(t), _, _) => format!("đã thu hồi lúc {}", at(t)),
                        (None, Some(t), Some(channel)) => format!("đã nhận trên {channel} lúc {}", at(t)),
                        _ => "chưa dùng mã".to_string(),
                    };
                    say!("  {:>3}  {:<32} {state}", m.id, m.name);
                }
            }
            StaffCommand::Remove { id } => {
                if !store.remove_staff(*id, now.timestamp()).await? {
                    bail!("không có cán bộ số {id} còn hiệu lực; xem danh sách bằng: khaosat staff list");
                }
                say!("Đã thu hồi quyền của cán bộ số {id}.");
            }
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}
