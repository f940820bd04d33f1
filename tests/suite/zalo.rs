//! The Zalo bridge over real HTTP: signed webhook calls in, and the real
//! client talking to a fake Zalo OA API server on 127.0.0.1.

use std::time::Duration;

use khaosat::zalo::{MAX_MESSAGE_CHARS, signature};

use crate::fake_zalo::{
    self, APP_ID, HARNESS_STAMP, OA_SECRET, Sent, Shared, event, event_at, signature_header,
};
use crate::helpers::{Backend, Harness, small_campaign_dir};

/// The service with the Zalo bridge, and a fake Zalo.
struct Setup {
    h: Harness,
    base: String,
    fake: Shared,
    http: reqwest::Client,
}

/// `access` is the token the service starts with; the fake accepts `at-0`.
async fn setup(mut h: Harness, access: &str) -> Setup {
    let (fake, fake_url) = fake_zalo::start().await;
    let base = h
        .serve(|s| fake_zalo::configure(s, &fake_url, access))
        .await;
    Setup {
        h,
        base,
        fake,
        http: reqwest::Client::new(),
    }
}

impl Setup {
    /// Waits until every event acknowledged so far has been handled and
    /// every reply queued delivered (or given up on).
    async fn settled(&self) {
        tokio::time::timeout(
            Duration::from_secs(10),
            self.h.metrics.wait_replies_settled(),
        )
        .await
        .expect("the events handled and the replies delivered");
    }

    /// Posts a signed event; returns the HTTP status.
    async fn post(&self, body: &str) -> u16 {
        self.post_with(body, Some(&signature_header(body))).await
    }

