//! Shared test harness: the real survey service on a real database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use khaosat::campaign::{self, Campaign};
use khaosat::engine::{Action, Reply};
use khaosat::key::Key;
use khaosat::metrics::Metrics;
use khaosat::secret::Secret;
use khaosat::settings::Settings;
use khaosat::startup;
use khaosat::store::{Store, TokenRecord};
use khaosat::survey::{Clock, Content, Handled, Message, Origin, Survey};
use khaosat::token::Token;
use sqlx::Connection;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shipped_campaign_dir() -> PathBuf {
    manifest_dir().join("dialogues/thang-binh-2021")
}

pub fn small_campaign_dir() -> PathBuf {
    manifest_dir().join("tests/fixtures/campaign-small")
}

pub fn load(dir: &Path) -> Campaign {
    campaign::load(dir).unwrap_or_else(|e| panic!("{e}"))
}

/// A moment given in Vietnam time, `YYYY-MM-DDTHH:MM:SS`.
pub fn vn(local: &str) -> DateTime<Utc> {
    let n = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").unwrap();
    chrono_tz::Asia::Ho_Chi_Minh
        .from_local_datetime(&n)
        .unwrap()
        .with_timezone(&Utc)
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<TempDir>,
    pg_name: Option<String>,
}

const PG_ADMIN_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("KHAOSAT_TEST_POSTGRES_URL").unwrap_or_else(|_| PG_ADMIN_DEFAULT.to_string())
}

impl TestDb {
    /// A new database. A PostgreSQL test runs only where the server is
    /// there or required (see `harness.rs`), so a missing one fails here.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("khaosat.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "PostgreSQL is required for this test but {admin} is unreachable: {e}"
                        )
                    });
                let name = format!("khaosat_t_{}", khaosat::hex::random::<6>());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// Drops a PostgreSQL test database (SQLite's folder goes with `self`).
    pub async fn drop_db(self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

/// The ids of the shipped campaign's communes (the second unit kind), in order.
pub fn communes(survey: &Survey) -> Vec<String> {
    survey
        .campaign()
        .units()
        .iter()
        .filter(|u| u.kind == 1)
        .map(|u| u.id.clone())
        .collect()
}

/// The survey service on a test database, with a clock the test controls,
/// assembled by the composition root as `khaosat serve` assembles it.
pub struct Harness {
    pub db: TestDb,
    pub campaign_dir: PathBuf,
    pub now: Arc<AtomicI64>,
    pub metrics: Arc<Metrics>,
    /// The service's secret key (what KHAOSAT_SECRET would hold).
    pub key: Key,
    pub survey: Arc<Survey>,
    store: Store,
    running: Option<Running>,
}

/// A whole service (`startup::build`) running until stopped.
pub struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Its settings, to start the same service again after a restart.
    settings: Settings,
}

impl Harness {
    pub async fn new(backend: Backend, campaign_dir: PathBuf) -> Self {
        let db = TestDb::new(backend).await;
        let now = Arc::new(AtomicI64::new(vn("2021-02-01T09:00:00").timestamp()));
        let metrics = Arc::new(Metrics::default());
        let key = Key::generate();
        let (survey, store) =
            startup::open_survey(&settings(&db.url, &campaign_dir, &now, &metrics, &key))
                .await
                .unwrap();
        Self {
            db,
            campaign_dir,
            now,
            metrics,
            key,
            survey,
            store,
            running: None,
        }
    }

    pub async fn shipped(backend: Backend) -> Self {
        Self::new(backend, shipped_campaign_dir()).await
    }

    pub async fn small(backend: Backend) -> Self {
        Self::new(backend, small_campaign_dir()).await
    }

    /// The settings of this test's service: its campaign, its database, its clock.
    pub fn settings(&self) -> Settings {
        settings(
            &self.db.url,
            &self.campaign_dir,
            &self.now,
            &self.metrics,
            &self.key,
        )
    }

    /// Stops the service and starts a new one on the same database, as a
    /// process restart would (nothing survives but the database); a
    /// service that was serving serves again with the same settings.
    pub async fn restart(&mut self) {
        let again = self.stop().await;
        self.store.close().await;
        let (survey, store) = startup::open_survey(&self.settings()).await.unwrap();
        self.survey = survey;
        self.store = store;
        if let Some(settings) = again {
            self.serve_with(settings).await;
        }
    }

