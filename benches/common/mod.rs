//! What the benchmarks share: a database with a campaign open today and
//! tokens, and a process's CPU time and memory from /proc.

#![allow(dead_code)]

#[path = "../../tests/suite/today.rs"]
mod today;

use std::time::Duration;

use khaosat::store::{Store, TokenRecord};
use khaosat::token::Token;

pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A database (a new one on the PostgreSQL server BENCH_DATABASE names),
/// a campaign open today, a key, and `n` citizen tokens.
pub struct Survey {
    _dir: tempfile::TempDir,
    pub url: String,
    pub campaign: std::path::PathBuf,
    pub key: khaosat::key::Key,
    pub tokens: Vec<Token>,
}

impl Survey {
    pub async fn new(n: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = match std::env::var("BENCH_DATABASE") {
            Ok(admin) if admin.starts_with("postgres") => fresh_postgres(&admin).await,
            Ok(other) => other,
            Err(_) => format!("sqlite://{}", dir.path().join("bench.db").display()),
        };
        let campaign = dir.path().join("campaign");
        std::fs::create_dir_all(&campaign).unwrap();
        today::open_campaign(&campaign);
        let key = khaosat::key::Key::generate();
        let loaded = khaosat::campaign::load(&campaign).unwrap();
        let units: Vec<String> = loaded.units().iter().map(|u| u.id.clone()).collect();
        let mut rng = rand::rng();
        let tokens: Vec<Token> = (0..n).map(|_| Token::generate(&mut rng)).collect();
        let records: Vec<TokenRecord> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| TokenRecord {
                hash: t.hash(&key),
                campaign: loaded.id().to_string(),
                group: "nguoi-dan".into(),
                units: vec![units[i % units.len()].clone()],
                expires_at: None,
                batch: "bench".into(),
            })
            .collect();
        let store = Store::open(&url).await.unwrap();
        for chunk in records.chunks(1000) {
            store.insert_tokens(chunk).await.unwrap();
        }
        store.close().await;
        Self {
            _dir: dir,
            url,
            campaign,
            key,
            tokens,
        }
    }

    pub async fn drop_db(&self) {
        if let Ok(admin) = std::env::var("BENCH_DATABASE")
            && admin.starts_with("postgres")
        {
            drop_postgres(&admin, &self.url).await;
        }
    }
}

/// User and system CPU time of a process (`self` or a pid), from /proc.
pub fn cpu_of(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0);
    Duration::from_millis(ticks * 10)
}

/// Resident memory of a process now, in MB.
pub fn rss_mb(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
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

/// The disk's own commit latency while a run goes on: a thread that
/// writes 200 bytes in place and `fdatasync`s them every 2 ms (what an
/// acknowledgement's commit costs the disk), in a file of its own beside
/// the database. It shows what no server on this machine could beat.
pub struct DiskProbe {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Duration>>,
}

impl DiskProbe {
    pub fn start() -> Self {
        use std::os::unix::fs::FileExt;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            let file = std::fs::File::create(dir.path().join("probe")).unwrap();
            file.write_all_at(&[0; 4096], 0).unwrap();
            file.sync_all().unwrap();
            // At least one sync, however short the run (a quick run under
            // `cargo test` can end before the probe has begun).
            let mut syncs = Vec::new();
            loop {
                file.write_all_at(&[b'x'; 200], 0).unwrap();
                let started = std::time::Instant::now();
                file.sync_data().unwrap();
                syncs.push(started.elapsed());
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    return syncs;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Self { stop, thread }
    }

    /// Stops the probe: its syncs' p99 and the slowest.
    pub fn stop(self) -> (Duration, Duration) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut syncs = self.thread.join().unwrap();
        syncs.sort();
        let p99 = syncs[(syncs.len() * 99 / 100).min(syncs.len() - 1)];
        (p99, *syncs.last().unwrap())
    }
}