    async fn post_with(&self, body: &str, header: Option<&str>) -> u16 {
        let mut req = self
            .http
            .post(format!("{}/zalo/webhook", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(h) = header {
            req = req.header("X-ZEvent-Signature", h);
        }
        req.send().await.unwrap().status().as_u16()
    }

    async fn text(&self, user: &str, text: &str, msg_id: &str) -> u16 {
        self.post(&event("user_send_text", user, Some(text), msg_id))
            .await
    }

    /// What `user` has received so far.
    fn received(&self, user: &str) -> Vec<Sent> {
        let f = self.fake.lock().unwrap();
        f.sent.iter().filter(|s| s.user == user).cloned().collect()
    }

    /// `user` sends `text` (a tap sends the button's payload as text); the
    /// messages this brought them, once delivered.
    async fn say(&self, user: &str, text: &str, msg_id: &str) -> Vec<Sent> {
        let before = self.received(user).len();
        assert_eq!(self.text(user, text, msg_id).await, 200);
        self.settled().await;
        self.received(user).split_off(before)
    }

    /// Waits for the queued replies; returns every message the fake has
    /// received, which must be at least `n`.
    async fn sent(&self, n: usize) -> Vec<Sent> {
        self.settled().await;
        let sent = self.fake.lock().unwrap().sent.clone();
        assert!(
            sent.len() >= n,
            "expected {n} messages, got {}: {:#?}",
            sent.len(),
            sent.iter().map(|s| &s.text).collect::<Vec<_>>()
        );
        sent
    }

    fn last(&self) -> String {
        self.fake
            .lock()
            .unwrap()
            .sent
            .last()
            .map(|s| s.text.clone())
            .unwrap_or_default()
    }
}

/// The payload of the button of `message` whose title starts with `title`.
fn button(message: &Sent, title: &str) -> String {
    message
        .buttons
        .iter()
        .find(|(t, _)| t.starts_with(title))
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| {
            panic!(
                "no button “{title}” under {:?}: {:?}",
                message.text, message.buttons
            )
        })
}

fn joined(sent: &[Sent]) -> String {
    sent.iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn a_citizen_ballot_over_zalo(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let z = setup(h, "at-0").await;
    let token = z.h.token("nguoi-dan", &["binh-an"]).await;
    assert_eq!(z.post(&event("follow", "zu-1", None, "")).await, 200);
    // The greeting says who else reads this chat, and opens the web chat
    // (where only the ballot box sees the answers) instead.
    let hello = z.sent(1).await[0].clone();
    assert!(hello.text.contains("xin gõ mã phiếu"));
    assert!(
        hello.text.contains("hiện lên cho người quản trị"),
        "{}",
        hello.text
    );
    assert_eq!(
        hello.buttons,
        [("Trả lời trên trang web".to_string(), z.base.clone())]
    );
    // Typed by hand, with spaces and lower case: the introduction (with
    // its link to the web chat), then the first question, its options as
    // buttons too.
    let typed = token.display().to_lowercase().replace('-', " ");
    let first = z.say("zu-1", &typed, "m1").await;
    assert_eq!(first.len(), 2, "{:#?}", first);
    let q1 = &first[1];
    assert!(
        q1.text.contains("Câu 1/14") && q1.text.contains("1. Rất không hài lòng"),
        "{}",
        q1.text
    );
    assert!(q1.text.contains("gõ số 1–5"), "{}", q1.text);
    assert_eq!(q1.buttons.len(), 5);
    // Half by tapping, half by typing, one of them without diacritics.
    let mut last = q1.clone();
    for (i, tap) in ["4", "5", "4", "4", "5", "5"].iter().enumerate() {
        let got = z
            .say("zu-1", &button(&last, &format!("{tap}.")), &format!("t{i}"))
            .await;
        last = got.last().unwrap().clone();
        assert!(
            last.text.contains(&format!("Câu {}/14", i + 2)),
            "{}",
            last.text
        );
    }
    // A tap on a button of an older message is refused and changes nothing.
    let stale = z.say("zu-1", &button(q1, "3."), "stale").await;
    assert!(
        joined(&stale).contains("thuộc một tin nhắn trước"),
        "{}",
        joined(&stale)
    );
    assert!(stale.last().unwrap().text.contains("Câu 7/14"));
    // So is one that was not ours.
    let forged = z.say("zu-1", "#ks:1:zz", "forged").await;
    assert!(
        joined(&forged).contains("Nút này không hợp lệ"),
        "{}",
        joined(&forged)
    );
    for (i, a) in ["4", "4", "3", "4", "bỏ qua", "hai long", "bo qua"]
        .iter()
        .enumerate()
    {
        last = z.say("zu-1", a, &format!("a{i}")).await.pop().unwrap();
    }
    // The review says first how to send, and its answers do not read as
    // options: a number typed out of habit is not taken as "change it".
    let review = last;
    assert!(
        review.text.starts_with("Gõ “gửi” để gửi phiếu")
            && review
                .text
                .contains("Câu 12 · Mức độ hài lòng chung: Hài lòng")
            && !review.text.contains("\n12. ")
            && !review.text.to_lowercase().contains("bấm"),
        "{}",
        review.text
    );
    assert_eq!(review.buttons[0].0, "✔ Gửi phiếu");
    let again = z.say("zu-1", "4", "habit").await;
    assert!(
        joined(&again).contains("Phiếu chưa được gửi"),
        "{}",
        joined(&again)
    );
    let sent = z
        .say(
            "zu-1",
            &button(again.last().unwrap(), "✔ Gửi phiếu"),
            "send",
        )
        .await;
    let done = joined(&sent);
    assert!(done.contains("Mã biên nhận"), "{done}");
    let all = z.received("zu-1");
    assert!(
        all.iter()
            .all(|s| s.token == "at-0" && s.text.chars().count() <= MAX_MESSAGE_CHARS)
    );
    let ballots = z.h.ballots().await;
    assert_eq!(ballots.len(), 1);
    assert!(done.contains(&ballots[0].ballot.receipt));
    assert_eq!(
        ballots[0].ballot.answers.get("de-hieu"),
        Some(&khaosat::dialogue::Answer::Choice(5))
    );
    z.h.finish().await;
}

/// A ballot begun on Zalo goes on in the web chat through the one-time
/// link under the introduction; the Zalo chat then holds nothing more.
async fn a_ballot_begun_on_zalo_continues_in_the_web_chat(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let mut z = setup(h, "at-0").await;
    let token = z.h.token("nguoi-dan", &["binh-an"]).await;
    let first = z.say("zu-h", token.as_str(), "h1").await;
    assert_eq!(
        first.len(),
        2,
        "the introduction with its link, then the question"
    );
    assert!(
        first[0].text.contains("trả lời tiếp trên trang web"),
        "{}",
        first[0].text
    );
    let (title, link) = &first[0].buttons[0];
    assert_eq!(title, "Trả lời tiếp trên trang web");
    let code = link
        .strip_prefix(&format!("{}/#h=", z.base))
        .unwrap_or_else(|| panic!("{link}"))
        .to_string();
    assert!(first[1].text.contains("Câu 1/14") && first[1].buttons.len() == 5);
    z.say("zu-h", "4", "h2").await;
    z.say("zu-h", "5", "h3").await;

    let browser = crate::web::client();
    let web = |kind: &'static str, value: String| {
        let (browser, base) = (browser.clone(), z.base.clone());
        async move { crate::web::text(&crate::web::post(&browser, &base, kind, &value).await) }
    };
    let moved = web("handover", code.clone()).await;
    assert!(
        moved.contains("đã được chuyển sang trang này") && moved.contains("Câu 3/14"),
        "{moved}"
    );
    // The answers given on Zalo came along.
    let back = web("text", "quay lại".into()).await;
    assert!(
        back.contains("Câu trả lời hiện tại: Rất hài lòng"),
        "{back}"
    );
    // The Zalo account no longer has the ballot.
    let after = z.say("zu-h", "4", "h4").await;
    assert!(
        after[0].text.contains("xin gõ mã phiếu"),
        "{}",
        after[0].text
    );
    // The link works once; a made-up one not at all; an old one is expired.
    let again = crate::web::post(&crate::web::client(), &z.base, "handover", &code).await;
    assert!(
        again.replies[0].text.contains("đã được dùng"),
        "{:?}",
        again.replies[0].text
    );
    assert!(web("handover", "abc".into()).await.contains("không đúng"));
    z.h.set_time("2021-02-02T10:00:00");
    assert!(web("handover", code.clone()).await.contains("đã hết hạn"));
    // The rest on the web, to the receipt.
    z.h.set_time("2021-02-01T09:30:00");
    let mut last = back;
    for _ in 0..20 {
        if last.contains("Mã biên nhận") {
            break;
        }
        let answer = if last.contains("xem lại") {
            "gửi"
        } else if last.contains("Gõ câu trả lời") {
            "bỏ qua"
        } else {
            "4"
        };
        last = web("text", answer.into()).await;
    }
    assert!(last.contains("Mã biên nhận"), "{last}");
    assert_eq!(z.h.ballots().await.len(), 1);
    z.base.clear();
    z.h.finish().await;
}

/// `KHAOSAT_ZALO_BUTTONS=0`: numbered text only, and it is enough.
async fn buttons_can_be_turned_off(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let (fake, fake_url) = fake_zalo::start().await;
    let base = h
        .serve(|s| {
            fake_zalo::configure(s, &fake_url, "at-0");
            s.zalo.buttons = 0;
        })
        .await;
    let z = Setup {
        h,
        base,
        fake,
        http: reqwest::Client::new(),
    };
    let token = z.h.token("nguoi-dan", &["binh-an"]).await;
    let first = z.say("zu-off", token.as_str(), "m1").await;
    assert!(first.iter().all(|s| s.buttons.is_empty()));
    assert!(first.last().unwrap().text.contains("Trả lời 1–5 (gõ số)."));
    // The link to the web chat is written out instead.
    assert!(
        first[0].text.contains(&format!("{}/#h=", z.base)),
        "{}",
        first[0].text
    );
    z.h.finish().await;
}

async fn a_bad_signature_is_refused_and_changes_nothing(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let z = setup(h, "at-0").await;
    let token = z.h.token("nguoi-dan", &["binh-an"]).await;
    let body = event("user_send_text", "zu-2", Some(token.as_str()), "m1");
    let good = signature(
        APP_ID,
        body.as_bytes(),
        &fake_zalo::HARNESS_STAMP.to_string(),
        OA_SECRET,
    );
    assert_eq!(z.post_with(&body, None).await, 401);
    assert_eq!(z.post_with(&body, Some("mac=00ff")).await, 401);
    assert_eq!(
        z.post_with(
            &body,
            Some(&format!(
                "mac={}",
                signature(
                    APP_ID,
                    body.as_bytes(),
                    &fake_zalo::HARNESS_STAMP.to_string(),
                    "guess"
                )
            ))
        )
        .await,
        401
    );
    let tampered = body.replace("zu-2", "zu-3");
    assert_eq!(
        z.post_with(&tampered, Some(&format!("mac={good}"))).await,
        401
    );
    assert_eq!(
        z.post_with("not json", Some(&format!("mac={good}"))).await,
        401
    );
    z.settled().await;
    assert!(z.fake.lock().unwrap().sent.is_empty());
    let sessions: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) FROM sessions")
            .fetch_one(&z.h.raw_pool().await)
            .await
            .unwrap(),
        0,
    );
    assert_eq!(sessions, 0);
    // The same body with the right signature goes through.
    assert_eq!(z.post_with(&body, Some(&format!("mac={good}"))).await, 200);
    assert!(z.sent(2).await[1].text.contains("Câu 1/14"));
    z.h.finish().await;
}

