//! Two service instances, each with its own connection pool, on one
//! PostgreSQL database behind a "load balancer" that sends every webhook
//! delivery (Telegram webhook mode and Zalo) to either instance, often to
//! both at once, and redelivers some late. Together they must behave as one
//! service: each update handled once, each respondent's answers applied in
//! order, every ballot stored once.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use khaosat::dialogue::Answer;
use khaosat::key::Key;
use khaosat::metrics::Metrics;
use khaosat::secret::Secret;
use khaosat::startup;
use khaosat::survey::Survey;
use khaosat::telegram::SECRET_HEADER;
use khaosat::verify::{Verdict, verify};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::fake_telegram::FakeTelegram;
use crate::fake_zalo::{self, event, signature_header};
use crate::helpers::{Backend, TestDb, insert_token, settings, shipped_campaign_dir, vn};

const SECRET: &str = "webhook-secret-shared-by-both";
/// Respondents per channel.
const RESPONDENTS: usize = 8;

/// One webhook delivery, as the platform would post it.
#[derive(Clone)]
enum Delivery {
    Telegram(Value),
    Zalo(String),
}

/// Spreads deliveries over the instances, duplicating some at once and
/// keeping some back to deliver again at the end.
struct Balancer {
    bases: Vec<String>,
    http: reqwest::Client,
    rng: Mutex<StdRng>,
    late: Mutex<Vec<Delivery>>,
}

impl Balancer {
    async fn post(&self, base: &str, d: &Delivery) {
        let req = match d {
            Delivery::Telegram(update) => self
                .http
                .post(format!("{base}/telegram/webhook"))
                .header(SECRET_HEADER, SECRET)
                .json(update),
            Delivery::Zalo(body) => self
                .http
                .post(format!("{base}/zalo/webhook"))
                .header("content-type", "application/json")
                .header("X-ZEvent-Signature", signature_header(body))
                .body(body.clone()),
        };
        let status = req.send().await.unwrap().status();
        assert_eq!(status, 200, "{base} refused a delivery");
    }

    /// Delivers once to a random instance, or to both at the same time.
    async fn deliver(&self, d: Delivery) {
        let (first, both, late) = {
            let mut rng = self.rng.lock().unwrap();
            (
                rng.random_range(0..2),
                rng.random_bool(0.3),
                rng.random_bool(0.2),
            )
        };
        if late {
            self.late.lock().unwrap().push(d.clone());
        }
        if both {
            tokio::join!(
                self.post(&self.bases[first], &d),
                self.post(&self.bases[1 - first], &d)
            );
        } else {
            self.post(&self.bases[first], &d).await;
        }
    }

    /// Redelivers the kept-back deliveries, all at once, alternating instances.
    async fn redeliver_late(&self) {
        let late = std::mem::take(&mut *self.late.lock().unwrap());
        let posts = late
            .iter()
            .enumerate()
            .map(|(i, d)| self.post(&self.bases[i % 2], d));
        futures_util::future::join_all(posts).await;
    }
}

/// What respondent `i` of `channel` types, and the ballot that must result.
/// Messages are sent one after the other, except pairs in one step: those
/// are typed so fast that the platform delivers them at the same time.
fn script(
    survey: &Survey,
    channel: &str,
    i: usize,
) -> (Vec<Vec<String>>, BTreeMap<String, Answer>) {
    let dialogue = survey
        .campaign()
        .dialogues()
        .into_iter()
        .find(|d| d.id() == "nguoi-dan")
        .unwrap();
    let (mut typed, mut ballot): (Vec<Vec<String>>, _) = (Vec::new(), BTreeMap::new());
    for (k, q) in dialogue.questions().iter().enumerate() {
        let answer = match q.id.as_str() {
            // Only asked after an unhappy overall answer; these are 3–5.
            "chua-hai-long" => continue,
            "so-lan-di-lai" => Answer::Number((i % 5 + 1) as f64),
            "mong-muon" => Answer::Text(format!("Ý kiến {channel} số {i}")),
            // Questions 2 and 3, 6 and 7 are answered in bursts, with
            // the same answer, as their order of arrival is not known.
            _ if [1, 2, 5, 6].contains(&k) => Answer::Choice((i % 3 + 3) as u16),
            // Different for every question and respondent, so answers
            // applied out of order, twice or not at all show in the ballot.
            _ => Answer::Choice(((i + k) % 3 + 3) as u16),
        };
        let text = match &answer {
            Answer::Choice(n) => n.to_string(),
            Answer::Number(x) => x.to_string(),
            Answer::Text(t) => t.clone(),
            _ => unreachable!(),
        };
        if k == 2 || k == 6 {
            if let Some(step) = typed.last_mut() {
                step.push(text);
            }
        } else {
            typed.push(vec![text]);
        }
        ballot.insert(q.id.clone(), answer);
    }
    typed.push(vec!["gửi".into()]);
    (typed, ballot)
}

