//! `khaosat check`: compile everything and print the quota table.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::campaign::{Campaign, Category};
use crate::dialogue;

pub fn run(c: &Campaign) -> Result<()> {
    say_raw!("{}", report(c));
    Ok(())
}

/// Compiles dialogue files one by one, printing every problem found.
pub fn run_files(files: &[PathBuf]) -> Result<()> {
    let mut failed = 0;
    for f in files {
        match dialogue::compile_file(f) {
            Ok(d) => say!(
                "{}: ok — {} (phiên bản {}, {} câu hỏi)",
                f.display(),
                d.id(),
                d.version(),
                d.questions().len()
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed}/{} tệp bảng hỏi có lỗi", files.len());
    }
    Ok(())
}

/// The text `check` prints.
pub fn report(c: &Campaign) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} ({})\n{}\n",
        c.title(),
        c.id(),
        c.organisation()
    ));
    out.push_str(&format!(
        "Thời gian khảo sát: {} – {} ({})\n\n",
        c.local_time(c.opens()),
        c.local_time(c.closes()),
        c.timezone()
    ));
    out.push_str("Phiếu hỏi:\n");
    for d in c.dialogues() {
        out.push_str(&format!(
            "  {} (phiên bản {}, {} câu hỏi): {}\n",
            d.id(),
            d.version(),
            d.questions().len(),
            d.title()
        ));
    }
    out.push_str(&format!(
        "\n{:<46} {:>7} {:>9} {:>8}\n",
        "Chỉ tiêu số phiếu", "đơn vị", "phiếu/đv", "tổng"
    ));
    let (mut officials, mut citizens) = (0u32, 0u32);
    for (k, kind) in c.kinds().iter().enumerate() {
        out.push_str(&format!("{}\n", kind.name));
        let units = c.units().iter().filter(|u| u.kind == k).count() as u32;
        let mut kind_total = 0;
        for a in c.assessments().iter().filter(|a| a.kind == k) {
            let g = &c.groups()[a.group];
            let total = units * a.quota;
            kind_total += a.quota;
            match g.category {
                Category::Officials => officials += total,
                Category::Citizens => citizens += total,
            }
            out.push_str(&format!(
                "  {:<44} {:>7} {:>9} {:>8}\n",
                g.name, units, a.quota, total
            ));
        }
        out.push_str(&format!(
            "  {:<44} {:>7} {:>9} {:>8}\n",
            "Cộng",
            units,
            kind_total,
            units * kind_total
        ));
    }
    let total = officials + citizens;
    out.push_str(&format!(
        "\nTổng: {total} phiếu = {officials} phiếu cán bộ, công chức + {citizens} phiếu tổ chức, cá nhân\n"
    ));
    out
}