    pub fn set_time(&self, local: &str) {
        self.now.store(vn(local).timestamp(), Ordering::SeqCst);
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every ballot in the chain, after the mixer has emptied the box (as it
    /// does at the end of a window or at close).
    pub async fn ballots(&self) -> Vec<khaosat::ballot::StoredBallot> {
        self.survey.mix(true).await.unwrap();
        self.store.ballots().await.unwrap()
    }

    /// A connection pool of our own to the test's database, as whoever
    /// holds the database has: for changing it behind the service's back.
    pub async fn raw_pool(&self) -> sqlx::AnyPool {
        raw_pool(&self.db.url).await
    }

    /// Issues a token (as `khaosat tokens issue` does) and returns it.
    pub async fn token(&self, group: &str, units: &[&str]) -> Token {
        self.token_expiring(group, units, None).await
    }

    pub async fn token_expiring(
        &self,
        group: &str,
        units: &[&str],
        expires_at: Option<i64>,
    ) -> Token {
        insert_token(
            self.store(),
            &self.key,
            self.survey.campaign().id(),
            group,
            units,
            expires_at,
        )
        .await
    }

    /// Serves the web chat on a free loopback port; returns its base URL.
    pub async fn serve_http(&mut self) -> String {
        self.serve(|_| {}).await
    }

    /// Builds the whole service with `startup::build` (settings adjusted
    /// by `configure`: a channel turned on, say), runs it in place of the
    /// harness's survey, and returns its base URL.
    pub async fn serve(&mut self, configure: impl FnOnce(&mut Settings)) -> String {
        let mut settings = self.settings();
        configure(&mut settings);
        self.serve_with(settings).await
    }

    /// Serves with these settings (made from [`Harness::settings`]).
    pub async fn serve_with_settings(&mut self, settings: Settings) -> String {
        self.serve_with(settings).await
    }

    async fn serve_with(&mut self, settings: Settings) -> String {
        self.stop().await;
        let app = startup::build(settings.clone()).await.unwrap();
        self.store.close().await;
        self.survey = app.survey().clone();
        self.store = app.store().clone();
        let url = format!("http://{}", app.address());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        self.running = Some(Running {
            stop,
            task,
            settings,
        });
        url
    }

    /// Stops the running service (gracefully, as on SIGTERM) and opens the
    /// survey again for the test; returns the settings it ran with.
    pub async fn stop(&mut self) -> Option<Settings> {
        let running = self.running.take()?;
        let _ = running.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), running.task)
            .await
            .expect("the service stops")
            .unwrap()
            .unwrap();
        let (survey, store) = startup::open_survey(&self.settings()).await.unwrap();
        self.survey = survey;
        self.store = store;
        Some(running.settings)
    }

    pub async fn finish(mut self) {
        self.stop().await;
        self.store.close().await;
        self.db.drop_db().await;
    }
}

/// The settings of a service on the database at `url`, reading time from
/// `now`: what one `khaosat serve` process is started with.
pub fn settings(
    url: &str,
    campaign_dir: &Path,
    now: &Arc<AtomicI64>,
    metrics: &Arc<Metrics>,
    key: &Key,
) -> Settings {
    let mut settings = Settings::new(campaign_dir, url);
    settings.secret = Some(Secret::new(key.to_hex()));
    // One registry for every start of the test's service, as one scrape
    // target would see it: counters go on across restarts.
    settings.metrics = metrics.clone();
    let now = now.clone();
    settings.clock =
        Clock::from_fn(move || DateTime::from_timestamp(now.load(Ordering::SeqCst), 0).unwrap());
    settings
}

/// A connection pool of our own to the database at `url` (a path or URL).
pub async fn raw_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&khaosat::store::database_url(url))
        .await
        .unwrap()
}

/// Issues a token (as `khaosat tokens issue` does) and returns it.
pub async fn insert_token(
    store: &Store,
    key: &Key,
    campaign: &str,
    group: &str,
    units: &[&str],
    expires_at: Option<i64>,
) -> Token {
    let t = Token::generate(&mut rand::rng());
    store
        .insert_tokens(&[TokenRecord {
            hash: t.hash(key),
            campaign: campaign.to_string(),
            group: group.to_string(),
            units: units.iter().map(|u| u.to_string()).collect(),
            expires_at,
            batch: "test".into(),
        }])
        .await
        .unwrap();
    t
}

