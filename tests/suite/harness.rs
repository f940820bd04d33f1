//! How the suite's tests are registered and run (libtest-mimic, so a test
//! whose server is missing can say "skipped" instead of passing).
//!
//! Each module lists its tests with [`trials!`]: `sync` and `tokio` tests
//! run as they are; `both` tests take a [`Backend`] and run on SQLite and
//! PostgreSQL; `sqlite` ones on SQLite only (the channel adapters: the
//! store under them is tested on both); `postgres` and `browser` tests need
//! their server, `pdf` tests poppler's tools. Outside CI, a test whose server is missing is reported as
//! ignored, with "skipped: …" in front of its name; with `CI` set (or
//! `KHAOSAT_TEST_POSTGRES_URL` for PostgreSQL) it runs, and fails.

use std::future::Future;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::OnceLock;
use std::time::Duration;

use libtest_mimic::Trial;

use crate::helpers::{Backend, pg_admin_url};

/// The trials of a module: `trials![sync a, tokio b, both c, …]`.
#[macro_export]
macro_rules! trials {
    ($($kind:ident $name:ident),* $(,)?) => {{
        let module = module_path!().trim_start_matches("suite::");
        let mut all = Vec::new();
        $(all.extend($crate::harness::$kind(&format!("{module}::{}", stringify!($name)), $name));)*
        all
    }};
}

/// A plain test.
pub fn sync(name: &str, test: fn()) -> Vec<Trial> {
    vec![Trial::test(name, move || {
        test();
        Ok(())
    })]
}

/// An async test, on a runtime of two worker threads (the machine's cores).
pub fn tokio<F>(name: &str, test: fn() -> F) -> Vec<Trial>
where
    F: Future<Output = ()> + 'static,
{
    vec![Trial::test(name, move || {
        block_on(test());
        Ok(())
    })]
}

/// A test of the store under it, once on each backend.
pub fn both<F>(name: &str, test: fn(Backend) -> F) -> Vec<Trial>
where
    F: Future<Output = ()> + 'static,
{
    let (module, test_name) = name.rsplit_once("::").unwrap_or(("", name));
    vec![
        backend(
            &format!("{module}::sqlite::{test_name}"),
            Backend::Sqlite,
            test,
        ),
        backend(
            &format!("{module}::postgres::{test_name}"),
            Backend::Postgres,
            test,
        ),
    ]
}

/// A channel adapter's test: on SQLite only.
pub fn sqlite<F>(name: &str, test: fn(Backend) -> F) -> Vec<Trial>
where
    F: Future<Output = ()> + 'static,
{
    vec![backend(name, Backend::Sqlite, test)]
}

/// A test that needs PostgreSQL itself (several instances on one database).
pub fn postgres<F>(name: &str, test: fn() -> F) -> Vec<Trial>
where
    F: Future<Output = ()> + 'static,
{
    vec![needs(tokio(name, test).remove(0), postgres_missing())]
}

/// A test in a real browser (headless Chromium over chromedriver).
pub fn browser<F>(name: &str, test: fn() -> F) -> Vec<Trial>
where
    F: Future<Output = ()> + 'static,
{
    vec![needs(tokio(name, test).remove(0), chromium_missing())]
}

/// A test that reads a PDF the way an office would (poppler's pdftotext and pdftoppm).
pub fn pdf(name: &str, test: fn()) -> Vec<Trial> {
    vec![needs(sync(name, test).remove(0), poppler_missing())]
}

fn backend<F>(name: &str, backend: Backend, test: fn(Backend) -> F) -> Trial
where
    F: Future<Output = ()> + 'static,
{
    let trial = Trial::test(name, move || {
        block_on(test(backend));
        Ok(())
    });
    match backend {
        Backend::Sqlite => trial,
        Backend::Postgres => needs(trial, postgres_missing()),
    }
}

/// Marks a trial skipped when what it needs is missing and not required.
fn needs(trial: Trial, missing: Option<String>) -> Trial {
    match missing {
        Some(why) if !required() => trial
            .with_kind(format!("skipped: {why}"))
            .with_ignored_flag(true),
        _ => trial,
    }
}

/// In CI every server a test needs must be there.
fn required() -> bool {
    std::env::var_os("CI").is_some()
}

/// Why PostgreSQL cannot be reached, checked once; `None` when it answers.
fn postgres_missing() -> Option<String> {
    static MISSING: OnceLock<Option<String>> = OnceLock::new();
    if std::env::var_os("KHAOSAT_TEST_POSTGRES_URL").is_some() {
        return None; // Asked for by name: it must be there.
    }
    MISSING
        .get_or_init(|| {
            let url = pg_admin_url();
            let host = url
                .split_once('@')
                .map_or(url.as_str(), |(_, rest)| rest)
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let reachable = host
                .to_socket_addrs()
                .ok()
                .and_then(|mut addrs| addrs.next())
                .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok());
            (!reachable).then(|| format!("no PostgreSQL at {host}"))
        })
        .clone()
}

/// Why the browser test cannot run; `None` when Chromium and chromedriver are there.
fn chromium_missing() -> Option<String> {
    let missing: Vec<&str> = [crate::browser::CHROMIUM, crate::browser::CHROMEDRIVER]
        .into_iter()
        .filter(|p| !std::path::Path::new(p).exists())
        .collect();
    (!missing.is_empty()).then(|| format!("no {}", missing.join(" or ")))
}

/// Why PDFs cannot be read; `None` when poppler's tools are there.
fn poppler_missing() -> Option<String> {
    let missing: Vec<&str> = ["pdftotext", "pdftoppm"]
        .into_iter()
        .filter(|tool| std::process::Command::new(tool).arg("-v").output().is_err())
        .collect();
    (!missing.is_empty()).then(|| format!("no {} (poppler-utils)", missing.join(" or ")))
}

fn block_on<F: Future<Output = ()>>(test: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(test);
}
