//! A headless Chromium driven over WebDriver: chromedriver (Debian's `chromium-driver`)
//! started on a free 127.0.0.1 port for the test, and stopped with it.

use std::{net::TcpListener, path::PathBuf, time::Duration};

use fantoccini::{Client, ClientBuilder, Locator};
use integration::{wait_for, Process};

pub struct Browser {
    pub client: Client,
    _driver: Process,
}

/// The chromedriver to run: `$CHROMEDRIVER`, else the first found in `PATH` or where
/// Debian puts it. A missing driver fails the test: `.ci/run` installs it.
fn chromedriver() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMEDRIVER") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .chain([PathBuf::from("/usr/lib/chromium/chromedriver")])
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "chromedriver not found: install Debian's chromium and chromium-driver \
                 (apt-get install chromium chromium-driver), or set CHROMEDRIVER"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Browser {
    pub async fn start() -> Self {
        let port = free_port();
        let driver: Process = std::process::Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver starts")
            .into();
        let status = format!("http://127.0.0.1:{port}/status");
        let http = reqwest::Client::new();
        wait_for("chromedriver to answer", Duration::from_secs(20), || {
            let req = http.get(&status).send();
            async move {
                req.await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| ())
            }
        })
        .await;

        let mut args = vec![
            "--headless=new",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--force-device-scale-factor=1",
        ];
        // Chromium refuses to run as root inside its sandbox (CI runs as root).
        args.push("--no-sandbox");
        let mut options = serde_json::json!({ "args": args });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = "/usr/bin/chromium".into();
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session through chromedriver");
        Self {
            client,
            _driver: driver,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("page loads");
    }

    /// The element `css`, waiting for it to appear (a click that submits a form
    /// returns before the next page has loaded).
    pub async fn find(
        &self,
        css: &str,
    ) -> Result<fantoccini::elements::Element, fantoccini::error::CmdError> {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .text()
            .await
            .expect("element text")
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self
            .find(css)
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"));
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    /// Saves a PNG of the page as `name` in `$ADMIN_SCREENSHOTS`, when that is set.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("ADMIN_SCREENSHOTS") else {
            return;
        };
        let png = self.client.screenshot().await.expect("screenshot");
        let path = PathBuf::from(dir).join(name);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