async fn a_redelivered_msg_id_changes_nothing(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let z = setup(h, "at-0").await;
    let token = z.h.token("nguoi-dan", &["binh-an"]).await;
    z.say("zu-4", token.as_str(), "m1").await;
    assert_eq!(z.say("zu-4", "4", "m2").await.len(), 1);
    assert!(
        z.say("zu-4", "4", "m2").await.is_empty(),
        "no reply to a redelivery"
    );
    assert!(
        z.say("zu-4", "4", "m2").await.is_empty(),
        "no reply to a redelivery"
    );
    let back = z.say("zu-4", "quay lại", "m3").await.pop().unwrap().text;
    assert!(
        back.contains("Câu 1/14") && back.contains("Câu trả lời hiện tại: Hài lòng"),
        "{back}"
    );
    z.h.finish().await;
}

async fn an_expired_token_is_refreshed_and_the_message_resent(backend: Backend) {
    let h = Harness::shipped(backend).await;
    // The service starts with an access token Zalo no longer accepts.
    let z = setup(h, "expired").await;
    assert_eq!(z.post(&event("follow", "zu-5", None, "")).await, 200);
    let sent = z.sent(1).await;
    assert_eq!(sent[0].token, "at-1");
    assert_eq!(z.fake.lock().unwrap().refreshes, 1);
    // The new single-use refresh token was stored.
    // Sealed under the service's key: the database alone does not hand
    // over the OA.
    let stored = z.h.store().platform_tokens("zalo").await.unwrap().unwrap();
    let open = |s: &str| String::from_utf8(z.h.key.open(s).unwrap()).unwrap();
    assert_eq!(open(&stored.refresh_token), "rt-1");
    assert_eq!(open(stored.access_token.as_deref().unwrap()), "at-1");
    assert!(!stored.refresh_token.contains("rt-1"));
    // Later sends use the new token without refreshing again.
    z.post(&event("follow", "zu-6", None, "")).await;
    assert_eq!(z.sent(2).await[1].token, "at-1");
    assert_eq!(z.fake.lock().unwrap().refreshes, 1);
    // A shutdown waits for queued replies.
    z.fake.lock().unwrap().script.extend([-32, -32]);
    z.post(&event("follow", "zu-10", None, "")).await;
    z.settled().await;
    assert_eq!(
        z.fake.lock().unwrap().sent.len(),
        3,
        "delivered before drain returned"
    );
    z.h.finish().await;
}

