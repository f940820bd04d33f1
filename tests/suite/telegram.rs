//! The real teloxide bot against a fake Bot API server on loopback.

use std::sync::Arc;
use std::time::Duration;

use khaosat::dialogue::Answer;
use khaosat::metrics::Metrics;
use khaosat::secret::Secret;

use crate::fake_telegram::{FakeTelegram, Sent};
use crate::helpers::{Backend, Harness};

/// The service with the Telegram bot on (long polling) against the fake.
async fn start_bot(h: &mut Harness, fake: &FakeTelegram) {
    start_bot_with_staff(h, fake, Vec::new()).await;
}

async fn start_bot_with_staff(h: &mut Harness, fake: &FakeTelegram, staff: Vec<i64>) {
    h.serve(|s| {
        fake.configure(s);
        s.telegram.staff = staff;
    })
    .await;
}

/// A respondent in a private chat, following what the bot sends them.
struct Person<'a> {
    fake: &'a FakeTelegram,
    metrics: Arc<Metrics>,
    chat: i64,
    seen: usize,
}

impl<'a> Person<'a> {
    fn new(fake: &'a FakeTelegram, h: &Harness, chat: i64) -> Self {
        Self {
            fake,
            metrics: h.metrics.clone(),
            chat,
            seen: 0,
        }
    }

    /// Waits for the bot's next message(s) after an update.
    async fn replies(&mut self) -> Vec<Sent> {
        self.fake.wait_sent(self.chat, self.seen + 1).await;
        // A step may send more than one message: wait until the bot is
        // done with every update handed to it so far.
        settled(self.fake, &self.metrics).await;
        let all: Vec<Sent> = self
            .fake
            .sent()
            .into_iter()
            .filter(|s| s.chat == self.chat)
            .collect();
        let new = all[self.seen..].to_vec();
        self.seen = all.len();
        assert!(!new.is_empty());
        new
    }

    async fn say(&mut self, text: &str) -> String {
        self.fake.text(self.chat, text);
        join(&self.replies().await)
    }

    /// Presses the button labelled `label` on the last message that has buttons.
    async fn press(&mut self, label: &str) -> String {
        let sent: Vec<Sent> = self
            .fake
            .sent()
            .into_iter()
            .filter(|s| s.chat == self.chat)
            .collect();
        let m = sent
            .iter()
            .rev()
            .find(|s| !s.keyboard.is_empty())
            .expect("a message with buttons");
        let data = m
            .button(label)
            .unwrap_or_else(|| panic!("no button {label} in {:?}", m.keyboard));
        self.fake.press(self.chat, m.message_id, &data);
        join(&self.replies().await)
    }

    /// Taps option `n` on row `row` of the compact form, which is edited in place.
    async fn tap(&mut self, row: u16, n: u16) -> String {
        let sent: Vec<Sent> = self
            .fake
            .sent()
            .into_iter()
            .filter(|s| s.chat == self.chat)
            .collect();
        let m = sent
            .iter()
            .rev()
            .find(|s| !s.keyboard.is_empty())
            .expect("a message with buttons");
        let suffix = format!(":g{row}.{n}");
        let data = m
            .keyboard
            .iter()
            .flatten()
            .find(|(_, d)| d.ends_with(&suffix))
            .unwrap_or_else(|| panic!("no grid button {row}.{n} in {:?}", m.keyboard))
            .1
            .clone();
        let edits = self.fake.api.lock().unwrap().edits;
        let id = self.fake.press(self.chat, m.message_id, &data);
        self.fake.wait_delivered(id, 1).await;
        settled(self.fake, &self.metrics).await;
        assert!(
            self.fake.api.lock().unwrap().edits > edits,
            "the grid was not edited after tapping {row}.{n}"
        );
        let now: Vec<Sent> = self
            .fake
            .sent()
            .into_iter()
            .filter(|s| s.chat == self.chat)
            .collect();
        assert_eq!(
            now.len(),
            self.seen,
            "a tap edits the message; it sends no new one"
        );
        now.iter()
            .find(|s| s.message_id == m.message_id)
            .unwrap()
            .text
            .clone()
    }

