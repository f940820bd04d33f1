//! The page for the district portal: one self-contained HTML file (no
//! script, no external font or CDN) with inline SVG charts, readable on a
//! phone. Every figure comes from the [`Report`].

use std::fmt::Write;

use super::{AreaReport, KindReport, Report, figure};

/// The whole page.
pub fn page(r: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <p class=\"org\">{org}</p>\n<h1>{title}</h1>\n\
         <p class=\"meta\">Tổng hợp lúc {generated} từ {ballots} phiếu. {period}</p>\n",
        period = esc(&r.period),
        title = esc(&r.title),
        org = esc(&r.organisation),
        generated = esc(&r.generated),
        ballots = r.ballots,
    );
    for k in &r.kinds {
        kind(&mut h, k);
    }
    let _ = write!(
        h,
        "<section>\n<h2>Cách tính và kiểm chứng</h2>\n\
         <p>Chỉ số của một câu hỏi = số câu trả lời tích cực / số câu trả lời hợp lệ × 100 \
         (câu trả lời “không đánh giá được” không tính). Chỉ số lĩnh vực là trung bình các câu \
         hỏi; chỉ số của nhóm là trung bình các lĩnh vực; chỉ số tổng hợp là bình quân gia \
         quyền các nhóm. {scoring}</p>\n<p>{suppression}</p>\n\
         <p class=\"chain\">{chain}</p>\n</section>\n</main>\n</body>\n</html>\n",
        scoring = esc(&r.scoring),
        suppression = esc(&r.suppression_note()),
        chain = esc(&r.chain_note()),
    );
    h
}

fn kind(h: &mut String, k: &KindReport) {
    let _ = write!(h, "<section>\n<h2>{}</h2>\n", esc(&k.name));
    let mut ranked: Vec<_> = k.units.iter().filter(|u| u.combined.is_some()).collect();
    ranked.sort_by_key(|u| u.rank);
    let bars: Vec<(&str, f64)> = ranked
        .iter()
        .filter_map(|u| Some((u.name.as_str(), u.combined?)))
        .collect();
    if !bars.is_empty() {
        h.push_str("<h3>Chỉ số tổng hợp</h3>\n");
        bar_chart(h, &bars);
    }
    // The ranking table.
    h.push_str("<div class=\"scroll\"><table>\n<thead><tr><th>Hạng</th><th>Đơn vị</th>");
    let groups: Vec<(&str, &str)> = k
        .units
        .first()
        .map(|u| {
            u.cells
                .iter()
                .map(|c| (c.group.as_str(), c.group_name.as_str()))
                .collect()
        })
        .unwrap_or_default();
    for (_, name) in &groups {
        let _ = write!(h, "<th>{}</th>", esc(name));
    }
    h.push_str("<th>Tổng hợp</th><th>Điểm</th></tr></thead>\n<tbody>\n");
    let mut units: Vec<_> = k.units.iter().collect();
    units.sort_by_key(|u| u.rank.unwrap_or(u32::MAX));
    for u in &units {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td>",
            u.rank.map_or(String::new(), |r| r.to_string()),
            esc(&u.name)
        );
        for (g, _) in &groups {
            let cell = u.cells.iter().find(|c| c.group == *g);
            let text = cell.map_or(String::new(), |c| figure(c.index, c.suppressed));
            let _ = write!(h, "<td class=\"n\">{}</td>", esc(&text));
        }
        let _ = writeln!(
            h,
            "<td class=\"n\"><b>{}</b></td><td class=\"n\">{}</td></tr>",
            figure(u.combined, false),
            figure(u.points, false)
        );
    }
    h.push_str("</tbody>\n</table></div>\n");
    // Answers per area, over all units of this kind.
    for s in &k.summary {
        if s.areas.iter().any(|a| a.distribution.is_some()) {
            let _ = writeln!(
                h,
                "<h3>Phân bố câu trả lời theo lĩnh vực – {}</h3>",
                esc(&s.group_name)
            );
            distribution_chart(h, &s.areas);
        }
    }
    // Each unit's detail.
    for u in &k.units {
        let _ = write!(
            h,
            "<details>\n<summary>{} — tổng hợp {}</summary>\n",
            esc(&u.name),
            figure(u.combined, false)
        );
        for c in &u.cells {
            let _ = writeln!(
                h,
                "<h4>{}: {} / {} phiếu</h4>",
                esc(&c.group_name),
                c.ballots,
                c.quota
            );
            if c.suppressed {
                let _ = writeln!(
                    h,
                    "<p class=\"muted\">{} — chưa đủ số phiếu tối thiểu để công bố.</p>",
                    super::SUPPRESSED
                );
                continue;
            }
            if c.areas.is_empty() {
                continue;
            }
            h.push_str(
                "<div class=\"scroll\"><table>\n<thead><tr><th>Lĩnh vực</th><th>Hợp lệ</th>\
                 <th>Không đánh giá được</th><th>Điểm TB</th><th>Chỉ số</th></tr></thead>\n<tbody>\n",
            );
            for a in &c.areas {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                     <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    esc(&a.title),
                    a.valid,
                    a.not_applicable,
                    esc(&figure(a.mean, a.suppressed)),
                    esc(&figure(a.index, a.suppressed)),
                );
            }
            let _ = writeln!(
                h,
                "</tbody>\n<tfoot><tr><td colspan=\"4\">Chỉ số của nhóm</td>\
                 <td class=\"n\"><b>{}</b></td></tr></tfoot>\n</table></div>",
                esc(&figure(c.index, c.suppressed))
            );
        }
        if !u.wishes.is_empty() {
            h.push_str("<h4>Ý kiến, kiến nghị</h4>\n<ul class=\"wishes\">\n");
            for w in &u.wishes {
                let _ = writeln!(h, "<li>{}</li>", esc(&w.text));
            }
            h.push_str("</ul>\n");
        }
        h.push_str("</details>\n");
    }
    h.push_str("</section>\n");
}

