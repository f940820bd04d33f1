//! `khaosat init DIR`: writes the shipped campaign out to a folder, to edit
//! into a survey of one's own.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::campaign::SHIPPED;

pub fn run(dir: &Path) -> Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{} đã có tệp: chọn một thư mục mới (hoặc trống) để không ghi đè lên bảng hỏi đang có. \
             ({} is not empty.)",
            dir.display(),
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("tạo thư mục {}", dir.display()))?;
    for (_, name, text) in SHIPPED {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("ghi tệp {}", path.display()))?;
        say!("  {}", path.display());
    }
    say!(
        "Đã chép đợt khảo sát mẫu (Thăng Bình 2021) vào {}. Sửa các tệp, kiểm tra bằng \
         `khaosat --campaign {} check`, rồi chạy với --campaign {}.",
        dir.display(),
        dir.display(),
        dir.display()
    );
    Ok(())
}
