//! The `khaosat` binary, run as an operator or a scripted respondent would.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::helpers::shipped_campaign_dir;

/// The secret key of the district's installation these tests play.
const KEY: &str = "6b68616f7361742074657374206b6579206f6e6c7920666f72207465737473ff";

/// Runs the binary with the installation's key in its environment.
fn khaosat(args: &[&str], stdin: &str) -> Output {
    khaosat_with(args, stdin, &[("KHAOSAT_SECRET", KEY)])
}

fn khaosat_with(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    khaosat_in(&crate::helpers::manifest_dir(), args, stdin, env)
}

/// Runs the binary from the folder `cwd`.
fn khaosat_in(cwd: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .current_dir(cwd)
        .args(args)
        .env_remove("KHAOSAT_DATABASE_URL")
        .env_remove("KHAOSAT_TELEGRAM_BOT")
        .env_remove("KHAOSAT_SECRET")
        .env_remove("KHAOSAT_SECRET_FILE")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The command failed, and its error says `why`.
fn refused(o: &Output, why: &str) {
    assert!(
        !o.status.success() && stderr(o).contains(why),
        "{}",
        stderr(o)
    );
}

/// Issues tokens with the CLI and returns them as printed in the CSV.
fn issue(db: &str, out: &Path, group: &str, units: &str, count: &str) -> Vec<String> {
    let campaign = shipped_campaign_dir();
    let o = khaosat(
        &[
            "--campaign",
            campaign.to_str().unwrap(),
            "--database-url",
            db,
            "tokens",
            "issue",
            "--group",
            group,
            "--unit",
            units,
            "--count",
            count,
            "--out",
            out.to_str().unwrap(),
            "--telegram-bot",
            "khaosat_thangbinh_bot",
            "--web-url",
            "https://khaosat.example.vn",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv") && p.to_string_lossy().contains(group))
        .unwrap();
    let text = std::fs::read_to_string(csv).unwrap();
    assert!(
        text.starts_with('\u{feff}'),
        "UTF-8 BOM so Excel reads Vietnamese"
    );
    text.lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

fn check_prints_the_quota_table() {
    let campaign = shipped_campaign_dir();
    let o = khaosat(&["--campaign", campaign.to_str().unwrap(), "check"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Tổng: 1100 phiếu = 528 phiếu cán bộ, công chức + 572 phiếu tổ chức, cá nhân")
    );
    assert!(
        out.contains("01/01/2021 00:00 – 15/02/2021 23:59 (Asia/Ho_Chi_Minh)"),
        "{out}"
    );
}

fn check_reports_a_broken_file_and_fails() {
    let bad = crate::helpers::manifest_dir().join("tests/fixtures/invalid/unknown-scale.toml");
    let o = khaosat(&["check", bad.to_str().unwrap()], "");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown-scale.toml:18:9: không có thang đo `khong-co`"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let o = khaosat(&["--campaign", dir.path().to_str().unwrap(), "check"], "");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("campaign.toml:0:0: không đọc được tệp"),
        "{}",
        stderr(&o)
    );
}

fn tokens_issue_writes_links_and_printable_sheets_but_stores_only_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let out = dir.path().join("tokens");
    let tokens = issue(db.to_str().unwrap(), &out, "nguoi-dan", "binh-an", "10");
    assert_eq!(tokens.len(), 10);
    for t in &tokens {
        khaosat::token::Token::parse(t).unwrap();
    }
    let csv = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let compact = tokens[0].replace('-', "");
    assert!(
        text.contains(&format!(
            "https://t.me/khaosat_thangbinh_bot?start={compact}"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("https://khaosat.example.vn/#t={compact}")));
    assert!(text.contains("UBND xã Bình An"));
    let sheets: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    assert_eq!(sheets.len(), 1, "one PDF of A4 pages");
    // Files that hold usable tokens: readable by their owner only.
    #[cfg(unix)]
    for file in sheets.iter().chain([&csv]) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    assert!(std::fs::read(&sheets[0]).unwrap().starts_with(b"%PDF-"));
    // The database has the hashes, never the tokens.
    let raw = std::fs::read(&db).unwrap();
    let raw = String::from_utf8_lossy(&raw);
    for t in &tokens {
        assert!(!raw.contains(&t.replace('-', "")) && !raw.contains(t.as_str()));
    }
    // Refusals an operator can act on.
    let campaign = shipped_campaign_dir();
    let refused = |group: &str, units: &str| {
        let args = [
            "--campaign",
            campaign.to_str().unwrap(),
            "--database-url",
            db.to_str().unwrap(),
            "tokens",
            "issue",
            "--group",
            group,
            "--unit",
            units,
            "--web-url",
            "https://khaosat.example.vn",
        ];
        let o = khaosat(&args, "");
        assert!(!o.status.success());
        stderr(&o)
    };
    assert!(
        refused("nguoi-dan", "binh-an,noi-vu").contains("một mã chỉ dùng cho đơn vị cùng loại")
    );
    let e = refused("dan", "binh-an");
    assert!(
        e.contains("không có nhóm `dan`; các nhóm của đợt khảo sát: can-bo, nguoi-dan"),
        "{e}"
    );
}

fn chat(db: &str, user: &str, token: Option<&str>, script: &[&str]) -> String {
    let campaign = shipped_campaign_dir();
    let mut args = vec![
        "--campaign",
        campaign.to_str().unwrap(),
        "--database-url",
        db,
        "--trial",
        "chat",
        "--user",
        user,
    ];
    if let Some(t) = token {
        args.extend(["--token", t]);
    }
    let o = khaosat(&args, &(script.join("\n") + "\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

fn a_scripted_chat_completes_a_citizen_ballot() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let token = &issue(db, &dir.path().join("t"), "nguoi-dan", "binh-an", "1")[0];
    let mut script = vec!["4"; 10];
    script.extend(["bỏ qua", "rat hai long", "Nên có thêm ghế chờ", "gửi"]);
    let out = chat(db, "citizen", Some(token), &script);
    assert!(out.contains("Câu 1/14"), "{out}");
    assert!(
        out.contains("1. Rất không hài lòng"),
        "numbered choices: {out}"
    );
    assert!(out.contains("Mã biên nhận"), "{out}");
    let ballots = ballots(db);
    assert_eq!(ballots.len(), 1);
    assert!(out.contains(&ballots[0].ballot.receipt));
    assert_eq!(ballots[0].ballot.unit, "binh-an");
    // The same token again.
    let out = chat(db, "someone-else", Some(token), &[]);
    assert!(out.contains("đã được dùng"), "{out}");
    // The chain verifies; after an edit behind the database's back it does not.
    let o = khaosat(&["--database-url", db, "verify"], "");
    assert!(
        o.status.success()
            && stdout(&o).contains(&format!(
                "Toàn vẹn: 1 phiếu, chuỗi băm khớp; mã băm cuối chuỗi: {}",
                ballots[0].hash
            )),
        "{}",
        stdout(&o)
    );
    move_ballots_behind_the_triggers(db);
    let o = khaosat(&["--database-url", db, "verify"], "");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("phiếu số 1 không khớp: nội dung không khớp mã băm"),
        "{}",
        stderr(&o)
    );
}

fn a_scripted_chat_completes_a_leaders_units_over_two_sittings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let token = &issue(
        db,
        &dir.path().join("t"),
        "can-bo",
        "tu-phap,noi-vu,y-te",
        "1",
    )[0];
    // First sitting: one department in one row of digits (echoed back,
    // then sent), half of the next area by area, then the input ends.
    let out = chat(
        db,
        "leader",
        Some(token),
        &["4 4 5 ? 4 4", "gửi", "3", "3", "3"],
    );
    assert!(
        out.contains("Gõ 6 số trong một tin nhắn") && out.contains("Câu 3 · "),
        "{out}"
    );
    assert!(out.contains("Đơn vị 1/3: Phòng Nội vụ"), "{out}");
    assert!(
        out.contains("Đã ghi nhận đánh giá về Phòng Nội vụ"),
        "{out}"
    );
    // Second sitting: the simulator resumes where the leader stopped.
    let out = chat(db, "leader", None, &["3", "3", "3", "gửi", "444444", "gửi"]);
    assert!(out.contains("tiếp tục từ chỗ đã dừng"), "{out}");
    assert!(
        !out.contains("Mã phiếu dùng thử"),
        "no demo tokens when resuming: {out}"
    );
    assert!(
        out.contains("Phòng Tư pháp (2/3)\n") && out.contains("chỉ đánh giá lĩnh vực 4"),
        "{out}"
    );
    assert!(out.contains("Đồng chí đã đánh giá xong 3 đơn vị"), "{out}");
    let ballots = ballots(db);
    let mut units: Vec<_> = ballots.iter().map(|b| b.ballot.unit.as_str()).collect();
    units.sort_unstable();
    assert_eq!(units, ["noi-vu", "tu-phap", "y-te"]);
    assert!(
        ballots
            .iter()
            .all(|b| b.ballot.group == "can-bo" && b.ballot.answers.len() == 6)
    );
}

fn progress_prints_the_quota_fulfilment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let token = &issue(
        db,
        &dir.path().join("t"),
        "can-bo",
        "binh-an,binh-chanh",
        "1",
    )[0];
    chat(
        db,
        "leader",
        Some(token),
        &["4", "4", "4", "4", "4", "4", "gửi"],
    );
    let campaign = shipped_campaign_dir();
    let o = khaosat(
        &[
            "--campaign",
            campaign.to_str().unwrap(),
            "--database-url",
            db,
            "progress",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Tổng: 1/1100 phiếu"), "{out}");
    assert!(out.contains("Cán bộ, công chức: 1/528"), "{out}");
    assert!(
        out.contains("░░░░░░░░░░   3% UBND xã Bình An — cán bộ 1/10 · dân 0/20"),
        "{out}"
    );
    assert!(out.contains("đã kết thúc lúc 15/02/2021 23:59"), "{out}");
    let o = khaosat(
        &[
            "--campaign",
            campaign.to_str().unwrap(),
            "--database-url",
            db,
            "progress",
            "binh-an",
        ],
        "",
    );
    assert!(
        stdout(&o).contains("Cán bộ, công chức (lãnh đạo huyện, xã): 1/10"),
        "{}",
        stdout(&o)
    );
    let o = khaosat(
        &[
            "--campaign",
            campaign.to_str().unwrap(),
            "--database-url",
            db,
            "progress",
            "nowhere",
        ],
        "",
    );
    assert!(!o.status.success() && stderr(&o).contains("không có đơn vị `nowhere`"));
}

/// An open-access link in the terminal: refused, as on the web (only a
/// messaging account counts as one person).
fn open_access_is_refused_in_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let campaign = crate::helpers::small_campaign_dir();
    let o = khaosat(
        &[
            "--campaign",
            campaign.to_str().unwrap(),
            "--database-url",
            db.to_str().unwrap(),
            "--trial",
            "chat",
            "--token",
            "o_dan_xa-a",
        ],
        "",
    );
    assert!(
        stdout(&o).contains("chỉ dùng được trong Zalo hoặc Telegram"),
        "{}",
        stdout(&o)
    );
}

fn outside_trial_mode_the_2021_survey_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let token = &issue(db, &dir.path().join("t"), "nguoi-dan", "binh-an", "1")[0];
    let campaign = shipped_campaign_dir();
    let o = khaosat(
        &[
            "--campaign",
            campaign.to_str().unwrap(),
            "--database-url",
            db,
            "chat",
            "--token",
            token,
        ],
        "",
    );
    assert!(
        stdout(&o).contains("Đợt khảo sát đã kết thúc lúc 15/02/2021 23:59"),
        "{}",
        stdout(&o)
    );
}

/// The ballots in the chain, once the mixer has emptied the box (as the
/// service does at close).
fn ballots(db: &str) -> Vec<khaosat::ballot::StoredBallot> {
    tokio_block(async {
        let mut settings = khaosat::settings::Settings::new(shipped_campaign_dir(), db);
        settings.secret = Some(khaosat::secret::Secret::new(KEY));
        let (survey, store) = khaosat::startup::open_survey(&settings).await.unwrap();
        survey.mix(true).await.unwrap();
        let ballots = store.ballots().await.unwrap();
        store.close().await;
        ballots
    })
}

fn tokio_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Edits every ballot directly in the SQLite file, dropping the trigger that
/// refuses it: what someone with the file could do.
fn move_ballots_behind_the_triggers(db: &str) {
    tokio_block(async {
        let pool = crate::helpers::raw_pool(db).await;
        sqlx::raw_sql("DROP TRIGGER chain_no_update; UPDATE ballots SET unit_id = 'binh-chanh';")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}

/// `khaosat report --out OUT` on the shipped campaign.
fn report(db: &str, out: &Path) -> Output {
    let campaign = shipped_campaign_dir();
    let args = [
        "--campaign",
        campaign.to_str().unwrap(),
        "--database-url",
        db,
        "report",
        "--out",
        out.to_str().unwrap(),
    ];
    khaosat(&args, "")
}

fn report_writes_every_output_and_refuses_altered_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let token = &issue(db, &dir.path().join("t"), "nguoi-dan", "binh-an", "1")[0];
    let mut script = vec!["4"; 10];
    script.extend(["bỏ qua", "rat hai long", "=Nên có thêm ghế chờ", "gửi"]);
    chat(db, "citizen", Some(token), &script);
    let ballots = ballots(db);
    let (receipt, head) = (&ballots[0].ballot.receipt, &ballots[0].hash);

    let out = dir.path().join("bao-cao");
    let o = report(db, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("Đã tổng hợp 1 phiếu; mã băm cuối chuỗi: {head}")),
        "{}",
        stdout(&o)
    );
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    for name in ["bao-cao.html", "ket-qua.json", "thong-tin.csv"] {
        assert!(
            read(name).contains(head.as_str()),
            "{name} names the chain head"
        );
    }
    assert!(
        std::fs::read(out.join("bao-cao.xlsx"))
            .unwrap()
            .starts_with(b"PK")
    );
    // One ballot is below the minimum: the cell is withheld everywhere, but
    // the respondent still finds their receipt in the open data.
    let progress = read("tien-do.csv");
    assert!(progress.starts_with('\u{feff}'), "UTF-8 with BOM");
    assert!(
        progress.contains("UBND xã Bình An,\"Tổ chức, cá nhân\",1,20,5.0"),
        "{progress}"
    );
    let open = read("phieu-nguoi-dan.csv");
    let line = open.lines().find(|l| l.contains(receipt.as_str())).unwrap();
    assert!(
        line.contains("binh-an") && !line.contains("Rất hài lòng"),
        "{line}"
    );
    assert!(
        !read("y-kien.csv").contains("ghế chờ"),
        "a withheld cell's wish"
    );
    assert!(read("linh-vuc.csv").contains("(ẩn)"));

    // Altered behind the database's back: no report.
    move_ballots_behind_the_triggers(db);
    let out = dir.path().join("altered");
    let o = report(db, &out);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("phiếu số 1 không khớp") && stderr(&o).contains("Chưa ghi báo cáo nào"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

/// `khaosat check | head -1`: when the reader has gone, the command ends
/// quietly instead of panicking.
/// Wishes a spreadsheet would run as formulas, from five citizens of one
/// unit (enough to be published): every CSV the report writes holds them as
/// text, with a leading apostrophe.
fn formula_wishes_are_published_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let tokens = issue(db, &dir.path().join("t"), "nguoi-dan", "binh-an", "5");
    let wishes = [
        "=HYPERLINK(\"http://x.example\";\"Xem\")",
        "+84 912 345 678",
        "-1+2",
        "@SUM(A1:A9)",
        "=1+1",
    ];
    for (i, (token, wish)) in tokens.iter().zip(wishes).enumerate() {
        let mut script = vec!["4"; 10];
        script.extend(["bỏ qua", "rat hai long", wish, "gửi"]);
        let said = chat(db, &format!("citizen-{i}"), Some(token), &script);
        assert!(said.contains("Mã biên nhận"), "{said}");
    }
    let out = dir.path().join("bao-cao");
    let o = report(db, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["y-kien.csv", "phieu-nguoi-dan.csv"] {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        let found = crate::helpers::assert_formulas_are_text(name, &text, &wishes);
        assert_eq!(found, wishes.len(), "{name} holds every wish:\n{text}");
    }
}

/// The key lives outside the database: without it nothing that hashes a
/// token or a person starts (outside trial mode), `secret new` makes one
/// only its owner can read and never overwrites one, and tokens issued
/// under one key are unknown under another — losing the key loses them.
fn the_secret_key_is_required_and_kept_outside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let campaign = shipped_campaign_dir();
    let campaign = campaign.to_str().unwrap();
    let base = ["--campaign", campaign, "--database-url", db];
    for command in [
        vec!["chat"],
        vec!["serve", "--listen", "127.0.0.1:0"],
        vec![
            "tokens",
            "issue",
            "--group",
            "nguoi-dan",
            "--unit",
            "binh-an",
        ],
    ] {
        let args: Vec<&str> = base.iter().copied().chain(command.clone()).collect();
        let o = khaosat_with(&args, "", &[]);
        assert!(!o.status.success(), "{command:?} ran without a key");
        assert!(
            stderr(&o).contains("Chưa có khóa bí mật") && stderr(&o).contains("khaosat secret new"),
            "{command:?}: {}",
            stderr(&o)
        );
    }
    // A new key file: only its owner may read it, and it is never replaced.
    let file = dir.path().join("secret.key");
    let args = ["secret", "new", "--out", file.to_str().unwrap()];
    let o = khaosat_with(&args, "", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(khaosat::key::Key::parse(&written).is_ok(), "{written}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = khaosat_with(&args, "", &[]);
    assert!(!again.status.success() && stderr(&again).contains("không ghi đè"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);

    // A token issued under the file's key works with it, and is unknown
    // under any other key.
    let with_file = [("KHAOSAT_SECRET_FILE", file.to_str().unwrap())];
    let cards = dir.path().join("t");
    let args: Vec<&str> = base
        .iter()
        .copied()
        .chain([
            "tokens",
            "issue",
            "--group",
            "nguoi-dan",
            "--unit",
            "binh-an",
            "--web-url",
            "https://khaosat.example.vn",
            "--out",
        ])
        .chain([cards.to_str().unwrap()])
        .collect();
    let o = khaosat_with(&args, "", &with_file);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(
        std::fs::read_dir(&cards)
            .unwrap()
            .find_map(|e| {
                let p = e.unwrap().path();
                (p.extension().is_some_and(|x| x == "csv")).then_some(p)
            })
            .unwrap(),
    )
    .unwrap();
    let token = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let chat_args: Vec<&str> = base
        .iter()
        .copied()
        .chain(["chat", "--token", &token])
        .collect();
    let accepted = khaosat_with(&chat_args, "", &with_file);
    let refused = khaosat(&chat_args, "");
    // The 2021 period is over either way; a known token hears that, an
    // unknown one is told it does not exist.
    assert!(
        stdout(&accepted).contains("đã kết thúc"),
        "{}",
        stdout(&accepted)
    );
    assert!(
        stdout(&refused).contains("Không tìm thấy mã phiếu này"),
        "{}",
        stdout(&refused)
    );
    // Nothing in the database file is the key.
    let bytes = std::fs::read(db).unwrap();
    let key_hex = written.trim().as_bytes();
    assert!(!bytes.windows(key_hex.len()).any(|w| w == key_hex));
}

/// A published folder checks out against its chain head with no database
/// at all — the withheld cell's ballot by its commitment alone — and any
/// change to it, or another head, is caught.
fn verify_checks_the_open_data_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let five = issue(db, &dir.path().join("t"), "nguoi-dan", "binh-an", "5");
    let one = issue(db, &dir.path().join("u"), "nguoi-dan", "binh-chanh", "1");
    for (i, token) in five.iter().chain(&one).enumerate() {
        let mut script = vec!["4"; 10];
        script.extend(["bỏ qua", "rat hai long", "Không có ý kiến", "gửi"]);
        chat(db, &format!("citizen-{i}"), Some(token), &script);
    }
    let out = dir.path().join("bao-cao");
    let o = report(db, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let head = ballots(db).last().unwrap().hash.clone();
    let open_data = out.to_str().unwrap();
    // Nothing but the folder: not even a database path.
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "--open-data", open_data];
        args.extend(extra);
        khaosat_with(&args, "", &[])
    };
    let o = verify(&["--head", &head]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "Toàn vẹn: 6 phiếu, chuỗi băm khớp; mã băm cuối chuỗi: {head}"
        )),
        "{}",
        stdout(&o)
    );
    let other = "0".repeat(64);
    let o = verify(&["--head", &other]);
    refused(&o, "không phải mã đã công bố");
    // The withheld ballot is published by its commitment only.
    let file = out.join("phieu-nguoi-dan.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    let withheld = text.lines().find(|l| l.contains("binh-chanh")).unwrap();
    assert!(
        !withheld.contains("Rất hài lòng") && !withheld.contains("\"choice\""),
        "{withheld}"
    );
    // One published answer changed, in its JSON: the commitment no longer fits.
    let changed = text.replacen(
        "{\"\"chuyen-mon\"\":{\"\"choice\"\":4}",
        "{\"\"chuyen-mon\"\":{\"\"choice\"\":5}",
        1,
    );
    assert!(changed != text, "the test changed an answer");
    std::fs::write(&file, changed).unwrap();
    let o = verify(&[]);
    refused(&o, "không khớp cam kết của phiếu");
    // A ballot's row removed: the chain breaks there.
    let mut lines: Vec<&str> = text.split("\r\n").collect();
    lines.remove(2);
    std::fs::write(&file, lines.join("\r\n")).unwrap();
    let o = verify(&[]);
    refused(&o, "bị mất");
}

/// Before close a report shows progress only, and writes nothing; an
/// interim report writes the figures but no open data.
fn before_close_the_report_is_progress_only() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped campaign, running until 2099.
    let campaign = dir.path().join("campaign");
    std::fs::create_dir(&campaign).unwrap();
    for entry in std::fs::read_dir(shipped_campaign_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "closes = \"2021-02-15T23:59:59\"",
            "closes = \"2099-12-31T23:59:59\"",
        );
        std::fs::write(campaign.join(path.file_name().unwrap()), text).unwrap();
    }
    let db = dir.path().join("k.db");
    let (db, campaign) = (db.to_str().unwrap(), campaign.to_str().unwrap());
    let out = dir.path().join("bao-cao");
    let args = |interim: bool| {
        let mut a = vec![
            "--campaign",
            campaign,
            "--database-url",
            db,
            "report",
            "--out",
            out.to_str().unwrap(),
        ];
        if interim {
            a.push("--interim");
        }
        a
    };
    let o = khaosat(&args(false), "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("chưa kết thúc") && stdout(&o).contains("Tổng: 0/1100 phiếu"),
        "{}",
        stdout(&o)
    );
    assert!(!out.exists(), "nothing written before close");
    let o = khaosat(&args(true), "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("TẠM THỜI"), "{}", stdout(&o));
    assert!(out.join("bao-cao.xlsx").exists());
    assert!(
        !out.join("phieu-nguoi-dan.csv").exists(),
        "no open data before close"
    );
}

/// An installed binary, run far from the repository: trial mode works with
/// the campaign built into it, and `init` writes that campaign out to edit.
fn the_shipped_campaign_is_built_in() {
    let elsewhere = tempfile::tempdir().unwrap();
    let o = khaosat_in(elsewhere.path(), &["--trial", "chat"], "4\n", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Mã phiếu dùng thử"), "{}", stdout(&o));
    assert!(elsewhere.path().join("data/trial.db").exists());
    let o = khaosat_in(elsewhere.path(), &["init", "my-survey"], "", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = elsewhere.path().join("my-survey");
    for name in ["campaign.toml", "nguoi-dan.toml", "can-bo-danh-gia-xa.toml"] {
        assert_eq!(
            std::fs::read_to_string(written.join(name)).unwrap(),
            std::fs::read_to_string(shipped_campaign_dir().join(name)).unwrap()
        );
    }
    let o = khaosat_in(
        elsewhere.path(),
        &["--campaign", "my-survey", "check"],
        "",
        &[],
    );
    assert!(
        o.status.success() && stdout(&o).contains("1100"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    // Never over a folder that has files.
    let o = khaosat_in(elsewhere.path(), &["init", "my-survey"], "", &[]);
    refused(&o, "không ghi đè");
}

/// A backup is a consistent copy that verifies, with the same chain head.
/// `staff add` prints a one-time staff token the database keeps only as a
/// hash; `staff list` shows who has not used theirs; `staff remove` revokes.
fn staff_are_added_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let run = |args: &[&str]| khaosat(&[&["--database-url", db], args].concat(), "");
    let o = run(&["staff", "add", "--name", "Chị Lan, Phòng Nội vụ"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let token = out
        .split_whitespace()
        .find(|w| w.starts_with("NV-"))
        .unwrap_or_else(|| panic!("no staff token in: {out}"));
    assert!(
        khaosat::survey::staff::staff_token(token).is_some(),
        "{token}"
    );
    let raw = String::from_utf8_lossy(&std::fs::read(db).unwrap()).into_owned();
    assert!(!raw.contains(&token[3..]), "only the hash is stored");
    let list = stdout(&run(&["staff", "list"]));
    assert!(
        list.contains("Chị Lan, Phòng Nội vụ") && list.contains("chưa dùng mã"),
        "{list}"
    );
    assert!(run(&["staff", "remove", "1"]).status.success());
    assert!(stdout(&run(&["staff", "list"])).contains("đã thu hồi"));
    let again = run(&["staff", "remove", "1"]);
    assert!(!again.status.success() && stderr(&again).contains("không có cán bộ số 1"));
}

/// A mistyped command line is answered in Vietnamese, with the fix.
fn command_line_mistakes_are_explained_in_vietnamese() {
    let o = khaosat(&["tokens", "issue", "--gruop", "x"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("không có tùy chọn --gruop (có phải --group?)"),
        "{}",
        stderr(&o)
    );
    let o = khaosat(&["reopen", "--until", "mai", "--reason", "x"], "");
    assert!(
        stderr(&o).contains("viết ngày dạng 28/02/2021"),
        "{}",
        stderr(&o)
    );
    let o = khaosat(&["tokenz"], "");
    assert!(
        stderr(&o).contains("không có lệnh tokenz (có phải tokens?)"),
        "{}",
        stderr(&o)
    );
}

fn backup_copies_and_verifies_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let token = &issue(db, &dir.path().join("t"), "nguoi-dan", "binh-an", "1")[0];
    let mut script = vec!["4"; 10];
    script.extend(["bỏ qua", "5", "bỏ qua", "gửi"]);
    chat(db, "citizen", Some(token), &script);
    let head = ballots(db)[0].hash.clone();
    let copy = dir.path().join("sao-luu/k-backup.db");
    let args = [
        "--database-url",
        db,
        "backup",
        "--out",
        copy.to_str().unwrap(),
    ];
    let o = khaosat(&args, "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "1 phiếu, chuỗi băm khớp; mã băm cuối chuỗi: {head}"
        )),
        "{}",
        stdout(&o)
    );
    let o = khaosat(&["--database-url", copy.to_str().unwrap(), "verify"], "");
    assert!(stdout(&o).contains(&head), "{}", stdout(&o));
    // Never over an existing file.
    let o = khaosat(&args, "");
    refused(&o, "không ghi đè");
}

/// `khaosat.toml` sets any option by its long name; the environment
/// overrides it; secrets and unknown names are refused with the fix.
fn a_configuration_file_sets_options_under_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let config = format!(
        "campaign = {:?}\ndatabase-url = {:?}\ntrial = true\ntelegram-staff = [11, 22]\nweb-url = \"https://from-the-file.example.vn\"\n",
        shipped_campaign_dir().display().to_string(),
        db.display().to_string(),
    );
    std::fs::write(dir.path().join("khaosat.toml"), &config).unwrap();
    let env = [("KHAOSAT_WEB_URL", "https://from-the-environment.example.vn")];
    let o = khaosat_in(dir.path(), &["config", "check"], "", &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for (option, source) in [
        ("database-url", "tệp cấu hình"),
        ("trial", "tệp cấu hình"),
        ("telegram-staff", "tệp cấu hình"),
        ("web-url", "biến môi trường"),
        ("listen", "mặc định"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().next() == Some(option) && l.contains(source)),
            "{option} from {source}: {out}"
        );
    }
    // Trial mode from the file: the chat offers trial tokens.
    let o = khaosat_in(dir.path(), &["chat"], "", &[]);
    assert!(
        stdout(&o).contains("Mã phiếu dùng thử"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    // A secret in the file is refused, naming where it belongs.
    std::fs::write(
        dir.path().join("khaosat.toml"),
        format!("{config}secret = \"00\"\n"),
    )
    .unwrap();
    let o = khaosat_in(dir.path(), &["config", "check"], "", &[]);
    refused(&o, "KHAOSAT_SECRET");
    std::fs::write(dir.path().join("khaosat.toml"), "databse-url = \"x\"\n").unwrap();
    let o = khaosat_in(dir.path(), &["config", "check"], "", &[]);
    refused(&o, "`databse-url` không phải là một tùy chọn");
}

fn a_closed_standard_output_ends_a_command_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let campaign = shipped_campaign_dir();
    let o = Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .args(["--campaign", campaign.to_str().unwrap(), "check"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sync check_prints_the_quota_table,
        sync check_reports_a_broken_file_and_fails,
        sync tokens_issue_writes_links_and_printable_sheets_but_stores_only_hashes,
        sync staff_are_added_listed_and_removed,
        sync command_line_mistakes_are_explained_in_vietnamese,
        sync a_scripted_chat_completes_a_citizen_ballot,
        sync a_scripted_chat_completes_a_leaders_units_over_two_sittings,
        sync progress_prints_the_quota_fulfilment,
        sync outside_trial_mode_the_2021_survey_is_closed,
        sync report_writes_every_output_and_refuses_altered_data,
        sync formula_wishes_are_published_as_text,
        sync the_secret_key_is_required_and_kept_outside_the_database,
        sync verify_checks_the_open_data_without_a_database,
        sync open_access_is_refused_in_the_terminal,
        sync before_close_the_report_is_progress_only,
        sync the_shipped_campaign_is_built_in,
        sync backup_copies_and_verifies_the_database,
        sync a_configuration_file_sets_options_under_the_environment,
        sync a_closed_standard_output_ends_a_command_quietly,
    ]
}
