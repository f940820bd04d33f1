//! Campaign folder → [`Campaign`]: the campaign file and every dialogue it
//! names, all errors reported together with file, line and fix.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use toml::Spanned;

use super::file::{CampaignFile, CampaignMessagesFile};
use super::{
    Access, Assessment, BallotBox, Band, Campaign, CampaignMessages, Category, Group, Scoring,
    Unit, UnitKind,
};
use crate::diagnostic::{self, Diagnostics, SourceFile, check_id};
use crate::dialogue::{self, Dialogue};
use crate::text;

/// The campaign file inside a campaign folder.
pub const CAMPAIGN_FILE: &str = "campaign.toml";

/// Where a campaign's files are read from.
#[derive(Debug, Clone, Copy)]
pub enum Folder<'a> {
    /// A folder on disk.
    Dir(&'a Path),
    /// Files built into the binary: `(path shown in errors, name, text)`.
    Embedded(&'a [(&'a str, &'a str, &'a str)]),
}

impl Folder<'_> {
    fn read(&self, name: &str) -> Result<SourceFile, Diagnostics> {
        match self {
            Folder::Dir(dir) => SourceFile::read(&dir.join(name)),
            Folder::Embedded(files) => match files.iter().find(|(_, n, _)| *n == name) {
                Some((path, _, text)) => Ok(SourceFile::new(*path, *text)),
                None => SourceFile::read(Path::new(name)),
            },
        }
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Folder::Dir(dir) => dir.join(name).is_file(),
            Folder::Embedded(files) => files.iter().any(|(_, n, _)| *n == name),
        }
    }
}

/// Loads and compiles the campaign in `dir` and all of its dialogues.
pub fn load(dir: &Path) -> Result<Campaign, Diagnostics> {
    load_from(Folder::Dir(dir))
}

/// Loads and compiles the campaign in `folder` and all of its dialogues.
pub fn load_from(folder: Folder<'_>) -> Result<Campaign, Diagnostics> {
    let file = folder.read(CAMPAIGN_FILE)?;
    let raw: CampaignFile = toml::from_str(&file.text)
        .map_err(|e| Diagnostics::one(diagnostic::from_toml(&file, &e)))?;
    let mut diags = Diagnostics::default();
    let campaign = compile(folder, &file, raw, &mut diags);
    diags.into_result(campaign)
}

