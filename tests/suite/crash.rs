//! What survives `kill -9`: the real binary serves a crowd of respondents
//! on the fake Bot API and the fake Zalo server, is killed at random
//! moments and started again; every respondent finishes, every ballot is
//! stored once, every reply is delivered, and nobody waits longer than the
//! restarts took.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::watch;

use crate::fake_telegram::{self, FakeTelegram};
use crate::fake_zalo;
use crate::helpers::{Backend, Harness};

const TELEGRAM_PEOPLE: i64 = 24;
const ZALO_PEOPLE: usize = 16;
const KILLS: usize = 6;
/// Longer than any wait for a reply could be, were nothing lost.
const STRANDED: Duration = Duration::from_secs(20);
/// What every citizen types: 10 answers, a skip, an answer, a skip, send.
const ANSWERS: [&str; 14] = [
    "4", "4", "4", "4", "4", "4", "4", "4", "4", "4", "bỏ qua", "5", "bỏ qua", "gửi",
];
const FINISHED: &str = "cảm ơn ông/bà đã góp ý";
/// Communes the crowd rates, within their quotas of 20.
const UNITS: [&str; 3] = ["binh-an", "binh-chanh", "binh-duong"];

/// The service as a process of its own.
struct Service {
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Service {
    /// Starts the binary and waits until it has printed that it serves.
    fn start(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_khaosat"))
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("KHAOSAT_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the khaosat binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // The last line `serve` prints before it serves names the bot.
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("Telegram: on") => break,
                Some(Ok(_)) => {}
                _ => panic!("khaosat serve stopped before serving"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
    }

    fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            assert!(child.wait().unwrap().success(), "a clean stop on SIGTERM");
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// What the crowd measured.
#[derive(Default)]
struct Seen {
    /// The longest time one person waited for a reply.
    longest_wait: Duration,
    finished: usize,
    messages: usize,
    /// Messages that arrived twice in a row: delivered, then the process
    /// died before the row was deleted, and it went out again.
    repeated: usize,
}

impl Seen {
    fn count(&mut self, texts: &[&str]) {
        self.messages += texts.len();
        self.repeated += texts.windows(2).filter(|w| w[0] == w[1]).count();
    }
}

async fn nobody_is_stranded_by_kill_9(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    crate::today::open_campaign(dir.path());
    let h = Harness::new(backend, dir.path().to_path_buf()).await;
    let telegram = FakeTelegram::start().await;
    let (zalo, zalo_url) = fake_zalo::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = [
        ("KHAOSAT_DATABASE_URL", h.db.url.clone()),
        ("KHAOSAT_SECRET", h.key.to_hex()),
        ("KHAOSAT_CAMPAIGN", dir.path().display().to_string()),
        ("KHAOSAT_LISTEN", format!("127.0.0.1:{port}")),
        ("KHAOSAT_LOG", "error".into()),
        ("TELOXIDE_TOKEN", fake_telegram::TOKEN.into()),
        ("TELOXIDE_API_URL", telegram.url.clone()),
        ("KHAOSAT_ZALO_APP_ID", fake_zalo::APP_ID.into()),
        ("KHAOSAT_ZALO_OA_SECRET_KEY", fake_zalo::OA_SECRET.into()),
        ("KHAOSAT_ZALO_APP_SECRET_KEY", fake_zalo::APP_SECRET.into()),
        ("KHAOSAT_ZALO_REFRESH_TOKEN", "rt-0".into()),
        ("KHAOSAT_ZALO_ACCESS_TOKEN", "at-0".into()),
        ("KHAOSAT_ZALO_API_URL", zalo_url.clone()),
        ("KHAOSAT_ZALO_OAUTH_URL", zalo_url.clone()),
    ];
    let mut service = Service {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        child: None,
    };
    service.start();
    // Up (true) or down; the Zalo crowd waits for the next start to post
    // again, as Zalo retries an event it got no 200 for.
    let (up, _) = watch::channel(true);
    let up = Arc::new(up);
    let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
    let mut people = Vec::new();
    for i in 0..TELEGRAM_PEOPLE {
        let token = h.token("nguoi-dan", &[UNITS[i as usize % 3]]).await;
        let (telegram, seen) = (telegram.clone(), seen.clone());
        people.push(tokio::spawn(async move {
            let chat = 770_000 + i;
            let mut count = telegram.watch(chat);
            let start = format!("/start {}", token.as_str());
            for text in std::iter::once(start.as_str()).chain(ANSWERS) {
                think().await;
                let before = *count.borrow_and_update();
                let sent = Instant::now();
                telegram.text(chat, text);
                let reply = count.wait_for(|n| *n > before);
                tokio::time::timeout(STRANDED, reply)
                    .await
                    .unwrap_or_else(|_| panic!("telegram {chat}: no reply to “{text}”"))
                    .unwrap();
                waited(&seen, sent.elapsed());
            }
            // A reply sent again after a restart may have been taken for
            // the last one: wait for the thanks itself.
            let finished = |n: &usize| {
                *n > 0
                    && telegram
                        .sent()
                        .iter()
                        .any(|m| m.chat == chat && m.text.contains(FINISHED))
            };
            let done = tokio::time::timeout(STRANDED, count.wait_for(finished))
                .await
                .is_ok();
            let mine: Vec<_> = telegram
                .sent()
                .into_iter()
                .filter(|m| m.chat == chat)
                .collect();
            let mut s = seen.lock().unwrap();
            s.count(&mine.iter().map(|m| m.text.as_str()).collect::<Vec<_>>());
            if done {
                s.finished += 1;
            } else {
                eprintln!(
                    "telegram {chat} did not finish: {:?}",
                    mine.last().map(|m| &m.text)
                );
            }
        }));
    }
    for i in 0..ZALO_PEOPLE {
        let token = h.token("nguoi-dan", &[UNITS[i % 3]]).await;
        let (zalo, seen, up) = (zalo.clone(), seen.clone(), up.clone());
        let base = format!("http://127.0.0.1:{port}");
        people.push(tokio::spawn(async move {
            let user = format!("88{i:06}");
            let http = reqwest::Client::new();
            let mut received = 0;
            let start = format!("/start {}", token.as_str());
            for (n, text) in std::iter::once(start.as_str()).chain(ANSWERS).enumerate() {
                think().await;
                // The real process keeps real time: so do its events.
                let body = fake_zalo::event_at(
                    "user_send_text",
                    &user,
                    Some(text),
                    &format!("msg-{user}-{n}"),
                    chrono::Utc::now().timestamp_millis(),
                );
                let sent = Instant::now();
                let mut ups = up.subscribe();
                loop {
                    let posted = http
                        .post(format!("{base}/zalo/webhook"))
                        .header("content-type", "application/json")
                        .header("X-ZEvent-Signature", fake_zalo::signature_header(&body))
                        .body(body.clone())
                        .send()
                        .await;
                    if posted.is_ok_and(|r| r.status() == 200) {
                        break;
                    }
                    // Down: post again once it is back (Zalo's retry).
                    ups.borrow_and_update();
                    ups.wait_for(|up| *up).await.unwrap();
                }
                let reply = fake_zalo::wait_sent(&zalo, &user, received);
                received = tokio::time::timeout(STRANDED, reply)
                    .await
                    .unwrap_or_else(|_| panic!("zalo {user}: no reply to “{text}”"))
                    .len();
                waited(&seen, sent.elapsed());
            }
            // The thanks comes after the receipt, in a message of its own.
            let mut mine = fake_zalo::wait_sent(&zalo, &user, 0).await;
            let deadline = Instant::now() + STRANDED;
            while !mine.iter().any(|m| m.contains(FINISHED)) && Instant::now() < deadline {
                let next = fake_zalo::wait_sent(&zalo, &user, mine.len());
                match tokio::time::timeout_at(deadline.into(), next).await {
                    Ok(all) => mine = all,
                    Err(_) => break,
                }
            }
            let mut s = seen.lock().unwrap();
            s.count(&mine.iter().map(String::as_str).collect::<Vec<_>>());
            if mine.iter().any(|m| m.contains(FINISHED)) {
                s.finished += 1;
            } else {
                eprintln!("zalo {user} did not finish: {:?}", mine.last());
            }
        }));
    }
    // The killer: at random moments, kill -9 and start again.
    let crowd_done = Arc::new(AtomicBool::new(false));
    // The process is handled on a thread of its own: waiting for it must
    // not hold up the runtime the fakes run on.
    let killer = {
        let (up, crowd_done) = (up.clone(), crowd_done.clone());
        std::thread::spawn(move || {
            let mut outages = Vec::new();
            for _ in 0..KILLS {
                let uptime = rand::rng().random_range(100..300);
                std::thread::sleep(Duration::from_millis(uptime));
                if crowd_done.load(Ordering::SeqCst) {
                    break;
                }
                let down = Instant::now();
                up.send_replace(false);
                service.kill_9();
                service.start();
                up.send_replace(true);
                outages.push(down.elapsed());
            }
            (outages, service)
        })
    };
    for p in people {
        p.await.unwrap();
    }
    crowd_done.store(true, Ordering::SeqCst);
    let (outages, mut service) = tokio::task::spawn_blocking(move || killer.join().unwrap())
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || service.stop())
        .await
        .unwrap();

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let longest_outage = outages.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} kills (restarts took up to {:.0} ms); {} of {} finished; {} messages, {} of them again after a restart; longest wait {:.0} ms",
        outages.len(),
        longest_outage.as_secs_f64() * 1000.0,
        seen.finished,
        TELEGRAM_PEOPLE as usize + ZALO_PEOPLE,
        seen.messages,
        seen.repeated,
        seen.longest_wait.as_secs_f64() * 1000.0
    );
    assert!(
        outages.len() >= 5,
        "killed during the run: {}",
        outages.len()
    );
    assert_eq!(seen.finished, TELEGRAM_PEOPLE as usize + ZALO_PEOPLE);
    // A reply waits for a restart at most (and the step's own time: up to
    // 5 s while the rest of the suite — 200 Zalo users of `zalo_crowd` —
    // shares the machine's two cores; a stranded respondent waits forever).
    assert!(
        seen.longest_wait <= longest_outage * 2 + Duration::from_secs(5),
        "someone waited {:?}; the longest restart took {longest_outage:?}",
        seen.longest_wait
    );
    // Every event acknowledged was handled and every reply went out:
    // nothing is left in the inbox or the outbox.
    use khaosat::store::{Queue, Store, inbox_url};
    let inbox_store = Store::open(&inbox_url(&h.db.url)).await.unwrap();
    let (inbox, outbox) = (
        inbox_store.queued_count(Queue::Inbox).await.unwrap(),
        h.store().queued_count(Queue::Outbox).await.unwrap(),
    );
    inbox_store.close().await;
    assert_eq!(
        (inbox, outbox),
        (0, 0),
        "rows left in the inbox and the outbox"
    );
    // Every ballot once.
    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), TELEGRAM_PEOPLE as usize + ZALO_PEOPLE);
    h.finish().await;
}

/// A person takes a moment to answer.
async fn think() {
    let ms = rand::rng().random_range(40..200);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn waited(seen: &std::sync::Mutex<Seen>, wait: Duration) {
    let mut s = seen.lock().unwrap();
    s.longest_wait = s.longest_wait.max(wait);
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![both nobody_is_stranded_by_kill_9]
}
