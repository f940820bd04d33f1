//! Telegram benchmark: a crowd of respondents on the fake Bot API server of
//! the tests, answering through a bot that runs as a process of its own —
//! `khaosat serve` (the real binary, every step on disk before its reply
//! goes out), and beside it, in the same run, a
//! stateless teloxide bot that answers every message at once (the
//! reference: what teloxide and the fake server allow on this machine).
//!
//!     cargo bench --bench telegram                 # 500 respondents × 20 steps
//!     BENCH_RESPONDENTS=100 BENCH_STEPS=10 cargo bench --bench telegram
//!     BENCH_DATABASE=postgres://postgres@127.0.0.1:5432/test cargo bench --bench telegram
//!     BENCH_SESSIONS=10000 cargo bench --bench telegram   # memory with open sessions
//!     BENCH_LOADS=flat BENCH_SESSIONS=0 cargo bench --bench telegram   # throughput only
//!
//! Two loads: "flat out" (each respondent answers the moment the reply
//! arrives: throughput) and "people" (0.3–1.5 s to answer: latency at a
//! realistic load). Latency is measured by the fake server, from an update
//! being offered to the bot's first reply in that chat. The fake server and
//! the crowd share this process; the bot's CPU time and memory are read
//! from /proc for its process alone, and this process's CPU is reported
//! too, to show the fake was not the bottleneck.

mod common;
#[path = "../tests/suite/fake_telegram.rs"]
#[allow(dead_code)]
mod fake_telegram;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{DiskProbe, Survey, cpu_of, env, ms, rss_mb};
use fake_telegram::FakeTelegram;
use rand::Rng;

/// The allocator `khaosat` itself uses (src/main.rs), so the stateless
/// reference bot and the fake are not slowed by one khaosat does without.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, PartialEq)]
enum Bot {
    Stateless,
    Khaosat,
}

fn main() {
    if std::env::var("BENCH_ROLE").as_deref() == Ok("stateless-bot") {
        return stateless_bot();
    }
    // `cargo bench` passes --bench; `cargo test --benches` runs it with a tiny load.
    let quick = !std::env::args().any(|a| a == "--bench");
    let respondents = if quick {
        5
    } else {
        env("BENCH_RESPONDENTS", 500)
    };
    let steps = if quick { 4 } else { env("BENCH_STEPS", 20) };
    let sessions = if quick {
        20
    } else {
        env("BENCH_SESSIONS", 10_000)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "| load | bot | updates | updates/s | ratio | p50 | p99 | max | disk sync p99 / max | bot CPU/update | bot CPU | crowd+fake CPU | bot memory |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        let loads = std::env::var("BENCH_LOADS").unwrap_or_else(|_| "flat,people".into());
        for (name, think) in [("flat out", None), ("people", Some((300u64, 1500u64)))] {
            if !loads.split(',').any(|l| name.starts_with(l.trim())) {
                continue;
            }
            let reference = run(Bot::Stateless, respondents, steps, think).await;
            let ours = run(Bot::Khaosat, respondents, steps, think).await;
            for (bot, r) in [("stateless teloxide", &reference), ("khaosat", &ours)] {
                println!(
                    "| {name} | {bot} | {} | {:.0} | {:.2} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} / {:.0} ms | {:.3} ms | {:.0} % | {:.0} % | {} MB |",
                    r.updates,
                    r.rate(),
                    r.rate() / reference.rate(),
                    ms(r.p50),
                    ms(r.p99),
                    ms(r.max),
                    ms(r.disk_p99),
                    ms(r.disk_max),
                    r.bot_cpu.as_secs_f64() * 1000.0 / r.updates as f64,
                    100.0 * r.bot_cpu.as_secs_f64() / r.elapsed.as_secs_f64(),
                    100.0 * r.crowd_cpu.as_secs_f64() / r.elapsed.as_secs_f64(),
                    r.bot_rss_mb,
                );
            }
        }
        if sessions == 0 {
            return;
        }
        let (idle, open) = memory_with_sessions(sessions).await;
        println!(
            "khaosat resident memory: {idle} MB idle after start, {open} MB with {sessions} open sessions"
        );
    });
}

struct Run {
    updates: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// The disk's own sync latency meanwhile (`DiskProbe`).
    disk_p99: Duration,
    disk_max: Duration,
    bot_cpu: Duration,
    crowd_cpu: Duration,
    bot_rss_mb: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.updates as f64 / self.elapsed.as_secs_f64()
    }
}