fn compile(
    folder: Folder<'_>,
    file: &SourceFile,
    raw: CampaignFile,
    diags: &mut Diagnostics,
) -> Campaign {
    check_id(file, diags, &raw.id, "đợt khảo sát");

    let timezone: Tz = raw.timezone.get_ref().parse().unwrap_or_else(|_| {
        diags.push(file.error(
            Some(raw.timezone.span()),
            format!("không có múi giờ `{}`", raw.timezone.get_ref()),
            "dùng tên múi giờ IANA, ví dụ \"Asia/Ho_Chi_Minh\"",
        ));
        chrono_tz::Asia::Ho_Chi_Minh
    });
    let mut moment = |s: &Spanned<String>, key: &str| -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s.get_ref(), "%Y-%m-%dT%H:%M:%S")
            .ok()
            .and_then(|n| timezone.from_local_datetime(&n).single())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| {
                diags.push(file.error(
                    Some(s.span()),
                    format!("`{key}` không phải ngày giờ địa phương: `{}`", s.get_ref()),
                    "viết dạng \"YYYY-MM-DDTHH:MM:SS\" theo múi giờ của đợt khảo sát, ví dụ \"2021-02-15T23:59:59\"",
                ));
                DateTime::<Utc>::MIN_UTC
            })
    };
    let opens = moment(&raw.opens, "opens");
    let closes = moment(&raw.closes, "closes");
    if opens >= closes && opens != DateTime::<Utc>::MIN_UTC && closes != DateTime::<Utc>::MIN_UTC {
        diags.push(file.error(
            Some(raw.closes.span()),
            "thời điểm kết thúc sớm hơn thời điểm bắt đầu".to_string(),
            "đặt `closes` sau `opens`",
        ));
    }

    let messages = messages(file, diags, &raw.messages);

    // Units, grouped by kind.
    let mut kinds = Vec::new();
    let mut units = Vec::new();
    let mut kind_ids = HashMap::new();
    let mut unit_ids = HashSet::new();
    for k in &raw.unit_kinds {
        check_id(file, diags, &k.id, "loại đơn vị");
        if kind_ids
            .insert(k.id.get_ref().clone(), kinds.len())
            .is_some()
        {
            diags.push(file.error(
                Some(k.id.span()),
                format!("loại đơn vị `{}` bị trùng", k.id.get_ref()),
                "đặt cho mỗi loại đơn vị một mã riêng",
            ));
        }
        if k.units.is_empty() {
            diags.push(file.error(
                Some(k.id.span()),
                format!("loại đơn vị `{}` chưa có đơn vị nào", k.id.get_ref()),
                "thêm các đơn vị: units = [{ id = \"…\", name = \"…\" }]",
            ));
        }
        for u in &k.units {
            check_id(file, diags, &u.id, "đơn vị");
            if !unit_ids.insert(u.id.get_ref().clone()) {
                diags.push(file.error(
                    Some(u.id.span()),
                    format!("mã đơn vị `{}` bị trùng", u.id.get_ref()),
                    "mã đơn vị phải khác nhau trong cả đợt khảo sát",
                ));
            }
            units.push(Unit {
                id: u.id.get_ref().clone(),
                name: text::nfc(u.name.get_ref()),
                kind: kinds.len(),
            });
        }
        kinds.push(UnitKind {
            id: k.id.get_ref().clone(),
            name: text::nfc(k.name.get_ref()),
        });
    }
    if units.is_empty() {
        diags.push(file.error(
            None,
            "đợt khảo sát chưa có đơn vị nào".to_string(),
            "thêm [[unit_kinds]] cùng các đơn vị",
        ));
    }

    // Respondent groups.
    let mut groups = Vec::new();
    let mut group_ids = HashMap::new();
    for g in &raw.groups {
        check_id(file, diags, &g.id, "nhóm");
        if group_ids
            .insert(g.id.get_ref().clone(), groups.len())
            .is_some()
        {
            diags.push(file.error(
                Some(g.id.span()),
                format!("mã nhóm `{}` bị trùng", g.id.get_ref()),
                "đặt cho mỗi nhóm một mã riêng",
            ));
        }
        let category = match g.category.get_ref().as_str() {
            "officials" => Category::Officials,
            "citizens" => Category::Citizens,
            other => {
                diags.push(file.error(
                    Some(g.category.span()),
                    format!("không có category `{other}`"),
                    "dùng \"officials\" (cán bộ, công chức) hoặc \"citizens\" (tổ chức, cá nhân)",
                ));
                Category::Citizens
            }
        };
        let access = match g.access.as_ref().map(|a| (a.get_ref().as_str(), a.span())) {
            None | Some(("token", _)) => Access::Token,
            Some(("open", _)) => Access::Open,
            Some((other, span)) => {
                diags.push(file.error(
                    Some(span),
                    format!("không có access `{other}`"),
                    "dùng \"token\" (mã phiếu dùng một lần) hoặc \"open\" (đường dẫn công khai cho mỗi đơn vị)",
                ));
                Access::Token
            }
        };
        groups.push(Group {
            id: g.id.get_ref().clone(),
            name: text::nfc(g.name.get_ref()),
            category,
            access,
        });
    }

    // Assessments and their dialogues.
    let mut compiled: HashMap<String, Option<Arc<Dialogue>>> = HashMap::new();
    let mut dialogue_ids: HashMap<String, String> = HashMap::new();
    let mut assessments = Vec::new();
    let mut pairs = HashSet::new();
    for a in &raw.assessments {
        let kind = kind_ids.get(a.unit_kind.get_ref()).copied();
        if kind.is_none() {
            diags.push(file.error(
                Some(a.unit_kind.span()),
                format!("không có loại đơn vị `{}`", a.unit_kind.get_ref()),
                "dùng mã của một [[unit_kinds]]",
            ));
        }
        let group = group_ids.get(a.group.get_ref()).copied();
        if group.is_none() {
            diags.push(file.error(
                Some(a.group.span()),
                format!("không có nhóm `{}`", a.group.get_ref()),
                "dùng mã của một [[groups]]",
            ));
        }
        if !pairs.insert((a.unit_kind.get_ref().clone(), a.group.get_ref().clone())) {
            diags.push(file.error(
                Some(a.group.span()),
                format!(
                    "nhóm `{}` đánh giá `{}` hai lần",
                    a.group.get_ref(),
                    a.unit_kind.get_ref()
                ),
                "giữ một [[assessments]] cho mỗi loại đơn vị và nhóm",
            ));
        }
        let quota = match *a.quota.get_ref() {
            q @ 1..=100_000 => q as u32,
            q => {
                diags.push(file.error(
                    Some(a.quota.span()),
                    format!("chỉ tiêu {q} nằm ngoài khoảng cho phép"),
                    "ghi số phiếu cần cho mỗi đơn vị, từ 1 đến 100000",
                ));
                1
            }
        };
        let rel = a.dialogue.get_ref();
        let dialogue = compiled
            .entry(rel.clone())
            .or_insert_with(|| {
                if !folder.has(rel) {
                    let shown = match folder {
                        Folder::Dir(dir) => dir.join(rel).display().to_string(),
                        Folder::Embedded(_) => rel.clone(),
                    };
                    diags.push(file.error(
                        Some(a.dialogue.span()),
                        format!("không có tệp bảng hỏi `{shown}`"),
                        "ghi tên một tệp .toml trong thư mục đợt khảo sát (đường dẫn tương đối)",
                    ));
                    return None;
                }
                match folder
                    .read(rel)
                    .and_then(|source| dialogue::compile(&source))
                {
                    Ok(d) => Some(Arc::new(d)),
                    Err(e) => {
                        diags.extend(e);
                        None
                    }
                }
            })
            .clone();
        if let Some(d) = &dialogue
            && let Some(other) = dialogue_ids.insert(d.id().to_string(), rel.clone())
            && other != *rel
        {
            diags.push(file.error(
                Some(a.dialogue.span()),
                format!("hai bảng hỏi `{other}` và `{rel}` cùng mã `{}`", d.id()),
                "đặt cho mỗi tệp bảng hỏi một `id` riêng",
            ));
        }
        if let (Some(kind), Some(group), Some(dialogue)) = (kind, group, dialogue) {
            assessments.push(Assessment {
                kind,
                group,
                dialogue,
                quota,
                weight: a.weight.as_ref().map_or(f64::NAN, |w| *w.get_ref()),
            });
        }
    }
    if assessments.is_empty() && diags.is_empty() {
        diags.push(file.error(
            None,
            "đợt khảo sát chưa có [[assessments]] nào".to_string(),
            "thêm [[assessments]]: nhóm nào đánh giá loại đơn vị nào, bằng bảng hỏi nào",
        ));
    }
    weights(file, diags, &raw, &mut assessments, &kinds);

    Campaign {
        id: raw.id.get_ref().clone(),
        title: text::nfc(raw.title.get_ref()),
        organisation: text::nfc(raw.organisation.get_ref()),
        timezone,
        opens,
        closes,
        enforce_quotas: raw.enforce_quotas,
        messages,
        kinds,
        units,
        groups,
        assessments,
        scoring: scoring(file, diags, &raw),
        ballot_box: ballot_box(file, diags, &raw),
    }
}

