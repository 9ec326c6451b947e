//! A headless Chromium driven through chromedriver (WebDriver, with `fantoccini`), with the
//! few verbs the browser scenarios are written in: open a page, fill a field found by its
//! label, pick an option, press a button found by its text, expect a text, and check a page
//! with axe-core, take screenshots at phone and desktop width, or switch to dark mode.
//!
//! Every element is found the way a person finds it: a field by the text of its `<label>`, a
//! button by its text, a link by its text. A failing step says which step it was, the page's
//! address and its text.
//!
//! Each [`Browser`] runs its own chromedriver on a free port, in a process group of its own
//! that is killed on drop (Chromium included), so a failing test leaves no browser behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// The environment variable that makes a missing browser a failure instead of a skip.
pub const REQUIRED_VAR: &str = "COCREATE_TEST_BROWSER";

/// Phone and desktop viewports for screenshots: (name, width, height, mobile).
pub const VIEWPORTS: [(&str, u32, u32, bool); 2] =
    [("phone", 390, 844, true), ("desktop", 1280, 900, false)];

/// The axe-core rule tags checked: WCAG 2.0, 2.1 and 2.2, levels A and AA.
const AXE_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

fn required() -> bool {
    std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "1")
}

/// Chromium's binary: `COCREATE_CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium_path() -> PathBuf {
    std::env::var_os("COCREATE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// chromedriver: `COCREATE_CHROMEDRIVER`, else the first `chromedriver` on `PATH`.
fn chromedriver_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("COCREATE_CHROMEDRIVER") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
}

/// Whether Chromium and chromedriver are installed. When they are not, says SKIPPED and
/// returns false, unless `COCREATE_TEST_BROWSER=1` (CI), where it fails.
pub fn available() -> bool {
    let chromium = chromium_path();
    let driver = chromedriver_path();
    if chromium.is_file() && driver.is_some() {
        return true;
    }
    let missing = format!(
        "chromium at {}: {}; chromedriver on PATH: {}",
        chromium.display(),
        if chromium.is_file() {
            "found"
        } else {
            "missing"
        },
        if driver.is_some() { "found" } else { "missing" },
    );
    assert!(
        !required(),
        "{REQUIRED_VAR}=1 but the browser tests cannot run ({missing}): \
         apt-get install chromium chromium-driver"
    );
    eprintln!(
        "SKIPPED: install chromium and chromium-driver (apt) to run the browser tests ({missing})"
    );
    false
}

/// `tests/browser/node_modules/axe-core/axe.min.js`, installed by `npm ci` in `tests/browser`.
fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js")
}

/// axe-core's source, read once; `None` (SKIPPED said once) when it is not installed, unless
/// `COCREATE_TEST_BROWSER=1`, where that fails.
fn axe_source() -> Option<&'static str> {
    static AXE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    AXE.get_or_init(|| match std::fs::read_to_string(axe_path()) {
        Ok(s) => Some(s),
        Err(e) => {
            assert!(
                !required(),
                "{REQUIRED_VAR}=1 but axe-core is missing at {} ({e}): run npm ci in tests/browser",
                axe_path().display()
            );
            eprintln!(
                "SKIPPED: the accessibility checks (run `npm ci` in tests/browser for axe-core)"
            );
            None
        }
    })
    .as_deref()
}

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots`, else `target/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| manifest.join(t))
        .unwrap_or_else(|| manifest.join("target"));
    target.join("screenshots")
}

/// A Chrome DevTools Protocol command sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
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
        let body = json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// What axe-core found on a page: how many rules passed, and the violations, each
/// `{id, impact, help, url, nodes: [{html, target, summary}]}`.
pub struct Audit {
    pub passed: u64,
    pub violations: Vec<Value>,
}

/// A violation in words: impact, rule, help, and each offending element with its HTML.
fn describe_violation(v: &Value) -> String {
    let mut report = format!(
        "[{}] {} — {} ({})",
        v["impact"].as_str().unwrap_or("unknown"),
        v["id"].as_str().unwrap_or(""),
        v["help"].as_str().unwrap_or(""),
        v["url"].as_str().unwrap_or("")
    );
    for n in v["nodes"].as_array().into_iter().flatten() {
        report.push_str(&format!(
            "\n    at {}: {}\n      {}",
            n["target"].as_str().unwrap_or(""),
            n["html"].as_str().unwrap_or(""),
            n["summary"]
                .as_str()
                .unwrap_or("")
                .replace('\n', "\n      ")
        ));
    }
    report
}