/// Starts a bot process on the fake; returns once it is polling.
fn start_bot(bot: Bot, fake: &FakeTelegram, survey: Option<&Survey>) -> Child {
    let mut cmd = match bot {
        Bot::Stateless => {
            let mut c = Command::new(std::env::current_exe().unwrap());
            c.env("BENCH_ROLE", "stateless-bot");
            c
        }
        Bot::Khaosat => {
            let s = survey.expect("a survey for khaosat");
            let mut c = Command::new(env!("CARGO_BIN_EXE_khaosat"));
            c.arg("serve")
                .env("KHAOSAT_DATABASE_URL", &s.url)
                .env("KHAOSAT_SECRET", s.key.to_hex())
                .env("KHAOSAT_CAMPAIGN", &s.campaign)
                .env("KHAOSAT_LISTEN", "127.0.0.1:0")
                .env("KHAOSAT_LOG", "error")
                .env_remove("KHAOSAT_CONFIG");
            c
        }
    };
    let mut child = cmd
        .env("TELOXIDE_TOKEN", fake_telegram::TOKEN)
        .env("TELOXIDE_API_URL", &fake.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the bot starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("Telegram: on") || l == "ready" => break,
            Some(Ok(_)) => {}
            _ => panic!("the bot stopped before it was ready"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    child
}

/// One update through a fresh chat, answered: the bot is polling.
async fn warm_up(fake: &FakeTelegram, chat: i64) {
    let mut seen = fake.watch(chat);
    fake.text(chat, "xin chào");
    tokio::time::timeout(Duration::from_secs(30), seen.wait_for(|n| *n >= 1))
        .await
        .expect("the bot answers")
        .unwrap();
}

async fn run(bot: Bot, respondents: usize, steps: usize, think: Option<(u64, u64)>) -> Run {
    let survey = match bot {
        Bot::Khaosat => Some(Survey::new(respondents).await),
        Bot::Stateless => None,
    };
    let fake = FakeTelegram::start().await;
    let mut child = start_bot(bot, &fake, survey.as_ref());
    warm_up(&fake, 1).await;
    fake.api.lock().unwrap().latencies.clear();
    let pid = child.id();
    let bot_cpu_before = cpu_of(&pid.to_string());
    let crowd_cpu_before = cpu_of("self");
    let probe = DiskProbe::start();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..respondents {
        let fake = fake.clone();
        let start = survey.as_ref().map_or_else(
            || "/start".to_string(),
            |s| format!("/start {}", s.tokens[i].as_str()),
        );
        tasks.push(tokio::spawn(async move {
            let chat = 100_000 + i as i64;
            let mut seen = fake.watch(chat);
            for step in 0..=steps {
                let text = match step {
                    0 => start.clone(),
                    s if s % 2 == 1 => "4".to_string(),
                    _ => "quay lại".to_string(),
                };
                if let Some((lo, hi)) = think {
                    let wait = rand::rng().random_range(lo..=hi);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                fake.text(chat, &text);
                let expected = step + 1;
                tokio::time::timeout(Duration::from_secs(120), seen.wait_for(|n| *n >= expected))
                    .await
                    .unwrap_or_else(|_| panic!("chat {chat}: no reply within 120 s"))
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let (disk_p99, disk_max) = probe.stop();
    let bot_cpu = cpu_of(&pid.to_string()) - bot_cpu_before;
    let crowd_cpu = cpu_of("self") - crowd_cpu_before;
    let bot_rss_mb = rss_mb(&pid.to_string());
    child.kill().unwrap();
    child.wait().unwrap();
    if let Some(s) = &survey {
        s.drop_db().await;
    }
    let mut lat = fake.api.lock().unwrap().latencies.clone();
    lat.sort();
    let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    Run {
        updates: respondents * (steps + 1),
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
        max: *lat.last().unwrap(),
        disk_p99,
        disk_max,
        bot_cpu,
        crowd_cpu,
        bot_rss_mb,
    }
}

/// khaosat's resident memory after start, and with `n` conversations open
/// (each respondent sent their token and one answer).
async fn memory_with_sessions(n: usize) -> (u64, u64) {
    let survey = Survey::new(n).await;
    let fake = FakeTelegram::start().await;
    let mut child = start_bot(Bot::Khaosat, &fake, Some(&survey));
    warm_up(&fake, 1).await;
    let pid = child.id().to_string();
    let idle = rss_mb(&pid);
    let tokens: Vec<String> = survey
        .tokens
        .iter()
        .map(|t| t.as_str().to_string())
        .collect();
    for (wave, chunk) in tokens.chunks(500).enumerate() {
        let mut tasks = Vec::new();
        for (i, token) in chunk.iter().enumerate() {
            let fake = fake.clone();
            let chat = 500_000 + (wave * 500 + i) as i64;
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let mut seen = fake.watch(chat);
                for (k, text) in [format!("/start {token}"), "4".to_string()]
                    .iter()
                    .enumerate()
                {
                    fake.text(chat, text);
                    let _ =
                        tokio::time::timeout(Duration::from_secs(120), seen.wait_for(|c| *c > k))
                            .await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    let open = rss_mb(&pid);
    child.kill().unwrap();
    child.wait().unwrap();
    survey.drop_db().await;
    (idle, open)
}

/// The reference: a teloxide bot that answers every text with the same
/// question and keyboard, keeping nothing.
fn stateless_bot() {
    use teloxide::prelude::*;
    use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let bot = Bot::from_env().set_api_url(
            reqwest::Url::parse(&std::env::var("TELOXIDE_API_URL").unwrap()).unwrap(),
        );
        println!("ready");
        let keyboard = InlineKeyboardMarkup::new([(1..=5).map(|n| {
            InlineKeyboardButton::callback(n.to_string(), format!("1:p{n}"))
        })]);
        let answer = Update::filter_message().endpoint(
            move |bot: Bot, msg: Message| {
                let keyboard = keyboard.clone();
                async move {
                    bot.send_message(
                        msg.chat.id,
                        "UBND xã Bình An\nCâu 2/14 · Chất lượng cán bộ, công chức\n\nÔng/bà hài lòng thế nào?",
                    )
                    .reply_markup(keyboard)
                    .await?;
                    Ok::<(), teloxide::RequestError>(())
                }
            },
        );
        Dispatcher::builder(bot, answer).build().dispatch().await;
    });
}