/// Unset weights default to quota shares; set ones must cover the kind and sum to 1.
fn weights(
    file: &SourceFile,
    diags: &mut Diagnostics,
    raw: &CampaignFile,
    assessments: &mut [Assessment],
    kinds: &[UnitKind],
) {
    for (kind, kind_def) in kinds.iter().enumerate() {
        let of_kind: Vec<usize> = (0..assessments.len())
            .filter(|&i| assessments[i].kind == kind)
            .collect();
        let given = of_kind
            .iter()
            .filter(|&&i| !assessments[i].weight.is_nan())
            .count();
        let span = raw
            .assessments
            .iter()
            .find(|a| a.unit_kind.get_ref() == &kind_def.id)
            .map(|a| a.unit_kind.span());
        if given == 0 {
            let total: u32 = of_kind.iter().map(|&i| assessments[i].quota).sum();
            for &i in &of_kind {
                assessments[i].weight = f64::from(assessments[i].quota) / f64::from(total.max(1));
            }
        } else if given < of_kind.len() {
            diags.push(file.error(span, format!("chỉ một số [[assessments]] của `{}` có `weight`", kind_def.id), "ghi `weight` cho mọi [[assessments]] của loại đơn vị này, hoặc không ghi cho cái nào (khi đó trọng số theo chỉ tiêu)"));
        } else {
            let sum: f64 = of_kind.iter().map(|&i| assessments[i].weight).sum();
            if (sum - 1.0).abs() > 1e-6 || of_kind.iter().any(|&i| assessments[i].weight < 0.0) {
                diags.push(file.error(
                    span,
                    format!("tổng trọng số của `{}` là {sum}", kind_def.id),
                    "để các trọng số không âm và có tổng bằng 1",
                ));
            }
        }
    }
}

