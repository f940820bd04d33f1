//! Errors in operator-written files, located as `file:line:column`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

/// A source file being compiled, kept to turn byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    /// Reads a file, reporting a missing or unreadable file as a diagnostic.
    pub fn read(path: &Path) -> Result<Self, Diagnostics> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Self::new(path, text)),
            Err(e) => Err(Diagnostics::one(Diagnostic {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                message: format!("không đọc được tệp: {e}"),
                fix: "kiểm tra đường dẫn có đúng và tệp đọc được không".into(),
            })),
        }
    }

    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// A diagnostic at a span of this file.
    pub fn error(
        &self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = span.map_or((1, 1), |s| self.line_column(s.start));
        Diagnostic {
            path: self.path.clone(),
            line,
            column,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One problem in an operator-written file: where, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} — {}",
            self.path.display(),
            self.line,
            self.column,
            self.message,
            self.fix
        )
    }
}

/// Every problem found in one compilation, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn one(d: Diagnostic) -> Self {
        Self(vec![d])
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// `Ok(value)` when nothing was reported.
    pub fn into_result<T>(mut self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            self.0
                .sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
            Err(self)
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Turns a TOML syntax or shape error into a located diagnostic.
pub fn from_toml(file: &SourceFile, err: &toml::de::Error) -> Diagnostic {
    let message = err.message().trim().to_string();
    let fix = if message.contains("unknown field") {
        "xóa khóa này hoặc sửa chính tả (xem mô tả định dạng trong README.md)"
    } else if message.contains("missing field") {
        "thêm khóa còn thiếu"
    } else if message.contains("invalid type") {
        "ghi giá trị đúng kiểu mà mô tả định dạng yêu cầu"
    } else {
        "sửa cú pháp TOML tại chỗ này"
    };
    file.error(err.span(), format!("lỗi TOML: {message}"), fix)
}

/// Ids are used in exports and callback data: short, lower-case ASCII.
pub fn check_id(file: &SourceFile, diags: &mut Diagnostics, id: &Spanned<String>, what: &str) {
    let ok = !id.get_ref().is_empty()
        && id.get_ref().len() <= 40
        && id
            .get_ref()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        diags.push(file.error(
            Some(id.span()),
            format!("mã {what} không hợp lệ `{}`", id.get_ref()),
            "dùng 1–40 ký tự a–z, 0–9 và `-` (không dấu, không khoảng trắng)",
        ));
    }
}

/// A message an operator may override: their text (NFC, its placeholders
/// checked), or the default.
pub fn message(
    file: &SourceFile,
    diags: &mut Diagnostics,
    key: &str,
    value: &Option<Spanned<String>>,
    allowed: &[&str],
    default: &str,
) -> String {
    match value {
        Some(v) => {
            check_placeholders(file, diags, key, v, allowed);
            crate::text::nfc(v.get_ref())
        }
        None => default.to_string(),
    }
}

/// Checks that a message only uses the placeholders it is given.
pub fn check_placeholders(
    file: &SourceFile,
    diags: &mut Diagnostics,
    key: &str,
    message: &Spanned<String>,
    allowed: &[&str],
) {
    let mut rest = message.get_ref().as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !allowed.contains(&name) {
            let list = allowed
                .iter()
                .map(|a| format!("{{{a}}}"))
                .collect::<Vec<_>>()
                .join(", ");
            diags.push(file.error(
                Some(message.span()),
                format!("thông báo `{key}` dùng chỗ điền không có `{{{name}}}`"),
                if allowed.is_empty() {
                    "thông báo này không có chỗ điền nào; xóa nó đi".to_string()
                } else {
                    format!("dùng một trong: {list}")
                },
            ));
        }
        rest = &after[close + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        let f = SourceFile::new("x.toml", "a = 1\ntên = \"Hà\"\n");
        let offset = f.text.find("\"Hà").unwrap();
        assert_eq!(f.line_column(offset), (2, 7));
    }
}
