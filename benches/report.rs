//! Report benchmark: generate ballots straight into SQLite (hash-chained
//! as the service stores them), then time `write_reports` — both passes,
//! chain check, every output — and its peak memory.
//!
//!     cargo bench --bench report                    # 100,000 and 1,000,000 ballots
//!     BENCH_BALLOTS=200000 cargo bench --bench report
//!     BENCH_WISHES=0 cargo bench --bench report    # no free text (default: 1 ballot in 10)
//!     BENCH_BALLOTS=1100 BENCH_OUT=/tmp/bao-cao cargo bench --bench report   # keep the outputs
//!     BENCH_DB=/tmp/ballots.db cargo bench --bench report   # generate once, then reuse
//!
//! The peak is the process's high-water mark reset just before the report
//! (`/proc/self/clear_refs`), so it is the report's own, not the generator's.

use std::path::Path;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use khaosat::ballot::{Ballot, GENESIS, new_receipt, new_salt};
use khaosat::campaign::Campaign;
use khaosat::dialogue::{Answer, QuestionKind};
use khaosat::report::write_reports;
use khaosat::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The allocator of the `khaosat` binary (src/main.rs), whose `report`
/// command runs what this times.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs it tiny.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = match std::env::var("BENCH_BALLOTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        _ if quick => vec![2_000],
        Some(n) => vec![n],
        None => vec![100_000, 1_000_000],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let campaign = khaosat::campaign::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues/thang-binh-2021"),
    )
    .unwrap();
    runtime.block_on(async {
        for n in sizes {
            let dir = tempfile::tempdir().unwrap();
            // BENCH_DB keeps the generated ballots, to time the report again
            // on the same ones (one file per number of ballots).
            let db = std::env::var("BENCH_DB").map_or_else(
                |_| dir.path().join("bench.db"),
                |path| std::path::PathBuf::from(format!("{path}.{n}")),
            );
            // A reused database keeps its answers' count beside it.
            let counted = std::path::PathBuf::from(format!("{}.answers", db.display()));
            let reused: Option<usize> = std::fs::read_to_string(&counted)
                .ok()
                .filter(|_| db.exists())
                .and_then(|text| text.trim().parse().ok());
            if reused.is_none() {
                let _ = std::fs::remove_file(&db);
            }
            let url = format!("sqlite://{}", db.display());
            let store = Store::open(&url).await.unwrap();
            let started = Instant::now();
            let answers = match reused {
                Some(answers) => answers,
                None => {
                    let answers = generate(&url, &campaign, n).await;
                    let _ = std::fs::write(&counted, answers.to_string());
                    answers
                }
            };
            let generated = started.elapsed();
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let base = rss_mb("VmRSS:");
            let started = Instant::now();
            let now = Utc.with_ymd_and_hms(2021, 2, 16, 1, 0, 0).unwrap();
            // BENCH_OUT keeps the outputs, to look at them.
            let out = std::env::var("BENCH_OUT")
                .map_or_else(|_| dir.path().join("out"), std::path::PathBuf::from);
            let written = write_reports(&store, &campaign, &out, now, khaosat::report::Scope::Final)
                .await
                .unwrap();
            let took = started.elapsed();
            let size: u64 = written
                .files
                .iter()
                .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
                .sum();
            println!(
                "{n:>9} ballots ({:.1} answers each; generated in {:.1} s): report in {:.2} s \
                 ({:.0} ballots/s), peak resident memory {} MB ({} MB before), {} files, {:.1} MB written",
                answers as f64 / n as f64,
                generated.as_secs_f64(),
                took.as_secs_f64(),
                n as f64 / took.as_secs_f64(),
                rss_mb("VmHWM:"),
                base,
                written.files.len(),
                size as f64 / 1e6,
            );
            assert_eq!(written.report.ballots, n as u64);
            store.close().await;
        }
    });
}

/// Stores `n` ballots spread over every unit and group, answered at random
/// (a free-text wish on a share of the ballots); returns the answers.
async fn generate(url: &str, c: &Campaign, n: usize) -> usize {
    // Written straight into the database, as the service would have, on a
    // connection of our own.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&khaosat::store::database_url(url))
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(2021);
    let cells: Vec<_> = c
        .units()
        .iter()
        .flat_map(|u| {
            c.assessments()
                .iter()
                .filter(move |a| a.kind == u.kind)
                .map(move |a| (u, a))
        })
        .collect();
    // Share of ballots with a free-text wish (BENCH_WISHES, default 0.1).
    let wishes: f64 = std::env::var("BENCH_WISHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.1);
    let mut prev = GENESIS.to_string();
    let mut answers = 0;
    let mut seq = 0i64;
    // Rows per INSERT: sqlx looks bound parameters up by name, so fewer is faster.
    const BATCH: usize = 50;
    while (seq as usize) < n {
        let mut tx = pool.begin().await.unwrap();
        for _ in 0..200 {
            let rows = BATCH.min(n - seq as usize);
            if rows == 0 {
                break;
            }
            let mut sql = String::from(
                "INSERT INTO ballots (seq, campaign, unit_id, group_id, dialogue_id, \
                 dialogue_version, batch, batch_date, receipt, salt, answers, prev_hash, hash) VALUES ",
            );
            let mut values = Vec::with_capacity(rows);
            for r in 0..rows {
                seq += 1;
                let (unit, a) = cells[rng.random_range(0..cells.len())];
                let d = &a.dialogue;
                let mut b = Ballot {
                    seq,
                    campaign: c.id().to_string(),
                    unit: unit.id.clone(),
                    group: c.groups()[a.group].id.clone(),
                    dialogue_id: d.id().to_string(),
                    dialogue_version: d.version().to_string(),
                    batch: 1 + seq / 1000,
                    batch_date: format!("2021-02-{:02}", 1 + (seq / 1000) % 15),
                    receipt: new_receipt(&mut rng),
                    salt: new_salt(),
                    answers: Default::default(),
                };
                for q in d.questions() {
                    let answer = match &q.kind {
                        QuestionKind::Choice { scale } => {
                            let options = d.scales()[*scale].options.len() as u16;
                            Answer::Choice(rng.random_range(1..=options))
                        }
                        QuestionKind::Number { .. } => {
                            Answer::Number(rng.random_range(1..4) as f64)
                        }
                        QuestionKind::Text { .. } if rng.random_bool(wishes) => {
                            Answer::Text(format!("Mong muốn số {seq}: giải quyết nhanh hơn"))
                        }
                        _ => continue,
                    };
                    b.answers.insert(q.id.clone(), answer);
                }
                answers += b.answers.len();
                let hash = b.chain_hash(&prev);
                let i = r * 13;
                let params: Vec<String> = (1..=13).map(|k| format!("${}", i + k)).collect();
                sql.push_str(&format!(
                    "{}({})",
                    if r > 0 { "," } else { "" },
                    params.join(",")
                ));
                values.push((b, prev.clone(), hash.clone()));
                prev = hash;
            }
            let mut q = sqlx::query(&sql);
            for (b, prev_hash, hash) in &values {
                q = q
                    .bind(b.seq)
                    .bind(&b.campaign)
                    .bind(&b.unit)
                    .bind(&b.group)
                    .bind(&b.dialogue_id)
                    .bind(&b.dialogue_version)
                    .bind(b.batch)
                    .bind(&b.batch_date)
                    .bind(&b.receipt)
                    .bind(&b.salt)
                    .bind(b.answers_json())
                    .bind(prev_hash)
                    .bind(hash);
            }
            q.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    pool.close().await;
    answers
}

fn rss_mb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