/// `[ballot_box]`: how long the mixer may hold ballots, when idle
/// conversations are purged.
fn ballot_box(file: &SourceFile, diags: &mut Diagnostics, raw: &CampaignFile) -> BallotBox {
    let mut bounded =
        |value: &Option<Spanned<i64>>, key: &str, default: i64, max: i64, fix: &str| match value
            .as_ref()
            .map(|v| (*v.get_ref(), v.span()))
        {
            None => default,
            Some((v, _)) if (1..=max).contains(&v) => v,
            Some((v, span)) => {
                diags.push(file.error(
                    Some(span),
                    format!("{key} {v} nằm ngoài khoảng cho phép"),
                    fix,
                ));
                default
            }
        };
    let b = &raw.ballot_box;
    BallotBox {
        window: chrono::TimeDelta::hours(bounded(
            &b.window_hours,
            "window_hours",
            168,
            24 * 366,
            "dùng số giờ từ 1 (phiếu vào chuỗi sớm, theo đợt nhỏ) đến 8784; mặc định 168 (một tuần)",
        )),
        session_idle: chrono::TimeDelta::days(bounded(
            &b.session_idle_days,
            "session_idle_days",
            7,
            366,
            "dùng số ngày từ 1 đến 366; mặc định 7",
        )),
    }
}

fn scoring(file: &SourceFile, diags: &mut Diagnostics, raw: &CampaignFile) -> Scoring {
    let s = &raw.scoring;
    let min_cell = match s.min_cell.as_ref().map(|m| (*m.get_ref(), m.span())) {
        None => 5,
        Some((m @ 1..=1000, _)) => m as u32,
        Some((m, span)) => {
            diags.push(file.error(
                Some(span),
                format!("min_cell {m} nằm ngoài khoảng cho phép"),
                "dùng số câu trả lời từ 1 đến 1000 (thường là 5)",
            ));
            5
        }
    };
    let max_points = s.max_points.as_ref().map_or(1.0, |p| *p.get_ref());
    let mut bands: Vec<Band> = s
        .bands
        .iter()
        .map(|b| Band {
            at_least: *b.at_least.get_ref(),
            points: *b.points.get_ref(),
        })
        .collect();
    for (b, raw_b) in bands.iter().zip(&s.bands) {
        if !(0.0..=100.0).contains(&b.at_least) || !(0.0..=1.0).contains(&b.points) {
            diags.push(file.error(
                Some(raw_b.at_least.span()),
                "một mức điểm nằm ngoài khoảng cho phép".to_string(),
                "`at_least` là chỉ số từ 0 đến 100 và `points` là tỷ lệ từ 0 đến 1 của max_points",
            ));
        }
    }
    bands.sort_by(|a, b| b.at_least.total_cmp(&a.at_least));
    Scoring {
        min_cell,
        max_points,
        bands,
    }
}

