//! `khaosat report --out DIR`: compute the results from the stored ballots
//! and write the workbook, the portal page, CSV, JSON and the open data —
//! once the survey has closed. Before then it prints progress, unless
//! `--interim` asks for interim figures.

use std::path::Path;

use anyhow::Result;

use crate::campaign::PeriodState;
use crate::period::Period;
use crate::report::{Scope, write_reports_watched};
use crate::settings::Settings;
use crate::startup;

pub async fn run(settings: &Settings, out: &Path, interim: bool) -> Result<()> {
    let campaign = startup::load_campaign(settings)?;
    let now = settings.clock.now();
    let period = {
        let store = startup::open_store(settings).await?;
        let changes = store.period_changes(campaign.id()).await;
        store.close().await;
        Period::of(&campaign, &changes?)
    };
    let closed = settings.trial || period.state(now) == PeriodState::Closed;
    if closed {
        empty_the_ballot_box(settings).await?;
    } else if !interim {
        let store = startup::open_store(settings).await?;
        let mut p =
            crate::progress::Progress::new(&campaign, &store.ballot_counts(campaign.id()).await?);
        p.period = period.clone();
        store.close().await;
        say!(
            "Đợt khảo sát chưa kết thúc (đến {}): kết quả chỉ được tổng hợp và công bố sau khi kết thúc, \
             để không ai suy ra được câu trả lời của một người từ hai lần tổng hợp. Tiến độ hiện nay:\n",
            campaign.local_time(period.closes)
        );
        say_raw!("{}", crate::progress::overview(&campaign, &p, now));
        say!(
            "\nCần kết quả tạm thời? `khaosat report --interim`: mỗi ô chỉ thay đổi khi có thêm ít nhất {} phiếu, không kèm dữ liệu mở.",
            campaign.scoring().min_cell
        );
        return Ok(());
    }
    let scope = if closed { Scope::Final } else { Scope::Interim };
    let store = startup::open_store(settings).await?;
    let bar = super::progress_bar::counter("tổng hợp", "phiếu");
    let written =
        write_reports_watched(&store, &campaign, out, now, scope, &|n| bar.inc(n as u64)).await;
    bar.finish_and_clear();
    store.close().await;
    let written = written?;
    let r = &written.report;
    if scope == Scope::Interim {
        say!("Kết quả TẠM THỜI (đợt khảo sát chưa kết thúc); không kèm dữ liệu mở.");
    }
    say!(
        "Đã tổng hợp {} phiếu; mã băm cuối chuỗi: {}",
        r.ballots,
        r.chain_head
    );
    say!("Đã ghi vào {}:", out.display());
    for f in &written.files {
        let size = std::fs::metadata(f).map_or(0, |m| m.len());
        let name = f.file_name().map_or_else(
            || f.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        say!("  {name:<28} {:>10} byte", size);
    }
    Ok(())
}

/// After close the mixer puts every ballot still in the box into the chain
/// (the service does it within a minute; this does it now, where the key
/// is at hand). Without the key, the box stays sealed: say so.
async fn empty_the_ballot_box(settings: &Settings) -> Result<()> {
    match startup::key(settings) {
        Ok(_) => {
            let (survey, store) = startup::open_survey(settings).await?;
            let mixed = survey.mix(true).await?;
            store.close().await;
            if mixed > 0 {
                say!("Đã đưa {mixed} phiếu còn trong hòm phiếu vào chuỗi.");
            }
        }
        Err(_) => {
            let c = startup::load_campaign(settings)?;
            let store = startup::open_store(settings).await?;
            let cast: u32 = store.ballot_counts(c.id()).await?.iter().map(|x| x.2).sum();
            let chained: u32 = store.chain_counts(c.id()).await?.iter().map(|x| x.2).sum();
            store.close().await;
            if cast > chained {
                say!(
                    "Lưu ý: {} phiếu còn niêm phong trong hòm phiếu, chưa vào chuỗi; chạy lại với khóa bí mật \
                     (KHAOSAT_SECRET_FILE) để đưa vào, hoặc để dịch vụ đang chạy làm việc đó.",
                    cast - chained
                );
            }
        }
    }
    Ok(())
}
