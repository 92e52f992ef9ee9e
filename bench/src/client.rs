//! A lean HTTP/1.1 load generator: one keep-alive TCP connection per task, each
//! request written with one `write` (head and body), the answer read with no more
//! parsing than its status line and `Content-Length`, and the Svix signature made
//! with aws-lc. The load generator shares the two cores with the server and
//! RabbitMQ: whatever it spends, they cannot. reqwest and svix's pure-Rust HMAC
//! spent several times as much per request (`load generator` in the bench's CPU
//! table shows what this one spends).

use std::{net::SocketAddr, time::Duration};

use anyhow::{bail, Context};
use aws_lc_rs::hmac;
use base64::{engine::general_purpose::STANDARD, Engine};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Signs as Svix does: HMAC-SHA256 over `{id}.{timestamp}.{body}` with the secret
/// after `whsec_`, base64.
pub struct Signer {
    key: hmac::Key,
}

impl Signer {
    pub fn new(secret: &str) -> anyhow::Result<Self> {
        let raw = STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .context("the signing secret is not base64 after whsec_")?;
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &raw),
        })
    }

    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(id.as_bytes());
        ctx.update(b".");
        ctx.update(timestamp.to_string().as_bytes());
        ctx.update(b".");
        ctx.update(body);
        format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
    }
}

/// One keep-alive connection posting to one path.
pub struct Connection {
    stream: TcpStream,
    host: String,
    path: String,
    out: Vec<u8>,
    inbuf: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: SocketAddr, path: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            host: addr.to_string(),
            path: path.to_owned(),
            out: Vec::with_capacity(4096),
            inbuf: Vec::with_capacity(1024),
        })
    }

    /// Posts a signed webhook and returns the answer's status code.
    pub async fn post_webhook(
        &mut self,
        signer: &Signer,
        id: &str,
        body: &[u8],
    ) -> anyhow::Result<u16> {
        use std::io::Write;
        let ts = chrono::Utc::now().timestamp();
        let signature = signer.sign(id, ts, body);
        self.out.clear();
        write!(
            self.out,
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             svix-id: {id}\r\nsvix-timestamp: {ts}\r\nsvix-signature: {signature}\r\n\
             content-length: {}\r\n\r\n",
            self.path,
            self.host,
            body.len()
        )?;
        self.out.extend_from_slice(body);
        self.stream.write_all(&self.out).await?;
        self.read_answer().await
    }

    /// Reads one answer (status line, headers, `Content-Length` bytes of body).
    async fn read_answer(&mut self) -> anyhow::Result<u16> {
        self.inbuf.clear();
        let head_end = loop {
            if let Some(i) = find(&self.inbuf, b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 2048];
            let n = tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut chunk))
                .await
                .context("no answer within 30 s")??;
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.inbuf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.inbuf[..head_end]).context("answer head")?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line: {head:?}"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut have = self.inbuf.len() - head_end;
        while have < length {
            let mut chunk = [0u8; 2048];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("the server closed the connection mid-answer");
            }
            have += n;
        }
        Ok(status)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_svix_does() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let svix = svix::webhooks::Webhook::new(secret).expect("secret");
        let ours = Signer::new(secret).expect("secret");
        let body = br#"{"type":"user.created","data":{"id":"user_1"}}"#;
        assert_eq!(
            ours.sign("msg_1", 1_700_000_000, body),
            svix.sign("msg_1", 1_700_000_000, body).expect("signs")
        );
    }
}
