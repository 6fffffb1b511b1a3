//! The one-process bot's HTTP endpoint (`LISTEN_ADDR`): `GET /healthz` for process managers and,
//! with `WEBHOOK_URL`, Telegram's POSTs at the URL's path, checked and queued by the same
//! webhook role as the Lambda's.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::handlers::webhook::{SECRET_HEADER, WebhookIngress};

pub(super) struct HttpServer {
    listener: TcpListener,
    router: Router,
}

impl HttpServer {
    /// Binds `addr` at start, so a port in use stops the start rather than the first update.
    pub(super) async fn bind(
        addr: SocketAddr,
        webhook: Option<(&str, WebhookIngress)>,
    ) -> std::io::Result<HttpServer> {
        let listener = TcpListener::bind(addr).await?;
        let mut router = Router::new().route("/healthz", get(|| async { "ok\n" }));
        if let Some((path, ingress)) = webhook {
            router = router.route(path, post(receive).with_state(Arc::new(ingress)));
        }
        Ok(HttpServer { listener, router })
    }

    pub(super) fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` turns true; requests already in progress finish.
    pub(super) async fn serve(self, mut stop: watch::Receiver<bool>) {
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(%error, "the HTTP endpoint stopped");
        }
    }
}

async fn receive(
    State(ingress): State<Arc<WebhookIngress>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let secret = headers
        .get(SECRET_HEADER)
        .and_then(|value| value.to_str().ok());
    let received = ingress
        .receive(secret, &String::from_utf8_lossy(&body))
        .await;
    StatusCode::from_u16(received.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