    fn last(&self) -> Sent {
        self.fake
            .sent()
            .into_iter()
            .rfind(|s| s.chat == self.chat)
            .unwrap()
    }
}

/// Waits until the bot has finished every update `getUpdates` handed it.
async fn settled(fake: &FakeTelegram, metrics: &Metrics) {
    let delivered = fake.deliveries();
    tokio::time::timeout(
        Duration::from_secs(10),
        metrics.wait_updates_done(delivered),
    )
    .await
    .expect("the bot finishes the updates it was given");
    tokio::time::timeout(Duration::from_secs(10), metrics.wait_replies_settled())
        .await
        .expect("the replies to them are delivered");
}

fn join(sent: &[Sent]) -> String {
    sent.iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

async fn a_citizen_ballot_by_buttons_and_typing(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    start_bot(&mut h, &fake).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut p = Person::new(&fake, &h, 5001);
    // The deep link t.me/<bot>?start=<token> arrives as "/start <token>".
    let first = p.say(&format!("/start {}", token.as_str())).await;
    assert!(first.contains("Câu 1/14"), "{first}");
    let q = p.last();
    let labels: Vec<&str> = q
        .keyboard
        .iter()
        .flatten()
        .map(|(l, _)| l.as_str())
        .collect();
    assert_eq!(
        &labels[..5],
        [
            "Rất không hài lòng",
            "Không hài lòng",
            "Bình thường",
            "Hài lòng",
            "Rất hài lòng"
        ]
    );
    assert!(q.keyboard.iter().flatten().all(|(_, d)| d.len() <= 64));
    for k in 2..=6 {
        assert!(p.press("Hài lòng").await.contains(&format!("Câu {k}/14")));
    }
    for typed in ["4", "hai long", "Rất hài lòng", "5", "4"] {
        p.say(typed).await;
    }
    assert!(p.say("bỏ qua").await.contains("Câu 12/14"));
    p.press("Rất hài lòng").await;
    let review = p.press("Bỏ qua").await;
    assert!(
        review.contains("Xin ông/bà xem lại")
            && review.contains("12. Mức độ hài lòng chung — Rất hài lòng"),
        "{review}"
    );
    assert!(p.last().button("✎ 3").is_some(), "edit buttons as a grid");
    let done = p.press("Gửi phiếu").await;
    assert!(
        done.contains("Mã biên nhận") && done.contains("Xin chân thành cảm ơn"),
        "{done}"
    );

    let ballots = h.ballots().await;
    assert_eq!(ballots.len(), 1);
    assert!(done.contains(&ballots[0].ballot.receipt));
    assert_eq!(
        ballots[0].ballot.answers.get("tong-the"),
        Some(&Answer::Choice(5))
    );
    {
        let api = fake.api.lock().unwrap();
        assert_eq!(api.commands, ["start", "huongdan", "quaylai", "huy"]);
        assert_eq!(api.answered_callbacks.len(), 8, "every press is answered");
        assert_eq!(
            api.removed_keyboards.len(),
            8,
            "answered keyboards are removed"
        );
    }
    h.finish().await;
}

async fn a_leader_finishes_after_a_bot_restart(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    start_bot(&mut h, &fake).await;
    let token = h.token("can-bo", &["tu-phap", "noi-vu", "y-te"]).await;
    let mut p = Person::new(&fake, &h, 6001);
    let intro = p.say(&format!("/start {}", token.as_str())).await;
    assert!(intro.contains("Đơn vị 1/3: Phòng Nội vụ"), "{intro}");
    // The compact form: one message for the unit, six rows of options.
    let form = p.last();
    assert!(
        form.text.contains("Phòng Nội vụ (1/3)") && form.text.contains("4 = Tác động tích cực"),
        "{}",
        form.text
    );
    assert_eq!(form.keyboard.len(), 7, "six areas and a last row");
    let row: Vec<&str> = form.keyboard[0].iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(row, ["1.", "1", "2", "3", "4", "5", "?"]);
    // Areas in any order, each tap editing the same message.
    for area in [3, 1, 2, 6, 5] {
        p.tap(area, 4).await;
    }
    assert!(
        p.last().button("Gửi đánh giá").is_none(),
        "not before every area is rated"
    );
    let done = p.tap(4, 5).await;
    assert!(
        done.contains("4. Đội ngũ cán bộ, công chức, viên chức: Tác động rất tích cực"),
        "{done}"
    );
    assert!(done.contains("Đã đủ các lĩnh vực"), "{done}");
    let changed = p.tap(4, 6).await;
    assert!(
        changed.contains("viên chức: Không đánh giá được"),
        "{changed}"
    );
    let next = p.press("Gửi đánh giá").await;
    assert!(
        next.contains("Đã ghi nhận đánh giá về Phòng Nội vụ") && next.contains("Đơn vị 2/3"),
        "{next}"
    );
    p.tap(1, 3).await;
    p.tap(2, 6).await;

    // The bot process restarts in the middle of the second unit.
    h.restart().await;
    // The leader goes on with the form sent before the restart.
    let after = p.tap(3, 5).await;
    assert!(
        after.contains("1. Chỉ đạo, điều hành: Tác động vừa"),
        "{after}"
    );
    for area in 4..=6 {
        p.tap(area, 2).await;
    }
    p.press("Gửi đánh giá").await;
    // Typing works too, question by question.
    for _ in 0..6 {
        p.say("4").await;
    }
    let end = p.say("gửi").await;
    assert!(end.contains("đánh giá xong 3 đơn vị"), "{end}");
    let ballots = h.ballots().await;
    let of = |unit: &str| {
        &ballots
            .iter()
            .find(|b| b.ballot.unit == unit)
            .unwrap()
            .ballot
    };
    assert_eq!(
        of("noi-vu").answers.get("doi-ngu"),
        Some(&Answer::Choice(6))
    );
    assert_eq!(
        of("tu-phap").answers.get("to-chuc-bo-may"),
        Some(&Answer::Choice(5))
    );
    let mut units: Vec<&str> = ballots.iter().map(|b| b.ballot.unit.as_str()).collect();
    units.sort_unstable();
    assert_eq!(units, ["noi-vu", "tu-phap", "y-te"]);
    h.finish().await;
}

async fn the_same_update_twice_changes_nothing(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    start_bot(&mut h, &fake).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut p = Person::new(&fake, &h, 7001);
    p.say(&format!("/start {}", token.as_str())).await;
    // Capture an answer's update as Telegram would send it, then send it again.
    let update = fake.text_update(7001, "4");
    let id = update["update_id"].as_i64().unwrap();
    fake.redeliver(update.clone());
    assert!(join(&p.replies().await).contains("Câu 2/14"));
    fake.wait_confirmed(id).await;
    // Telegram hands the same update over again (as after a crash).
    fake.redeliver(update);
    fake.wait_delivered(id, 2).await;
    settled(&fake, &h.metrics).await;
    assert_eq!(
        fake.sent().iter().filter(|s| s.chat == 7001).count(),
        p.seen,
        "no reply to a redelivery"
    );
    let back = p.say("quay lại").await;
    assert!(
        back.contains("Câu 1/14") && back.contains("Câu trả lời hiện tại: Hài lòng"),
        "{back}"
    );
    h.finish().await;
}

async fn stale_forged_and_odd_input_get_polite_replies(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    start_bot(&mut h, &fake).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut p = Person::new(&fake, &h, 8001);
    assert!(p.say("/start").await.contains("xin gõ mã phiếu"));
    p.say(&token.display()).await;
    let first = p.last();
    p.press("Hài lòng").await;
    // A button of the first question, pressed late.
    fake.press(
        8001,
        first.message_id,
        &first.button("Bình thường").unwrap(),
    );
    let stale = join(&p.replies().await);
    assert!(
        stale.contains("thuộc một tin nhắn trước") && stale.contains("Câu 2/14"),
        "{stale}"
    );
    // Forged callback data.
    fake.press(8001, p.last().message_id, "999999:p1");
    assert!(join(&p.replies().await).contains("Câu 2/14"));
    fake.press(8001, p.last().message_id, "DROP TABLE ballots");
    assert!(join(&p.replies().await).contains("không hợp lệ"));
    fake.sticker(8001);
    assert!(join(&p.replies().await).contains("chỉ đọc được tin nhắn chữ"));
    assert!(p.say("/huongdan").await.contains("Hướng dẫn"));
    let back = p.say("/quaylai").await;
    assert!(
        back.contains("Câu 1/14") && back.contains("Câu trả lời hiện tại: Hài lòng"),
        "{back}"
    );
    assert_eq!(fake.api.lock().unwrap().answered_callbacks.len(), 4);
    assert!(h.ballots().await.is_empty());
    h.finish().await;
}

async fn used_tokens_and_a_closed_survey(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    start_bot(&mut h, &fake).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut p = Person::new(&fake, &h, 9001);
    p.say(&format!("/start {}", token.as_str())).await;
    for _ in 0..10 {
        p.say("4").await;
    }
    p.say("bỏ qua").await;
    p.say("4").await;
    p.say("bỏ qua").await;
    assert!(p.say("gửi").await.contains("Mã biên nhận"));
    let mut q = Person::new(&fake, &h, 9002);
    assert!(
        q.say(&format!("/start {}", token.as_str()))
            .await
            .contains("đã được dùng")
    );
    h.set_time("2021-02-16T08:00:00");
    let other = h.token("nguoi-dan", &["binh-chanh"]).await;
    assert!(
        q.say(&format!("/start {}", other.as_str()))
            .await
            .contains("Đợt khảo sát đã kết thúc")
    );
    h.finish().await;
}

async fn staff_see_progress_and_others_are_refused(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    start_bot_with_staff(&mut h, &fake, vec![4242]).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut citizen = Person::new(&fake, &h, 4300);
    citizen.say(&format!("/start {}", token.as_str())).await;
    for _ in 0..10 {
        citizen.say("4").await;
    }
    citizen.say("bỏ qua").await;
    citizen.say("4").await;
    citizen.say("bỏ qua").await;
    citizen.say("gửi").await;

    let mut staff = Person::new(&fake, &h, 4242);
    let overview = staff.say("/tiendo").await;
    assert!(
        overview.contains("còn 14 ngày (đến 15/02/2021 23:59)"),
        "{overview}"
    );
    assert!(overview.contains("Tổng: 1/1100 phiếu"), "{overview}");
    assert!(overview.contains("Tổ chức, cá nhân: 1/572"), "{overview}");
    assert!(
        overview.contains("UBND xã Bình An — cán bộ 0/10 · dân 1/20"),
        "{overview}"
    );
    let detail = staff.say("/tiendo binh-an").await;
    assert!(
        detail.contains("Tổ chức, cá nhân: 1/20") && detail.contains("còn thiếu 19"),
        "{detail}"
    );
    assert!(
        staff
            .say("/tiendo xyz")
            .await
            .contains("Không có đơn vị “xyz”")
    );
    // Before close, the report is progress only: two reports a few minutes
    // apart must not show one person's answers.
    let early = staff.say("/baocao").await;
    assert!(
        early.contains("chưa kết thúc") && early.contains("Tổng: 1/1100 phiếu"),
        "{early}"
    );
    assert_eq!(fake.api.lock().unwrap().documents.len(), 0);
    // After close: the report, as files in the chat, sent before the
    // update is done.
    h.set_time("2021-02-16T08:00:00");
    let report = staff.say("/baocao").await;
    assert_eq!(fake.api.lock().unwrap().documents.len(), 2);
    let head = h.ballots().await[0].hash.clone();
    assert!(
        report.contains(&head),
        "the caption names the chain head: {report}"
    );
    {
        let api = fake.api.lock().unwrap();
        let names: Vec<&str> = api.documents.iter().map(|(_, n, _)| n.as_str()).collect();
        assert_eq!(names, ["bao-cao.xlsx", "bao-cao.html"]);
        assert!(api.documents.iter().all(|(chat, _, _)| *chat == 4242));
        let workbook = &api.documents[0].2;
        assert!(workbook.starts_with(b"PK"), "a zip file arrived whole");
        let sheets = crate::report::sheet_names(workbook.clone());
        assert!(sheets.contains(&"Tổng hợp".to_string()), "{sheets:?}");
        let page = String::from_utf8(api.documents[1].2.clone()).unwrap();
        assert!(page.contains("UBND xã Bình An") && page.contains(&head));
    }
    // Anyone else learns nothing.
    let mut other = Person::new(&fake, &h, 4243);
    for command in ["/tiendo", "/baocao"] {
        let refused = other.say(command).await;
        assert_eq!(
            refused,
            "Xin lỗi, lệnh này chỉ dành cho cán bộ phụ trách khảo sát."
        );
    }
    assert_eq!(fake.api.lock().unwrap().documents.len(), 2);
    {
        let api = fake.api.lock().unwrap();
        assert!(
            !api.commands.contains(&"tiendo".to_string()),
            "not offered to everyone"
        );
        assert!(
            api.scoped_commands
                .iter()
                .any(|(chat, c)| *chat == 4242 && c.contains(&"tiendo".to_string()))
        );
    }
    // A report that cannot be made: staff are told so politely, and the
    // reason (here: ballots altered behind the database's back) goes to
    // the log, not into the chat.
    let pool = h.raw_pool().await;
    let bypass = match backend {
        Backend::Sqlite => "DROP TRIGGER chain_no_update",
        Backend::Postgres => "ALTER TABLE ballots DISABLE TRIGGER USER",
    };
    sqlx::raw_sql(bypass).execute(&pool).await.unwrap();
    sqlx::raw_sql("UPDATE ballots SET unit_id = 'binh-chanh'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let failed = staff.say("/baocao").await;
    assert!(
        failed.contains("chưa tổng hợp được") && !failed.contains("không khớp"),
        "{failed}"
    );
    h.finish().await;
}

/// Staff close the survey from the chat and reopen it until a new date:
/// a citizen halfway through is told at once and keeps their answers,
/// and the decision is recorded with its reason, not the staff's account.
async fn staff_close_and_reopen_the_survey_from_the_chat(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    start_bot_with_staff(&mut h, &fake, vec![4242]).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut citizen = Person::new(&fake, &h, 4300);
    citizen.say(&format!("/start {}", token.as_str())).await;
    assert!(citizen.say("4").await.contains("Câu 2/14"));

    let mut staff = Person::new(&fake, &h, 4242);
    assert!(
        staff
            .say("/dongkhaosat")
            .await
            .contains("Xin ghi kèm lý do")
    );
    let closed = staff.say("/dongkhaosat Đã đủ số phiếu theo kế hoạch").await;
    assert!(
        closed.contains("Đợt khảo sát được đóng lúc 01/02/2021 09:00 (bởi cán bộ phụ trách). Lý do: Đã đủ số phiếu theo kế hoạch."),
        "{closed}"
    );
    let told = citizen.say("4").await;
    assert!(
        told.contains("Đợt khảo sát đã kết thúc lúc 01/02/2021 09:00"),
        "{told}"
    );
    assert!(
        staff
            .say("/dongkhaosat lần nữa")
            .await
            .contains("Không thay đổi")
    );
    assert!(
        staff
            .say("/tiendo")
            .await
            .contains("Lý do: Đã đủ số phiếu theo kế hoạch.")
    );

    // Reopened until a date staff write as they would on paper.
    assert!(
        staff
            .say("/molai mai")
            .await
            .contains("Xin ghi ngày kết thúc mới")
    );
    let reopened = staff
        .say("/molai 28/02/2021 17:00 Gia hạn cho xã Bình An")
        .await;
    assert!(
        reopened.contains("mở lại lúc 01/02/2021 09:00, đến 28/02/2021 17:00"),
        "{reopened}"
    );
    let back = citizen.say("4").await;
    assert!(
        back.contains("Câu 3/14"),
        "the answers so far were kept: {back}"
    );

    // Others cannot; the record names no account.
    let mut other = Person::new(&fake, &h, 4243);
    assert!(
        other
            .say("/dongkhaosat thử")
            .await
            .contains("chỉ dành cho cán bộ")
    );
    let changes = h
        .store()
        .period_changes(h.survey.campaign().id())
        .await
        .unwrap();
    assert_eq!(changes.len(), 2);
    // The keyed hash of the staff member's account, not the account (a
    // check for "4242" inside the hex would fail one run in a thousand).
    let keyed = h.survey.staff_account("telegram", "4242");
    assert!(changes.iter().all(|c| c.by == keyed && c.by != "4242"));
    h.finish().await;
}

/// A staff member enrolled with a staff token (not in the configuration)
/// has the staff commands on Telegram too, until removed.
async fn staff_enrolled_by_token_have_the_commands(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    start_bot(&mut h, &fake).await;
    let staff_token = khaosat::token::Token::generate(&mut rand::rng());
    let id = h
        .store()
        .add_staff("Chị Lan", &staff_token.hash(&h.key), 0)
        .await
        .unwrap();
    let mut lan = Person::new(&fake, &h, 5151);
    assert!(lan.say("/tiendo").await.contains("chỉ dành cho cán bộ"));
    let printed = khaosat::survey::staff::display(&staff_token);
    assert!(
        lan.say(&printed)
            .await
            .contains("Đồng chí Chị Lan đã được ghi nhận")
    );
    assert!(lan.say("/tiendo").await.contains("Tổng: 0/1100 phiếu"));
    assert!(lan.say("tiến độ").await.contains("Tổng: 0/1100 phiếu"));
    h.store().remove_staff(id, 1).await.unwrap();
    assert!(lan.say("/tiendo").await.contains("chỉ dành cho cán bộ"));
    h.finish().await;
}

/// Someone who stopped halfway gets one polite reminder after two days,
/// by day, while the survey is open — and finds their answers kept.
async fn one_reminder_goes_to_those_who_stopped_halfway(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    start_bot(&mut h, &fake).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let mut citizen = Person::new(&fake, &h, 4300);
    citizen.say(&format!("/start {}", token.as_str())).await;
    assert!(citizen.say("4").await.contains("Câu 2/14"));
    let leader_token = h.token("can-bo", &["binh-an", "binh-chanh"]).await;
    let mut leader = Person::new(&fake, &h, 4400);
    leader
        .say(&format!("/start {}", leader_token.as_str()))
        .await;

    // A day later: not yet. Two days later, but at night: not at night.
    h.set_time("2021-02-02T10:00:00");
    assert_eq!(h.survey.send_reminders().await.unwrap(), 0);
    h.set_time("2021-02-03T21:30:00");
    assert_eq!(h.survey.send_reminders().await.unwrap(), 0);
    // The next morning: one each, in the words each is addressed in.
    h.set_time("2021-02-04T08:30:00");
    assert_eq!(h.survey.send_reminders().await.unwrap(), 2);
    let reminded = join(&citizen.replies().await);
    assert!(
        reminded.contains("Kính gửi ông/bà") && reminded.contains("“tiếp tục”"),
        "{reminded}"
    );
    assert!(join(&leader.replies().await).contains("Kính gửi đồng chí"));
    // Once only.
    h.set_time("2021-02-06T09:00:00");
    assert_eq!(h.survey.send_reminders().await.unwrap(), 0);
    // Their answers were kept.
    let back = citizen.say("tiếp tục").await;
    assert!(back.contains("Câu 2/14"), "{back}");
    // Not after close: someone idle since before the end is reminded only
    // once staff reopen the survey.
    h.set_time("2021-02-13T09:00:00");
    let late = h.token("nguoi-dan", &["binh-an"]).await;
    let mut latecomer = Person::new(&fake, &h, 4500);
    latecomer.say(&format!("/start {}", late.as_str())).await;
    h.set_time("2021-02-16T09:00:00");
    assert_eq!(h.survey.send_reminders().await.unwrap(), 0);
    let until = chrono::DateTime::parse_from_rfc3339("2021-02-28T10:00:00Z")
        .unwrap()
        .to_utc();
    h.survey
        .change_period(
            khaosat::period::Action::Reopen,
            Some(until),
            "dòng lệnh",
            "gia hạn",
        )
        .await
        .unwrap();
    assert_eq!(h.survey.send_reminders().await.unwrap(), 1);
    assert!(join(&latecomer.replies().await).contains("Kính gửi ông/bà"));
    h.finish().await;
}

async fn webhook_mode_checks_the_secret_and_ignores_redeliveries(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    // Behind a reverse proxy at a public address, in webhook mode.
    let base = h
        .serve(|s| {
            fake.configure(s);
            s.web_url = Some("https://khaosat.example.vn".into());
            s.telegram.webhook = true;
            s.telegram.webhook_secret = Some(Secret::new("s3cr3t-value-for-the-webhook-1"));
        })
        .await;
    assert_eq!(
        fake.api.lock().unwrap().webhook,
        Some((
            "https://khaosat.example.vn/telegram/webhook".to_string(),
            "s3cr3t-value-for-the-webhook-1".to_string()
        ))
    );
    let http = reqwest::Client::new();
    let post = |update: serde_json::Value, secret: Option<&'static str>| {
        let mut req = http.post(format!("{base}/telegram/webhook")).json(&update);
        if let Some(s) = secret {
            req = req.header(khaosat::telegram::SECRET_HEADER, s);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    let start = fake.text_update(9901, &format!("/start {}", token.as_str()));
    // Without the secret, or with a wrong one: refused, nothing happens.
    assert_eq!(post(start.clone(), None).await, 401);
    assert_eq!(post(start.clone(), Some("guess")).await, 401);
    assert!(fake.sent().is_empty(), "answered before any 401");
    // With it: the step is durable before the 200, its reply on the way.
    assert_eq!(
        post(start.clone(), Some("s3cr3t-value-for-the-webhook-1")).await,
        200
    );
    let q = fake.wait_sent(9901, 1).await.pop().unwrap();
    assert!(q.text.contains("Câu 1/14"), "{}", q.text);
    let press = fake.press_update(9901, q.message_id, &q.button("Hài lòng").unwrap());
    assert_eq!(
        post(press.clone(), Some("s3cr3t-value-for-the-webhook-1")).await,
        200
    );
    let sent = fake.wait_sent(9901, 2).await;
    assert!(sent[1].text.contains("Câu 2/14"), "{}", sent[1].text);
    // Telegram delivers both again: nothing changes, nothing is sent, the
    // press is not answered a second time.
    assert_eq!(
        post(start, Some("s3cr3t-value-for-the-webhook-1")).await,
        200
    );
    assert_eq!(
        post(press, Some("s3cr3t-value-for-the-webhook-1")).await,
        200
    );
    let back = fake.text_update(9901, "quay lại");
    post(back, Some("s3cr3t-value-for-the-webhook-1")).await;
    // Replies go out in order per chat: anything the redeliveries had
    // caused would come before this one.
    let sent = fake.wait_sent(9901, 3).await;
    assert_eq!(sent.len(), 3, "{sent:#?}");
    let last = &sent[2].text;
    assert!(
        last.contains("Câu 1/14") && last.contains("Câu trả lời hiện tại: Hài lòng"),
        "{last}"
    );
    assert_eq!(fake.api.lock().unwrap().answered_callbacks.len(), 1);
    h.finish().await;
}

/// A burst of 429s: the bot waits as told and loses no reply.
async fn rate_limits_delay_but_lose_no_reply() {
    let mut h = Harness::shipped(Backend::Sqlite).await;
    let fake = FakeTelegram::start().await;
    start_bot(&mut h, &fake).await;
    let token = h.token("nguoi-dan", &["binh-an"]).await;
    fake.api.lock().unwrap().rate_limit_next = 3;
    let mut p = Person::new(&fake, &h, 9501);
    let started = std::time::Instant::now();
    assert!(
        p.say(&format!("/start {}", token.as_str()))
            .await
            .contains("Câu 1/14")
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "waited retry_after each time"
    );
    assert_eq!(fake.api.lock().unwrap().rate_limited, 3);
    assert!(p.say("4").await.contains("Câu 2/14"));
    h.finish().await;
}

/// A webhook secret anyone could guess is refused at start, with the fix.
async fn a_short_webhook_secret_is_refused_at_start(backend: Backend) {
    let h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    for secret in ["", "short", "has spaces in it but is long enough"] {
        let mut settings = h.settings();
        fake.configure(&mut settings);
        settings.web_url = Some("https://khaosat.example.vn".into());
        settings.telegram.webhook = true;
        settings.telegram.webhook_secret = Some(Secret::new(secret));
        let err = match khaosat::startup::build(settings).await {
            Ok(_) => panic!("{secret:?} was accepted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(
            err.contains("KHAOSAT_TELEGRAM_WEBHOOK_SECRET") && err.contains("24"),
            "{err}"
        );
    }
    assert!(
        fake.api.lock().unwrap().webhook.is_none(),
        "nothing was registered"
    );
    h.finish().await;
}

/// More updates wait than one `getUpdates` returns (Telegram's page of
/// 100): 250 respondents' first two messages, all sent before the bot
/// starts. Every one is answered once, and each chat's in order (the answer
/// after the token, not a welcome).
async fn more_updates_than_a_page_are_all_answered_in_order(backend: Backend) {
    let mut h = Harness::shipped(backend).await;
    let fake = FakeTelegram::start().await;
    let chats: Vec<i64> = (0..250).map(|i| 9000 + i).collect();
    for &chat in &chats {
        let token = h.token("nguoi-dan", &["binh-an"]).await;
        fake.text(chat, &format!("/start {}", token.as_str()));
        fake.text(chat, "4");
    }
    start_bot(&mut h, &fake).await;
    for &chat in &chats {
        let sent = fake.wait_sent(chat, 2).await;
        assert!(sent[0].text.contains("Câu 1/14"), "{}", sent[0].text);
        assert!(sent[1].text.contains("Câu 2/14"), "{}", sent[1].text);
    }
    settled(&fake, &h.metrics).await;
    let sent = fake.sent();
    for &chat in &chats {
        let replies = sent.iter().filter(|s| s.chat == chat).count();
        assert_eq!(replies, 2, "chat {chat}: one reply to each message");
    }
    h.finish().await;
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sqlite a_short_webhook_secret_is_refused_at_start,
        tokio rate_limits_delay_but_lose_no_reply,
        sqlite webhook_mode_checks_the_secret_and_ignores_redeliveries,
        sqlite staff_see_progress_and_others_are_refused,
        both staff_close_and_reopen_the_survey_from_the_chat,
        sqlite staff_enrolled_by_token_have_the_commands,
        both one_reminder_goes_to_those_who_stopped_halfway,
        sqlite a_citizen_ballot_by_buttons_and_typing,
        sqlite a_leader_finishes_after_a_bot_restart,
        sqlite the_same_update_twice_changes_nothing,
        sqlite stale_forged_and_odd_input_get_polite_replies,
        sqlite used_tokens_and_a_closed_survey,
        sqlite more_updates_than_a_page_are_all_answered_in_order,
    ]
}
