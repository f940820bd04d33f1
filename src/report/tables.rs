//! The report's views as plain tables: what the Excel sheets and the CSV
//! files hold, one table each, with Vietnamese headers.

use super::{Report, SUPPRESSED};

/// A cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Count(u32),
    /// A published figure with two decimals.
    Figure(f64),
    /// A share in per cent, one decimal.
    Percent(f64),
    Suppressed,
    Empty,
}

impl Value {
    fn figure(v: Option<f64>, suppressed: bool) -> Self {
        match v {
            Some(v) => Value::Figure(v),
            None if suppressed => Value::Suppressed,
            None => Value::Empty,
        }
    }

    /// The cell as text (CSV): figures with a decimal point.
    pub fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Count(n) => n.to_string(),
            Value::Figure(x) => format!("{x:.2}"),
            Value::Percent(x) => format!("{x:.1}"),
            Value::Suppressed => SUPPRESSED.to_string(),
            Value::Empty => String::new(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

/// One view: a sheet of the workbook and a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Sheet name (Excel allows 31 characters).
    pub sheet: &'static str,
    /// CSV file name.
    pub file: &'static str,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// Lines printed under the table (notes, the chain head).
    pub notes: Vec<String>,
}

/// Every view, in the order of the workbook's sheets.
pub fn tables(r: &Report) -> Vec<Table> {
    vec![
        summary(r),
        ranking(r),
        areas(r),
        items(r),
        progress(r),
        wishes(r),
        about(r),
    ]
}

fn notes(r: &Report) -> Vec<String> {
    vec![r.period.clone(), r.suppression_note(), r.chain_note()]
}

/// The respondent groups in the order they first appear.
fn groups(r: &Report) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (_, u) in r.units() {
        for c in &u.cells {
            if !out.iter().any(|(id, _)| *id == c.group) {
                out.push((c.group.clone(), c.group_name.clone()));
            }
        }
    }
    out
}