/// One respondent on one channel, remembering the last replies they saw.
pub struct Chat {
    pub channel: String,
    pub user: String,
    next_id: u64,
    pub last: Vec<Reply>,
}

impl Chat {
    pub fn new(channel: &str, user: &str) -> Self {
        Self {
            channel: channel.into(),
            user: user.into(),
            next_id: 1,
            last: Vec::new(),
        }
    }

    /// Sends content under the next message id.
    pub async fn send(&mut self, survey: &Arc<Survey>, content: Content) -> Handled {
        // Message ids are unique per channel (like Telegram's update_id).
        let id = format!("{}-{}", self.user, self.next_id);
        self.next_id += 1;
        self.send_with_id(survey, content, Some(id)).await
    }

    pub async fn send_with_id(
        &mut self,
        survey: &Arc<Survey>,
        content: Content,
        id: Option<String>,
    ) -> Handled {
        let handled = survey
            .handle(Message {
                channel: self.channel.clone(),
                user: self.user.clone(),
                id,
                content,
                // As the channel would say who stands behind the user id.
                origin: match self.channel.as_str() {
                    "web" => Origin::Address([127, 0, 0, 1].into()),
                    "terminal" => Origin::Local,
                    _ => Origin::Account,
                },
                successor: None,
                pressed: None,
            })
            .await
            .unwrap();
        if !handled.duplicate {
            self.last = handled.replies.clone();
        }
        handled
    }

    pub async fn start(&mut self, survey: &Arc<Survey>, payload: Option<&str>) -> Handled {
        self.send(survey, Content::Start(payload.map(str::to_string)))
            .await
    }

    pub async fn say(&mut self, survey: &Arc<Survey>, text: &str) -> Handled {
        self.send(survey, Content::Text(text.into())).await
    }

    /// Presses the button whose label contains `label` on the latest message
    /// that has buttons.
    pub async fn press(&mut self, survey: &Arc<Survey>, label: &str) -> Handled {
        let data = self.button_data(label);
        self.send(survey, Content::button(&data)).await
    }

    /// The callback data of a button on the latest message with buttons.
    pub fn button_data(&self, label: &str) -> String {
        let reply = self
            .last
            .iter()
            .rev()
            .find(|r| !r.choices.is_empty() || !r.controls.is_empty())
            .unwrap_or_else(|| panic!("no buttons in {:#?}", self.text()));
        let b = reply
            .choices
            .iter()
            .chain(&reply.controls)
            .find(|b| b.label.contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} in {}", self.text()));
        b.action.encode(reply.step)
    }

    /// Everything the latest replies said.
    pub fn text(&self) -> String {
        self.last
            .iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    /// The button press encoded at the current step for an action.
    pub fn action_data(&self, action: Action) -> String {
        let step = self.last.last().map_or(0, |r| r.step);
        action.encode(step)
    }
}

/// Compares `actual` with the snapshot file `tests/snapshots/<name>`;
/// `UPDATE_SNAPSHOTS=1` rewrites it (review the diff before committing).
pub fn snapshot(name: &str, actual: &str) {
    let path = manifest_dir().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing; run with UPDATE_SNAPSHOTS=1 to write it",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its snapshot at line {}:\n  want: {:?}\n  got:  {:?}\n\
             (UPDATE_SNAPSHOTS=1 rewrites it)",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

/// Checks a CSV file a spreadsheet will open: each of `formulas` is there
/// as text (a leading apostrophe), and no cell starts a formula.
pub fn assert_formulas_are_text(name: &str, csv: &str, formulas: &[&str]) -> usize {
    let mut found = 0;
    for f in formulas {
        let quoted = f.replace('"', "\"\"");
        if csv.contains(&quoted) {
            found += 1;
            assert!(
                csv.contains(&format!("'{quoted}")),
                "{name} writes {f:?} as a formula:\n{csv}"
            );
        }
    }
    for field in csv.split([',', '\n']) {
        let field = field.trim_start_matches('"');
        assert!(
            !field.starts_with(['=', '+', '@']),
            "{name}: a cell starts a formula: {field:?}"
        );
    }
    found
}