/// An XPath string literal for `s`, quotes included.
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// One headless Chromium with its chromedriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
    step: Mutex<String>,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium in English, at desktop size.
    pub async fn start() -> Browser {
        Browser::start_with(&[]).await
    }

    /// [`Browser::start`] with more Chromium switches.
    pub async fn start_with(extra_args: &[&str]) -> Browser {
        use std::os::unix::process::CommandExt;
        let port = super::common::free_port();
        let driver = Command::new(chromedriver_path().expect("chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = match http.get(format!("{url}/status")).send().await {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .is_ok_and(|s| s["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--lang=en-US",
        ];
        args.extend_from_slice(extra_args);
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_path(),
                "args": args,
                "prefs": {"intl.accept_languages": "en-US,en"},
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let browser = Browser {
            client: match ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&url)
                .await
            {
                Ok(c) => c,
                Err(e) => panic!("cannot start Chromium through chromedriver: {e}"),
            },
            driver,
            step: Mutex::new(String::new()),
        };
        // No page may take longer than this to load; scripts (axe) get as long.
        browser
            .client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .unwrap();
        browser
    }

    /// Ends the WebDriver session (Chromium quits); chromedriver is killed on drop.
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }

    /// Names the step now running: printed, and repeated by any failure within it.
    pub fn step(&self, what: &str) {
        eprintln!("==> browser step: {what}");
        *self.step.lock().unwrap() = what.to_string();
    }

    /// A failure in the current step: the step, the page's address and text, and `what`.
    async fn fail(&self, what: &str) -> ! {
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = self.text().await;
        let step = self.step.lock().unwrap().clone();
        panic!(
            "browser step '{step}' failed: {what}\n  at {url}\n  page text:\n{}",
            text.chars().take(3000).collect::<String>()
        );
    }

    /// The visible text of the page (`innerText` of the body).
    pub async fn text(&self) -> String {
        self.client
            .execute(
                "return document.body ? document.body.innerText : ''",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            self.fail(&format!("cannot open {url}: {e}")).await;
        }
    }

    /// Runs `action` (a click that submits or follows) and waits until the next page has
    /// loaded.
    async fn navigating<F, Fut>(&self, what: &str, action: F)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
    {
        let _ = self
            .client
            .execute("window.__cocreateBefore = true", vec![])
            .await;
        if let Err(e) = action().await {
            self.fail(&format!("{what}: {e}")).await;
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.__cocreateBefore === undefined && document.readyState === 'complete'",
                    vec![],
                )
                .await;
            if loaded.is_ok_and(|v| v == Value::Bool(true)) {
                return;
            }
            if Instant::now() > deadline {
                self.fail(&format!(
                    "{what}: no new page loaded (is a required field empty or invalid?)"
                ))
                .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The form control labelled `label` (a `<label>` whose text is exactly `label`, through
    /// its `for`, or the control inside it).
    pub async fn field(&self, label: &str) -> fantoccini::elements::Element {
        let xpath = format!("//label[normalize-space()={}]", xpath_literal(label));
        let found = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(l) => l,
            Err(_) => self.fail(&format!("no field labelled '{label}'")).await,
        };
        if let Ok(Some(id)) = found.attr("for").await {
            if let Ok(el) = self.client.find(Locator::Id(&id)).await {
                return el;
            }
            self.fail(&format!(
                "the label '{label}' names the id '{id}', which no element has"
            ))
            .await;
        }
        match found
            .find(Locator::XPath(".//input | .//select | .//textarea"))
            .await
        {
            Ok(el) => el,
            Err(_) => {
                self.fail(&format!("the label '{label}' labels no control"))
                    .await
            }
        }
    }

    /// Types `text` into the field labelled `label`, replacing what it held.
    pub async fn fill(&self, label: &str, text: &str) {
        let el = self.field(label).await;
        if let Err(e) = el.clear().await {
            self.fail(&format!("cannot clear '{label}': {e}")).await;
        }
        if let Err(e) = el.send_keys(text).await {
            self.fail(&format!("cannot type into '{label}': {e}")).await;
        }
    }

    /// Picks the option of the select labelled `label` whose value, or else whose text, is
    /// `value`.
    pub async fn select(&self, label: &str, value: &str) {
        let el = self.field(label).await;
        if el.select_by_value(value).await.is_ok() {
            return;
        }
        if el.select_by_label(value).await.is_ok() {
            return;
        }
        let options = el.text().await.unwrap_or_default();
        self.fail(&format!(
            "the select '{label}' has no option '{value}' (options: {options})"
        ))
        .await;
    }

    /// Presses the button whose text is `text` and waits for the page it leads to.
    pub async fn press(&self, text: &str) {
        let lit = xpath_literal(text);
        let xpath = format!(
            "//button[normalize-space()={lit}] | //input[(@type='submit' or @type='button') and @value={lit}]"
        );
        let button = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(b) => b,
            Err(_) => self.fail(&format!("no button '{text}'")).await,
        };
        self.navigating(&format!("press '{text}'"), || button.click())
            .await;
    }

    /// Whether the page has a button whose text is `text`.
    pub async fn has_button(&self, text: &str) -> bool {
        let xpath = format!("//button[normalize-space()={}]", xpath_literal(text));
        self.client.find(Locator::XPath(&xpath)).await.is_ok()
    }

    /// Follows the link whose text is `text` and waits for the page.
    pub async fn click_link(&self, text: &str) {
        let xpath = format!("//a[normalize-space()={}]", xpath_literal(text));
        let link = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(l) => l,
            Err(_) => self.fail(&format!("no link '{text}'")).await,
        };
        self.navigating(&format!("follow the link '{text}'"), || link.click())
            .await;
    }

    /// Expects a link whose address starts with `prefix`.
    pub async fn expect_link_to(&self, prefix: &str) {
        let hrefs = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)",
                vec![],
            )
            .await
            .unwrap_or_default();
        let found = hrefs.as_array().is_some_and(|l| {
            l.iter()
                .any(|h| h.as_str().unwrap_or("").starts_with(prefix))
        });
        if !found {
            self.fail(&format!("no link to {prefix}... (links: {hrefs})"))
                .await;
        }
    }

    /// Expects `text` on the page (waiting a little, as a person would).
    pub async fn expect_text(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            if self.text().await.contains(text) {
                return;
            }
            if Instant::now() > deadline {
                self.fail(&format!("expected the text '{text}'")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Expects any one of `texts` on the page.
    pub async fn expect_any_text(&self, texts: &[&str]) {
        let page = self.text().await;
        if !texts.iter().any(|t| page.contains(t)) {
            self.fail(&format!("expected one of the texts {texts:?}"))
                .await;
        }
    }

    /// Expects `text` not to be on the page.
    pub async fn expect_no_text(&self, text: &str) {
        if self.text().await.contains(text) {
            self.fail(&format!("did not expect the text '{text}'"))
                .await;
        }
    }

    /// Reloads `url` until `text` shows (for what arrives from another node), for `secs`.
    pub async fn expect_text_eventually(&self, url: &str, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            self.goto(url).await;
            if self.text().await.contains(text) {
                return;
            }
            if Instant::now() > deadline {
                self.fail(&format!("expected the text '{text}' within {secs}s"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Signs in on the node at `base` through its sign-in form and expects the sign-out
    /// button.
    pub async fn sign_in(&self, base: &str, name: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("Username", name).await;
        self.fill("Password", password).await;
        self.press("Sign in").await;
        if !self.has_button("Sign out").await {
            self.fail(&format!("{name} is not signed in")).await;
        }
        self.expect_text(name).await;
    }

    /// Signs out with the layout's button.
    pub async fn sign_out(&self) {
        self.press("Sign out").await;
        if self.has_button("Sign out").await {
            self.fail("still signed in after 'Sign out'").await;
        }
    }

    /// Sends a Chrome DevTools Protocol command; its result.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        match self.client.issue_cmd(Cdp { cmd, params }).await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("CDP {cmd}: {e}")).await,
        }
    }

    /// Emulates `prefers-color-scheme: dark` (or no preference again).
    pub async fn dark_mode(&self, on: bool) {
        let value = if on { "dark" } else { "" };
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": value}]}),
        )
        .await;
    }

    /// Writes screenshots of the whole page at phone and desktop width to
    /// `target/screenshots/{name}-phone.png` and `{name}-desktop.png`.
    pub async fn screenshots(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        for (size, width, height, mobile) in VIEWPORTS {
            self.cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
            )
            .await;
            let full = self
                .client
                .execute("return document.documentElement.scrollHeight", vec![])
                .await
                .ok()
                .and_then(|v| v.as_u64())
                .unwrap_or(height as u64)
                .max(height as u64);
            let shot = self
                .cdp(
                    "Page.captureScreenshot",
                    json!({"format": "png", "captureBeyondViewport": true,
                        "clip": {"x": 0, "y": 0, "width": width, "height": full, "scale": 1}}),
                )
                .await;
            use base64::Engine;
            let png = base64::engine::general_purpose::STANDARD
                .decode(shot["data"].as_str().expect("screenshot data"))
                .expect("screenshot is base64");
            let path = dir.join(format!("{name}-{size}.png"));
            std::fs::write(&path, png).unwrap();
            eprintln!("screenshot: {}", path.display());
        }
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
    }

    /// Runs axe-core (WCAG 2.0–2.2 A and AA rules) on the page; fails on any serious or
    /// critical violation, naming the rule, its help and the offending elements. Lesser
    /// findings are printed. Does nothing (SKIPPED) without axe-core, unless required.
    pub async fn check_accessibility(&self, page: &str) {
        let Some(audit) = self.axe().await else {
            return;
        };
        let mut serious = Vec::new();
        for v in &audit.violations {
            let report = describe_violation(v);
            if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                serious.push(report);
            } else {
                eprintln!("axe on {page}: {report}");
            }
        }
        if serious.is_empty() {
            eprintln!(
                "axe on {page}: {} rules passed, no serious or critical violation ({} lesser)",
                audit.passed,
                audit.violations.len()
            );
        } else {
            self.fail(&format!(
                "axe-core found serious or critical violations on {page}:\n{}",
                serious.join("\n")
            ))
            .await;
        }
    }

    /// axe-core's findings on the current page; `None` without axe-core (see
    /// [`Browser::check_accessibility`]).
    pub async fn axe(&self) -> Option<Audit> {
        let axe = axe_source()?;
        let installed = self
            .client
            .execute("return typeof window.axe === 'object'", vec![])
            .await
            .is_ok_and(|v| v == Value::Bool(true));
        if !installed {
            // Executed by WebDriver, not by the page: the page's Content-Security-Policy does
            // not apply.
            if let Err(e) = self
                .client
                .execute(&format!("{axe}\n;return true;"), vec![])
                .await
            {
                self.fail(&format!("cannot inject axe-core: {e}")).await;
            }
        }
        let script = r#"
            const [tags, done] = arguments;
            axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
              .then(r => done({passed: r.passes.length, violations: r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                  nodes: v.nodes.map(n => ({html: n.html, target: n.target.join(' '),
                      summary: n.failureSummary}))}))}))
              .catch(e => done({error: String(e)}));
        "#;
        let result = match self
            .client
            .execute_async(script, vec![json!(AXE_TAGS)])
            .await
        {
            Ok(r) => r,
            Err(e) => self.fail(&format!("axe-core did not run: {e}")).await,
        };
        if let Some(e) = result.get("error") {
            self.fail(&format!("axe-core failed: {e}")).await;
        }
        Some(Audit {
            passed: result["passed"].as_u64().unwrap_or(0),
            violations: result["violations"].as_array().cloned().unwrap_or_default(),
        })
    }

    /// The browser's cookie `name` for the current page's site.
    pub async fn cookie(&self, name: &str) -> Option<fantoccini::cookies::Cookie<'static>> {
        self.client
            .get_all_cookies()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name() == name)
    }
}

impl Drop for Browser {
    /// Kills chromedriver's process group: chromedriver and the Chromium it started.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.wait();
    }
}
