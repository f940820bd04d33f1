//! Progress bars for long CLI work (issuing tokens, reports, verify,
//! backup): drawn on standard error when it is a terminal, nothing
//! otherwise (logs and pipes get the summary lines alone).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `len` steps labelled `what`; hidden when standard error is
/// not a terminal.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// A running count of `unit`s done, for work whose total is not known
/// ahead (the chain is read page by page); hidden off a terminal.
pub fn counter(what: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template(&format!("{{msg:>12}} {{pos}} {unit} ({{per_sec}})"))
    {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}
