//! Telegram benchmark: N respondents answering at once through the real
//! teloxide bot, against the fake Bot API server of the tests, with every
//! step durable in SQLite.
//!
//!     cargo bench --bench telegram                 # 500 respondents, both runs
//!     BENCH_RESPONDENTS=100 BENCH_STEPS=10 cargo bench --bench telegram
//!     BENCH_DATABASE=postgres://postgres@127.0.0.1:5432/test cargo bench --bench telegram
//!
//! Two runs: "flat out" (each respondent answers as soon as the reply
//! arrives: throughput) and "people" (0.3–1.5 s to answer: latency at a
//! realistic load). Latency is measured by the fake server, from an update
//! being offered to the bot's first reply in that chat.

#[path = "../tests/suite/fake_telegram.rs"]
#[allow(dead_code)]
mod fake_telegram;

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fake_telegram::FakeTelegram;
use khaosat::settings::Settings;
use khaosat::store::{Store, TokenRecord};
use khaosat::survey::Clock;
use khaosat::token::Token;
use rand::Rng;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs it with a tiny load.
    let quick = !std::env::args().any(|a| a == "--bench");
    let respondents = if quick {
        5
    } else {
        env("BENCH_RESPONDENTS", 500)
    };
    let steps = if quick { 4 } else { env("BENCH_STEPS", 20) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for (name, think) in [("flat out", None), ("people", Some((300u64, 1500u64)))] {
            let r = run(respondents, steps, think).await;
            println!(
                "{name:>8}: {respondents} respondents × {steps} steps = {} updates in {:.2} s → {:.0} updates/s; offered→reply p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                r.updates,
                r.elapsed.as_secs_f64(),
                r.updates as f64 / r.elapsed.as_secs_f64(),
                ms(r.p50),
                ms(r.p99),
                ms(r.max)
            );
        }
        println!("peak resident memory of the whole benchmark process: {} MB", peak_rss_mb());
    });
}

struct Result_ {
    updates: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run(respondents: usize, steps: usize, think: Option<(u64, u64)>) -> Result_ {
    let dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("BENCH_DATABASE") {
        // A new database for each run on the server BENCH_DATABASE names.
        Ok(admin) if admin.starts_with("postgres") => fresh_postgres(&admin).await,
        Ok(other) => other,
        Err(_) => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let store = Store::open(&url).await.unwrap();
    let key = khaosat::key::Key::generate();
    let campaign = khaosat::campaign::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues/thang-binh-2021"),
    )
    .unwrap();
    let units: Vec<String> = campaign.units().iter().map(|u| u.id.clone()).collect();
    let mut rng = rand::rng();
    let tokens: Vec<Token> = (0..respondents)
        .map(|_| Token::generate(&mut rng))
        .collect();
    let records: Vec<TokenRecord> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| TokenRecord {
            hash: t.hash(&key),
            campaign: campaign.id().to_string(),
            group: "nguoi-dan".into(),
            units: vec![units[i % units.len()].clone()],
            expires_at: None,
            batch: "bench".into(),
        })
        .collect();
    store.insert_tokens(&records).await.unwrap();
    store.close().await;
    let now = Utc.with_ymd_and_hms(2021, 2, 1, 2, 0, 0).unwrap();
    let fake = FakeTelegram::start().await;
    // The service as `khaosat serve` assembles it, the bot on the fake.
    let mut settings = Settings::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues/thang-binh-2021"),
        url.clone(),
    );
    settings.clock = Clock::fixed(now);
    settings.secret = Some(khaosat::secret::Secret::new(key.to_hex()));
    fake.configure(&mut settings);
    let app = khaosat::startup::build(settings).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot_task = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));

    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let fake = fake.clone();
        tasks.push(tokio::spawn(async move {
            let chat = 100_000 + i as i64;
            let mut seen = fake.watch(chat);
            let mut expected = 0;
            for step in 0..=steps {
                let text = match step {
                    0 => format!("/start {}", token.as_str()),
                    s if s % 2 == 1 => "4".to_string(),
                    _ => "quay lại".to_string(),
                };
                if let Some((lo, hi)) = think {
                    let wait = rand::rng().random_range(lo..=hi);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                fake.text(chat, &text);
                expected += 1;
                while *seen.borrow_and_update() < expected {
                    if tokio::time::timeout(Duration::from_secs(60), seen.changed())
                        .await
                        .is_err()
                    {
                        panic!("chat {chat}: no reply within 60 s");
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    let _ = bot_task.await;
    if let Ok(admin) = std::env::var("BENCH_DATABASE")
        && admin.starts_with("postgres")
    {
        drop_postgres(&admin, &url).await;
    }
    let mut lat = fake.api.lock().unwrap().latencies.clone();
    lat.sort();
    let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    Result_ {
        updates: respondents * (steps + 1),
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
        max: *lat.last().unwrap(),
    }
}

/// Creates an empty database next to the one `admin` names; returns its URL.
async fn fresh_postgres(admin: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    let name = format!("khaosat_bench_{}", khaosat::hex::random::<4>());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    format!("{base}/{name}")
}

/// Drops the database `fresh_postgres` made.
async fn drop_postgres(admin: &str, url: &str) {
    use sqlx::Connection;
    let name = url.rsplit('/').next().unwrap_or_default();
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .map_or(0, |kb| kb / 1024)
}