fn messages(
    file: &SourceFile,
    diags: &mut Diagnostics,
    raw: &CampaignMessagesFile,
) -> CampaignMessages {
    let mut take = |key: &str, value: &Option<Spanned<String>>, allowed: &[&str], default: &str| {
        diagnostic::message(file, diags, key, value, allowed, default)
    };
    CampaignMessages {
        welcome: take(
            "welcome",
            &raw.welcome,
            &["title"],
            "Xin chào! Đây là kênh lấy ý kiến: {title}.\n\nĐể bắt đầu, xin gõ mã phiếu in trên giấy mời (ví dụ ABCD-EFGH-JKM). Ông/bà không cần cho biết họ tên.",
        ),
        token_invalid: take(
            "token_invalid",
            &raw.token_invalid,
            &[],
            "Mã phiếu chưa đúng. Mã gồm 11 ký tự chữ và số (ví dụ ABCD-EFGH-JKM); xin kiểm tra lại từng ký tự và gõ lại.",
        ),
        token_unknown: take(
            "token_unknown",
            &raw.token_unknown,
            &[],
            "Không tìm thấy mã phiếu này. Xin kiểm tra lại mã trên giấy mời; nếu vẫn không được, xin liên hệ cán bộ phát phiếu.",
        ),
        token_used: take(
            "token_used",
            &raw.token_used,
            &[],
            "Mã phiếu này đã được dùng để gửi phiếu cho tất cả đơn vị. Mỗi mã chỉ dùng được một lần cho mỗi đơn vị. Xin cảm ơn!",
        ),
        token_expired: take(
            "token_expired",
            &raw.token_expired,
            &[],
            "Mã phiếu này đã hết hạn. Xin liên hệ cán bộ phát phiếu để được hỗ trợ.",
        ),
        token_wrong_unit: take(
            "token_wrong_unit",
            &raw.token_wrong_unit,
            &[],
            "Mã phiếu này không dùng cho đơn vị được khảo sát trong đợt này. Xin liên hệ cán bộ phát phiếu.",
        ),
        too_many_attempts: take(
            "too_many_attempts",
            &raw.too_many_attempts,
            &[],
            "Mã phiếu đã bị nhập sai quá nhiều lần. Xin ông/bà đợi một giờ rồi thử lại, hoặc liên hệ cán bộ phát phiếu.",
        ),
        not_open: take(
            "not_open",
            &raw.not_open,
            &["opens"],
            "Đợt khảo sát chưa bắt đầu. Khảo sát mở từ {opens}.",
        ),
        closed: take(
            "closed",
            &raw.closed,
            &["closes"],
            "Đợt khảo sát đã kết thúc lúc {closes}. Xin cảm ơn ông/bà đã quan tâm.",
        ),
        quota_full: take(
            "quota_full",
            &raw.quota_full,
            &["unit"],
            "{unit} đã nhận đủ số phiếu cần thiết. Xin cảm ơn ông/bà!",
        ),
        unsupported: take(
            "unsupported",
            &raw.unsupported,
            &[],
            "Xin lỗi, hệ thống chỉ đọc được tin nhắn chữ. Xin gõ câu trả lời.",
        ),
    }
}
