//! A campaign on Zalo from end to end: 200 citizens and 3 leaders with 22
//! communes each, against the fake Zalo server, over signed webhooks —
//! half tapping buttons, half typing (some without diacritics), leaders
//! typing whole units as rows of digits or area by area, in two sittings —
//! with redelivered events, forged signatures, expiring access tokens and
//! rate limits switched on. Every ballot is stored once, with the answers
//! the review showed, and every event is answered by one message — two for
//! the token: the introduction with its link to the web chat, then the
//! question (Zalo allows 8 per user message).

use std::time::Duration;

use khaosat::dialogue::Dialogue;
use rand::{Rng, SeedableRng};

use crate::fake_zalo::{self, Sent, Shared, event, signature_header};
use crate::helpers::{Backend, Harness, communes};

const CITIZENS: usize = 200;
const LEADERS: usize = 3;

/// One Zalo user talking to the service over its webhook.
struct User {
    id: String,
    base: String,
    http: reqwest::Client,
    fake: Shared,
    /// Events sent that are not redeliveries.
    events: usize,
    /// Messages they brought: one each, two for the token (the
    /// introduction with its link to the web chat, then the question).
    expected: usize,
    rng: rand::rngs::StdRng,
}

impl User {
    fn received(&self) -> Vec<Sent> {
        let f = self.fake.lock().unwrap();
        f.sent
            .iter()
            .filter(|s| s.user == self.id)
            .cloned()
            .collect()
    }

    async fn post(&self, body: &str, signature: &str) -> u16 {
        self.http
            .post(format!("{}/zalo/webhook", self.base))
            .header("content-type", "application/json")
            .header("X-ZEvent-Signature", signature)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Sends `text` (a tap sends a payload) and waits for the one message
    /// it brings; now and then Zalo delivers the same event again, or
    /// someone posts a forged one.
    async fn say(&mut self, text: &str) -> Sent {
        self.say_expecting(text, 1).await
    }

    /// The same, for an event that brings `messages` messages; returns the last.
    async fn say_expecting(&mut self, text: &str, messages: usize) -> Sent {
        self.events += 1;
        self.expected += messages;
        let body = event(
            "user_send_text",
            &self.id,
            Some(text),
            &format!("{}-{}", self.id, self.events),
        );
        if self.rng.random_ratio(1, 20) {
            let forged = body.replacen(&self.id, "zx-forged", 1);
            assert_eq!(self.post(&forged, &signature_header(&body)).await, 401);
        }
        assert_eq!(self.post(&body, &signature_header(&body)).await, 200);
        if self.rng.random_ratio(1, 10) {
            assert_eq!(self.post(&body, &signature_header(&body)).await, 200);
        }
        let arrived = self.fake.lock().unwrap().arrived.clone();
        let wait = async {
            loop {
                let next = arrived.notified();
                tokio::pin!(next);
                next.as_mut().enable();
                let mine = self.received();
                if mine.len() >= self.expected {
                    return mine;
                }
                next.await;
            }
        };
        let mine = tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("{}: no reply to “{text}”", self.id));
        mine[self.expected - 1].clone()
    }

    /// Each event brought its message (two for the token), no more: no
    /// redelivery was answered, and no step came near Zalo's 8.
    fn answered_once_each(&self) {
        let got = self.received().len();
        assert_eq!(
            got, self.expected,
            "{}: {got} messages for {} events",
            self.id, self.events
        );
    }

    fn tap(message: &Sent, title: &str) -> Option<String> {
        message
            .buttons
            .iter()
            .find(|(t, _)| t.starts_with(title))
            .map(|(_, p)| p.clone())
    }
}

