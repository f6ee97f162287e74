//! The assembly of `warden serve`: the embedded store (with the jobs a killed predecessor was
//! running taken back), the GitHub client, the PR pipeline over it, the reconcile loop, and the
//! server with its workers. `warden serve`, `warden demo`, the end-to-end tests and the
//! benchmark all start Warden through [`serve`], so they run the same thing.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::github::client::{ClientOptions, GitHubClient};
use crate::signal::Signer;
use crate::store::Store;

use super::config::ServeConfig;
use super::pipeline::Pipeline;
use super::workers::WorkerOptions;

/// The name of the state database under the data directory.
pub const DB_FILE: &str = "warden.db";

/// What a running Warden is made of.
pub struct WardenSetup {
    pub api_url: String,
    pub app_id: u64,
    pub private_key: SecretString,
    pub webhook_secret: SecretString,
    pub data_dir: PathBuf,
    pub workers: WorkerOptions,
    /// Rendering threads per job (0: one per core).
    pub threads: usize,
    pub reconcile_interval: Duration,
    pub client: ClientOptions,
    /// Signs deploy approvals (`WARDEN_SIGNING_KEY_PATH`); `None`: none are posted.
    pub signer: Option<Arc<Signer>>,
}

impl WardenSetup {
    /// The setup `warden serve` runs with a loaded configuration.
    pub fn from_config(c: ServeConfig) -> WardenSetup {
        WardenSetup {
            api_url: c.api_url,
            app_id: c.app_id,
            private_key: c.private_key,
            webhook_secret: c.webhook_secret,
            data_dir: c.data_dir,
            workers: WorkerOptions {
                workers: c.workers,
                ..WorkerOptions::default()
            },
            threads: 0,
            reconcile_interval: c.reconcile_interval,
            client: ClientOptions::default(),
            signer: c.signer.map(Arc::new),
        }
    }
}

/// Why Warden could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("WARDEN_DATA_DIR {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the state database: {0}")]
    Store(String),
    #[error("WARDEN_PRIVATE_KEY: {0}")]
    Client(String),
}

/// The store and the pipeline, ready to serve.
pub struct Prepared {
    pub store: Arc<Store>,
    /// Jobs a stopped or killed process was running, queued again.
    pub recovered: usize,
    client: Arc<GitHubClient>,
    webhook_secret: SecretString,
    workers: WorkerOptions,
    threads: usize,
    reconcile_interval: Duration,
    signer: Option<Arc<Signer>>,
}

/// Open the store under the data directory (taking back jobs that were running when the last
/// process stopped) and build the GitHub client.
pub fn prepare(setup: WardenSetup) -> Result<Prepared, StartError> {
    let dir = &setup.data_dir;
    std::fs::create_dir_all(dir).map_err(|source| StartError::DataDir {
        path: dir.display().to_string(),
        source,
    })?;
    let store = Store::open(&dir.join(DB_FILE)).map_err(|e| StartError::Store(e.to_string()))?;
    let recovered = store
        .recover(super::now_ms())
        .map_err(|e| StartError::Store(e.to_string()))?;
    let client = GitHubClient::new(
        &setup.api_url,
        setup.app_id,
        setup.private_key,
        setup.client,
    )
    .map_err(|e| StartError::Client(e.to_string()))?;
    Ok(Prepared {
        store: Arc::new(store),
        recovered,
        client: Arc::new(client),
        webhook_secret: setup.webhook_secret,
        workers: setup.workers,
        threads: setup.threads,
        reconcile_interval: setup.reconcile_interval,
        signer: setup.signer,
    })
}

impl Prepared {
    /// Serve on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Prepared {
            store,
            recovered,
            client,
            webhook_secret,
            workers,
            threads,
            reconcile_interval,
            signer,
        } = self;
        match &signer {
            Some(s) => tracing::info!(key_id = %s.key_id(), "deploy approvals are signed"),
            None => tracing::warn!(
                "no WARDEN_SIGNING_KEY_PATH: no deploy approvals are posted (see docs/approvals.md)"
            ),
        }
        if recovered > 0 {
            tracing::info!(
                jobs = recovered,
                "queued again the jobs a stopped process was running"
            );
        }
        let pipeline = Arc::new(Pipeline {
            forge: client.clone(),
            threads,
            signer,
            store: Some(store.clone()),
        });
        let handler = Arc::new(super::chatops::Dispatch::new(pipeline, store.clone()));
        super::run_until(
            listener,
            store,
            webhook_secret,
            handler,
            workers,
            vec![super::reconcile_task(client, reconcile_interval)],
            shutdown,
        )
        .await
    }
}
