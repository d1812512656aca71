//! Starting Lanyard for a test and driving it like a browser would.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use argon2::password_hash::PasswordHasher;
use argon2::{Argon2, Params};
use lanyard::audit::Audit;
use lanyard::clock::{Clock, ManualClock, SharedClock, UnixTime};
use lanyard::config::Config;
use lanyard::session::SessionStore;
use tokio::sync::oneshot;

/// Test start time (2026-11-28T00:00:00Z); tests move the clock instead of sleeping.
pub const T0: i64 = 1_795_824_000;

/// A cheap argon2id hash so that tests stay fast (production cost comes from the config).
pub fn cheap_hash(password: &str) -> String {
    let params = Params::new(256, 1, 1, None).unwrap();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes())
        .unwrap()
        .to_string()
}

/// The test directory: alice (engineering, admins), bob (engineering), carol (finance),
/// dave (no groups); each password is `<name>-pw`.
pub fn config_text(store: &str, keys_dir: &Path) -> String {
    let user = |name: &str, groups: &str, team: &str| {
        format!(
            "[[providers.users]]\nusername = \"{name}\"\npassword_hash = \"{}\"\nemail = \"{name}@example.com\"\ngroups = [{groups}]\ntags = {{ team = \"{team}\" }}\n",
            cheap_hash(&format!("{name}-pw"))
        )
    };
    let quickstart = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.toml"),
    )
    .unwrap();
    // Roles and policies as in the quickstart; server, store and users for the test.
    let roles_at = quickstart.find("[[roles]]").unwrap();
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         {store}\n\
         [tokens]\nalgorithm = \"ES256\"\nkeys_dir = \"{keys}\"\ndefault_duration = \"1h\"\n\
         [[providers]]\nid = \"corp\"\nkind = \"local\"\ndisplay_name = \"Corp directory\"\n\
         {}{}{}{}\n{}",
        user("alice", "\"engineering\", \"admins\"", "platform"),
        user("bob", "\"engineering\"", "payments"),
        user("carol", "\"finance\"", "finance"),
        user("dave", "", "none"),
        &quickstart[roles_at..],
        keys = keys_dir.display(),
    )
}

tokio::task_local! {
    /// The audit trail of every Lanyard started within [`AUDIT.scope`](tokio::task::LocalKey::scope)
    /// (a test's capturing sink); the log only otherwise.
    pub static AUDIT: lanyard::audit::Audit;
}

/// A running Lanyard.
pub struct Lanyard {
    pub url: String,
    pub clock: ManualClock,
    shutdown: Option<oneshot::Sender<()>>,
    _keys: Option<tempfile::TempDir>,
    _audit: Option<tempfile::TempDir>,
    /// What a live Lanyard ([`start_live`]) keeps running: its reloader, catalog poll and
    /// config directory.
    _live: Vec<Box<dyn std::any::Any + Send + Sync>>,
    /// A live Lanyard's reloader and config file ([`start_live`]).
    pub live: Option<(Arc<lanyard::reload::Reloader>, std::path::PathBuf)>,
}

impl Drop for Lanyard {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts Lanyard with the in-memory store.
pub async fn start_memory() -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let store = memory_store(&clock);
    let mut l = start_with(&text, store, clock).await;
    l._keys = Some(keys);
    l
}

pub fn memory_store(clock: &ManualClock) -> Arc<dyn SessionStore> {
    let shared: SharedClock = Arc::new(clock.clone());
    Arc::new(lanyard::session::MemoryStore::new("lanyard:", shared))
}

/// Starts Lanyard from config text around a given store.
pub async fn start_with(text: &str, store: Arc<dyn SessionStore>, clock: ManualClock) -> Lanyard {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_on(listener, text, store, clock).await
}

/// Starts Lanyard whose `public_url` is its real address (for peers that check the
/// issuer against the URL they discovered it at). `text` gets `{public_url}` replaced.
pub async fn start_public(text: &str, store: Arc<dyn SessionStore>, clock: ManualClock) -> Lanyard {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_public_on(listener, text, store, clock).await
}

/// [`start_public`] on a listener bound beforehand (a peer that must know Lanyard's real
/// URL, such as an IdP sending a browser back, is started in between).
pub async fn start_public_on(
    listener: tokio::net::TcpListener,
    text: &str,
    store: Arc<dyn SessionStore>,
    clock: ManualClock,
) -> Lanyard {
    let url = format!("http://{}", listener.local_addr().unwrap());
    let text = text.replace("http://127.0.0.1:8080", &url);
    start_on(listener, &text, store, clock).await
}

async fn start_on(
    listener: tokio::net::TcpListener,
    text: &str,
    store: Arc<dyn SessionStore>,
    clock: ManualClock,
) -> Lanyard {
    start_audited_on(listener, text, store, clock, None).await
}

/// Starts Lanyard from config text around a given store, writing audit events to `audit`.
pub async fn start_audited(
    text: &str,
    store: Arc<dyn SessionStore>,
    clock: ManualClock,
    audit: Audit,
) -> Lanyard {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_audited_on(listener, text, store, clock, Some(audit)).await
}