async fn a_token_refused_again_after_a_refresh_is_not_dropped(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let z = setup(h, "at-0").await;
    // The token is refused three times in a row — it expires again while
    // the send is under way (as when it waits out a rate limit): the reply
    // waits for a token that works rather than being given up.
    z.fake.lock().unwrap().script.extend([-216, -216, -216]);
    assert_eq!(z.post(&event("follow", "zu-11", None, "")).await, 200);
    let sent = z.sent(1).await;
    assert_eq!(sent[0].user, "zu-11");
    assert!(z.fake.lock().unwrap().refreshes >= 2);
    z.h.finish().await;
}

/// Staff on Zalo: a staff token enrols the account, once; then progress,
/// closing and reopening work in the chat, and the same words from anyone
/// else are only words.
async fn staff_run_the_campaign_from_zalo(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let z = setup(h, "at-0").await;
    let staff_token = khaosat::token::Token::generate(&mut rand::rng());
    let id =
        z.h.store()
            .add_staff("Chị Lan, Phòng Nội vụ", &staff_token.hash(&z.h.key), 0)
            .await
            .unwrap();
    let printed = khaosat::survey::staff::display(&staff_token);
    let text = |sent: Vec<Sent>| {
        sent.iter()
            .map(|s| s.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };

    // Not staff yet: refused politely, nothing shown.
    let refused = text(z.say("zs-1", "tiến độ", "s1").await);
    assert!(
        refused.contains("chỉ dành cho cán bộ phụ trách") && !refused.contains("Tiến độ khảo sát"),
        "{refused}"
    );
    let enrolled = text(z.say("zs-1", &printed.to_lowercase(), "s2").await);
    assert!(
        enrolled.contains("Đồng chí Chị Lan, Phòng Nội vụ đã được ghi nhận"),
        "{enrolled}"
    );
    // Someone Zalo would not let the OA reach: staff see them counted.
    z.h.store()
        .record_undeliverable("zalo", "someone", "no_interaction_7_days", 0)
        .await
        .unwrap();
    let progress = text(z.say("zs-1", "tien do", "s3").await);
    assert!(
        progress.contains("Không gửi được tin trả lời") && progress.contains("quá 7 ngày"),
        "{progress}"
    );
    assert!(
        progress.contains("Tiến độ khảo sát") && progress.contains("Tổng: 0/1100 phiếu"),
        "{progress}"
    );
    let unit = text(z.say("zs-1", "tiến độ binh-an", "s4").await);
    assert!(
        unit.contains("UBND xã Bình An") && unit.contains("còn thiếu 20"),
        "{unit}"
    );
    // The token works once: another account cannot take it.
    assert!(text(z.say("zs-2", &printed, "s5").await).contains("đã được dùng"));
    assert!(!text(z.say("zs-2", "tiến độ", "s6").await).contains("Tiến độ khảo sát"));

    // Before close the report is progress only.
    assert!(text(z.say("zs-1", "báo cáo", "s7").await).contains("chưa kết thúc"));
    // Closing from the chat: a citizen is refused at once.
    let token = z.h.token("nguoi-dan", &["binh-an"]).await;
    let closed = text(z.say("zs-1", "đóng khảo sát Đủ phiếu", "s8").await);
    assert!(
        closed.contains("được đóng lúc 01/02/2021 09:00 (bởi cán bộ phụ trách). Lý do: Đủ phiếu."),
        "{closed}"
    );
    let refused = text(z.say("zc-1", token.as_str(), "c1").await);
    assert!(refused.contains("Đợt khảo sát đã kết thúc"), "{refused}");
    // After close, the results as links the web chat serves for a day.
    let links = text(z.say("zs-1", "báo cáo", "s9").await);
    let link = |name: &str| {
        links
            .split_whitespace()
            .find(|w| w.starts_with(&z.base) && w.ends_with(name))
            .unwrap_or_else(|| panic!("no link to {name}: {links}"))
            .to_string()
    };
    let page = z.http.get(link("bao-cao.html")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("UBND xã Bình An"));
    let workbook = z.http.get(link("bao-cao.xlsx")).send().await.unwrap();
    assert!(
        workbook.bytes().await.unwrap().starts_with(b"PK"),
        "a workbook"
    );
    let guessed = z
        .http
        .get(format!("{}/bao-cao/00ff/bao-cao.html", z.base))
        .send()
        .await
        .unwrap();
    assert_eq!(guessed.status(), 404);
    let reopened = text(z.say("zs-1", "mở lại 28/02/2021 Gia hạn", "s10").await);
    assert!(
        reopened.contains("mở lại lúc 01/02/2021 09:00, đến 28/02/2021 23:59"),
        "{reopened}"
    );
    assert!(text(z.say("zc-1", token.as_str(), "c2").await).contains("Câu 1/14"));
    // Inside a ballot the same words are the citizen's answer, never a refusal.
    let answer = text(z.say("zc-1", "tiến độ", "c3").await);
    assert!(
        !answer.contains("chỉ dành cho cán bộ") && answer.contains("Câu 1/14"),
        "{answer}"
    );

    // Removed: the account is no longer staff.
    assert!(z.h.store().remove_staff(id, 1).await.unwrap());
    assert!(!text(z.say("zs-1", "tiến độ", "s11").await).contains("Tiến độ khảo sát"));
    z.h.finish().await;
}

/// On Zalo a reminder comes after a day, inside the window in which the
/// OA may still write; someone idle for longer is not written to.
async fn zalo_reminders_stay_inside_the_window(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let z = setup(h, "at-0").await;
    // Events stamped at the harness's time, as Zalo would stamp them.
    let begin = async |user: &str, id: &str| {
        let token = z.h.token("nguoi-dan", &["binh-an"]).await;
        let stamp = z.h.survey.now().timestamp_millis();
        let body = event_at("user_send_text", user, Some(token.as_str()), id, stamp);
        assert_eq!(z.post(&body).await, 200);
        z.settled().await;
        assert!(z.received(user).last().unwrap().text.contains("Câu 1/14"));
    };
    begin("zr-1", "r1").await;
    z.h.set_time("2021-02-01T15:00:00");
    begin("zr-2", "r2").await;
    // 2 February, 16:00: zr-2 has been idle 25 hours, zr-1 31.
    z.h.set_time("2021-02-02T16:00:00");
    assert_eq!(z.h.survey.send_reminders().await.unwrap(), 2);
    z.settled().await;
    assert!(
        z.received("zr-2")
            .last()
            .unwrap()
            .text
            .contains("còn dang dở")
    );
    // A third, idle 50 hours by the next morning: past the window, nothing.
    z.h.set_time("2021-02-02T07:00:00");
    begin("zr-3", "r3").await;
    z.h.set_time("2021-02-04T09:00:00");
    assert_eq!(z.h.survey.send_reminders().await.unwrap(), 0);
    z.h.finish().await;
}

async fn rate_limits_are_retried_and_stale_users_recorded(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let z = setup(h, "at-0").await;
    z.fake.lock().unwrap().script.extend([-32, -32]);
    z.post(&event("follow", "zu-7", None, "")).await;
    z.sent(1).await;
    assert_eq!(
        z.fake.lock().unwrap().attempts,
        3,
        "two rate-limited attempts, then delivered"
    );
    // A user outside Zalo's 7-day window: recorded once, not retried.
    z.fake.lock().unwrap().script.push_back(-230);
    z.post(&event("follow", "zu-8", None, "")).await;
    z.settled().await;
    let recorded: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) FROM undeliverable")
            .fetch_one(&z.h.raw_pool().await)
            .await
            .unwrap(),
        0,
    );
    assert_eq!(recorded, 1);
    assert_eq!(z.fake.lock().unwrap().attempts, 4);
    // Unknown events are acknowledged and ignored.
    assert_eq!(
        z.post(&event("user_seen_message", "zu-7", None, "")).await,
        200
    );
    assert_eq!(
        z.post(&event("oa_send_text", "zu-7", Some("x"), "o1"))
            .await,
        200
    );
    // A sticker gets a polite reply.
    z.post(&event("user_send_sticker", "zu-7", Some(""), "s1"))
        .await;
    assert!(
        z.sent(2).await[1]
            .text
            .contains("chỉ đọc được tin nhắn chữ")
    );
    z.h.finish().await;
}

