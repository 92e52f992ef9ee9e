//! A TCP proxy that sits between a binary and RabbitMQ or Postgres and can cut,
//! stall or blackhole its connections at a chosen moment (crates.io tests its
//! database outages the same way). Only the connections through the proxy are
//! affected, so these tests run beside the others.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::AbortHandle,
};

/// What the proxy does with the bytes of its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Pass,
    /// Forwards nothing either way and reads nothing (the peers see a network that
    /// went silent); new connections are accepted but stall too.
    Stall,
    /// Forwards what the server sends; discards what the client sends (its acks,
    /// publishes and heartbeats vanish).
    DropFromClient,
    /// Forwards what the client sends; holds what the server sends (confirms and
    /// deliveries never arrive).
    HoldFromServer,
}

/// A proxy to `target` on a free port of 127.0.0.1. Dropping it closes everything.
pub struct ChaosProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl ChaosProxy {
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Pass);
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let target = target.to_owned();
        let (mode_rx, conns) = (mode.subscribe(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let up = tokio::spawn(pump(client_read, server_write, mode_rx.clone(), true));
                let down = tokio::spawn(pump(server_read, client_write, mode_rx.clone(), false));
                if let Ok(mut c) = conns.lock() {
                    c.push(up.abort_handle());
                    c.push(down.abort_handle());
                }
            }
        })
        .abort_handle();
        Self {
            addr,
            mode,
            connections,
            accept,
        }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Closes every connection made so far (the peers see them drop); the proxy
    /// keeps accepting new ones.
    pub fn cut(&self) {
        if let Ok(mut c) = self.connections.lock() {
            for handle in c.drain(..) {
                handle.abort();
            }
        }
    }

    /// `url` with its `host:port` replaced by the proxy's.
    pub fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((u, r)) => (format!("{u}@"), r),
            None => (String::new(), rest),
        };
        let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
        format!("{scheme}://{userinfo}{}{path}", self.addr)
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    from_client: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Hold while this direction is stalled: read nothing, forward nothing.
        loop {
            let m = *mode.borrow_and_update();
            let held = m == Mode::Stall || (m == Mode::HoldFromServer && !from_client);
            if !held {
                break;
            }
            if tokio::time::timeout(Duration::from_secs(3600), mode.changed())
                .await
                .map_or(true, |r| r.is_err())
            {
                return;
            }
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let m = *mode.borrow();
        if m == Mode::DropFromClient && from_client {
            continue;
        }
        // Bytes read just before a stall are held until it ends.
        while *mode.borrow() == Mode::Stall
            || (*mode.borrow() == Mode::HoldFromServer && !from_client)
        {
            if mode.changed().await.is_err() {
                return;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