async fn two_instances_on_one_database_behave_as_one() {
    let db = TestDb::new(Backend::Postgres).await;
    let now = Arc::new(AtomicI64::new(vn("2021-02-01T09:00:00").timestamp()));
    let telegram = FakeTelegram::start().await;
    let (zalo, zalo_url) = fake_zalo::start().await;
    let mut surveys = Vec::new();
    let mut stores = Vec::new();
    let mut bases = Vec::new();
    let mut running = Vec::new();
    let mut registries = Vec::new();
    // The instances of one service share its key.
    let key = Key::generate();
    for _ in 0..2 {
        // Each instance as `khaosat serve` assembles it, with its own pool.
        let metrics = Arc::new(Metrics::default());
        registries.push(metrics.clone());
        let mut s = settings(&db.url, &shipped_campaign_dir(), &now, &metrics, &key);
        telegram.configure(&mut s);
        s.telegram.webhook = true;
        s.telegram.webhook_secret = Some(Secret::new(SECRET));
        fake_zalo::configure(&mut s, &zalo_url, "at-0");
        let app = startup::build(s).await.unwrap();
        bases.push(format!("http://{}", app.address()));
        surveys.push(app.survey().clone());
        stores.push(app.store().clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        running.push((stop, task));
    }
    let lb = Arc::new(Balancer {
        bases,
        http: reqwest::Client::new(),
        rng: Mutex::new(StdRng::seed_from_u64(2021)),
        late: Mutex::new(Vec::new()),
    });

    let communes = crate::helpers::communes(&surveys[0]);
    let mut expected = Vec::new();
    let mut respondents = Vec::new();
    for channel in ["telegram", "zalo"] {
        for i in 0..RESPONDENTS {
            let unit = &communes[i % communes.len()];
            let token = insert_token(
                &stores[0],
                &key,
                "thang-binh-2021",
                "nguoi-dan",
                &[unit],
                None,
            )
            .await;
            let (typed, ballot) = script(&surveys[0], channel, i);
            expected.push((channel, i, ballot));
            let lb = lb.clone();
            let telegram = telegram.clone();
            respondents.push(tokio::spawn(async move {
                let user = 7000 + i as i64;
                let first = std::iter::once(vec![token.display()]);
                let mut n = 0;
                for step in first.chain(typed) {
                    let deliveries = step.iter().map(|text| {
                        n += 1;
                        if channel == "telegram" {
                            Delivery::Telegram(telegram.text_update(user, text))
                        } else {
                            let (user, msg_id) = (format!("zu-{i}"), format!("m{i}-{n}"));
                            Delivery::Zalo(event("user_send_text", &user, Some(text), &msg_id))
                        }
                    });
                    let deliveries: Vec<_> = deliveries.collect();
                    futures_util::future::join_all(deliveries.into_iter().map(|d| lb.deliver(d)))
                        .await;
                }
            }));
        }
    }
    for r in respondents {
        r.await.unwrap();
    }
    lb.redeliver_late().await;
    // Zalo's events were acknowledged before they were handled.
    for m in &registries {
        tokio::time::timeout(std::time::Duration::from_secs(30), m.wait_replies_settled())
            .await
            .expect("every event handled and reply delivered");
    }

    // Every ballot stored once, with the answers in the order they were typed.
    surveys[0].mix(true).await.unwrap();
    let ballots = stores[1].ballots().await.unwrap();
    assert_eq!(ballots.len(), 2 * RESPONDENTS, "ballots lost or doubled");
    assert!(matches!(verify(&ballots), Verdict::Intact { .. }));
    for (channel, i, answers) in &expected {
        let wish = Answer::Text(format!("Ý kiến {channel} số {i}"));
        let found: Vec<_> = ballots
            .iter()
            .filter(|b| b.ballot.answers.get("mong-muon") == Some(&wish))
            .collect();
        assert_eq!(found.len(), 1, "{channel} respondent {i}");
        assert_eq!(
            &found[0].ballot.answers, answers,
            "{channel} respondent {i}"
        );
    }

    // Each update answered once: no question asked twice, one receipt each.
    let check_replies = |who: &str, texts: Vec<String>, receipt_of: &dyn Fn(&str) -> bool| {
        for k in 1..=14 {
            let asked = texts
                .iter()
                .filter(|t| t.contains(&format!("Câu {k}/14")))
                .count();
            assert!(asked <= 1, "{who}: question {k} was asked {asked} times");
        }
        let receipts: Vec<_> = texts
            .iter()
            .filter(|t| t.contains("Mã biên nhận"))
            .collect();
        assert_eq!(receipts.len(), 1, "{who}: {receipts:?}");
        assert!(receipt_of(receipts[0]), "{who}: {}", receipts[0]);
    };
    let has_stored_receipt = |text: &str| ballots.iter().any(|b| text.contains(&b.ballot.receipt));
    for i in 0..RESPONDENTS {
        let chat = 7000 + i as i64;
        let texts = telegram
            .sent()
            .into_iter()
            .filter(|s| s.chat == chat)
            .map(|s| s.text)
            .collect();
        check_replies(&format!("telegram {i}"), texts, &has_stored_receipt);
    }
    // Zalo replies go out through each instance's queue: a graceful stop
    // delivers what is queued.
    for (stop, task) in running {
        let _ = stop.send(());
        task.await.unwrap().unwrap();
    }
    let user = |i: usize| format!("zu-{i}");
    let sent = zalo.lock().unwrap().sent.clone();
    for i in 0..RESPONDENTS {
        let texts = sent
            .iter()
            .filter(|s| s.user == user(i))
            .map(|s| s.text.clone())
            .collect();
        check_replies(&format!("zalo {i}"), texts, &has_stored_receipt);
    }
    db.drop_db().await;
}

/// Zalo's refresh token can be used once. When the access token expires,
/// two instances sending at the same moment must not both spend it: one
/// refreshes, the other takes the new access token from the database, and
/// both messages go out.
async fn two_instances_refresh_the_zalo_token_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let (zalo, zalo_url) = fake_zalo::start().await;
    let key = Key::generate();
    let mut clients = Vec::new();
    for _ in 0..2 {
        let store = khaosat::store::Store::open(&db.url).await.unwrap();
        let config = fake_zalo::config(&zalo_url, "expired-at-start");
        clients.push(
            khaosat::zalo::ZaloClient::new(config, store, key.clone())
                .await
                .unwrap(),
        );
    }
    for round in 0..3 {
        // Each round the fake expires the access token first.
        zalo.lock().unwrap().valid_access = format!("gone-{round}");
        let (ta, tb) = (format!("a{round}"), format!("b{round}"));
        let (a, b) = tokio::join!(
            clients[0].send_text("u-a", &ta),
            clients[1].send_text("u-b", &tb)
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(
            zalo.lock().unwrap().refreshes,
            round + 1,
            "one refresh a round"
        );
    }
    assert_eq!(zalo.lock().unwrap().sent.len(), 6);
    db.drop_db().await;
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        postgres two_instances_on_one_database_behave_as_one,
        postgres two_instances_refresh_the_zalo_token_once,
    ]
}