async fn long_messages_are_split_for_zalo(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    for f in ["campaign.toml", "can-bo.toml", "dan.toml"] {
        std::fs::copy(small_campaign_dir().join(f), dir.path().join(f)).unwrap();
    }
    let long = "Kính chào ông/bà, đây là kênh khảo sát của huyện. ".repeat(60);
    let path = dir.path().join("campaign.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "enforce_quotas = true",
            &format!("enforce_quotas = true\n\n[messages]\nwelcome = \"{long}\""),
        ),
    )
    .unwrap();
    let h = Harness::new(backend, dir.path().to_path_buf()).await;
    let z = setup(h, "at-0").await;
    z.post(&event("follow", "zu-9", None, "")).await;
    let sent = z.sent(2).await;
    assert!(
        sent.iter()
            .all(|s| s.text.chars().count() <= MAX_MESSAGE_CHARS)
    );
    let joined: String = sent
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    // Every word of the long welcome arrives, in order (the welcome then
    // mentions answering without a token: this campaign has an open group).
    let got: Vec<&str> = joined.split_whitespace().collect();
    let want: Vec<&str> = long.split_whitespace().collect();
    assert_eq!(&got[..want.len()], &want[..]);
    assert!(z.last().contains("Không có mã phiếu?"));
    z.h.finish().await;
}

