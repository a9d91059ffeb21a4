//! A TCP proxy between the app and its database that a test can cut and
//! restore: "PostgreSQL stopped" without stopping the server other tests share.
//! Cutting drops every proxied connection and refuses new ones, which is what
//! the app sees when the database goes away; restoring listens again on the
//! same port.

use std::net::SocketAddr;

use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

pub struct TcpProxy {
    address: SocketAddr,
    upstream: SocketAddr,
    accept_loop: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Listens on a random loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address");
        Self {
            address,
            upstream,
            accept_loop: Some(tokio::spawn(forward(listener, upstream))),
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Drops every connection and stops listening.
    pub fn cut(&mut self) {
        if let Some(accept_loop) = self.accept_loop.take() {
            accept_loop.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&mut self) {
        self.cut();
        let listener = TcpListener::bind(self.address)
            .await
            .expect("re-bind the proxy port");
        self.accept_loop = Some(tokio::spawn(forward(listener, self.upstream)));
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Accepts connections and pipes each to `upstream`; aborting this task
/// aborts the connection tasks too (they are owned by a `JoinSet`).
async fn forward(listener: TcpListener, upstream: SocketAddr) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(async move {
            if let Ok(mut server) = TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
    }
}
