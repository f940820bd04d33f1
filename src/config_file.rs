//! The configuration file, `khaosat.toml`: every option of the command
//! line by its long name (`database-url = "…"`, `telegram-staff = [1, 2]`,
//! `trial = true`), read before the command line and the environment,
//! which both override it. Secrets are refused in it: they come from the
//! environment, or from files the configuration names (`secret-file`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The file read when `--config` and `KHAOSAT_CONFIG` name none.
pub const DEFAULT_FILE: &str = "khaosat.toml";

/// Where each option's value came from, for `khaosat config check`.
pub type Sources = BTreeMap<String, &'static str>;

/// The file named by `--config FILE` (or `--config=FILE`) among `args`, or
/// by `from_env`, or `khaosat.toml` here if it exists.
pub fn locate(args: &[std::ffi::OsString], from_env: Option<PathBuf>) -> Option<PathBuf> {
    let mut named = None;
    for (i, a) in args.iter().enumerate() {
        let a = a.to_string_lossy();
        if a == "--config" {
            named = args.get(i + 1).map(PathBuf::from);
        } else if let Some(v) = a.strip_prefix("--config=") {
            named = Some(PathBuf::from(v));
        }
    }
    named.or(from_env).or_else(|| {
        Path::new(DEFAULT_FILE)
            .is_file()
            .then(|| PathBuf::from(DEFAULT_FILE))
    })
}

/// The command with the file's values as its defaults; the names the file set.
pub fn apply(mut cmd: clap::Command, path: &Path) -> Result<(clap::Command, Vec<String>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("không đọc được tệp cấu hình {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: lỗi TOML: {}", path.display(), e.to_string().trim()))?;
    let mut set = Vec::new();
    for (key, value) in table {
        let Some(arg) = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
            .cloned()
        else {
            bail!(
                "{}: `{key}` không phải là một tùy chọn — dùng tên dài mà `khaosat --help` liệt kê, ví dụ database-url, listen, web-url",
                path.display()
            );
        };
        if arg.is_hide_env_values_set() {
            bail!(
                "{}: `{key}` là thông tin bí mật nên không được đọc từ tệp cấu hình — đặt nó trong biến môi trường{} (hoặc, với khóa của dịch vụ, ghi đường dẫn tệp khóa bằng secret-file)",
                path.display(),
                arg.get_env()
                    .map(|e| format!(" ({})", e.to_string_lossy()))
                    .unwrap_or_default()
            );
        }
        let values: Vec<String> = match value {
            toml::Value::Array(items) => items.iter().map(plain).collect::<Result<_>>()?,
            other => vec![plain(&other)?],
        };
        let id = arg.get_id().clone();
        cmd = cmd.mut_arg(id, |a| a.default_values(values));
        set.push(key);
    }
    Ok((cmd, set))
}

/// A TOML value as the command line would write it.
fn plain(v: &toml::Value) -> Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => bail!("`{other:?}` không phải giá trị đơn (một chuỗi, một số hoặc true/false)"),
    })
}
