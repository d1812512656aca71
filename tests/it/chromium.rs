//! A real browser for the tests: headless Chromium (Debian's `chromium`) driven over
//! WebDriver by `chromedriver` (Debian's `chromium-driver`) and the `fantoccini` crate.
//!
//! One chromedriver per test binary, started on first use and shared. Each test opens its
//! own [`Page`]: a WebDriver session, which is a Chromium of its own with a fresh temporary
//! profile, so cookies never leak between tests and tests run in parallel. The chromedriver
//! is a process, not a task, so it outlives each test's tokio runtime; a test's session
//! lives on that test's runtime and ends with it ([`Page::close`]).
//!
//! chromedriver runs under a small `sh` that is the leader of its own process group and
//! waits on a pipe from this process: when the test binary exits, however it exits, the
//! pipe closes and the whole group (chromedriver and any Chromium a failed test left
//! open) is terminated.
//!
//! Every page state a test names with [`Page::shot`] is looked at four ways: at 1280x800
//! and at 390x844 (a phone), each in the light and the dark colour scheme. Each way is
//! written to `target/screenshots/<test>/<nn>-<step>-<size>-<scheme>.png` (git-ignored), so
//! a person can look at each step, and on Lanyard's own pages each is checked by axe-core
//! (npm, `tests/peers/axe`): a serious or critical violation fails the test. The window is
//! 1280x800 unless a test asks for another size ([`Page::open_sized`]); it is put back after
//! each state.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// The Chromium binary.
const CHROMIUM: &str = "/usr/bin/chromium";
/// The chromedriver binary.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The default window: a laptop.
pub const DESKTOP: (u32, u32) = (1280, 800);
/// A phone's viewport.
pub const PHONE: (u32, u32) = (390, 844);

/// axe-core's browser build, read once per test binary.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/peers/axe/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `scripts/ensure-deps.sh test` (or `make test`), which installs \
                 the pinned axe-core",
                path.display()
            )
        })
    })
}

/// A Chrome DevTools command sent through chromedriver (`goog/cdp/execute`), for what
/// WebDriver has no command of its own: the emulated colour scheme, and [`Page::cdp`].
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A colour scheme the page is looked at in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Light,
    Dark,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Light => "light",
            Scheme::Dark => "dark",
        }
    }
}

/// The shared chromedriver.
struct Driver {
    url: String,
    /// Held open so that the wrapper keeps chromedriver alive; closed on exit.
    _stdin: ChildStdin,
    _child: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(|| {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: run `scripts/ensure-deps.sh test` (or `make test`), which \
                 installs Debian's chromium and chromium-driver"
            );
        }
        let port = free_port();
        // `read` returns when this process's end of the pipe closes (at exit, even on a
        // panic or a kill); then the group, chromedriver and its browsers, is terminated.
        let script = format!(
            "{CHROMEDRIVER} --port={port} --allowed-ips=127.0.0.1 >/dev/null 2>&1 & read _; kill -TERM 0"
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let stdin = child.stdin.take().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            url,
            _stdin: stdin,
            _child: child,
        }
    })
}

/// The folder of screenshots: `target/screenshots`, next to the build's own folders.
fn screenshots_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|p| p.join("screenshots"))
        .unwrap_or_else(|| PathBuf::from("target/screenshots"))
}

/// One test's browser: a WebDriver session with a fresh profile.
pub struct Page {
    pub client: Client,
    name: String,
    step: AtomicU32,
    size: (u32, u32),
    _profile: tempfile::TempDir,
}

impl Page {
    /// A browser for the test `name` (its screenshot folder) at the default size.
    pub async fn open(name: &str) -> Page {
        Self::open_sized(name, DESKTOP).await
    }

    /// A browser whose window is `width` x `height`.
    pub async fn open_sized(name: &str, size: (u32, u32)) -> Page {
        Self::open_as(name, size, None).await
    }

    /// A browser set to the language `lang` (`de`, `de-AT`…): its UI language and the
    /// `Accept-Language` it sends, as a person who set their browser to it.
    pub async fn open_in(name: &str, lang: &str) -> Page {
        Self::open_as(name, DESKTOP, Some(lang)).await
    }

    async fn open_as(name: &str, (width, height): (u32, u32), lang: Option<&str>) -> Page {
        let driver = driver();
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-extensions".to_owned(),
            "--password-store=basic".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = serde_json::json!({ "binary": CHROMIUM, "args": args });
        if let Some(lang) = lang {
            options["args"]
                .as_array_mut()
                .unwrap()
                .push(format!("--lang={lang}").into());
            options["prefs"] = serde_json::json!({ "intl.accept_languages": lang });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        caps.insert("pageLoadStrategy".into(), "normal".into());
        let client = tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::new(HttpConnector::new())
                .capabilities(caps)
                .connect(&driver.url),
        )
        .await
        .expect("Chromium started within 60 s")
        .expect("a WebDriver session");
        let dir = screenshots_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let page = Page {
            client,
            name: name.to_owned(),
            step: AtomicU32::new(0),
            size: (width, height),
            _profile: profile,
        };
        page.resize(width, height).await;
        page
    }

