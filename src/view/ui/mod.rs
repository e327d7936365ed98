//! `kloset ui`: a local, read-only web UI. Every request must carry the access token printed
//! at start, in the URL once (`?token=`, then kept in a cookie) or in the cookie: without it
//! the answer is 401, with a wrong one 403. Pages come from assets built into the binary;
//! data comes from `api`, over the same library `ls`, `find`, `diff` and `dump` use.

mod api;
mod assets;
mod auth;

use std::future::Future;
use std::sync::Arc;

use anyhow::Result;
use axum::routing::get;
use axum::Router;

use super::live::Live;

/// What every handler shares.
pub struct Shared {
    pub live: Arc<Live>,
    pub concurrency: usize,
}

pub struct Server {
    token: String,
    shared: Arc<Shared>,
}

impl Server {
    pub fn new(live: Arc<Live>, concurrency: usize) -> Server {
        Server {
            token: auth::new_token(),
            shared: Arc::new(Shared { live, concurrency }),
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let auth = auth::Auth::new(self.token, listener.local_addr()?);
        let app = Router::new()
            .route("/", get(assets::index))
            .route("/app.js", get(assets::script))
            .route("/app.css", get(assets::style))
            .merge(api::routes())
            .with_state(self.shared)
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(auth),
                auth::require_token,
            ));
        axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await?;
        Ok(())
    }
}