/// An event stamped outside the window — a replay, even after its message
/// id was forgotten — is acknowledged (Zalo stops retrying) and changes
/// nothing.
async fn old_and_replayed_events_change_nothing(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let z = setup(h, "at-0").await;
    let token = z.h.token("nguoi-dan", &["binh-an"]).await;
    let minute = 60_000;
    for stamp in [HARNESS_STAMP - 11 * minute, HARNESS_STAMP + 11 * minute] {
        let body = event_at("user_send_text", "zu-w", Some(token.as_str()), "w1", stamp);
        assert_eq!(z.post(&body).await, 200);
    }
    z.settled().await;
    assert!(z.received("zu-w").is_empty(), "nothing handled");
    // Inside the window it goes through.
    let body = event_at(
        "user_send_text",
        "zu-w",
        Some(token.as_str()),
        "w1",
        HARNESS_STAMP - 9 * minute,
    );
    assert_eq!(z.post(&body).await, 200);
    z.settled().await;
    assert!(z.received("zu-w")[1].text.contains("Câu 1/14"));
    let first = z.say("zu-w", "4", "w2").await;
    assert!(first[0].text.contains("Câu 2/14"));
    // Four days on, the message ids are forgotten; a replay of "4" would
    // answer question 2 — but it is stamped four days ago.
    z.h.set_time("2021-02-05T09:00:00");
    assert!(z.h.survey.forget_old_message_ids().await.unwrap() >= 2);
    let replay = event("user_send_text", "zu-w", Some("4"), "w2");
    assert_eq!(z.post(&replay).await, 200);
    z.settled().await;
    assert_eq!(z.received("zu-w").len(), 3, "the replay changed nothing");
    z.h.finish().await;
}