fn headers(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn summary(r: &Report) -> Table {
    let groups = groups(r);
    let mut headers = headers(&["Loại đơn vị", "Đơn vị"]);
    for (_, name) in &groups {
        headers.push(format!("Số phiếu – {name}"));
        headers.push(format!("Chỉ số – {name}"));
    }
    headers.extend(
        ["Chỉ số tổng hợp", "Điểm", "Xếp hạng"]
            .iter()
            .map(|s| s.to_string()),
    );
    let rows = r
        .units()
        .map(|(k, u)| {
            let mut row: Vec<Value> = vec![k.name.as_str().into(), u.name.as_str().into()];
            for (id, _) in &groups {
                match u.cells.iter().find(|c| c.group == *id) {
                    Some(c) => {
                        row.push(Value::Count(c.ballots));
                        row.push(Value::figure(c.index, c.suppressed));
                    }
                    None => row.extend([Value::Empty, Value::Empty]),
                }
            }
            row.push(Value::figure(u.combined, false));
            row.push(Value::figure(u.points, false));
            row.push(u.rank.map_or(Value::Empty, Value::Count));
            row
        })
        .collect();
    Table {
        sheet: "Tổng hợp",
        file: "tong-hop.csv",
        headers,
        rows,
        notes: notes(r),
    }
}

/// Units of each kind, best first; units without an index last.
pub fn ranking(r: &Report) -> Table {
    let mut rows = Vec::new();
    for k in &r.kinds {
        let mut units: Vec<_> = k.units.iter().collect();
        units.sort_by_key(|u| u.rank.unwrap_or(u32::MAX));
        for u in units {
            rows.push(vec![
                k.name.as_str().into(),
                u.rank.map_or(Value::Empty, Value::Count),
                u.name.as_str().into(),
                Value::figure(u.combined, false),
                Value::figure(u.points, false),
            ]);
        }
    }
    Table {
        sheet: "Xếp hạng",
        file: "xep-hang.csv",
        headers: headers(&[
            "Loại đơn vị",
            "Xếp hạng",
            "Đơn vị",
            "Chỉ số tổng hợp",
            "Điểm",
        ]),
        rows,
        notes: notes(r),
    }
}

fn areas(r: &Report) -> Table {
    let mut rows = Vec::new();
    for (k, u) in r.units() {
        for c in &u.cells {
            if c.suppressed {
                rows.push(vec![
                    k.name.as_str().into(),
                    u.name.as_str().into(),
                    c.group_name.as_str().into(),
                    Value::Suppressed,
                    Value::Suppressed,
                    Value::Suppressed,
                    Value::Suppressed,
                    Value::Suppressed,
                ]);
            }
            for a in &c.areas {
                rows.push(vec![
                    k.name.as_str().into(),
                    u.name.as_str().into(),
                    c.group_name.as_str().into(),
                    a.title.as_str().into(),
                    Value::Count(a.valid),
                    Value::Count(a.not_applicable),
                    Value::figure(a.mean, a.suppressed),
                    Value::figure(a.index, a.suppressed),
                ]);
            }
        }
    }
    Table {
        sheet: "Theo lĩnh vực",
        file: "linh-vuc.csv",
        headers: headers(&[
            "Loại đơn vị",
            "Đơn vị",
            "Nhóm đối tượng",
            "Lĩnh vực",
            "Trả lời hợp lệ",
            "Không đánh giá được",
            "Điểm trung bình",
            "Chỉ số (%)",
        ]),
        rows,
        notes: notes(r),
    }
}

fn items(r: &Report) -> Table {
    let mut rows = Vec::new();
    for (k, u) in r.units() {
        for c in &u.cells {
            for a in &c.areas {
                for i in &a.items {
                    let distribution = match &i.distribution {
                        Some(d) => i
                            .labels
                            .iter()
                            .zip(d)
                            .map(|(l, n)| format!("{l}: {n}"))
                            .collect::<Vec<_>>()
                            .join("; ")
                            .into(),
                        None if i.suppressed => Value::Suppressed,
                        None => Value::Empty,
                    };
                    rows.push(vec![
                        k.name.as_str().into(),
                        u.name.as_str().into(),
                        c.group_name.as_str().into(),
                        a.title.as_str().into(),
                        i.text.as_str().into(),
                        Value::Count(i.valid),
                        Value::Count(i.not_applicable),
                        Value::figure(i.mean, i.suppressed && i.scored),
                        Value::figure(i.index, i.suppressed && i.scored),
                        distribution,
                    ]);
                }
            }
        }
    }
    Table {
        sheet: "Theo câu hỏi",
        file: "cau-hoi.csv",
        headers: headers(&[
            "Loại đơn vị",
            "Đơn vị",
            "Nhóm đối tượng",
            "Lĩnh vực",
            "Câu hỏi",
            "Trả lời hợp lệ",
            "Không đánh giá được",
            "Điểm trung bình",
            "Chỉ số (%)",
            "Phân bố câu trả lời",
        ]),
        rows,
        notes: notes(r),
    }
}

fn progress(r: &Report) -> Table {
    let mut rows = Vec::new();
    for (k, u) in r.units() {
        for c in &u.cells {
            let share = if c.quota == 0 {
                100.0
            } else {
                f64::from(c.ballots) * 100.0 / f64::from(c.quota)
            };
            rows.push(vec![
                k.name.as_str().into(),
                u.name.as_str().into(),
                c.group_name.as_str().into(),
                Value::Count(c.ballots),
                Value::Count(c.quota),
                Value::Percent((share * 10.0).round() / 10.0),
            ]);
        }
    }
    Table {
        sheet: "Tiến độ",
        file: "tien-do.csv",
        headers: headers(&[
            "Loại đơn vị",
            "Đơn vị",
            "Nhóm đối tượng",
            "Số phiếu",
            "Chỉ tiêu",
            "Tỷ lệ hoàn thành (%)",
        ]),
        rows,
        notes: vec![r.chain_note()],
    }
}

fn wishes(r: &Report) -> Table {
    let mut rows = Vec::new();
    for (k, u) in r.units() {
        for w in &u.wishes {
            rows.push(vec![
                k.name.as_str().into(),
                u.name.as_str().into(),
                w.group_name.as_str().into(),
                w.question.as_str().into(),
                w.text.as_str().into(),
            ]);
        }
    }
    Table {
        sheet: "Ý kiến, kiến nghị",
        file: "y-kien.csv",
        headers: headers(&[
            "Loại đơn vị",
            "Đơn vị",
            "Nhóm đối tượng",
            "Câu hỏi",
            "Ý kiến",
        ]),
        rows,
        notes: notes(r),
    }
}

fn about(r: &Report) -> Table {
    let rows = [
        ("Cuộc khảo sát", r.title.clone()),
        ("Cơ quan", r.organisation.clone()),
        ("Thời điểm tổng hợp", r.generated.clone()),
        ("Số phiếu", r.ballots.to_string()),
        ("Mã băm cuối chuỗi (chain head)", r.chain_head.clone()),
        (
            "Cách tính chỉ số",
            "Chỉ số của một câu hỏi = số câu trả lời tích cực (Hài lòng, Rất hài lòng…) / số \
             câu trả lời hợp lệ × 100; câu trả lời \"không đánh giá được\" không tính. Chỉ số \
             lĩnh vực = trung bình các câu hỏi; chỉ số của nhóm = trung bình các lĩnh vực; chỉ \
             số tổng hợp = bình quân gia quyền các nhóm theo trọng số trong tệp chiến dịch."
                .to_string(),
        ),
        ("Cách tính điểm", r.scoring.clone()),
        ("Ẩn số liệu nhỏ", r.suppression_note()),
    ];
    Table {
        sheet: "Thông tin",
        file: "thong-tin.csv",
        headers: headers(&["Mục", "Nội dung"]),
        rows: rows
            .into_iter()
            .map(|(k, v)| vec![k.into(), v.into()])
            .collect(),
        notes: Vec::new(),
    }
}