/// A citizen answers every question until the receipt; returns the review
/// they were shown and the receipt.
async fn citizen(mut u: User, token: String, taps: bool) -> (String, String) {
    let typed = if taps {
        token
    } else {
        token.to_lowercase().replace('-', " ")
    };
    let mut last = u.say_expecting(&typed, 2).await;
    let mut review = None;
    for _ in 0..40 {
        let t = last.text.clone();
        if t.contains("Mã biên nhận") {
            let receipt = t
                .split("Mã biên nhận: ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap()
                .trim_end_matches('.')
                .to_string();
            u.answered_once_each();
            return (review.expect("a review before the receipt"), receipt);
        }
        let next = if t.starts_with("Gõ “gửi” để gửi phiếu") {
            review = Some(t.clone());
            match (taps, User::tap(&last, "✔ Gửi phiếu")) {
                (true, Some(p)) => p,
                _ => "gui".to_string(),
            }
        } else if let (true, Some(p)) = (taps, User::tap(&last, "4.")) {
            p
        } else if t.contains("Trả lời 1–") || t.contains("gõ số 1–") {
            if taps { "4" } else { "hai long" }.to_string()
        } else if t.contains("Xin gõ một số") {
            "2".to_string()
        } else if let (true, Some(p)) = (taps, User::tap(&last, "Bỏ qua")) {
            p
        } else {
            "bỏ qua".to_string()
        };
        last = u.say(&next).await;
    }
    panic!("{} never finished; last: {}", u.id, last.text);
}

/// A leader rates the communes `units` (their positions): even ones as one
/// typed row, odd ones area by area, sending by button or by word; without
/// a token, it is a later sitting. Returns the reviews, in order.
async fn leader(u: &mut User, token: Option<&str>, units: std::ops::Range<usize>) -> Vec<String> {
    let mut last = match token {
        Some(t) => u.say_expecting(t, 2).await,
        // The next sitting: the leader writes again, and is shown where they were.
        None => u.say("tiếp tục").await,
    };
    let mut reviews = Vec::new();
    for unit in units {
        assert!(
            last.text.contains(&format!("({}/22)", unit + 1)),
            "{}: {}",
            u.id,
            last.text
        );
        if unit % 2 == 0 {
            last = u
                .say(&format!("{} 5 ? 4 3 {}", 1 + unit % 5, 1 + (unit + 2) % 5))
                .await;
        } else {
            for mark in ["4", "4", "5", "0", "3", "2"] {
                last = u.say(mark).await;
            }
        }
        assert!(last.text.starts_with("Gõ “gửi”"), "{}", last.text);
        reviews.push(last.text.clone());
        let send = match User::tap(&last, "✔ Gửi phiếu") {
            Some(p) if unit % 3 == 0 => p,
            _ => "gửi".to_string(),
        };
        last = u.say(&send).await;
        assert!(last.text.contains("Đã ghi nhận đánh giá"), "{}", last.text);
    }
    reviews
}

/// Whether a review lists every answer of a stored ballot.
fn review_shows(d: &Dialogue, review: &str, ballot: &khaosat::ballot::Ballot) -> bool {
    ballot.answers.iter().all(|(id, a)| {
        let q = &d.questions()[d.question_index(id).unwrap()];
        review.contains(&format!(" · {}: {}", q.short, d.describe(q, a)))
    })
}

async fn a_campaign_on_zalo_from_end_to_end(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let (fake, fake_url) = fake_zalo::start().await;
    {
        let mut f = fake.lock().unwrap();
        f.rate_limit_every = 37;
        f.expire_every = 250;
    }
    let base = h
        .serve(|s| fake_zalo::configure(s, &fake_url, "at-0"))
        .await;
    let communes = communes(&h.survey);
    let http = reqwest::Client::new();
    let user = |id: String, seed: u64| User {
        id,
        base: base.clone(),
        http: http.clone(),
        fake: fake.clone(),
        events: 0,
        expected: 0,
        rng: rand::rngs::StdRng::seed_from_u64(seed),
    };
    let mut citizens = Vec::new();
    for i in 0..CITIZENS {
        let token = h.token("nguoi-dan", &[&communes[i % 22]]).await;
        let u = user(format!("zc-{i}"), i as u64);
        let token = token.display();
        citizens.push(tokio::spawn(citizen(u, token, i % 2 == 0)));
    }
    let ids: Vec<&str> = communes.iter().map(String::as_str).collect();
    let mut leaders = Vec::new();
    for l in 0..LEADERS {
        let token = h.token("can-bo", &ids).await.display();
        let mut u = user(format!("zl-{l}"), 1000 + l as u64);
        leaders.push(tokio::spawn(async move {
            let first = leader(&mut u, Some(&token), 0..11).await;
            (u, first)
        }));
    }
    let mut citizen_reviews = Vec::new();
    for c in citizens {
        citizen_reviews.push(c.await.unwrap());
    }
    // The second sitting, once everyone else is done.
    let mut leader_reviews = Vec::new();
    for l in leaders {
        let (mut u, mut reviews) = l.await.unwrap();
        reviews.extend(leader(&mut u, None, 11..22).await);
        u.answered_once_each();
        leader_reviews.push(reviews);
    }
    tokio::time::timeout(Duration::from_secs(30), h.metrics.wait_replies_settled())
        .await
        .unwrap();

    // Every ballot once: as many as were finished, each receipt once.
    h.survey.mix(true).await.unwrap();
    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), CITIZENS + LEADERS * 22);
    let mut receipts: Vec<&str> = ballots.iter().map(|b| b.ballot.receipt.as_str()).collect();
    receipts.sort_unstable();
    receipts.dedup();
    assert_eq!(receipts.len(), ballots.len(), "a receipt twice");
    // With the answers the review showed.
    let dialogues = h.survey.campaign().dialogues();
    let dialogue = |id: &str| dialogues.iter().find(|d| d.id() == id).unwrap().clone();
    let citizen_d = dialogue("nguoi-dan");
    for (review, receipt) in &citizen_reviews {
        let b = ballots
            .iter()
            .find(|b| &b.ballot.receipt == receipt)
            .unwrap_or_else(|| panic!("no ballot with receipt {receipt}"));
        assert!(review_shows(&citizen_d, review, &b.ballot), "{review}");
    }
    let leader_d = dialogue("can-bo-danh-gia-xa");
    let leader_ballots: Vec<_> = ballots
        .iter()
        .filter(|b| b.ballot.group == "can-bo")
        .collect();
    assert_eq!(leader_ballots.len(), LEADERS * 22);
    for reviews in &leader_reviews {
        assert_eq!(reviews.len(), 22);
        for review in reviews {
            assert!(
                leader_ballots
                    .iter()
                    .any(|b| review_shows(&leader_d, review, &b.ballot)),
                "no ballot as reviewed: {review}"
            );
        }
    }
    // The hostile parts really happened, and nothing was lost to them.
    let (refreshes, attempts, sent) = {
        let f = fake.lock().unwrap();
        (f.refreshes, f.attempts, f.sent.len() as u32)
    };
    assert!(refreshes >= 5, "access tokens refreshed: {refreshes}");
    assert!(
        attempts > sent + 50,
        "rate limits hit: {attempts} attempts for {sent}"
    );
    h.finish().await;
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        both a_campaign_on_zalo_from_end_to_end,
    ]
}