    /// Sets the size of the viewport (what the page sees as its window).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
        // The outer window includes no chrome in headless mode, but correct for any
        // difference so that the page lays out at exactly the size asked for.
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .unwrap();
        let (w, h) = (
            inner[0].as_u64().unwrap_or(u64::from(width)),
            inner[1].as_u64().unwrap_or(u64::from(height)),
        );
        if (w, h) != (u64::from(width), u64::from(height)) {
            let fix = |want: u32, got: u64| {
                u32::try_from(i64::from(want) * 2 - i64::try_from(got).unwrap()).unwrap()
            };
            self.client
                .set_window_size(fix(width, w), fix(height, h))
                .await
                .unwrap();
        }
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Reloads the page shown (as the browser's reload button does).
    pub async fn reload(&self) {
        self.client.refresh().await.unwrap();
    }

    /// The address shown in the location bar.
    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.unwrap()
    }

    /// The page's HTML as the browser sees it now.
    pub async fn html(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// The visible text of the page. Right after a click the next page may still be on
    /// its way (no `body` yet, or the old one gone stale): asked again for up to 10 s.
    pub async fn text(&self) -> String {
        let started = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await,
                Err(e) => Err(e),
            };
            match text {
                Ok(text) => return text,
                Err(_) if started.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the page has no readable body: {e}"),
            }
        }
    }

    /// Types into the field named `name`, as a person would.
    pub async fn fill(&self, name: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(&format!("[name=\"{name}\"]")))
            .await
            .unwrap_or_else(|e| panic!("no field {name}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing matches {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits (up to 20 s) until the page shows `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let started = Instant::now();
        loop {
            let shown = self.text().await;
            if shown.contains(text) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "waited 20 s for {text:?}; the page says:\n{shown}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 20 s) until the location satisfies `ok`; returns it.
    pub async fn wait_for_url(&self, what: &str, ok: impl Fn(&url::Url) -> bool) -> url::Url {
        let started = Instant::now();
        loop {
            let url = self.url().await;
            if ok(&url) {
                return url;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let n = self.step.fetch_add(1, Ordering::Relaxed) + 1;
                let step = self.screenshot(&format!("{n:02}-timeout")).await;
                panic!(
                    "waited 20 s for {what}; still at {url} (screenshot {})\n{}",
                    step.display(),
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The page state now, as the next step of this test: a screenshot at the desktop and
    /// the phone size, each in the light and the dark scheme, and on Lanyard's pages an axe
    /// check of each, which fails the test on any serious or critical violation. Returns the
    /// first screenshot's path.
    pub async fn shot(&self, step: &str) -> PathBuf {
        let n = self.step.fetch_add(1, Ordering::Relaxed) + 1;
        let mut first = None;
        let mut problems = Vec::new();
        for (size_name, (width, height)) in [("desktop", DESKTOP), ("phone", PHONE)] {
            self.resize(width, height).await;
            for scheme in [Scheme::Light, Scheme::Dark] {
                self.set_scheme(scheme).await;
                let label = format!("{step}-{size_name}-{}", scheme.name());
                let path = self.screenshot(&format!("{n:02}-{label}")).await;
                first.get_or_insert(path);
                for problem in self.accessibility_problems().await {
                    problems.push(format!("[{label}] {problem}"));
                }
            }
        }
        self.set_scheme(Scheme::Light).await;
        self.resize(self.size.0, self.size.1).await;
        assert!(
            problems.is_empty(),
            "axe found serious or critical problems on {} at step {step} ({}):\n{}",
            self.url().await,
            self.name,
            problems.join("\n")
        );
        first.unwrap_or_default()
    }

    /// Writes a screenshot of the viewport as it is now, named `file`.png.
    async fn screenshot(&self, file: &str) -> PathBuf {
        let dir = screenshots_dir().join(&self.name);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{file}.png"));
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Emulates the `prefers-color-scheme` media feature.
    async fn set_scheme(&self, scheme: Scheme) {
        let cmd = Cdp {
            cmd: "Emulation.setEmulatedMedia",
            params: serde_json::json!({
                "features": [{ "name": "prefers-color-scheme", "value": scheme.name() }]
            }),
        };
        self.client.issue_cmd(cmd).await.unwrap();
    }

    /// axe-core's serious and critical violations on the page now, one line each with the
    /// rule, what it says and where; empty on pages that are not Lanyard's (an upstream's
    /// login page is not ours to fix).
    pub async fn accessibility_problems(&self) -> Vec<String> {
        let ours = self
            .client
            .execute(
                "return !!document.querySelector('link[rel=stylesheet][href=\"/static/lanyard.css\"]');",
                vec![],
            )
            .await
            .unwrap();
        if ours != serde_json::Value::Bool(true) {
            return Vec::new();
        }
        let loaded = self
            .client
            .execute("return typeof window.axe === 'object';", vec![])
            .await
            .unwrap();
        if loaded != serde_json::Value::Bool(true) {
            self.client
                .execute(&format!("{}\nreturn true;", axe_source()), vec![])
                .await
                .unwrap();
        }
        let found = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { resultTypes: ["violations"] })
                  .then(r => done(r.violations
                    .filter(v => v.impact === "serious" || v.impact === "critical")
                    .map(v => v.impact + " " + v.id + ": " + v.help + " — " +
                      v.nodes.map(n => n.target.join(" ") + " (" +
                        (n.failureSummary || "").replace(/\s+/g, " ") + ")").join("; "))))
                  .catch(e => done(["axe failed: " + e]));"#,
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap_or_else(|e| panic!("axe's answer: {e}"))
    }

    /// Sends the Chrome DevTools command `cmd` with `params` to the page (what WebDriver has
    /// no command for: a time zone, scripts turned off, clipboard permissions); its answer.
    pub async fn cdp(&self, cmd: &'static str, params: serde_json::Value) -> serde_json::Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// Ends the session (and its Chromium).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