/// Width of the charts' drawing, in SVG units; the page scales it to the
/// screen, so a phone shows it at about four-fifths.
const WIDTH: usize = 480;

/// Horizontal bars, 0–100, one per unit, each under its unit's name (names
/// are long; beside the bars they would leave no room on a phone).
fn bar_chart(h: &mut String, bars: &[(&str, f64)]) {
    const ROW: usize = 44;
    let scale = 4.0; // 100 → 400 units, room for the value after the bar
    let height = bars.len() * ROW + 22;
    let _ = writeln!(
        h,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-label=\"Chỉ số tổng hợp theo đơn vị\">"
    );
    for tick in [0, 25, 50, 75, 100] {
        let x = scale * f64::from(tick);
        let _ = writeln!(
            h,
            "<line x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"{}\" class=\"grid\"/>\
             <text x=\"{x}\" y=\"{}\" class=\"tick\">{tick}</text>",
            height - 18,
            height - 4
        );
    }
    for (i, (name, value)) in bars.iter().enumerate() {
        let y = i * ROW;
        let w = scale * value.clamp(0.0, 100.0);
        let _ = writeln!(
            h,
            "<text x=\"0\" y=\"{ty}\" class=\"label\">{name}</text>\
             <rect x=\"0\" y=\"{ry}\" width=\"{w:.1}\" height=\"14\" class=\"bar\"/>\
             <text x=\"{vx:.1}\" y=\"{vy}\" class=\"value\">{v}</text>",
            ty = y + 17,
            ry = y + 23,
            vy = y + 36,
            name = esc(name),
            vx = w + 4.0,
            v = figure(Some(*value), false),
        );
    }
    h.push_str("</svg>\n");
}

/// One stacked bar per area, under its title: the share of each answer option.
fn distribution_chart(h: &mut String, areas: &[AreaReport]) {
    const ROW: usize = 46;
    let rows: Vec<&AreaReport> = areas
        .iter()
        .filter(|a| {
            a.distribution
                .as_ref()
                .is_some_and(|d| d.iter().sum::<u32>() > 0)
        })
        .collect();
    let Some(labels) = rows.first().map(|a| &a.labels) else {
        return;
    };
    let height = rows.len() * ROW + 26 * labels.len().div_ceil(2) + 8;
    let _ = writeln!(
        h,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-label=\"Phân bố câu trả lời theo lĩnh vực\">"
    );
    for (i, a) in rows.iter().enumerate() {
        let y = i * ROW;
        let counts = a.distribution.as_deref().unwrap_or_default();
        let total: u32 = counts.iter().sum();
        let _ = writeln!(
            h,
            "<text x=\"0\" y=\"{}\" class=\"label\">{}</text>",
            y + 17,
            esc(&a.title)
        );
        let mut x = 0.0;
        for (o, n) in counts.iter().enumerate() {
            let w = WIDTH as f64 * f64::from(*n) / f64::from(total.max(1));
            let _ = writeln!(
                h,
                "<rect x=\"{x:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"16\" class=\"o{}\">\
                 <title>{}: {n}</title></rect>",
                y + 23,
                o % 6,
                esc(labels.get(o).map_or("", String::as_str)),
            );
            x += w;
        }
    }
    // The legend, two options a line.
    let top = rows.len() * ROW + 4;
    for (o, label) in labels.iter().enumerate() {
        let (x, y) = (WIDTH / 2 * (o % 2), top + 26 * (o / 2));
        let _ = writeln!(
            h,
            "<rect x=\"{x}\" y=\"{y}\" width=\"15\" height=\"15\" class=\"o{}\"/>\
             <text x=\"{}\" y=\"{}\" class=\"legend\">{}</text>",
            o % 6,
            x + 20,
            y + 13,
            esc(label)
        );
    }
    h.push_str("</svg>\n");
}

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;\
color:#1a1a1a;background:#f6f7f9;line-height:1.45}\
main{max-width:980px;margin:0 auto;padding:12px}\
h1{font-size:1.35rem;margin:.2rem 0 .4rem}h2{font-size:1.15rem;margin-top:1.6rem;\
border-bottom:2px solid #b40000;padding-bottom:.2rem}h3{font-size:1rem}h4{margin:.8rem 0 .3rem}\
.org{text-transform:uppercase;font-weight:600;color:#b40000;margin:0}.meta,.muted{color:#555}\
section{background:#fff;border-radius:8px;padding:4px 14px 14px;margin:12px 0}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;min-width:30rem;font-size:.92rem}\
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}\
th{background:#eef3fa;font-size:.8rem;font-weight:600}td.n{text-align:right;white-space:nowrap}\
td:nth-child(2){min-width:9rem}\
details{border-top:1px solid #eee;padding:6px 0}summary{cursor:pointer;font-weight:600}\
.chart{width:100%;max-width:640px;height:auto;font-size:17px;display:block;overflow:visible}\
.tick{text-anchor:middle;fill:#666;font-size:14px}\
.grid{stroke:#e3e3e3}.bar{fill:#2f6db5}.value{fill:#1a1a1a}\
.o0{fill:#c0392b}.o1{fill:#e67e22}.o2{fill:#bdc3c7}.o3{fill:#5dade2}.o4{fill:#1f618d}.o5{fill:#7f8c8d}\
.chain{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-all}\
.wishes li{margin:.2rem 0}";