async fn start_audited_on(
    listener: tokio::net::TcpListener,
    text: &str,
    store: Arc<dyn SessionStore>,
    clock: ManualClock,
    audit: Option<Audit>,
) -> Lanyard {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut config = Config::from_toml(text, &examples, &|_| None).unwrap();
    // Without an [audit] section of its own, each test gets its own audit database (the
    // default, beside the keys, would be shared by tests whose keys are in the temp dir).
    let audit_dir = (!text.contains("[audit]")).then(|| tempfile::tempdir().unwrap());
    if let Some(dir) = &audit_dir {
        let file = dir.path().join("lanyard.db");
        config.audit.database = Some(lanyard::db::Location::Sqlite(file));
    }
    let shared: SharedClock = Arc::new(clock.clone());
    // A test's capturing sink, given directly or set for the task (`AUDIT.scope`); else
    // the trail the config describes.
    let state = match audit.or_else(|| AUDIT.try_with(Clone::clone).ok()) {
        Some(audit) => lanyard::server::build_state_with_audit(config, store, shared, audit),
        None => lanyard::server::build_state(config, store, shared),
    }
    .unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(lanyard::web::serve(listener, state, async {
        let _ = rx.await;
    }));
    let _ = clock.now();
    Lanyard {
        url: format!("http://{addr}"),
        clock,
        shutdown: Some(tx),
        _keys: None,
        _audit: audit_dir,
        _live: Vec::new(),
        live: None,
    }
}

/// Starts Lanyard the way `lanyard serve` runs it: from `text` written to a config file,
/// served through the reloader (which swaps the state on a file or catalog change), with
/// the admin catalog read before the first request and polled from then on. Policy files
/// are read from `examples/`; the `[audit]` section of `text` names the database.
pub async fn start_live(text: &str, store: Arc<dyn SessionStore>, clock: ManualClock) -> Lanyard {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_live_on(listener, text, store, clock).await
}

/// [`start_live`] on a listener bound beforehand, whose real address is the `public_url`
/// (`http://127.0.0.1:8080` in `text` replaced): for a peer that must know Lanyard's URL,
/// such as an IdP sending a browser back, started in between.
pub async fn start_live_public_on(
    listener: tokio::net::TcpListener,
    text: &str,
    store: Arc<dyn SessionStore>,
    clock: ManualClock,
) -> Lanyard {
    let url = format!("http://{}", listener.local_addr().unwrap());
    let text = text.replace("http://127.0.0.1:8080", &url);
    start_live_on(listener, &text, store, clock).await
}

async fn start_live_on(
    listener: tokio::net::TcpListener,
    text: &str,
    store: Arc<dyn SessionStore>,
    clock: ManualClock,
) -> Lanyard {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lanyard.toml");
    let text = text.replace(
        "document_file = \"policies/",
        &format!("document_file = \"{}/policies/", examples.display()),
    );
    std::fs::write(&path, &text).unwrap();
    let config = Config::load(&path).unwrap();
    let limits = config.limits.clone();
    let shared = lanyard::server::Shared::new(&config, store, Arc::new(clock.clone())).unwrap();
    let reloader =
        Arc::new(lanyard::reload::Reloader::new(path.clone(), config, &text, shared).unwrap());
    reloader.refresh_catalog().await.unwrap();
    let poll = reloader.watch_catalog().expect("a database is configured");
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(lanyard::web::serve_live(
        listener,
        reloader.router(),
        limits,
        async {
            let _ = rx.await;
        },
    ));
    Lanyard {
        url: format!("http://{addr}"),
        clock,
        shutdown: Some(tx),
        _keys: None,
        _audit: None,
        _live: vec![Box::new(poll), Box::new(dir)],
        live: Some((reloader, path)),
    }
}

/// A browser: keeps cookies, does not follow redirects (tests look at each hop).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// Where Lanyard's "Continue to the application" page sends the browser: the target of
/// its meta refresh (HTML entities decoded); `None` on any other page.
pub fn continue_url(html: &str) -> Option<String> {
    let marker = "<meta http-equiv=\"refresh\" content=\"0;url=";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// The access token shown on /credentials.
pub fn token_of(html: &str) -> String {
    let marker = "export LANYARD_TOKEN=&#39;";
    let alt = "export LANYARD_TOKEN=&#x27;";
    let (start, m) = html
        .find(marker)
        .map(|i| (i, marker))
        .or_else(|| html.find(alt).map(|i| (i, alt)))
        .expect("page shows an export line");
    let start = start + m.len();
    let end = html[start..].find('&').unwrap() + start;
    html[start..end].to_owned()
}

impl Lanyard {
    /// Keeps a temporary directory (keys) alive as long as this Lanyard.
    pub fn keep(&mut self, dir: tempfile::TempDir) {
        self._keys = Some(dir);
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Signs in through the password form; returns the response to the POST.
    pub async fn sign_in(
        &self,
        b: &reqwest::Client,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        let form = b.get(self.at("/auth/corp")).send().await.unwrap();
        assert_eq!(form.status(), 200);
        let html = form.text().await.unwrap();
        let csrf = csrf_of(&html);
        b.post(self.at("/auth/corp"))
            .form(&[("username", user), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .unwrap()
    }

    /// Signs in and follows to the role picker; returns its HTML.
    pub async fn picker(&self, b: &reqwest::Client, user: &str) -> (u16, String) {
        let r = self.sign_in(b, user, &format!("{user}-pw")).await;
        assert_eq!(r.status(), 303, "sign-in of {user}");
        let r = b.get(self.at("/roles")).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// Chooses a role on the picker; returns the response to the POST.
    pub async fn choose(
        &self,
        b: &reqwest::Client,
        picker_html: &str,
        role: &str,
        duration: u64,
    ) -> reqwest::Response {
        let csrf = csrf_of(picker_html);
        b.post(self.at("/roles"))
            .form(&[
                ("role", role),
                ("duration", &duration.to_string()),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The body of `GET path` with `b`'s cookies, whatever the status.
    pub async fn text(&self, b: &reqwest::Client, path: &str) -> String {
        b.get(self.at(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The token on /credentials.
    pub async fn credentials(&self, b: &reqwest::Client) -> (String, String) {
        let r = b.get(self.at("/credentials")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        (token_of(&html), html)
    }
}