/// Each of Zalo's "cannot be reached" answers is recorded for staff with
/// its reason and not retried; a rate limit is retried.
async fn unreachable_users_are_recorded_with_the_reason(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let z = setup(h, "at-0").await;
    let reasons = [
        (-213, "not_a_follower"),
        (-227, "user_banned_or_inactive"),
        (-230, "no_interaction_7_days"),
        (-232, "no_interaction_in_window"),
        (-244, "user_blocked_this_message_type"),
    ];
    for (i, (code, _)) in reasons.iter().enumerate() {
        z.fake.lock().unwrap().script.push_back(*code);
        z.post(&event("follow", &format!("zu-r{i}"), None, ""))
            .await;
        z.settled().await;
    }
    assert_eq!(
        z.fake.lock().unwrap().attempts,
        reasons.len() as u32,
        "none retried"
    );
    let recorded: Vec<String> = sqlx::query("SELECT reason FROM undeliverable ORDER BY reason")
        .fetch_all(&z.h.raw_pool().await)
        .await
        .unwrap()
        .iter()
        .map(|r| sqlx::Row::get(r, 0))
        .collect();
    let mut expected: Vec<String> = reasons.iter().map(|(_, r)| r.to_string()).collect();
    expected.sort();
    assert_eq!(recorded, expected);
    // Staff see them counted in the progress (nobody named).
    let progress = z.h.survey.progress().await.unwrap();
    let text = khaosat::progress::overview(z.h.survey.campaign(), &progress, z.h.survey.now());
    assert!(
        text.contains("Không gửi được tin trả lời")
            && text.contains("Zalo — quá 7 ngày không nhắn cho OA: 1 người")
            && text.contains("Zalo — đã chặn loại tin nhắn này: 1 người"),
        "{text}"
    );
    z.h.finish().await;
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sqlite unreachable_users_are_recorded_with_the_reason,
        sqlite a_citizen_ballot_over_zalo,
        sqlite buttons_can_be_turned_off,
        sqlite a_ballot_begun_on_zalo_continues_in_the_web_chat,
        sqlite old_and_replayed_events_change_nothing,
        sqlite a_bad_signature_is_refused_and_changes_nothing,
        sqlite a_redelivered_msg_id_changes_nothing,
        sqlite an_expired_token_is_refreshed_and_the_message_resent,
        sqlite a_token_refused_again_after_a_refresh_is_not_dropped,
        both staff_run_the_campaign_from_zalo,
        sqlite zalo_reminders_stay_inside_the_window,
        sqlite rate_limits_are_retried_and_stale_users_recorded,
        sqlite long_messages_are_split_for_zalo,
    ]
}
